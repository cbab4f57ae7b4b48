/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Built by install-test.sh against the installed headers and
 * tuntap-glib-1.0.pc only: what a program outside the tree sees. Run in a
 * network namespace of its own, it creates a TUN and a TAP device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <tuntap-glib/tuntap-glib.h>

#if !TUN_TAP_CHECK_VERSION (0, 1, 0)
#error "TUN_TAP_CHECK_VERSION (0, 1, 0) is false for the installed headers"
#endif

#if TUN_TAP_CHECK_VERSION (TUN_TAP_MAJOR_VERSION, TUN_TAP_MINOR_VERSION + 1, 0)
#error "TUN_TAP_CHECK_VERSION is true for a version newer than the headers"
#endif

static gboolean
check_device (const char *template,
              TunTapMode  mode,
              const char *nick)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = tun_tap_device_new (template, mode, &error);
  g_autoptr(GEnumClass) modes = NULL;
  GEnumValue *value;

  if (device == NULL)
    {
      fprintf (stderr, "installed-program: %s\n", error->message);
      return FALSE;
    }

  modes = g_type_class_ref (TUN_TAP_TYPE_MODE);
  value = g_enum_get_value (modes, tun_tap_device_get_mode (device));
  if (value == NULL || g_strcmp0 (value->value_nick, nick) != 0 ||
      tun_tap_device_get_fd (device) < 0 || tun_tap_device_is_closed (device))
    {
      fprintf (stderr, "installed-program: %s is not an open %s device\n",
               tun_tap_device_get_name (device), nick);
      return FALSE;
    }

  printf ("%s %s\n", nick, tun_tap_device_get_name (device));
  tun_tap_device_close (device);
  return tun_tap_device_is_closed (device);
}

int
main (void)
{
  printf ("tuntap-glib %s\n", TUN_TAP_VERSION_S);
  if (!check_device ("tun%d", TUN_TAP_MODE_TUN, "tun") ||
      !check_device ("tap%d", TUN_TAP_MODE_TAP, "tap"))
    return EXIT_FAILURE;
  return EXIT_SUCCESS;
}
