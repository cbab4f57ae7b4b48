/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tun-tap-device.h"
#include "tun-tap-enum-types.h"
#include "tun-tap-kernel.h"
#include "tun-tap-netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_tun.h>

/**
 * TunTapDevice:
 *
 * A Linux TUN or TAP interface owned by this process and watched in a GLib
 * main loop.
 *
 * A `TunTapDevice` opens `/dev/net/tun`, attaches to (or creates) an
 * interface, and emits [signal@TunTap.Device::packet-received] for every
 * packet the kernel routes into the interface. Packets handed to
 * [method@TunTap.Device.send] enter the kernel's network stack as if they had
 * arrived from a wire.
 *
 * The file descriptor is watched through a [struct@GLib.IOChannel] attached
 * to the thread-default [struct@GLib.MainContext] of the thread that
 * constructed the object; both signals are emitted in that context.
 *
 * Construct a device with [ctor@TunTap.Device.new] or
 * [ctor@TunTap.Device.new_for_fd]. A device built with [ctor@GObject.Object.new]
 * (as `TunTap.Device(...)` in Python or `new TunTap.Device({...})` in gjs)
 * must be initialised with [method@Gio.Initable.init] before use, as with
 * [class@Gio.Socket].
 *
 * With [property@TunTap.Device:packet-info] unset (the default) a TUN packet
 * is a bare IPv4 or IPv6 datagram and a TAP packet a bare Ethernet frame.
 * With it set, every packet in both directions starts with the kernel's
 * 4-byte `struct tun_pi` header (flags and EtherType, big-endian).
 *
 * Thread safety: [method@TunTap.Device.send],
 * [method@TunTap.Device.send_bytes], [method@TunTap.Device.send_many] and the
 * getters returning numbers or booleans may be called from any thread; a
 * concurrent close makes a send fail with %G_IO_ERROR_CLOSED, never write to
 * a recycled file descriptor. [method@TunTap.Device.get_name] and
 * [method@TunTap.Device.get_hardware_address] return strings that a rename
 * or a MAC change replaces, so call them, like everything else
 * (construction, configuration, closing, dropping the last reference), in
 * the thread that runs the device's main context.
 *
 * Since: 0.1
 */

/* Packets read per main-loop wake-up: enough to amortise the poll, few
 * enough that a flood cannot starve the other sources of the loop. */
#define READ_BUDGET 64

struct _TunTapDevice
{
  GObject       parent_instance;

  char         *name;           /* requested name, then the kernel's */
  TunTapMode    mode;
  gboolean      packet_info;
  int           adopt_fd;       /* construct-only "fd", -1 if none */

  GMainContext *context;        /* thread-default context at construction */
  gboolean      initialized;
  GError       *init_error;

  GRWLock       fd_lock;        /* send() readers vs. close() writer */
  int           fd;             /* -1 until initialised and once closed */
  GIOChannel   *channel;
  GSource      *watch;

  guint8       *buffer;         /* one read buffer for the whole lifetime */
  gint          max_packet;     /* largest packet send() takes; atomic */

  /* Lifecycle: requested at construction, then what the kernel says. */
  gboolean      persistent;
  gboolean      exclusive;
  gboolean      multi_queue;
  gboolean      queue_enabled;
  gint64        owner;          /* -1: none */
  gint64        group;          /* -1: none */

  /* Link state, kept current by the context's rtnetlink monitor. */
  int           ifindex;
  gboolean      up;
  gboolean      carrier;
  guint         mtu;
  char         *hardware_address;  /* NULL on TUN */
  TunTapNetlinkMonitor *monitor;
  guint         monitor_watch;
};

typedef enum {
  PROP_NAME = 1,
  PROP_MODE,
  PROP_PACKET_INFO,
  PROP_FD,
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
  PROP_HARDWARE_ADDRESS,
} TunTapDeviceProperty;

static GParamSpec *properties[PROP_HARDWARE_ADDRESS + 1];

enum {
  SIGNAL_PACKET_RECEIVED,
  SIGNAL_PACKETS_RECEIVED,
  SIGNAL_CLOSED,
  SIGNAL_ADDRESSES_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void tun_tap_device_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TunTapDevice, tun_tap_device, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      tun_tap_device_initable_iface_init))

/* Stops the watch and closes the fd, exactly once; @error is NULL when the
 * caller closed the device and set when it broke from outside. */
static void
tun_tap_device_shut_down (TunTapDevice *self,
                          const GError *error,
                          gboolean      emit)
{
  int fd;

  if (self->fd < 0)
    return;

  if (self->watch != NULL)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
  g_clear_pointer (&self->channel, g_io_channel_unref);

  if (self->monitor_watch != 0)
    tun_tap_netlink_monitor_remove_watch (self->monitor, self->monitor_watch);
  self->monitor_watch = 0;
  g_clear_pointer (&self->monitor, tun_tap_netlink_monitor_unref);

  g_rw_lock_writer_lock (&self->fd_lock);
  fd = self->fd;
  self->fd = -1;
  g_rw_lock_writer_unlock (&self->fd_lock);

  if (fd >= 0)
    close (fd);

  g_clear_pointer (&self->buffer, g_free);

  if (!emit)
    return;

  g_object_ref (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLOSED]);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, error);
  g_object_unref (self);
}

static void
tun_tap_device_broke (TunTapDevice *self,
                      int           errsv)
{
  g_autoptr(GError) error = NULL;

  if (errsv == EBADFD || errsv == EFAULT || errsv == 0)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NO_SUCH_DEVICE,
                 "The interface “%s” was deleted from the system; create a new "
                 "device to continue", self->name);
  else
    g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errsv),
                 "Reading from “%s” failed: %s; the device was closed",
                 self->name, g_strerror (errsv));

  g_debug ("%s", error->message);
  tun_tap_device_shut_down (self, error, TRUE);
}

static gboolean
tun_tap_device_fd_ready (GIOChannel   *channel,
                         GIOCondition  condition,
                         gpointer      user_data)
{
  TunTapDevice *self = TUN_TAP_DEVICE (user_data);
  gboolean keep = G_SOURCE_CONTINUE;
  gboolean want_one, want_many;
  GByteArray *batch = NULL;
  GArray *lengths = NULL;

  /* A handler may close or drop the last reference to the device. */
  g_object_ref (self);

  /* Asked once per wake-up, not per packet: a handler connected from a
   * handler takes effect from the next wake-up. */
  want_one = g_signal_has_handler_pending (self, signals[SIGNAL_PACKET_RECEIVED], 0, TRUE);
  want_many = g_signal_has_handler_pending (self, signals[SIGNAL_PACKETS_RECEIVED], 0, TRUE);

  for (guint i = 0; i < READ_BUDGET && self->fd >= 0; i++)
    {
      ssize_t n;
      int errsv;

      n = read (self->fd, self->buffer, TUN_TAP_READ_BUFFER_SIZE);
      if (n > 0)
        {
          GBytes *packet;

          if (want_many)
            {
              guint len = (guint) n;

              if (batch == NULL)
                {
                  batch = g_byte_array_sized_new (READ_BUDGET * 128);
                  lengths = g_array_sized_new (FALSE, FALSE, sizeof (guint), READ_BUDGET);
                }
              g_byte_array_append (batch, self->buffer, len);
              g_array_append_val (lengths, len);
            }
          if (!want_one)
            continue;
          packet = g_bytes_new (self->buffer, (gsize) n);
          g_signal_emit (self, signals[SIGNAL_PACKET_RECEIVED], 0, packet);
          g_bytes_unref (packet);

          /* The handler dropped what was the last reference but ours: the
           * device is going away, deliver nothing more. */
          if (g_atomic_int_get (&G_OBJECT (self)->ref_count) == 1)
            break;
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
          g_warning ("Reading from “%s” returned EINVAL; a packet was lost", self->name);
          continue;
        }

      tun_tap_device_broke (self, errsv);
      break;
    }

  if (batch != NULL)
    {
      GBytes *packets = g_byte_array_free_to_bytes (batch);

      /* Nothing after a close, or once the handlers dropped the device. */
      if (self->fd >= 0 && g_atomic_int_get (&G_OBJECT (self)->ref_count) > 1)
        g_signal_emit (self, signals[SIGNAL_PACKETS_RECEIVED], 0, packets, lengths);
      g_bytes_unref (packets);
      g_array_unref (lengths);
    }

  /* After deletion the fd polls as POLLERR forever, with no POLLHUP and no
   * POLLIN: ask read() why, and never return to the loop with the watch on. */
  if (self->fd >= 0 && (condition & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)))
    {
      int errsv = 0;
      guint8 probe[1];

      if (read (self->fd, probe, 0) < 0)
        errsv = errno;
      if (errsv != EAGAIN && errsv != EINTR)
        tun_tap_device_broke (self, errsv);
    }

  if (self->fd < 0)
    keep = G_SOURCE_REMOVE;

  g_object_unref (self);
  return keep;
}

/* The largest packet send() lets through. @ask_kernel: read the MTU with an
 * ioctl instead of trusting the cached one, for send()'s slow path (any
 * thread, before the monitor caught up). Pure: the caller stores it. */
static gint
tun_tap_device_compute_max_packet (TunTapDevice *self,
                                   gboolean      ask_kernel)
{
  gint overhead = self->packet_info ? TUN_TAP_PI_HEADER_SIZE : 0;
  int mtu;

  /* An IP datagram cannot be longer than 65535 bytes. */
  if (self->mode == TUN_TAP_MODE_TUN)
    return 65535 + overhead;

  mtu = ask_kernel ? 0 : (int) self->mtu;
  if (mtu <= 0)
    mtu = tun_tap_kernel_get_mtu (self->name);
  if (mtu <= 0 || mtu > 65535)
    mtu = 65535;
  /* Ethernet header plus one VLAN tag on top of the MTU. */
  return mtu + TUN_TAP_ETH_HEADER_SIZE + 4 + overhead;
}

static void
tun_tap_device_update_max_packet (TunTapDevice *self)
{
  g_atomic_int_set (&self->max_packet, tun_tap_device_compute_max_packet (self, FALSE));
}

static char *
format_hardware_address (const guint8 mac[6])
{
  return g_strdup_printf ("%02x:%02x:%02x:%02x:%02x:%02x",
                          mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

static void refresh_link (TunTapDevice *self);

/* Takes in the kernel's view of the link and notifies what changed. */
static void
tun_tap_device_apply_link (TunTapDevice         *self,
                           const TunTapLinkInfo *info)
{
  GObject *object = G_OBJECT (self);

  g_object_freeze_notify (object);

  if (info->name[0] != '\0' && g_strcmp0 (info->name, self->name) != 0)
    {
      char *old;

      /* send() may be formatting an error with the old name. */
      g_rw_lock_writer_lock (&self->fd_lock);
      old = self->name;
      self->name = g_strdup (info->name);
      g_rw_lock_writer_unlock (&self->fd_lock);
      g_free (old);
      g_object_notify_by_pspec (object, properties[PROP_NAME]);
    }

  if (info->up != self->up)
    {
      self->up = info->up;
      g_object_notify_by_pspec (object, properties[PROP_UP]);
    }

  if (info->carrier != self->carrier)
    {
      self->carrier = info->carrier;
      g_object_notify_by_pspec (object, properties[PROP_CARRIER]);
    }

  if (info->mtu != 0 && info->mtu != self->mtu)
    {
      self->mtu = info->mtu;
      tun_tap_device_update_max_packet (self);
      g_object_notify_by_pspec (object, properties[PROP_MTU]);
    }

  if (info->has_hwaddr && self->mode == TUN_TAP_MODE_TAP)
    {
      g_autofree char *mac = format_hardware_address (info->hwaddr);

      if (g_strcmp0 (mac, self->hardware_address) != 0)
        {
          char *old;

          /* Same rule as the name: replaced under the writer lock. */
          g_rw_lock_writer_lock (&self->fd_lock);
          old = self->hardware_address;
          self->hardware_address = g_steal_pointer (&mac);
          g_rw_lock_writer_unlock (&self->fd_lock);
          g_free (old);
          g_object_notify_by_pspec (object, properties[PROP_HARDWARE_ADDRESS]);
        }
    }

  if (info->is_tun)
    {
      gint64 owner = info->owner, group = info->group;

      if (info->persist != self->persistent)
        {
          self->persistent = info->persist;
          g_object_notify_by_pspec (object, properties[PROP_PERSISTENT]);
        }
      if (owner != self->owner)
        {
          self->owner = owner;
          g_object_notify_by_pspec (object, properties[PROP_OWNER]);
        }
      if (group != self->group)
        {
          self->group = group;
          g_object_notify_by_pspec (object, properties[PROP_GROUP]);
        }
    }

  g_object_thaw_notify (object);
}

static void
tun_tap_device_link_changed (const TunTapLinkInfo *info,
                             gboolean              deleted,
                             gpointer              user_data)
{
  TunTapDevice *self = TUN_TAP_DEVICE (user_data);

  if (self->fd < 0)
    return;

  if (deleted)
    {
      /* Moving the interface to another network namespace also sends
       * RTM_DELLINK here, but the fd stays attached and working: only a
       * detached fd (EBADFD) means the interface is gone. We can no longer
       * see or configure the link from this namespace, so stop following
       * it. */
      if (tun_tap_kernel_is_attached (self->fd))
        {
          g_debug ("“%s” left this network namespace; packets still flow", self->name);
          tun_tap_netlink_monitor_remove_watch (self->monitor, self->monitor_watch);
          self->monitor_watch = 0;
          self->ifindex = 0;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IFINDEX]);
          return;
        }

      /* The fd's POLLERR says the same; whichever comes first closes. */
      g_object_ref (self);
      tun_tap_device_broke (self, EBADFD);
      g_object_unref (self);
      return;
    }

  /* Events can be older than what a set_*() call already read back; take
   * the kernel's current state so properties never flip back and forth. */
  refresh_link (self);
}

static void
tun_tap_device_addresses_changed (gpointer user_data)
{
  TunTapDevice *self = TUN_TAP_DEVICE (user_data);

  if (self->fd >= 0)
    g_signal_emit (self, signals[SIGNAL_ADDRESSES_CHANGED], 0);
}

/* Subscribes to the context's rtnetlink monitor first, then reads the
 * link, so no change can fall between the two. Without rtnetlink the
 * device still moves packets; only the link properties stay unknown. */
static void
tun_tap_device_start_link_monitor (TunTapDevice *self,
                                   gboolean      adopted)
{
  g_autoptr(GError) error = NULL;
  TunTapLinkInfo info;

  self->ifindex = (int) if_nametoindex (self->name);
  if (self->ifindex <= 0)
    {
      g_debug ("“%s” has no ifindex in this network namespace", self->name);
      return;
    }

  self->monitor = tun_tap_netlink_monitor_get_for_context (self->context, &error);
  if (self->monitor == NULL)
    g_debug ("No rtnetlink monitor for “%s”: %s", self->name, error->message);
  else
    self->monitor_watch =
      tun_tap_netlink_monitor_add_watch (self->monitor, self->ifindex,
                                         tun_tap_device_link_changed,
                                         tun_tap_device_addresses_changed,
                                         self);
  g_clear_error (&error);

  if (!tun_tap_netlink_get_link (self->ifindex, &info, &error))
    {
      g_debug ("Cannot read the link of “%s”: %s", self->name, error->message);
      return;
    }

  /* TUNGETIFF cannot tell packet information from IFF_NOFILTER, and a
   * queue added to an existing multi-queue device silently keeps the
   * device's framing whatever it asked for; the link's tun attributes
   * tell the truth in both cases. */
  if (info.is_tun)
    {
      if (!adopted && !info.pi != !self->packet_info)
        g_debug ("“%s” keeps packet information %s, as the kernel set it up",
                 self->name, info.pi ? "on" : "off");
      self->packet_info = info.pi;
    }

  if (info.is_tun)
    self->multi_queue = info.multi_queue;

  /* The same path as every later change: a handler connected before
   * g_initable_init() hears about values that differ from the defaults. */
  tun_tap_device_apply_link (self, &info);
}

/* EPERM from TUNSETIFF on an existing device: say who owns it. */
static void
explain_permission_denied (TunTapDevice *self)
{
  TunTapLinkInfo info;
  int ifindex;
  const char *kind;
  g_autofree char *owner = NULL;
  g_autofree char *rule = NULL;
  GError *error = self->init_error;

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) ||
      self->name == NULL || strchr (self->name, '%') != NULL)
    return;

  /* Refused at open(), before the device was even asked: that message
   * (node permissions, the udev rule) is the one that helps. */
  if (faccessat (AT_FDCWD, TUN_TAP_CLONE_DEVICE, R_OK | W_OK, AT_EACCESS) != 0)
    return;

  ifindex = (int) if_nametoindex (self->name);
  if (ifindex <= 0 || !tun_tap_netlink_get_link (ifindex, &info, NULL) || !info.is_tun)
    return;

  kind = info.tun_type == IFF_TAP ? "tap" : "tun";
  /* The kernel's rule: the owner, if set, must be the effective uid, and
   * the group, if set, one of the process's groups. */
  if (info.owner >= 0 && info.group >= 0)
    {
      owner = g_strdup_printf ("owned by uid %" G_GINT64_FORMAT " and gid %" G_GINT64_FORMAT,
                               info.owner, info.group);
      rule = g_strdup ("runs as that uid and is in that group");
    }
  else if (info.owner >= 0)
    {
      owner = g_strdup_printf ("owned by uid %" G_GINT64_FORMAT " and no group", info.owner);
      rule = g_strdup ("runs as that uid");
    }
  else if (info.group >= 0)
    {
      owner = g_strdup_printf ("owned by no user and gid %" G_GINT64_FORMAT, info.group);
      rule = g_strdup ("is in that group");
    }
  else
    {
      owner = g_strdup ("owned by no user and no group");
      rule = g_strdup ("has CAP_NET_ADMIN (this kernel refuses everybody else)");
    }

  g_free (error->message);
  error->message =
    g_strdup_printf ("Cannot attach to %s device “%s”: it is %s, and a process without "
                     "CAP_NET_ADMIN may attach only if it %s; this process is uid %u, "
                     "gid %u. Run it as the owner (or in the group), or have an "
                     "administrator recreate the device for this user "
                     "(ip tuntap del dev %s mode %s; ip tuntap add dev %s mode %s user %u)",
                     info.tun_type == IFF_TAP ? "TAP" : "TUN", self->name, owner, rule,
                     (guint) geteuid (), (guint) getegid (),
                     self->name, kind, self->name, kind, (guint) geteuid ());
}

static gboolean
tun_tap_device_initable_init (GInitable     *initable,
                              GCancellable  *cancellable,
                              GError       **error)
{
  TunTapDevice *self = TUN_TAP_DEVICE (initable);
  TunTapKernelInfo info;
  int fd;

  if (self->initialized)
    {
      if (self->init_error != NULL)
        {
          g_propagate_error (error, g_error_copy (self->init_error));
          return FALSE;
        }
      return TRUE;
    }
  self->initialized = TRUE;

  if (g_cancellable_set_error_if_cancelled (cancellable, &self->init_error))
    goto fail;

  if (self->adopt_fd >= 0)
    {
      if (!tun_tap_kernel_adopt (self->adopt_fd, &info, &self->init_error))
        goto fail;
      fd = self->adopt_fd;
    }
  else
    {
      TunTapKernelOptions options = {
        .packet_info = self->packet_info,
        .multi_queue = self->multi_queue,
        .exclusive = self->exclusive,
        .persistent = self->persistent,
        .owner = self->owner,
        .group = self->group,
      };

      fd = tun_tap_kernel_open (self->name, self->mode, &options,
                                &info, &self->init_error);
      if (fd < 0)
        {
          explain_permission_denied (self);
          goto fail;
        }
    }

  g_free (self->name);
  self->name = g_strdup (info.name);
  self->mode = info.mode;
  self->packet_info = info.packet_info;
  self->multi_queue = info.multi_queue;
  self->queue_enabled = info.queue_enabled;
  self->fd = fd;
  self->buffer = g_malloc (TUN_TAP_READ_BUFFER_SIZE);

  tun_tap_device_start_link_monitor (self, self->adopt_fd >= 0);
  tun_tap_device_update_max_packet (self);

  self->channel = g_io_channel_unix_new (fd);
  g_io_channel_set_close_on_unref (self->channel, FALSE);
  g_io_channel_set_encoding (self->channel, NULL, NULL);
  g_io_channel_set_buffered (self->channel, FALSE);

  self->watch = g_io_create_watch (self->channel, G_IO_IN | G_IO_ERR | G_IO_HUP | G_IO_NVAL);
  g_source_set_callback (self->watch, G_SOURCE_FUNC (tun_tap_device_fd_ready), self, NULL);
  g_source_set_static_name (self->watch, "[tuntap-glib] device watch");
  g_source_attach (self->watch, self->context);

  g_debug ("Opened %s device “%s” on fd %d",
           self->mode == TUN_TAP_MODE_TAP ? "TAP" : "TUN", self->name, fd);
  return TRUE;

fail:
  g_propagate_error (error, g_error_copy (self->init_error));
  return FALSE;
}

static void
tun_tap_device_initable_iface_init (GInitableIface *iface)
{
  iface->init = tun_tap_device_initable_init;
}

static void
tun_tap_device_dispose (GObject *object)
{
  TunTapDevice *self = TUN_TAP_DEVICE (object);

  /* No ::closed from dispose: nobody can hold the object any more. */
  tun_tap_device_shut_down (self, NULL, FALSE);

  G_OBJECT_CLASS (tun_tap_device_parent_class)->dispose (object);
}

static void
tun_tap_device_finalize (GObject *object)
{
  TunTapDevice *self = TUN_TAP_DEVICE (object);

  g_free (self->name);
  g_free (self->hardware_address);
  g_clear_error (&self->init_error);
  g_main_context_unref (self->context);
  g_rw_lock_clear (&self->fd_lock);

  G_OBJECT_CLASS (tun_tap_device_parent_class)->finalize (object);
}

static void
tun_tap_device_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  TunTapDevice *self = TUN_TAP_DEVICE (object);

  switch ((TunTapDeviceProperty) prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_PACKET_INFO:
      g_value_set_boolean (value, self->packet_info);
      break;
    case PROP_FD:
      g_value_set_int (value, tun_tap_device_get_fd (self));
      break;
    case PROP_CLOSED:
      g_value_set_boolean (value, tun_tap_device_is_closed (self));
      break;
    case PROP_PERSISTENT:
      g_value_set_boolean (value, self->persistent);
      break;
    case PROP_EXCLUSIVE:
      g_value_set_boolean (value, self->exclusive);
      break;
    case PROP_MULTI_QUEUE:
      g_value_set_boolean (value, self->multi_queue);
      break;
    case PROP_QUEUE_ENABLED:
      g_value_set_boolean (value, self->queue_enabled);
      break;
    case PROP_OWNER:
      g_value_set_int64 (value, self->owner);
      break;
    case PROP_GROUP:
      g_value_set_int64 (value, self->group);
      break;
    case PROP_IFINDEX:
      g_value_set_int (value, self->ifindex);
      break;
    case PROP_UP:
      g_value_set_boolean (value, self->up);
      break;
    case PROP_CARRIER:
      g_value_set_boolean (value, self->carrier);
      break;
    case PROP_MTU:
      g_value_set_uint (value, self->mtu);
      break;
    case PROP_HARDWARE_ADDRESS:
      g_value_set_string (value, self->hardware_address);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
tun_tap_device_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  TunTapDevice *self = TUN_TAP_DEVICE (object);

  switch ((TunTapDeviceProperty) prop_id)
    {
    case PROP_NAME:
      g_free (self->name);
      self->name = g_value_dup_string (value);
      break;
    case PROP_MODE:
      self->mode = g_value_get_enum (value);
      break;
    case PROP_PACKET_INFO:
      self->packet_info = g_value_get_boolean (value);
      break;
    case PROP_FD:
      self->adopt_fd = g_value_get_int (value);
      break;
    case PROP_PERSISTENT:
      self->persistent = g_value_get_boolean (value);
      break;
    case PROP_EXCLUSIVE:
      self->exclusive = g_value_get_boolean (value);
      break;
    case PROP_MULTI_QUEUE:
      self->multi_queue = g_value_get_boolean (value);
      break;
    case PROP_OWNER:
      self->owner = g_value_get_int64 (value);
      break;
    case PROP_GROUP:
      self->group = g_value_get_int64 (value);
      break;
    case PROP_QUEUE_ENABLED:
      {
        g_autoptr(GError) error = NULL;
        if (!tun_tap_device_set_queue_enabled (self, g_value_get_boolean (value), &error))
          g_warning ("%s", error->message);
      }
      break;
    case PROP_HARDWARE_ADDRESS:
      {
        g_autoptr(GError) error = NULL;
        if (!tun_tap_device_set_hardware_address (self, g_value_get_string (value), &error))
          g_warning ("%s", error->message);
      }
      break;
    case PROP_CLOSED:
    case PROP_IFINDEX:
    case PROP_UP:
    case PROP_CARRIER:
    case PROP_MTU:
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
tun_tap_device_class_init (TunTapDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tun_tap_device_dispose;
  object_class->finalize = tun_tap_device_finalize;
  object_class->get_property = tun_tap_device_get_property;
  object_class->set_property = tun_tap_device_set_property;

  /**
   * TunTapDevice:name:
   *
   * The interface name. At construction: the name to create or attach to,
   * a template with one `%d` (such as `"vpn%d"`) for the kernel to fill
   * in, or %NULL for `tun%d`/`tap%d`. Once initialised: the name the kernel
   * gave the interface.
   *
   * Since: 0.1
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:mode:
   *
   * Whether the device is a TUN (IP packets) or a TAP (Ethernet frames)
   * device. For a device adopted with [ctor@TunTap.Device.new_for_fd] this is
   * what the kernel reports.
   *
   * Since: 0.1
   */
  properties[PROP_MODE] =
    g_param_spec_enum ("mode", NULL, NULL,
                       TUN_TAP_TYPE_MODE, TUN_TAP_MODE_TUN,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                       G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:packet-info:
   *
   * Whether every packet, received and sent, starts with the kernel's
   * 4-byte packet-information header (`struct tun_pi`). %FALSE by default,
   * which is what almost every program wants.
   *
   * Once initialised it reads what the kernel uses, which can differ from
   * what was asked: a further queue of an existing multi-queue interface
   * keeps that interface's framing, and an adopted file descriptor keeps
   * its own.
   *
   * Since: 0.1
   */
  properties[PROP_PACKET_INFO] =
    g_param_spec_boolean ("packet-info", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:fd:
   *
   * The file descriptor of the device, or -1 once it is closed. Set at
   * construction to adopt an already attached TUN/TAP file descriptor;
   * see [ctor@TunTap.Device.new_for_fd].
   *
   * Since: 0.1
   */
  properties[PROP_FD] =
    g_param_spec_int ("fd", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                      G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:closed:
   *
   * Whether the device no longer works: it was closed with
   * [method@TunTap.Device.close], or its interface was deleted or broke.
   *
   * Since: 0.1
   */
  properties[PROP_CLOSED] =
    g_param_spec_boolean ("closed", NULL, NULL, FALSE,
                          G_PARAM_READABLE |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:persistent:
   *
   * Whether the interface outlives the device's file descriptor. At
   * construction: make the interface persistent. A persistent interface
   * the library creates is always given an owner (by default the calling
   * uid), so it is never left open to every user. Attaching to an existing
   * persistent interface never clears its persistence; once initialised the
   * property reads what the kernel says. Change it with
   * [method@TunTap.Device.set_persistent].
   *
   * Since: 0.1
   */
  properties[PROP_PERSISTENT] =
    g_param_spec_boolean ("persistent", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:exclusive:
   *
   * Create the interface, never attach to an existing one: construction
   * fails with %G_IO_ERROR_EXISTS when the name is taken.
   *
   * Since: 0.1
   */
  properties[PROP_EXCLUSIVE] =
    g_param_spec_boolean ("exclusive", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:multi-queue:
   *
   * Open one queue of a multi-queue interface. Every `TunTapDevice` with
   * this set and the same name is one more queue of the same interface;
   * the kernel spreads flows over the queues.
   *
   * Since: 0.1
   */
  properties[PROP_MULTI_QUEUE] =
    g_param_spec_boolean ("multi-queue", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:queue-enabled:
   *
   * Whether this queue of a multi-queue interface takes traffic. Setting
   * it to %FALSE detaches the queue so the kernel steers every flow to the
   * other queues. See [method@TunTap.Device.set_queue_enabled].
   *
   * Since: 0.1
   */
  properties[PROP_QUEUE_ENABLED] =
    g_param_spec_boolean ("queue-enabled", NULL, NULL, TRUE,
                          G_PARAM_READWRITE |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:owner:
   *
   * The uid allowed to attach to the interface without CAP_NET_ADMIN, or
   * -1 for none. At construction: applied when the library creates the
   * interface. Once initialised: what the kernel says.
   *
   * Since: 0.1
   */
  properties[PROP_OWNER] =
    g_param_spec_int64 ("owner", NULL, NULL, -1, G_MAXUINT32, -1,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:group:
   *
   * The gid whose members may attach to the interface without
   * CAP_NET_ADMIN, or -1 for none; like [property@TunTap.Device:owner].
   *
   * Since: 0.1
   */
  properties[PROP_GROUP] =
    g_param_spec_int64 ("group", NULL, NULL, -1, G_MAXUINT32, -1,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:ifindex:
   *
   * The interface index, which stays the same when the interface is
   * renamed; 0 if unknown.
   *
   * Since: 0.1
   */
  properties[PROP_IFINDEX] =
    g_param_spec_int ("ifindex", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READABLE |
                      G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:up:
   *
   * Whether the link is administratively up. Follows changes made by any
   * program; see [method@TunTap.Device.set_up].
   *
   * Since: 0.1
   */
  properties[PROP_UP] =
    g_param_spec_boolean ("up", NULL, NULL, FALSE,
                          G_PARAM_READABLE |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:carrier:
   *
   * Whether the kernel sees a carrier on the link. See
   * [method@TunTap.Device.set_carrier].
   *
   * Since: 0.1
   */
  properties[PROP_CARRIER] =
    g_param_spec_boolean ("carrier", NULL, NULL, FALSE,
                          G_PARAM_READABLE |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:mtu:
   *
   * The link's MTU. Follows changes made by any program; see
   * [method@TunTap.Device.set_mtu].
   *
   * Since: 0.1
   */
  properties[PROP_MTU] =
    g_param_spec_uint ("mtu", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE |
                       G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:hardware-address:
   *
   * The MAC address of a TAP device as a string like
   * `02:00:00:00:00:01`; %NULL on a TUN device, which has none. Setting it
   * calls [method@TunTap.Device.set_hardware_address].
   *
   * Since: 0.1
   */
  properties[PROP_HARDWARE_ADDRESS] =
    g_param_spec_string ("hardware-address", NULL, NULL, NULL,
                         G_PARAM_READWRITE |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, G_N_ELEMENTS (properties), properties);

  /**
   * TunTapDevice::packet-received:
   * @self: the device
   * @packet: the packet, as the kernel handed it over
   *
   * Emitted for every packet the kernel routes into the interface, in the
   * main context the device was constructed in. @packet is an IP datagram
   * (TUN) or an Ethernet frame (TAP), preceded by a 4-byte header when
   * [property@TunTap.Device:packet-info] is set. Keep a reference to
   * @packet if you need it after the handler returns.
   *
   * It is safe to close the device or drop the last reference to it from
   * a handler; no further packets are delivered then. While neither this
   * signal nor [signal@TunTap.Device::packets-received] has a handler,
   * packets are still read (so the kernel's queue never fills) and
   * discarded.
   *
   * Since: 0.1
   */
  signals[SIGNAL_PACKET_RECEIVED] =
    g_signal_new ("packet-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1,
                  G_TYPE_BYTES | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * TunTapDevice::packets-received:
   * @self: the device
   * @packets: the packets read in one main-loop wake-up, back to back,
   *   oldest first
   * @lengths: (element-type guint): the length of each packet in @packets
   *
   * Like [signal@TunTap.Device::packet-received], but emitted once per
   * main-loop wake-up with every packet read in it (at most 64), stored one
   * after the other in @packets. Meant for bindings, where crossing into
   * the language costs more than the packet: with
   * [method@TunTap.Device.send_many], a Python or gjs echo crosses twice
   * per batch instead of twice per packet.
   *
   * When both signals are connected, ::packet-received is emitted for each
   * packet first. No batch is emitted once the device was closed.
   *
   * Since: 0.1
   */
  signals[SIGNAL_PACKETS_RECEIVED] =
    g_signal_new ("packets-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2,
                  G_TYPE_BYTES | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_ARRAY | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * TunTapDevice::closed:
   * @self: the device
   * @error: (nullable): %NULL when closed with [method@TunTap.Device.close],
   *   otherwise why the device stopped working; %G_IO_ERROR_NO_SUCH_DEVICE
   *   when the interface was deleted
   *
   * Emitted exactly once, when the device stops working. After it, sends
   * fail with %G_IO_ERROR_CLOSED and no more packets arrive. It is not
   * emitted when the last reference is dropped without closing first.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1,
                  G_TYPE_ERROR);

  /**
   * TunTapDevice::addresses-changed:
   * @self: the device
   *
   * Emitted when an address is added to or removed from the interface, by
   * this program or any other; several changes that arrive together give
   * one emission. Call [method@TunTap.Device.get_addresses] for the
   * current list.
   *
   * Since: 0.1
   */
  signals[SIGNAL_ADDRESSES_CHANGED] =
    g_signal_new ("addresses-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
tun_tap_device_init (TunTapDevice *self)
{
  self->fd = -1;
  self->adopt_fd = -1;
  self->mode = TUN_TAP_MODE_TUN;
  self->owner = -1;
  self->group = -1;
  self->queue_enabled = TRUE;
  self->context = g_main_context_ref_thread_default ();
  g_rw_lock_init (&self->fd_lock);
}

/**
 * tun_tap_device_new:
 * @name: (nullable): the interface name, a template with one `%d`, or
 *   %NULL to let the kernel choose `tun0`, `tap0`, ...
 * @mode: TUN or TAP
 * @error: return location for a #GError
 *
 * Creates the interface @name, or attaches to it if it is an existing
 * persistent TUN/TAP device, and starts watching it in the thread-default
 * main context.
 *
 * Errors are in the %G_IO_ERROR domain: %G_IO_ERROR_INVALID_ARGUMENT for a
 * name Linux would refuse or silently shorten (16 bytes or more, empty,
 * containing `/`, `:` or white space, a `%` other than one `%d`),
 * %G_IO_ERROR_BUSY when the device is already open, in this process or another,
 * %G_IO_ERROR_EXISTS when an interface of that name exists and is not a
 * TUN/TAP device of this mode, %G_IO_ERROR_PERMISSION_DENIED without
 * CAP_NET_ADMIN or access to `/dev/net/tun`, and %G_IO_ERROR_NOT_FOUND when
 * the kernel has no TUN driver.
 *
 * Returns: (transfer full): the new device, or %NULL on error
 *
 * Since: 0.1
 */
TunTapDevice *
tun_tap_device_new (const char  *name,
                    TunTapMode   mode,
                    GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (mode != TUN_TAP_MODE_TUN && mode != TUN_TAP_MODE_TAP)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Unknown TunTapMode %d for “%s”; use TUN_TAP_MODE_TUN or "
                   "TUN_TAP_MODE_TAP", (int) mode, name ? name : "(any)");
      return NULL;
    }

  return g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, error,
                         "name", name,
                         "mode", mode,
                         NULL);
}

/**
 * tun_tap_device_new_for_fd:
 * @fd: a file descriptor of `/dev/net/tun` already attached to an interface
 * @error: return location for a #GError
 *
 * Wraps a TUN/TAP file descriptor opened elsewhere, for example by a
 * privileged helper that passed it over a Unix socket. The name and mode
 * are learnt from the kernel.
 *
 * On success the device owns @fd (it is made non-blocking and
 * close-on-exec, and closed with the device). If @fd is not an attached
 * TUN/TAP descriptor, %G_IO_ERROR_INVALID_ARGUMENT is returned and @fd is
 * left open for the caller.
 *
 * Returns: (transfer full): the new device, or %NULL on error
 *
 * Since: 0.1
 */
TunTapDevice *
tun_tap_device_new_for_fd (int      fd,
                           GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "File descriptor %d is not valid; pass an open TUN/TAP file "
                   "descriptor", fd);
      return NULL;
    }

  return g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, error, "fd", fd, NULL);
}

/**
 * tun_tap_device_get_name:
 * @self: a device
 *
 * Gets the name the kernel gave the interface.
 *
 * Returns: (transfer none) (nullable): the interface name, or %NULL if
 *   the device was never initialised
 *
 * Since: 0.1
 */
const char *
tun_tap_device_get_name (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), NULL);

  return self->name;
}

/**
 * tun_tap_device_get_mode:
 * @self: a device
 *
 * Gets whether this is a TUN or a TAP device.
 *
 * Returns: the mode
 *
 * Since: 0.1
 */
TunTapMode
tun_tap_device_get_mode (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), TUN_TAP_MODE_TUN);

  return self->mode;
}

/**
 * tun_tap_device_get_packet_info:
 * @self: a device
 *
 * Gets whether packets carry the 4-byte packet-information header.
 *
 * Returns: the value of [property@TunTap.Device:packet-info]
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_get_packet_info (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  return self->packet_info;
}

/**
 * tun_tap_device_get_fd:
 * @self: a device
 *
 * Gets the device's file descriptor, for example to pass it to another
 * process. The device keeps owning it: do not close it, and do not read
 * from it while the device is watching it.
 *
 * Returns: the file descriptor, or -1 once the device is closed
 *
 * Since: 0.1
 */
int
tun_tap_device_get_fd (TunTapDevice *self)
{
  int fd;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), -1);

  g_rw_lock_reader_lock (&self->fd_lock);
  fd = self->fd;
  g_rw_lock_reader_unlock (&self->fd_lock);
  return fd;
}

/* The name, safe to use from any thread (a rename replaces it). */
static char *
dup_name (TunTapDevice *self)
{
  char *name;

  g_rw_lock_reader_lock (&self->fd_lock);
  name = g_strdup (self->name ? self->name : "(unnamed)");
  g_rw_lock_reader_unlock (&self->fd_lock);
  return name;
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
 * %G_IO_ERROR_NETWORK_UNREACHABLE while the link is down,
 * %G_IO_ERROR_INVALID_ARGUMENT for an empty packet,
 * %G_IO_ERROR_INVALID_DATA when the packet is not what the device takes
 * (not IPv4/IPv6 on a TUN device, shorter than an Ethernet header on a TAP
 * device, a packet-information header with flags or an EtherType that does
 * not match the packet),
 * %G_IO_ERROR_MESSAGE_TOO_LARGE when the packet is larger than the device
 * can take, %G_IO_ERROR_WOULD_BLOCK when the kernel has no buffer space
 * (try again later). In every error case nothing was sent.
 *
 * May be called from any thread.
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
  gboolean ok = FALSE;
  ssize_t n;
  int errsv = 0;
  gint max;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Everything under the reader lock, name included: close() and a rename
   * (the owning thread) take the writer lock before changing either. */
  g_rw_lock_reader_lock (&self->fd_lock);
  name = self->name ? self->name : "(unnamed)";

  if (len == 0 || data == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot send an empty packet on “%s”", name);
      goto out;
    }

  if (!tun_tap_kernel_check_packet (self->mode, self->packet_info, data, len, name, error))
    goto out;

  if (self->fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   "Cannot send on “%s”: the device is closed; create a new device", name);
      goto out;
    }

  /* The MTU may have been raised since we last looked: ask again, on this
   * slow path only, so the fast path costs no extra syscall. */
  max = g_atomic_int_get (&self->max_packet);
  if (len > (gsize) max)
    max = tun_tap_device_compute_max_packet (self, TRUE);
  if (len > (gsize) max)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "Cannot send a %" G_GSIZE_FORMAT "-byte packet on “%s”: the device "
                   "takes at most %d bytes; raise the MTU or split the packet",
                   len, name, max);
      goto out;
    }

  n = tun_tap_kernel_write (self->fd, data, len, &errsv);
  if (n < 0)
    {
      tun_tap_kernel_set_io_error (error, errsv, name, "send a packet");
      goto out;
    }
  ok = TRUE;

out:
  g_rw_lock_reader_unlock (&self->fd_lock);
  if (!ok)
    return FALSE;

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
 * @n_sent: (out) (optional): return location for the number of packets
 *   sent, all of them on success
 * @error: return location for a #GError
 *
 * Sends @n_packets packets stored one after the other in @data, each as
 * [method@TunTap.Device.send] would (one write(2) per packet), in one
 * call: the counterpart of [signal@TunTap.Device::packets-received].
 * Stops at the first packet that cannot be sent, with its error; @n_sent
 * says how many went before it. Bindings that raise the error drop
 * @n_sent, so the message of such an error starts with “Packet N of M: ”
 * (N−1 packets went; that prefix is stable), and an error without it means
 * nothing was sent. %G_IO_ERROR_INVALID_ARGUMENT,
 * before anything is sent, when the lengths do not add up to @len;
 * %G_IO_ERROR_CLOSED on a closed device, even for an empty batch.
 *
 * May be called from any thread.
 *
 * Returns: %TRUE if every packet was sent
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_send_many (TunTapDevice  *self,
                          const guint8  *data,
                          gsize          len,
                          const guint   *lengths,
                          guint          n_packets,
                          guint         *n_sent,
                          GError       **error)
{
  gsize total = 0, offset = 0;
  g_autofree char *name = NULL;

  if (n_sent != NULL)
    *n_sent = 0;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The name is copied only for an error: this is the bindings' hot path. */
  if (n_packets > 0 && lengths == NULL)
    {
      name = dup_name (self);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot send %u packets on “%s” without their lengths",
                   n_packets, name);
      return FALSE;
    }
  if (tun_tap_device_get_fd (self) < 0)
    {
      name = dup_name (self);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   "Cannot send on “%s”: the device is closed; create a new device", name);
      return FALSE;
    }

  for (guint i = 0; i < n_packets; i++)
    total += lengths[i];
  if (total != len)
    {
      name = dup_name (self);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot send %u packets on “%s”: their lengths add up to %"
                   G_GSIZE_FORMAT " bytes, the buffer holds %" G_GSIZE_FORMAT,
                   n_packets, name, total, len);
      return FALSE;
    }

  for (guint i = 0; i < n_packets; i++)
    {
      if (!tun_tap_device_send (self, data + offset, lengths[i], error))
        {
          g_prefix_error (error, "Packet %u of %u: ", i + 1, n_packets);
          return FALSE;
        }
      offset += lengths[i];
      if (n_sent != NULL)
        *n_sent = i + 1;
    }
  return TRUE;
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
      g_autofree char *name = dup_name (self);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot send an empty packet on “%s”", name);
      return FALSE;
    }

  data = g_bytes_get_data (packet, &len);
  return tun_tap_device_send (self, data, len, error);
}

/**
 * tun_tap_device_close:
 * @self: a device
 *
 * Stops watching the device and closes its file descriptor. A device that
 * is not persistent disappears from the system. Emits
 * [signal@TunTap.Device::closed] with a %NULL error, unless the device was
 * already closed, in which case this does nothing.
 *
 * Safe to call from a [signal@TunTap.Device::packet-received] handler.
 *
 * Since: 0.1
 */
void
tun_tap_device_close (TunTapDevice *self)
{
  g_return_if_fail (TUN_TAP_IS_DEVICE (self));

  tun_tap_device_shut_down (self, NULL, TRUE);
}

/**
 * tun_tap_device_is_closed:
 * @self: a device
 *
 * Gets whether the device no longer works, because it was closed or its
 * interface went away.
 *
 * Returns: %TRUE if the device is closed
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_is_closed (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), TRUE);

  return tun_tap_device_get_fd (self) < 0;
}

/* Link configuration needs a live device whose interface we can see. */
static gboolean
check_configurable (TunTapDevice  *self,
                    const char    *what,
                    GError       **error)
{
  if (self->fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   "Cannot %s on “%s”: the device is closed; create a new device",
                   what, self->name ? self->name : "(unnamed)");
      return FALSE;
    }
  if (self->ifindex <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "Cannot %s on “%s”: the interface is not in this process’s "
                   "network namespace", what, self->name);
      return FALSE;
    }
  return TRUE;
}

/* Reads the link back right after a change, so getters agree with the
 * kernel as soon as the call returns (the monitor's event follows later). */
static void
refresh_link (TunTapDevice *self)
{
  TunTapLinkInfo info;

  if (self->ifindex > 0 && tun_tap_netlink_get_link (self->ifindex, &info, NULL))
    tun_tap_device_apply_link (self, &info);
}

/**
 * tun_tap_device_get_ifindex:
 * @self: a device
 *
 * Gets the interface index.
 *
 * Returns: the ifindex, or 0 if unknown
 *
 * Since: 0.1
 */
int
tun_tap_device_get_ifindex (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), 0);

  return self->ifindex;
}

/**
 * tun_tap_device_get_up:
 * @self: a device
 *
 * Gets whether the link is administratively up.
 *
 * Returns: the value of [property@TunTap.Device:up]
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_get_up (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  return self->up;
}

/**
 * tun_tap_device_set_up:
 * @self: a device
 * @up: %TRUE to bring the link up, %FALSE to take it down
 * @error: return location for a #GError
 *
 * Brings the link up or down, in-process through rtnetlink. Needs
 * CAP_NET_ADMIN (%G_IO_ERROR_PERMISSION_DENIED otherwise; packet I/O keeps
 * working).
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_set_up (TunTapDevice  *self,
                       gboolean       up,
                       GError       **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_configurable (self, up ? "bring the link up" : "take the link down", error) ||
      !tun_tap_netlink_set_up (self->ifindex, self->name, up, error))
    return FALSE;

  refresh_link (self);
  return TRUE;
}

/**
 * tun_tap_device_get_mtu:
 * @self: a device
 *
 * Gets the link's MTU.
 *
 * Returns: the MTU, or 0 if unknown
 *
 * Since: 0.1
 */
guint
tun_tap_device_get_mtu (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), 0);

  return self->mtu;
}

/**
 * tun_tap_device_set_mtu:
 * @self: a device
 * @mtu: the new MTU: 68 to 65535 on TUN, 68 to 65521 on TAP
 * @error: return location for a #GError
 *
 * Sets the link's MTU. Values the kernel would refuse give
 * %G_IO_ERROR_INVALID_ARGUMENT.
 *
 * Beware: an MTU below 1280 makes the kernel delete every IPv6 address of
 * the interface, and raising it again does not bring them back.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_set_mtu (TunTapDevice  *self,
                        guint          mtu,
                        GError       **error)
{
  guint max;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  max = self->mode == TUN_TAP_MODE_TAP ? 65535 - TUN_TAP_ETH_HEADER_SIZE : 65535;
  if (mtu < 68 || mtu > max)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot set the MTU of “%s” to %u: a %s device takes 68 to %u",
                   self->name ? self->name : "(unnamed)", mtu,
                   self->mode == TUN_TAP_MODE_TAP ? "TAP" : "TUN", max);
      return FALSE;
    }

  if (!check_configurable (self, "set the MTU", error) ||
      !tun_tap_netlink_set_mtu (self->ifindex, self->name, mtu, error))
    return FALSE;

  refresh_link (self);
  return TRUE;
}

/**
 * tun_tap_device_get_carrier:
 * @self: a device
 *
 * Gets whether the kernel sees a carrier on the link.
 *
 * Returns: the value of [property@TunTap.Device:carrier]
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_get_carrier (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  return self->carrier;
}

/**
 * tun_tap_device_set_carrier:
 * @self: a device
 * @carrier: %FALSE to make the kernel report NO-CARRIER
 * @error: return location for a #GError
 *
 * Switches the link's carrier, as a VPN client does while its tunnel is
 * not established. Needs no capability: it acts on the device's file
 * descriptor. %G_IO_ERROR_NOT_SUPPORTED on kernels without TUNSETCARRIER.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_set_carrier (TunTapDevice  *self,
                            gboolean       carrier,
                            GError       **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_configurable (self, "change the carrier", error) ||
      !tun_tap_kernel_set_carrier (self->fd, self->name, carrier, error))
    return FALSE;

  refresh_link (self);
  return TRUE;
}

/**
 * tun_tap_device_get_hardware_address:
 * @self: a device
 *
 * Gets the MAC address of a TAP device.
 *
 * Returns: (nullable): the address as `xx:xx:xx:xx:xx:xx`, or %NULL on a
 *   TUN device
 *
 * Since: 0.1
 */
const char *
tun_tap_device_get_hardware_address (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), NULL);

  return self->hardware_address;
}

static gboolean
parse_hardware_address (const char *text,
                        guint8      mac[6])
{
  for (int i = 0; i < 6; i++)
    {
      int hi, lo;

      if (text[0] == '\0' || text[1] == '\0')
        return FALSE;
      hi = g_ascii_xdigit_value (text[0]);
      lo = g_ascii_xdigit_value (text[1]);
      if (hi < 0 || lo < 0)
        return FALSE;
      mac[i] = (guint8) (hi << 4 | lo);
      text += 2;
      if (i < 5 && *text++ != ':')
        return FALSE;
    }
  return *text == '\0';
}

/**
 * tun_tap_device_set_hardware_address:
 * @self: a device
 * @address: a unicast MAC address such as `02:00:00:00:00:01`
 * @error: return location for a #GError
 *
 * Sets the MAC address of a TAP device. %G_IO_ERROR_NOT_SUPPORTED on a TUN
 * device, %G_IO_ERROR_INVALID_ARGUMENT for a malformed, multicast or
 * all-zero address.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_set_hardware_address (TunTapDevice  *self,
                                     const char    *address,
                                     GError       **error)
{
  guint8 mac[6];
  static const guint8 zero[6] = { 0 };

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->mode != TUN_TAP_MODE_TAP)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Cannot set a hardware address on “%s”: a TUN device has no link "
                   "layer; use a TAP device", self->name ? self->name : "(unnamed)");
      return FALSE;
    }

  if (address == NULL || !parse_hardware_address (address, mac) ||
      (mac[0] & 1) != 0 || memcmp (mac, zero, 6) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot set the hardware address of “%s” to “%s”: give a unicast "
                   "MAC address as six hex pairs, like “02:00:00:00:00:01”",
                   self->name ? self->name : "(unnamed)", address ? address : "(null)");
      return FALSE;
    }

  if (!check_configurable (self, "set the hardware address", error) ||
      !tun_tap_netlink_set_hwaddr (self->ifindex, self->name, mac, error))
    return FALSE;

  refresh_link (self);
  return TRUE;
}

static gboolean
check_address_family (TunTapDevice     *self,
                      GInetAddressMask *address,
                      GInetAddress     *other,
                      const char       *what,
                      GError          **error)
{
  if (address == NULL || !G_IS_INET_ADDRESS_MASK (address))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot %s on “%s”: no address given",
                   what, self->name ? self->name : "(unnamed)");
      return FALSE;
    }
  if (other != NULL &&
      g_inet_address_get_family (other) != g_inet_address_mask_get_family (address))
    {
      g_autofree char *a = g_inet_address_mask_to_string (address);
      g_autofree char *b = g_inet_address_to_string (other);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot %s on “%s”: %s and %s are of different address families; "
                   "use IPv4 with IPv4 and IPv6 with IPv6",
                   what, self->name, a, b);
      return FALSE;
    }
  return TRUE;
}

/**
 * tun_tap_device_add_address:
 * @self: a device
 * @address: the address and prefix length, IPv4 or IPv6
 * @peer: (nullable): the point-to-point peer, as in `ip addr add A peer B`
 * @error: return location for a #GError
 *
 * Adds an address to the interface. IPv6 addresses skip duplicate address
 * detection (the link is virtual). %G_IO_ERROR_EXISTS if the interface has
 * it already; %G_IO_ERROR_INVALID_ARGUMENT when @peer is of the other
 * family or the kernel refuses the address; the kernel's own explanation
 * is in the message.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_add_address (TunTapDevice      *self,
                            GInetAddressMask  *address,
                            GInetAddress      *peer,
                            GError           **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return check_address_family (self, address, peer, "add an address", error) &&
         check_configurable (self, "add an address", error) &&
         tun_tap_netlink_add_address (self->ifindex, self->name, address, peer, error);
}

/**
 * tun_tap_device_remove_address:
 * @self: a device
 * @address: the address and prefix length to remove
 * @peer: (nullable): its peer, if it was added with one
 * @error: return location for a #GError
 *
 * Removes an address from the interface. %G_IO_ERROR_INVALID_ARGUMENT if
 * the interface does not have it.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_remove_address (TunTapDevice      *self,
                               GInetAddressMask  *address,
                               GInetAddress      *peer,
                               GError           **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return check_address_family (self, address, peer, "remove an address", error) &&
         check_configurable (self, "remove an address", error) &&
         tun_tap_netlink_remove_address (self->ifindex, self->name, address, peer, error);
}

/**
 * tun_tap_device_get_addresses:
 * @self: a device
 *
 * Gets the interface's current IPv4 and IPv6 addresses (including IPv6
 * link-local ones), as the kernel reports them now.
 *
 * Returns: (transfer container) (element-type GInetAddressMask): the
 *   addresses; empty when there are none or the device is closed
 *
 * Since: 0.1
 */
GPtrArray *
tun_tap_device_get_addresses (TunTapDevice *self)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *addresses = NULL;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), NULL);

  if (self->fd >= 0 && self->ifindex > 0)
    addresses = tun_tap_netlink_get_addresses (self->ifindex, &error);
  if (addresses == NULL)
    {
      if (error != NULL)
        g_debug ("Cannot list the addresses of “%s”: %s", self->name, error->message);
      addresses = g_ptr_array_new_with_free_func (g_object_unref);
    }
  return addresses;
}

/**
 * tun_tap_device_add_route:
 * @self: a device
 * @destination: the network to route into the device, IPv4 or IPv6
 * @gateway: (nullable): a gateway on the link, or %NULL for a direct route
 * @error: return location for a #GError
 *
 * Adds a route through the interface to the main table. The library
 * never adds or removes routes by itself. The link must be up
 * (%G_IO_ERROR_NETWORK_UNREACHABLE otherwise); %G_IO_ERROR_EXISTS for a
 * route that is already there.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_add_route (TunTapDevice      *self,
                          GInetAddressMask  *destination,
                          GInetAddress      *gateway,
                          GError           **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return check_address_family (self, destination, gateway, "add a route", error) &&
         check_configurable (self, "add a route", error) &&
         tun_tap_netlink_add_route (self->ifindex, self->name, destination, gateway, error);
}

/**
 * tun_tap_device_remove_route:
 * @self: a device
 * @destination: the routed network
 * @gateway: (nullable): its gateway, if it has one
 * @error: return location for a #GError
 *
 * Removes a route through the interface. %G_IO_ERROR_NOT_FOUND if there
 * is no such route.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_remove_route (TunTapDevice      *self,
                             GInetAddressMask  *destination,
                             GInetAddress      *gateway,
                             GError           **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return check_address_family (self, destination, gateway, "remove a route", error) &&
         check_configurable (self, "remove a route", error) &&
         tun_tap_netlink_remove_route (self->ifindex, self->name, destination, gateway, error);
}

/**
 * tun_tap_device_get_persistent:
 * @self: a device
 *
 * Gets whether the interface outlives the device.
 *
 * Returns: the value of [property@TunTap.Device:persistent]
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_get_persistent (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  return self->persistent;
}

/**
 * tun_tap_device_set_persistent:
 * @self: a device
 * @persistent: whether the interface should outlive the device
 * @error: return location for a #GError
 *
 * Makes the interface persistent, or not: a non-persistent interface
 * disappears when its last file descriptor is closed. This is the only
 * way the library ever clears persistence.
 *
 * An interface made persistent while it has neither an owner nor a group
 * gets the calling uid as its owner, so it is never left open to every
 * user; [property@TunTap.Device:owner] then says so.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_set_persistent (TunTapDevice  *self,
                               gboolean       persistent,
                               GError       **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_configurable (self, "change persistence", error))
    return FALSE;

  /* A persistent device with neither owner nor group is open to every
   * user who can open /dev/net/tun on some kernels: give it one first. */
  if (persistent)
    {
      refresh_link (self);
      if (self->owner < 0 && self->group < 0 &&
          !tun_tap_kernel_set_owner (self->fd, self->name, (gint64) geteuid (), error))
        return FALSE;
    }

  if (!tun_tap_kernel_set_persistent (self->fd, self->name, persistent, error))
    return FALSE;

  refresh_link (self);
  if (self->persistent != persistent)
    {
      self->persistent = persistent;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PERSISTENT]);
    }
  return TRUE;
}

/**
 * tun_tap_device_get_owner:
 * @self: a device
 *
 * Gets the uid that owns the interface.
 *
 * Returns: the owner's uid, or -1 for none
 *
 * Since: 0.1
 */
gint64
tun_tap_device_get_owner (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), -1);

  return self->owner;
}

/**
 * tun_tap_device_get_group:
 * @self: a device
 *
 * Gets the gid that owns the interface.
 *
 * Returns: the group's gid, or -1 for none
 *
 * Since: 0.1
 */
gint64
tun_tap_device_get_group (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), -1);

  return self->group;
}

/**
 * tun_tap_device_get_multi_queue:
 * @self: a device
 *
 * Gets whether this device is one queue of a multi-queue interface.
 *
 * Returns: the value of [property@TunTap.Device:multi-queue]
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_get_multi_queue (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  return self->multi_queue;
}

/**
 * tun_tap_device_get_queue_enabled:
 * @self: a device
 *
 * Gets whether this queue takes traffic.
 *
 * Returns: the value of [property@TunTap.Device:queue-enabled]
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_get_queue_enabled (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  return self->queue_enabled;
}

/**
 * tun_tap_device_set_queue_enabled:
 * @self: a device
 * @enabled: %FALSE to detach this queue, %TRUE to attach it again
 * @error: return location for a #GError
 *
 * Detaches this queue of a multi-queue interface, so the kernel steers
 * its flows to the other queues, or attaches it again.
 * %G_IO_ERROR_NOT_SUPPORTED on a device that is not multi-queue.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_set_queue_enabled (TunTapDevice  *self,
                                  gboolean       enabled,
                                  GError       **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!self->multi_queue)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Cannot %s the queue of “%s”: it is not a multi-queue device; "
                   "construct it with “multi-queue” set",
                   enabled ? "attach" : "detach", self->name ? self->name : "(unnamed)");
      return FALSE;
    }
  if (!enabled == !self->queue_enabled)
    return TRUE;
  if (!check_configurable (self, enabled ? "attach the queue" : "detach the queue", error) ||
      !tun_tap_kernel_set_queue_enabled (self->fd, self->name, enabled, error))
    return FALSE;

  self->queue_enabled = enabled;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUEUE_ENABLED]);
  return TRUE;
}

static GInetAddressMask *
parse_cidr (TunTapDevice  *self,
            const char    *text,
            GError       **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_auto(GStrv) parts = NULL;
  guint64 length;
  guint max;

  if (text == NULL || *text == '\0')
    goto bad;
  parts = g_strsplit (text, "/", 2);
  address = g_inet_address_new_from_string (parts[0]);
  if (address == NULL)
    goto bad;

  max = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 ? 128 : 32;
  if (parts[1] == NULL)
    length = max;
  else if (!g_ascii_string_to_unsigned (parts[1], 10, 0, max, &length, NULL))
    goto bad;

  /* Not g_inet_address_mask_new(): it refuses host bits, and an interface
   * address is exactly an address with its prefix length. */
  return g_object_new (G_TYPE_INET_ADDRESS_MASK,
                       "address", address, "length", (guint) length, NULL);

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "“%s” is not an address for “%s”: write it as 192.0.2.1/24 or "
               "2001:db8::1/64", text ? text : "(null)",
               self->name ? self->name : "(unnamed)");
  return NULL;
}

/**
 * tun_tap_device_add_address_from_string:
 * @self: a device
 * @address: an address with an optional prefix length, such as
 *   `192.0.2.1/24` or `2001:db8::1/64` (without one: a host address)
 * @peer: (nullable): the point-to-point peer, such as `192.0.2.2`
 * @error: return location for a #GError
 *
 * Like [method@TunTap.Device.add_address], from strings. Convenient because
 * [ctor@Gio.InetAddressMask.new_from_string] refuses an address with host
 * bits set, which is what an interface address is.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_add_address_from_string (TunTapDevice  *self,
                                        const char    *address,
                                        const char    *peer,
                                        GError       **error)
{
  g_autoptr(GInetAddressMask) mask = NULL;
  g_autoptr(GInetAddress) peer_address = NULL;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  mask = parse_cidr (self, address, error);
  if (mask == NULL)
    return FALSE;

  if (peer != NULL)
    {
      peer_address = g_inet_address_new_from_string (peer);
      if (peer_address == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "“%s” is not a peer address for “%s”: write it as 192.0.2.2 "
                       "or 2001:db8::2", peer, self->name ? self->name : "(unnamed)");
          return FALSE;
        }
    }

  return tun_tap_device_add_address (self, mask, peer_address, error);
}
