/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rtnetlink layer's requests: read and change one link, its addresses
 * and routes, over a TunTapNetlink socket of the interface's namespace,
 * keyed on the ifindex (which survives renames).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-netlink-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_tun.h>

/* Metric the kernel gives the IPv6 routes it makes for addresses. */
#define IP6_RT_PRIO_ADDRCONF 256

/* -------------------------------------------------------------------- */
/* Links                                                                 */

typedef struct {
  int             ifindex;
  const char     *name;
  TunTapLinkInfo *info;
  gboolean        found;
} GetLinkData;

static void
get_link_reply (const struct nlmsghdr *nlh,
                gpointer               user_data)
{
  GetLinkData *data = user_data;
  TunTapLinkInfo info;

  if (data->found || !tun_tap_netlink_parse_link (nlh, &info))
    return;
  if (data->ifindex > 0 ? info.ifindex == data->ifindex : g_str_equal (info.name, data->name))
    {
      *data->info = info;
      data->found = TRUE;
    }
}

int
get_link (TunTapNetlink  *nl,
          int             ifindex,
          const char     *name,
          TunTapLinkInfo *info,
          char          **extack)
{
  RequestBuffer buffer;
  struct nlmsghdr *nlh;
  GetLinkData data = { ifindex, name, info, FALSE };
  int errsv;

  link_info_init (info);
  nlh = put_link_request (&buffer, RTM_GETLINK, ifindex, NULL);
  if (ifindex <= 0)
    mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
#ifdef RTEXT_FILTER_SKIP_STATS
  mnl_attr_put_u32 (nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
#endif
  errsv = transact (nl, nlh, get_link_reply, &data, extack);
  if (errsv == 0 && !data.found)
    errsv = EPROTO;
  if (errsv != 0)
    link_info_init (info);
  return errsv;
}

gboolean
tun_tap_netlink_get_link (TunTapNetlink   *nl,
                          int              ifindex,
                          TunTapLinkInfo  *info,
                          GError         **error)
{
  g_autofree char *extack = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);

  errsv = get_link (nl, ifindex, NULL, info, &extack);
  if (errsv != 0)
    {
      g_autofree char *dev = device_label (ifindex, NULL);
      g_autofree char *what = g_strdup_printf (_("read the state of %s"), dev);

      netlink_set_error (error, errsv, extack, NULL, what);
      return FALSE;
    }
  return TRUE;
}

gboolean
tun_tap_netlink_get_link_by_name (TunTapNetlink   *nl,
                                  const char      *name,
                                  TunTapLinkInfo  *info,
                                  GError         **error)
{
  g_autofree char *extack = NULL;
  int errsv;

  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);

  errsv = get_link (nl, 0, name, info, &extack);
  if (errsv != 0)
    {
      g_autofree char *what = g_strdup_printf (_("read the state of “%s”"), name);

      netlink_set_error (error, errsv, extack, NULL, what);
      return FALSE;
    }
  return TRUE;
}

static int restore_ipv6_peer_routes (TunTapNetlink *nl, int ifindex, char **extack);

gboolean
tun_tap_netlink_set_up (TunTapNetlink      *nl,
                        int          ifindex,
                        const char  *devname,
                        gboolean     up,
                        GError     **error)
{
  RequestBuffer buffer;
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifm;
  g_autofree char *extack = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);

  nlh = put_link_request (&buffer, RTM_NEWLINK, ifindex, &ifm);
  ifm->ifi_flags = up ? IFF_UP : 0;
  ifm->ifi_change = IFF_UP;

  errsv = transact (nl, nlh, NULL, NULL, &extack);
  if (errsv != 0)
    {
      g_autofree char *dev = device_label (ifindex, devname);
      g_autofree char *what = g_strdup_printf (up ? _("bring %s up") : _("take %s down"), dev);

      netlink_set_error (error, errsv, extack, NULL, what);
      return FALSE;
    }

  if (up)
    {
      g_autofree char *route_extack = NULL;

      /* The link is up as asked; a missing peer route is not worth failing
       * for, and the next set_up tries again. */
      errsv = restore_ipv6_peer_routes (nl, ifindex, &route_extack);
      if (errsv != 0)
        g_debug ("Cannot add the IPv6 peer routes of %s: %s%s%s",
                 devname != NULL ? devname : "?", g_strerror (errsv),
                 route_extack != NULL ? ": " : "", route_extack != NULL ? route_extack : "");
    }

  return TRUE;
}

gboolean
tun_tap_netlink_set_mtu (TunTapNetlink      *nl,
                         int          ifindex,
                         const char  *devname,
                         guint        mtu,
                         GError     **error)
{
  RequestBuffer buffer;
  struct nlmsghdr *nlh;
  g_autofree char *extack = NULL;
  g_autofree char *dev = NULL;
  g_autofree char *what = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);

  nlh = put_link_request (&buffer, RTM_NEWLINK, ifindex, NULL);
  mnl_attr_put_u32 (nlh, IFLA_MTU, mtu);

  errsv = transact (nl, nlh, NULL, NULL, &extack);
  if (errsv == 0)
    return TRUE;

  dev = device_label (ifindex, devname);
  what = g_strdup_printf (_("set the MTU of %s to %u"), dev, mtu);
  netlink_set_error (error, errsv, extack,
             errsv == EINVAL ? _("the MTU must be 68 to 65535 on a TUN device and 68 to "
                                 "65521 on a TAP device") : NULL,
             what);
  return FALSE;
}

gboolean
tun_tap_netlink_set_hwaddr (TunTapNetlink      *nl,
                            int           ifindex,
                            const char   *devname,
                            const guint8  mac[6],
                            GError      **error)
{
  RequestBuffer buffer;
  struct nlmsghdr *nlh;
  g_autofree char *extack = NULL;
  g_autofree char *dev = NULL;
  g_autofree char *what = NULL;
  const char *hint = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);
  g_return_val_if_fail (mac != NULL, FALSE);

  nlh = put_link_request (&buffer, RTM_NEWLINK, ifindex, NULL);
  mnl_attr_put (nlh, IFLA_ADDRESS, 6, mac);

  errsv = transact (nl, nlh, NULL, NULL, &extack);
  if (errsv == 0)
    return TRUE;

  dev = device_label (ifindex, devname);
  what = g_strdup_printf (_("set the hardware address of %s to %02x:%02x:%02x:%02x:%02x:%02x"),
                          dev, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  if (errsv == EOPNOTSUPP)
    hint = _("a TUN device has no hardware address; only a TAP device has one");
  else if (errsv == EADDRNOTAVAIL)
    hint = _("use a unicast address that is not all zeros, such as 02:00:00:00:00:01");
  netlink_set_error (error, errsv, extack, hint, what);
  return FALSE;
}

/* -------------------------------------------------------------------- */
/* Addresses and routes                                                  */

static int
socket_family (GInetAddress *address)
{
  return g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 ? AF_INET6 : AF_INET;
}

static char *
format_prefix (GInetAddress *address,
               guint         length)
{
  g_autofree char *text = g_inet_address_to_string (address);

  return g_strdup_printf ("%s/%u", text, length);
}

typedef void (*AddressFunc) (const ParsedAddress *address,
                             gpointer             user_data);

static void
dump_address_reply (const struct nlmsghdr *nlh,
                    gpointer               user_data)
{
  GArray *found = user_data;
  ParsedAddress address;

  if (nlh->nlmsg_type == RTM_NEWADDR && parse_address (nlh, &address))
    g_array_append_val (found, address);
}

/* Calls @func for every address of @ifindex. A dump the kernel marks
 * interrupted (the list changed while it was read) is read again, so
 * @func never sees a torn list. */
static int
dump_addresses (TunTapNetlink *nl,
                int            ifindex,
                int            family,
                AddressFunc    func,
                gpointer       user_data,
                char         **extack)
{
  g_autoptr(GArray) found = g_array_new (FALSE, FALSE, sizeof (ParsedAddress));
  int errsv = EAGAIN;

  for (guint attempt = 0; errsv == EAGAIN && attempt < 8; attempt++)
    {
      RequestBuffer buffer;
      struct nlmsghdr *nlh;
      struct ifaddrmsg *ifa;

      g_array_set_size (found, 0);
      g_clear_pointer (extack, g_free);
      nlh = put_request (&buffer, RTM_GETADDR, NLM_F_DUMP);
      ifa = mnl_nlmsg_put_extra_header (nlh, sizeof *ifa);
      ifa->ifa_family = family;
      ifa->ifa_index = ifindex;
      errsv = transact (nl, nlh, dump_address_reply, found, extack);
    }
  if (errsv != 0)
    return errsv;

  /* The kernel filters by ifindex when it honours strict checking; older
   * ones send every address. */
  for (guint i = 0; i < found->len; i++)
    {
      const ParsedAddress *address = &g_array_index (found, ParsedAddress, i);

      if (address->ifindex == ifindex)
        func (address, user_data);
    }
  return 0;
}

static int
address_request (TunTapNetlink *nl,
                 guint16       type,
                 guint16       flags,
                 int           ifindex,
                 int           family,
                 const guint8 *local,
                 guint         prefix_length,
                 const guint8 *address,
                 char        **extack)
{
  RequestBuffer buffer;
  struct nlmsghdr *nlh;
  struct ifaddrmsg *ifa;
  size_t size = family == AF_INET ? 4 : 16;

  nlh = put_request (&buffer, type, flags);
  ifa = mnl_nlmsg_put_extra_header (nlh, sizeof *ifa);
  ifa->ifa_family = family;
  ifa->ifa_prefixlen = prefix_length;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = ifindex;
  /* DAD would keep a new address tentative (unusable) for a second or more;
   * on a point-to-point tunnel there is nobody to collide with. */
  if (family == AF_INET6 && type == RTM_NEWADDR)
    ifa->ifa_flags = IFA_F_NODAD;

  mnl_attr_put (nlh, IFA_LOCAL, size, local);
  mnl_attr_put (nlh, IFA_ADDRESS, size, address);
  return transact (nl, nlh, NULL, NULL, extack);
}

static int
route_request (TunTapNetlink *nl,
               guint16       type,
               guint16       flags,
               int           ifindex,
               int           family,
               const guint8 *destination,
               guint         prefix_length,
               const guint8 *gateway,
               guint8        protocol,
               guint8        scope,
               guint8        route_type,
               guint32       priority,
               char        **extack)
{
  RequestBuffer buffer;
  struct nlmsghdr *nlh;
  struct rtmsg *rtm;
  size_t size = family == AF_INET ? 4 : 16;

  nlh = put_request (&buffer, type, flags);
  rtm = mnl_nlmsg_put_extra_header (nlh, sizeof *rtm);
  rtm->rtm_family = family;
  rtm->rtm_dst_len = prefix_length;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = protocol;
  rtm->rtm_scope = scope;
  rtm->rtm_type = route_type;

  mnl_attr_put (nlh, RTA_DST, size, destination);
  mnl_attr_put_u32 (nlh, RTA_OIF, (guint32) ifindex);
  if (gateway != NULL)
    mnl_attr_put (nlh, RTA_GATEWAY, size, gateway);
  if (priority != 0)
    mnl_attr_put_u32 (nlh, RTA_PRIORITY, priority);
  return transact (nl, nlh, NULL, NULL, extack);
}

/* The route the kernel itself makes for an IPv6 peer when the address is
 * added on an up link; EEXIST means it did. */
static int
add_ipv6_peer_route (TunTapNetlink *nl,
                     int           ifindex,
                     const guint8  peer[16],
                     char        **extack)
{
  int errsv;

  errsv = route_request (nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, AF_INET6,
                         peer, 128, NULL, RTPROT_KERNEL, RT_SCOPE_UNIVERSE,
                         RTN_UNICAST, IP6_RT_PRIO_ADDRCONF, extack);
  return errsv == EEXIST ? 0 : errsv;
}

static void
collect_ipv6_peer (const ParsedAddress *address,
                   gpointer             user_data)
{
  GArray *peers = user_data;

  if (address->family == AF_INET6 && address->has_peer)
    g_array_append_val (peers, *address);
}

static int
restore_ipv6_peer_routes (TunTapNetlink *nl,
                          int    ifindex,
                          char **extack)
{
  g_autoptr(GArray) peers = g_array_new (FALSE, FALSE, sizeof (ParsedAddress));
  int errsv;

  errsv = dump_addresses (nl, ifindex, AF_INET6, collect_ipv6_peer, peers, extack);
  for (guint i = 0; errsv == 0 && i < peers->len; i++)
    {
      g_clear_pointer (extack, g_free);
      errsv = add_ipv6_peer_route (nl, ifindex, g_array_index (peers, ParsedAddress, i).peer, extack);
    }
  return errsv;
}

/* Checked here: the kernel would read the gateway with the wrong length,
 * or refuse it without saying why. */
static gboolean
check_gateway_family (GInetAddressMask *destination,
                      GInetAddress     *gateway,
                      const char       *what,
                      GError          **error)
{
  GInetAddress *network = g_inet_address_mask_get_address (destination);
  g_autofree char *network_text = NULL;
  g_autofree char *gateway_text = NULL;

  if (gateway == NULL || g_inet_address_get_family (gateway) == g_inet_address_get_family (network))
    return TRUE;

  network_text = g_inet_address_to_string (network);
  gateway_text = g_inet_address_to_string (gateway);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               _("Cannot %s: the gateway %s is not of the same family as %s; give both "
                 "as IPv4 or both as IPv6"), what, gateway_text, network_text);
  return FALSE;
}

/* @address as tun_tap_address_to_string() writes it, peer included. */
static char *
describe_address (gboolean             add,
                  const char          *dev,
                  const TunTapAddress *address)
{
  g_autofree char *text = tun_tap_address_to_string (address);

  return add ? g_strdup_printf (_("add address %s to %s"), text, dev)
             : g_strdup_printf (_("remove address %s from %s"), text, dev);
}

gboolean
tun_tap_netlink_add_address (TunTapNetlink        *nl,
                             int                  ifindex,
                             const char          *devname,
                             const TunTapAddress *address,
                             GError             **error)
{
  GInetAddress *local, *peer;
  g_autofree char *extack = NULL;
  g_autofree char *dev = NULL;
  g_autofree char *what = NULL;
  const guint8 *local_bytes;
  const guint8 *peer_bytes;
  guint length;
  int family, errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);
  g_return_val_if_fail (address != NULL, FALSE);

  local = tun_tap_address_get_address (address);
  peer = tun_tap_address_get_peer (address);
  length = tun_tap_address_get_prefix_length (address);
  family = socket_family (local);
  dev = device_label (ifindex, devname);
  what = describe_address (TRUE, dev, address);

  local_bytes = g_inet_address_to_bytes (local);
  peer_bytes = peer != NULL ? g_inet_address_to_bytes (peer) : local_bytes;

  errsv = address_request (nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, family,
                           local_bytes, length, peer_bytes, &extack);
  if (errsv != 0)
    {
      const char *hint = NULL;

      if (errsv == EINVAL && family == AF_INET6)
        hint = _("IPv6 needs an MTU of at least 1280");
      netlink_set_error (error, errsv, extack, hint, what);
      return FALSE;
    }

  if (family == AF_INET6 && peer != NULL)
    {
      g_clear_pointer (&extack, g_free);
      errsv = add_ipv6_peer_route (nl, ifindex, peer_bytes, &extack);
      /* On a down link tun_tap_netlink_set_up() adds it later. */
      if (errsv != 0 && errsv != ENETDOWN)
        {
          g_autofree char *ignored = NULL;
          g_autofree char *text = tun_tap_address_to_string (address);
          g_autofree char *route_what = g_strdup_printf (_("add the route to the peer of %s on %s"),
                                                         text, dev);

          netlink_set_error (error, errsv, extack, NULL, route_what);
          address_request (nl, RTM_DELADDR, 0, ifindex, family, local_bytes, length,
                           peer_bytes, &ignored);
          return FALSE;
        }
    }

  return TRUE;
}

typedef struct {
  int           family;
  guint         length;
  const guint8 *local;
  const guint8 *peer;
  gboolean      found;
  guint8        address[16];
} FindAddressData;

static void
find_address (const ParsedAddress *address,
              gpointer             user_data)
{
  FindAddressData *data = user_data;
  size_t size = data->family == AF_INET ? 4 : 16;

  if (data->found || address->family != data->family ||
      address->prefix_length != data->length ||
      memcmp (address->local, data->local, size) != 0)
    return;
  if (data->peer != NULL &&
      (!address->has_peer || memcmp (address->peer, data->peer, size) != 0))
    return;

  data->found = TRUE;
  memcpy (data->address, address->has_peer ? address->peer : address->local, size);
}

gboolean
tun_tap_netlink_remove_address (TunTapNetlink        *nl,
                                int                  ifindex,
                                const char          *devname,
                                const TunTapAddress *address,
                                GError             **error)
{
  GInetAddress *local, *peer;
  FindAddressData data = { 0, };
  g_autofree char *extack = NULL;
  g_autofree char *dev = NULL;
  g_autofree char *what = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);
  g_return_val_if_fail (address != NULL, FALSE);

  local = tun_tap_address_get_address (address);
  peer = tun_tap_address_get_peer (address);
  dev = device_label (ifindex, devname);
  what = describe_address (FALSE, dev, address);

  /* Look the address up first: the kernel matches an IPv4 address by its
   * peer and an IPv6 one regardless of it, and the caller may not give
   * the peer at all (as with `ip addr del`). */
  data.family = socket_family (local);
  data.length = tun_tap_address_get_prefix_length (address);
  data.local = g_inet_address_to_bytes (local);
  data.peer = peer != NULL ? g_inet_address_to_bytes (peer) : NULL;
  errsv = dump_addresses (nl, ifindex, data.family, find_address, &data, &extack);
  if (errsv == 0 && !data.found)
    errsv = EADDRNOTAVAIL;

  if (errsv == 0)
    errsv = address_request (nl, RTM_DELADDR, 0, ifindex, data.family, data.local,
                             data.length, data.address, &extack);
  if (errsv != 0)
    {
      netlink_set_error (error, errsv, extack, NULL, what);
      return FALSE;
    }
  return TRUE;
}

static void
collect_address (const ParsedAddress *address,
                 gpointer             user_data)
{
  g_ptr_array_add (user_data, parsed_address_to_address (address));
}

GPtrArray *
tun_tap_netlink_get_addresses (TunTapNetlink *nl,
                               int      ifindex,
                               GError **error)
{
  g_autoptr(GPtrArray) addresses = NULL;
  g_autofree char *extack = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, NULL);

  addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) tun_tap_address_unref);
  errsv = dump_addresses (nl, ifindex, AF_UNSPEC, collect_address, addresses, &extack);
  if (errsv != 0)
    {
      g_autofree char *dev = device_label (ifindex, NULL);
      g_autofree char *what = g_strdup_printf (_("list the addresses of %s"), dev);

      netlink_set_error (error, errsv, extack, NULL, what);
      return NULL;
    }
  return g_steal_pointer (&addresses);
}

static char *
describe_route (gboolean          add,
                const char       *dev,
                GInetAddressMask *destination,
                GInetAddress     *gateway)
{
  g_autofree char *prefix = format_prefix (g_inet_address_mask_get_address (destination),
                                           g_inet_address_mask_get_length (destination));
  g_autofree char *via = gateway != NULL ? g_inet_address_to_string (gateway) : NULL;

  if (via != NULL)
    return add ? g_strdup_printf (_("add the route to %s via %s on %s"), prefix, via, dev)
               : g_strdup_printf (_("remove the route to %s via %s on %s"), prefix, via, dev);
  return add ? g_strdup_printf (_("add the route to %s on %s"), prefix, dev)
             : g_strdup_printf (_("remove the route to %s on %s"), prefix, dev);
}

static gboolean
change_route (TunTapNetlink     *nl,
              gboolean           add,
              int                ifindex,
              const char        *devname,
              GInetAddressMask  *destination,
              GInetAddress      *gateway,
              GError           **error)
{
  GInetAddress *network;
  g_autofree char *extack = NULL;
  g_autofree char *dev = NULL;
  g_autofree char *what = NULL;
  const char *hint = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (destination), FALSE);
  g_return_val_if_fail (gateway == NULL || G_IS_INET_ADDRESS (gateway), FALSE);

  dev = device_label (ifindex, devname);
  what = describe_route (add, dev, destination, gateway);
  if (!check_gateway_family (destination, gateway, what, error))
    return FALSE;

  network = g_inet_address_mask_get_address (destination);
  if (add)
    errsv = route_request (nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex,
                           socket_family (network), g_inet_address_to_bytes (network),
                           g_inet_address_mask_get_length (destination),
                           gateway != NULL ? g_inet_address_to_bytes (gateway) : NULL,
                           RTPROT_BOOT,
                           gateway != NULL ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
                           RTN_UNICAST, 0, &extack);
  else
    /* Protocol, type and scope left open: remove whatever route matches,
     * including the ones the kernel made. */
    errsv = route_request (nl, RTM_DELROUTE, 0, ifindex,
                           socket_family (network), g_inet_address_to_bytes (network),
                           g_inet_address_mask_get_length (destination),
                           gateway != NULL ? g_inet_address_to_bytes (gateway) : NULL,
                           RTPROT_UNSPEC, RT_SCOPE_NOWHERE, RTN_UNSPEC, 0, &extack);
  if (errsv == 0)
    return TRUE;

  switch (errsv)
    {
    case ENETUNREACH:
    case EHOSTUNREACH:
      hint = _("the gateway must be reachable through this link; add an address whose "
             "prefix contains it first");
      break;
    case EINVAL:
      hint = _("check the prefix length and that the destination has no bits set "
             "beyond it");
      break;
    default:
      break;
    }
  netlink_set_error (error, errsv, extack, hint, what);
  return FALSE;
}

gboolean
tun_tap_netlink_add_route (TunTapNetlink      *nl,
                           int                ifindex,
                           const char        *devname,
                           GInetAddressMask  *destination,
                           GInetAddress      *gateway,
                           GError           **error)
{
  return change_route (nl, TRUE, ifindex, devname, destination, gateway, error);
}

gboolean
tun_tap_netlink_remove_route (TunTapNetlink      *nl,
                              int                ifindex,
                              const char        *devname,
                              GInetAddressMask  *destination,
                              GInetAddress      *gateway,
                              GError           **error)
{
  return change_route (nl, FALSE, ifindex, devname, destination, gateway, error);
}

