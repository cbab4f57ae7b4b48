/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tun-helper: the privileged half of running a TUN/TAP program without
 * root. It creates (or attaches to) a device by name, optionally makes it
 * persistent and owned, configures an address and brings the link up, then
 * hands the open file descriptor over a Unix socket (SCM_RIGHTS) to an
 * unprivileged process and exits. The receiving process needs no
 * capability at all: it wraps the fd with tun_tap_device_new_for_fd(), see
 * echo-fd-client.c.
 *
 *   echo-fd-client --socket /run/user/1000/vpn.sock --reply &   # as the user
 *   tun-helper --socket /run/user/1000/vpn.sock \
 *              --address 192.0.2.1 --peer 192.0.2.2 vpn0         # as root
 *
 * With --fd N it sends over an already connected Unix socket it inherited
 * instead, for a client that starts the helper itself (pkexec, sudo, a
 * systemd socket unit).
 *
 * The helper never runs a main loop, so it never reads a packet meant for
 * the client.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <gio/gio.h>
#include <gio/gunixconnection.h>
#include <gio/gunixsocketaddress.h>
#include <tuntap-glib/tuntap-glib.h>

static GSocketConnection *
connect_to_client (const char  *path,
                   int          inherited_fd,
                   GError     **error)
{
  if (inherited_fd >= 0)
    {
      g_autoptr(GSocket) socket = g_socket_new_from_fd (inherited_fd, error);

      if (socket == NULL)
        return NULL;
      if (g_socket_get_family (socket) != G_SOCKET_FAMILY_UNIX)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "File descriptor %d is not a Unix socket", inherited_fd);
          return NULL;
        }
      return g_socket_connection_factory_create_connection (socket);
    }
  else
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);

      return g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, error);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *socket_path = NULL;
  g_autofree char *address = NULL;
  g_autofree char *peer = NULL;
  gboolean tap = FALSE, persistent = FALSE, up = FALSE;
  gint64 owner = -1, group = -1;
  int inherited_fd = -1;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  const char *name;
  const GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path, "Connect to the client listening on this Unix socket", "PATH" },
    { "fd", 0, 0, G_OPTION_ARG_INT, &inherited_fd, "Send over this inherited, connected Unix socket instead", "N" },
    { "tap", 0, 0, G_OPTION_ARG_NONE, &tap, "A TAP (Ethernet) device instead of TUN", NULL },
    { "persistent", 0, 0, G_OPTION_ARG_NONE, &persistent, "Make the device outlive the client", NULL },
    { "owner", 0, 0, G_OPTION_ARG_INT64, &owner, "Uid that may attach later without CAP_NET_ADMIN (when creating)", "UID" },
    { "group", 0, 0, G_OPTION_ARG_INT64, &group, "Gid whose members may attach later (when creating)", "GID" },
    { "address", 'a', 0, G_OPTION_ARG_STRING, &address, "Add this address and bring the link up", "CIDR" },
    { "peer", 'p', 0, G_OPTION_ARG_STRING, &peer, "Point-to-point peer of --address", "ADDR" },
    { "up", 0, 0, G_OPTION_ARG_NONE, &up, "Bring the link up", NULL },
    G_OPTION_ENTRY_NULL
  };

  /* GOption prints its help in the user's language and charset ("[OPTION…]"). */
  setlocale (LC_ALL, "");

  context = g_option_context_new ("NAME - create a TUN/TAP device and pass its fd to a client");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "tun-helper: %s\n", error->message);
      return 2;
    }
  if (argc != 2 || (socket_path == NULL) == (inherited_fd < 0) || (peer != NULL && address == NULL))
    {
      fprintf (stderr, "tun-helper: give one device NAME and exactly one of --socket or --fd "
                       "(--peer needs --address); see --help\n");
      return 2;
    }
  name = argv[1];

  /* Reach the client first, so a wrong path leaves no device behind. */
  connection = connect_to_client (socket_path, inherited_fd, &error);
  if (connection == NULL)
    {
      fprintf (stderr, "tun-helper: cannot reach the client: %s\n", error->message);
      return EXIT_FAILURE;
    }

  /* Persistent devices the library creates always get an owner (by
   * default this uid); --owner and --group only apply when creating. */
  device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error,
                           "name", name,
                           "mode", tap ? TUN_TAP_MODE_TAP : TUN_TAP_MODE_TUN,
                           "persistent", persistent,
                           "owner", owner,
                           "group", group,
                           NULL);
  if (device == NULL)
    {
      fprintf (stderr, "tun-helper: %s\n", error->message);
      return EXIT_FAILURE;
    }

  /* Configuration needs CAP_NET_ADMIN, which the client will not have. An
   * address a persistent device kept from last time is fine. */
  if (address != NULL &&
      !tun_tap_device_add_address_from_string (device, address, peer, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      fprintf (stderr, "tun-helper: %s\n", error->message);
      return EXIT_FAILURE;
    }
  g_clear_error (&error);
  if ((address != NULL || up) && !tun_tap_device_set_up (device, TRUE, &error))
    {
      fprintf (stderr, "tun-helper: %s\n", error->message);
      return EXIT_FAILURE;
    }

  if (!G_IS_UNIX_CONNECTION (connection) ||
      !g_unix_connection_send_fd (G_UNIX_CONNECTION (connection),
                                  tun_tap_device_get_fd (device), NULL, &error))
    {
      fprintf (stderr, "tun-helper: cannot pass the device to the client: %s\n",
               error ? error->message : "not a Unix socket");
      return EXIT_FAILURE;
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  /* The client holds its own reference to the open file now: closing ours
   * leaves the interface in place, even if it is not persistent. */
  printf ("%s\n", tun_tap_device_get_name (device));
  tun_tap_device_close (device);
  return EXIT_SUCCESS;
}
