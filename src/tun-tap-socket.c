/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Many datagrams of a UDP socket in one call, as one batch in the shape
 * packets-received gives and send_many_bytes() takes, for the languages
 * that cannot call g_socket_receive_messages() and would otherwise cross
 * into C once per datagram. Nothing here touches a device; the socket's
 * own rule applies (one receiving thread at a time).
 */
#include "config.h"

#include "tun-tap-socket-private.h"
#include "tun-tap-error.h"
#include "tun-tap-offload.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <glib/gi18n-lib.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Room for any UDP datagram, a run of them that GRO joined included (an
 * IP packet carries at most 65,535 bytes). */
#define DATAGRAM_ROOM 65536
/* What one datagram counts at least against max_bytes. */
#define DATAGRAM_MIN_COST 64
/* The most one call asks, whatever it is asked (and what 0 asks): a device
 * wake-up's byte budget, so that the datagrams and one more fit in a
 * batch's block. */
#define MAX_BYTES_CAP (256 * 1024)
G_STATIC_ASSERT (MAX_BYTES_CAP + DATAGRAM_ROOM <= TUN_TAP_BATCH_CAPACITY);

/* An error met after some datagrams, kept on the socket for the next call. */
static GQuark
deferred_error_quark (void)
{
  return g_quark_from_static_string ("tun-tap-socket-deferred-error");
}

/* “receive from socket 203.0.113.1:5555”, for messages. */
static char *
describe (GSocket *socket)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autofree char *where = local != NULL
    ? g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (local)) : NULL;

  /* TRANSLATORS: %s is a local socket address, “203.0.113.1:5555”. */
  return where != NULL ? g_strdup_printf (_("receive from socket %s"), where)
                       : g_strdup (_("receive from the socket"));
}

static void
set_receive_error (GError  **error,
                   GSocket  *socket,
                   int       errsv)
{
  g_autofree char *what = describe (socket);
  const char *hint = NULL;

  if (errsv == EAGAIN || errsv == EWOULDBLOCK)
    hint = _("no datagram is waiting; call again once the socket is readable (G_IO_IN)");
  else if (errsv == ECONNREFUSED)
    hint = _("an earlier datagram found nobody listening at the peer’s port; "
             "nothing received was lost, and the next call receives again");
  else if (errsv == EMSGSIZE)
    hint = _("an earlier datagram was too large for the path to the peer (its MTU); "
             "nothing received was lost, and the next call receives again");
  tun_tap_set_error (error, errsv, TUN_TAP_ERRNO_SOCKET, what, NULL, hint);
}

/* What the kernel could not hand over whole: a datagram longer than any
 * UDP one (@control FALSE), or control messages that did not fit, among
 * them the segment size of a GRO run (@control TRUE). The datagram is
 * dropped. */
static void
set_cut_error (GError  **error,
               GSocket  *socket,
               gboolean  control)
{
  g_autofree char *what = describe (socket);

  if (control)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 /* TRANSLATORS: %s is “receive from socket 203.0.113.1:5555”. */
                 _("Cannot %s: a datagram came with more control messages than fit, so its "
                   "UDP GRO segment size may be lost, and it was dropped; turn off socket "
                   "options that add control messages (timestamps, packet info)"), what);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 /* TRANSLATORS: %s is “receive from socket 203.0.113.1:5555”. */
                 _("Cannot %s: a datagram longer than 64 KiB was cut short and dropped"),
                 what);
}

/* The run of datagrams one receive gave: @n bytes, cut at @segment when
 * GRO joined several (the last may be shorter). */
static void
append_lengths (GArray *lengths,
                gsize   n,
                int     segment)
{
  gsize size = segment > 0 && (gsize) segment < n ? (gsize) segment : MAX (n, 1);

  for (gsize off = 0; off < n || (n == 0 && off == 0); off += size)
    {
      guint len = (guint) MIN (size, n - off);

      g_array_append_val (lengths, len);
    }
}

GBytes *
tun_tap_socket_receive_many_with (GSocket            *socket,
                                  gsize               max_bytes,
                                  guint             **lengths,
                                  guint              *n_lengths,
                                  GCancellable       *cancellable,
                                  GError            **error,
                                  TunTapRecvmsgFunc   receive)
{
  g_autoptr(GArray) lens = NULL;
  GError *deferred;
  GByteArray *batch;
  gsize end = 0, cost = 0;
  int fd;

  *lengths = NULL;
  *n_lengths = 0;
  tun_tap_i18n_init ();
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (g_socket_is_closed (socket))
    {
      g_autofree char *what = describe (socket);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   /* TRANSLATORS: %s is “receive from socket 203.0.113.1:5555”. */
                   _("Cannot %s: the socket is closed; make a new one"), what);
      return NULL;
    }
  if ((g_socket_get_family (socket) != G_SOCKET_FAMILY_IPV4 &&
       g_socket_get_family (socket) != G_SOCKET_FAMILY_IPV6) ||
      g_socket_get_socket_type (socket) != G_SOCKET_TYPE_DATAGRAM)
    {
      g_autofree char *what = describe (socket);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   /* TRANSLATORS: %s is “receive from socket …”. */
                   _("Cannot %s: it is not a UDP socket; only IPv4 and IPv6 datagram "
                     "sockets are supported"), what);
      return NULL;
    }
  deferred = g_object_steal_qdata (G_OBJECT (socket), deferred_error_quark ());
  if (deferred != NULL)
    {
      g_propagate_error (error, deferred);
      return NULL;
    }

  max_bytes = max_bytes == 0 ? MAX_BYTES_CAP : MIN (max_bytes, MAX_BYTES_CAP);
  fd = g_socket_get_fd (socket);
  /* A batch's memory, as a device wake-up's: reused from batches gone
   * (no fresh pages per call), and cut to size if the caller keeps many
   * (tun_tap_offload_batch_publish()). */
  batch = tun_tap_offload_batch_array_new ();
  lens = g_array_new (FALSE, FALSE, sizeof (guint));
  while (cost < max_bytes)
    {
      union {
        char           buf[1024];
        struct cmsghdr align;
      } control;
      struct iovec iov = { batch->data + end, DATAGRAM_ROOM };
      struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof control.buf,
      };
      ssize_t n = receive (fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      int segment = 0, errsv = 0;
      gboolean cut = FALSE, ctrunc = FALSE;

      if (n >= 0)
        {
          for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
                c->cmsg_len >= CMSG_LEN (sizeof segment))
              memcpy (&segment, CMSG_DATA (c), sizeof segment);
          cut = (msg.msg_flags & MSG_TRUNC) != 0;
          /* The segment size came (it comes before the IP layer's), or
           * the datagram may be a run taken for one. */
          ctrunc = (msg.msg_flags & MSG_CTRUNC) != 0 && segment <= 0;
        }
      else if (errno == EINTR)
        continue;
      else
        errsv = errno;

      if (n < 0 || cut || ctrunc)
        {
          if (lens->len == 0)
            {
              if (n < 0)
                set_receive_error (error, socket, errsv);
              else
                set_cut_error (error, socket, ctrunc);
              /* Published empty and let go: the block goes back for the
               * next call. */
              g_bytes_unref (tun_tap_offload_batch_publish (batch, NULL, NULL, 0));
              return NULL;
            }
          /* The kernel gave the error up to this call: kept for the next. */
          if (n >= 0 || (errsv != EAGAIN && errsv != EWOULDBLOCK))
            {
              GError *later = NULL;

              if (n < 0)
                set_receive_error (&later, socket, errsv);
              else
                set_cut_error (&later, socket, ctrunc);
              g_object_set_qdata_full (G_OBJECT (socket), deferred_error_quark (), later,
                                       (GDestroyNotify) g_error_free);
            }
          break;
        }
      append_lengths (lens, (gsize) n, segment);
      end += (gsize) n;
      cost += MAX ((gsize) n, DATAGRAM_MIN_COST);
    }

  /* Within the block's room: no reallocation. */
  g_byte_array_set_size (batch, (guint) end);
  *n_lengths = lens->len;
  *lengths = (guint *) g_array_free (g_steal_pointer (&lens), FALSE);
  return tun_tap_offload_batch_publish (batch, *lengths, NULL, *n_lengths);
}

/**
 * tun_tap_socket_receive_many:
 * @socket: a UDP socket (IPv4 or IPv6)
 * @max_bytes: how many bytes to take: receiving stops once this many have
 *   arrived (the last receive may pass it by up to 64 KiB) or none is
 *   waiting; at most 256 KiB, and 0 for those 256 KiB
 * @lengths: (out) (array length=n_lengths) (transfer full): the length of
 *   each datagram, in the order they arrived
 * @n_lengths: (out): how many datagrams
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Receives the datagrams waiting on @socket into one [struct@GLib.Bytes],
 * back to back, with their lengths: the shape of a
 * [signal@TunTap.Device::packets-received] batch, which
 * [method@TunTap.Device.send_many_bytes] takes as it is. A tunnel that
 * carries one packet per datagram thus writes what its peer sent into its
 * device with two calls per wake-up, however many datagrams came (empty
 * datagrams, which a device refuses, excepted).
 *
 * This is for Python and JavaScript, which cannot call
 * [method@Gio.Socket.receive_messages] (its buffers are raw pointers) and
 * would otherwise receive once per datagram: in gjs those calls, more than
 * the kernel's work, made most of a tunnel's receiving side
 * ([Building a tunnel](tunnel.html)). C code can as well call recvmmsg(2).
 *
 * It never blocks, whatever [method@Gio.Socket.set_blocking] says: call it
 * when the socket is readable (%G_IO_IN, for example from
 * [method@Gio.Socket.create_source]). With UDP generic receive offload
 * (`UDP_GRO`, set with [method@Gio.Socket.set_option]), the kernel hands
 * over a run of datagrams from one sender in one receive; it is cut back
 * here into the datagrams that were sent, by the segment size the kernel
 * reports. Senders' addresses are not returned: use a connected socket
 * ([method@Gio.Socket.connect]), which receives from its peer only. Each
 * receive counts as at least 64 bytes against @max_bytes, so that a flood
 * of empty datagrams cannot keep one call going.
 *
 * Errors, in the #G_IO_ERROR domain:
 *
 * - %G_IO_ERROR_WOULD_BLOCK: no datagram is waiting.
 * - %G_IO_ERROR_CONNECTION_REFUSED, %G_IO_ERROR_MESSAGE_TOO_LARGE,
 *   %G_IO_ERROR_HOST_UNREACHABLE, %G_IO_ERROR_NETWORK_UNREACHABLE: the
 *   network's answer to an earlier send (an ICMP "port unreachable",
 *   "too big", ...), which the kernel reports on the next receive; nothing
 *   received is lost, and the next call receives again.
 * - %G_IO_ERROR_INVALID_DATA: a datagram could not be handed over whole
 *   (longer than 64 KiB, or with more control messages than fit) and was
 *   dropped.
 * - %G_IO_ERROR_CANCELLED (nothing received), %G_IO_ERROR_CLOSED (the
 *   socket is closed), %G_IO_ERROR_NOT_SUPPORTED (not a UDP socket).
 *
 * An error that comes after some datagrams ends the batch, which is
 * returned, and is reported by the next call instead of the kernel's own
 * receive; the kernel has handed it over, so %G_IO_ERR does not wake the
 * caller for it: it comes with the next call, when a datagram makes the
 * socket readable. Use one thread at a time per socket.
 *
 * Returns: (transfer full): the datagrams, back to back, or %NULL with
 *   @error set (then @lengths is %NULL and @n_lengths 0)
 *
 * Since: 0.1
 */
GBytes *
tun_tap_socket_receive_many (GSocket       *socket,
                             gsize          max_bytes,
                             guint        **lengths,
                             guint         *n_lengths,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);
  g_return_val_if_fail (lengths != NULL && n_lengths != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return tun_tap_socket_receive_many_with (socket, max_bytes, lengths, n_lengths, cancellable,
                                           error, recvmsg);
}
