/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tun-tap-device.h"
#include "tun-tap-enum-types.h"
#include "tun-tap-kernel.h"

#include <errno.h>
#include <unistd.h>

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
 * Thread safety: [method@TunTap.Device.send], [method@TunTap.Device.send_bytes]
 * and the getters may be called from any thread. Construction, closing and
 * dropping the last reference must happen in the thread that owns the
 * device's main context.
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
  int           fd;             /* -1 once closed */
  gboolean      closed;
  GIOChannel   *channel;
  GSource      *watch;

  guint8       *buffer;         /* one read buffer for the whole lifetime */
  gsize         max_packet;     /* largest packet send() lets through */
};

typedef enum {
  PROP_NAME = 1,
  PROP_MODE,
  PROP_PACKET_INFO,
  PROP_FD,
  PROP_CLOSED,
} TunTapDeviceProperty;

static GParamSpec *properties[PROP_CLOSED + 1];

enum {
  SIGNAL_PACKET_RECEIVED,
  SIGNAL_CLOSED,
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

  if (self->closed)
    return;

  if (self->watch != NULL)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
  g_clear_pointer (&self->channel, g_io_channel_unref);

  g_rw_lock_writer_lock (&self->fd_lock);
  fd = self->fd;
  self->fd = -1;
  self->closed = TRUE;
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

  /* A handler may close or drop the last reference to the device. */
  g_object_ref (self);

  for (guint i = 0; i < READ_BUDGET && !self->closed; i++)
    {
      ssize_t n;
      int errsv;

      n = read (self->fd, self->buffer, TUN_TAP_READ_BUFFER_SIZE);
      if (n > 0)
        {
          GBytes *packet;

          if (!g_signal_has_handler_pending (self, signals[SIGNAL_PACKET_RECEIVED], 0, TRUE))
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

  /* After deletion the fd polls as POLLERR forever, with no POLLHUP and no
   * POLLIN: ask read() why, and never return to the loop with the watch on. */
  if (!self->closed && (condition & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)))
    {
      int errsv = 0;
      guint8 probe[1];

      if (read (self->fd, probe, 0) < 0)
        errsv = errno;
      if (errsv != EAGAIN && errsv != EINTR)
        tun_tap_device_broke (self, errsv);
    }

  if (self->closed)
    keep = G_SOURCE_REMOVE;

  g_object_unref (self);
  return keep;
}

static void
tun_tap_device_update_max_packet (TunTapDevice *self)
{
  gsize overhead = self->packet_info ? TUN_TAP_PI_HEADER_SIZE : 0;
  int mtu;

  if (self->mode == TUN_TAP_MODE_TUN)
    {
      /* An IP datagram cannot be longer than 65535 bytes. */
      self->max_packet = 65535 + overhead;
      return;
    }

  mtu = tun_tap_kernel_get_mtu (self->name);
  if (mtu <= 0)
    mtu = 65535;
  /* Ethernet header plus one VLAN tag on top of the MTU. */
  self->max_packet = (gsize) mtu + TUN_TAP_ETH_HEADER_SIZE + 4 + overhead;
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
      fd = tun_tap_kernel_open (self->name, self->mode, self->packet_info,
                                &info, &self->init_error);
      if (fd < 0)
        goto fail;
    }

  g_free (self->name);
  self->name = g_strdup (info.name);
  self->mode = info.mode;
  self->packet_info = info.packet_info;
  self->fd = fd;
  self->closed = FALSE;
  self->buffer = g_malloc (TUN_TAP_READ_BUFFER_SIZE);
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
      g_value_set_boolean (value, self->closed);
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
    case PROP_CLOSED:
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
   * a handler; no further packets are delivered then.
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
}

static void
tun_tap_device_init (TunTapDevice *self)
{
  self->fd = -1;
  self->adopt_fd = -1;
  self->closed = TRUE;   /* until initialised */
  self->mode = TUN_TAP_MODE_TUN;
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
 * %G_IO_ERROR_BUSY when another process has the device open,
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
 * %G_IO_ERROR_INVALID_DATA when the kernel refuses the packet (not IP on a
 * TUN device, shorter than an Ethernet header on a TAP device),
 * %G_IO_ERROR_MESSAGE_TOO_LARGE when the packet is larger than the device
 * can take. In every error case nothing was sent.
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
  ssize_t n;
  int errsv = 0;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len == 0 || data == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot send an empty packet on “%s”",
                   self->name ? self->name : "(unnamed)");
      return FALSE;
    }

  g_rw_lock_reader_lock (&self->fd_lock);

  if (self->fd < 0)
    {
      g_rw_lock_reader_unlock (&self->fd_lock);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   "Cannot send on “%s”: the device is closed; create a new device",
                   self->name ? self->name : "(unnamed)");
      return FALSE;
    }

  /* The MTU may have been raised since we last looked: ask again, on this
   * slow path only, so the fast path costs no extra syscall. */
  if (len > self->max_packet)
    tun_tap_device_update_max_packet (self);

  if (len > self->max_packet)
    {
      gsize max = self->max_packet;
      g_rw_lock_reader_unlock (&self->fd_lock);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "Cannot send a %" G_GSIZE_FORMAT "-byte packet on “%s”: the device "
                   "takes at most %" G_GSIZE_FORMAT " bytes; raise the MTU or split the "
                   "packet", len, self->name, max);
      return FALSE;
    }

  n = tun_tap_kernel_write (self->fd, data, len, &errsv);
  g_rw_lock_reader_unlock (&self->fd_lock);

  if (n < 0)
    {
      tun_tap_kernel_set_io_error (error, errsv, self->name, "send a packet");
      return FALSE;
    }

  /* The driver takes a packet whole or not at all. */
  g_warn_if_fail ((gsize) n == len);
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
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot send an empty packet on “%s”",
                   self->name ? self->name : "(unnamed)");
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

  return self->closed;
}
