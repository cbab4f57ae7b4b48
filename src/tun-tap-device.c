/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tun-tap-device-private.h"
#include "tun-tap-enum-types.h"
#include "tun-tap-error.h"
#include "tun-tap-marshal.h"
#include "tun-tap-netns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <net/if.h>

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
 * Threads: [method@TunTap.Device.send], [method@TunTap.Device.send_bytes],
 * [method@TunTap.Device.send_many], [method@TunTap.Device.is_closed] and every
 * getter ([method@TunTap.Device.get_addresses] included) may be called from
 * any thread, and so may the last [method@GObject.Object.unref]. A
 * concurrent close makes a send fail with %G_IO_ERROR_CLOSED, never write
 * to a recycled file descriptor, and waits for at most one write(2) per
 * sending thread. Everything else (closing, the configuration calls)
 * belongs to the thread that runs the device's main context; from another thread,
 * while that one runs it, such a call fails with a critical warning.
 *
 * Identity: a device is its interface in the interface's network
 * namespace, not a name. It follows renames, and follows the interface
 * into another network namespace and back (given CAP_NET_ADMIN); a thread
 * that changes its own namespace after construction changes nothing for
 * the device. [property@TunTap.Device:netns-fd] creates the interface in
 * another namespace without the caller entering it.
 *
 * Since: 0.1
 */

GParamSpec *tun_tap_device_properties[PROP_HARDWARE_ADDRESS + 1];
guint tun_tap_device_signals[N_SIGNALS];

static void tun_tap_device_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TunTapDevice, tun_tap_device, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      tun_tap_device_initable_iface_init))

static void
tun_tap_device_initable_iface_init (GInitableIface *iface)
{
  iface->init = tun_tap_device_initable_init;
}

static void
tun_tap_device_dispose (GObject *object)
{
  TunTapDevice *self = TUN_TAP_DEVICE (object);

  /* Any thread. No ::closed from dispose: nobody can hold the object. */
  tun_tap_device_stop (self);

  G_OBJECT_CLASS (tun_tap_device_parent_class)->dispose (object);
}

static void
tun_tap_device_finalize (GObject *object)
{
  TunTapDevice *self = TUN_TAP_DEVICE (object);

  g_free (self->requested_name);
  g_clear_error (&self->init_error);
  tun_tap_device_ref_unref (self->weak);
  g_mutex_clear (&self->close_lock);
  g_cond_clear (&self->close_cond);
  g_mutex_clear (&self->addresses_lock);
  g_ptr_array_unref (self->addresses);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (tun_tap_device_parent_class)->finalize (object);
}

const char *
tun_tap_device_display_name (TunTapDevice *self)
{
  const char *name = g_atomic_pointer_get (&self->name);

  if (name == NULL)
    name = self->requested_name;
  if (name == NULL)
    name = self->mode == TUN_TAP_MODE_TAP ? "tap%d" : "tun%d";
  return name;
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
      g_value_set_string (value, g_atomic_int_get (&self->state) == TUN_TAP_STATE_NEW
                                 ? self->requested_name : tun_tap_device_get_name (self));
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_PACKET_INFO:
      g_value_set_boolean (value, self->packet_info);
      break;
    case PROP_OFFLOAD:
      g_value_set_boolean (value, self->offload);
      break;
    case PROP_OFFLOADS:
      g_value_set_flags (value, tun_tap_device_get_offloads (self));
      break;
    case PROP_COALESCE:
      g_value_set_flags (value, tun_tap_device_get_coalesce (self));
      break;
    case PROP_FD:
      g_value_set_int (value, tun_tap_device_get_fd (self));
      break;
    case PROP_NETNS_FD:
      g_value_set_int (value, self->request_netns);
      break;
    case PROP_CLOSED:
      g_value_set_boolean (value, tun_tap_device_is_closed (self));
      break;
    case PROP_PERSISTENT:
      g_value_set_boolean (value, tun_tap_device_get_persistent (self));
      break;
    case PROP_EXCLUSIVE:
      g_value_set_boolean (value, self->exclusive);
      break;
    case PROP_MULTI_QUEUE:
      g_value_set_boolean (value, self->multi_queue);
      break;
    case PROP_QUEUE_ENABLED:
      g_value_set_boolean (value, tun_tap_device_get_queue_enabled (self));
      break;
    case PROP_RECEIVING:
      g_value_set_boolean (value, tun_tap_device_get_receiving (self));
      break;
    case PROP_OWNER:
      g_value_set_int64 (value, tun_tap_device_get_owner (self));
      break;
    case PROP_GROUP:
      g_value_set_int64 (value, tun_tap_device_get_group (self));
      break;
    case PROP_IFINDEX:
      g_value_set_int (value, tun_tap_device_get_ifindex (self));
      break;
    case PROP_UP:
      g_value_set_boolean (value, tun_tap_device_get_up (self));
      break;
    case PROP_CARRIER:
      g_value_set_boolean (value, tun_tap_device_get_carrier (self));
      break;
    case PROP_MTU:
      g_value_set_uint (value, tun_tap_device_get_mtu (self));
      break;
    case PROP_HARDWARE_ADDRESS:
      g_value_set_string (value, tun_tap_device_get_hardware_address (self));
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
      g_free (self->requested_name);
      self->requested_name = g_value_dup_string (value);
      break;
    case PROP_MODE:
      self->mode = g_value_get_enum (value);
      break;
    case PROP_PACKET_INFO:
      self->packet_info = g_value_get_boolean (value);
      break;
    case PROP_OFFLOAD:
      self->offload = g_value_get_boolean (value);
      break;
    case PROP_COALESCE:
      tun_tap_device_set_coalesce (self, g_value_get_flags (value));
      break;
    case PROP_FD:
      self->adopt_fd = g_value_get_int (value);
      break;
    case PROP_NETNS_FD:
      self->request_netns = g_value_get_int (value);
      break;
    case PROP_PERSISTENT:
      self->request_persistent = g_value_get_boolean (value);
      break;
    case PROP_EXCLUSIVE:
      self->exclusive = g_value_get_boolean (value);
      break;
    case PROP_MULTI_QUEUE:
      self->multi_queue = g_value_get_boolean (value);
      break;
    case PROP_OWNER:
      self->request_owner = g_value_get_int64 (value);
      break;
    case PROP_GROUP:
      self->request_group = g_value_get_int64 (value);
      break;
    case PROP_RECEIVING:
      tun_tap_device_set_receiving (self, g_value_get_boolean (value));
      break;
    case PROP_QUEUE_ENABLED:
    case PROP_HARDWARE_ADDRESS:
    case PROP_OFFLOADS:
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

  tun_tap_i18n_init ();

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
  tun_tap_device_properties[PROP_NAME] =
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
  tun_tap_device_properties[PROP_MODE] =
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
  tun_tap_device_properties[PROP_PACKET_INFO] =
    g_param_spec_boolean ("packet-info", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:offload:
   *
   * Let the kernel hand over TCP and UDP super-packets of up to 64 KiB and
   * packets with unfinished checksums (`IFF_VNET_HDR` and
   * `TUNSETOFFLOAD`), which the device splits and finishes in C before
   * emitting them: the application sees the same MTU-sized packets with
   * valid checksums as without, many per read(2). TUN only, and not with
   * [property@TunTap.Device:packet-info] (%G_IO_ERROR_NOT_SUPPORTED
   * otherwise). %FALSE by default. For a device adopted with
   * [ctor@TunTap.Device.new_for_fd] it says whether the fd was opened with
   * `IFF_VNET_HDR`. [property@TunTap.Device:offloads] says what the kernel
   * agreed to.
   *
   * Since: 0.1
   */
  tun_tap_device_properties[PROP_OFFLOAD] =
    g_param_spec_boolean ("offload", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:offloads:
   *
   * The offloads the kernel agreed to, with
   * [property@TunTap.Device:offload] set; %TUN_TAP_OFFLOADS_NONE otherwise.
   *
   * Since: 0.1
   */
  tun_tap_device_properties[PROP_OFFLOADS] =
    g_param_spec_flags ("offloads", NULL, NULL, TUN_TAP_TYPE_OFFLOADS,
                        TUN_TAP_OFFLOADS_NONE,
                        G_PARAM_READABLE |
                        G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:coalesce:
   *
   * With [property@TunTap.Device:offload], what
   * [method@TunTap.Device.send_many] merges into super-packets: consecutive
   * TCP segments, or UDP datagrams (64 at most), of one flow, by the
   * kernel's GRO rules (checksums verified first; nothing held back between
   * calls). By default what the kernel supports (TCP with TSO, UDP with
   * USO), less what the environment variable `TUNTAP_GLIB_NO_COALESCE`
   * turns off (`tcp`, `udp`, or anything else for both: the operator's
   * switch). If the kernel refuses a coalesced write, the library sends its
   * packets one by one (none is lost), turns that protocol off for good,
   * warns once and notifies. %TUN_TAP_COALESCE_NONE without offloads.
   *
   * Since: 0.1
   */
  tun_tap_device_properties[PROP_COALESCE] =
    g_param_spec_flags ("coalesce", NULL, NULL, TUN_TAP_TYPE_COALESCE,
                        TUN_TAP_COALESCE_TCP | TUN_TAP_COALESCE_UDP,
                        G_PARAM_READWRITE |
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
  tun_tap_device_properties[PROP_FD] =
    g_param_spec_int ("fd", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                      G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:netns-fd:
   *
   * A file descriptor of a network namespace (of `/proc/PID/ns/net` or
   * `/run/netns/NAME`) to create the interface in, or -1 (the default) for
   * the namespace of the constructing thread. The caller's threads never
   * enter that namespace: a short-lived private thread of the library
   * opens the device there. The caller keeps ownership of the fd, which is
   * read only during construction. Needs CAP_SYS_ADMIN over that
   * namespace, as setns(2) does.
   *
   * Since: 0.1
   */
  tun_tap_device_properties[PROP_NETNS_FD] =
    g_param_spec_int ("netns-fd", NULL, NULL, -1, G_MAXINT, -1,
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
  tun_tap_device_properties[PROP_CLOSED] =
    g_param_spec_boolean ("closed", NULL, NULL, FALSE,
                          G_PARAM_READABLE |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:persistent:
   *
   * Whether the interface outlives the device's file descriptor. At
   * construction: make the interface persistent. A persistent interface
   * the library creates is never left open to every user: it gets the
   * calling uid as owner unless [property@TunTap.Device:owner] or
   * [property@TunTap.Device:group] is given (a group alone admits that
   * group). Attaching to an existing
   * persistent interface never clears its persistence; once initialised the
   * property reads what the kernel says. Change it with
   * [method@TunTap.Device.set_persistent].
   *
   * Since: 0.1
   */
  tun_tap_device_properties[PROP_PERSISTENT] =
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
  tun_tap_device_properties[PROP_EXCLUSIVE] =
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
  tun_tap_device_properties[PROP_MULTI_QUEUE] =
    g_param_spec_boolean ("multi-queue", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:queue-enabled:
   *
   * Whether this queue of a multi-queue interface takes traffic. Change it
   * with [method@TunTap.Device.set_queue_enabled], which can fail and says
   * why (so the property is read-only).
   *
   * Since: 0.1
   */
  tun_tap_device_properties[PROP_QUEUE_ENABLED] =
    g_param_spec_boolean ("queue-enabled", NULL, NULL, TRUE,
                          G_PARAM_READABLE |
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
  tun_tap_device_properties[PROP_OWNER] =
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
  tun_tap_device_properties[PROP_GROUP] =
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
  tun_tap_device_properties[PROP_IFINDEX] =
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
  tun_tap_device_properties[PROP_UP] =
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
  tun_tap_device_properties[PROP_CARRIER] =
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
  tun_tap_device_properties[PROP_MTU] =
    g_param_spec_uint ("mtu", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE |
                       G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TunTapDevice:hardware-address:
   *
   * The MAC address of a TAP device as a string like
   * `02:00:00:00:00:01`; %NULL on a TUN device, which has none. Change it
   * with [method@TunTap.Device.set_hardware_address], which can fail and
   * says why (so the property is read-only).
   *
   * Since: 0.1
   */
  /**
   * TunTapDevice:receiving:
   *
   * Whether the device reads packets. %FALSE pauses reading before the
   * next read(2), even when set from a handler of
   * [signal@TunTap.Device::packet-received]: packets then wait in the
   * kernel's queue (the interface's `txqueuelen`), which drops new ones
   * once it is full, the loss signal TCP understands. Deletion of the
   * interface is still noticed while paused. %TRUE resumes. Backpressure:
   * a tunnel pauses its device while its socket would block and resumes
   * when the socket can take data again.
   *
   * Whatever this property says, the device reads only while someone
   * takes the packets: a handler of ::packet-received or
   * ::packets-received, or a pending [method@TunTap.Device.receive_async].
   * With none of them (a blocked handler does not count) it does not read
   * at all, rather than read and discard, so the kernel's queue fills and
   * drops the same way; a handler connected or unblocked later is noticed
   * at the next iteration of the device's main context.
   *
   * Since: 0.1
   */
  tun_tap_device_properties[PROP_RECEIVING] =
    g_param_spec_boolean ("receiving", NULL, NULL, TRUE,
                          G_PARAM_READWRITE |
                          G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  tun_tap_device_properties[PROP_HARDWARE_ADDRESS] =
    g_param_spec_string ("hardware-address", NULL, NULL, NULL,
                         G_PARAM_READABLE |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, G_N_ELEMENTS (tun_tap_device_properties), tun_tap_device_properties);

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
   * a handler. After a close no further packet is delivered; after the
   * last reference, the rest of that main-loop wake-up's packets still
   * reach the handlers connected, so close first if the handler's data
   * goes away with the device. While a handler iterates the main context
   * (a nested main loop) the device reads nothing, for the signals or a
   * pending [method@TunTap.Device.receive_async]; it reads again, and
   * notices the interface's deletion, once the handler returns.
   *
   * While neither this signal nor
   * [signal@TunTap.Device::packets-received] has a handler (and no
   * [method@TunTap.Device.receive_async] is pending), the device does not
   * read: packets wait in the kernel's queue, which drops once full. See
   * [property@TunTap.Device:receiving] to pause reading yourself. With
   * [property@TunTap.Device:offload], one read may bring many packets; if
   * the last taker of this signal disconnects or blocks itself part-way,
   * the rest of that read goes to ::packets-received when it has a
   * handler, and otherwise waits in the device for the next taker (this
   * signal, ::packets-received or a pending
   * [method@TunTap.Device.receive_async]), who gets it first and at once;
   * nothing more is read meanwhile. Closing the device discards it.
   *
   * From JavaScript, use [signal@TunTap.Device::packets-received] instead.
   * gjs 1.74 refuses to call JavaScript while its garbage collector is
   * sweeping, logging "Attempting to call back into JSAPI during the
   * sweeping phase of GC": each refused emission of this signal is a packet
   * lost, and a timer or async callback refused with it is gone for good.
   * A handler run once per packet makes garbage once per packet; under a
   * flood of packets it copied out, gjs 1.74.2 refused it from about the
   * 40,000th packet on, and every callback after that, so the program
   * stopped handling anything (tests/bindings/gc-flood.sh). From C and
   * Python this signal is safe; from Python the batch signal is faster.
   *
   * Since: 0.1
   */
  tun_tap_device_signals[SIGNAL_PACKET_RECEIVED] =
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
   * main-loop wake-up with every packet read in it (reading stops once it
   * has 256 packets or 256 KiB; with offloads, 128 KiB or 64 reads),
   * stored one after the other in @packets. Meant for bindings, where crossing into
   * the language costs more than the packet: with
   * [method@TunTap.Device.send_many], a Python or gjs echo crosses twice
   * per batch instead of twice per packet.
   *
   * The C handler is
   *
   * ```c
   * static void
   * on_packets (TunTapDevice *device,
   *             GBytes       *packets,
   *             GArray       *lengths,   // of guint
   *             gpointer      user_data)
   * {
   *   const guint8 *p = g_bytes_get_data (packets, NULL);
   *
   *   for (guint i = 0; i < lengths->len; i++)
   *     {
   *       guint len = g_array_index (lengths, guint, i);
   *       // the packet is p[0..len)
   *       p += len;
   *     }
   * }
   * ```
   *
   * @packets and @lengths are new for every batch and never changed
   * afterwards: take a reference (g_bytes_ref(), g_array_ref()) to keep
   * them after the handler returns. From Python @packets is a
   * `GLib.Bytes` and @lengths a list of ints; from gjs a `GLib.Bytes` (read
   * it through `packets.toArray()`, a `Uint8Array` view, no copy) and an
   * array of numbers.
   *
   * This is the signal to use from JavaScript: gjs 1.74 refuses callbacks
   * while its garbage collector sweeps (see
   * [signal@TunTap.Device::packet-received]). One emission per batch, read
   * through a view, was never refused under a flood of 100,000 packets
   * (tests/bindings/gc-flood.sh); a handler that copies every batch out
   * (`packets.get_data()`) makes enough garbage to be refused too, so avoid
   * copies in the handler.
   *
   * When both signals are connected, ::packet-received is emitted for each
   * packet first. No batch is emitted once the device was closed.
   *
   * Since: 0.1
   */
  tun_tap_device_signals[SIGNAL_PACKETS_RECEIVED] =
    g_signal_new ("packets-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL,
                  _tun_tap_marshal_VOID__BOXED_BOXED,
                  G_TYPE_NONE, 2,
                  G_TYPE_BYTES | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_ARRAY | G_SIGNAL_TYPE_STATIC_SCOPE);
  g_signal_set_va_marshaller (tun_tap_device_signals[SIGNAL_PACKETS_RECEIVED],
                              G_TYPE_FROM_CLASS (klass),
                              _tun_tap_marshal_VOID__BOXED_BOXEDv);

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
  tun_tap_device_signals[SIGNAL_CLOSED] =
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
   * Emitted when the interface's addresses change, by this program or any
   * other: an address added or removed, or its
   * [flags@TunTap.AddressFlags] changed (an IPv6 address done with
   * duplicate address detection, say). Only a real change emits it: a
   * failed call does not, nor does the kernel refreshing an address's
   * lifetimes. Changes the kernel reports together give one emission. Call
   * [method@TunTap.Device.get_addresses] for the current list.
   *
   * A change made with [method@TunTap.Device.add_address] or
   * [method@TunTap.Device.remove_address] is emitted before the call
   * returns.
   *
   * Since: 0.1
   */
  tun_tap_device_signals[SIGNAL_ADDRESSES_CHANGED] =
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
  self->orphan_fd = -1;
  self->adopt_fd = -1;
  self->request_netns = -1;
  self->netns = -1;
  self->mode = TUN_TAP_MODE_TUN;
  self->request_owner = -1;
  self->request_group = -1;
  self->owner = -1;
  self->group = -1;
  self->queue_enabled = TRUE;
  self->receiving = TRUE;
  self->coalesce = TUN_TAP_COALESCE_TCP | TUN_TAP_COALESCE_UDP;
  self->state = TUN_TAP_STATE_NEW;
  self->context = g_main_context_ref_thread_default ();
  self->owner_thread = g_thread_self ();
  self->weak = tun_tap_device_ref_new (self);
  g_mutex_init (&self->close_lock);
  g_cond_init (&self->close_cond);
  g_mutex_init (&self->addresses_lock);
  self->addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) tun_tap_address_unref);
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


