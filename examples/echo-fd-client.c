/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * echo-fd-client: the unprivileged half of tun-helper. It listens on a Unix
 * socket, accepts one connection from the helper, receives the device's
 * open file descriptor (SCM_RIGHTS), wraps it with
 * tun_tap_device_new_for_fd() and echoes packets like echo-gmain. It needs
 * no capability and no access to /dev/net/tun: the fd is all it uses.
 *
 * Only a peer running as --helper-uid (root by default) may hand it a
 * device; the socket should live in a directory only this user can write.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixconnection.h>
#include <gio/gunixsocketaddress.h>
#include <tuntap-glib/tuntap-glib.h>

#include "echo-reflect.h"

typedef struct {
  GMainLoop *loop;
  gboolean   reply;
  gboolean   quiet;
  gboolean   tap;
  guint64    received;
  guint64    sent;
  int        status;
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
  g_autofree guint8 *copy = NULL;
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
      copy = g_memdup2 (data, len);
      if (!echo_reflect (copy, len, echo->tap))
        return;
      ok = tun_tap_device_send (device, copy, len, &error);
    }
  else
    {
      ok = tun_tap_device_send_bytes (device, packet, &error);
    }

  if (ok)
    echo->sent++;
  else if (!echo->quiet)
    fprintf (stderr, "echo-fd-client: %s\n", error->message);
}

static void
on_closed (TunTapDevice *device,
           const GError *error,
           gpointer      user_data)
{
  Echo *echo = user_data;

  if (error != NULL)
    {
      fprintf (stderr, "echo-fd-client: %s\n", error->message);
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

/* Waits for the helper and takes the one fd it sends. */
static int
receive_device_fd (const char  *path,
                   gint64       helper_uid,
                   GError     **error)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GCredentials) credentials = NULL;
  uid_t peer;

  g_unlink (path);
  if (!g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error))
    return -1;

  /* Ready: a script may start the helper now. */
  printf ("listening on %s\n", path);

  connection = g_socket_listener_accept (listener, NULL, NULL, error);
  g_socket_listener_close (listener);
  g_unlink (path);
  if (connection == NULL)
    return -1;

  /* SO_PEERCRED: who connected, as the kernel saw it. */
  credentials = g_socket_get_credentials (g_socket_connection_get_socket (connection), error);
  if (credentials == NULL)
    return -1;
  peer = g_credentials_get_unix_user (credentials, NULL);
  if (helper_uid >= 0 && (gint64) peer != helper_uid)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "Refusing a device from uid %u: only uid %" G_GINT64_FORMAT
                   " may hand one over (--helper-uid)", (guint) peer, helper_uid);
      return -1;
    }

  return g_unix_connection_receive_fd (G_UNIX_CONNECTION (connection), NULL, error);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *socket_path = NULL;
  gboolean reply = FALSE, quiet = FALSE;
  gint64 helper_uid = 0;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  Echo echo = { 0 };
  int fd;
  const GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path, "Listen on this Unix socket for tun-helper", "PATH" },
    { "helper-uid", 0, 0, G_OPTION_ARG_INT64, &helper_uid, "Accept a device only from this uid (default 0, -1 for any)", "UID" },
    { "reply", 'r', 0, G_OPTION_ARG_NONE, &reply, "Answer pings (and reflect UDP/TCP) instead of echoing verbatim", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Do not print a line per packet", NULL },
    G_OPTION_ENTRY_NULL
  };

  /* GOption prints its help in the user's language and charset ("[OPTION…]"). */
  setlocale (LC_ALL, "");

  context = g_option_context_new ("- echo packets through a TUN/TAP fd received from tun-helper");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "echo-fd-client: %s\n", error->message);
      return 2;
    }
  if (socket_path == NULL)
    {
      fprintf (stderr, "echo-fd-client: --socket PATH is required\n");
      return 2;
    }

  setvbuf (stdout, NULL, _IOLBF, 0);

  fd = receive_device_fd (socket_path, helper_uid, &error);
  if (fd < 0)
    {
      fprintf (stderr, "echo-fd-client: %s\n", error->message);
      return EXIT_FAILURE;
    }

  /* Name, mode, framing, multi-queue and persistence come from the kernel. */
  device = tun_tap_device_new_for_fd (fd, &error);
  if (device == NULL)
    {
      fprintf (stderr, "echo-fd-client: %s\n", error->message);
      close (fd);
      return EXIT_FAILURE;
    }
  if (tun_tap_device_get_packet_info (device))
    {
      /* echo_reflect() wants bare packets; a real program would skip the
       * 4-byte header instead. */
      fprintf (stderr, "echo-fd-client: “%s” has packet information on; this example "
                       "only handles bare packets\n", tun_tap_device_get_name (device));
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  echo.loop = loop;
  echo.reply = reply;
  echo.quiet = quiet;
  echo.tap = tun_tap_device_get_mode (device) == TUN_TAP_MODE_TAP;
  echo.status = EXIT_SUCCESS;

  g_signal_connect (device, "packet-received", G_CALLBACK (on_packet_received), &echo);
  g_signal_connect (device, "closed", G_CALLBACK (on_closed), &echo);
  g_unix_signal_add (SIGINT, on_signal, &echo);
  g_unix_signal_add (SIGTERM, on_signal, &echo);

  printf ("%s\n", tun_tap_device_get_name (device));

  g_main_loop_run (loop);

  if (!quiet)
    printf ("%s: packets received: %" G_GUINT64_FORMAT ", sent: %" G_GUINT64_FORMAT "\n",
            tun_tap_device_get_name (device), echo.received, echo.sent);

  tun_tap_device_close (device);
  return echo.status;
}
