/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tun-tap-netlink.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <glib-unix.h>

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* A reply never takes this long unless the kernel is wedged; better an
 * error than a frozen main loop. */
#define REPLY_TIMEOUT_SECONDS 5

/* Room for one datagram of replies or notifications; a datagram that does
 * not fit is reported as MSG_TRUNC and treated as lost. */
#define RECV_BUFFER_SIZE 32768

/* Requests are a header and a few small attributes. */
#define REQUEST_BUFFER_SIZE 512

/* Kernel socket buffer for the monitor: enough for a burst of a few
 * thousand notifications before ENOBUFS forces a re-sync. */
#define MONITOR_RCVBUF (1024 * 1024)

/* Datagrams read per wake-up, so a flood cannot starve the main loop. */
#define MONITOR_RECV_BUDGET 64

/* Metric the kernel gives the IPv6 routes it makes for addresses. */
#define IP6_RT_PRIO_ADDRCONF 256

typedef union {
  struct nlmsghdr header;
  char            bytes[REQUEST_BUFFER_SIZE];
} RequestBuffer;

/* -------------------------------------------------------------------- */
/* Errors                                                                */

/* “interface 7” when the caller has no name at hand. */
static char *
device_label (int         ifindex,
              const char *devname)
{
  return devname != NULL ? g_strdup_printf ("“%s”", devname)
                         : g_strdup_printf ("interface %d", ifindex);
}

/* Builds “Cannot <what>: <reason> (the kernel says “<extack>”); <advice>”,
 * where @what names the device. @hint replaces the default advice. */
static void
set_error (GError     **error,
           int          errsv,
           const char  *extack,
           const char  *hint,
           const char  *what)
{
  GString *message;
  const char *reason;
  const char *advice = NULL;
  GIOErrorEnum code;

  if (error == NULL)
    return;

  switch (errsv)
    {
    case EADDRNOTAVAIL:
      code = G_IO_ERROR_INVALID_ARGUMENT;
      reason = "the address is not present on the interface or cannot be assigned to it";
      advice = "check the address, prefix length and peer against the interface’s addresses";
      break;
    case EEXIST:
      code = G_IO_ERROR_EXISTS;
      reason = "it already exists";
      advice = "remove it first or leave it as it is";
      break;
    case EPERM:
    case EACCES:
      code = G_IO_ERROR_PERMISSION_DENIED;
      reason = "permission denied";
      advice = "changing a link needs CAP_NET_ADMIN in its network namespace (run as "
               "root, or inside a user and network namespace of your own)";
      break;
    case ENODEV:
      code = G_IO_ERROR_NO_SUCH_DEVICE;
      reason = "the interface no longer exists";
      advice = "create the device again";
      break;
    case ENETDOWN:
      code = G_IO_ERROR_NETWORK_UNREACHABLE;
      reason = "the link is down";
      advice = "bring it up first";
      break;
    case EINVAL:
      code = G_IO_ERROR_INVALID_ARGUMENT;
      reason = "the kernel refused the value as invalid";
      break;
    case EOPNOTSUPP:
      code = G_IO_ERROR_NOT_SUPPORTED;
      reason = "the device does not support this";
      break;
    case ESRCH:
      code = G_IO_ERROR_NOT_FOUND;
      reason = "there is no such route";
      advice = "check the destination, prefix length and gateway";
      break;
    case ETIMEDOUT:
      code = G_IO_ERROR_TIMED_OUT;
      reason = "the kernel did not answer in time";
      break;
    default:
      code = g_io_error_from_errno (errsv);
      reason = g_strerror (errsv);
      break;
    }

  if (hint != NULL)
    advice = hint;

  message = g_string_new (NULL);
  g_string_append_printf (message, "Cannot %s: %s", what, reason);
  if (extack != NULL && *extack != '\0')
    g_string_append_printf (message, " (the kernel says “%s”)", extack);
  if (advice != NULL)
    g_string_append_printf (message, "; %s", advice);

  g_set_error_literal (error, G_IO_ERROR, code, message->str);
  g_string_free (message, TRUE);
}

/* -------------------------------------------------------------------- */
/* Request/reply transport                                               */

/* Called for each reply message that is neither an ack nor an error. */
typedef void (*ReplyFunc) (const struct nlmsghdr *nlh,
                           gpointer               user_data);

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

/* Sends @req (a single request; NLM_F_REQUEST and NLM_F_ACK are added) on a
 * fresh socket and reads until the ack, the error or the end of the dump.
 * Returns 0 or a positive errno; *@extack gets the kernel's message. */
static int
transact (struct nlmsghdr  *req,
          ReplyFunc         reply_func,
          gpointer          user_data,
          char            **extack)
{
  static gint last_seq = 0;
  struct mnl_socket *nl;
  struct timeval timeout = { REPLY_TIMEOUT_SECONDS, 0 };
  g_autofree char *buffer = NULL;
  unsigned int portid, seq;
  int result = 0;
  gboolean done = FALSE;

  *extack = NULL;

  nl = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl == NULL)
    return errno;

  set_flag_option (nl, NETLINK_EXT_ACK);
  set_flag_option (nl, NETLINK_CAP_ACK);
  /* Lets the kernel filter address dumps by ifindex. */
  set_flag_option (nl, NETLINK_GET_STRICT_CHK);
  setsockopt (mnl_socket_get_fd (nl), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  if (mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      result = errno;
      goto out;
    }
  portid = mnl_socket_get_portid (nl);

  seq = (unsigned int) g_atomic_int_add (&last_seq, 1) + 1;
  req->nlmsg_seq = seq;
  req->nlmsg_pid = 0;
  req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;

  if (mnl_socket_sendto (nl, req, req->nlmsg_len) < 0)
    {
      result = errno;
      goto out;
    }

  buffer = g_malloc (RECV_BUFFER_SIZE);
  while (!done)
    {
      const struct nlmsghdr *nlh;
      ssize_t n;
      int len;

      n = mnl_socket_recvfrom (nl, buffer, RECV_BUFFER_SIZE);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          result = (errno == EAGAIN || errno == EWOULDBLOCK) ? ETIMEDOUT : errno;
          goto out;
        }

      len = (int) n;
      for (nlh = (const struct nlmsghdr *) buffer;
           !done && mnl_nlmsg_ok (nlh, len);
           nlh = mnl_nlmsg_next (nlh, &len))
        {
          if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
            continue;

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

out:
  mnl_socket_close (nl);
  return result;
}

static struct nlmsghdr *
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

static struct nlmsghdr *
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

static void
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
  int      family;
  int      ifindex;
  guint    prefix_length;
  guint8   local[16];
  guint8   peer[16];
  gboolean has_peer;
} ParsedAddress;

typedef struct {
  int                  family;
  const struct nlattr *local;
  const struct nlattr *address;
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
static gboolean
parse_address (const struct nlmsghdr *nlh,
               ParsedAddress         *out)
{
  const struct ifaddrmsg *ifa;
  AddressAttrs tb = { 0, NULL, NULL };
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
  return TRUE;
}

/* -------------------------------------------------------------------- */
/* Links                                                                 */

typedef struct {
  int             ifindex;
  TunTapLinkInfo *info;
  gboolean        found;
} GetLinkData;

static void
get_link_reply (const struct nlmsghdr *nlh,
                gpointer               user_data)
{
  GetLinkData *data = user_data;
  TunTapLinkInfo info;

  if (!data->found && tun_tap_netlink_parse_link (nlh, &info) && info.ifindex == data->ifindex)
    {
      *data->info = info;
      data->found = TRUE;
    }
}

static int
get_link (int             ifindex,
          TunTapLinkInfo *info,
          char          **extack)
{
  RequestBuffer buffer;
  struct nlmsghdr *nlh;
  GetLinkData data = { ifindex, info, FALSE };
  int errsv;

  nlh = put_link_request (&buffer, RTM_GETLINK, ifindex, NULL);
#ifdef RTEXT_FILTER_SKIP_STATS
  mnl_attr_put_u32 (nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
#endif
  errsv = transact (nlh, get_link_reply, &data, extack);
  if (errsv == 0 && !data.found)
    errsv = EPROTO;
  return errsv;
}

gboolean
tun_tap_netlink_get_link (int              ifindex,
                          TunTapLinkInfo  *info,
                          GError         **error)
{
  g_autofree char *extack = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);

  link_info_init (info);
  errsv = get_link (ifindex, info, &extack);
  if (errsv != 0)
    {
      g_autofree char *dev = device_label (ifindex, NULL);
      g_autofree char *what = g_strdup_printf ("read the state of %s", dev);

      link_info_init (info);
      set_error (error, errsv, extack, NULL, what);
      return FALSE;
    }
  return TRUE;
}

static int restore_ipv6_peer_routes (int ifindex, char **extack);

gboolean
tun_tap_netlink_set_up (int          ifindex,
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

  errsv = transact (nlh, NULL, NULL, &extack);
  if (errsv != 0)
    {
      g_autofree char *dev = device_label (ifindex, devname);
      g_autofree char *what = g_strdup_printf ("bring %s %s", dev, up ? "up" : "down");

      set_error (error, errsv, extack, NULL, what);
      return FALSE;
    }

  if (up)
    {
      g_autofree char *route_extack = NULL;

      /* The link is up as asked; a missing peer route is not worth failing
       * for, and the next set_up tries again. */
      errsv = restore_ipv6_peer_routes (ifindex, &route_extack);
      if (errsv != 0)
        g_debug ("Cannot add the IPv6 peer routes of %s: %s%s%s",
                 devname != NULL ? devname : "?", g_strerror (errsv),
                 route_extack != NULL ? ": " : "", route_extack != NULL ? route_extack : "");
    }

  return TRUE;
}

gboolean
tun_tap_netlink_set_mtu (int          ifindex,
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

  errsv = transact (nlh, NULL, NULL, &extack);
  if (errsv == 0)
    return TRUE;

  dev = device_label (ifindex, devname);
  what = g_strdup_printf ("set the MTU of %s to %u", dev, mtu);
  set_error (error, errsv, extack,
             errsv == EINVAL ? "the MTU must be 68 to 65535 on a TUN device and 68 to "
                               "65521 on a TAP device" : NULL,
             what);
  return FALSE;
}

gboolean
tun_tap_netlink_set_hwaddr (int           ifindex,
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

  errsv = transact (nlh, NULL, NULL, &extack);
  if (errsv == 0)
    return TRUE;

  dev = device_label (ifindex, devname);
  what = g_strdup_printf ("set the hardware address of %s to %02x:%02x:%02x:%02x:%02x:%02x",
                          dev, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  if (errsv == EOPNOTSUPP)
    hint = "a TUN device has no hardware address; only a TAP device has one";
  else if (errsv == EADDRNOTAVAIL)
    hint = "use a unicast address that is not all zeros, such as 02:00:00:00:00:01";
  set_error (error, errsv, extack, hint, what);
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

typedef struct {
  int         ifindex;
  AddressFunc func;
  gpointer    user_data;
} DumpAddressData;

static void
dump_address_reply (const struct nlmsghdr *nlh,
                    gpointer               user_data)
{
  DumpAddressData *data = user_data;
  ParsedAddress address;

  /* The kernel filters by ifindex when it honours strict checking; older
   * ones send every address. */
  if (nlh->nlmsg_type == RTM_NEWADDR && parse_address (nlh, &address) &&
      address.ifindex == data->ifindex)
    data->func (&address, data->user_data);
}

static int
dump_addresses (int           ifindex,
                int           family,
                AddressFunc   func,
                gpointer      user_data,
                char        **extack)
{
  RequestBuffer buffer;
  struct nlmsghdr *nlh;
  struct ifaddrmsg *ifa;
  DumpAddressData data = { ifindex, func, user_data };

  nlh = put_request (&buffer, RTM_GETADDR, NLM_F_DUMP);
  ifa = mnl_nlmsg_put_extra_header (nlh, sizeof *ifa);
  ifa->ifa_family = family;
  ifa->ifa_index = ifindex;
  return transact (nlh, dump_address_reply, &data, extack);
}

static int
address_request (guint16       type,
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
  return transact (nlh, NULL, NULL, extack);
}

static int
route_request (guint16       type,
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
  return transact (nlh, NULL, NULL, extack);
}

/* The route the kernel itself makes for an IPv6 peer when the address is
 * added on an up link; EEXIST means it did. */
static int
add_ipv6_peer_route (int           ifindex,
                     const guint8  peer[16],
                     char        **extack)
{
  int errsv;

  errsv = route_request (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, AF_INET6,
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
restore_ipv6_peer_routes (int    ifindex,
                          char **extack)
{
  g_autoptr(GArray) peers = g_array_new (FALSE, FALSE, sizeof (ParsedAddress));
  int errsv;

  errsv = dump_addresses (ifindex, AF_INET6, collect_ipv6_peer, peers, extack);
  for (guint i = 0; errsv == 0 && i < peers->len; i++)
    {
      g_clear_pointer (extack, g_free);
      errsv = add_ipv6_peer_route (ifindex, g_array_index (peers, ParsedAddress, i).peer, extack);
    }
  return errsv;
}

/* Checked here: the kernel would read the other address with the wrong
 * length, or refuse it without saying why. */
static gboolean
check_address_family (GInetAddressMask *address,
                      GInetAddress     *other,
                      const char       *what,
                      const char       *role,
                      GError          **error)
{
  GInetAddress *local = g_inet_address_mask_get_address (address);
  g_autofree char *local_text = NULL;
  g_autofree char *other_text = NULL;

  if (other == NULL || g_inet_address_get_family (other) == g_inet_address_get_family (local))
    return TRUE;

  local_text = g_inet_address_to_string (local);
  other_text = g_inet_address_to_string (other);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "Cannot %s: the %s %s is not of the same family as %s; give both as "
               "IPv4 or both as IPv6", what, role, other_text, local_text);
  return FALSE;
}

gboolean
tun_tap_netlink_add_address (int                ifindex,
                             const char        *devname,
                             GInetAddressMask  *address,
                             GInetAddress      *peer,
                             GError           **error)
{
  GInetAddress *local;
  g_autofree char *extack = NULL;
  g_autofree char *dev = NULL;
  g_autofree char *what = NULL;
  g_autofree char *prefix = NULL;
  const guint8 *local_bytes;
  const guint8 *peer_bytes;
  guint length;
  int family, errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (address), FALSE);
  g_return_val_if_fail (peer == NULL || G_IS_INET_ADDRESS (peer), FALSE);

  local = g_inet_address_mask_get_address (address);
  length = g_inet_address_mask_get_length (address);
  family = socket_family (local);
  prefix = format_prefix (local, length);
  dev = device_label (ifindex, devname);
  if (peer != NULL)
    {
      g_autofree char *peer_text = g_inet_address_to_string (peer);
      what = g_strdup_printf ("add address %s with peer %s to %s", prefix, peer_text, dev);
    }
  else
    what = g_strdup_printf ("add address %s to %s", prefix, dev);

  if (!check_address_family (address, peer, what, "peer", error))
    return FALSE;

  local_bytes = g_inet_address_to_bytes (local);
  peer_bytes = peer != NULL ? g_inet_address_to_bytes (peer) : local_bytes;

  errsv = address_request (RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, family,
                           local_bytes, length, peer_bytes, &extack);
  if (errsv != 0)
    {
      const char *hint = NULL;

      if (errsv == EINVAL && family == AF_INET6)
        hint = "check the prefix length (at most 128); IPv6 also needs an MTU of at "
               "least 1280";
      else if (errsv == EINVAL)
        hint = "check the prefix length (at most 32)";
      set_error (error, errsv, extack, hint, what);
      return FALSE;
    }

  if (family == AF_INET6 && peer != NULL)
    {
      g_clear_pointer (&extack, g_free);
      errsv = add_ipv6_peer_route (ifindex, peer_bytes, &extack);
      /* On a down link tun_tap_netlink_set_up() adds it later. */
      if (errsv != 0 && errsv != ENETDOWN)
        {
          g_autofree char *ignored = NULL;
          g_autofree char *route_what = g_strdup_printf ("add the route to the peer of %s on %s",
                                                         prefix, dev);

          set_error (error, errsv, extack, NULL, route_what);
          address_request (RTM_DELADDR, 0, ifindex, family, local_bytes, length,
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
tun_tap_netlink_remove_address (int                ifindex,
                                const char        *devname,
                                GInetAddressMask  *address,
                                GInetAddress      *peer,
                                GError           **error)
{
  GInetAddress *local;
  FindAddressData data = { 0, };
  g_autofree char *extack = NULL;
  g_autofree char *dev = NULL;
  g_autofree char *what = NULL;
  g_autofree char *prefix = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS_MASK (address), FALSE);
  g_return_val_if_fail (peer == NULL || G_IS_INET_ADDRESS (peer), FALSE);

  local = g_inet_address_mask_get_address (address);
  prefix = format_prefix (local, g_inet_address_mask_get_length (address));
  dev = device_label (ifindex, devname);
  if (peer != NULL)
    {
      g_autofree char *peer_text = g_inet_address_to_string (peer);
      what = g_strdup_printf ("remove address %s with peer %s from %s", prefix, peer_text, dev);
    }
  else
    what = g_strdup_printf ("remove address %s from %s", prefix, dev);

  if (!check_address_family (address, peer, what, "peer", error))
    return FALSE;

  /* Look the address up first: the kernel matches an IPv4 address by its
   * peer and an IPv6 one regardless of it, and the caller may not know the
   * peer at all (tun_tap_netlink_get_addresses() does not report it). */
  data.family = socket_family (local);
  data.length = g_inet_address_mask_get_length (address);
  data.local = g_inet_address_to_bytes (local);
  data.peer = peer != NULL ? g_inet_address_to_bytes (peer) : NULL;
  errsv = dump_addresses (ifindex, data.family, find_address, &data, &extack);
  if (errsv == 0 && !data.found)
    errsv = EADDRNOTAVAIL;

  if (errsv == 0)
    errsv = address_request (RTM_DELADDR, 0, ifindex, data.family, data.local,
                             data.length, data.address, &extack);
  if (errsv != 0)
    {
      set_error (error, errsv, extack, NULL, what);
      return FALSE;
    }
  return TRUE;
}

static GInetAddressMask *
mask_new (GInetAddress *address,
          guint         length)
{
  GInetAddressMask *mask;

  mask = g_inet_address_mask_new (address, length, NULL);
  if (mask != NULL)
    return mask;

  /* An interface address keeps its host bits ("192.0.2.1/24"), which
   * GInetAddressMask's GInitable refuses; its properties hold them fine. */
  return g_object_new (G_TYPE_INET_ADDRESS_MASK, "address", address, "length", length, NULL);
}

static void
collect_mask (const ParsedAddress *address,
              gpointer             user_data)
{
  GPtrArray *masks = user_data;
  g_autoptr(GInetAddress) local = NULL;

  local = g_inet_address_new_from_bytes (address->local,
                                         address->family == AF_INET ? G_SOCKET_FAMILY_IPV4
                                                                    : G_SOCKET_FAMILY_IPV6);
  g_ptr_array_add (masks, mask_new (local, address->prefix_length));
}

GPtrArray *
tun_tap_netlink_get_addresses (int      ifindex,
                               GError **error)
{
  g_autoptr(GPtrArray) masks = NULL;
  g_autofree char *extack = NULL;
  int errsv;

  g_return_val_if_fail (ifindex > 0, NULL);

  masks = g_ptr_array_new_with_free_func (g_object_unref);
  errsv = dump_addresses (ifindex, AF_UNSPEC, collect_mask, masks, &extack);
  if (errsv != 0)
    {
      g_autofree char *dev = device_label (ifindex, NULL);
      g_autofree char *what = g_strdup_printf ("list the addresses of %s", dev);

      set_error (error, errsv, extack, NULL, what);
      return NULL;
    }
  return g_steal_pointer (&masks);
}

static char *
describe_route (const char       *verb,
                const char       *dev,
                GInetAddressMask *destination,
                GInetAddress     *gateway)
{
  g_autofree char *prefix = format_prefix (g_inet_address_mask_get_address (destination),
                                           g_inet_address_mask_get_length (destination));
  g_autofree char *via = gateway != NULL ? g_inet_address_to_string (gateway) : NULL;

  if (via != NULL)
    return g_strdup_printf ("%s the route to %s via %s on %s", verb, prefix, via, dev);
  return g_strdup_printf ("%s the route to %s on %s", verb, prefix, dev);
}

static gboolean
change_route (gboolean           add,
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
  what = describe_route (add ? "add" : "remove", dev, destination, gateway);
  if (!check_address_family (destination, gateway, what, "gateway", error))
    return FALSE;

  network = g_inet_address_mask_get_address (destination);
  if (add)
    errsv = route_request (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex,
                           socket_family (network), g_inet_address_to_bytes (network),
                           g_inet_address_mask_get_length (destination),
                           gateway != NULL ? g_inet_address_to_bytes (gateway) : NULL,
                           RTPROT_BOOT,
                           gateway != NULL ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
                           RTN_UNICAST, 0, &extack);
  else
    /* Protocol, type and scope left open: remove whatever route matches,
     * including the ones the kernel made. */
    errsv = route_request (RTM_DELROUTE, 0, ifindex,
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
      hint = "the gateway must be reachable through this link; add an address whose "
             "prefix contains it first";
      break;
    case EINVAL:
      hint = "check the prefix length and that the destination has no bits set "
             "beyond it";
      break;
    default:
      break;
    }
  set_error (error, errsv, extack, hint, what);
  return FALSE;
}

gboolean
tun_tap_netlink_add_route (int                ifindex,
                           const char        *devname,
                           GInetAddressMask  *destination,
                           GInetAddress      *gateway,
                           GError           **error)
{
  return change_route (TRUE, ifindex, devname, destination, gateway, error);
}

gboolean
tun_tap_netlink_remove_route (int                ifindex,
                              const char        *devname,
                              GInetAddressMask  *destination,
                              GInetAddress      *gateway,
                              GError           **error)
{
  return change_route (FALSE, ifindex, devname, destination, gateway, error);
}

/* -------------------------------------------------------------------- */
/* The monitor                                                           */

typedef struct {
  guint                    id;
  int                      ifindex;
  TunTapNetlinkLinkFunc    link_func;
  TunTapNetlinkAddressFunc address_func;
  gpointer                 user_data;
} Watch;

struct _TunTapNetlinkMonitor {
  int                ref_count;   /* under monitors_lock */
  GMainContext      *context;
  struct mnl_socket *nl;
  GSource           *source;
  guint8            *buffer;
  gboolean           resync_pending;

  GMutex             lock;        /* watches and next_watch_id */
  GPtrArray         *watches;     /* (element-type Watch) */
  guint              next_watch_id;
};

/* GMainContext → TunTapNetlinkMonitor, neither referenced by the table. */
static GMutex monitors_lock;
static GHashTable *monitors;

static void
monitor_ref (TunTapNetlinkMonitor *monitor)
{
  g_mutex_lock (&monitors_lock);
  monitor->ref_count++;
  g_mutex_unlock (&monitors_lock);
}

static void
monitor_free (TunTapNetlinkMonitor *monitor)
{
  if (monitor->source != NULL)
    {
      g_source_destroy (monitor->source);
      g_source_unref (monitor->source);
    }
  if (monitor->nl != NULL)
    mnl_socket_close (monitor->nl);
  g_ptr_array_unref (monitor->watches);
  g_mutex_clear (&monitor->lock);
  g_main_context_unref (monitor->context);
  g_free (monitor->buffer);
  g_free (monitor);
}

void
tun_tap_netlink_monitor_unref (TunTapNetlinkMonitor *monitor)
{
  g_return_if_fail (monitor != NULL);

  g_mutex_lock (&monitors_lock);
  g_assert (monitor->ref_count > 0);
  if (--monitor->ref_count > 0)
    {
      g_mutex_unlock (&monitors_lock);
      return;
    }
  g_hash_table_remove (monitors, monitor->context);
  g_mutex_unlock (&monitors_lock);

  monitor_free (monitor);
}

/* Ids of the watches of @ifindex (all watches for -1), so callbacks can
 * add and remove watches while the caller walks the list. */
static GArray *
watch_ids (TunTapNetlinkMonitor *monitor,
           int                   ifindex)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint));

  g_mutex_lock (&monitor->lock);
  for (guint i = 0; i < monitor->watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (monitor->watches, i);

      if (ifindex < 0 || watch->ifindex == ifindex)
        g_array_append_val (ids, watch->id);
    }
  g_mutex_unlock (&monitor->lock);
  return ids;
}

/* Copies the watch out, so the callback runs without the lock held. */
static gboolean
lookup_watch (TunTapNetlinkMonitor *monitor,
              guint                 id,
              Watch                *out)
{
  gboolean found = FALSE;

  g_mutex_lock (&monitor->lock);
  for (guint i = 0; i < monitor->watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (monitor->watches, i);

      if (watch->id == id)
        {
          *out = *watch;
          found = TRUE;
          break;
        }
    }
  g_mutex_unlock (&monitor->lock);
  return found;
}

static void
notify_link (TunTapNetlinkMonitor *monitor,
             const TunTapLinkInfo *info,
             gboolean              deleted)
{
  g_autoptr(GArray) ids = watch_ids (monitor, info->ifindex);

  for (guint i = 0; i < ids->len; i++)
    {
      Watch watch;

      if (lookup_watch (monitor, g_array_index (ids, guint, i), &watch) &&
          watch.link_func != NULL)
        watch.link_func (info, deleted, watch.user_data);
    }
}

static void
notify_addresses (TunTapNetlinkMonitor *monitor,
                  int                   ifindex)
{
  g_autoptr(GArray) ids = watch_ids (monitor, ifindex);

  for (guint i = 0; i < ids->len; i++)
    {
      Watch watch;

      if (lookup_watch (monitor, g_array_index (ids, guint, i), &watch) &&
          watch.address_func != NULL)
        watch.address_func (watch.user_data);
    }
}

/* After an overrun nothing is known about what was missed: read every
 * watched link afresh and tell every watch its addresses may have changed. */
static void
monitor_resync (TunTapNetlinkMonitor *monitor)
{
  g_autoptr(GArray) all = watch_ids (monitor, -1);
  g_autoptr(GArray) ifindexes = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < all->len; i++)
    {
      Watch watch;
      gboolean seen = FALSE;

      if (!lookup_watch (monitor, g_array_index (all, guint, i), &watch))
        continue;
      for (guint j = 0; j < ifindexes->len && !seen; j++)
        seen = g_array_index (ifindexes, int, j) == watch.ifindex;
      if (!seen)
        g_array_append_val (ifindexes, watch.ifindex);
    }

  for (guint i = 0; i < ifindexes->len; i++)
    {
      int ifindex = g_array_index (ifindexes, int, i);
      g_autofree char *extack = NULL;
      TunTapLinkInfo info;
      int errsv;

      link_info_init (&info);
      errsv = get_link (ifindex, &info, &extack);
      if (errsv == 0)
        notify_link (monitor, &info, FALSE);
      else if (errsv == ENODEV)
        {
          link_info_init (&info);
          info.ifindex = ifindex;
          notify_link (monitor, &info, TRUE);
        }
      else
        g_debug ("Cannot re-read interface %d after an rtnetlink overrun: %s",
                 ifindex, g_strerror (errsv));

      notify_addresses (monitor, ifindex);
    }
}

static void
add_unique (GArray *array,
            int     value)
{
  for (guint i = 0; i < array->len; i++)
    if (g_array_index (array, int, i) == value)
      return;
  g_array_append_val (array, value);
}

static void
monitor_handle_datagram (TunTapNetlinkMonitor *monitor,
                         gsize                 size,
                         GArray               *address_changes)
{
  const struct nlmsghdr *nlh;
  int len = (int) size;

  for (nlh = (const struct nlmsghdr *) monitor->buffer;
       mnl_nlmsg_ok (nlh, len);
       nlh = mnl_nlmsg_next (nlh, &len))
    {
      switch (nlh->nlmsg_type)
        {
        case RTM_NEWLINK:
        case RTM_DELLINK:
          {
            TunTapLinkInfo info;

            if (tun_tap_netlink_parse_link (nlh, &info))
              notify_link (monitor, &info, nlh->nlmsg_type == RTM_DELLINK);
          }
          break;
        case RTM_NEWADDR:
        case RTM_DELADDR:
          {
            ParsedAddress address;

            if (parse_address (nlh, &address) && address.ifindex > 0)
              add_unique (address_changes, address.ifindex);
          }
          break;
        default:
          break;
        }
    }
}

typedef enum {
  RECV_DATA,
  RECV_EMPTY,
  RECV_LOST,
  RECV_BROKEN,
} RecvResult;

static RecvResult
monitor_recv (TunTapNetlinkMonitor *monitor,
              gsize                *size,
              int                  *errsv)
{
  struct sockaddr_nl sender;
  struct iovec iov = { monitor->buffer, RECV_BUFFER_SIZE };
  struct msghdr msg = { 0, };
  ssize_t n;

  msg.msg_name = &sender;
  msg.msg_namelen = sizeof sender;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;

  do
    n = recvmsg (mnl_socket_get_fd (monitor->nl), &msg, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);

  *size = 0;
  if (n < 0)
    {
      *errsv = errno;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return RECV_EMPTY;
      /* The kernel dropped notifications because the buffer was full. */
      if (errno == ENOBUFS)
        return RECV_LOST;
      return RECV_BROKEN;
    }

  if (msg.msg_flags & MSG_TRUNC)
    return RECV_LOST;
  /* Only the kernel may speak on these groups. */
  if (msg.msg_namelen != sizeof sender || sender.nl_pid != 0)
    return RECV_DATA;

  *size = (gsize) n;
  return RECV_DATA;
}

/* After ENOBUFS the kernel keeps dropping notifications for this socket,
 * without reporting it again, until its queue is empty (the
 * NETLINK_S_CONGESTED bit). So a re-sync is only worth doing once a read
 * found the queue empty; until then whatever is queued is stale and
 * dropped unread. */
static gboolean
monitor_dispatch (int          fd,
                  GIOCondition condition,
                  gpointer     user_data)
{
  TunTapNetlinkMonitor *monitor = user_data;
  g_autoptr(GArray) address_changes = g_array_new (FALSE, FALSE, sizeof (int));
  gboolean got_any = FALSE, drained = FALSE, broken = FALSE;
  int errsv = 0;

  /* Callbacks may drop the caller's last reference. */
  monitor_ref (monitor);

  if (condition & (G_IO_HUP | G_IO_NVAL))
    {
      broken = TRUE;
      errsv = EPIPE;
    }

  for (guint i = 0; !broken && !drained && i < MONITOR_RECV_BUDGET; i++)
    {
      gsize size;

      switch (monitor_recv (monitor, &size, &errsv))
        {
        case RECV_DATA:
          got_any = TRUE;
          if (!monitor->resync_pending)
            monitor_handle_datagram (monitor, size, address_changes);
          break;
        case RECV_LOST:
          got_any = TRUE;
          monitor->resync_pending = TRUE;
          break;
        case RECV_EMPTY:
          drained = TRUE;
          break;
        case RECV_BROKEN:
        default:
          broken = TRUE;
          break;
        }
    }

  /* G_IO_ERR with nothing to read or report would fire forever. */
  if ((condition & G_IO_ERR) && !got_any && !broken)
    broken = TRUE;

  if (monitor->resync_pending)
    {
      if (drained)
        {
          monitor->resync_pending = FALSE;
          monitor_resync (monitor);
        }
    }
  else
    {
      for (guint i = 0; i < address_changes->len; i++)
        notify_addresses (monitor, g_array_index (address_changes, int, i));
    }

  if (broken && monitor->source != NULL)
    {
      g_warning ("The rtnetlink monitor socket failed (%s); link and address changes "
                 "made by other programs are no longer reported",
                 g_strerror (errsv != 0 ? errsv : EIO));
      g_source_destroy (monitor->source);
      g_clear_pointer (&monitor->source, g_source_unref);
    }

  tun_tap_netlink_monitor_unref (monitor);
  return broken ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void
set_receive_buffer (int fd)
{
  int size = MONITOR_RCVBUF;

  /* FORCE goes past net.core.rmem_max but needs CAP_NET_ADMIN. */
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static TunTapNetlinkMonitor *
monitor_new (GMainContext  *context,
             GError       **error)
{
  static const unsigned int groups[] = {
    RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
  };
  TunTapNetlinkMonitor *monitor;
  struct mnl_socket *nl;
  int fd, errsv;

  nl = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (nl == NULL)
    goto fail;
  if (mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0)
    goto fail;
  for (gsize i = 0; i < G_N_ELEMENTS (groups); i++)
    {
      unsigned int group = groups[i];

      if (mnl_socket_setsockopt (nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
        goto fail;
    }
  fd = mnl_socket_get_fd (nl);
  set_receive_buffer (fd);

  monitor = g_new0 (TunTapNetlinkMonitor, 1);
  monitor->ref_count = 1;
  monitor->context = g_main_context_ref (context);
  monitor->nl = nl;
  monitor->buffer = g_malloc (RECV_BUFFER_SIZE);
  monitor->watches = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&monitor->lock);

  monitor->source = g_unix_fd_source_new (fd, G_IO_IN | G_IO_ERR | G_IO_HUP);
  g_source_set_callback (monitor->source, G_SOURCE_FUNC (monitor_dispatch), monitor, NULL);
  g_source_set_static_name (monitor->source, "TunTap rtnetlink monitor");
  g_source_attach (monitor->source, context);
  return monitor;

fail:
  errsv = errno;
  if (nl != NULL)
    mnl_socket_close (nl);
  g_set_error (error, G_IO_ERROR,
               errsv == EPERM || errsv == EACCES ? G_IO_ERROR_PERMISSION_DENIED
                                                 : g_io_error_from_errno (errsv),
               "Cannot listen to link and address changes over rtnetlink: %s",
               g_strerror (errsv));
  return NULL;
}

TunTapNetlinkMonitor *
tun_tap_netlink_monitor_get_for_context (GMainContext  *context,
                                         GError       **error)
{
  TunTapNetlinkMonitor *monitor;

  if (context == NULL)
    context = g_main_context_default ();

  g_mutex_lock (&monitors_lock);
  if (monitors == NULL)
    monitors = g_hash_table_new (NULL, NULL);

  monitor = g_hash_table_lookup (monitors, context);
  if (monitor != NULL)
    monitor->ref_count++;
  else
    {
      /* Created under the lock so two threads never make two monitors. */
      monitor = monitor_new (context, error);
      if (monitor != NULL)
        g_hash_table_insert (monitors, context, monitor);
    }
  g_mutex_unlock (&monitors_lock);

  return monitor;
}

guint
tun_tap_netlink_monitor_add_watch (TunTapNetlinkMonitor     *monitor,
                                   int                       ifindex,
                                   TunTapNetlinkLinkFunc     link_func,
                                   TunTapNetlinkAddressFunc  address_func,
                                   gpointer                  user_data)
{
  Watch *watch;

  g_return_val_if_fail (monitor != NULL, 0);
  g_return_val_if_fail (ifindex > 0, 0);

  watch = g_new0 (Watch, 1);
  watch->ifindex = ifindex;
  watch->link_func = link_func;
  watch->address_func = address_func;
  watch->user_data = user_data;

  g_mutex_lock (&monitor->lock);
  if (++monitor->next_watch_id == 0)
    monitor->next_watch_id = 1;
  watch->id = monitor->next_watch_id;
  g_ptr_array_add (monitor->watches, watch);
  g_mutex_unlock (&monitor->lock);

  return watch->id;
}

void
tun_tap_netlink_monitor_remove_watch (TunTapNetlinkMonitor *monitor,
                                      guint                 watch_id)
{
  gboolean found = FALSE;

  g_return_if_fail (monitor != NULL);
  g_return_if_fail (watch_id != 0);

  g_mutex_lock (&monitor->lock);
  for (guint i = 0; i < monitor->watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (monitor->watches, i);

      if (watch->id == watch_id)
        {
          g_ptr_array_remove_index (monitor->watches, i);
          found = TRUE;
          break;
        }
    }
  g_mutex_unlock (&monitor->lock);

  if (!found)
    g_critical ("%s: no watch with id %u", G_STRFUNC, watch_id);
}
