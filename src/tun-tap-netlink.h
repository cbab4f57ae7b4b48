/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rtnetlink layer: link state, MTU, hardware address, addresses and
 * routes of one interface, read and changed in-process over NETLINK_ROUTE
 * (libmnl), and one monitor per (GMainContext, network namespace) that
 * reports changes made by anybody. No GObject in here; the device's link
 * layer (tun-tap-link.c) is the only caller. Three files:
 * tun-tap-netlink-transport.c (sockets, request/ack, parsing),
 * tun-tap-netlink-requests.c and tun-tap-netlink-monitor.c.
 *
 * Identity: a socket belongs for life to the network namespace it was
 * created in, so every request goes through a TunTapNetlink opened in the
 * interface's namespace, never through a socket of whatever namespace the
 * calling thread happens to be in. Every function is keyed on the ifindex,
 * which survives renames; `devname` only makes error messages readable.
 * Requests are acknowledged (NLM_F_ACK) with extended acks on, so a refusal
 * carries the kernel's own words in the GError message. Errors come from
 * the library's one errno table (tun-tap-error.c).
 *
 * The request functions block (a reply timeout of a few seconds). A
 * TunTapNetlink is used by one thread at a time.
 */
#pragma once

#include <gio/gio.h>
#include <net/if.h>

#include "tun-tap-address.h"

G_BEGIN_DECLS

struct nlmsghdr;

typedef struct {
  int      ifindex;
  char     name[IFNAMSIZ];
  gboolean up;                   /* IFF_UP */
  gboolean carrier;              /* IFLA_CARRIER, else IFF_LOWER_UP */
  guint    mtu;
  guint8   hwaddr[6];            /* IFLA_ADDRESS when it is 6 bytes (TAP) */
  gboolean has_hwaddr;
  /* From IFLA_LINKINFO/IFLA_INFO_DATA when IFLA_INFO_KIND is "tun": */
  gboolean is_tun;               /* the kind is "tun" (TUN and TAP alike) */
  int      tun_type;             /* IFLA_TUN_TYPE: IFF_TUN or IFF_TAP, else 0 */
  gboolean pi;                   /* packet information on (no IFF_NO_PI) */
  gboolean vnet_hdr;
  gboolean persist;
  gboolean multi_queue;
  gint64   owner;                /* IFLA_TUN_OWNER, -1 if unset */
  gint64   group;                /* IFLA_TUN_GROUP, -1 if unset */
  guint    num_queues;           /* only reported for multi-queue devices */
  guint    num_disabled_queues;
} TunTapLinkInfo;

/* Parses one RTM_NEWLINK (or RTM_DELLINK, same layout) message. @nlh must
 * point to at least MAX (nlh->nlmsg_len, sizeof (struct nlmsghdr)) readable
 * bytes; everything inside is untrusted. Returns FALSE, leaving @info zeroed
 * (owner and group -1), for anything malformed (including a length that is
 * not a multiple of 4 and a message without IFLA_IFNAME), and for messages
 * of another address family (AF_BRIDGE port notifications share
 * RTNLGRP_LINK and would otherwise read as a deletion). Pure: no I/O. */
gboolean   tun_tap_netlink_parse_link     (const struct nlmsghdr *nlh,
                                           TunTapLinkInfo        *info);

/* A request socket in the network namespace @netns_fd (-1: the calling
 * thread's), created there by a private thread when it is another one. */
typedef struct _TunTapNetlink TunTapNetlink;

TunTapNetlink *tun_tap_netlink_open       (int                    netns_fd,
                                           GError               **error);
void       tun_tap_netlink_close          (TunTapNetlink         *nl);

gboolean   tun_tap_netlink_get_link       (TunTapNetlink         *nl,
                                           int                    ifindex,
                                           TunTapLinkInfo        *info,
                                           GError               **error);

/* The link named @name now; G_IO_ERROR_NOT_FOUND... as the table says for
 * ENODEV when there is none. */
gboolean   tun_tap_netlink_get_link_by_name (TunTapNetlink       *nl,
                                           const char            *name,
                                           TunTapLinkInfo        *info,
                                           GError               **error);

/* Bringing the link up also adds the IPv6 peer routes that could not be
 * added while it was down (see tun_tap_netlink_add_address()). */
gboolean   tun_tap_netlink_set_up         (TunTapNetlink         *nl,
                                           int                    ifindex,
                                           const char            *devname,
                                           gboolean               up,
                                           GError               **error);

/* Not checked here, so the kernel's limits and message apply: 68..65535 on
 * TUN, 68..65521 on TAP. Below 1280 the kernel silently drops every IPv6
 * address. */
gboolean   tun_tap_netlink_set_mtu        (TunTapNetlink         *nl,
                                           int                    ifindex,
                                           const char            *devname,
                                           guint                  mtu,
                                           GError               **error);

/* G_IO_ERROR_NOT_SUPPORTED on TUN; INVALID_ARGUMENT for a multicast or
 * all-zero MAC on TAP. */
gboolean   tun_tap_netlink_set_hwaddr     (TunTapNetlink         *nl,
                                           int                    ifindex,
                                           const char            *devname,
                                           const guint8           mac[6],
                                           GError               **error);

/* @address: the local address, its prefix length (host bits included,
 * "192.0.2.1/24") and its peer, checked to be of the same family by
 * TunTapAddress itself: IFA_LOCAL is the address, IFA_ADDRESS the peer.
 * Its flags are not read. IPv6 addresses get IFA_F_NODAD. A duplicate
 * gives G_IO_ERROR_EXISTS.
 *
 * IPv6 peer route: the kernel adds the route to peer/128 only when the
 * address is added while the link is up, and never later; an IPv6 route on a
 * down link is refused (ENETDOWN). So after adding an IPv6 address with a
 * peer this adds peer/128 (proto kernel, metric 256, as the kernel would)
 * if the link is up, and tun_tap_netlink_set_up() adds it when the link comes
 * up. The kernel removes it with the address. Note that with the default
 * net.ipv6.conf.*.keep_addr_on_down=0 the kernel deletes all IPv6 addresses
 * when the link goes down. */
gboolean   tun_tap_netlink_add_address    (TunTapNetlink         *nl,
                                           int                    ifindex,
                                           const char            *devname,
                                           const TunTapAddress   *address,
                                           GError               **error);

/* Removes the address with this local address and prefix length. With a
 * peer it must also have that peer; with none, any peer matches (as
 * `ip addr del` does). An absent address gives G_IO_ERROR_INVALID_ARGUMENT. */
gboolean   tun_tap_netlink_remove_address (TunTapNetlink         *nl,
                                           int                    ifindex,
                                           const char            *devname,
                                           const TunTapAddress   *address,
                                           GError               **error);

/* (element-type TunTapAddress) (transfer full): every address of the
 * link, IPv4 and IPv6, link-local included, with peer and flags. */
GPtrArray *tun_tap_netlink_get_addresses  (TunTapNetlink         *nl,
                                           int                    ifindex,
                                           GError               **error);

/* Main table, proto boot; scope link for a device route (@gateway NULL),
 * universe otherwise. The link must be up (else NETWORK_UNREACHABLE), the
 * gateway reachable through it. A duplicate gives G_IO_ERROR_EXISTS. */
gboolean   tun_tap_netlink_add_route      (TunTapNetlink         *nl,
                                           int                    ifindex,
                                           const char            *devname,
                                           GInetAddressMask      *destination,
                                           GInetAddress          *gateway,
                                           GError               **error);

/* Removes a route of any protocol to @destination through this link (and
 * @gateway if given). An absent route gives G_IO_ERROR_NOT_FOUND. */
gboolean   tun_tap_netlink_remove_route   (TunTapNetlink         *nl,
                                           int                    ifindex,
                                           const char            *devname,
                                           GInetAddressMask      *destination,
                                           GInetAddress          *gateway,
                                           GError               **error);

/* The monitor: one rtnetlink socket per (GMainContext, network namespace),
 * subscribed to link and IPv4/IPv6 address changes and watched in that
 * context, so callbacks run there. Each watch sees the changes of one
 * ifindex: @link_func gets the new state from the notification itself
 * (@deleted TRUE when the link left the namespace: deleted, or moved to
 * another one), @address_func gets the address notifications of the link
 * from their own payload, in the kernel's order, all those of one batch
 * in one call. After the kernel dropped notifications (ENOBUFS) every
 * watch gets a fresh state (a link that has vanished is reported deleted,
 * with only the ifindex filled in) and an address call with no changes,
 * meaning "unknown: read them again", once the socket's queue is drained,
 * and every few dispatches while churn keeps it from draining.
 *
 * get, unref and remove_watch may be called from any thread (a callback
 * running in the context's thread at that moment finishes first; the
 * watch's @notify runs after it); add_watch and flush belong to the thread
 * running the context. remove_watch may be called from inside a callback;
 * the watch then gets no further calls. */
typedef struct _TunTapNetlinkMonitor TunTapNetlinkMonitor;

typedef void (*TunTapNetlinkLinkFunc)    (const TunTapLinkInfo *info,
                                          gboolean              deleted,
                                          gpointer              user_data);
/* One RTM_NEWADDR (added, or changed: flags, lifetimes) or RTM_DELADDR. */
typedef struct {
  TunTapAddress *address;
  gboolean       deleted;
} TunTapNetlinkAddressChange;

/* @changes NULL and @n_changes 0: notifications were lost; read again. */
typedef void (*TunTapNetlinkAddressFunc) (const TunTapNetlinkAddressChange *changes,
                                          guint                             n_changes,
                                          gpointer                          user_data);

/* (transfer full): NULL @context means the global default context;
 * @netns_fd -1 the calling thread's namespace. */
TunTapNetlinkMonitor *tun_tap_netlink_monitor_get (GMainContext             *context,
                                                   int                       netns_fd,
                                                   GError                  **error);

/* Either function may be NULL. Returns a watch id, never 0. @notify frees
 * @user_data once the watch is removed and no callback runs. */
guint      tun_tap_netlink_monitor_add_watch    (TunTapNetlinkMonitor     *monitor,
                                                 int                       ifindex,
                                                 TunTapNetlinkLinkFunc     link_func,
                                                 TunTapNetlinkAddressFunc  address_func,
                                                 gpointer                  user_data,
                                                 GDestroyNotify            notify);

void       tun_tap_netlink_monitor_remove_watch (TunTapNetlinkMonitor     *monitor,
                                                 guint                     watch_id);

/* Applies the notifications queued now, in order. A change made over
 * rtnetlink is queued before the request is acknowledged, so a flush right
 * after a successful request brings the watches up to date without a
 * round trip. Reads a bounded number of datagrams: FALSE when the queue
 * was not drained (churn), and then the caller reads its link directly. */
gboolean   tun_tap_netlink_monitor_flush        (TunTapNetlinkMonitor     *monitor);

void       tun_tap_netlink_monitor_unref        (TunTapNetlinkMonitor     *monitor);

G_END_DECLS
