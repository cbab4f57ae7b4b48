/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tunnel: a point-to-point IP tunnel over UDP, on tuntap-glib.
 *
 * Each side owns a TUN device, configured through the library (MTU,
 * address, up), and a UDP socket bound to --local and connected to --peer.
 * Every packet the kernel routes into the TUN goes to the peer as a UDP
 * datagram; every datagram from the peer is written into the TUN.
 *
 * THIS IS A VPN WITHOUT ENCRYPTION OR AUTHENTICATION. Anyone on the path
 * reads the packets, and anyone who can send from the peer's address and
 * port injects packets into this host's network stack. Authentication and
 * encryption are the application's job: seal each packet (an AEAD such as
 * ChaCha20-Poly1305 with a per-packet nonce, keys from a handshake such as
 * Noise or TLS) in send_to_peer() before it goes into a datagram, and open
 * and verify it in on_socket_readable() before it reaches deliver(); a
 * packet that fails verification is dropped and counted there.
 *
 * The fast paths:
 * - TUN side: one ::packets-received per main-loop wake-up, and
 *   send_many() for what arrives. With offloads (the default; --no-offload
 *   turns them off) the kernel hands the library TCP/UDP super-packets,
 *   which it splits into MTU-sized packets for us, and send_many() merges
 *   consecutive segments of one flow back into super-packets.
 * - Socket side: sendmmsg(2)/recvmmsg(2) on the GSocket's fd, with UDP
 *   segmentation offload (UDP_SEGMENT: a run of equal-sized packets, the
 *   last one possibly shorter, leaves in one send and the kernel cuts it
 *   into datagrams) and UDP GRO (the kernel hands back such a run as one
 *   buffer, with the segment size in a control message). GIO has
 *   g_socket_send_messages()/g_socket_receive_messages(), but no
 *   GSocketControlMessage for UDP_SEGMENT, and receive_messages() drops the
 *   control messages it cannot parse, UDP_GRO's among them; so the GSocket
 *   creates, binds, connects and watches the socket, and its fd carries
 *   the data. Kernels without UDP_SEGMENT/UDP_GRO (probed with setsockopt)
 *   get one datagram per packet, still in batches.
 *
 * Backpressure: when the socket would block, the rest of the batch is kept,
 * the device stops reading (its `receiving` property; the kernel's queue
 * then fills and drops, which TCP inside the tunnel understands), and a
 * G_IO_OUT watch on the socket sends the rest and resumes reading. Nothing
 * is dropped silently: every packet that could not be carried is counted,
 * and the counts are printed at exit (unless --quiet).
 */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <glib-unix.h>
#include <tuntap-glib/tuntap-glib.h>

/* The wire socket's buffers: room for bursts of super-packets. */
#define SOCKET_BUFFER (4 * 1024 * 1024)
/* Segments per UDP_SEGMENT send (UDP_MAX_SEGMENTS before Linux 6.10). */
#define MAX_SEGMENTS 64
/* Messages per sendmmsg(2)/recvmmsg(2). */
#define SEND_BATCH 64
#define RECV_BATCH 16
/* One receive slot holds any datagram, a GRO one included. */
#define SLOT_SIZE 65536
/* recvmmsg(2) calls per wake-up, so the TUN side gets its turn. */
#define RECV_ROUNDS 4
/* What the socket could not take yet waits here: the rest of one batch,
 * since the device reads nothing more until it drains. */
#define PENDING_MAX (4 * 1024 * 1024)

typedef struct {
  TunTapDevice *device;
  GSocket      *socket;
  int           fd;
  GMainLoop    *loop;
  gboolean      quiet;
  int           status;

  gboolean      gso;
  gboolean      gro;
  gsize         max_datagram;     /* largest UDP payload the family allows */
  guint         gso_refused;      /* smallest segment size the kernel refused */

  /* TUN -> peer: what the socket could not take yet. */
  GByteArray   *pending;
  GArray       *pending_lengths;
  GSource      *writable;

  /* peer -> TUN */
  guint8       *slots;
  GArray       *in_lengths;

  /* Counters, printed at exit. */
  guint64       to_peer_packets;
  guint64       to_peer_datagrams;   /* sends: one GSO send counts once */
  guint64       from_peer_packets;
  guint64       from_peer_datagrams; /* receives: one GRO buffer counts once */
  guint64       delivered;
  guint64       dropped_to_peer;
  guint64       dropped_to_device;
  guint64       dropped_truncated;
  guint64       pauses;
  gboolean      warned_to_peer;
  gboolean      warned_to_device;
  gboolean      warned_receive;
} Tunnel;

/* ---- TUN -> peer ------------------------------------------------------ */

static void
warn_once (Tunnel     *t,
           gboolean   *warned,
           const char *what,
           const char *message)
{
  if (t->quiet || *warned)
    return;
  *warned = TRUE;
  fprintf (stderr, "tunnel: %s: %s (reported once)\n", what, message);
}

/* Sends packets [0, n) of @data to the peer, as few sends as possible.
 * Returns how many packets were dealt with -- sent, or dropped and counted
 * -- from the start: fewer than @n only when the socket would block. */
static guint
send_to_peer (Tunnel       *t,
              const guint8 *data,
              const guint  *lengths,
              guint         n)
{
  struct mmsghdr msgs[SEND_BATCH];
  struct iovec iovs[SEND_BATCH];
  union {
    char buf[CMSG_SPACE (sizeof (guint16))];
    struct cmsghdr align;
  } controls[SEND_BATCH];
  /* Message m carries packets first[m] .. first[m + 1] - 1, which start
   * at offset[m] in @data. */
  guint first[SEND_BATCH + 1];
  gsize offset[SEND_BATCH + 1];
  guint done = 0;
  gsize done_offset = 0;
  int refused_retries = 0;

  while (done < n)
    {
      guint m = 0, i = done;
      gsize off = done_offset;
      guint k = 0;

      memset (msgs, 0, sizeof msgs);
      while (m < SEND_BATCH && i < n)
        {
          guint size = lengths[i], count = 1;
          gsize bytes = size;

          /* A run of packets of one size, and one shorter packet after it:
           * the shape UDP_SEGMENT cuts back into the same datagrams. */
          if (t->gso && size < t->gso_refused)
            {
              while (i + count < n && count < MAX_SEGMENTS && lengths[i + count] == size &&
                     bytes + size <= t->max_datagram)
                bytes += lengths[i + count++];
              if (i + count < n && count < MAX_SEGMENTS && lengths[i + count] < size &&
                  bytes + lengths[i + count] <= t->max_datagram)
                bytes += lengths[i + count++];
            }

          iovs[m].iov_base = (void *) (data + off);
          iovs[m].iov_len = bytes;
          msgs[m].msg_hdr.msg_iov = &iovs[m];
          msgs[m].msg_hdr.msg_iovlen = 1;
          if (count > 1)
            {
              struct cmsghdr *cmsg;
              guint16 segment = size;

              msgs[m].msg_hdr.msg_control = controls[m].buf;
              msgs[m].msg_hdr.msg_controllen = sizeof controls[m].buf;
              cmsg = CMSG_FIRSTHDR (&msgs[m].msg_hdr);
              cmsg->cmsg_level = SOL_UDP;
              cmsg->cmsg_type = UDP_SEGMENT;
              cmsg->cmsg_len = CMSG_LEN (sizeof segment);
              memcpy (CMSG_DATA (cmsg), &segment, sizeof segment);
            }
          first[m] = i;
          offset[m] = off;
          m++;
          i += count;
          off += bytes;
        }
      first[m] = i;
      offset[m] = off;

      while (k < m)
        {
          int r = sendmmsg (t->fd, msgs + k, m - k, 0);
          int saved_errno = errno;

          if (r > 0)
            {
              t->to_peer_datagrams += r;
              t->to_peer_packets += first[k + r] - first[k];
              k += r;
              continue;
            }
          if (saved_errno == EINTR)
            continue;
          if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)
            return first[k];
          if (saved_errno == ECONNREFUSED && refused_retries++ < 2)
            {
              /* An ICMP "port unreachable" for an earlier datagram (the
               * peer was not listening yet), reported on this send, which
               * therefore sent nothing: try again. */
              continue;
            }
          if (msgs[k].msg_hdr.msg_control != NULL &&
              (saved_errno == EINVAL || saved_errno == EMSGSIZE || saved_errno == EIO))
            {
              /* The kernel would not segment this size (a segment plus
               * headers over the wire's MTU, or a path that cannot do it):
               * these packets, and any as large, go one per datagram. */
              t->gso_refused = MIN (t->gso_refused, lengths[first[k]]);
              break;
            }
          t->dropped_to_peer += first[k + 1] - first[k];
          warn_once (t, &t->warned_to_peer, "a datagram to the peer was refused",
                     g_strerror (saved_errno));
          k++;
        }
      done = first[k];
      done_offset = offset[k];
    }
  return n;
}

static void
pending_append (Tunnel       *t,
                const guint8 *data,
                const guint  *lengths,
                guint         n)
{
  gsize bytes = 0;

  for (guint i = 0; i < n; i++)
    bytes += lengths[i];
  if (t->pending->len + bytes > PENDING_MAX)
    {
      t->dropped_to_peer += n;
      warn_once (t, &t->warned_to_peer, "packets to the peer were dropped",
                 "more than 4 MiB waiting for the socket");
      return;
    }
  g_byte_array_append (t->pending, data, bytes);
  g_array_append_vals (t->pending_lengths, lengths, n);
}

static gboolean on_socket_writable (GSocket *socket, GIOCondition condition, gpointer user_data);

/* The socket is full: stop reading the device until it drains. */
static void
pause_device (Tunnel *t)
{
  if (t->writable != NULL)
    return;
  t->pauses++;
  tun_tap_device_set_receiving (t->device, FALSE);
  t->writable = g_socket_create_source (t->socket, G_IO_OUT, NULL);
  g_source_set_callback (t->writable, G_SOURCE_FUNC (on_socket_writable), t, NULL);
  g_source_attach (t->writable, NULL);
}

static gboolean
on_socket_writable (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  Tunnel *t = user_data;
  guint n = t->pending_lengths->len;
  guint done = send_to_peer (t, t->pending->data,
                             (const guint *) (gpointer) t->pending_lengths->data, n);
  gsize bytes = 0;

  for (guint i = 0; i < done; i++)
    bytes += g_array_index (t->pending_lengths, guint, i);
  g_byte_array_remove_range (t->pending, 0, bytes);
  g_array_remove_range (t->pending_lengths, 0, done);
  if (done < n)
    return G_SOURCE_CONTINUE;

  tun_tap_device_set_receiving (t->device, TRUE);
  g_clear_pointer (&t->writable, g_source_unref);
  return G_SOURCE_REMOVE;
}

static void
on_packets_received (TunTapDevice *device,
                     GBytes       *packets,
                     GArray       *lengths,
                     gpointer      user_data)
{
  Tunnel *t = user_data;
  const guint8 *data = g_bytes_get_data (packets, NULL);
  const guint *lens = (const guint *) (gpointer) lengths->data;
  guint done;

  /* Paused devices deliver nothing, so this is only a safeguard: queue
   * behind what waits, in order. */
  if (t->pending_lengths->len > 0)
    {
      pending_append (t, data, lens, lengths->len);
      return;
    }

  done = send_to_peer (t, data, lens, lengths->len);
  if (done < lengths->len)
    {
      gsize skip = 0;

      for (guint i = 0; i < done; i++)
        skip += lens[i];
      pending_append (t, data + skip, lens + done, lengths->len - done);
      pause_device (t);
    }
}

/* ---- peer -> TUN ------------------------------------------------------ */

/* Writes the packets of one receive into the device; a packet it refuses
 * is counted and skipped, the rest still go. */
static void
deliver (Tunnel       *t,
         const guint8 *data,
         gsize         len,
         const guint  *lengths,
         guint         n)
{
  guint done = 0;

  while (done < n)
    {
      g_autoptr(GError) error = NULL;
      gint sent = tun_tap_device_send_many (t->device, data, len, lengths + done, n - done,
                                            &error);

      if (sent < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
            {
              /* ::closed ends the loop; what is left cannot go anywhere. */
              t->dropped_to_device += n - done;
              return;
            }
          warn_once (t, &t->warned_to_device, "a packet from the peer was refused",
                     error->message);
          t->dropped_to_device++;
          sent = 1;
        }
      else
        t->delivered += sent;
      for (gint i = 0; i < sent; i++)
        {
          data += lengths[done];
          len -= lengths[done];
          done++;
        }
    }
}

static gboolean
on_socket_readable (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  Tunnel *t = user_data;

  for (int round = 0; round < RECV_ROUNDS; round++)
    {
      struct mmsghdr msgs[RECV_BATCH];
      struct iovec iovs[RECV_BATCH];
      union {
        char buf[CMSG_SPACE (sizeof (int))];
        struct cmsghdr align;
      } controls[RECV_BATCH];
      gsize end = 0;
      int r;

      memset (msgs, 0, sizeof msgs);
      for (int k = 0; k < RECV_BATCH; k++)
        {
          iovs[k].iov_base = t->slots + (gsize) k * SLOT_SIZE;
          iovs[k].iov_len = SLOT_SIZE;
          msgs[k].msg_hdr.msg_iov = &iovs[k];
          msgs[k].msg_hdr.msg_iovlen = 1;
          msgs[k].msg_hdr.msg_control = controls[k].buf;
          msgs[k].msg_hdr.msg_controllen = sizeof controls[k].buf;
        }

      r = recvmmsg (t->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
      if (r < 0)
        {
          if (errno == EINTR || errno == ECONNREFUSED)
            continue;   /* ECONNREFUSED: our earlier send's ICMP error, nothing lost */
          if (errno != EAGAIN && errno != EWOULDBLOCK)
            warn_once (t, &t->warned_receive, "receiving from the peer", g_strerror (errno));
          break;
        }

      /* Packets of all the datagrams one after the other, as send_many()
       * takes them: move each datagram up behind the one before. */
      g_array_set_size (t->in_lengths, 0);
      for (int k = 0; k < r; k++)
        {
          guint len = msgs[k].msg_len;
          int segment = 0;

          t->from_peer_datagrams++;
          if (msgs[k].msg_hdr.msg_flags & MSG_TRUNC)
            {
              t->dropped_truncated++;
              continue;
            }
          if (len == 0)
            continue;
          for (struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msgs[k].msg_hdr); cmsg != NULL;
               cmsg = CMSG_NXTHDR (&msgs[k].msg_hdr, cmsg))
            if (cmsg->cmsg_level == SOL_UDP && cmsg->cmsg_type == UDP_GRO)
              memcpy (&segment, CMSG_DATA (cmsg), sizeof segment);

          memmove (t->slots + end, t->slots + (gsize) k * SLOT_SIZE, len);
          end += len;
          if (segment <= 0 || (guint) segment >= len)
            g_array_append_val (t->in_lengths, len);
          else
            for (guint o = 0; o < len; o += segment)
              {
                guint piece = MIN ((guint) segment, len - o);
                g_array_append_val (t->in_lengths, piece);
              }
        }
      t->from_peer_packets += t->in_lengths->len;
      if (t->in_lengths->len > 0)
        deliver (t, t->slots, end, (const guint *) (gpointer) t->in_lengths->data,
                 t->in_lengths->len);
      if (r < RECV_BATCH)
        break;
    }
  return G_SOURCE_CONTINUE;
}

/* ---- setup ------------------------------------------------------------ */

static void
on_closed (TunTapDevice *device,
           const GError *error,
           gpointer      user_data)
{
  Tunnel *t = user_data;

  if (error != NULL)
    {
      fprintf (stderr, "tunnel: %s\n", error->message);
      t->status = EXIT_FAILURE;
    }
  g_main_loop_quit (t->loop);
}

static gboolean
on_signal (gpointer user_data)
{
  Tunnel *t = user_data;

  g_main_loop_quit (t->loop);
  return G_SOURCE_CONTINUE;
}

/* ADDR:PORT, with IPv6 in brackets: [2001:db8::1]:5000. */
static GSocketAddress *
parse_endpoint (const char  *option,
                const char  *text,
                GError     **error)
{
  g_autoptr(GSocketConnectable) parsed = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *host;

  parsed = g_network_address_parse (text, 0, error);
  if (parsed == NULL)
    {
      g_prefix_error (error, "%s %s: ", option, text);
      return NULL;
    }
  host = g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed));
  address = g_inet_address_new_from_string (host);
  if (address == NULL || g_network_address_get_port (G_NETWORK_ADDRESS (parsed)) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s %s: write an IP address and a port, such as 203.0.113.1:5000 "
                   "or [2001:db8::1]:5000", option, text);
      return NULL;
    }
  return g_inet_socket_address_new (address, g_network_address_get_port (G_NETWORK_ADDRESS (parsed)));
}

/* SO_SNDBUFFORCE/SO_RCVBUFFORCE need CAP_NET_ADMIN; without it the plain
 * options give what net.core.[wr]mem_max allows. */
static void
set_buffer (GSocket *socket,
            int      force,
            int      plain)
{
  if (!g_socket_set_option (socket, SOL_SOCKET, force, SOCKET_BUFFER, NULL))
    g_socket_set_option (socket, SOL_SOCKET, plain, SOCKET_BUFFER, NULL);
}

static GSocket *
open_socket (GSocketAddress  *local,
             GSocketAddress  *peer,
             GError         **error)
{
  GSocketFamily family = g_socket_address_get_family (local);
  g_autoptr(GSocket) socket = NULL;

  if (g_socket_address_get_family (peer) != family)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--local and --peer must both be IPv4 or both IPv6");
      return NULL;
    }
  socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  set_buffer (socket, SO_SNDBUFFORCE, SO_SNDBUF);
  set_buffer (socket, SO_RCVBUFFORCE, SO_RCVBUF);
  /* Connected: the kernel drops datagrams from anyone but the peer (no
   * authentication: that sender address can be forged) and sends need no
   * address. */
  if (!g_socket_bind (socket, local, FALSE, error) ||
      !g_socket_connect (socket, peer, NULL, error))
    return NULL;
  return g_steal_pointer (&socket);
}

/* MTU, the address (with its point-to-point peer), then up: all through
 * the library, over rtnetlink. As with iproute2's `peer ADDR/PREFIX`, a
 * prefix on the peer is the address's prefix, so the kernel's route for it
 * covers the peer's network. */
static gboolean
configure_device (TunTapDevice  *device,
                  guint          mtu,
                  const char    *address,
                  const char    *peer_address,
                  GError       **error)
{
  g_auto(GStrv) peer = NULL;
  g_autofree char *full_address = NULL;

  if (peer_address != NULL)
    {
      peer = g_strsplit (peer_address, "/", 2);
      if (peer[1] != NULL)
        {
          const char *slash = strchr (address, '/');

          if (slash != NULL && strcmp (slash + 1, peer[1]) != 0)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "--address %s and --peer-address %s have different prefixes: "
                           "give it once", address, peer_address);
              return FALSE;
            }
          if (slash == NULL)
            address = full_address = g_strdup_printf ("%s/%s", address, peer[1]);
        }
    }
  return tun_tap_device_set_mtu (device, mtu, error) &&
         tun_tap_device_add_address_from_string (device, address, peer ? peer[0] : NULL, error) &&
         tun_tap_device_set_up (device, TRUE, error);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *local_text = NULL, *peer_text = NULL, *address = NULL;
  g_autofree char *peer_address = NULL, *name = NULL;
  gboolean no_offload = FALSE, no_udp_offload = FALSE, quiet = FALSE;
  int mtu = 1420;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) local = NULL, peer = NULL;
  GSource *readable;
  Tunnel t = { 0 };
  const GOptionEntry entries[] = {
    { "local", 'l', 0, G_OPTION_ARG_STRING, &local_text, "UDP address and port to bind, such as 203.0.113.1:5000", "ADDR:PORT" },
    { "peer", 'p', 0, G_OPTION_ARG_STRING, &peer_text, "The other end's UDP address and port", "ADDR:PORT" },
    { "address", 'a', 0, G_OPTION_ARG_STRING, &address, "This end's tunnel address, such as 198.51.100.1/24", "CIDR" },
    { "peer-address", 0, 0, G_OPTION_ARG_STRING, &peer_address, "The other end's tunnel address, as point-to-point peer (a /PREFIX is that of --address)", "ADDR[/PREFIX]" },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "Interface name or template (default tun%d)", "IFNAME" },
    { "mtu", 'm', 0, G_OPTION_ARG_INT, &mtu, "The tunnel's MTU (default 1420: room for IPv6 and UDP headers on a 1500-byte wire)", "N" },
    { "no-offload", 0, 0, G_OPTION_ARG_NONE, &no_offload, "Do not ask the TUN device for offloads (super-packets)", NULL },
    { "no-udp-offload", 0, 0, G_OPTION_ARG_NONE, &no_udp_offload, "Do not use UDP GSO/GRO on the socket (one datagram per packet, as on kernels without them)", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the ready line (and errors), no counters at exit", NULL },
    G_OPTION_ENTRY_NULL
  };

  /* GOption prints its help in the user's language and charset ("[OPTION…]"). */
  setlocale (LC_ALL, "");
  context = g_option_context_new ("- a point-to-point IP tunnel over UDP, WITHOUT ENCRYPTION");
  g_option_context_set_summary (context,
    "Carries every packet of a TUN device to a peer in a UDP datagram, and\n"
    "writes what the peer sends into the device. NOT A SECURE VPN: packets\n"
    "cross the network in clear text and are not authenticated; anyone who\n"
    "can send from the peer's address injects packets. Add authentication\n"
    "and encryption (see the top of tunnel.c) before using it on a network\n"
    "you do not control.\n"
    "\n"
    "Prints \"ready IFNAME\" once the device is configured and the socket bound.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "tunnel: %s\n", error->message);
      return 2;
    }
  if (local_text == NULL || peer_text == NULL || address == NULL)
    {
      fprintf (stderr, "tunnel: --local, --peer and --address are required (see --help)\n");
      return 2;
    }
  if (mtu < 68 || mtu > 65535)
    {
      fprintf (stderr, "tunnel: --mtu %d: between 68 and 65535\n", mtu);
      return 2;
    }
  if ((local = parse_endpoint ("--local", local_text, &error)) == NULL ||
      (peer = parse_endpoint ("--peer", peer_text, &error)) == NULL)
    {
      fprintf (stderr, "tunnel: %s\n", error->message);
      return 2;
    }

  t.status = EXIT_SUCCESS;
  t.quiet = quiet;
  t.device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error,
                             "name", name ? name : "tun%d",
                             "mode", TUN_TAP_MODE_TUN,
                             "offload", !no_offload, NULL);
  if (t.device == NULL)
    {
      fprintf (stderr, "tunnel: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (!configure_device (t.device, mtu, address, peer_address, &error) ||
      (t.socket = open_socket (local, peer, &error)) == NULL)
    {
      fprintf (stderr, "tunnel: %s\n", error->message);
      g_object_unref (t.device);
      return EXIT_FAILURE;
    }

  t.fd = g_socket_get_fd (t.socket);
  t.max_datagram = g_socket_address_get_family (local) == G_SOCKET_FAMILY_IPV4 ? 65535 - 20 - 8 : 65535 - 8;
  t.gso_refused = G_MAXUINT;
  /* Probes: a kernel without them refuses the option. */
  t.gso = !no_udp_offload && g_socket_set_option (t.socket, SOL_UDP, UDP_SEGMENT, 0, NULL);
  t.gro = !no_udp_offload && g_socket_set_option (t.socket, SOL_UDP, UDP_GRO, 1, NULL);
  t.pending = g_byte_array_new ();
  t.pending_lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  t.slots = g_malloc ((gsize) RECV_BATCH * SLOT_SIZE);
  t.in_lengths = g_array_sized_new (FALSE, FALSE, sizeof (guint), RECV_BATCH * MAX_SEGMENTS);
  t.loop = g_main_loop_new (NULL, FALSE);

  g_signal_connect (t.device, "packets-received", G_CALLBACK (on_packets_received), &t);
  g_signal_connect (t.device, "closed", G_CALLBACK (on_closed), &t);
  readable = g_socket_create_source (t.socket, G_IO_IN, NULL);
  g_source_set_callback (readable, G_SOURCE_FUNC (on_socket_readable), &t, NULL);
  g_source_attach (readable, NULL);
  g_unix_signal_add (SIGINT, on_signal, &t);
  g_unix_signal_add (SIGTERM, on_signal, &t);

  printf ("ready %s\n", tun_tap_device_get_name (t.device));
  fflush (stdout);

  g_main_loop_run (t.loop);

  if (t.writable != NULL)
    {
      /* Stopped while the socket was full: what waited is lost, and said so. */
      t.dropped_to_peer += t.pending_lengths->len;
      g_source_destroy (t.writable);
      g_clear_pointer (&t.writable, g_source_unref);
    }
  if (!quiet)
    {
      printf ("%s: to the peer %" G_GUINT64_FORMAT " packets in %" G_GUINT64_FORMAT
              " sends (UDP GSO %s), from the peer %" G_GUINT64_FORMAT " packets in %"
              G_GUINT64_FORMAT " receives (UDP GRO %s), %" G_GUINT64_FORMAT " written to the device;"
              " %" G_GUINT64_FORMAT " pauses\n",
              tun_tap_device_get_name (t.device),
              t.to_peer_packets, t.to_peer_datagrams, t.gso ? "on" : "off",
              t.from_peer_packets, t.from_peer_datagrams, t.gro ? "on" : "off",
              t.delivered, t.pauses);
      printf ("%s: dropped %" G_GUINT64_FORMAT " to the peer, %" G_GUINT64_FORMAT
              " to the device, %" G_GUINT64_FORMAT " truncated datagrams\n",
              tun_tap_device_get_name (t.device),
              t.dropped_to_peer, t.dropped_to_device, t.dropped_truncated);
      if (tun_tap_device_get_offload (t.device))
        {
          guint64 super_packets, split, malformed, coalesced, fallbacks;

          tun_tap_device_get_offload_counters (t.device, &super_packets, &split, &malformed,
                                               &coalesced, &fallbacks);
          printf ("%s: offloads: %" G_GUINT64_FORMAT " super-packets read, split into %"
                  G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " malformed; %" G_GUINT64_FORMAT
                  " super-packets written, %" G_GUINT64_FORMAT " fallbacks\n",
                  tun_tap_device_get_name (t.device), super_packets, split, malformed,
                  coalesced, fallbacks);
        }
    }

  g_source_destroy (readable);
  g_source_unref (readable);
  tun_tap_device_close (t.device);
  g_object_unref (t.device);
  g_object_unref (t.socket);
  g_main_loop_unref (t.loop);
  g_byte_array_unref (t.pending);
  g_array_unref (t.pending_lengths);
  g_array_unref (t.in_lengths);
  g_free (t.slots);
  return t.status;
}
