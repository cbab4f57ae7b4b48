/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rtnetlink layer's transport: a request socket that belongs to one
 * network namespace (created there by tun-tap-netns.c's private thread,
 * so it keeps acting on that namespace whatever the calling thread does
 * later), request/ack/dump over it, error mapping, and the parsers of
 * link and address messages (pure, fuzzed).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-netlink-private.h"
#include "tun-tap-address-private.h"
#include "tun-tap-error.h"
#include "tun-tap-netns.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/if_tun.h>

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* A reply never takes this long unless the kernel is wedged; better an
 * error than a frozen main loop. */
#define REPLY_TIMEOUT_SECONDS 5

/* -------------------------------------------------------------------- */
/* Errors                                                                */

/* “interface 7” when the caller has no name at hand. */
char *
device_label (int         ifindex,
              const char *devname)
{
  /* TRANSLATORS: an interface's name in quotes, as in the other messages. */
  return devname != NULL ? g_strdup_printf (_("“%s”"), devname)
                         : g_strdup_printf (_("interface %d"), ifindex);
}

void
netlink_set_error (GError     **error,
                   int          errsv,
                   const char  *extack,
                   const char  *hint,
                   const char  *what)
{
  tun_tap_set_error (error, errsv, TUN_TAP_ERRNO_LINK, what, extack, hint);
}

/* -------------------------------------------------------------------- */
/* Request/reply transport                                               */


static int
extack_attr_cb (const struct nlattr *attr,
                void                *data)
{
  const struct nlattr **msg = data;

  if (mnl_attr_get_type (attr) == NLMSGERR_ATTR_MSG &&
      mnl_attr_validate (attr, MNL_TYPE_NUL_STRING) >= 0)
    *msg = attr;
  return MNL_CB_OK;
}

/* Extended-ack attributes start @offset bytes into the payload. */
static char *
parse_extack (const struct nlmsghdr *nlh,
              size_t                 offset)
{
  const struct nlattr *msg = NULL;

  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
      offset > mnl_nlmsg_get_payload_len (nlh))
    return NULL;
  mnl_attr_parse (nlh, offset, extack_attr_cb, &msg);
  return msg != NULL ? g_strdup (mnl_attr_get_str (msg)) : NULL;
}

static int
negated_errno (int value)
{
  if (value == 0)
    return 0;
  if (value < 0 && value > -4096)
    return -value;
  return EPROTO;
}

/* NLMSG_ERROR: 0 for an ack, else the positive errno. */
static int
parse_ack (const struct nlmsghdr  *nlh,
           char                  **extack)
{
  const struct nlmsgerr *err;
  size_t offset = sizeof (struct nlmsgerr);

  if (mnl_nlmsg_get_payload_len (nlh) < sizeof (struct nlmsgerr))
    return EPROTO;
  err = mnl_nlmsg_get_payload (nlh);

  /* Without NETLINK_CAP_ACK the request is echoed before the attributes. */
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
    {
      if (err->msg.nlmsg_len < sizeof (struct nlmsghdr))
        return negated_errno (err->error);
      offset += err->msg.nlmsg_len - sizeof (struct nlmsghdr);
    }

  if (err->error != 0)
    *extack = parse_extack (nlh, offset);
  return negated_errno (err->error);
}

/* NLMSG_DONE of a dump: carries an int error since Linux 4.12. */
static int
parse_done (const struct nlmsghdr  *nlh,
            char                  **extack)
{
  int value;

  if (mnl_nlmsg_get_payload_len (nlh) < sizeof (int))
    return 0;
  memcpy (&value, mnl_nlmsg_get_payload (nlh), sizeof value);
  if (value != 0)
    *extack = parse_extack (nlh, sizeof (int));
  return negated_errno (value);
}

static void
set_flag_option (struct mnl_socket *nl,
                 int                option)
{
  int one = 1;

  /* Best effort: an old kernel without it still works, less helpfully. */
  mnl_socket_setsockopt (nl, option, &one, sizeof one);
}

struct _TunTapNetlink {
  struct mnl_socket *nl;
  unsigned int       portid;
  guint              seq;
  guint8            *buffer;
};

static int
open_route_socket (gpointer user_data)
{
  int flags = GPOINTER_TO_INT (user_data);

  return socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | flags, NETLINK_ROUTE);
}

struct mnl_socket *
open_bound_socket (int       netns_fd,
                   gboolean  nonblocking)
{
  struct mnl_socket *nl;
  int fd, errsv;

  fd = tun_tap_netns_open (netns_fd, open_route_socket,
                           GINT_TO_POINTER (nonblocking ? SOCK_NONBLOCK : 0));
  if (fd < 0)
    return NULL;
  nl = mnl_socket_fdopen (fd);
  if (nl == NULL)
    {
      errsv = errno;
      close (fd);
      errno = errsv;
      return NULL;
    }
  if (mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      errsv = errno;
      mnl_socket_close (nl);
      errno = errsv;
      return NULL;
    }
  return nl;
}

TunTapNetlink *
tun_tap_netlink_open (int      netns_fd,
                      GError **error)
{
  struct timeval timeout = { REPLY_TIMEOUT_SECONDS, 0 };
  TunTapNetlink *self;
  struct mnl_socket *nl;

  nl = open_bound_socket (netns_fd, FALSE);
  if (nl == NULL)
    {
      tun_tap_set_error (error, errno, TUN_TAP_ERRNO_LINK,
                         _("open an rtnetlink socket in the interface’s network namespace"),
                         NULL, NULL);
      return NULL;
    }

  set_flag_option (nl, NETLINK_EXT_ACK);
  set_flag_option (nl, NETLINK_CAP_ACK);
  /* Lets the kernel filter address dumps by ifindex. */
  set_flag_option (nl, NETLINK_GET_STRICT_CHK);
  setsockopt (mnl_socket_get_fd (nl), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  self = g_new0 (TunTapNetlink, 1);
  self->nl = nl;
  self->portid = mnl_socket_get_portid (nl);
  self->buffer = g_malloc (RECV_BUFFER_SIZE);
  return self;
}

void
tun_tap_netlink_close (TunTapNetlink *self)
{
  if (self == NULL)
    return;
  mnl_socket_close (self->nl);
  g_free (self->buffer);
  g_free (self);
}

int
transact (TunTapNetlink    *self,
          struct nlmsghdr  *req,
          ReplyFunc         reply_func,
          gpointer          user_data,
          char            **extack)
{
  unsigned int seq;
  int result = 0;
  gboolean done = FALSE, interrupted = FALSE;

  *extack = NULL;

  /* Replies to an earlier request that timed out carry an older sequence
   * number and are skipped below. */
  seq = ++self->seq;
  if (seq == 0)
    seq = ++self->seq;
  req->nlmsg_seq = seq;
  req->nlmsg_pid = 0;
  req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;

  if (mnl_socket_sendto (self->nl, req, req->nlmsg_len) < 0)
    return errno;

  while (!done)
    {
      const struct nlmsghdr *nlh;
      ssize_t n;
      int len;

      n = mnl_socket_recvfrom (self->nl, self->buffer, RECV_BUFFER_SIZE);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return (errno == EAGAIN || errno == EWOULDBLOCK) ? ETIMEDOUT : errno;
        }

      len = (int) n;
      for (nlh = (const struct nlmsghdr *) self->buffer;
           !done && mnl_nlmsg_ok (nlh, len);
           nlh = mnl_nlmsg_next (nlh, &len))
        {
          if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != self->portid)
            continue;
          if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
            interrupted = TRUE;

          switch (nlh->nlmsg_type)
            {
            case NLMSG_ERROR:
              result = parse_ack (nlh, extack);
              done = TRUE;
              break;
            case NLMSG_DONE:
              result = parse_done (nlh, extack);
              done = TRUE;
              break;
            case NLMSG_NOOP:
            case NLMSG_OVERRUN:
              break;
            default:
              if (reply_func != NULL)
                reply_func (nlh, user_data);
              break;
            }
        }
    }

  if (result == 0 && interrupted)
    result = EAGAIN;
  return result;
}

struct nlmsghdr *
put_request (RequestBuffer *buffer,
             guint16        type,
             guint16        flags)
{
  struct nlmsghdr *nlh;

  memset (buffer, 0, sizeof *buffer);
  nlh = mnl_nlmsg_put_header (buffer->bytes);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  return nlh;
}

struct nlmsghdr *
put_link_request (RequestBuffer   *buffer,
                  guint16          type,
                  int              ifindex,
                  struct ifinfomsg **out_ifm)
{
  struct nlmsghdr *nlh = put_request (buffer, type, 0);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header (nlh, sizeof *ifm);

  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = ifindex;
  if (out_ifm != NULL)
    *out_ifm = ifm;
  return nlh;
}

/* -------------------------------------------------------------------- */
/* Parsing                                                               */

typedef struct {
  const struct nlattr *attrs[IFLA_MAX + 1];
} LinkAttrs;

static int
link_attr_cb (const struct nlattr *attr,
              void                *data)
{
  LinkAttrs *tb = data;
  guint16 type = mnl_attr_get_type (attr);
  int valid;

  /* Attributes newer than our headers are skipped, not refused. */
  if (mnl_attr_type_valid (attr, IFLA_MAX) < 0)
    return MNL_CB_OK;

  switch (type)
    {
    case IFLA_IFNAME:
      valid = mnl_attr_validate (attr, MNL_TYPE_NUL_STRING);
      break;
    case IFLA_MTU:
      valid = mnl_attr_validate (attr, MNL_TYPE_U32);
      break;
    case IFLA_CARRIER:
      valid = mnl_attr_validate (attr, MNL_TYPE_U8);
      break;
    case IFLA_LINKINFO:
      valid = mnl_attr_validate (attr, MNL_TYPE_NESTED);
      break;
    case IFLA_ADDRESS:
      valid = mnl_attr_validate (attr, MNL_TYPE_BINARY);
      break;
    default:
      return MNL_CB_OK;
    }

  if (valid < 0)
    return MNL_CB_ERROR;
  tb->attrs[type] = attr;
  return MNL_CB_OK;
}

typedef struct {
  const struct nlattr *kind;
  const struct nlattr *data;
} LinkInfoAttrs;

static int
linkinfo_attr_cb (const struct nlattr *attr,
                  void                *data)
{
  LinkInfoAttrs *tb = data;

  if (mnl_attr_type_valid (attr, IFLA_INFO_MAX) < 0)
    return MNL_CB_OK;

  switch (mnl_attr_get_type (attr))
    {
    case IFLA_INFO_KIND:
      if (mnl_attr_validate (attr, MNL_TYPE_NUL_STRING) < 0)
        return MNL_CB_ERROR;
      tb->kind = attr;
      break;
    case IFLA_INFO_DATA:
      if (mnl_attr_validate (attr, MNL_TYPE_NESTED) < 0)
        return MNL_CB_ERROR;
      tb->data = attr;
      break;
    default:
      break;
    }
  return MNL_CB_OK;
}

static int
tun_attr_cb (const struct nlattr *attr,
             void                *data)
{
  TunTapLinkInfo *info = data;

  if (mnl_attr_type_valid (attr, IFLA_TUN_MAX) < 0)
    return MNL_CB_OK;

  switch (mnl_attr_get_type (attr))
    {
    case IFLA_TUN_OWNER:
      if (mnl_attr_validate (attr, MNL_TYPE_U32) < 0)
        return MNL_CB_ERROR;
      info->owner = mnl_attr_get_u32 (attr);
      break;
    case IFLA_TUN_GROUP:
      if (mnl_attr_validate (attr, MNL_TYPE_U32) < 0)
        return MNL_CB_ERROR;
      info->group = mnl_attr_get_u32 (attr);
      break;
    case IFLA_TUN_TYPE:
      if (mnl_attr_validate (attr, MNL_TYPE_U8) < 0)
        return MNL_CB_ERROR;
      info->tun_type = mnl_attr_get_u8 (attr);
      break;
    case IFLA_TUN_PI:
      if (mnl_attr_validate (attr, MNL_TYPE_U8) < 0)
        return MNL_CB_ERROR;
      info->pi = mnl_attr_get_u8 (attr) != 0;
      break;
    case IFLA_TUN_VNET_HDR:
      if (mnl_attr_validate (attr, MNL_TYPE_U8) < 0)
        return MNL_CB_ERROR;
      info->vnet_hdr = mnl_attr_get_u8 (attr) != 0;
      break;
    case IFLA_TUN_PERSIST:
      if (mnl_attr_validate (attr, MNL_TYPE_U8) < 0)
        return MNL_CB_ERROR;
      info->persist = mnl_attr_get_u8 (attr) != 0;
      break;
    case IFLA_TUN_MULTI_QUEUE:
      if (mnl_attr_validate (attr, MNL_TYPE_U8) < 0)
        return MNL_CB_ERROR;
      info->multi_queue = mnl_attr_get_u8 (attr) != 0;
      break;
    case IFLA_TUN_NUM_QUEUES:
      if (mnl_attr_validate (attr, MNL_TYPE_U32) < 0)
        return MNL_CB_ERROR;
      info->num_queues = mnl_attr_get_u32 (attr);
      break;
    case IFLA_TUN_NUM_DISABLED_QUEUES:
      if (mnl_attr_validate (attr, MNL_TYPE_U32) < 0)
        return MNL_CB_ERROR;
      info->num_disabled_queues = mnl_attr_get_u32 (attr);
      break;
    default:
      break;
    }
  return MNL_CB_OK;
}

void
link_info_init (TunTapLinkInfo *info)
{
  memset (info, 0, sizeof *info);
  info->owner = -1;
  info->group = -1;
}

/* libmnl finds the end of a message at MNL_ALIGN(nlmsg_len), which for an
 * unaligned length lies up to 3 bytes past the data; the kernel only ever
 * sends aligned lengths, so anything else is refused. */
static gboolean
message_fits (const struct nlmsghdr *nlh,
              size_t                 header_size)
{
  return nlh->nlmsg_len >= NLMSG_HDRLEN &&
         nlh->nlmsg_len % NLMSG_ALIGNTO == 0 &&
         nlh->nlmsg_len - NLMSG_HDRLEN >= header_size;
}

static gboolean
parse_link_message (const struct nlmsghdr *nlh,
                    TunTapLinkInfo        *info)
{
  const struct ifinfomsg *ifm;
  LinkAttrs tb = { { NULL } };

  if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
    return FALSE;
  if (!message_fits (nlh, sizeof (struct ifinfomsg)))
    return FALSE;

  ifm = mnl_nlmsg_get_payload (nlh);
  if (ifm->ifi_family != AF_UNSPEC || ifm->ifi_index <= 0)
    return FALSE;
  if (mnl_attr_parse (nlh, sizeof (struct ifinfomsg), link_attr_cb, &tb) != MNL_CB_OK)
    return FALSE;

  info->ifindex = ifm->ifi_index;
  info->up = (ifm->ifi_flags & IFF_UP) != 0;
  info->carrier = (ifm->ifi_flags & IFF_LOWER_UP) != 0;

  /* The kernel always names the link; without a name the attributes were
   * cut short (libmnl stops quietly at the first malformed one). */
  if (tb.attrs[IFLA_IFNAME] == NULL)
    return FALSE;
  g_strlcpy (info->name, mnl_attr_get_str (tb.attrs[IFLA_IFNAME]), sizeof info->name);
  if (tb.attrs[IFLA_MTU] != NULL)
    info->mtu = mnl_attr_get_u32 (tb.attrs[IFLA_MTU]);
  if (tb.attrs[IFLA_CARRIER] != NULL)
    info->carrier = mnl_attr_get_u8 (tb.attrs[IFLA_CARRIER]) != 0;
  if (tb.attrs[IFLA_ADDRESS] != NULL &&
      mnl_attr_get_payload_len (tb.attrs[IFLA_ADDRESS]) == sizeof info->hwaddr)
    {
      memcpy (info->hwaddr, mnl_attr_get_payload (tb.attrs[IFLA_ADDRESS]), sizeof info->hwaddr);
      info->has_hwaddr = TRUE;
    }

  if (tb.attrs[IFLA_LINKINFO] != NULL)
    {
      LinkInfoAttrs linkinfo = { NULL, NULL };

      if (mnl_attr_parse_nested (tb.attrs[IFLA_LINKINFO], linkinfo_attr_cb, &linkinfo) != MNL_CB_OK)
        return FALSE;
      if (linkinfo.kind != NULL && strcmp (mnl_attr_get_str (linkinfo.kind), "tun") == 0)
        {
          info->is_tun = TRUE;
          if (linkinfo.data != NULL &&
              mnl_attr_parse_nested (linkinfo.data, tun_attr_cb, info) != MNL_CB_OK)
            return FALSE;
        }
    }

  return TRUE;
}

gboolean
tun_tap_netlink_parse_link (const struct nlmsghdr *nlh,
                            TunTapLinkInfo        *info)
{
  g_return_val_if_fail (info != NULL, FALSE);

  link_info_init (info);
  if (nlh == NULL)
    return FALSE;
  if (!parse_link_message (nlh, info))
    {
      link_info_init (info);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  int                  family;
  const struct nlattr *local;
  const struct nlattr *address;
  const struct nlattr *flags;
} AddressAttrs;

static int
address_attr_cb (const struct nlattr *attr,
                 void                *data)
{
  AddressAttrs *tb = data;
  size_t size = tb->family == AF_INET ? 4 : 16;
  guint16 type;

  if (mnl_attr_type_valid (attr, IFA_MAX) < 0)
    return MNL_CB_OK;

  type = mnl_attr_get_type (attr);
  if (type == IFA_FLAGS)
    {
      if (mnl_attr_validate (attr, MNL_TYPE_U32) < 0)
        return MNL_CB_ERROR;
      tb->flags = attr;
      return MNL_CB_OK;
    }
  if (type != IFA_LOCAL && type != IFA_ADDRESS)
    return MNL_CB_OK;
  if (mnl_attr_validate2 (attr, MNL_TYPE_BINARY, size) < 0 ||
      mnl_attr_get_payload_len (attr) != size)
    return MNL_CB_ERROR;
  if (type == IFA_LOCAL)
    tb->local = attr;
  else
    tb->address = attr;
  return MNL_CB_OK;
}

/* IPv4 sends IFA_LOCAL always and IFA_ADDRESS as the peer (or the local
 * address again); IPv6 sends IFA_ADDRESS alone unless there is a peer. */
gboolean
parse_address (const struct nlmsghdr *nlh,
               ParsedAddress         *out)
{
  const struct ifaddrmsg *ifa;
  AddressAttrs tb = { 0, NULL, NULL, NULL };
  size_t size;

  memset (out, 0, sizeof *out);
  if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
    return FALSE;
  if (!message_fits (nlh, sizeof (struct ifaddrmsg)))
    return FALSE;

  ifa = mnl_nlmsg_get_payload (nlh);
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
    return FALSE;
  size = ifa->ifa_family == AF_INET ? 4 : 16;
  if (ifa->ifa_prefixlen > size * 8)
    return FALSE;

  tb.family = ifa->ifa_family;
  if (mnl_attr_parse (nlh, sizeof (struct ifaddrmsg), address_attr_cb, &tb) != MNL_CB_OK)
    return FALSE;
  if (tb.local == NULL && tb.address == NULL)
    return FALSE;

  out->family = ifa->ifa_family;
  out->ifindex = (int) ifa->ifa_index;
  out->prefix_length = ifa->ifa_prefixlen;
  memcpy (out->local, mnl_attr_get_payload (tb.local != NULL ? tb.local : tb.address), size);
  if (tb.local != NULL && tb.address != NULL &&
      memcmp (mnl_attr_get_payload (tb.address), out->local, size) != 0)
    {
      memcpy (out->peer, mnl_attr_get_payload (tb.address), size);
      out->has_peer = TRUE;
    }
  /* IFA_FLAGS carries all 32 bits; ifa_flags only the low 8. */
  out->flags = tb.flags != NULL ? mnl_attr_get_u32 (tb.flags) : ifa->ifa_flags;
  return TRUE;
}

TunTapAddress *
parsed_address_to_address (const ParsedAddress *parsed)
{
  GSocketFamily family = parsed->family == AF_INET ? G_SOCKET_FAMILY_IPV4
                                                   : G_SOCKET_FAMILY_IPV6;
  g_autoptr(GInetAddress) local = g_inet_address_new_from_bytes (parsed->local, family);
  g_autoptr(GInetAddress) peer = NULL;
  TunTapAddressFlags flags = TUN_TAP_ADDRESS_FLAGS_NONE;

  if (parsed->has_peer)
    peer = g_inet_address_new_from_bytes (parsed->peer, family);
  if (parsed->flags & IFA_F_TENTATIVE)
    flags |= TUN_TAP_ADDRESS_FLAGS_TENTATIVE;
  if (parsed->flags & IFA_F_DEPRECATED)
    flags |= TUN_TAP_ADDRESS_FLAGS_DEPRECATED;
  if (parsed->flags & IFA_F_DADFAILED)
    flags |= TUN_TAP_ADDRESS_FLAGS_DAD_FAILED;
  return tun_tap_address_new_full (local, parsed->prefix_length, peer, flags);
}

