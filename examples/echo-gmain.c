/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * echo-gmain: the classic TUN echo, on tuntap-glib and a GLib main loop.
 * Every packet the kernel routes into the device is printed and written
 * back; with --reply, requests are turned into answers so ping works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* --address and --peer arrive in order; a --peer belongs to the --address
 * before it. */
typedef struct {
  char *address;
  char *peer;
} AddressOption;

static GArray *address_options;

static gboolean
on_address_option (const char  *option_name,
                   const char  *value,
                   gpointer     data,
                   GError     **error)
{
  AddressOption opt = { g_strdup (value), NULL };

  g_array_append_val (address_options, opt);
  return TRUE;
}

static gboolean
on_peer_option (const char  *option_name,
                const char  *value,
                gpointer     data,
                GError     **error)
{
  AddressOption *last;

  if (address_options->len == 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--peer %s must follow the --address it belongs to", value);
      return FALSE;
    }
  last = &g_array_index (address_options, AddressOption, address_options->len - 1);
  if (last->peer != NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--address %s has two peers", last->address);
      return FALSE;
    }
  last->peer = g_strdup (value);
  return TRUE;
}

static void
address_option_clear (gpointer data)
{
  AddressOption *opt = data;

  g_free (opt->address);
  g_free (opt->peer);
}

/* Configures the link through the library: MTU, addresses, then up. */
static gboolean
configure_link (TunTapDevice  *device,
                int            mtu,
                GError       **error)
{
  if (mtu >= 0 && !tun_tap_device_set_mtu (device, (guint) mtu, error))
    return FALSE;

  for (guint i = 0; i < address_options->len; i++)
    {
      AddressOption *opt = &g_array_index (address_options, AddressOption, i);

      if (!tun_tap_device_add_address_from_string (device, opt->address, opt->peer, error))
        return FALSE;
    }

  if (mtu >= 0 || address_options->len > 0)
    return tun_tap_device_set_up (device, TRUE, error);
  return TRUE;
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
  int mtu = -1;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Echo echo = { 0 };
  const GOptionEntry entries[] = {
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "Interface name or template (default tun%d / tap%d)", "NAME" },
    { "tap", 0, 0, G_OPTION_ARG_NONE, &tap, "Open a TAP (Ethernet) device instead of TUN", NULL },
    { "reply", 'r', 0, G_OPTION_ARG_NONE, &reply, "Answer pings (and reflect UDP/TCP) instead of echoing verbatim", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Do not print a line per packet", NULL },
    { "address", 'a', 0, G_OPTION_ARG_CALLBACK, on_address_option, "Add an address, IPv4 or IPv6 (repeatable), and bring the link up", "CIDR" },
    { "peer", 'p', 0, G_OPTION_ARG_CALLBACK, on_peer_option, "Point-to-point peer of the preceding --address", "ADDR" },
    { "mtu", 'm', 0, G_OPTION_ARG_INT, &mtu, "Set the MTU and bring the link up", "N" },
    G_OPTION_ENTRY_NULL
  };

  address_options = g_array_new (FALSE, TRUE, sizeof (AddressOption));
  g_array_set_clear_func (address_options, address_option_clear);

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

  if (!configure_link (echo.device, mtu, &error))
    {
      fprintf (stderr, "echo-gmain: %s\n", error->message);
      g_object_unref (echo.device);
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
  g_array_unref (address_options);
  return echo.status;
}
