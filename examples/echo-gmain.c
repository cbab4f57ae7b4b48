/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * echo-gmain: the classic TUN echo, on tuntap-glib and a GLib main loop.
 * Every packet the kernel routes into the device is printed and written
 * back; with --reply, requests are turned into answers so ping works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <glib-unix.h>
#include <tuntap-glib/tuntap-glib.h>

#include "echo-reflect.h"

typedef struct {
  TunTapDevice *device;
  GMainLoop    *loop;
  gboolean      reply;
  gboolean      quiet;
  gboolean      tap;
  guint64       received;
  guint64       sent;
  int           status;
} Echo;

static void
on_packet_received (TunTapDevice *device,
                    GBytes       *packet,
                    gpointer      user_data)
{
  Echo *echo = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (packet, &len);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  echo->received++;

  if (!echo->quiet)
    {
      char line[256];
      echo_describe (data, len, echo->tap, line, sizeof line);
      printf ("%s: %s\n", tun_tap_device_get_name (device), line);
    }

  if (echo->reply)
    {
      /* A small copy we may rewrite; the GBytes stays immutable. */
      guint8 stack_buf[2048];
      guint8 *buf = len <= sizeof stack_buf ? stack_buf : g_malloc (len);

      memcpy (buf, data, len);
      if (!echo_reflect (buf, len, echo->tap))
        {
          if (buf != stack_buf)
            g_free (buf);
          return;
        }
      ok = tun_tap_device_send (device, buf, len, &error);
      if (buf != stack_buf)
        g_free (buf);
    }
  else
    {
      ok = tun_tap_device_send_bytes (device, packet, &error);
    }

  if (ok)
    echo->sent++;
  else if (!echo->quiet)
    fprintf (stderr, "echo-gmain: %s\n", error->message);
}

static void
on_closed (TunTapDevice *device,
           const GError *error,
           gpointer      user_data)
{
  Echo *echo = user_data;

  if (error != NULL)
    {
      fprintf (stderr, "echo-gmain: %s\n", error->message);
      echo->status = EXIT_FAILURE;
    }
  g_main_loop_quit (echo->loop);
}

static gboolean
on_signal (gpointer user_data)
{
  Echo *echo = user_data;

  g_main_loop_quit (echo->loop);
  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *name = NULL;
  gboolean tap = FALSE, reply = FALSE, quiet = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Echo echo = { 0 };
  const GOptionEntry entries[] = {
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "Interface name or template (default tun%d / tap%d)", "NAME" },
    { "tap", 0, 0, G_OPTION_ARG_NONE, &tap, "Open a TAP (Ethernet) device instead of TUN", NULL },
    { "reply", 'r', 0, G_OPTION_ARG_NONE, &reply, "Answer pings (and reflect UDP/TCP) instead of echoing verbatim", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Do not print a line per packet", NULL },
    G_OPTION_ENTRY_NULL
  };

  context = g_option_context_new ("- echo packets through a TUN/TAP device");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "echo-gmain: %s\n", error->message);
      return 2;
    }

  /* One line per packet, even into a pipe. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  echo.device = tun_tap_device_new (name ? name : (tap ? "tap%d" : "tun%d"),
                                    tap ? TUN_TAP_MODE_TAP : TUN_TAP_MODE_TUN,
                                    &error);
  if (echo.device == NULL)
    {
      fprintf (stderr, "echo-gmain: %s\n", error->message);
      return EXIT_FAILURE;
    }

  echo.loop = g_main_loop_new (NULL, FALSE);
  echo.reply = reply;
  echo.quiet = quiet;
  echo.tap = tap;
  echo.status = EXIT_SUCCESS;

  g_signal_connect (echo.device, "packet-received", G_CALLBACK (on_packet_received), &echo);
  g_signal_connect (echo.device, "closed", G_CALLBACK (on_closed), &echo);
  g_unix_signal_add (SIGINT, on_signal, &echo);
  g_unix_signal_add (SIGTERM, on_signal, &echo);

  printf ("%s\n", tun_tap_device_get_name (echo.device));
  fflush (stdout);

  g_main_loop_run (echo.loop);

  if (!quiet)
    printf ("%s: %" G_GUINT64_FORMAT " packets received, %" G_GUINT64_FORMAT " sent\n",
            tun_tap_device_get_name (echo.device), echo.received, echo.sent);

  tun_tap_device_close (echo.device);
  g_object_unref (echo.device);
  g_main_loop_unref (echo.loop);
  return echo.status;
}
