/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The receive side of TunTapDevice: the watch on the fd, the read loop,
 * the `receiving` switch and the pull receive (receive_async). The
 * threading rule at the top of tun-tap-io.c applies: everything here runs
 * in the owning context, except get_receiving() (atomic).
 *
 * WHEN THE DEVICE READS
 *
 * Only while it is open, `receiving` is TRUE and someone takes the
 * packets: a handler of ::packet-received or ::packets-received, or a
 * pending receive_async(). Otherwise the watch asks for errors only (a
 * deleted interface still shows as POLLERR, so ::closed still comes) and
 * the packets stay in the kernel's queue, which drops once it is full
 * (txqueuelen): the loss signal TCP understands, instead of a read and a
 * silent discard. Nothing tells an object that a handler was connected, so
 * while `receiving` is TRUE and nobody listens, a gate source looks at
 * every iteration of the owning context (in its prepare: it never wakes
 * the loop itself) and turns reading back on.
 *
 * With offloads one read is many packets. When the last ::packet-received
 * handler lets go part-way through them and no batch takes them, the rest
 * is held in the device (tun_tap_offload_deliver_held()): the next taker
 * gets it before anything is read, at once (the gate, ready as soon as
 * someone listens), not at the next packet.
 *
 * A pending receive takes the packets of one wake-up instead of the
 * signals, and completes with them; close() completes it with CLOSED, the
 * interface's deletion with NO_SUCH_DEVICE; cancelling it completes it
 * with CANCELLED and consumes no packet; a second one while it is pending
 * fails with PENDING.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-device-private.h"
#include "tun-tap-context.h"
#include "tun-tap-offload.h"

#include <errno.h>
#include <unistd.h>

/* What one main-loop wake-up reads: enough to amortise the poll and the
 * handlers' fixed cost per emission (a binding's ~15 us and up), little
 * enough that a flood cannot starve the other sources of the loop.
 * Without offloads one read is one packet: up to PACKET_BUDGET packets or
 * BYTE_BUDGET bytes (at 64 reads, 40 to 60 % of the wake-ups of the Python
 * and gjs tunnels' sending side hit the bound under a TCP stream). With
 * offloads one read can be ~45 packets: up to READ_BUDGET reads as well,
 * and OFFLOAD_BYTE_BUDGET bytes, two or three super-packets. Those are
 * read, split into the batch, and (a relay's) written from where they
 * were read while still in the CPU's cache: with 256 KiB they no longer
 * were, and the kernel's copy out of them for the write cost twice as
 * much (perf, relay benchmark: 0.53 CPU-s per GB at 256 KiB, 0.36 at 128
 * KiB; the same 10 rounds: 8 of them cheaper, Python's relay unchanged). */
#define READ_BUDGET 64
#define PACKET_BUDGET 256
#define BYTE_BUDGET (256 * 1024)
#define OFFLOAD_BYTE_BUDGET (128 * 1024)
G_STATIC_ASSERT (BYTE_BUDGET + TUN_TAP_READ_BUFFER_SIZE < TUN_TAP_BATCH_CAPACITY);
G_STATIC_ASSERT (OFFLOAD_BYTE_BUDGET <= BYTE_BUDGET);
/* A wake-up's reads with offloads: under the byte budget, then one more. */
#define RAW_CAPACITY (OFFLOAD_BYTE_BUDGET + TUN_TAP_READ_BUFFER_SIZE)

#define WATCH_ERRORS (G_IO_ERR | G_IO_HUP | G_IO_NVAL)
#define WATCH_READ   (G_IO_IN | WATCH_ERRORS)

typedef struct {
  GBytes *packets;
  GArray *lengths;
} TunTapReceived;

static void
received_free (gpointer data)
{
  TunTapReceived *received = data;

  g_clear_pointer (&received->packets, g_bytes_unref);
  g_clear_pointer (&received->lengths, g_array_unref);
  g_free (received);
}

static gboolean
is_open (TunTapDevice *self)
{
  return g_atomic_int_get (&self->state) == TUN_TAP_STATE_OPEN;
}

static gboolean
is_listening (TunTapDevice *self)
{
  return self->pending_receive != NULL ||
         g_signal_has_handler_pending (self, tun_tap_device_signals[SIGNAL_PACKET_RECEIVED], 0, FALSE) ||
         g_signal_has_handler_pending (self, tun_tap_device_signals[SIGNAL_PACKETS_RECEIVED], 0, FALSE);
}

/* Whether packets a taker left part-way through a read wait, and may be
 * delivered now. */
static gboolean
held_for (TunTapDevice *self)
{
  return is_open (self) && self->offload && tun_tap_offload_has_held (self) &&
         g_atomic_int_get (&self->receiving);
}

static void wake_up (TunTapDevice *self,
                     GIOCondition  condition);

/* ---- the gate: notices a listener arriving ------------------------------ */

typedef struct {
  GSource          source;
  TunTapDeviceRef *ref;
} TunTapGate;

static gboolean
gate_prepare (GSource *source,
              gint    *timeout)
{
  TunTapGate *gate = (TunTapGate *) source;
  g_autoptr(TunTapDevice) self = g_weak_ref_get (&gate->ref->device);

  *timeout = -1;
  return self == NULL || is_listening (self);
}

static gboolean
gate_dispatch (GSource     *source,
               GSourceFunc  callback,
               gpointer     user_data)
{
  TunTapGate *gate = (TunTapGate *) source;
  g_autoptr(TunTapDevice) self = g_weak_ref_get (&gate->ref->device);

  if (self != NULL && self->gate == source)
    {
      g_clear_pointer (&self->gate, g_source_unref);
      /* Packets held for the next taker, and a taker: a wake-up of its
       * own, without waiting for the fd. */
      if (held_for (self) && !self->dispatching)
        wake_up (self, G_IO_IN);
      tun_tap_receive_sync (self);
    }
  return G_SOURCE_REMOVE;
}

static void
gate_finalize (GSource *source)
{
  tun_tap_device_ref_unref (((TunTapGate *) source)->ref);
}

static GSourceFuncs gate_funcs = {
  .prepare = gate_prepare,
  .dispatch = gate_dispatch,
  .finalize = gate_finalize,
};

static void
retire (TunTapDevice  *self,
        GSource      **source)
{
  if (*source != NULL)
    tun_tap_retire_source (g_steal_pointer (source), self->context,
                           g_thread_self () == self->owner_thread);
}

/* ---- the read loop ------------------------------------------------------ */

/* One packet to the per-packet signal, if anyone takes it. Returns FALSE
 * once the device is no longer open. */
static gboolean
emit_one (TunTapDevice *self,
          const guint8 *data,
          guint         len,
          gboolean      want_one)
{
  if (want_one)
    {
      GBytes *packet = g_bytes_new (data, len);

      g_signal_emit (self, tun_tap_device_signals[SIGNAL_PACKET_RECEIVED], 0, packet);
      g_bytes_unref (packet);
    }
  return is_open (self);
}

/* One packet for the application: into the batch, and to the per-packet
 * signal. Returns FALSE once the device is no longer open. */
gboolean
tun_tap_io_deliver (TunTapDevice  *self,
                    const guint8  *data,
                    guint          len,
                    gboolean       want_one,
                    GByteArray   **batch,
                    GArray       **lengths)
{
  if (*batch != NULL)
    {
      g_byte_array_append (*batch, data, len);
      g_array_append_val (*lengths, len);
    }
  return emit_one (self, data, len, want_one);
}

/* The pending receive, off the device (nothing else completes it then),
 * its cancellable no longer watched. */
static GTask *
take_receive (TunTapDevice *self)
{
  if (self->cancel_source != NULL)
    {
      g_source_destroy (self->cancel_source);
      g_clear_pointer (&self->cancel_source, g_source_unref);
    }
  return g_steal_pointer (&self->pending_receive);
}

static void
finish_receive (TunTapDevice   *self,
                TunTapReceived *received,
                GError         *error)
{
  g_autoptr(GTask) task = take_receive (self);

  if (received != NULL)
    g_task_return_pointer (task, received, received_free);
  else
    g_task_return_error (task, error);
}

/* Whether this wake-up's packets still have someone to go to, after a
 * ::packet-received handler ran: the handlers asked for at its start. */
static gboolean
still_taken (TunTapDevice *self,
             gboolean      want_many)
{
  return g_signal_has_handler_pending (self, tun_tap_device_signals[SIGNAL_PACKET_RECEIVED], 0, FALSE) ||
         (want_many &&
          g_signal_has_handler_pending (self, tun_tap_device_signals[SIGNAL_PACKETS_RECEIVED], 0, FALSE));
}

/* Reads what one wake-up may (see the budgets), for the pending receive
 * or for the signals. FALSE when nobody took packets (nothing was read).
 * A batch for the pending receive comes back in @task and @received, for
 * the caller to complete once the read loop is over. */
static gboolean
read_packets (TunTapDevice    *self,
              int              fd,
              GTask          **task,
              TunTapReceived **received)
{
  gboolean for_task = self->pending_receive != NULL;
  gboolean want_one, want_many, read_more = TRUE;
  /* With offloads one read is many packets: reads and bytes bound it. */
  guint read_budget = self->offload ? READ_BUDGET : PACKET_BUDGET;
  gsize byte_budget = self->offload ? OFFLOAD_BYTE_BUDGET : BYTE_BUDGET;
  GByteArray *batch = NULL;
  GArray *lengths = NULL;
  guint delivered = 0;
  gsize bytes = 0;

  /* Asked once per wake-up, not per packet: a handler connected from a
   * handler takes effect from the next wake-up. */
  want_one = !for_task &&
             g_signal_has_handler_pending (self, tun_tap_device_signals[SIGNAL_PACKET_RECEIVED], 0, FALSE);
  want_many = for_task ||
              g_signal_has_handler_pending (self, tun_tap_device_signals[SIGNAL_PACKETS_RECEIVED], 0, FALSE);
  if (!want_one && !want_many)
    return FALSE;
  if (want_many)
    {
      /* Room for the whole budget and one more read split. */
      batch = tun_tap_offload_batch_array_new ();
      lengths = g_array_sized_new (FALSE, FALSE, sizeof (guint),
                                   self->offload ? PACKET_BUDGET + 64 : PACKET_BUDGET);
      if (self->offload)
        g_byte_array_set_size (self->computed, 0);
    }
  if (self->offload)
    {
      /* The reads of this wake-up go to a block of their own, kept with
       * the batch while ::packets-received runs (super-packets passed on
       * whole, see tun_tap_offload_batch_pass_through()). A send_many()
       * in another thread may still write from the last one: then a new
       * block. */
      if (tun_tap_offload_raw_shared (self->raw))
        {
          tun_tap_offload_raw_unref (self->raw);
          self->raw = tun_tap_offload_raw_new (RAW_CAPACITY);
        }
      self->raw_len = 0;
      g_array_set_size (self->groups, 0);
    }

  /* Packets that a taker left part-way through a read come first; when
   * the taker left again, nothing more is read. */
  if (self->offload && tun_tap_offload_has_held (self) &&
      (!tun_tap_offload_deliver_held (self, want_one, &batch, &lengths) ||
       tun_tap_offload_has_held (self)))
    {
      read_more = FALSE;
      self->sync_pending = TRUE;
    }

  for (guint i = 0;
       read_more && i < read_budget && delivered < PACKET_BUDGET && bytes < byte_budget &&
       is_open (self) && g_atomic_int_get (&self->receiving);
       i++)
    {
      guint8 *into;
      gboolean in_place = FALSE;
      ssize_t n;
      int errsv;

      /* With offloads, after the reads kept so far (at most the byte
       * budget: there is room for one more). Without, straight into the
       * batch when there is one, past what it holds: it holds this
       * wake-up's reads, under the byte budget, so a block has room for
       * one more (checked all the same: otherwise the read buffer, and a
       * copy). */
      if (self->offload)
        into = self->raw->data + self->raw_len;
      else if (batch != NULL && batch->len + TUN_TAP_READ_BUFFER_SIZE <= TUN_TAP_BATCH_CAPACITY)
        {
          into = batch->data + batch->len;
          in_place = TRUE;
        }
      else
        into = self->buffer;
      n = read (fd, into, TUN_TAP_READ_BUFFER_SIZE);
      if (n > 0)
        {
          gboolean open;

          bytes += (gsize) n;

          if (self->offload)
            open = tun_tap_offload_deliver (self, into, (guint) n, want_one, &batch, &lengths,
                                            &delivered);
          else if (in_place)
            {
              guint len = (guint) n;

              /* Already in the batch: only counted there (the block does
               * not move: no reallocation below its size), then to the
               * per-packet signal. */
              g_byte_array_set_size (batch, batch->len + len);
              g_array_append_val (lengths, len);
              delivered++;
              open = emit_one (self, into, len, want_one);
            }
          else
            {
              delivered++;
              open = tun_tap_io_deliver (self, into, (guint) n, want_one, &batch, &lengths);
            }
          if (!open)
            break;
          /* A handler ran, and may have let go: disconnected or blocked
           * itself, or handed over to a pull receive. With nobody left to
           * take this wake-up's packets, read no more (they would go
           * nowhere); the sync at the end of the dispatch looks again. */
          if (want_one && !still_taken (self, want_many))
            {
              self->sync_pending = TRUE;
              break;
            }
          continue;
        }

      errsv = n < 0 ? errno : 0;
      if (errsv == EINTR)
        continue;
      if (errsv == EAGAIN)
        break;
      if (errsv == EINVAL)
        {
          /* Only a buffer smaller than the header causes this; the packet
           * is already gone, the device still works. */
          g_warning (_("Reading from “%s” returned EINVAL; a packet was lost"),
                     tun_tap_device_display_name (self));
          continue;
        }

      tun_tap_device_broke (self, errsv);
      break;
    }

  if (batch != NULL)
    {
      GBytes *packets = tun_tap_offload_batch_bytes (self, batch, lengths);

      /* Nothing after a close; nothing when nothing was read. The
       * pending receive may have gone meanwhile only with the device. */
      if (is_open (self) && lengths->len > 0)
        {
          if (for_task && self->pending_receive != NULL)
            {
              *task = take_receive (self);
              *received = g_new0 (TunTapReceived, 1);
              (*received)->packets = g_bytes_ref (packets);
              (*received)->lengths = g_array_ref (lengths);
            }
          else if (!for_task)
            {
              /* The super-packets among them pass through whole while the
               * handlers run, not after: the block is reused. */
              gboolean pass = self->offload && self->groups->len > 0;

              if (pass)
                tun_tap_offload_batch_pass_begin (packets, self->raw,
                                                  (const TunTapOffloadGroup *) self->groups->data,
                                                  self->groups->len);
              g_signal_emit (self, tun_tap_device_signals[SIGNAL_PACKETS_RECEIVED], 0,
                             packets, lengths);
              if (pass)
                tun_tap_offload_batch_pass_end (packets);
            }
        }
      g_bytes_unref (packets);
      g_array_unref (lengths);
    }
  return TRUE;
}

/* One wake-up: what the fd has (@condition), for whoever listens. */
static void
wake_up (TunTapDevice *self,
         GIOCondition  condition)
{
  g_autoptr(GTask) task = NULL;
  TunTapReceived *received = NULL;
  gboolean listened = FALSE;
  int fd;

  self->dispatching = TRUE;
  fd = g_atomic_int_get (&self->fd);

  if (condition & G_IO_IN)
    listened = read_packets (self, fd, &task, &received);

  /* After deletion the fd polls as POLLERR forever, with no POLLHUP and no
   * POLLIN: ask read() why, and never return to the loop with the watch on. */
  if (is_open (self) && (condition & WATCH_ERRORS))
    {
      int errsv = 0;
      guint8 probe[1];

      if (read (fd, probe, 0) < 0)
        errsv = errno;
      if (errsv != EAGAIN && errsv != EINTR)
        tun_tap_device_broke (self, errsv);
    }

  self->dispatching = FALSE;
  /* The pending receive's batch, completed only now that the read loop is
   * over: GTask may run the callback right here, and the callback may do
   * what any callback may, such as wait for the next receive in a nested
   * main loop (inside the loop it would find the watch parked). A receive
   * it starts syncs at once, so the watch stays as it is. */
  if (task != NULL)
    g_task_return_pointer (task, g_steal_pointer (&received), received_free);
  /* The common wake-up (read for a listener, nothing changed) needs no
   * second look at the handlers. */
  if (task != NULL || self->sync_pending || !listened || !is_open (self))
    tun_tap_receive_sync (self);
}

static gboolean
fd_ready (GIOChannel   *channel,
          GIOCondition  condition,
          gpointer      user_data)
{
  TunTapDeviceRef *ref = user_data;
  g_autoptr(TunTapDevice) self = g_weak_ref_get (&ref->device);
  GSource *me = g_main_current_source ();

  if (self == NULL || !is_open (self) || self->watch != me)
    return G_SOURCE_REMOVE;

  /* The source is recursable (no wake-up of the loop per dispatch), so a
   * handler that iterates the main loop would be re-entered here: drop
   * the watch instead; the outer dispatch watches again when it ends. */
  if (self->dispatching)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
      self->sync_pending = TRUE;
      return G_SOURCE_REMOVE;
    }
  wake_up (self, condition);
  return self->watch == me ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
create_watch (TunTapDevice *self,
              GIOCondition  condition)
{
  self->watch = g_io_create_watch (self->channel, condition);
  self->watch_condition = condition;
  g_source_set_callback (self->watch, G_SOURCE_FUNC (fd_ready),
                         tun_tap_device_ref_ref (self->weak), tun_tap_device_ref_unref);
  /* A source that is not recursable is blocked and unblocked around every
   * dispatch, and GLib 2.74 wakes its own loop each time (two eventfd
   * writes, a read and an empty poll per wake-up); fd_ready guards
   * against re-entry itself. */
  g_source_set_can_recurse (self->watch, TRUE);
  g_source_set_static_name (self->watch, "[tuntap-glib] device watch");
  g_source_attach (self->watch, self->context);
}

void
tun_tap_receive_sync (TunTapDevice *self)
{
  GIOCondition wanted = 0;
  gboolean want_gate;

  /* The read loop syncs when it ends. */
  if (self->dispatching)
    {
      self->sync_pending = TRUE;
      return;
    }
  self->sync_pending = FALSE;

  if (is_open (self))
    wanted = g_atomic_int_get (&self->receiving) && is_listening (self) ? WATCH_READ
                                                                       : WATCH_ERRORS;
  if (self->watch != NULL && self->watch_condition != wanted)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
  if (self->watch == NULL && wanted != 0)
    create_watch (self, wanted);

  /* A listener to notice, or packets held for the next taker (who may be
   * there already: the gate is ready at once then). */
  want_gate = (wanted == WATCH_ERRORS && g_atomic_int_get (&self->receiving)) || held_for (self);
  if (want_gate && self->gate == NULL)
    {
      TunTapGate *gate = (TunTapGate *) g_source_new (&gate_funcs, sizeof (TunTapGate));

      gate->ref = tun_tap_device_ref_ref (self->weak);
      self->gate = (GSource *) gate;
      g_source_set_static_name (self->gate, "[tuntap-glib] listener gate");
      g_source_attach (self->gate, self->context);
    }
  else if (!want_gate && self->gate != NULL)
    {
      g_source_destroy (self->gate);
      g_clear_pointer (&self->gate, g_source_unref);
    }
}

void
tun_tap_receive_start (TunTapDevice *self)
{
  /* With offloads the reads go to the block of reads instead. */
  if (!self->offload)
    self->buffer = g_malloc (TUN_TAP_READ_BUFFER_SIZE);
  else
    {
      self->split = g_byte_array_sized_new (TUN_TAP_READ_BUFFER_SIZE * 2);
      self->split_lengths = g_array_new (FALSE, FALSE, sizeof (guint));
      self->computed = g_byte_array_new ();
      self->raw = tun_tap_offload_raw_new (RAW_CAPACITY);
      self->groups = g_array_new (FALSE, FALSE, sizeof (TunTapOffloadGroup));
    }
  self->channel = g_io_channel_unix_new (g_atomic_int_get (&self->fd));
  g_io_channel_set_close_on_unref (self->channel, FALSE);
  g_io_channel_set_encoding (self->channel, NULL, NULL);
  g_io_channel_set_buffered (self->channel, FALSE);
  tun_tap_receive_sync (self);
}

void
tun_tap_receive_stop (TunTapDevice *self)
{
  /* The sources belong to the owning context: torn down there. From the
   * context's own thread (the usual case) that is now; from another
   * thread they are handed over, and meanwhile their callbacks find no
   * device behind their weak reference (and so never touch the buffer). */
  retire (self, &self->watch);
  retire (self, &self->gate);
  g_clear_pointer (&self->channel, g_io_channel_unref);
  g_clear_pointer (&self->buffer, g_free);
  g_clear_pointer (&self->split, g_byte_array_unref);
  g_clear_pointer (&self->split_lengths, g_array_unref);
  g_clear_pointer (&self->computed, g_byte_array_unref);
  g_clear_pointer (&self->raw, tun_tap_offload_raw_unref);
  g_clear_pointer (&self->groups, g_array_unref);
}

void
tun_tap_receive_closed (TunTapDevice *self,
                        const GError *error)
{
  if (self->pending_receive == NULL)
    return;
  if (error != NULL)
    finish_receive (self, NULL, g_error_copy (error));
  else
    finish_receive (self, NULL,
                    g_error_new (G_IO_ERROR, G_IO_ERROR_CLOSED,
                                 _("Cannot receive on “%s”: the device was closed"),
                                 tun_tap_device_display_name (self)));
}

/* ---- the public calls --------------------------------------------------- */

/**
 * tun_tap_device_get_receiving:
 * @self: a device
 *
 * Gets whether the device reads packets when someone takes them; see
 * [property@TunTap.Device:receiving]. May be called from any thread.
 *
 * Returns: the value of [property@TunTap.Device:receiving]
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_get_receiving (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  return g_atomic_int_get (&self->receiving);
}

/**
 * tun_tap_device_set_receiving:
 * @self: a device
 * @receiving: %FALSE to stop reading from the device, %TRUE to resume
 *
 * Pauses or resumes reading; see [property@TunTap.Device:receiving].
 * Takes effect before the next read(2), also when called from a handler
 * of [signal@TunTap.Device::packet-received]. Belongs to the owning
 * context.
 *
 * Since: 0.1
 */
void
tun_tap_device_set_receiving (TunTapDevice *self,
                              gboolean      receiving)
{
  g_auto(TunTapContextGuard) guard = { NULL };

  g_return_if_fail (TUN_TAP_IS_DEVICE (self));

  receiving = !!receiving;
  if (g_atomic_int_get (&self->receiving) == receiving)
    return;
  if (!tun_tap_device_enter_context (self, G_STRFUNC, &guard))
    return;
  g_atomic_int_set (&self->receiving, receiving);
  tun_tap_receive_sync (self);
  g_object_notify_by_pspec (G_OBJECT (self), tun_tap_device_properties[PROP_RECEIVING]);
}

static gboolean
receive_cancelled (GCancellable *cancellable,
                   gpointer      user_data)
{
  TunTapDeviceRef *ref = user_data;
  g_autoptr(TunTapDevice) self = g_weak_ref_get (&ref->device);

  if (self != NULL && self->pending_receive != NULL &&
      g_task_get_cancellable (self->pending_receive) == cancellable)
    {
      g_clear_pointer (&self->cancel_source, g_source_unref);
      finish_receive (self, NULL,
                      g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                   _("Receiving on “%s” was cancelled"),
                                   tun_tap_device_display_name (self)));
      tun_tap_receive_sync (self);
    }
  return G_SOURCE_REMOVE;
}

/**
 * tun_tap_device_receive_async:
 * @self: a device
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when packets arrived
 *   or the receive failed
 * @user_data: data for @callback
 *
 * Pulls the next batch of packets: the packets of one main-loop wake-up
 * (reading stops once it has 256 packets or 256 KiB; with offloads, 128 KiB
 * or 64 reads), as
 * [signal@TunTap.Device::packets-received] would have carried them. Call
 * [method@TunTap.Device.receive_finish] from @callback. For code that
 * receives at its own pace, such as an async function in gjs (with
 * `Gio._promisify()`) or a loop of callbacks in Python.
 *
 * While a receive is pending it takes the packets instead of the signals
 * (neither ::packet-received nor ::packets-received is emitted for them).
 * It completes with %G_IO_ERROR_CLOSED when the device is closed,
 * %G_IO_ERROR_NO_SUCH_DEVICE when its interface is deleted,
 * %G_IO_ERROR_CANCELLED when @cancellable is cancelled (no packet is
 * consumed then), and %G_IO_ERROR_PENDING at once if another receive is
 * still pending. While [property@TunTap.Device:receiving] is %FALSE it
 * waits.
 *
 * Belongs to the owning context; @callback runs in the thread-default
 * main context of the caller (the owning context). As with any GIO
 * operation, a pending receive holds a reference to the device: dropping
 * your last one does not close the device (nor delete its interface)
 * while a receive is pending; cancel it or close the device first.
 *
 * Since: 0.1
 */
void
tun_tap_device_receive_async (TunTapDevice        *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_auto(TunTapContextGuard) guard = { NULL };
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (TUN_TAP_IS_DEVICE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tun_tap_device_receive_async);
  g_task_set_name (task, "[tuntap-glib] receive");
  /* Packets read are the caller's even if it cancels in the meantime:
   * returning CANCELLED then would lose them. */
  g_task_set_check_cancellable (task, FALSE);

  if (!tun_tap_device_enter_context (self, G_STRFUNC, &guard))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("Cannot receive on “%s” from this thread: call it from "
                                 "the thread that runs the device’s main context"),
                               tun_tap_device_display_name (self));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!tun_tap_device_check_open (self, _("receive"), &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (self->pending_receive != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("Cannot receive on “%s”: a receive is already pending; "
                                 "wait for it to complete first"),
                               tun_tap_device_display_name (self));
      return;
    }

  if (cancellable != NULL)
    {
      self->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (self->cancel_source, G_SOURCE_FUNC (receive_cancelled),
                             tun_tap_device_ref_ref (self->weak), tun_tap_device_ref_unref);
      g_source_set_static_name (self->cancel_source, "[tuntap-glib] receive cancelled");
      g_source_attach (self->cancel_source, self->context);
    }
  self->pending_receive = g_steal_pointer (&task);
  tun_tap_receive_sync (self);
}

/**
 * tun_tap_device_receive_finish:
 * @self: a device
 * @result: the result passed to the callback
 * @lengths: (out) (optional) (transfer full) (element-type guint): return
 *   location for the length of each packet
 * @error: return location for a #GError
 *
 * Finishes [method@TunTap.Device.receive_async].
 *
 * Returns: (transfer full): the packets, back to back, oldest first; or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
GBytes *
tun_tap_device_receive_finish (TunTapDevice  *self,
                               GAsyncResult  *result,
                               GArray       **lengths,
                               GError       **error)
{
  TunTapReceived *received;
  GBytes *packets;

  if (lengths != NULL)
    *lengths = NULL;
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tun_tap_device_receive_async,
                        NULL);

  received = g_task_propagate_pointer (G_TASK (result), error);
  if (received == NULL)
    return NULL;
  packets = g_steal_pointer (&received->packets);
  if (lengths != NULL)
    *lengths = g_steal_pointer (&received->lengths);
  received_free (received);
  return packets;
}
