/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * echo-gmain: the classic TUN echo, on tuntap-glib and a GLib main loop.
 * Every packet the kernel routes into the device is printed and written
 * back; with --reply, requests are turned into answers so ping works.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <glib-unix.h>
#include <tuntap-glib/tuntap-glib.h>

#include "echo-reflect.h"

typedef struct {
  TunTapDevice *device;
  GMainLoop    *loop;
  gboolean      reply;
  gboolean      quiet;
  gboolean      tap;
  GByteArray   *out;           /* answers of one batch, reused */
  GArray       *out_lengths;
  guint64       received;
  guint64       sent;
  int           status;
} Echo;

/* One batch per main-loop wake-up (::packets-received), answered with one
 * send_many(): the same read(2) and write(2) per packet as a hand-written
 * loop, and no per-packet signal emission. */
static void
on_packets_received (TunTapDevice *device,
                     GBytes       *packets,
                     GArray       *lengths,
                     gpointer      user_data)
{
  Echo *echo = user_data;
  const guint8 *data = g_bytes_get_data (packets, NULL);
  g_autoptr(GError) error = NULL;
  gsize offset = 0;
  gint sent;

  g_byte_array_set_size (echo->out, 0);
  g_array_set_size (echo->out_lengths, 0);

  for (guint i = 0; i < lengths->len; i++)
    {
      guint len = g_array_index (lengths, guint, i);
      const guint8 *packet = data + offset;

      offset += len;
      echo->received++;

      if (!echo->quiet)
        {
          char line[256];
          echo_describe (packet, len, echo->tap, line, sizeof line);
          printf ("%s: %s\n", tun_tap_device_get_name (device), line);
        }

      /* Copy into the outgoing batch, and rewrite the copy there: the
       * received GBytes stays immutable. */
      g_byte_array_append (echo->out, packet, len);
      if (echo->reply &&
          !echo_reflect (echo->out->data + echo->out->len - len, len, echo->tap))
        {
          g_byte_array_set_size (echo->out, echo->out->len - len);
          continue;
        }
      g_array_append_val (echo->out_lengths, len);
    }

  if (echo->out_lengths->len == 0)
    return;
  sent = tun_tap_device_send_many (device, echo->out->data, echo->out->len,
                                   (const guint *) (gpointer) echo->out_lengths->data,
                                   echo->out_lengths->len, &error);
  if (sent < 0)
    {
      if (!echo->quiet)
        fprintf (stderr, "echo-gmain: %s\n", error->message);
      return;
    }
  /* A packet the kernel refused is dropped, as it would be on a wire. */
  echo->sent += (guint) sent;
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
  if (mtu != G_MININT && !tun_tap_device_set_mtu (device, (guint) mtu, error))
    return FALSE;

  for (guint i = 0; i < address_options->len; i++)
    {
      AddressOption *opt = &g_array_index (address_options, AddressOption, i);

      if (!tun_tap_device_add_address_from_string (device, opt->address, opt->peer, error))
        return FALSE;
    }

  if (mtu != G_MININT || address_options->len > 0)
    return tun_tap_device_set_up (device, TRUE, error);
  return TRUE;
}

/* SIGINT/SIGTERM through a signalfd rather than g_unix_signal_add(), which
 * starts GLib's worker thread: every read(2) and write(2) of a threaded
 * process costs more (measured by the benchmark: 6% of the echo). */
static gboolean
on_signalfd (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  Echo *echo = user_data;
  struct signalfd_siginfo info;

  while (read (fd, &info, sizeof info) == sizeof info)
    ;
  g_main_loop_quit (echo->loop);
  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *name = NULL;
  gboolean tap = FALSE, reply = FALSE, quiet = FALSE, offload = FALSE;
  int mtu = G_MININT;   /* not given */
  sigset_t signals;
  int signal_fd;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Echo echo = { 0 };
  const GOptionEntry entries[] = {
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "Interface name or template (default tun%d / tap%d)", "NAME" },
    { "tap", 0, 0, G_OPTION_ARG_NONE, &tap, "Open a TAP (Ethernet) device instead of TUN", NULL },
    { "reply", 'r', 0, G_OPTION_ARG_NONE, &reply, "Answer pings (and reflect UDP/TCP) instead of echoing verbatim", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Do not print a line per packet", NULL },
    { "offload", 0, 0, G_OPTION_ARG_NONE, &offload, "TUN offloads: the kernel's super-packets split in the library, replies coalesced", NULL },
    { "address", 'a', 0, G_OPTION_ARG_CALLBACK, on_address_option, "Add an address, IPv4 or IPv6 (repeatable), and bring the link up", "CIDR" },
    { "peer", 'p', 0, G_OPTION_ARG_CALLBACK, on_peer_option, "Point-to-point peer of the preceding --address", "ADDR" },
    { "mtu", 'm', 0, G_OPTION_ARG_INT, &mtu, "Set the MTU and bring the link up", "N" },
    G_OPTION_ENTRY_NULL
  };

  /* Blocked before anything could start a thread, so the signalfd gets them. */
  sigemptyset (&signals);
  sigaddset (&signals, SIGINT);
  sigaddset (&signals, SIGTERM);
  sigprocmask (SIG_BLOCK, &signals, NULL);
  signal_fd = signalfd (-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0)
    {
      perror ("echo-gmain: signalfd");
      return EXIT_FAILURE;
    }

  address_options = g_array_new (FALSE, TRUE, sizeof (AddressOption));
  g_array_set_clear_func (address_options, address_option_clear);

  /* GOption prints its help in the user's language and charset ("[OPTION…]"). */
  setlocale (LC_ALL, "");

  context = g_option_context_new ("- echo packets through a TUN/TAP device");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "echo-gmain: %s\n", error->message);
      return 2;
    }
  if (mtu != G_MININT && mtu < 0)
    {
      fprintf (stderr, "echo-gmain: --mtu %d: the MTU cannot be negative\n", mtu);
      return 2;
    }

  /* One line per packet, even into a pipe. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  echo.device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error,
                                "name", name ? name : (tap ? "tap%d" : "tun%d"),
                                "mode", tap ? TUN_TAP_MODE_TAP : TUN_TAP_MODE_TUN,
                                "offload", offload, NULL);
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

  echo.out = g_byte_array_sized_new (64 * 2048);
  echo.out_lengths = g_array_sized_new (FALSE, FALSE, sizeof (guint), 64);
  g_signal_connect (echo.device, "packets-received", G_CALLBACK (on_packets_received), &echo);
  g_signal_connect (echo.device, "closed", G_CALLBACK (on_closed), &echo);
  g_unix_fd_add (signal_fd, G_IO_IN, on_signalfd, &echo);

  printf ("%s\n", tun_tap_device_get_name (echo.device));
  fflush (stdout);

  g_main_loop_run (echo.loop);

  if (!quiet)
    printf ("%s: packets received: %" G_GUINT64_FORMAT ", sent: %" G_GUINT64_FORMAT "\n",
            tun_tap_device_get_name (echo.device), echo.received, echo.sent);

  tun_tap_device_close (echo.device);
  g_object_unref (echo.device);
  g_main_loop_unref (echo.loop);
  g_array_unref (address_options);
  g_byte_array_unref (echo.out);
  g_array_unref (echo.out_lengths);
  close (signal_fd);
  return echo.status;
}
