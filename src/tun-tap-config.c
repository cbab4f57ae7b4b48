/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The configuration calls of TunTapDevice: link up/down, MTU, carrier,
 * hardware address, addresses, routes, persistence, queues. All belong to
 * the owning context (see tun-tap-io.c). Each one goes to the interface in
 * its own namespace (tun-tap-link.c); a request that finds the ifindex
 * gone while the fd is still attached follows the interface to where it
 * moved and tries once more.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-device-private.h"
#include "tun-tap-error.h"

#include <string.h>
#include <unistd.h>

typedef gboolean (*LinkRequest) (TunTapDevice  *self,
                                 int            ifindex,
                                 const char    *name,
                                 gconstpointer  data,
                                 GError       **error);

/* Open, initialised, and its interface reachable over rtnetlink. */
static gboolean
check_configurable (TunTapDevice  *self,
                    const char    *what,
                    GError       **error)
{
  if (!tun_tap_device_check_open (self, what, error))
    return FALSE;
  if (self->nl == NULL || g_atomic_int_get (&self->ifindex) <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("Cannot %s on “%s”: its network namespace cannot be reached from "
                   "this process (it moved there, and following it needs CAP_NET_ADMIN)"),
                   what, tun_tap_device_display_name (self));
      return FALSE;
    }
  return TRUE;
}

/* The owning-context rule, the checks, the request, and the follow-up:
 * the request's own notification applied before returning. */
static gboolean
configure (TunTapDevice  *self,
           const char    *call,
           const char    *what,
           LinkRequest    request,
           gconstpointer  data,
           GError       **error)
{
  g_auto(TunTapContextGuard) guard = { NULL };
  /* Handlers run inside (notifications of the change, of a move): they
   * may close the device or drop the caller's last reference. */
  G_GNUC_UNUSED g_autoptr(TunTapDevice) hold = g_object_ref (self);

  if (!tun_tap_device_enter_context (self, call, &guard) ||
      !check_configurable (self, what, error))
    return FALSE;

  for (guint attempt = 0; ; attempt++)
    {
      GError *local = NULL;

      if (request (self, g_atomic_int_get (&self->ifindex),
                   tun_tap_device_display_name (self), data, &local))
        {
          tun_tap_link_sync (self);
          return TRUE;
        }
      if (attempt == 0 && tun_tap_link_moved (self, local) &&
          check_configurable (self, what, NULL))
        {
          g_error_free (local);
          continue;
        }
      g_propagate_error (error, local);
      return FALSE;
    }
}

static gboolean
request_up (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  return tun_tap_netlink_set_up (self->nl, ifindex, name, GPOINTER_TO_INT (data), error);
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

  return configure (self, G_STRFUNC, up ? _("bring the link up") : _("take the link down"),
                    request_up, GINT_TO_POINTER (!!up), error);
}

static gboolean
request_mtu (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  return tun_tap_netlink_set_mtu (self->nl, ifindex, name, GPOINTER_TO_UINT (data), error);
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
                   _("Cannot set the MTU of “%s” to %u: a %s device takes 68 to %u"),
                   tun_tap_device_display_name (self), mtu,
                   self->mode == TUN_TAP_MODE_TAP ? "TAP" : "TUN", max);
      return FALSE;
    }

  return configure (self, G_STRFUNC, _("set the MTU"), request_mtu, GUINT_TO_POINTER (mtu), error);
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
  g_auto(TunTapContextGuard) guard = { NULL };

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!tun_tap_device_enter_context (self, G_STRFUNC, &guard) ||
      !tun_tap_device_check_open (self, _("change the carrier"), error) ||
      !tun_tap_kernel_set_carrier (g_atomic_int_get (&self->fd),
                                   tun_tap_device_display_name (self), carrier, error))
    return FALSE;

  /* The kernel announces a carrier change later (linkwatch): read it. */
  tun_tap_link_refresh (self);
  return TRUE;
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

static gboolean
request_hwaddr (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  return tun_tap_netlink_set_hwaddr (self->nl, ifindex, name, data, error);
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
                   _("Cannot set a hardware address on “%s”: a TUN device has no link "
                   "layer; use a TAP device"), tun_tap_device_display_name (self));
      return FALSE;
    }

  if (address == NULL || !parse_hardware_address (address, mac) ||
      (mac[0] & 1) != 0 || memcmp (mac, zero, 6) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot set the hardware address of “%s” to “%s”: give a unicast "
                   "MAC address as six hex pairs, like “02:00:00:00:00:01”"),
                   tun_tap_device_display_name (self), address ? address : "(null)");
      return FALSE;
    }

  return configure (self, G_STRFUNC, _("set the hardware address"), request_hwaddr, mac, error);
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
                   _("Cannot %s on “%s”: no address given"),
                   what, tun_tap_device_display_name (self));
      return FALSE;
    }
  if (other != NULL &&
      g_inet_address_get_family (other) != g_inet_address_mask_get_family (address))
    {
      g_autofree char *a = g_inet_address_mask_to_string (address);
      g_autofree char *b = g_inet_address_to_string (other);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot %s on “%s”: %s and %s are of different address families; "
                   "use IPv4 with IPv4 and IPv6 with IPv6"),
                   what, tun_tap_device_display_name (self), a, b);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  GInetAddressMask *mask;
  GInetAddress     *other;
} AddressPair;

static gboolean
request_add_address (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  const AddressPair *pair = data;
  return tun_tap_netlink_add_address (self->nl, ifindex, name, pair->mask, pair->other, error);
}

static gboolean
request_remove_address (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  const AddressPair *pair = data;
  return tun_tap_netlink_remove_address (self->nl, ifindex, name, pair->mask, pair->other, error);
}

static gboolean
request_add_route (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  const AddressPair *pair = data;
  return tun_tap_netlink_add_route (self->nl, ifindex, name, pair->mask, pair->other, error);
}

static gboolean
request_remove_route (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  const AddressPair *pair = data;
  return tun_tap_netlink_remove_route (self->nl, ifindex, name, pair->mask, pair->other, error);
}

static gboolean
address_call (TunTapDevice      *self,
              const char        *call,
              const char        *what,
              LinkRequest        request,
              GInetAddressMask  *mask,
              GInetAddress      *other,
              GError           **error)
{
  AddressPair pair = { mask, other };

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return check_address_family (self, mask, other, what, error) &&
         configure (self, call, what, request, &pair, error);
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
  return address_call (self, G_STRFUNC, _("add an address"), request_add_address, address, peer, error);
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
  return address_call (self, G_STRFUNC, _("remove an address"), request_remove_address, address, peer, error);
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
  return address_call (self, G_STRFUNC, _("add a route"), request_add_route, destination, gateway, error);
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
  return address_call (self, G_STRFUNC, _("remove a route"), request_remove_route, destination, gateway, error);
}

/**
 * tun_tap_device_get_addresses:
 * @self: a device
 *
 * Gets the interface's current IPv4 and IPv6 addresses (including IPv6
 * link-local ones), as the kernel reports them now.
 *
 * Returns: (transfer container) (element-type GInetAddressMask): the
 *   addresses; empty when there are none or the device is closed. Belongs
 *   to the owning context
 *
 * Since: 0.1
 */
GPtrArray *
tun_tap_device_get_addresses (TunTapDevice *self)
{
  g_auto(TunTapContextGuard) guard = { NULL };
  g_autoptr(GError) error = NULL;
  GPtrArray *addresses = NULL;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), NULL);

  if (tun_tap_device_enter_context (self, G_STRFUNC, &guard) &&
      check_configurable (self, _("list the addresses"), NULL))
    addresses = tun_tap_netlink_get_addresses (self->nl, g_atomic_int_get (&self->ifindex), &error);
  if (addresses == NULL)
    {
      if (error != NULL)
        g_debug ("Cannot list the addresses of “%s”: %s",
                 tun_tap_device_display_name (self), error->message);
      addresses = g_ptr_array_new_with_free_func (g_object_unref);
    }
  return addresses;
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
 * user; [property@TunTap.Device:owner] then says so. One with a group and
 * no owner keeps admitting that group.
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
  g_auto(TunTapContextGuard) guard = { NULL };
  G_GNUC_UNUSED g_autoptr(TunTapDevice) hold = NULL;
  const char *name;
  int fd;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!tun_tap_device_enter_context (self, G_STRFUNC, &guard) ||
      !tun_tap_device_check_open (self, _("change persistence"), error))
    return FALSE;

  /* The library's rule: never a persistent interface open to everyone. */
  hold = g_object_ref (self);
  if (persistent)
    {
      /* Queued notifications are applied first; their handlers may close
       * the device, so the fd is read after them. */
      tun_tap_link_refresh (self);
      if (!tun_tap_device_check_open (self, _("change persistence"), error))
        return FALSE;
      if (g_atomic_int_get (&self->owner) == -1 && g_atomic_int_get (&self->group) == -1 &&
          !tun_tap_kernel_apply_access (g_atomic_int_get (&self->fd),
                                        tun_tap_device_display_name (self), -1, -1, error))
        return FALSE;
    }

  fd = g_atomic_int_get (&self->fd);
  name = tun_tap_device_display_name (self);

  if (!tun_tap_kernel_set_persistent (fd, name, persistent, error))
    return FALSE;

  /* TUNSETPERSIST sends no notification: read the result. */
  tun_tap_link_refresh (self);
  return TRUE;
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
  g_auto(TunTapContextGuard) guard = { NULL };

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!tun_tap_device_enter_context (self, G_STRFUNC, &guard) ||
      !tun_tap_device_check_open (self, enabled ? _("attach the queue") : _("detach the queue"), error))
    return FALSE;

  if (!self->multi_queue)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   enabled ? _("Cannot attach the queue of “%s”: it is not a multi-queue "
                               "device; construct it with “multi-queue” set")
                           : _("Cannot detach the queue of “%s”: it is not a multi-queue "
                               "device; construct it with “multi-queue” set"),
                   tun_tap_device_display_name (self));
      return FALSE;
    }
  if (!enabled == !g_atomic_int_get (&self->queue_enabled))
    return TRUE;
  if (!tun_tap_kernel_set_queue_enabled (g_atomic_int_get (&self->fd),
                                         tun_tap_device_display_name (self), enabled, error))
    return FALSE;

  g_atomic_int_set (&self->queue_enabled, !!enabled);
  g_object_notify_by_pspec (G_OBJECT (self), tun_tap_device_properties[PROP_QUEUE_ENABLED]);
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
               _("“%s” is not an address for “%s”: write it as 192.0.2.1/24 or "
               "2001:db8::1/64"), text ? text : "(null)",
               tun_tap_device_display_name (self));
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
                       _("“%s” is not a peer address for “%s”: write it as 192.0.2.2 "
                       "or 2001:db8::2"), peer, tun_tap_device_display_name (self));
          return FALSE;
        }
    }

  return tun_tap_device_add_address (self, mask, peer_address, error);
}
