/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tun-tap-device-private.h"
#include "tun-tap-enum-types.h"
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
 * getter may be called from any thread, and so may the last
 * [method@GObject.Object.unref]. A concurrent close makes a send fail with
 * %G_IO_ERROR_CLOSED, never write to a recycled file descriptor, and waits
 * for at most one write(2) per sending thread. Everything else (closing,
 * the configuration calls, [method@TunTap.Device.get_addresses]) belongs
 * to the thread that runs the device's main context; from another thread,
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

/* EPERM from TUNSETIFF on an existing device: say who owns it. */
static void
explain_permission_denied (TunTapDevice *self)
{
  TunTapLinkInfo info;
  TunTapNetlink *nl;
  gboolean found;
  const char *kind;
  g_autofree char *owner = NULL;
  g_autofree char *rule = NULL;
  GError *error = self->init_error;

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) ||
      self->requested_name == NULL || strchr (self->requested_name, '%') != NULL)
    return;

  /* Refused at open(), before the device was even asked: that message
   * (node permissions, the udev rule) is the one that helps. */
  if (faccessat (AT_FDCWD, TUN_TAP_CLONE_DEVICE, R_OK | W_OK, AT_EACCESS) != 0)
    return;

  nl = tun_tap_netlink_open (self->request_netns, NULL);
  if (nl == NULL)
    return;
  found = tun_tap_netlink_get_link_by_name (nl, self->requested_name, &info, NULL);
  tun_tap_netlink_close (nl);
  if (!found || !info.is_tun)
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
                     info.tun_type == IFF_TAP ? "TAP" : "TUN", self->requested_name, owner, rule,
                     (guint) geteuid (), (guint) getegid (),
                     self->requested_name, kind, self->requested_name, kind, (guint) geteuid ());
}

/* Whether this open created the interface: a persistent interface existed
 * before (the library makes it persistent only after this point); one
 * that is not persistent lives only as long as its fds, and an existing
 * one that is not multi-queue would have refused us (EBUSY), so we made
 * it, unless other queues of a multi-queue one are attached. Decided after
 * TUNSETIFF, so nobody adding or deleting interfaces can fool it. */
static gboolean
created_by_us (TunTapDevice           *self,
               const TunTapKernelInfo *info)
{
  if (self->adopt_fd >= 0 || info->persistent)
    return FALSE;
  if (!info->multi_queue)
    return TRUE;
  return tun_tap_link_num_queues (self) <= 1;
}

static gboolean
apply_creation_options (TunTapDevice           *self,
                        const TunTapKernelInfo *info,
                        GError                **error)
{
  int fd = g_atomic_int_get (&self->fd);
  gboolean created = created_by_us (self, info);

  /* The owner rule for what we create: see tun_tap_kernel_apply_access(). */
  if (created && (self->request_persistent || self->request_owner >= 0 || self->request_group >= 0) &&
      !tun_tap_kernel_apply_access (fd, info->name, self->request_owner, self->request_group, error))
    return FALSE;

  if (self->request_persistent && !info->persistent)
    {
      /* A further queue of an interface someone else made, unowned: the
       * same rule as set_persistent(). */
      if (!created)
        {
          tun_tap_link_refresh (self);
          if (g_atomic_int_get (&self->owner) == -1 && g_atomic_int_get (&self->group) == -1 &&
              !tun_tap_kernel_apply_access (fd, info->name, self->request_owner,
                                            self->request_group, error))
            return FALSE;
        }
      if (!tun_tap_kernel_set_persistent (fd, info->name, TRUE, error))
        return FALSE;
    }

  if (created || self->request_persistent)
    tun_tap_link_refresh (self);
  return TRUE;
}

static gboolean
tun_tap_device_initable_init (GInitable     *initable,
                              GCancellable  *cancellable,
                              GError       **error)
{
  TunTapDevice *self = TUN_TAP_DEVICE (initable);
  TunTapKernelInfo info;
  int fd;

  switch ((TunTapState) g_atomic_int_get (&self->state))
    {
    case TUN_TAP_STATE_NEW:
      break;
    case TUN_TAP_STATE_FAILED:
      g_propagate_error (error, g_error_copy (self->init_error));
      return FALSE;
    case TUN_TAP_STATE_OPEN:
    case TUN_TAP_STATE_CLOSED:
    default:
      return TRUE;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, &self->init_error))
    goto fail;

  if (self->request_netns >= 0 && !tun_tap_netns_is_netns (self->request_netns))
    {
      g_set_error (&self->init_error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot create “%s”: “netns-fd” %d is not a network namespace; pass "
                   "an fd of /proc/PID/ns/net or /run/netns/NAME",
                   self->requested_name ? self->requested_name : "(any)", self->request_netns);
      goto fail;
    }

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
        .vnet_hdr = self->offload,
      };

      if (self->offload && (self->mode != TUN_TAP_MODE_TUN || self->packet_info))
        {
          g_set_error (&self->init_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "Cannot open “%s” with offloads: they are supported on TUN devices "
                       "without packet information; unset “offload”%s",
                       self->requested_name ? self->requested_name : "(any)",
                       self->mode != TUN_TAP_MODE_TUN ? " or use a TUN device"
                                                      : " or “packet-info”");
          goto fail;
        }

      fd = tun_tap_kernel_open (self->requested_name, self->mode, &options,
                                self->request_netns, &info, &self->init_error);
      if (fd < 0)
        {
          explain_permission_denied (self);
          goto fail;
        }
    }

  g_atomic_pointer_set (&self->name, g_intern_string (info.name));
  self->mode = info.mode;
  self->packet_info = info.packet_info;
  self->multi_queue = info.multi_queue;
  self->offload = info.vnet_hdr;
  self->offload_mask = info.offloads;
  g_atomic_int_set (&self->queue_enabled, info.queue_enabled);
  g_atomic_int_set (&self->persistent, info.persistent);
  g_atomic_int_set (&self->fd, fd);

  /* Identity, and the kernel's view of packet-info, persistence, owner. */
  tun_tap_link_attach (self);

  if (!apply_creation_options (self, &info, &self->init_error))
    {
      tun_tap_link_detach (self);
      g_atomic_int_set (&self->fd, -1);
      if (self->adopt_fd < 0)
        close (fd);
      goto fail;
    }

  /* Open before the watch exists: if another thread runs the context, the
   * watch may dispatch at once. */
  g_atomic_int_set (&self->state, TUN_TAP_STATE_OPEN);
  tun_tap_io_start (self);

  g_debug ("Opened %s device “%s” on fd %d",
           self->mode == TUN_TAP_MODE_TAP ? "TAP" : "TUN", info.name, fd);
  return TRUE;

fail:
  g_atomic_int_set (&self->state, TUN_TAP_STATE_FAILED);
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
      g_value_set_boolean (value, tun_tap_device_get_coalesce (self));
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
      tun_tap_device_set_coalesce (self, g_value_get_boolean (value));
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
   * With [property@TunTap.Device:offload], whether
   * [method@TunTap.Device.send_many] merges consecutive TCP segments of one
   * flow into super-packets by the kernel's GRO rules (checksums verified
   * first; nothing held back between calls). %TRUE by default, unless the
   * environment variable `TUNTAP_GLIB_NO_COALESCE` is set (the operator's
   * switch). If the kernel refuses a coalesced write, the library sends its
   * packets one by one (none is lost), turns this off for good, warns once
   * and notifies. Reads %FALSE without offloads.
   *
   * Since: 0.1
   */
  tun_tap_device_properties[PROP_COALESCE] =
    g_param_spec_boolean ("coalesce", NULL, NULL, TRUE,
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
   * a handler; no further packets are delivered then. While neither this
   * signal nor [signal@TunTap.Device::packets-received] has a handler,
   * packets are still read (so the kernel's queue never fills) and
   * discarded.
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
  tun_tap_device_signals[SIGNAL_PACKETS_RECEIVED] =
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
   * Emitted when an address is added to or removed from the interface, by
   * this program or any other; several changes that arrive together give
   * one emission. Call [method@TunTap.Device.get_addresses] for the
   * current list.
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
  self->coalesce = g_getenv ("TUNTAP_GLIB_NO_COALESCE") == NULL;
  self->state = TUN_TAP_STATE_NEW;
  self->context = g_main_context_ref_thread_default ();
  self->owner_thread = g_thread_self ();
  self->weak = tun_tap_device_ref_new (self);
  g_mutex_init (&self->close_lock);
  g_cond_init (&self->close_cond);
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
 * Gets whether [method@TunTap.Device.send_many] merges the TCP segments
 * of one flow into super-packets.
 *
 * Returns: the value of [property@TunTap.Device:coalesce]
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_get_coalesce (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);

  return self->offload && g_atomic_int_get (&self->coalesce);
}

/**
 * tun_tap_device_set_coalesce:
 * @self: a device
 * @coalesce: %FALSE to write every packet on its own
 *
 * Turns coalescing in [method@TunTap.Device.send_many] off (or on again).
 * See [property@TunTap.Device:coalesce].
 *
 * Since: 0.1
 */
void
tun_tap_device_set_coalesce (TunTapDevice *self,
                             gboolean      coalesce)
{
  g_return_if_fail (TUN_TAP_IS_DEVICE (self));

  if (!g_atomic_int_get (&self->coalesce) == !coalesce)
    return;
  g_atomic_int_set (&self->coalesce, !!coalesce);
  g_object_notify_by_pspec (G_OBJECT (self), tun_tap_device_properties[PROP_COALESCE]);
}
