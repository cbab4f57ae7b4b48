/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Shared by the three files of the rtnetlink layer (transport, requests,
 * monitor); nothing outside src/tun-tap-netlink-*.c includes this.
 */
#pragma once

#include "tun-tap-netlink.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

G_BEGIN_DECLS

/* Room for one datagram of replies or notifications; a datagram that does
 * not fit is reported as MSG_TRUNC and treated as lost. */
#define RECV_BUFFER_SIZE 32768

/* Requests are a header and a few small attributes. */
#define REQUEST_BUFFER_SIZE 512

typedef union {
  struct nlmsghdr header;
  char            bytes[REQUEST_BUFFER_SIZE];
} RequestBuffer;

/* Called for each reply message that is neither an ack nor an error. */
typedef void (*ReplyFunc) (const struct nlmsghdr *nlh,
                           gpointer               user_data);

/* Sends @req on @nl (NLM_F_REQUEST and NLM_F_ACK are added) and reads until
 * the ack, the error or the end of the dump. Returns 0 or a positive errno;
 * *@extack gets the kernel's message. A dump the kernel marked interrupted
 * (NLM_F_DUMP_INTR: the table changed while it was read) returns EAGAIN
 * after reading it to the end; the caller dumps again. */
int               transact           (TunTapNetlink         *nl,
                                      struct nlmsghdr       *req,
                                      ReplyFunc              reply_func,
                                      gpointer               user_data,
                                      char                 **extack);

/* A bound NETLINK_ROUTE socket of the namespace @netns_fd (-1: the
 * calling thread's); NULL with errno set. */
struct mnl_socket *open_bound_socket (int                    netns_fd,
                                      gboolean               nonblocking);

struct nlmsghdr  *put_request        (RequestBuffer         *buffer,
                                      guint16                type,
                                      guint16                flags);

struct nlmsghdr  *put_link_request   (RequestBuffer         *buffer,
                                      guint16                type,
                                      int                    ifindex,
                                      struct ifinfomsg     **out_ifm);

/* “Cannot <what>: …” through the library's errno table (rtnetlink column). */
void              netlink_set_error  (GError               **error,
                                      int                    errsv,
                                      const char            *extack,
                                      const char            *hint,
                                      const char            *what);

/* “interface 7” when the caller has no name at hand. */
char             *device_label       (int                    ifindex,
                                      const char            *devname);

void              link_info_init     (TunTapLinkInfo        *info);

typedef struct {
  int      family;
  int      ifindex;
  guint    prefix_length;
  guint8   local[16];
  guint8   peer[16];
  gboolean has_peer;
  guint32  flags;                /* IFA_F_*: IFA_FLAGS, else ifa_flags */
} ParsedAddress;

/* RTM_NEWADDR/RTM_DELADDR; FALSE for anything malformed. Pure. */
gboolean          parse_address      (const struct nlmsghdr *nlh,
                                      ParsedAddress         *out);

/* (transfer full): what the kernel said, as the library's address type. */
TunTapAddress    *parsed_address_to_address (const ParsedAddress *parsed);

/* RTM_GETLINK of one link (by index, or by name when @ifindex is 0). */
int               get_link           (TunTapNetlink         *nl,
                                      int                    ifindex,
                                      const char            *name,
                                      TunTapLinkInfo        *info,
                                      char                 **extack);

G_END_DECLS
