/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The relay of the offload benchmark (issue 11): device A in this
 * process's network namespace, device B created with netns-fd in another
 * one, every packet of one relayed to the other with packets-received and
 * send_many(). tests/benchmark/relay.sh runs iperf3 through it, with
 * offloads off and on, and compares.
 *
 *   bench-relay [--offload] NETNS-PATH
 *
 * Prints "ready" once both links are up, then runs until SIGTERM/SIGINT,
 * and prints the offload counters of A and B when it stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>

#include <glib-unix.h>
#include <tuntap-glib/tuntap-glib.h>

typedef struct {
  TunTapDevice *to;
  guint64       errors;
} Relay;

static void
relay (TunTapDevice *from, GBytes *packets, GArray *lengths, gpointer user_data)
{
  Relay *r = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (packets, &len);

  if (tun_tap_device_send_many (r->to, data, len, (const guint *) lengths->data,
                                lengths->len, NULL) < (gint) lengths->len)
    r->errors++;
}

static TunTapDevice *
make (const char *name, int netns, gboolean offload, const char *address, const char *peer)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", name,
                                         "netns-fd", netns, "offload", offload, NULL);

  if (device == NULL ||
      !tun_tap_device_add_address_from_string (device, address, peer, &error) ||
      !tun_tap_device_set_mtu (device, 1500, &error) ||
      !tun_tap_device_set_up (device, TRUE, &error))
    g_error ("%s", error->message);
  return device;
}

static gboolean
quit (int          fd,
      GIOCondition condition,
      gpointer     loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char *argv[])
{
  gboolean offload = argc > 2 && g_str_equal (argv[1], "--offload");
  const char *path = argv[argc - 1];
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Relay to_a = { NULL, 0 }, to_b = { NULL, 0 };
  TunTapDevice *a, *b;
  sigset_t signals;
  int netns, signal_fd;

  if (argc < 2)
    {
      fprintf (stderr, "usage: bench-relay [--offload] NETNS-PATH\n");
      return 2;
    }
  /* SIGTERM/SIGINT through a signalfd, blocked before anything could
   * start a thread: g_unix_signal_add() would start GLib's worker thread,
   * and the raw relay it is compared with has none (every read(2) and
   * write(2) of a threaded process costs more; see echo-gmain). */
  sigemptyset (&signals);
  sigaddset (&signals, SIGINT);
  sigaddset (&signals, SIGTERM);
  sigprocmask (SIG_BLOCK, &signals, NULL);
  signal_fd = signalfd (-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0)
    g_error ("signalfd: %s", g_strerror (errno));
  netns = open (path, O_RDONLY | O_CLOEXEC);
  if (netns < 0)
    g_error ("cannot open %s", path);

  a = make ("rla", -1, offload, "192.0.2.1", "192.0.2.2");
  b = make ("rlb", netns, offload, "192.0.2.2", "192.0.2.1");
  close (netns);
  to_b.to = b;
  to_a.to = a;
  g_signal_connect (a, "packets-received", G_CALLBACK (relay), &to_b);
  g_signal_connect (b, "packets-received", G_CALLBACK (relay), &to_a);
  g_unix_fd_add (signal_fd, G_IO_IN, quit, loop);
  printf ("ready\n");
  fflush (stdout);
  g_main_loop_run (loop);

  for (int i = 0; i < 2; i++)
    {
      TunTapDevice *d = i == 0 ? a : b;
      guint64 super_packets, split, malformed, coalesced, fallbacks;

      tun_tap_device_get_offload_counters (d, &super_packets, &split, &malformed,
                                           &coalesced, &fallbacks);
      printf ("%s: super-packets %" G_GUINT64_FORMAT " split %" G_GUINT64_FORMAT
              " coalesced %" G_GUINT64_FORMAT " fallbacks %" G_GUINT64_FORMAT
              " send errors %" G_GUINT64_FORMAT "\n", i == 0 ? "A" : "B",
              super_packets, split, coalesced, fallbacks, (i == 0 ? to_b : to_a).errors);
    }
  g_object_unref (a);
  g_object_unref (b);
  return 0;
}
