/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fairness probe of the echo benchmark: echo-gmain's reply path on the
 * library (copy, echo_reflect(), tun_tap_device_send()) plus a 5 ms GLib
 * timeout in the same main loop. While the benchmark floods the device it
 * records how late each timeout fires; a packet path that does not yield
 * to the loop shows up here as lateness.
 *
 * Lateness is measured twice: on the wall clock (what the target is
 * about), and on this thread's CPU clock. Under flood the loop never
 * sleeps, so without other work on the machine both agree; when another
 * process takes the CPU the wall figure grows and the CPU one does not,
 * which tells the library's share from the machine's.
 *
 * The interface name is the first line on stdout. On SIGTERM or SIGINT it
 * prints one line of results and exits:
 *   timer fires=N worst_late_us=N p99_late_us=N mean_interval_us=N packets=N
 *         worst_cpu_late_us=N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib-unix.h>
#include <tuntap-glib/tuntap-glib.h>

#include "echo-reflect.h"

#define INTERVAL_MS 5

typedef struct {
  TunTapDevice *device;
  GMainLoop    *loop;
  guint64       packets;
  gint64        last_fire;      /* monotonic µs of the previous dispatch */
  gint64        first_fire;
  guint64       fires;
  gint64        worst_late;     /* µs beyond the 5 ms interval */
  gint64        last_cpu;       /* thread CPU µs at the previous dispatch */
  gint64        worst_cpu_late; /* µs of CPU beyond 5 ms between dispatches */
  GArray       *lateness;       /* gint64 µs per firing, for the p99 */
} Probe;

static void
on_packet_received (TunTapDevice *device,
                    GBytes       *packet,
                    gpointer      user_data)
{
  Probe *probe = user_data;
  guint8 buf[2048];
  gsize len;
  const guint8 *data = g_bytes_get_data (packet, &len);

  probe->packets++;
  if (len > sizeof buf)
    return;
  memcpy (buf, data, len);
  if (echo_reflect (buf, len, FALSE))
    tun_tap_device_send (device, buf, len, NULL);
}

static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gboolean
on_timeout (gpointer user_data)
{
  Probe *probe = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 cpu = thread_cpu_us ();

  if (probe->last_fire != 0)
    {
      gint64 late = now - probe->last_fire - INTERVAL_MS * 1000;
      gint64 cpu_late = cpu - probe->last_cpu - INTERVAL_MS * 1000;

      if (late < 0)
        late = 0;
      probe->worst_late = MAX (probe->worst_late, late);
      probe->worst_cpu_late = MAX (probe->worst_cpu_late, cpu_late);
      g_array_append_val (probe->lateness, late);
    }
  else
    {
      probe->first_fire = now;
    }
  probe->last_fire = now;
  probe->last_cpu = cpu;
  probe->fires++;
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer user_data)
{
  Probe *probe = user_data;

  g_main_loop_quit (probe->loop);
  return G_SOURCE_CONTINUE;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

int
main (int   argc,
      char *argv[])
{
  const char *name = "tun%d";
  g_autoptr(GError) error = NULL;
  Probe probe = { 0 };
  gint64 p99 = 0, mean_interval = 0;

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--name") && i + 1 < argc)
        name = argv[++i];
      else if (!g_str_equal (argv[i], "--reply") && !g_str_equal (argv[i], "--quiet"))
        {
          fprintf (stderr, "bench-timer-echo: unknown option %s\n", argv[i]);
          return 2;
        }
    }

  probe.device = tun_tap_device_new (name, TUN_TAP_MODE_TUN, &error);
  if (probe.device == NULL)
    {
      fprintf (stderr, "bench-timer-echo: %s\n", error->message);
      return EXIT_FAILURE;
    }
  probe.loop = g_main_loop_new (NULL, FALSE);
  probe.lateness = g_array_sized_new (FALSE, FALSE, sizeof (gint64), 4096);

  g_signal_connect (probe.device, "packet-received", G_CALLBACK (on_packet_received), &probe);
  g_timeout_add (INTERVAL_MS, on_timeout, &probe);
  g_unix_signal_add (SIGTERM, on_signal, &probe);
  g_unix_signal_add (SIGINT, on_signal, &probe);

  printf ("%s\n", tun_tap_device_get_name (probe.device));
  fflush (stdout);

  g_main_loop_run (probe.loop);

  if (probe.lateness->len > 0)
    {
      g_array_sort (probe.lateness, compare_gint64);
      p99 = g_array_index (probe.lateness, gint64, (probe.lateness->len * 99) / 100);
    }
  if (probe.fires > 1)
    mean_interval = (probe.last_fire - probe.first_fire) / (gint64) (probe.fires - 1);

  printf ("timer fires=%" G_GUINT64_FORMAT " worst_late_us=%" G_GINT64_FORMAT
          " p99_late_us=%" G_GINT64_FORMAT " mean_interval_us=%" G_GINT64_FORMAT
          " packets=%" G_GUINT64_FORMAT " worst_cpu_late_us=%" G_GINT64_FORMAT "\n",
          probe.fires, probe.worst_late, p99, mean_interval, probe.packets,
          probe.worst_cpu_late);

  tun_tap_device_close (probe.device);
  g_object_unref (probe.device);
  g_main_loop_unref (probe.loop);
  g_array_unref (probe.lateness);
  return EXIT_SUCCESS;
}
