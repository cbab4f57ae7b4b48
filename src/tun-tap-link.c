/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Identity and link state of TunTapDevice.
 *
 * IDENTITY. A device is its interface in the interface's network
 * namespace, never a name looked up again: at init the namespace comes
 * from the fd itself (TUNGETDEVNETNS) and the ifindex from that namespace
 * (the name read from the fd, looked up there, and read from the fd again
 * to be sure no rename fell in between). Every later request goes through
 * an rtnetlink socket created in that namespace (tun-tap-netns.c), so a
 * caller's thread that enters another namespace changes nothing. When the
 * interface moves to another namespace (the fd stays attached), the
 * device follows it there, and back. Names are for messages only.
 * Without CAP_NET_ADMIN the kernel does not tell the namespace: the device
 * then assumes the constructing thread's, and cannot follow a move.
 *
 * WHERE LINK STATE COMES FROM. Only from the kernel, in one place:
 * apply_link() takes a parsed RTM_NEWLINK (from the monitor's notification
 * payload, in the kernel's order, or from a read right after a change that
 * sends no notification of its own: persistence, owner, carrier) and
 * updates every property from it, packet-info, persistence, owner, group
 * and multi-queue included. A configuration call flushes the monitor after
 * the kernel's ack, so its own notification is applied before the call
 * returns, with no extra round trip.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-device-private.h"
#include "tun-tap-error.h"
#include "tun-tap-netns.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_tun.h>

/* ---- applying the kernel's view ----------------------------------------- */

static void
set_int (TunTapDevice *self,
         gint         *field,
         gint          value,
         TunTapDeviceProperty prop)
{
  if (g_atomic_int_get (field) == value)
    return;
  g_atomic_int_set (field, value);
  g_object_notify_by_pspec (G_OBJECT (self), tun_tap_device_properties[prop]);
}

static gint
id_value (gint64 id)
{
  return id < 0 ? -1 : (gint) (guint32) id;
}

static void
apply_link (TunTapDevice         *self,
            const TunTapLinkInfo *info)
{
  GObject *object = G_OBJECT (self);

  g_object_freeze_notify (object);

  if (info->name[0] != '\0' &&
      g_strcmp0 (info->name, g_atomic_pointer_get (&self->name)) != 0)
    {
      g_atomic_pointer_set (&self->name, g_intern_string (info->name));
      g_object_notify_by_pspec (object, tun_tap_device_properties[PROP_NAME]);
    }

  set_int (self, &self->ifindex, info->ifindex, PROP_IFINDEX);
  set_int (self, &self->up, info->up, PROP_UP);
  set_int (self, &self->carrier, info->carrier, PROP_CARRIER);
  if (info->mtu != 0 && (gint) info->mtu != g_atomic_int_get (&self->mtu))
    {
      g_atomic_int_set (&self->mtu, (gint) info->mtu);
      tun_tap_io_update_max_packet (self);
      g_object_notify_by_pspec (object, tun_tap_device_properties[PROP_MTU]);
    }

  if (info->has_hwaddr && self->mode == TUN_TAP_MODE_TAP)
    {
      g_autofree char *mac = g_strdup_printf ("%02x:%02x:%02x:%02x:%02x:%02x",
                                              info->hwaddr[0], info->hwaddr[1], info->hwaddr[2],
                                              info->hwaddr[3], info->hwaddr[4], info->hwaddr[5]);

      if (g_strcmp0 (mac, g_atomic_pointer_get (&self->hardware_address)) != 0)
        {
          g_atomic_pointer_set (&self->hardware_address, g_intern_string (mac));
          g_object_notify_by_pspec (object, tun_tap_device_properties[PROP_HARDWARE_ADDRESS]);
        }
    }

  if (info->is_tun)
    {
      set_int (self, &self->persistent, info->persist, PROP_PERSISTENT);
      set_int (self, &self->owner, id_value (info->owner), PROP_OWNER);
      set_int (self, &self->group, id_value (info->group), PROP_GROUP);
    }

  g_object_thaw_notify (object);
}

/* ---- following the interface ---------------------------------------------- */

/* ---- addresses -------------------------------------------------------- */

/* Applies one notification to @addresses; TRUE if it changed them. */
static gboolean
apply_address (GPtrArray                        *addresses,
               const TunTapNetlinkAddressChange *change)
{
  for (guint i = 0; i < addresses->len; i++)
    {
      TunTapAddress *known = g_ptr_array_index (addresses, i);

      if (!tun_tap_address_same_key (known, change->address))
        continue;
      if (change->deleted)
        g_ptr_array_remove_index (addresses, i);
      else if (tun_tap_address_equal (known, change->address))
        return FALSE;
      else
        {
          g_ptr_array_index (addresses, i) = tun_tap_address_ref (change->address);
          tun_tap_address_unref (known);
        }
      return TRUE;
    }
  if (change->deleted)
    return FALSE;
  g_ptr_array_add (addresses, tun_tap_address_ref (change->address));
  return TRUE;
}

/* Neither holds an address twice. */
static gboolean
same_addresses (GPtrArray *a,
                GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < b->len && !found; j++)
        found = tun_tap_address_equal (g_ptr_array_index (a, i), g_ptr_array_index (b, j));
      if (!found)
        return FALSE;
    }
  return TRUE;
}

static GPtrArray *
address_array_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) tun_tap_address_unref);
}

/* Replaces the addresses with @fresh (transfer full; NULL: none); TRUE if
 * they changed. */
static gboolean
set_addresses (TunTapDevice *self,
               GPtrArray    *fresh)
{
  g_autoptr(GPtrArray) old = NULL;

  if (fresh == NULL)
    fresh = address_array_new ();
  g_mutex_lock (&self->addresses_lock);
  if (same_addresses (self->addresses, fresh))
    old = fresh;
  else
    {
      old = self->addresses;
      self->addresses = fresh;
    }
  g_mutex_unlock (&self->addresses_lock);
  return old != fresh;
}

static void
emit_addresses_changed (TunTapDevice *self)
{
  if (g_atomic_int_get (&self->state) == TUN_TAP_STATE_OPEN)
    g_signal_emit (self, tun_tap_device_signals[SIGNAL_ADDRESSES_CHANGED], 0);
}

/* Reads the whole set from the kernel. A failed read keeps what is known;
 * a device that lost its interface knows none. */
static void
read_addresses (TunTapDevice *self,
                gboolean      emit)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *fresh = NULL;
  int ifindex = g_atomic_int_get (&self->ifindex);

  if (self->nl != NULL && ifindex > 0)
    {
      fresh = tun_tap_netlink_get_addresses (self->nl, ifindex, &error);
      if (fresh == NULL)
        {
          g_debug ("Cannot read the addresses of “%s”: %s",
                   tun_tap_device_display_name (self), error->message);
          return;
        }
    }
  if (set_addresses (self, fresh) && emit)
    emit_addresses_changed (self);
}

static void link_changed (const TunTapLinkInfo *info, gboolean deleted, gpointer user_data);
static void addresses_changed (const TunTapNetlinkAddressChange *changes, guint n_changes,
                               gpointer user_data);

static void
forget_identity (TunTapDevice *self)
{
  if (self->monitor_watch != 0)
    tun_tap_netlink_monitor_remove_watch (self->monitor, self->monitor_watch);
  self->monitor_watch = 0;
  g_clear_pointer (&self->monitor, tun_tap_netlink_monitor_unref);
  g_clear_pointer (&self->nl, tun_tap_netlink_close);
  if (self->netns >= 0)
    close (self->netns);
  self->netns = -1;
}

/* When the kernel would not tell the namespace (no CAP_NET_ADMIN): what
 * the fd itself says must match the link found by name. */
static gboolean
same_interface (TunTapDevice         *self,
                const TunTapLinkInfo *info)
{
  guint8 mac[6];

  if ((info->tun_type == IFF_TAP) != (self->mode == TUN_TAP_MODE_TAP) ||
      !info->multi_queue != !self->multi_queue)
    return FALSE;
  if (self->mode == TUN_TAP_MODE_TAP && info->has_hwaddr &&
      tun_tap_kernel_get_hwaddr (g_atomic_int_get (&self->fd), mac) &&
      memcmp (mac, info->hwaddr, 6) != 0)
    return FALSE;
  return TRUE;
}

/* Learns namespace and ifindex of the fd's interface, opens the request
 * socket there and subscribes to its changes, then reads its state. */
static gboolean
learn_identity (TunTapDevice  *self,
                gboolean       first,
                GError       **error)
{
  g_autoptr(GError) local = NULL;
  TunTapLinkInfo info;
  char name[IFNAMSIZ];
  int fd = g_atomic_int_get (&self->fd);
  int errsv = 0;
  gboolean found = FALSE;

  self->netns = tun_tap_kernel_get_netns (fd);
  if (self->netns < 0)
    {
      /* No CAP_NET_ADMIN there: the namespace we were told, or ours. */
      g_debug ("Cannot ask the namespace of “%s” (%s); assuming %s",
               tun_tap_device_display_name (self), g_strerror (errno),
               self->request_netns >= 0 ? "the one given" : "the caller’s");
      if (!first)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                       _("Cannot follow “%s” into another network namespace without "
                       "CAP_NET_ADMIN"), tun_tap_device_display_name (self));
          return FALSE;
        }
      if (self->request_netns >= 0)
        self->netns = fcntl (self->request_netns, F_DUPFD_CLOEXEC, 3);
    }

  self->nl = tun_tap_netlink_open (self->netns, error);
  if (self->nl == NULL)
    return FALSE;

  /* The name read from the fd, looked up in its namespace, and read from
   * the fd again: equal twice, the ifindex is the interface's. */
  for (guint attempt = 0; attempt < 8 && !found; attempt++)
    {
      char again[IFNAMSIZ];

      g_clear_error (&local);
      if ((errsv = tun_tap_kernel_get_name (fd, name)) != 0 ||
          !tun_tap_netlink_get_link_by_name (self->nl, name, &info, &local))
        continue;
      if ((errsv = tun_tap_kernel_get_name (fd, again)) != 0)
        break;
      found = g_str_equal (name, again) && g_str_equal (info.name, name) && info.is_tun;
      if (found && self->netns < 0 && !same_interface (self, &info))
        {
          /* Without the namespace, a name can belong to another interface
           * of ours: better no link state than someone else's. */
          g_set_error (&local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       _("“%s” here is not the interface of this fd (it is in a network "
                       "namespace this process cannot ask about without CAP_NET_ADMIN)"),
                       name);
          found = FALSE;
          break;
        }
    }
  if (!found)
    {
      if (errsv == EBADFD)
        tun_tap_set_error (error, errsv, TUN_TAP_ERRNO_FD, _("find the interface"), NULL, NULL);
      else if (local != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     _("Cannot find the interface of “%s” in its network namespace"), name);
      return FALSE;
    }

  self->monitor = tun_tap_netlink_monitor_get (self->context, self->netns, &local);
  if (self->monitor == NULL)
    g_debug ("No rtnetlink monitor for “%s”: %s", name, local->message);
  else
    self->monitor_watch =
      tun_tap_netlink_monitor_add_watch (self->monitor, info.ifindex, link_changed,
                                         addresses_changed,
                                         tun_tap_device_ref_ref (self->weak),
                                         tun_tap_device_ref_unref);

  /* Subscribed first, then read: no change can fall between the two. */
  g_clear_error (&local);
  if (tun_tap_netlink_get_link (self->nl, info.ifindex, &info, &local))
    {
      if (first)
        self->packet_info = info.pi;   /* TUNGETIFF cannot tell it */
      apply_link (self, &info);
    }
  /* The first set is no change; after a move, it is one if it differs. */
  read_addresses (self, !first);
  return TRUE;
}

/* The interface left this namespace but the fd is still attached: it
 * moved. Follow it. (The kernel sends RTM_DELLINK in the middle of the
 * move, under the RTNL lock; TUNGETDEVNETNS takes that lock too, so it
 * answers with the new namespace once the move is complete.) */
static void
relocate (TunTapDevice *self)
{
  g_autoptr(GError) error = NULL;

  forget_identity (self);
  if (!learn_identity (self, FALSE, &error))
    {
      g_debug ("Lost track of “%s”: %s", tun_tap_device_display_name (self), error->message);
      forget_identity (self);
      set_int (self, &self->ifindex, 0, PROP_IFINDEX);
      if (set_addresses (self, NULL))
        emit_addresses_changed (self);
      return;
    }
  g_debug ("“%s” moved to another network namespace; following it (ifindex %d)",
           tun_tap_device_display_name (self), g_atomic_int_get (&self->ifindex));
}

static void
link_changed (const TunTapLinkInfo *info,
              gboolean              deleted,
              gpointer              user_data)
{
  TunTapDeviceRef *ref = user_data;
  g_autoptr(TunTapDevice) self = g_weak_ref_get (&ref->device);
  char name[IFNAMSIZ];

  if (self == NULL || g_atomic_int_get (&self->state) != TUN_TAP_STATE_OPEN)
    return;

  if (!deleted)
    {
      apply_link (self, info);
      return;
    }

  /* RTM_DELLINK: deleted, or moved to another namespace. Only the fd
   * knows which: detached (EBADFD) means deleted. */
  if (tun_tap_kernel_get_name (g_atomic_int_get (&self->fd), name) == EBADFD)
    tun_tap_device_broke (self, EBADFD);
  else
    relocate (self);
}

static void
addresses_changed (const TunTapNetlinkAddressChange *changes,
                   guint                             n_changes,
                   gpointer                          user_data)
{
  TunTapDeviceRef *ref = user_data;
  g_autoptr(TunTapDevice) self = g_weak_ref_get (&ref->device);
  gboolean changed = FALSE;

  if (self == NULL || g_atomic_int_get (&self->state) != TUN_TAP_STATE_OPEN)
    return;

  /* Notifications were lost: nothing is known about what changed. */
  if (changes == NULL)
    {
      read_addresses (self, TRUE);
      return;
    }

  g_mutex_lock (&self->addresses_lock);
  for (guint i = 0; i < n_changes; i++)
    changed |= apply_address (self->addresses, &changes[i]);
  g_mutex_unlock (&self->addresses_lock);

  if (changed)
    emit_addresses_changed (self);
}

void
tun_tap_link_attach (TunTapDevice *self)
{
  g_autoptr(GError) error = NULL;

  if (!learn_identity (self, TRUE, &error))
    {
      /* Packets still flow; the link properties stay unknown. */
      g_debug ("Cannot follow the link of “%s”: %s",
               tun_tap_device_display_name (self), error->message);
      forget_identity (self);
    }
  tun_tap_io_update_max_packet (self);
}

void
tun_tap_link_detach (TunTapDevice *self)
{
  forget_identity (self);
  set_addresses (self, NULL);
}

void
tun_tap_link_refresh (TunTapDevice *self)
{
  TunTapLinkInfo info;
  int ifindex;

  /* What is queued is older than what we are about to read: apply it
   * first, so nothing older lands on top of the fresh state. (A callback
   * may close the device meanwhile.) */
  if (self->monitor != NULL)
    tun_tap_netlink_monitor_flush (self->monitor);
  if (g_atomic_int_get (&self->state) == TUN_TAP_STATE_CLOSED)
    return;
  ifindex = g_atomic_int_get (&self->ifindex);
  if (self->nl != NULL && ifindex > 0 &&
      tun_tap_netlink_get_link (self->nl, ifindex, &info, NULL))
    apply_link (self, &info);
}

/* After a request the kernel acknowledged: its notification is queued
 * already; apply it (and anything before it) now. Not so for an IPv6
 * address added without DAD: the kernel announces it from a work queue,
 * after the ack. So after an address request the set is read as well
 * (its own notification, when it comes, then changes nothing). */
void
tun_tap_link_sync (TunTapDevice *self,
                   gboolean      addresses)
{
  gboolean flushed = self->monitor != NULL && tun_tap_netlink_monitor_flush (self->monitor);

  if (!flushed)
    tun_tap_link_refresh (self);
  if ((addresses || !flushed) && g_atomic_int_get (&self->state) == TUN_TAP_STATE_OPEN)
    read_addresses (self, TRUE);
}

guint
tun_tap_link_num_queues (TunTapDevice *self)
{
  TunTapLinkInfo info;
  int ifindex = g_atomic_int_get (&self->ifindex);

  if (self->nl != NULL && ifindex > 0 &&
      tun_tap_netlink_get_link (self->nl, ifindex, &info, NULL))
    return info.num_queues + info.num_disabled_queues;
  return 0;
}

/* Whether a request that failed with CLOSED (ENODEV: no such ifindex in
 * that namespace) met an interface that moved: then it was followed and
 * the request is worth one more try. */
gboolean
tun_tap_link_moved (TunTapDevice *self,
                    const GError *error)
{
  char name[IFNAMSIZ];

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
      g_atomic_int_get (&self->state) != TUN_TAP_STATE_OPEN ||
      tun_tap_kernel_get_name (g_atomic_int_get (&self->fd), name) != 0)
    return FALSE;
  relocate (self);
  /* Following it emits notifications, whose handlers may close. */
  return g_atomic_int_get (&self->state) == TUN_TAP_STATE_OPEN && self->nl != NULL &&
         g_atomic_int_get (&self->ifindex) > 0;
}

/* ---- getters (any thread) ------------------------------------------------- */

/**
 * tun_tap_device_get_name:
 * @self: a device
 *
 * Gets the name the kernel gave the interface, following renames. May be
 * called from any thread: the string is interned, so it stays valid after
 * a rename.
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

  return g_atomic_pointer_get (&self->name);
}

/**
 * tun_tap_device_get_ifindex:
 * @self: a device
 *
 * Gets the interface index in the interface's current network namespace.
 *
 * Returns: the ifindex, or 0 if unknown
 *
 * Since: 0.1
 */
int
tun_tap_device_get_ifindex (TunTapDevice *self)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), 0);

  return g_atomic_int_get (&self->ifindex);
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

  return g_atomic_int_get (&self->up);
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

  return (guint) g_atomic_int_get (&self->mtu);
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

  return g_atomic_int_get (&self->carrier);
}

/**
 * tun_tap_device_get_hardware_address:
 * @self: a device
 *
 * Gets the MAC address of a TAP device. May be called from any thread:
 * the string is interned, so it stays valid after a change.
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

  return g_atomic_pointer_get (&self->hardware_address);
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

  if (g_atomic_int_get (&self->state) == TUN_TAP_STATE_NEW)
    return self->request_persistent;
  return g_atomic_int_get (&self->persistent);
}

static gint64
id_from_value (gint value)
{
  return value == -1 ? -1 : (gint64) (guint32) value;
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

  if (g_atomic_int_get (&self->state) == TUN_TAP_STATE_NEW)
    return self->request_owner;
  return id_from_value (g_atomic_int_get (&self->owner));
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

  if (g_atomic_int_get (&self->state) == TUN_TAP_STATE_NEW)
    return self->request_group;
  return id_from_value (g_atomic_int_get (&self->group));
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

  return g_atomic_int_get (&self->queue_enabled);
}
