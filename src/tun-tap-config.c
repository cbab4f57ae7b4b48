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
 * the request's own notification applied before returning (@addresses:
 * a request about addresses). */
static gboolean
configure (TunTapDevice  *self,
           const char    *call,
           const char    *what,
           LinkRequest    request,
           gconstpointer  data,
           gboolean       addresses,
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
          tun_tap_link_sync (self, addresses);
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
                    request_up, GINT_TO_POINTER (!!up), FALSE, error);
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

  return configure (self, G_STRFUNC, _("set the MTU"), request_mtu, GUINT_TO_POINTER (mtu), FALSE, error);
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

  return configure (self, G_STRFUNC, _("set the hardware address"), request_hwaddr, mac, FALSE, error);
}

static gboolean
request_add_address (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  return tun_tap_netlink_add_address (self->nl, ifindex, name, data, error);
}

static gboolean
request_remove_address (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  return tun_tap_netlink_remove_address (self->nl, ifindex, name, data, error);
}

/**
 * tun_tap_device_add_address:
 * @self: a device
 * @address: the address to add, IPv4 or IPv6, with its prefix length and
 *   optionally a point-to-point peer
 * @error: return location for a #GError
 *
 * Adds an address to the interface. IPv6 addresses skip duplicate address
 * detection (the link is virtual). %G_IO_ERROR_EXISTS if the interface has
 * it already; %G_IO_ERROR_INVALID_ARGUMENT when the kernel refuses the
 * address, with the kernel's own explanation in the message. Flags of
 * @address are ignored.
 *
 * When this returns, [method@TunTap.Device.get_addresses] includes the
 * address and [signal@TunTap.Device::addresses-changed] has been emitted.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_add_address (TunTapDevice   *self,
                            TunTapAddress  *address,
                            GError        **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return configure (self, G_STRFUNC, _("add an address"), request_add_address, address, TRUE, error);
}

typedef gboolean (*AddressCall) (TunTapDevice   *self,
                                 TunTapAddress  *address,
                                 GError        **error);

static gboolean
address_from_string (TunTapDevice  *self,
                     const char    *address,
                     const char    *peer,
                     AddressCall    call,
                     GError       **error)
{
  g_autoptr(TunTapAddress) parsed = NULL;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  parsed = tun_tap_address_parse (address, peer, tun_tap_device_display_name (self), error);
  return parsed != NULL && call (self, parsed, error);
}

/**
 * tun_tap_device_add_address_from_string:
 * @self: a device
 * @address: an address as [method@TunTap.Address.to_string] writes it,
 *   such as `192.0.2.1/24`, `2001:db8::1/64` or
 *   `192.0.2.1/32 peer 192.0.2.2`; without a prefix length, a host
 *   address (`/32` or `/128`)
 * @peer: (nullable): the point-to-point peer, such as `192.0.2.2`, when
 *   @address names none
 * @error: return location for a #GError
 *
 * Like [method@TunTap.Device.add_address], from strings. A malformed
 * string gives %G_IO_ERROR_INVALID_ARGUMENT naming the device and showing
 * the expected form.
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
  return address_from_string (self, address, peer, tun_tap_device_add_address, error);
}

/**
 * tun_tap_device_remove_address:
 * @self: a device
 * @address: the address to remove: its address and prefix length must
 *   match; its peer too, if it has one (without one, as with
 *   `ip addr del`, the address goes whatever its peer)
 * @error: return location for a #GError
 *
 * Removes an address from the interface. %G_IO_ERROR_INVALID_ARGUMENT if
 * the interface does not have it. Flags of @address are ignored, so an
 * address from [method@TunTap.Device.get_addresses] can be given back.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_remove_address (TunTapDevice   *self,
                               TunTapAddress  *address,
                               GError        **error)
{
  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return configure (self, G_STRFUNC, _("remove an address"), request_remove_address, address, TRUE, error);
}

/**
 * tun_tap_device_remove_address_from_string:
 * @self: a device
 * @address: the address to remove, written as for
 *   [method@TunTap.Device.add_address_from_string]
 * @peer: (nullable): its peer, when @address names none; without any,
 *   the address goes whatever its peer
 * @error: return location for a #GError
 *
 * Like [method@TunTap.Device.remove_address], from strings.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_remove_address_from_string (TunTapDevice  *self,
                                           const char    *address,
                                           const char    *peer,
                                           GError       **error)
{
  return address_from_string (self, address, peer, tun_tap_device_remove_address, error);
}

/**
 * tun_tap_device_get_addresses:
 * @self: a device
 *
 * Gets the interface's IPv4 and IPv6 addresses (IPv6 link-local ones
 * included), with their peers and flags, as the kernel last reported them
 * (see [signal@TunTap.Device::addresses-changed]). May be called from any
 * thread.
 *
 * Returns: (transfer container) (element-type TunTapAddress): the
 *   addresses, in no particular order; empty when there are none, the
 *   interface cannot be followed, or the device is closed
 *
 * Since: 0.1
 */
GPtrArray *
tun_tap_device_get_addresses (TunTapDevice *self)
{
  GPtrArray *addresses;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), NULL);

  g_mutex_lock (&self->addresses_lock);
  addresses = g_ptr_array_new_full (self->addresses->len,
                                    (GDestroyNotify) tun_tap_address_unref);
  for (guint i = 0; i < self->addresses->len; i++)
    g_ptr_array_add (addresses, tun_tap_address_ref (g_ptr_array_index (self->addresses, i)));
  g_mutex_unlock (&self->addresses_lock);
  return addresses;
}

typedef struct {
  GInetAddressMask *destination;
  GInetAddress     *gateway;
} Route;

static gboolean
request_add_route (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  const Route *route = data;
  return tun_tap_netlink_add_route (self->nl, ifindex, name, route->destination, route->gateway, error);
}

static gboolean
request_remove_route (TunTapDevice *self, int ifindex, const char *name, gconstpointer data, GError **error)
{
  const Route *route = data;
  return tun_tap_netlink_remove_route (self->nl, ifindex, name, route->destination, route->gateway, error);
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
 * route that is already there; %G_IO_ERROR_INVALID_ARGUMENT for a gateway
 * of the other family.
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
  Route route = { destination, gateway };

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (destination), FALSE);
  g_return_val_if_fail (gateway == NULL || G_IS_INET_ADDRESS (gateway), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return configure (self, G_STRFUNC, _("add a route"), request_add_route, &route, FALSE, error);
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
  Route route = { destination, gateway };

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (destination), FALSE);
  g_return_val_if_fail (gateway == NULL || G_IS_INET_ADDRESS (gateway), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return configure (self, G_STRFUNC, _("remove a route"), request_remove_route, &route, FALSE, error);
}

/* A route destination is a network: GInetAddressMask's own parser, which
 * refuses host bits as the kernel does for IPv4 routes. */
typedef gboolean (*RouteCall) (TunTapDevice      *self,
                               GInetAddressMask  *destination,
                               GInetAddress      *gateway,
                               GError           **error);

static gboolean
route_from_string (TunTapDevice  *self,
                   const char    *destination,
                   const char    *gateway,
                   RouteCall      call,
                   GError       **error)
{
  g_autoptr(GInetAddressMask) mask = NULL;
  g_autoptr(GInetAddress) via = NULL;

  g_return_val_if_fail (TUN_TAP_IS_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (destination != NULL && strchr (destination, '%') == NULL)
    mask = g_inet_address_mask_new_from_string (destination, NULL);
  if (mask == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a route destination for “%s”: write a network with its "
                     "prefix length and no bits set beyond it, such as 198.51.100.0/24 or "
                     "2001:db8:100::/48 (0.0.0.0/0 or ::/0 for a default route)"),
                   destination != NULL ? destination : "(null)",
                   tun_tap_device_display_name (self));
      return FALSE;
    }
  if (gateway != NULL)
    {
      if (strchr (gateway, '%') == NULL)
        via = g_inet_address_new_from_string (gateway);
      if (via == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("“%s” is not a gateway for “%s”: write an address without a "
                         "prefix length, such as 192.0.2.254 or 2001:db8::fe"),
                       gateway, tun_tap_device_display_name (self));
          return FALSE;
        }
    }
  return call (self, mask, via, error);
}

/**
 * tun_tap_device_add_route_from_string:
 * @self: a device
 * @destination: the network, such as `198.51.100.0/24` or
 *   `2001:db8:100::/48` (`0.0.0.0/0` or `::/0` for a default route;
 *   without a prefix length, a host route)
 * @gateway: (nullable): a gateway on the link, such as `192.0.2.254`, or
 *   %NULL for a direct route
 * @error: return location for a #GError
 *
 * Like [method@TunTap.Device.add_route], from strings. A malformed
 * string, or a destination with bits set beyond its prefix length, gives
 * %G_IO_ERROR_INVALID_ARGUMENT naming the device and showing the expected
 * form.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_add_route_from_string (TunTapDevice  *self,
                                      const char    *destination,
                                      const char    *gateway,
                                      GError       **error)
{
  return route_from_string (self, destination, gateway, tun_tap_device_add_route, error);
}

/**
 * tun_tap_device_remove_route_from_string:
 * @self: a device
 * @destination: the routed network, written as for
 *   [method@TunTap.Device.add_route_from_string]
 * @gateway: (nullable): its gateway, if it has one
 * @error: return location for a #GError
 *
 * Like [method@TunTap.Device.remove_route], from strings.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
tun_tap_device_remove_route_from_string (TunTapDevice  *self,
                                         const char    *destination,
                                         const char    *gateway,
                                         GError       **error)
{
  return route_from_string (self, destination, gateway, tun_tap_device_remove_route, error);
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
