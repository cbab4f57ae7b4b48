/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * TunTapDevice is one GObject implemented in three files, which share this
 * structure and nothing else:
 *
 *   tun-tap-device.c   the GObject surface: properties and signals
 *   tun-tap-construct.c  construction: g_initable_init(), the constructors
 *   tun-tap-io.c       packet I/O: the send paths, close, and the threading
 *                      rule (stated at the top of that file)
 *   tun-tap-receive.c  the watch, the read loop, receiving, receive_async
 *   tun-tap-offload-io.c  offloads: reads split, send_many() coalescing
 *   tun-tap-link.c     identity (which interface, in which namespace) and
 *                      where link state comes from; the getters
 *   tun-tap-config.c   the configuration calls (up, MTU, addresses, ...)
 *
 * Below them: tun-tap-kernel.c (ioctls), tun-tap-packet.c (what an
 * outgoing packet must look like), tun-tap-offload.c (split, coalescing
 * plan) with tun-tap-offload-batch.c (the batches handed out) and
 * tun-tap-checksum.c, tun-tap-netlink-*.c (rtnetlink), tun-tap-netns.c
 * (namespaces) and tun-tap-error.c (errno → GError).
 */
#pragma once

#include "tun-tap-device.h"
#include "tun-tap-address-private.h"
#include "tun-tap-kernel.h"
#include "tun-tap-netlink.h"
#include "tun-tap-offload.h"

G_BEGIN_DECLS

typedef enum {
  TUN_TAP_STATE_NEW,       /* constructed, g_initable_init() not called */
  TUN_TAP_STATE_FAILED,    /* g_initable_init() failed */
  TUN_TAP_STATE_OPEN,
  TUN_TAP_STATE_CLOSED,    /* closed, disposed, or the interface is gone */
} TunTapState;

/* What the callbacks the device registers in its context (the fd watch,
 * the rtnetlink watch) hold: a weak reference, so a callback never keeps
 * the device alive and never sees it freed. */
typedef struct {
  gint     ref_count;
  GWeakRef device;
} TunTapDeviceRef;

TunTapDeviceRef *tun_tap_device_ref_new   (TunTapDevice    *device);
TunTapDeviceRef *tun_tap_device_ref_ref   (TunTapDeviceRef *ref);
void             tun_tap_device_ref_unref (gpointer         ref);

struct _TunTapDevice
{
  GObject          parent_instance;

  /* Construct-only requests; after init, mode, packet_info and
   * multi_queue say what the kernel uses and never change again. */
  char            *requested_name;
  TunTapMode       mode;
  gboolean         packet_info;
  gboolean         offload;         /* a virtio-net header on every packet */
  guint            offload_mask;    /* TUN_F_* the kernel accepted */
  gboolean         multi_queue;
  gboolean         exclusive;
  gboolean         request_persistent;
  gint64           request_owner;
  gint64           request_group;
  int              adopt_fd;        /* "fd", -1 if none */
  int              request_netns;   /* "netns-fd", the caller's, -1 if none */

  GMainContext    *context;         /* the owning context */
  GThread         *owner_thread;    /* the constructing thread */
  GError          *init_error;
  gint             state;           /* TunTapState; atomic */
  TunTapDeviceRef *weak;

  /* Packet I/O (tun-tap-io.c). */
  gint             fd;              /* atomic; -1 unless open */
  gint             senders;         /* threads inside the send guard; atomic */
  gint             closing;         /* atomic */
  gint             orphan_fd;       /* left for the last sender to close */
  GMutex           close_lock;
  GCond            close_cond;
  GIOChannel      *channel;
  GSource         *watch;
  GIOCondition     watch_condition; /* what the watch asks for */
  GSource         *gate;            /* notices a listener arriving */
  gint             receiving;       /* atomic */
  GTask           *pending_receive; /* owning context only */
  GSource         *cancel_source;   /*   and its cancellation */
  guint8          *buffer;
  gint             max_packet;      /* atomic */
  gboolean         dispatching;     /* owning context only */
  gboolean         sync_pending;    /*   the watch to sync after it */
  GByteArray      *split;           /* offload: one read's packets */
  GArray          *split_lengths;
  GByteArray      *computed;        /* offload: per packet of the batch,
                                     *   checksums computed here */
  TunTapOffloadRaw *raw;            /* offload: the wake-up's reads, */
  gsize            raw_len;         /*   how much of it they fill */
  GArray          *groups;          /*   the super-packets among them */
  guint            held_index;      /* offload: split packets from this */
  gsize            held_offset;     /*   one on wait for the next taker */
  gboolean         held_computed;
  guint64          super_packets;   /* counters: written in the owning */
  guint64          split_packets;   /*   context, read from any thread */
  guint64          malformed;       /*   (__atomic, relaxed) */
  guint64          coalesced;       /* super-packets written */
  guint64          fallbacks;       /* coalesced writes refused */
  gint             coalesce;        /* TunTapCoalesce; atomic */

  /* Identity and link state (tun-tap-link.c): written in the owning
   * context, read from any thread through g_atomic_*; the strings are
   * interned, so a pointer handed out stays valid. */
  const char      *name;
  const char      *hardware_address;   /* NULL on TUN */
  gint             ifindex;
  gint             up;
  gint             carrier;
  gint             mtu;
  gint             persistent;
  gint             queue_enabled;
  gint             owner;           /* a uid as guint32, -1 for none */
  gint             group;
  int              netns;           /* the interface's namespace; -1 unknown */
  TunTapNetlink   *nl;
  TunTapNetlinkMonitor *monitor;
  guint            monitor_watch;
  /* (element-type TunTapAddress): written in the owning context, read
   * from any thread, both under addresses_lock; replaced or changed in
   * place, never handed out (get_addresses() copies). */
  GMutex           addresses_lock;
  GPtrArray       *addresses;
};

typedef enum {
  PROP_NAME = 1,
  PROP_MODE,
  PROP_PACKET_INFO,
  PROP_OFFLOAD,
  PROP_OFFLOADS,
  PROP_COALESCE,
  PROP_FD,
  PROP_NETNS_FD,
  PROP_CLOSED,
  PROP_PERSISTENT,
  PROP_EXCLUSIVE,
  PROP_MULTI_QUEUE,
  PROP_QUEUE_ENABLED,
  PROP_OWNER,
  PROP_GROUP,
  PROP_IFINDEX,
  PROP_UP,
  PROP_CARRIER,
  PROP_MTU,
  PROP_RECEIVING,
  PROP_HARDWARE_ADDRESS,
} TunTapDeviceProperty;

enum {
  SIGNAL_PACKET_RECEIVED,
  SIGNAL_PACKETS_RECEIVED,
  SIGNAL_CLOSED,
  SIGNAL_ADDRESSES_CHANGED,
  N_SIGNALS
};

extern GParamSpec *tun_tap_device_properties[PROP_HARDWARE_ADDRESS + 1];
extern guint       tun_tap_device_signals[N_SIGNALS];

/* The name for messages, from any thread. */
const char *tun_tap_device_display_name (TunTapDevice *self);

/* ---- tun-tap-io.c ------------------------------------------------------ */

/* The owning-context rule: TRUE when the calling thread runs the device's
 * context, or nobody does (the context is then acquired until @guard is
 * cleared). Otherwise a g_critical naming @call, and FALSE. */
typedef struct {
  GMainContext *acquired;
} TunTapContextGuard;

void     tun_tap_context_guard_clear (TunTapContextGuard *guard);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TunTapContextGuard, tun_tap_context_guard_clear)

gboolean tun_tap_device_enter_context (TunTapDevice       *self,
                                       const char         *call,
                                       TunTapContextGuard *guard);

/* FALSE with NOT_INITIALIZED or CLOSED unless the device is open and its
 * interface still exists; “Cannot @what on “name”: …”. Any thread. */
gboolean tun_tap_device_check_open    (TunTapDevice       *self,
                                       const char         *what,
                                       GError            **error);

/* Stops reading, waits for the sends in progress (one write(2) each),
 * closes the fd. Any thread; the watch is torn down in the owning context. */
void     tun_tap_io_stop              (TunTapDevice       *self);
void     tun_tap_io_update_max_packet (TunTapDevice       *self);

/* The device stops working: reads as closed at once (fd -1), waits for
 * sends under way, closes the fd, stops following the link. FALSE if it
 * was not open. The owning context, or dispose. */
gboolean tun_tap_device_stop          (TunTapDevice       *self);
/* Owning context: the device stops working; `closed` is emitted with
 * @error (NULL for close()). */
void     tun_tap_device_shut_down     (TunTapDevice       *self,
                                       const GError       *error);
/* Owning context: the interface is gone (deleted, or reading failed). */
void     tun_tap_device_broke         (TunTapDevice       *self,
                                       int                 errsv);

/* The send guard (see the threading rule): a send enters before touching
 * the fd and leaves after its write(2). FALSE: closing, do not write. */
gboolean tun_tap_io_send_enter       (TunTapDevice       *self);
void     tun_tap_io_send_leave       (TunTapDevice       *self);
/* Tests only: @hook runs in every thread that has just counted itself
 * into the send guard, before it looks at `closing` again, so that a test
 * can hold one there (NULL, the default: nothing runs). */
typedef void (*TunTapIoEnterHook) (TunTapDevice *self);
void     tun_tap_io_set_enter_hook   (TunTapIoEnterHook   hook);
/* ---- tun-tap-receive.c ------------------------------------------------- */

/* At init: the buffers, the channel, the watch. */
void     tun_tap_receive_start       (TunTapDevice       *self);
/* Any thread: retires the watch (in the owning context), frees buffers. */
void     tun_tap_receive_stop        (TunTapDevice       *self);
/* Owning context: the watch as the state wants it (reading or only
 * errors); after `receiving`, a listener or a pending receive changed. */
void     tun_tap_receive_sync        (TunTapDevice       *self);
/* Owning context, once closed: completes a pending receive with @error,
 * or CLOSED when it is NULL. */
void     tun_tap_receive_closed      (TunTapDevice       *self,
                                      const GError       *error);
/* One packet to the application (batch and per-packet signal); FALSE once
 * the device is no longer open. Owning context, in the read loop. */
gboolean tun_tap_io_deliver          (TunTapDevice       *self,
                                      const guint8       *data,
                                      guint               len,
                                      gboolean            want_one,
                                      GByteArray        **batch,
                                      GArray            **lengths);
void     tun_tap_counter_add         (guint64            *counter,
                                      guint64             n);

/* ---- tun-tap-offload-io.c ---------------------------------------------- */

/* One read of a vnet device (@n bytes at @in, in the wake-up's block
 * of reads), split and delivered; *@delivered counts packets. FALSE once
 * no longer open. */
gboolean tun_tap_offload_deliver     (TunTapDevice       *self,
                                      const guint8       *in,
                                      guint               n,
                                      gboolean            want_one,
                                      GByteArray        **batch,
                                      GArray            **lengths,
                                      guint              *delivered);
/* Whether packets of a split read wait for the next taker, and their
 * delivery (one by one, into the batch too); FALSE once no longer open. */
gboolean tun_tap_offload_has_held    (TunTapDevice       *self);
gboolean tun_tap_offload_deliver_held (TunTapDevice      *self,
                                      gboolean            want_one,
                                      GByteArray        **batch,
                                      GArray            **lengths);
/* The batch of one wake-up as the GBytes handed out (and remembered,
 * with offloads: see tun_tap_offload_batch_publish()). */
GBytes  *tun_tap_offload_batch_bytes (TunTapDevice       *self,
                                      GByteArray         *batch,
                                      GArray             *lengths);
/* send_many() with offloads and coalescing on: *@n_sent gets how many
 * packets went, from the first; @error why the next did not. Any
 * thread. */
void     tun_tap_offload_send_many   (TunTapDevice       *self,
                                      const guint8       *data,
                                      const guint        *lengths,
                                      guint               n_packets,
                                      guint              *n_sent,
                                      GError            **error);

TunTapCoalesce tun_tap_device_coalesce_supported (TunTapDevice *self);
/* At init, once the offloads are known. */
void     tun_tap_device_init_coalesce (TunTapDevice      *self);

/* ---- tun-tap-construct.c ----------------------------------------------- */

gboolean tun_tap_device_initable_init (GInitable         *initable,
                                       GCancellable      *cancellable,
                                       GError           **error);

/* ---- tun-tap-link.c ---------------------------------------------------- */

/* At init: learns the interface's namespace and ifindex, opens the
 * rtnetlink socket there, subscribes to changes and reads the state. The
 * device works for packets even when this fails (no rtnetlink). */
void     tun_tap_link_attach          (TunTapDevice       *self);
/* Any thread: stops following the link, frees the sockets. */
void     tun_tap_link_detach          (TunTapDevice       *self);
/* Reads the link state now and applies it (after a change with no
 * notification of its own, such as persistence). Owning context. */
void     tun_tap_link_refresh         (TunTapDevice       *self);
/* After a request the kernel acknowledged: applies its notification (and
 * every one queued before it) now; with @addresses, reads the addresses
 * too (the kernel may announce an address after the ack). Owning context. */
void     tun_tap_link_sync            (TunTapDevice       *self,
                                       gboolean            addresses);
/* After a request failed with CLOSED: whether the interface had moved (it
 * is followed now, worth one more try). Owning context. */
gboolean tun_tap_link_moved           (TunTapDevice       *self,
                                       const GError       *error);
/* Number of queues attached to a multi-queue interface; 0 if unknown. */
guint    tun_tap_link_num_queues      (TunTapDevice       *self);

G_END_DECLS
