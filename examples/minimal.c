/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * minimal.c: the smallest useful tuntap-glib program. It creates a TUN
 * device, gives it 192.0.2.1 with the point-to-point peer 192.0.2.2, brings
 * it up, prints every packet the kernel routes into it and writes it back.
 * `ping 192.0.2.2` makes packets arrive. Needs CAP_NET_ADMIN: try it in a
 * namespace of its own, `unshare -rn ./minimal`. examples/echo-gmain.c is
 * the complete program (options, TAP, answering pings).
 *
 * Build: cc minimal.c $(pkg-config --cflags --libs tuntap-glib-1.0)
 */

#include <tuntap-glib/tuntap-glib.h>

static void
on_packet (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_print ("%s: %zu bytes\n", tun_tap_device_get_name (device), g_bytes_get_size (packet));
  if (!tun_tap_device_send_bytes (device, packet, &error))
    g_printerr ("%s\n", error->message);
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = tun_tap_device_new ("tun%d", TUN_TAP_MODE_TUN, &error);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  if (device == NULL ||
      !tun_tap_device_add_address_from_string (device, "192.0.2.1", "192.0.2.2", &error) ||
      !tun_tap_device_set_up (device, TRUE, &error))
    g_error ("%s", error->message);
  g_signal_connect (device, "packet-received", G_CALLBACK (on_packet), NULL);
  g_main_loop_run (loop);
}
