/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Offloads in the device (issue 11): each read of a vnet TUN split into the
 * packets it stands for, send_many() coalescing TCP and UDP flows into
 * super-packets with a fallback when the kernel refuses them, the
 * negotiated offloads and the counters. The byte-level work is pure and
 * lives in tun-tap-offload.c; the read loop and the send guard it plugs
 * into are in tun-tap-io.c.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-device-private.h"
#include "tun-tap-error.h"
#include "tun-tap-offload.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#include <linux/if_tun.h>

/* Counters are bumped from the owning context (reads) and from any thread
 * (send_many): an atomic add, relaxed, since they order nothing. */
void
tun_tap_counter_add (guint64 *counter,
                     guint64  n)
{
  __atomic_fetch_add (counter, n, __ATOMIC_RELAXED);
}

/* The read at @in (@n bytes) was the super-packet of packets @first ..
 * @first + @count - 1 of the batch: kept, for passing through whole. */
static void
keep_group (TunTapDevice *self,
            const guint8 *in,
            guint         n,
            guint         first,
            guint         count)
{
  TunTapOffloadGroup group = { first, count, (gsize) (in - self->raw->data), n };

  g_array_append_val (self->groups, group);
  self->raw_len += n;
}

/* A read of a vnet device: split into the packets it stands for. A
 * malformed header drops that read (counted), never the device. */
gboolean
tun_tap_offload_deliver (TunTapDevice  *self,
                         const guint8  *in,
                         guint          n,
                         gboolean       want_one,
                         GByteArray   **batch,
                         GArray       **lengths,
                         guint         *delivered)
{
  gboolean direct = !want_one && *batch != NULL;
  GByteArray *out = direct ? *batch : self->split;
  GArray *out_lengths = direct ? *lengths : self->split_lengths;
  gboolean computed = FALSE;
  guint8 flag;
  guint count;
  guint first = *lengths != NULL ? (*lengths)->len : 0;

  /* Only the batch wants the packets: split straight into it, one copy
   * fewer per byte on the bindings' fast path. */
  if (!direct)
    {
      g_byte_array_set_size (self->split, 0);
      g_array_set_size (self->split_lengths, 0);
    }
  count = tun_tap_offload_split (in, n, out, out_lengths, &computed);
  if (count == 0)
    {
      tun_tap_counter_add (&self->malformed, 1);
      g_debug ("Dropped a read of %u bytes from “%s” with a malformed virtio-net header",
               n, tun_tap_device_display_name (self));
      return TRUE;
    }
  if (count > 1)
    {
      tun_tap_counter_add (&self->super_packets, 1);
      tun_tap_counter_add (&self->split_packets, count);
    }
  *delivered += count;
  /* Which packets of the batch have checksums computed here (see
   * tun_tap_offload_batch_publish()): one flag per packet that went in. */
  flag = computed ? 1 : 0;
  if (direct)
    {
      guint had = self->computed->len;

      g_byte_array_set_size (self->computed, had + count);
      memset (self->computed->data + had, flag, count);
      if (count > 1)
        keep_group (self, in, n, first, count);
      return TRUE;
    }
  self->held_index = 0;
  self->held_offset = 0;
  self->held_computed = computed;
  if (!tun_tap_offload_deliver_held (self, want_one, batch, lengths))
    return FALSE;
  if (count > 1 && *batch != NULL)
    keep_group (self, in, n, first, count);
  return TRUE;
}

gboolean
tun_tap_offload_has_held (TunTapDevice *self)
{
  return self->split_lengths != NULL && self->held_index < self->split_lengths->len;
}

/* The packets of self->split from self->held_index on, one by one to
 * ::packet-received (and into the batch). When the last handler of
 * ::packet-received lets go part-way (disconnected or blocked itself) and
 * no batch takes them, the rest is held for the next taker instead of
 * going to nobody (tun-tap-receive.c delivers it first, at the next
 * wake-up or as soon as someone listens). */
gboolean
tun_tap_offload_deliver_held (TunTapDevice  *self,
                              gboolean       want_one,
                              GByteArray   **batch,
                              GArray       **lengths)
{
  guint8 flag = self->held_computed ? 1 : 0;

  while (tun_tap_offload_has_held (self))
    {
      guint len = g_array_index (self->split_lengths, guint, self->held_index);
      gsize offset = self->held_offset;

      self->held_index++;
      self->held_offset += len;
      /* tun_tap_io_deliver() puts it in the batch before packet-received,
       * whose handler may close the device (and free self->computed). */
      if (*batch != NULL)
        g_byte_array_append (self->computed, &flag, 1);
      if (!tun_tap_io_deliver (self, self->split->data + offset, len, want_one, batch, lengths))
        return FALSE;
      if (*batch == NULL &&
          !g_signal_has_handler_pending (self, tun_tap_device_signals[SIGNAL_PACKET_RECEIVED], 0,
                                         FALSE))
        break;
    }
  return TRUE;
}

GBytes *
tun_tap_offload_batch_bytes (TunTapDevice *self,
                             GByteArray   *batch,
                             GArray       *lengths)
{
  /* Closed during the wake-up (by a handler, or the interface deleted):
   * the device's buffers are gone, and nobody gets this batch. */
  gboolean computed = self->offload && self->computed != NULL &&
                      self->computed->len == lengths->len;

  return tun_tap_offload_batch_publish (batch, (const guint *) lengths->data,
                                        computed ? self->computed->data : NULL, lengths->len);
}

static gboolean
notify_coalesce (gpointer data)
{
  TunTapDeviceRef *ref = data;
  g_autoptr(TunTapDevice) self = g_weak_ref_get (&ref->device);

  if (self != NULL)
    g_object_notify_by_pspec (G_OBJECT (self), tun_tap_device_properties[PROP_COALESCE]);
  return G_SOURCE_REMOVE;
}

/* The kernel refused a coalesced write (some kernels do, for GSO types
 * they claim): never again for that protocol on this device; said once,
 * notified in the owning context. */
static void
coalescing_failed (TunTapDevice   *self,
                   TunTapCoalesce  protocol,
                   int             errsv)
{
  GSource *idle;
  gint old;

  tun_tap_counter_add (&self->fallbacks, 1);
  do
    {
      old = g_atomic_int_get (&self->coalesce);
      if (!(old & (gint) protocol))
        return;
    }
  while (!g_atomic_int_compare_and_exchange (&self->coalesce, old, old & ~(gint) protocol));
  g_warning (_("The kernel refused a coalesced %s write on “%s” (%s); sending such packets "
             "one by one from now on"), protocol == TUN_TAP_COALESCE_UDP ? "UDP" : "TCP",
             tun_tap_device_display_name (self), g_strerror (errsv));
  idle = g_idle_source_new ();
  g_source_set_callback (idle, notify_coalesce, tun_tap_device_ref_ref (self->weak),
                         tun_tap_device_ref_unref);
  g_source_attach (idle, self->context);
  g_source_unref (idle);
}

/* One super-packet of a plan: its header, then each packet's payload from
 * the caller's memory (writev, no copy). */
static ssize_t
write_coalesced (TunTapDevice             *self,
                 const guint8             *data,
                 const gsize              *offsets,
                 const guint              *lengths,
                 const guint              *next,
                 const TunTapOffloadWrite *write,
                 const guint8             *header,
                 gsize                     header_len,
                 gsize                     payload_offset,
                 int                      *out_errno)
{
  struct iovec stack_iov[65];
  g_autofree struct iovec *heap_iov = NULL;
  struct iovec *iov = stack_iov;
  guint k = write->head;
  ssize_t n;
  int fd;

  if (write->count + 1 > G_N_ELEMENTS (stack_iov))
    iov = heap_iov = g_new (struct iovec, write->count + 1);
  iov[0].iov_base = (void *) header;
  iov[0].iov_len = header_len;
  for (guint i = 0; i < write->count; i++, k = next[k])
    {
      iov[i + 1].iov_base = (void *) (data + offsets[k] + payload_offset);
      iov[i + 1].iov_len = lengths[k] - payload_offset;
    }

  if (!tun_tap_io_send_enter (self))
    {
      *out_errno = EBADFD;
      return -1;
    }
  fd = g_atomic_int_get (&self->fd);
  if (fd < 0)
    {
      tun_tap_io_send_leave (self);
      *out_errno = EBADFD;
      return -1;
    }
  do
    n = writev (fd, iov, (int) write->count + 1);
  while (n < 0 && errno == EINTR);
  *out_errno = n < 0 ? errno : 0;
  tun_tap_io_send_leave (self);
  return n;
}

/* The writes of one plan, in order. A write that fails ends the call; the
 * packets written are marked in @sent. */
static void
write_plan (TunTapDevice             *self,
            const guint8             *data,
            const gsize              *offsets,
            const guint              *lengths,
            const TunTapOffloadWrite *writes,
            guint                     n_writes,
            const guint              *next,
            guint8                   *sent,
            GError                  **error)
{
  for (guint w = 0; w < n_writes; w++)
    {
      const TunTapOffloadWrite *write = &writes[w];
      guint k = write->head;

      if (write->count > 1)
        {
          guint8 header[TUN_TAP_OFFLOAD_HEADER_MAX];
          gsize header_len, payload_offset = 0;
          TunTapCoalesce protocol;
          int errsv = 0;

          header_len = tun_tap_offload_header (data, offsets, lengths, write, header,
                                               &payload_offset);
          protocol = header_len == 0 ? TUN_TAP_COALESCE_NONE
                   : header[1] == TUN_TAP_VNET_GSO_UDP_L4 ? TUN_TAP_COALESCE_UDP
                   : TUN_TAP_COALESCE_TCP;
          /* Unless refused earlier in this call (or the packets changed
           * under us, from another thread): then one by one. */
          if (g_atomic_int_get (&self->coalesce) & (gint) protocol)
            {
              if (write_coalesced (self, data, offsets, lengths, next, write, header, header_len,
                                   payload_offset, &errsv) >= 0)
                {
                  tun_tap_counter_add (&self->coalesced, 1);
                  for (guint i = 0; i < write->count; i++, k = next[k])
                    sent[k] = 1;
                  continue;
                }
              if (errsv != EINVAL)
                {
                  g_autofree char *what = g_strdup_printf (_("send a packet on “%s”"),
                                                           tun_tap_device_display_name (self));

                  tun_tap_set_error (error, errsv, TUN_TAP_ERRNO_PACKET, what, NULL, NULL);
                  return;
                }
              coalescing_failed (self, protocol, errsv);
            }
        }

      /* One by one: what was not merged, and what the kernel refused to
       * take merged (in the flow's order: the plan's links). */
      for (guint i = 0; i < write->count; i++, k = next[k])
        {
          if (!tun_tap_device_send (self, data + offsets[k], lengths[k], error))
            return;
          sent[k] = 1;
        }
    }
}

/* Packets @first .. @first + @n - 1 of a send_many() call, planned and
 * written (the ones written marked in @sent). FALSE, with @error, when a
 * write failed. */
static gboolean
write_range (TunTapDevice  *self,
             const guint8  *data,
             const gsize   *offsets,
             const guint   *lengths,
             guint          first,
             guint          n,
             guint8        *sent,
             GError       **error)
{
  g_autofree guint *next = g_new (guint, n);
  g_autofree TunTapOffloadWrite *writes = g_new (TunTapOffloadWrite, n);
  g_autofree guint8 *known_good = g_malloc (n);
  GError *local_error = NULL;
  guint n_writes;

  tun_tap_offload_batch_known_good (data, offsets + first, lengths + first, n, known_good);
  n_writes = tun_tap_offload_plan (data, offsets + first, lengths + first, n,
                                   (guint) g_atomic_int_get (&self->coalesce), known_good,
                                   writes, next);
  write_plan (self, data, offsets + first, lengths + first, writes, n_writes, next, sent + first,
              &local_error);
  if (local_error == NULL)
    return TRUE;
  g_propagate_error (error, local_error);
  return FALSE;
}

/* A super-packet passed through: the read, whole, in one write. FALSE,
 * with @error, when it failed for another reason than the kernel refusing
 * it (EINVAL: then *@refused). */
static gboolean
write_pass (TunTapDevice            *self,
            const TunTapOffloadPass *pass,
            gboolean                *refused,
            GError                 **error)
{
  ssize_t n = -1;
  int errsv = EBADFD, fd;

  *refused = FALSE;
  if (tun_tap_io_send_enter (self))
    {
      fd = g_atomic_int_get (&self->fd);
      if (fd >= 0)
        {
          do
            n = write (fd, pass->read, pass->len);
          while (n < 0 && errno == EINTR);
          errsv = n < 0 ? errno : 0;
        }
      tun_tap_io_send_leave (self);
    }
  if (n >= 0)
    {
      tun_tap_counter_add (&self->coalesced, 1);
      return TRUE;
    }
  if (errsv == EINVAL)
    {
      *refused = TRUE;
      return TRUE;
    }
  {
    g_autofree char *what = g_strdup_printf (_("send a packet on “%s”"),
                                             tun_tap_device_display_name (self));

    tun_tap_set_error (error, errsv, TUN_TAP_ERRNO_PACKET, what, NULL, NULL);
  }
  return FALSE;
}

/* send_many() with offloads: the packets of each flow merged into
 * super-packets (tun_tap_offload_plan()), everything else as it is.
 * Nothing is held back between calls.
 *
 * A super-packet read by this library and handed out in a batch whose
 * ::packets-received is running, passed back whole and unchanged (see
 * tun_tap_offload_batch_pass_through()), is written as it was read, in one
 * piece: a relay between two devices writes what it reads.
 *
 * Checksums: a packet the library itself split or finished, handed out in
 * a batch that is still alive and passed back unchanged (same address,
 * same length, same checksum field; see tun_tap_offload_batch_known_good)
 * is not verified again before merging; any other packet is.
 *
 * The count: a super-packet may carry packets of its flow from after
 * packets of other flows, so when a write fails, packets after the first
 * one not sent may have gone already. Those below the last one sent are
 * tried once more one by one (their flows' order allows it: a flow's
 * packets are written in order), so the count covers them; what still
 * failed ends it. A caller that sends the rest again can at worst repeat
 * a packet that went (TCP and UDP take duplicates), never lose one. */
void
tun_tap_offload_send_many (TunTapDevice  *self,
                           const guint8  *data,
                           const guint   *lengths,
                           guint          n_packets,
                           guint         *n_sent,
                           GError       **error)
{
  g_autofree gsize *offsets = g_new (gsize, n_packets);
  g_autofree TunTapOffloadPass *passes = g_new (TunTapOffloadPass, n_packets);
  g_autofree guint8 *sent = g_malloc0 (n_packets);
  gsize offset = 0;
  guint n_passes, at = 0, last_sent = 0, prefix = 0;

  for (guint i = 0; i < n_packets; i++)
    {
      offsets[i] = offset;
      offset += lengths[i];
    }
  n_passes = tun_tap_offload_batch_pass_through (data, offsets, lengths, n_packets,
                                                 (guint) g_atomic_int_get (&self->coalesce),
                                                 passes);

  /* In the call's order: what lies before each pass, then the pass. */
  for (guint p = 0; p <= n_passes; p++)
    {
      guint end = p < n_passes ? passes[p].first : n_packets;
      TunTapCoalesce protocol;
      gboolean refused = FALSE, passed = FALSE;

      if (end > at && !write_range (self, data, offsets, lengths, at, end - at, sent, error))
        break;
      if (p == n_passes)
        break;
      protocol = passes[p].read[1] == TUN_TAP_VNET_GSO_UDP_L4 ? TUN_TAP_COALESCE_UDP
                                                               : TUN_TAP_COALESCE_TCP;
      /* Unless refused earlier (in this call, or in another thread): then
       * as any packets. Whether it went is decided once: the flag may
       * change under us after a pass went (another thread refused), and
       * its packets must not go twice. */
      if (g_atomic_int_get (&self->coalesce) & (gint) protocol)
        {
          if (!write_pass (self, &passes[p], &refused, error))
            break;
          passed = !refused;
        }
      if (!passed)
        {
          /* As for a super-packet of our own: coalescing off for that
           * protocol, the packets one by one. */
          if (refused)
            coalescing_failed (self, protocol, EINVAL);
          if (!write_range (self, data, offsets, lengths, end, passes[p].count, sent, error))
            break;
        }
      else
        memset (sent + end, 1, passes[p].count);
      at = end + passes[p].count;
    }
  for (guint p = 0; p < n_passes; p++)
    tun_tap_offload_raw_unref (passes[p].raw);

  for (guint i = 0; i < n_packets; i++)
    if (sent[i])
      last_sent = i + 1;
  for (; prefix < last_sent; prefix++)
    if (!sent[prefix] &&
        !tun_tap_device_send (self, data + offsets[prefix], lengths[prefix], NULL))
      break;
  *n_sent = prefix;
}

/**
 * tun_tap_device_get_offload:
 * @self: a device
 *
 * Gets whether the device reads and writes through the kernel's
 * virtio-net header (offloads).
 *
 * Returns: the value of [property@TunTap.Device:offload]
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_get_offload (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  return self->offload;
}

/**
 * tun_tap_device_get_offloads:
 * @self: a device
 *
 * Gets the offloads the kernel agreed to.
 *
 * Returns: the value of [property@TunTap.Device:offloads]
 *
 * Since: 0.1
 */
TunTapOffloads
tun_tap_device_get_offloads (TunTapDevice *self)
{
  TunTapOffloads offloads = TUN_TAP_OFFLOADS_NONE;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), TUN_TAP_OFFLOADS_NONE);

  if (!self->offload)
    return offloads;
  if (self->offload_mask & TUN_F_CSUM)
    offloads |= TUN_TAP_OFFLOADS_CHECKSUM;
  if (self->offload_mask & (TUN_F_TSO4 | TUN_F_TSO6))
    offloads |= TUN_TAP_OFFLOADS_TCP_SEGMENTATION;
  /* TUN_F_USO4 (0x20): Linux 6.2, missing from older headers. */
  if (self->offload_mask & 0x20)
    offloads |= TUN_TAP_OFFLOADS_UDP_SEGMENTATION;
  return offloads;
}

/**
 * tun_tap_device_get_offload_counters:
 * @self: a device
 * @super_packets: (out) (optional): return location for the number of
 *   super-packets read (reads that held more than one packet)
 * @split_packets: (out) (optional): return location for the number of
 *   packets those were split into
 * @malformed: (out) (optional): return location for the number of reads
 *   dropped because the kernel's virtio-net header made no sense
 * @coalesced: (out) (optional): return location for the number of
 *   super-packets [method@TunTap.Device.send_many] wrote
 * @fallbacks: (out) (optional): return location for the number of
 *   coalesced writes the kernel refused (their packets were then sent one
 *   by one, and coalescing turned off)
 *
 * Gets what the offloads did so far, for tests and for a user asking “is
 * it on?”. All zero without [property@TunTap.Device:offload]. May be
 * called from any thread.
 *
 * Since: 0.1
 */
void
tun_tap_device_get_offload_counters (TunTapDevice *self,
                                     guint64      *super_packets,
                                     guint64      *split_packets,
                                     guint64      *malformed,
                                     guint64      *coalesced,
                                     guint64      *fallbacks)
{
  g_return_if_fail (TUN_TAP_IS_DEVICE (self));

  if (super_packets != NULL)
    *super_packets = __atomic_load_n (&self->super_packets, __ATOMIC_RELAXED);
  if (split_packets != NULL)
    *split_packets = __atomic_load_n (&self->split_packets, __ATOMIC_RELAXED);
  if (malformed != NULL)
    *malformed = __atomic_load_n (&self->malformed, __ATOMIC_RELAXED);
  if (coalesced != NULL)
    *coalesced = __atomic_load_n (&self->coalesced, __ATOMIC_RELAXED);
  if (fallbacks != NULL)
    *fallbacks = __atomic_load_n (&self->fallbacks, __ATOMIC_RELAXED);
}

/**
 * tun_tap_device_get_coalesce:
 * @self: a device
 *
 * Gets what [method@TunTap.Device.send_many] merges into super-packets.
 *
 * Returns: the value of [property@TunTap.Device:coalesce]
 *
 * Since: 0.1
 */
TunTapCoalesce
tun_tap_device_get_coalesce (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), TUN_TAP_COALESCE_NONE);

  return (TunTapCoalesce) g_atomic_int_get (&self->coalesce);
}

/**
 * tun_tap_device_set_coalesce:
 * @self: a device
 * @coalesce: what to merge; %TUN_TAP_COALESCE_NONE to write every packet
 *   on its own
 *
 * Turns coalescing in [method@TunTap.Device.send_many] off or on, per
 * protocol; what the kernel cannot take (no offloads, no UDP segmentation
 * offload) stays off. See [property@TunTap.Device:coalesce].
 *
 * Since: 0.1
 */
void
tun_tap_device_set_coalesce (TunTapDevice   *self,
                             TunTapCoalesce  coalesce)
{
  g_return_if_fail (TUN_TAP_IS_DEVICE (self));

  coalesce &= tun_tap_device_coalesce_supported (self);
  if ((TunTapCoalesce) g_atomic_int_get (&self->coalesce) == coalesce)
    return;
  g_atomic_int_set (&self->coalesce, (gint) coalesce);
  g_object_notify_by_pspec (G_OBJECT (self), tun_tap_device_properties[PROP_COALESCE]);
}

/* What the kernel takes merged: TCP with TSO, UDP with USO; before init
 * (a construct-time value), everything. */
TunTapCoalesce
tun_tap_device_coalesce_supported (TunTapDevice *self)
{
  TunTapOffloads offloads;
  TunTapCoalesce supported = TUN_TAP_COALESCE_NONE;

  if (g_atomic_int_get (&self->state) == TUN_TAP_STATE_NEW)
    return TUN_TAP_COALESCE_TCP | TUN_TAP_COALESCE_UDP;
  offloads = tun_tap_device_get_offloads (self);
  if (offloads & TUN_TAP_OFFLOADS_TCP_SEGMENTATION)
    supported |= TUN_TAP_COALESCE_TCP;
  if (offloads & TUN_TAP_OFFLOADS_UDP_SEGMENTATION)
    supported |= TUN_TAP_COALESCE_UDP;
  return supported;
}

/* At init: what the kernel takes, less what the operator turned off with
 * TUNTAP_GLIB_NO_COALESCE (“tcp”, “udp”, or anything else for both). */
void
tun_tap_device_init_coalesce (TunTapDevice *self)
{
  const char *off = g_getenv ("TUNTAP_GLIB_NO_COALESCE");
  TunTapCoalesce coalesce = (TunTapCoalesce) g_atomic_int_get (&self->coalesce);

  coalesce &= tun_tap_device_coalesce_supported (self);
  if (off != NULL)
    {
      if (g_ascii_strcasecmp (off, "tcp") == 0)
        coalesce &= ~TUN_TAP_COALESCE_TCP;
      else if (g_ascii_strcasecmp (off, "udp") == 0)
        coalesce &= ~TUN_TAP_COALESCE_UDP;
      else
        coalesce = TUN_TAP_COALESCE_NONE;
    }
  g_atomic_int_set (&self->coalesce, (gint) coalesce);
}
