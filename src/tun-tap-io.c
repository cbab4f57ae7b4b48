/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Packet I/O of TunTapDevice: the send paths and close. The receive side
 * (the watch, the read loop, receiving, receive_async) is in
 * tun-tap-receive.c, under the same rule.
 *
 * THE THREADING RULE
 *
 * A device belongs to its owning context: the thread-default GMainContext
 * of the thread that constructed it. Every signal and property
 * notification is emitted there.
 *
 * - Any thread: send(), send_bytes(), send_many(), is_closed(), every
 *   getter, get_receiving() included (numbers read atomically; the name
 *   and hardware address are interned strings, valid for the life of the
 *   process; get_addresses() copies under a lock), and dropping a
 *   reference, including the last one.
 * - The owning context: everything else (close, the configuration calls,
 *   set_receiving(), receive_async()). Calling them from a thread that
 *   does not run the owning context, while another thread does, is a
 *   programming error: a
 *   g_critical naming the call, and the call fails. A thread may call them
 *   while no thread runs the context (before the main loop starts, say):
 *   the context is acquired for the duration of the call.
 * - close() waits for the sends already inside write(2) (one non-blocking
 *   write each) and for nothing else: a send that starts after close()
 *   began fails with G_IO_ERROR_CLOSED without touching the fd. So a close
 *   is bounded by one write, however many threads send.
 * - The last reference dropped in another thread closes the fd at once
 *   (the interface goes away as documented) and hands the context's
 *   sources to the owning context to be destroyed there (the library never
 *   acquires the context from a thread other than the constructing one,
 *   so it never makes the rule above fail for its owner). Callbacks in the
 *   context hold only a weak reference (TunTapDeviceRef), so they never
 *   see a freed device.
 *
 * THE LIFETIME RULE
 *
 * Every emission holds a strong reference to the device, and after each
 * emission the loop asks the device's own state (closed or not); it never
 * looks at the reference count.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-device-private.h"
#include "tun-tap-error.h"
#include "tun-tap-packet.h"

#include <errno.h>
#include <unistd.h>

/* close() waits at most this long for the sends inside; a non-blocking
 * write takes microseconds, so only a stopped thread takes longer, and
 * then the last sender out closes the fd instead. */
#define CLOSE_WAIT_US (2 * G_USEC_PER_SEC)

/* ---- weak references for the context's callbacks ---------------------- */

TunTapDeviceRef *
tun_tap_device_ref_new (TunTapDevice *device)
{
  TunTapDeviceRef *ref = g_new0 (TunTapDeviceRef, 1);

  ref->ref_count = 1;
  g_weak_ref_init (&ref->device, device);
  return ref;
}

TunTapDeviceRef *
tun_tap_device_ref_ref (TunTapDeviceRef *ref)
{
  g_atomic_int_inc (&ref->ref_count);
  return ref;
}

void
tun_tap_device_ref_unref (gpointer data)
{
  TunTapDeviceRef *ref = data;

  if (!g_atomic_int_dec_and_test (&ref->ref_count))
    return;
  g_weak_ref_clear (&ref->device);
  g_free (ref);
}

/* ---- the owning-context rule ------------------------------------------- */

void
tun_tap_context_guard_clear (TunTapContextGuard *guard)
{
  if (guard->acquired != NULL)
    g_main_context_release (guard->acquired);
  guard->acquired = NULL;
}

gboolean
tun_tap_device_enter_context (TunTapDevice       *self,
                              const char         *call,
                              TunTapContextGuard *guard)
{
  guard->acquired = NULL;
  if (g_main_context_is_owner (self->context))
    return TRUE;
  if (g_main_context_acquire (self->context))
    {
      guard->acquired = self->context;
      return TRUE;
    }
  g_critical ("%s: called on “%s” from a thread that does not run the device’s main "
              "context while another thread does; call it from the thread running "
              "that context (only sending and the getters may be called from any "
              "thread)", call, tun_tap_device_display_name (self));
  return FALSE;
}

/* ---- the send guard ----------------------------------------------------- */

/* Closes the fd close() left behind after waiting in vain (a sender
 * stopped between reading the fd and its write): whoever gets here last,
 * close() or the last sender, closes it, exactly once. */
static void
close_orphan (TunTapDevice *self)
{
  int fd = g_atomic_int_get (&self->orphan_fd);

  if (fd >= 0 && g_atomic_int_get (&self->senders) == 0 &&
      g_atomic_int_compare_and_exchange (&self->orphan_fd, fd, -1))
    close (fd);
}

/* Leaving, admitted or refused (send_enter() leaves for a refused
 * thread): the last one out once closing has begun wakes close() and
 * closes the fd if close() gave up waiting. */
void
tun_tap_io_send_leave (TunTapDevice *self)
{
  if (g_atomic_int_dec_and_test (&self->senders) && g_atomic_int_get (&self->closing))
    {
      g_mutex_lock (&self->close_lock);
      g_cond_broadcast (&self->close_cond);
      g_mutex_unlock (&self->close_lock);
      close_orphan (self);
    }
}

/* Tests only (see tun-tap-device-private.h). */
static gpointer enter_hook;   /* TunTapIoEnterHook; atomic */

void
tun_tap_io_set_enter_hook (TunTapIoEnterHook hook)
{
  g_atomic_pointer_set (&enter_hook, (gpointer) hook);
}

/* A send enters before touching the fd and leaves after its write(2);
 * close() raises `closing` first, so no send enters after it, then waits
 * for the ones inside. Both sides are sequentially consistent atomics
 * (each writes its own flag, then reads the other's), so at least one of
 * them sees the other.
 *
 * The first look at `closing` only keeps threads that call in a loop
 * (is_closed() from another thread, a sender retrying) from counting
 * themselves in while close() waits: each thread can then be counted in,
 * refused, at most once after close() began, so close() sees zero soon
 * instead of waiting out its limit. */
gboolean
tun_tap_io_send_enter (TunTapDevice *self)
{
  TunTapIoEnterHook hook;

  if (g_atomic_int_get (&self->closing))
    return FALSE;
  g_atomic_int_inc (&self->senders);
  hook = (TunTapIoEnterHook) g_atomic_pointer_get (&enter_hook);
  if (G_UNLIKELY (hook != NULL))
    hook (self);
  if (!g_atomic_int_get (&self->closing))
    return TRUE;
  tun_tap_io_send_leave (self);
  return FALSE;
}

static void
set_not_open_error (TunTapDevice  *self,
                    const char    *what,
                    GError       **error)
{
  const char *name = tun_tap_device_display_name (self);

  switch ((TunTapState) g_atomic_int_get (&self->state))
    {
    case TUN_TAP_STATE_NEW:
    case TUN_TAP_STATE_FAILED:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                   _("Cannot %s on “%s”: the device was not initialised; initialise it "
                   "(g_initable_init() in C, Gio.Initable.init() from Python or gjs) "
                   "and check that it succeeds"), what, name);
      break;
    case TUN_TAP_STATE_OPEN:
    case TUN_TAP_STATE_CLOSED:
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   _("Cannot %s on “%s”: the device is closed; create a new device"),
                   what, name);
      break;
    }
}

gboolean
tun_tap_device_check_open (TunTapDevice  *self,
                           const char    *what,
                           GError       **error)
{
  char name[IFNAMSIZ];
  int errsv;

  int fd;

  if (g_atomic_int_get (&self->state) != TUN_TAP_STATE_OPEN || !tun_tap_io_send_enter (self))
    {
      set_not_open_error (self, what, error);
      return FALSE;
    }
  fd = g_atomic_int_get (&self->fd);
  if (fd < 0)
    {
      tun_tap_io_send_leave (self);
      set_not_open_error (self, what, error);
      return FALSE;
    }
  /* Deleted from outside, and the loop has not noticed yet: the fd says
   * so already, and every call must say CLOSED from that moment. */
  errsv = tun_tap_kernel_get_name (fd, name);
  tun_tap_io_send_leave (self);
  if (errsv == EBADFD)
    {
      g_autofree char *full = g_strdup_printf (_("%s on “%s”"), what,
                                               tun_tap_device_display_name (self));
      tun_tap_set_error (error, EBADFD, TUN_TAP_ERRNO_FD, full, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

void
tun_tap_io_stop (TunTapDevice *self)
{
  gint64 end;
  int fd;

  /* From here on the device reads as closed (fd -1) and no send starts
   * (one that already entered and reads -1 fails with CLOSED); then wait
   * for those inside write(2) with the real fd. */
  fd = g_atomic_int_get (&self->fd);
  g_atomic_int_set (&self->fd, -1);
  g_atomic_int_set (&self->closing, 1);
  end = g_get_monotonic_time () + CLOSE_WAIT_US;
  g_mutex_lock (&self->close_lock);
  while (g_atomic_int_get (&self->senders) > 0)
    if (!g_cond_wait_until (&self->close_cond, &self->close_lock, end))
      break;
  g_mutex_unlock (&self->close_lock);

  if (g_atomic_int_get (&self->senders) > 0)
    {
      /* A sender stopped (preempted, traced) between reading the fd and
       * its write: the fd must not be recycled under it. The last one
       * out closes it. */
      g_debug ("Closing “%s”: a send is still inside; it will close the fd",
               tun_tap_device_display_name (self));
      g_atomic_int_set (&self->orphan_fd, fd);
      close_orphan (self);
      fd = -1;
    }

  tun_tap_receive_stop (self);

  if (fd >= 0)
    close (fd);
}

/* ---- shutting down -------------------------------------------------------- */

gboolean
tun_tap_device_stop (TunTapDevice *self)
{
  /* Only one thread can get here for a device: the owning context's, or
   * the one running dispose, when nobody else holds a reference. */
  if (g_atomic_int_get (&self->state) != TUN_TAP_STATE_OPEN)
    return FALSE;
  tun_tap_io_stop (self);
  tun_tap_link_detach (self);
  g_atomic_int_set (&self->state, TUN_TAP_STATE_CLOSED);
  return TRUE;
}

void
tun_tap_device_shut_down (TunTapDevice *self,
                          const GError *error)
{
  if (!tun_tap_device_stop (self))
    return;

  g_object_ref (self);
  tun_tap_receive_closed (self, error);
  g_object_notify_by_pspec (G_OBJECT (self), tun_tap_device_properties[PROP_CLOSED]);
  g_signal_emit (self, tun_tap_device_signals[SIGNAL_CLOSED], 0, error);
  g_object_unref (self);
}

void
tun_tap_device_broke (TunTapDevice *self,
                      int           errsv)
{
  g_autoptr(GError) error = NULL;
  const char *name = tun_tap_device_display_name (self);

  if (errsv == EBADFD || errsv == EFAULT || errsv == 0)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NO_SUCH_DEVICE,
                 _("The interface “%s” was deleted from the system; create a new "
                 "device to continue"), name);
  else
    g_set_error (&error, G_IO_ERROR, tun_tap_error_code (errsv, TUN_TAP_ERRNO_PACKET),
                 _("Reading from “%s” failed: %s; the device was closed"),
                 name, g_strerror (errsv));

  g_debug ("%s", error->message);
  tun_tap_device_shut_down (self, error);
}

/* ---- sending -------------------------------------------------------------- */

static gint
compute_max_packet (TunTapDevice *self)
{
  gint overhead = self->packet_info ? TUN_TAP_PI_HEADER_SIZE : 0;
  gint mtu;

  /* An IP datagram cannot be longer than 65535 bytes. */
  if (self->mode == TUN_TAP_MODE_TUN)
    return 65535 + overhead;

  mtu = g_atomic_int_get (&self->mtu);
  if (mtu <= 0 || mtu > 65535)
    mtu = 65535;
  /* Ethernet header plus one VLAN tag on top of the MTU. */
  return mtu + TUN_TAP_ETH_HEADER_SIZE + 4 + overhead;
}

void
tun_tap_io_update_max_packet (TunTapDevice *self)
{
  g_atomic_int_set (&self->max_packet, compute_max_packet (self));
}

/**
 * tun_tap_device_send:
 * @self: a device
 * @data: (array length=len) (element-type guint8): the packet
 * @len: the length of @data in bytes
 * @error: return location for a #GError
 *
 * Hands one packet to the kernel, which processes it as if it had arrived
 * on the interface: an IPv4/IPv6 datagram on a TUN device, an Ethernet
 * frame on a TAP device (each after the 4-byte header when
 * [property@TunTap.Device:packet-info] is set).
 *
 * The call never blocks. Errors, in the %G_IO_ERROR domain:
 * %G_IO_ERROR_CLOSED after the device was closed or its interface deleted,
 * %G_IO_ERROR_NOT_INITIALIZED on a device that was never initialised,
 * %G_IO_ERROR_NETWORK_UNREACHABLE while the link is down,
 * %G_IO_ERROR_INVALID_ARGUMENT for an empty packet,
 * %G_IO_ERROR_INVALID_DATA when the packet is not what the device takes
 * (not IPv4/IPv6 on a TUN device, or an IPv4/IPv6 header that is cut short,
 * has length fields the packet does not match or, IPv4, a wrong header
 * checksum: the kernel would take it and the IP layer drop it unseen;
 * shorter than an Ethernet header on a TAP device; a packet-information
 * header with flags or an EtherType that does not match the packet),
 * %G_IO_ERROR_MESSAGE_TOO_LARGE when the packet is larger than the device
 * can take, %G_IO_ERROR_WOULD_BLOCK when the kernel has no buffer space
 * (try again later). In every error case nothing was sent.
 *
 * With [property@TunTap.Device:offload] set, the device puts the
 * virtio-net header in front itself (an all-zero one, so the kernel checks
 * the packet's checksums), without copying the packet.
 *
 * May be called from any thread; a concurrent close makes it fail with
 * %G_IO_ERROR_CLOSED, never write to a recycled file descriptor.
 *
 * Returns: %TRUE if the kernel took the packet
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_send (TunTapDevice  *self,
                     const guint8  *data,
                     gsize          len,
                     GError       **error)
{
  const char *name;
  ssize_t n;
  int fd, errsv = 0;
  gint max;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  name = tun_tap_device_display_name (self);

  if (len == 0 || data == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot send an empty packet on “%s”"), name);
      return FALSE;
    }

  /* Framing first: a malformed packet is the caller's to fix whatever the
   * device's state. */
  if (!tun_tap_packet_check (self->mode, self->packet_info, data, len, name, error))
    return FALSE;

  if (g_atomic_int_get (&self->state) != TUN_TAP_STATE_OPEN)
    {
      set_not_open_error (self, _("send"), error);
      return FALSE;
    }

  max = g_atomic_int_get (&self->max_packet);
  if (len > (gsize) max)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   _("Cannot send a %zu-byte packet on “%s”: the device "
                   "takes at most %d bytes; raise the MTU or split the packet"),
                   len, name, max);
      return FALSE;
    }

  if (!tun_tap_io_send_enter (self))
    {
      set_not_open_error (self, _("send"), error);
      return FALSE;
    }
  fd = g_atomic_int_get (&self->fd);
  if (fd < 0)
    {
      tun_tap_io_send_leave (self);
      set_not_open_error (self, _("send"), error);
      return FALSE;
    }
  n = tun_tap_kernel_write (fd, self->offload, data, len, &errsv);
  tun_tap_io_send_leave (self);

  if (n < 0)
    {
      tun_tap_kernel_set_io_error (error, errsv, name, _("send a packet"));
      return FALSE;
    }

  /* The driver takes a packet whole or not at all. */
  g_warn_if_fail ((gsize) n == len);
  return TRUE;
}

/**
 * tun_tap_device_send_many:
 * @self: a device
 * @data: (array length=len) (element-type guint8): the packets, back to back
 * @len: the length of @data in bytes
 * @lengths: (array length=n_packets): the length of each packet in @data
 * @n_packets: the number of packets
 * @error: return location for a #GError
 *
 * Sends @n_packets packets stored one after the other in @data, each as
 * [method@TunTap.Device.send] would, in one call: the counterpart of
 * [signal@TunTap.Device::packets-received].
 *
 * Like g_socket_send_messages(), it returns how many packets were sent,
 * from the first: fewer than @n_packets when a packet could not be sent
 * (the kernel has no buffer space, the packet is malformed, ...). The
 * reason is not reported then; call again with the packets that are left
 * to get it: an error is set only when no packet at all could be sent,
 * and the return value is then -1. Errors are those of
 * [method@TunTap.Device.send], and %G_IO_ERROR_INVALID_ARGUMENT, before
 * anything is sent, when the lengths do not add up to @len;
 * %G_IO_ERROR_CLOSED on a closed device, even for an empty batch.
 *
 * With [property@TunTap.Device:offload] and
 * [property@TunTap.Device:coalesce], the segments of each flow are
 * written as super-packets, also when up to 16 flows interleave in the
 * call (fewer system calls; the packets are the same for the kernel, and
 * a flow's packets keep their order). A super-packet can carry packets
 * of its flow from after packets of other flows: if a packet then cannot
 * be sent, some after it may have gone already, and sending the rest
 * again can repeat them (never lose one).
 *
 * Packets handed back from the batch of a
 * [signal@TunTap.Device::packets-received] handler that is still running
 * (the batch's own memory, not a copy), which are all the packets of one
 * super-packet the kernel gave, in order and unchanged, go out as that
 * super-packet, in one piece: a relay between two devices writes what it
 * reads, nothing split is merged again. Changing a batch in place breaks
 * the #GBytes contract; the headers are compared all the same, and a
 * packet whose headers changed is merged as any other, but a payload
 * changed in place goes out as it was read.
 *
 * May be called from any thread.
 *
 * Returns: the number of packets sent, or -1 with @error set when none
 *   was
 *
 * Since: 0.1
 */
gint
tun_tap_device_send_many (TunTapDevice  *self,
                          const guint8  *data,
                          gsize          len,
                          const guint   *lengths,
                          guint          n_packets,
                          GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize total = 0, offset = 0;
  guint sent = 0;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);
  g_return_val_if_fail (n_packets <= G_MAXINT, -1);

  if (n_packets > 0 && lengths == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   g_dngettext (GETTEXT_PACKAGE,
                                "Cannot send %u packet on “%s” without its length",
                                "Cannot send %u packets on “%s” without their lengths",
                                n_packets),
                   n_packets, tun_tap_device_display_name (self));
      return -1;
    }
  if (g_atomic_int_get (&self->state) != TUN_TAP_STATE_OPEN ||
      g_atomic_int_get (&self->closing))
    {
      set_not_open_error (self, _("send"), error);
      return -1;
    }

  for (guint i = 0; i < n_packets; i++)
    total += lengths[i];
  if (total != len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   g_dngettext (GETTEXT_PACKAGE,
                                "Cannot send %u packet on “%s”: its length is %zu bytes, "
                                "the buffer holds %zu",
                                "Cannot send %u packets on “%s”: their lengths add up to %zu "
                                "bytes, the buffer holds %zu", n_packets),
                   n_packets, tun_tap_device_display_name (self), total, len);
      return -1;
    }

  if (self->offload && n_packets > 1 && g_atomic_int_get (&self->coalesce))
    tun_tap_offload_send_many (self, data, lengths, n_packets, &sent, &local_error);
  else
    for (; sent < n_packets; sent++)
      {
        if (!tun_tap_device_send (self, data + offset, lengths[sent], &local_error))
          break;
        offset += lengths[sent];
      }

  /* The reason a later packet failed is for the call that starts with it. */
  if (sent == 0 && local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return -1;
    }
  return (gint) sent;
}

/**
 * tun_tap_device_send_bytes:
 * @self: a device
 * @packet: the packet
 * @error: return location for a #GError
 *
 * Like [method@TunTap.Device.send], for a packet held in a [struct@GLib.Bytes],
 * such as one received from [signal@TunTap.Device::packet-received].
 *
 * Returns: %TRUE if the kernel took the packet
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_send_bytes (TunTapDevice  *self,
                           GBytes        *packet,
                           GError       **error)
{
  const guint8 *data;
  gsize len = 0;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  if (packet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot send an empty packet on “%s”"), tun_tap_device_display_name (self));
      return FALSE;
    }

  data = g_bytes_get_data (packet, &len);
  return tun_tap_device_send (self, data, len, error);
}

/**
 * tun_tap_device_send_many_bytes:
 * @self: a device
 * @packets: (nullable): the packets, back to back: a batch from
 *   [signal@TunTap.Device::packets-received], a slice of one
 *   (g_bytes_new_from_bytes()), or any other #GBytes
 * @lengths: (array length=n_packets): the length of each packet in @packets
 * @n_packets: the number of packets
 * @error: return location for a #GError
 *
 * Like [method@TunTap.Device.send_many], for packets held in a
 * [struct@GLib.Bytes]. From Python and JavaScript this is the way to pass
 * packets on without a copy: gjs copies a `Uint8Array` passed to
 * [method@TunTap.Device.send_many], and in Python the `bytes` of a
 * #GBytes (`get_data()`) are a copy already; a #GBytes goes through as it
 * is. A batch (or a slice of one) handed back this way is also still
 * recognised as the library's own: its checksums are not verified again,
 * and its super-packets pass through whole.
 *
 * Returns: the number of packets sent, or -1 with @error set when none
 *   was, as [method@TunTap.Device.send_many]
 *
 * Since: 0.1
 */
gint
tun_tap_device_send_many_bytes (TunTapDevice  *self,
                                GBytes        *packets,
                                const guint   *lengths,
                                guint          n_packets,
                                GError       **error)
{
  const guint8 *data = NULL;
  gsize len = 0;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), -1);

  if (packets != NULL)
    data = g_bytes_get_data (packets, &len);
  return tun_tap_device_send_many (self, data, len, lengths, n_packets, error);
}

/**
 * tun_tap_device_close:
 * @self: a device
 *
 * Stops watching the device and closes its file descriptor. A device that
 * is not persistent disappears from the system. Emits
 * [signal@TunTap.Device::closed] with a %NULL error, unless the device was
 * already closed (or never initialised), in which case this does nothing.
 *
 * Safe to call from any signal handler of the device. Belongs to the
 * owning context (see the threading rule in the overview); it waits for
 * sends under way in other threads, one write(2) each at most.
 *
 * Since: 0.1
 */
void
tun_tap_device_close (TunTapDevice *self)
{
  g_auto(TunTapContextGuard) guard = { NULL };

  g_return_if_fail (TUN_TAP_IS_DEVICE (self));

  if (!tun_tap_device_enter_context (self, G_STRFUNC, &guard))
    return;
  tun_tap_device_shut_down (self, NULL);
}

/**
 * tun_tap_device_is_closed:
 * @self: a device
 *
 * Gets whether the device no longer works: it was closed, never
 * initialised, or its interface was deleted. It turns %TRUE as soon as the
 * interface is deleted, before [signal@TunTap.Device::closed] is emitted
 * in the device's main context. May be called from any thread.
 *
 * Returns: %TRUE if the device is closed
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_is_closed (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), TRUE);

  return !tun_tap_device_check_open (self, _("use the device"), NULL);
}

/**
 * tun_tap_device_get_fd:
 * @self: a device
 *
 * Gets the device's file descriptor, for example to pass it to another
 * process. The device keeps owning it: do not close it, and do not read
 * from it while the device is watching it.
 *
 * Returns: the file descriptor, or -1 once the device is closed (by
 *   [method@TunTap.Device.close], or when [signal@TunTap.Device::closed]
 *   reports the interface deleted)
 *
 * Since: 0.1
 */
int
tun_tap_device_get_fd (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), -1);

  return g_atomic_int_get (&self->fd);
}
