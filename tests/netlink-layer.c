/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tests of the private rtnetlink layer (src/tun-tap-netlink.c) against the
 * kernel, in a network namespace of the test's own. Effects are read back
 * with the layer itself and cross-checked with iproute2's output.
 */
#include "tun-tap-netlink.h"
#include "tun-tap-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <glib/gstdio.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* The request socket of this test's namespace. */
static TunTapNetlink *nl;

static GInetAddress *
address_new (const char *text)
{
  GInetAddress *address = g_inet_address_new_from_string (text);

  g_assert_nonnull (address);
  return address;
}

/* A route destination: a network, "203.0.113.0/24". */
static GInetAddressMask *
mask_new (const char *cidr)
{
  g_auto(GStrv) parts = g_strsplit (cidr, "/", 2);
  g_autoptr(GInetAddress) address = NULL;
  guint64 length;

  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  address = address_new (parts[0]);
  g_assert_true (g_ascii_string_to_unsigned (parts[1], 10, 0, 128, &length, NULL));
  return g_object_new (G_TYPE_INET_ADDRESS_MASK, "address", address, "length", (guint) length, NULL);
}

/* "192.0.2.1/24", "192.0.2.1/32 peer 192.0.2.2": an interface address. */
static TunTapAddress *
addr_new (const char *text)
{
  g_autoptr(GError) error = NULL;
  TunTapAddress *address = tun_tap_address_new_from_string (text, &error);

  g_assert_no_error (error);
  return address;
}

static int
ifindex_of (const char *name)
{
  int ifindex = (int) if_nametoindex (name);

  g_assert_cmpint (ifindex, >, 0);
  return ifindex;
}

static int
add_persistent (const char *name,
                const char *mode)
{
  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev %s mode %s", name, mode));
  return ifindex_of (name);
}

static void
delete_link (const char *name)
{
  g_free (tun_tap_test_run (TRUE, "ip link del %s", name));
}

/* A device held open by this process, so it has a queue and a carrier. */
static int
open_device (const char *name,
             short       flags)
{
  struct ifreq ifr;
  int fd;

  fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  g_assert_cmpint (fd, >=, 0);
  memset (&ifr, 0, sizeof ifr);
  g_strlcpy (ifr.ifr_name, name, sizeof ifr.ifr_name);
  ifr.ifr_flags = flags;
  g_assert_cmpint (ioctl (fd, TUNSETIFF, &ifr), ==, 0);
  return fd;
}

static char *
link_line (const char *name)
{
  return tun_tap_test_run (FALSE, "ip -o link show dev %s", name);
}

/* Whether the link has @text, with its peer if it has one. */
static gboolean
has_address (int         ifindex,
             const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) addresses = tun_tap_netlink_get_addresses (nl, ifindex, &error);

  g_assert_no_error (error);
  g_assert_nonnull (addresses);
  for (guint i = 0; i < addresses->len; i++)
    {
      g_autofree char *known = tun_tap_address_to_string (g_ptr_array_index (addresses, i));

      if (g_str_equal (known, text))
        return TRUE;
    }
  return FALSE;
}

static gboolean
output_contains (const char *output,
                 const char *needle)
{
  return strstr (output, needle) != NULL;
}

#define assert_error_mentions(error, domain, code, text)      \
  G_STMT_START {                                              \
    g_assert_error ((error), (domain), (code));               \
    g_test_message ("%s", (error)->message);                  \
    g_assert_nonnull (strstr ((error)->message, (text)));     \
  } G_STMT_END

/* ------------------------------------------------------------------ */
/* parse_link on hand-made and malformed messages                      */

static struct nlmsghdr *
build_link_message (char   *buffer,
                    gsize   size,
                    guint16 type,
                    guint8  family)
{
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifm;
  struct nlattr *linkinfo, *data;

  memset (buffer, 0, size);
  nlh = mnl_nlmsg_put_header (buffer);
  nlh->nlmsg_type = type;
  ifm = mnl_nlmsg_put_extra_header (nlh, sizeof *ifm);
  ifm->ifi_family = family;
  ifm->ifi_index = 42;
  ifm->ifi_flags = IFF_UP;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, "fake0");
  mnl_attr_put_u32 (nlh, IFLA_MTU, 1400);
  mnl_attr_put_u8 (nlh, IFLA_CARRIER, 1);
  linkinfo = mnl_attr_nest_start (nlh, IFLA_LINKINFO);
  mnl_attr_put_strz (nlh, IFLA_INFO_KIND, "tun");
  data = mnl_attr_nest_start (nlh, IFLA_INFO_DATA);
  mnl_attr_put_u8 (nlh, IFLA_TUN_TYPE, IFF_TAP);
  mnl_attr_put_u8 (nlh, IFLA_TUN_PI, 1);
  mnl_attr_put_u8 (nlh, IFLA_TUN_MULTI_QUEUE, 1);
  mnl_attr_put_u32 (nlh, IFLA_TUN_OWNER, 1234);
  mnl_attr_put_u32 (nlh, IFLA_TUN_NUM_QUEUES, 3);
  mnl_attr_nest_end (nlh, data);
  mnl_attr_nest_end (nlh, linkinfo);
  return nlh;
}

static void
test_parse_link (void)
{
  char buffer[512] __attribute__ ((aligned (4)));
  struct nlmsghdr *nlh;
  TunTapLinkInfo info;

  g_test_summary ("parse_link reads a well-formed message and refuses malformed ones "
                  "without reading past nlmsg_len");

  nlh = build_link_message (buffer, sizeof buffer, RTM_NEWLINK, AF_UNSPEC);
  g_assert_true (tun_tap_netlink_parse_link (nlh, &info));
  g_assert_cmpint (info.ifindex, ==, 42);
  g_assert_cmpstr (info.name, ==, "fake0");
  g_assert_true (info.up);
  g_assert_true (info.carrier);
  g_assert_cmpuint (info.mtu, ==, 1400);
  g_assert_true (info.is_tun);
  g_assert_cmpint (info.tun_type, ==, IFF_TAP);
  g_assert_true (info.pi);
  g_assert_true (info.multi_queue);
  g_assert_false (info.persist);
  g_assert_cmpint (info.owner, ==, 1234);
  g_assert_cmpint (info.group, ==, -1);
  g_assert_cmpuint (info.num_queues, ==, 3);

  /* AF_BRIDGE port notifications share the group; a DELLINK of that family
   * only means the port left its bridge. */
  nlh = build_link_message (buffer, sizeof buffer, RTM_DELLINK, AF_BRIDGE);
  g_assert_false (tun_tap_netlink_parse_link (nlh, &info));
  g_assert_cmpint (info.ifindex, ==, 0);
  g_assert_cmpint (info.owner, ==, -1);

  nlh = build_link_message (buffer, sizeof buffer, RTM_NEWADDR, AF_UNSPEC);
  g_assert_false (tun_tap_netlink_parse_link (nlh, &info));
  g_assert_false (tun_tap_netlink_parse_link (NULL, &info));

  /* Every truncation of the valid message, in a heap block of exactly that
   * size so that valgrind or ASan would catch a read past the end. */
  nlh = build_link_message (buffer, sizeof buffer, RTM_NEWLINK, AF_UNSPEC);
  for (guint32 len = 0; len < nlh->nlmsg_len; len++)
    {
      g_autofree char *copy = g_malloc (MAX (len, sizeof (struct nlmsghdr)));
      struct nlmsghdr *truncated = (struct nlmsghdr *) copy;

      memcpy (copy, buffer, MAX (len, sizeof (struct nlmsghdr)));
      truncated->nlmsg_len = len;
      if (len < sizeof (struct nlmsghdr))
        continue;
      /* A cut inside an attribute makes the message malformed; a cut at
       * an attribute boundary is a shorter valid message. Either way,
       * nothing must be read beyond len. */
      (void) tun_tap_netlink_parse_link (truncated, &info);
      if (len < NLMSG_HDRLEN + sizeof (struct ifinfomsg) || len % 4 != 0)
        g_assert_false (tun_tap_netlink_parse_link (truncated, &info));
    }

  /* An attribute claiming more bytes than the message holds. */
  nlh = build_link_message (buffer, sizeof buffer, RTM_NEWLINK, AF_UNSPEC);
  {
    struct nlattr *first = mnl_nlmsg_get_payload_offset (nlh, sizeof (struct ifinfomsg));

    first->nla_len = 0xfff0;
    g_assert_false (tun_tap_netlink_parse_link (nlh, &info));
    first->nla_len = 2;
    g_assert_false (tun_tap_netlink_parse_link (nlh, &info));
  }

  /* An IFLA_MTU of 2 bytes and an unterminated name are refused. */
  {
    struct nlattr *mtu;

    memset (buffer, 0, sizeof buffer);
    nlh = mnl_nlmsg_put_header (buffer);
    nlh->nlmsg_type = RTM_NEWLINK;
    ((struct ifinfomsg *) mnl_nlmsg_put_extra_header (nlh, sizeof (struct ifinfomsg)))->ifi_index = 7;
    mtu = (struct nlattr *) mnl_nlmsg_get_payload_tail (nlh);
    mnl_attr_put_u16 (nlh, IFLA_MTU, 1500);
    g_assert_cmpint (mtu->nla_type, ==, IFLA_MTU);
    g_assert_false (tun_tap_netlink_parse_link (nlh, &info));

    memset (buffer, 0, sizeof buffer);
    nlh = mnl_nlmsg_put_header (buffer);
    nlh->nlmsg_type = RTM_NEWLINK;
    ((struct ifinfomsg *) mnl_nlmsg_put_extra_header (nlh, sizeof (struct ifinfomsg)))->ifi_index = 7;
    mnl_attr_put (nlh, IFLA_IFNAME, 4, "abcd");
    g_assert_false (tun_tap_netlink_parse_link (nlh, &info));
  }

  /* Random bytes behind a plausible header. */
  for (guint round = 0; round < 2000; round++)
    {
      guint32 len = 16 + 4 * g_random_int_range (0, 60);
      g_autofree guint8 *bytes = g_malloc (len);
      struct nlmsghdr *random_nlh = (struct nlmsghdr *) bytes;

      for (guint32 i = 0; i < len; i++)
        bytes[i] = g_random_int_range (0, 256);
      random_nlh->nlmsg_len = len;
      random_nlh->nlmsg_type = RTM_NEWLINK;
      if (len >= NLMSG_HDRLEN + sizeof (struct ifinfomsg))
        ((struct ifinfomsg *) NLMSG_DATA (random_nlh))->ifi_family = AF_UNSPEC;
      (void) tun_tap_netlink_parse_link (random_nlh, &info);
    }
}

/* ------------------------------------------------------------------ */
/* Links                                                               */

static void
test_get_link_open_tun (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  TunTapLinkInfo info;
  int fd, ifindex;

  g_test_summary ("get_link on a TUN held open by this process: name, type, flags, carrier");

  fd = open_device ("nl-get", IFF_TUN | IFF_NO_PI);
  ifindex = ifindex_of ("nl-get");

  g_assert_true (tun_tap_netlink_get_link (nl, ifindex, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.ifindex, ==, ifindex);
  g_assert_cmpstr (info.name, ==, "nl-get");
  g_assert_false (info.up);
  g_assert_true (info.carrier);
  g_assert_cmpuint (info.mtu, ==, 1500);
  g_assert_false (info.has_hwaddr);
  g_assert_true (info.is_tun);
  g_assert_cmpint (info.tun_type, ==, IFF_TUN);
  g_assert_false (info.pi);
  g_assert_false (info.vnet_hdr);
  g_assert_false (info.persist);
  g_assert_false (info.multi_queue);
  g_assert_cmpint (info.owner, ==, -1);
  g_assert_cmpint (info.group, ==, -1);

  line = link_line ("nl-get");
  g_assert_true (output_contains (line, "mtu 1500"));

  close (fd);
}

static void
test_get_link_flags (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *mac = NULL;
  TunTapLinkInfo info;
  int ifindex;

  g_test_summary ("get_link reads pi, vnet_hdr, persist, multi_queue, owner, group and "
                  "the TAP hardware address");

  g_free (tun_tap_test_run (TRUE, "ip tuntap add dev nl-flags mode tun user 1234 group 4321 "
                                  "pi vnet_hdr multi_queue"));
  if (!tun_tap_test_link_exists ("nl-flags"))
    {
      g_test_skip ("cannot create a device owned by uid 1234 here (user namespace)");
      return;
    }
  ifindex = ifindex_of ("nl-flags");

  g_assert_true (tun_tap_netlink_get_link (nl, ifindex, &info, &error));
  g_assert_no_error (error);
  g_assert_true (info.is_tun);
  g_assert_cmpint (info.tun_type, ==, IFF_TUN);
  g_assert_true (info.pi);
  g_assert_true (info.vnet_hdr);
  g_assert_true (info.persist);
  g_assert_true (info.multi_queue);
  g_assert_cmpint (info.owner, ==, 1234);
  g_assert_cmpint (info.group, ==, 4321);
  g_assert_cmpuint (info.num_queues, ==, 0);
  /* Nobody has it open: no carrier. */
  g_assert_false (info.carrier);
  delete_link ("nl-flags");

  ifindex = add_persistent ("nl-flagp", "tap");
  g_assert_true (tun_tap_netlink_get_link (nl, ifindex, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.tun_type, ==, IFF_TAP);
  g_assert_false (info.pi);
  g_assert_false (info.multi_queue);
  g_assert_true (info.persist);
  g_assert_cmpint (info.owner, ==, -1);
  g_assert_true (info.has_hwaddr);

  mac = g_strdup_printf ("link/ether %02x:%02x:%02x:%02x:%02x:%02x",
                         info.hwaddr[0], info.hwaddr[1], info.hwaddr[2],
                         info.hwaddr[3], info.hwaddr[4], info.hwaddr[5]);
  line = link_line ("nl-flagp");
  g_assert_true (output_contains (line, mac));
  delete_link ("nl-flagp");
}

static void
test_missing_device (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  TunTapLinkInfo info;

  g_test_summary ("every call on an ifindex that does not exist gives NO_SUCH_DEVICE");

  g_assert_false (tun_tap_netlink_get_link (nl, 99999, &info, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_cmpint (info.ifindex, ==, 0);
  g_clear_error (&error);

  g_assert_false (tun_tap_netlink_set_up (nl, 99999, "nl-gone", TRUE, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "nl-gone");
  g_clear_error (&error);

  g_assert_false (tun_tap_netlink_set_mtu (nl, 99999, "nl-gone", 1400, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);

  {
    g_autoptr(TunTapAddress) address = addr_new ("192.0.2.1/24");

    g_assert_false (tun_tap_netlink_add_address (nl, 99999, "nl-gone", address, &error));
    assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "nl-gone");
    g_clear_error (&error);
  }

  addresses = tun_tap_netlink_get_addresses (nl, 99999, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_null (addresses);
}

static void
test_up_down (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  TunTapLinkInfo info;
  int fd, ifindex;

  g_test_summary ("set_up brings the link up and down");

  fd = open_device ("nl-up", IFF_TUN | IFF_NO_PI);
  ifindex = ifindex_of ("nl-up");

  g_assert_true (tun_tap_netlink_set_up (nl, ifindex, "nl-up", TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_netlink_get_link (nl, ifindex, &info, &error));
  g_assert_true (info.up);
  g_assert_true (info.carrier);
  line = link_line ("nl-up");
  g_assert_true (output_contains (line, ",UP,LOWER_UP>"));
  g_clear_pointer (&line, g_free);

  g_assert_true (tun_tap_netlink_set_up (nl, ifindex, "nl-up", FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_netlink_get_link (nl, ifindex, &info, &error));
  g_assert_false (info.up);
  line = link_line ("nl-up");
  g_assert_false (output_contains (line, ",UP"));

  close (fd);
}

static void
check_mtu (int         ifindex,
           const char *name,
           guint       mtu)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *expected = g_strdup_printf ("mtu %u ", mtu);
  TunTapLinkInfo info;

  g_assert_true (tun_tap_netlink_set_mtu (nl, ifindex, name, mtu, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_netlink_get_link (nl, ifindex, &info, &error));
  g_assert_cmpuint (info.mtu, ==, mtu);
  line = link_line (name);
  g_assert_true (output_contains (line, expected));
}

static void
check_bad_mtu (int         ifindex,
               const char *name,
               guint       mtu,
               const char *extack)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (tun_tap_netlink_set_mtu (nl, ifindex, name, mtu, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, extack);
  g_assert_nonnull (strstr (error->message, name));
}

static void
test_mtu_tun (void)
{
  int ifindex = add_persistent ("nl-mtu", "tun");

  g_test_summary ("TUN MTU: 68..65535 accepted, 0, 67 and 70000 refused with the "
                  "kernel's words");

  check_mtu (ifindex, "nl-mtu", 1400);
  check_mtu (ifindex, "nl-mtu", 68);
  check_mtu (ifindex, "nl-mtu", 65535);
  check_bad_mtu (ifindex, "nl-mtu", 0, "mtu less than device minimum");
  check_bad_mtu (ifindex, "nl-mtu", 67, "mtu less than device minimum");
  check_bad_mtu (ifindex, "nl-mtu", 70000, "mtu greater than device maximum");
  delete_link ("nl-mtu");
}

static void
test_mtu_tap (void)
{
  int ifindex = add_persistent ("nl-mtup", "tap");

  g_test_summary ("TAP MTU: 65521 accepted, 65535 refused");

  check_mtu (ifindex, "nl-mtup", 65521);
  check_mtu (ifindex, "nl-mtup", 68);
  check_bad_mtu (ifindex, "nl-mtup", 65535, "mtu greater than device maximum");
  check_bad_mtu (ifindex, "nl-mtup", 67, "mtu less than device minimum");
  delete_link ("nl-mtup");
}

static void
test_hwaddr (void)
{
  static const guint8 mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
  static const guint8 multicast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
  static const guint8 zero[6] = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  TunTapLinkInfo info;
  int tap, tun;

  g_test_summary ("MAC on TAP: set and read back; multicast or zero refused; on TUN "
                  "NOT_SUPPORTED");

  tap = add_persistent ("nl-mac", "tap");
  tun = add_persistent ("nl-mact", "tun");

  g_assert_true (tun_tap_netlink_set_hwaddr (nl, tap, "nl-mac", mac, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_netlink_get_link (nl, tap, &info, &error));
  g_assert_true (info.has_hwaddr);
  g_assert_cmpmem (info.hwaddr, 6, mac, 6);
  line = link_line ("nl-mac");
  g_assert_true (output_contains (line, "link/ether 02:00:00:00:00:01"));

  g_assert_false (tun_tap_netlink_set_hwaddr (nl, tap, "nl-mac", multicast, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tun_tap_netlink_set_hwaddr (nl, tap, "nl-mac", zero, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (tun_tap_netlink_set_hwaddr (nl, tun, "nl-mact", mac, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "nl-mact");

  delete_link ("nl-mac");
  delete_link ("nl-mact");
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */

static void
test_address_ipv4 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapAddress) address = addr_new ("192.0.2.1/24");
  g_autoptr(TunTapAddress) second = addr_new ("203.0.113.7/32");
  g_autoptr(TunTapAddress) absent = addr_new ("192.0.2.99/24");
  g_autoptr(TunTapAddress) wrong_length = addr_new ("192.0.2.1/25");
  g_autofree char *out = NULL;
  int ifindex = add_persistent ("nl-a4", "tun");

  g_test_summary ("IPv4 address: add, read back, duplicate -> EXISTS, remove, remove "
                  "again -> INVALID_ARGUMENT");

  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-a4", address, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-a4", second, &error));
  g_assert_no_error (error);
  g_assert_true (has_address (ifindex, "192.0.2.1/24"));
  g_assert_true (has_address (ifindex, "203.0.113.7/32"));
  out = tun_tap_test_run (FALSE, "ip -o -4 addr show dev nl-a4");
  g_assert_true (output_contains (out, "inet 192.0.2.1/24 "));
  g_assert_true (output_contains (out, "inet 203.0.113.7/32 "));
  g_clear_pointer (&out, g_free);

  g_assert_false (tun_tap_netlink_add_address (nl, ifindex, "nl-a4", address, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "Address already assigned");
  g_clear_error (&error);

  g_assert_false (tun_tap_netlink_remove_address (nl, ifindex, "nl-a4", absent, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "nl-a4");
  g_clear_error (&error);
  g_assert_false (tun_tap_netlink_remove_address (nl, ifindex, "nl-a4", wrong_length, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (tun_tap_netlink_remove_address (nl, ifindex, "nl-a4", address, &error));
  g_assert_no_error (error);
  g_assert_false (has_address (ifindex, "192.0.2.1/24"));
  g_assert_true (has_address (ifindex, "203.0.113.7/32"));
  out = tun_tap_test_run (FALSE, "ip -o -4 addr show dev nl-a4");
  g_assert_false (output_contains (out, "192.0.2.1"));

  g_assert_false (tun_tap_netlink_remove_address (nl, ifindex, "nl-a4", address, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);

  delete_link ("nl-a4");
}

static void
test_address_ipv4_peer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapAddress) address = addr_new ("198.51.100.1/32 peer 198.51.100.2");
  g_autoptr(TunTapAddress) other_peer = addr_new ("198.51.100.1/32 peer 198.51.100.3");
  g_autoptr(TunTapAddress) any_peer = addr_new ("198.51.100.1/32");
  g_autofree char *out = NULL;
  int ifindex = add_persistent ("nl-p4", "tun");

  g_test_summary ("IPv4 address with a peer, as ifconfig tun0 A B; removed with or "
                  "without naming the peer");

  /* The kernel makes IPv4 routes for an address only on an up link. */
  g_assert_true (tun_tap_netlink_set_up (nl, ifindex, "nl-p4", TRUE, &error));
  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-p4", address, &error));
  g_assert_no_error (error);
  /* Read back with its peer. */
  g_assert_true (has_address (ifindex, "198.51.100.1/32 peer 198.51.100.2"));
  g_assert_false (has_address (ifindex, "198.51.100.1/32"));
  out = tun_tap_test_run (FALSE, "ip -o -4 addr show dev nl-p4");
  g_assert_true (output_contains (out, "inet 198.51.100.1 peer 198.51.100.2/32 "));
  g_clear_pointer (&out, g_free);
  out = tun_tap_test_run (FALSE, "ip -4 route show dev nl-p4");
  g_assert_true (output_contains (out, "198.51.100.2 proto kernel"));
  g_clear_pointer (&out, g_free);

  g_assert_false (tun_tap_netlink_remove_address (nl, ifindex, "nl-p4", other_peer, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (tun_tap_netlink_remove_address (nl, ifindex, "nl-p4", address, &error));
  g_assert_no_error (error);
  g_assert_false (has_address (ifindex, "198.51.100.1/32 peer 198.51.100.2"));

  /* Without the peer, as `ip addr del` does: whatever its peer. */
  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-p4", address, &error));
  g_assert_true (tun_tap_netlink_remove_address (nl, ifindex, "nl-p4", any_peer, &error));
  g_assert_no_error (error);
  out = tun_tap_test_run (FALSE, "ip -o -4 addr show dev nl-p4");
  g_assert_false (output_contains (out, "198.51.100.1"));

  delete_link ("nl-p4");
}

static void
test_address_ipv6 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapAddress) address = addr_new ("2001:db8:1::1/64");
  g_autofree char *out = NULL;
  gboolean link_local = FALSE;
  int fd, ifindex;

  g_test_summary ("IPv6 address on a TAP: NODAD, read back with the link-local, "
                  "duplicate -> EXISTS");

  fd = open_device ("nl-a6", IFF_TAP | IFF_NO_PI);
  ifindex = ifindex_of ("nl-a6");
  g_assert_true (tun_tap_netlink_set_up (nl, ifindex, "nl-a6", TRUE, &error));
  g_assert_no_error (error);

  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-a6", address, &error));
  g_assert_no_error (error);
  out = tun_tap_test_run (FALSE, "ip -o -6 addr show dev nl-a6");
  g_assert_true (output_contains (out, "inet6 2001:db8:1::1/64 scope global nodad"));
  g_clear_pointer (&out, g_free);
  g_assert_true (has_address (ifindex, "2001:db8:1::1/64"));

  {
    g_autoptr(GPtrArray) addresses = tun_tap_netlink_get_addresses (nl, ifindex, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < addresses->len; i++)
      {
        TunTapAddress *known = g_ptr_array_index (addresses, i);

        if (g_inet_address_get_is_link_local (tun_tap_address_get_address (known)) &&
            tun_tap_address_get_prefix_length (known) == 64)
          link_local = TRUE;
      }
  }
  g_assert_true (link_local);

  g_assert_false (tun_tap_netlink_add_address (nl, ifindex, "nl-a6", address, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "address already assigned");
  g_clear_error (&error);

  g_assert_true (tun_tap_netlink_remove_address (nl, ifindex, "nl-a6", address, &error));
  g_assert_no_error (error);
  g_assert_false (has_address (ifindex, "2001:db8:1::1/64"));
  g_assert_false (tun_tap_netlink_remove_address (nl, ifindex, "nl-a6", address, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);

  close (fd);
}

static void
test_address_ipv6_peer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapAddress) up_address = addr_new ("2001:db8:2::1/128 peer 2001:db8:2::2");
  g_autoptr(TunTapAddress) down_address = addr_new ("2001:db8:3::1/128 peer 2001:db8:3::2");
  g_autoptr(TunTapAddress) down_any_peer = addr_new ("2001:db8:3::1/128");
  g_autofree char *out = NULL;
  int ifindex = add_persistent ("nl-p6", "tun");

  g_test_summary ("IPv6 address with a peer: the route to the peer exists whether the "
                  "address was added on an up or a down link, and goes with the address");

  /* Down link: the route comes when the link goes up. */
  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-p6", down_address, &error));
  g_assert_no_error (error);
  out = tun_tap_test_run (FALSE, "ip -o -6 addr show dev nl-p6");
  g_assert_true (output_contains (out, "inet6 2001:db8:3::1 peer 2001:db8:3::2/128"));
  g_clear_pointer (&out, g_free);
  g_assert_true (tun_tap_netlink_set_up (nl, ifindex, "nl-p6", TRUE, &error));
  g_assert_no_error (error);
  out = tun_tap_test_run (FALSE, "ip -6 route show dev nl-p6");
  g_assert_true (output_contains (out, "2001:db8:3::2 proto kernel metric 256"));
  g_clear_pointer (&out, g_free);

  /* Up link. */
  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-p6", up_address, &error));
  g_assert_no_error (error);
  g_assert_true (has_address (ifindex, "2001:db8:2::1/128 peer 2001:db8:2::2"));
  out = tun_tap_test_run (FALSE, "ip -6 route show dev nl-p6");
  g_assert_true (output_contains (out, "2001:db8:2::2 proto kernel metric 256"));
  g_clear_pointer (&out, g_free);

  g_assert_true (tun_tap_netlink_remove_address (nl, ifindex, "nl-p6", up_address, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_netlink_remove_address (nl, ifindex, "nl-p6", down_any_peer, &error));
  g_assert_no_error (error);
  out = tun_tap_test_run (FALSE, "ip -6 route show dev nl-p6");
  g_assert_false (output_contains (out, "2001:db8:2::2"));
  g_assert_false (output_contains (out, "2001:db8:3::2"));

  delete_link ("nl-p6");
}

static void
test_address_ipv6_low_mtu (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapAddress) address = addr_new ("2001:db8:4::1/64");
  int ifindex = add_persistent ("nl-lm", "tun");

  g_test_summary ("an IPv6 address below MTU 1280 is refused; lowering the MTU drops "
                  "IPv6 addresses");

  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-lm", address, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_netlink_set_mtu (nl, ifindex, "nl-lm", 1200, &error));
  g_assert_no_error (error);
  g_assert_false (has_address (ifindex, "2001:db8:4::1/64"));

  g_assert_false (tun_tap_netlink_add_address (nl, ifindex, "nl-lm", address, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "1280");
  delete_link ("nl-lm");
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */

static void
check_route (int         ifindex,
             const char *name,
             const char *ip_family,
             const char *destination,
             const char *gateway,
             const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddressMask) mask = mask_new (destination);
  g_autoptr(GInetAddress) via = gateway != NULL ? address_new (gateway) : NULL;
  g_autofree char *out = NULL;

  g_assert_true (tun_tap_netlink_add_route (nl, ifindex, name, mask, via, &error));
  g_assert_no_error (error);
  out = tun_tap_test_run (FALSE, "ip %s route show dev %s proto boot", ip_family, name);
  if (!output_contains (out, expected))
    g_test_message ("expected “%s” in:\n%s", expected, out);
  g_assert_true (output_contains (out, expected));
  g_clear_pointer (&out, g_free);

  g_assert_false (tun_tap_netlink_add_route (nl, ifindex, name, mask, via, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_EXISTS, name);
  g_clear_error (&error);

  g_assert_true (tun_tap_netlink_remove_route (nl, ifindex, name, mask, via, &error));
  g_assert_no_error (error);
  out = tun_tap_test_run (FALSE, "ip %s route show dev %s proto boot", ip_family, name);
  g_assert_false (output_contains (out, expected));

  g_assert_false (tun_tap_netlink_remove_route (nl, ifindex, name, mask, via, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
test_routes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapAddress) v4 = addr_new ("192.0.2.1/24");
  g_autoptr(TunTapAddress) v6 = addr_new ("2001:db8:1::1/64");
  g_autoptr(GInetAddressMask) destination = mask_new ("203.0.113.0/24");
  g_autoptr(GInetAddress) v6_gateway = address_new ("2001:db8:1::fe");
  int fd, ifindex;

  g_test_summary ("routes in both families, with and without a gateway; duplicates, "
                  "absent routes and a gateway of the wrong family");

  fd = open_device ("nl-rt", IFF_TUN | IFF_NO_PI);
  ifindex = ifindex_of ("nl-rt");
  g_assert_true (tun_tap_netlink_set_up (nl, ifindex, "nl-rt", TRUE, &error));
  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-rt", v4, &error));
  g_assert_true (tun_tap_netlink_add_address (nl, ifindex, "nl-rt", v6, &error));
  g_assert_no_error (error);

  check_route (ifindex, "nl-rt", "-4", "203.0.113.0/24", NULL,
               "203.0.113.0/24 scope link");
  check_route (ifindex, "nl-rt", "-4", "198.51.100.0/24", "192.0.2.254",
               "198.51.100.0/24 via 192.0.2.254 ");
  check_route (ifindex, "nl-rt", "-6", "2001:db8:100::/48", NULL,
               "2001:db8:100::/48 ");
  check_route (ifindex, "nl-rt", "-6", "2001:db8:200::/48", "2001:db8:1::fe",
               "2001:db8:200::/48 via 2001:db8:1::fe ");

  g_assert_false (tun_tap_netlink_add_route (nl, ifindex, "nl-rt", destination, v6_gateway, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);

  close (fd);
}

static void
test_route_link_down (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddressMask) v4 = mask_new ("203.0.113.0/24");
  g_autoptr(GInetAddressMask) v6 = mask_new ("2001:db8:100::/48");
  int ifindex = add_persistent ("nl-rd", "tun");

  g_test_summary ("a route on a down link gives NETWORK_UNREACHABLE, both families");

  g_assert_false (tun_tap_netlink_add_route (nl, ifindex, "nl-rd", v4, NULL, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, "bring it up first");
  g_assert_nonnull (strstr (error->message, "Device for nexthop is not up"));
  g_clear_error (&error);

  g_assert_false (tun_tap_netlink_add_route (nl, ifindex, "nl-rd", v6, NULL, &error));
  assert_error_mentions (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, "the link is down");
  g_clear_error (&error);

  delete_link ("nl-rd");
}

static void
test_no_fd_leak (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  TunTapLinkInfo info;
  guint before, after;
  const char *entry;

  g_test_summary ("requests leave no descriptor behind, and every netlink socket is "
                  "close-on-exec");

  before = tun_tap_test_count_fds ();
  for (guint i = 0; i < 20; i++)
    {
      g_assert_false (tun_tap_netlink_get_link (nl, 99999, &info, &error));
      g_clear_error (&error);
      g_assert_true (tun_tap_netlink_get_link (nl, 1, &info, &error));
    }
  after = tun_tap_test_count_fds ();
  g_assert_cmpuint (before, ==, after);

  dir = g_dir_open ("/proc/self/fd", 0, NULL);
  g_assert_nonnull (dir);
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", entry, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);
      int fd = atoi (entry);

      if (target != NULL && g_str_has_prefix (target, "socket:") && fd > 2)
        g_assert_cmpint (fcntl (fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
    }
}

/* ------------------------------------------------------------------ */
/* The monitor                                                         */

typedef struct {
  TunTapLinkInfo last;
  guint          link_calls;
  guint          address_calls;
  guint          address_rereads;   /* calls without changes: read again */
  char          *last_address;      /* "+192.0.2.5/24" or "-192.0.2.5/24" */
  gboolean       deleted;
  gboolean       changed;
} Recorder;

static void
record_link (const TunTapLinkInfo *info,
             gboolean              deleted,
             gpointer              user_data)
{
  Recorder *recorder = user_data;

  recorder->last = *info;
  recorder->link_calls++;
  recorder->deleted |= deleted;
  recorder->changed = TRUE;
}

static void
record_addresses (const TunTapNetlinkAddressChange *changes,
                  guint                             n_changes,
                  gpointer                          user_data)
{
  Recorder *recorder = user_data;

  recorder->address_calls++;
  recorder->changed = TRUE;
  if (changes == NULL)
    {
      g_assert_cmpuint (n_changes, ==, 0);
      recorder->address_rereads++;
      return;
    }
  g_assert_cmpuint (n_changes, >, 0);
  for (guint i = 0; i < n_changes; i++)
    {
      g_autofree char *text = tun_tap_address_to_string (changes[i].address);

      g_free (recorder->last_address);
      recorder->last_address = g_strconcat (changes[i].deleted ? "-" : "+", text, NULL);
    }
}

typedef gboolean (*RecorderCheck) (const Recorder *recorder,
                                   gconstpointer   expected);

/* Iterates until @check holds or 5 s pass. */
static gboolean
wait_for (GMainContext  *context,
          Recorder      *recorder,
          RecorderCheck  check,
          gconstpointer  expected)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (!check (recorder, expected))
    {
      gint64 left = deadline - g_get_monotonic_time ();

      if (left <= 0)
        return FALSE;
      recorder->changed = FALSE;
      tun_tap_test_wait_for (context, &recorder->changed, (guint) (left / 1000) + 1);
    }
  return TRUE;
}

static gboolean
is_up (const Recorder *recorder, gconstpointer expected)
{
  return recorder->link_calls > 0 && recorder->last.up == GPOINTER_TO_INT (expected);
}

static gboolean
has_mtu (const Recorder *recorder, gconstpointer expected)
{
  return recorder->last.mtu == GPOINTER_TO_UINT (expected);
}

static gboolean
has_name (const Recorder *recorder, gconstpointer expected)
{
  return strcmp (recorder->last.name, expected) == 0;
}

static gboolean
address_calls_above (const Recorder *recorder, gconstpointer expected)
{
  return recorder->address_calls > GPOINTER_TO_UINT (expected);
}

static gboolean
is_deleted (const Recorder *recorder, gconstpointer expected)
{
  return recorder->deleted;
}

static void
test_monitor_link (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  TunTapNetlinkMonitor *monitor;
  Recorder recorder = { { 0 } };
  Recorder other = { { 0 } };
  guint watch, other_watch;
  guint calls;
  int ifindex, other_ifindex;

  g_test_summary ("the monitor reports down, up, MTU, rename, addresses and deletion "
                  "made by ip, to the watch of that ifindex only");

  ifindex = add_persistent ("nl-mon", "tun");
  other_ifindex = add_persistent ("nl-other", "tun");

  monitor = tun_tap_netlink_monitor_get (context, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (monitor);
  watch = tun_tap_netlink_monitor_add_watch (monitor, ifindex, record_link,
                                             record_addresses, &recorder, NULL);
  other_watch = tun_tap_netlink_monitor_add_watch (monitor, other_ifindex, record_link,
                                                   record_addresses, &other, NULL);
  g_assert_cmpuint (watch, !=, 0);
  g_assert_cmpuint (other_watch, !=, watch);

  g_free (tun_tap_test_run (FALSE, "ip link set nl-mon up"));
  g_assert_true (wait_for (context, &recorder, is_up, GINT_TO_POINTER (TRUE)));
  g_assert_cmpint (recorder.last.ifindex, ==, ifindex);
  g_assert_cmpstr (recorder.last.name, ==, "nl-mon");
  g_assert_true (recorder.last.is_tun);
  g_assert_false (recorder.deleted);

  g_free (tun_tap_test_run (FALSE, "ip link set nl-mon down"));
  g_assert_true (wait_for (context, &recorder, is_up, GINT_TO_POINTER (FALSE)));

  g_free (tun_tap_test_run (FALSE, "ip link set nl-mon mtu 1400"));
  g_assert_true (wait_for (context, &recorder, has_mtu, GUINT_TO_POINTER (1400)));

  g_free (tun_tap_test_run (FALSE, "ip link set nl-mon name nl-renamed"));
  g_assert_true (wait_for (context, &recorder, has_name, "nl-renamed"));
  g_assert_cmpint (recorder.last.ifindex, ==, ifindex);

  /* Each address change with its payload, peers included. */
  calls = recorder.address_calls;
  g_free (tun_tap_test_run (FALSE, "ip addr add 192.0.2.5/24 dev nl-renamed"));
  g_assert_true (wait_for (context, &recorder, address_calls_above, GUINT_TO_POINTER (calls)));
  g_assert_cmpstr (recorder.last_address, ==, "+192.0.2.5/24");
  calls = recorder.address_calls;
  g_free (tun_tap_test_run (FALSE, "ip -6 addr add 2001:db8:5::1/64 dev nl-renamed nodad"));
  g_assert_true (wait_for (context, &recorder, address_calls_above, GUINT_TO_POINTER (calls)));
  g_assert_cmpstr (recorder.last_address, ==, "+2001:db8:5::1/64");
  calls = recorder.address_calls;
  g_free (tun_tap_test_run (FALSE, "ip addr add 198.51.100.5 peer 198.51.100.6 dev nl-renamed"));
  g_assert_true (wait_for (context, &recorder, address_calls_above, GUINT_TO_POINTER (calls)));
  g_assert_cmpstr (recorder.last_address, ==, "+198.51.100.5/32 peer 198.51.100.6");
  /* A change of lifetimes only is notified too: the device layer has to
   * tell it from a real change (tests/link.c). */
  calls = recorder.address_calls;
  g_free (tun_tap_test_run (FALSE, "ip addr change 192.0.2.5/24 dev nl-renamed "
                                   "valid_lft 100 preferred_lft 100"));
  g_assert_true (wait_for (context, &recorder, address_calls_above, GUINT_TO_POINTER (calls)));
  g_assert_cmpstr (recorder.last_address, ==, "+192.0.2.5/24");
  calls = recorder.address_calls;
  g_free (tun_tap_test_run (FALSE, "ip addr del 192.0.2.5/24 dev nl-renamed"));
  g_assert_true (wait_for (context, &recorder, address_calls_above, GUINT_TO_POINTER (calls)));
  g_assert_cmpstr (recorder.last_address, ==, "-192.0.2.5/24");
  g_assert_cmpuint (recorder.address_rereads, ==, 0);

  /* The layer's own changes are reported too. */
  g_assert_true (tun_tap_netlink_set_mtu (nl, ifindex, "nl-renamed", 1300, &error));
  g_assert_true (wait_for (context, &recorder, has_mtu, GUINT_TO_POINTER (1300)));

  /* Nothing of this was about the other link. */
  tun_tap_test_spin (context, 50);
  g_assert_cmpuint (other.link_calls, ==, 0);
  g_assert_cmpuint (other.address_calls, ==, 0);

  g_free (tun_tap_test_run (FALSE, "ip link del nl-renamed"));
  g_assert_true (wait_for (context, &recorder, is_deleted, NULL));
  g_assert_cmpint (recorder.last.ifindex, ==, ifindex);
  g_assert_false (other.deleted);

  tun_tap_netlink_monitor_remove_watch (monitor, watch);
  tun_tap_netlink_monitor_remove_watch (monitor, other_watch);
  tun_tap_netlink_monitor_unref (monitor);
  g_free (recorder.last_address);
  delete_link ("nl-other");
}

static void
test_monitor_shared (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GMainContext) other_context = g_main_context_new ();
  TunTapNetlinkMonitor *first, *second, *other;
  guint before;

  g_test_summary ("one monitor per main context and namespace, two sockets (notifications, "
                  "and requests to re-read links after an overrun), freed with the last reference");

  before = tun_tap_test_count_fds ();
  first = tun_tap_netlink_monitor_get (context, -1, &error);
  g_assert_no_error (error);
  second = tun_tap_netlink_monitor_get (context, -1, &error);
  g_assert_no_error (error);
  g_assert_true (first == second);
  g_assert_cmpuint (tun_tap_test_count_fds (), ==, before + 2);

  other = tun_tap_netlink_monitor_get (other_context, -1, &error);
  g_assert_no_error (error);
  g_assert_true (other != first);
  g_assert_cmpuint (tun_tap_test_count_fds (), ==, before + 4);

  tun_tap_netlink_monitor_unref (second);
  tun_tap_netlink_monitor_unref (other);
  g_assert_cmpuint (tun_tap_test_count_fds (), ==, before + 2);
  tun_tap_netlink_monitor_unref (first);
  g_assert_cmpuint (tun_tap_test_count_fds (), ==, before);

  /* A fresh one after the last went away. */
  first = tun_tap_netlink_monitor_get (context, -1, &error);
  g_assert_no_error (error);
  tun_tap_netlink_monitor_unref (first);
}

typedef struct {
  TunTapNetlinkMonitor *monitor;
  guint                 watch;
  guint                 calls;
  gboolean              drop_monitor;
  gboolean              changed;
} SelfRemover;

static void
remove_self (const TunTapLinkInfo *info,
             gboolean              deleted,
             gpointer              user_data)
{
  SelfRemover *remover = user_data;

  remover->calls++;
  remover->changed = TRUE;
  tun_tap_netlink_monitor_remove_watch (remover->monitor, remover->watch);
  if (remover->drop_monitor)
    tun_tap_netlink_monitor_unref (remover->monitor);
}

static void
test_monitor_remove_in_callback (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  SelfRemover remover = { NULL, 0, 0, FALSE, FALSE };
  SelfRemover dropper = { NULL, 0, 0, TRUE, FALSE };
  Recorder recorder = { { 0 } };
  guint watch;
  int ifindex = add_persistent ("nl-self", "tun");

  g_test_summary ("a watch may remove itself, and drop the last monitor reference, "
                  "from inside its callback");

  remover.monitor = tun_tap_netlink_monitor_get (context, -1, &error);
  g_assert_no_error (error);
  remover.watch = tun_tap_netlink_monitor_add_watch (remover.monitor, ifindex, remove_self,
                                                     NULL, &remover, NULL);
  watch = tun_tap_netlink_monitor_add_watch (remover.monitor, ifindex, record_link, NULL,
                                             &recorder, NULL);

  g_free (tun_tap_test_run (FALSE, "ip link set nl-self mtu 1400"));
  g_assert_true (wait_for (context, &recorder, has_mtu, GUINT_TO_POINTER (1400)));
  g_assert_cmpuint (remover.calls, ==, 1);

  g_free (tun_tap_test_run (FALSE, "ip link set nl-self mtu 1300"));
  g_assert_true (wait_for (context, &recorder, has_mtu, GUINT_TO_POINTER (1300)));
  g_assert_cmpuint (remover.calls, ==, 1);
  tun_tap_netlink_monitor_remove_watch (remover.monitor, watch);

  /* The last reference goes inside a callback. */
  dropper.monitor = remover.monitor;
  dropper.watch = tun_tap_netlink_monitor_add_watch (dropper.monitor, ifindex, remove_self,
                                                     NULL, &dropper, NULL);
  g_free (tun_tap_test_run (FALSE, "ip link set nl-self mtu 1200"));
  g_assert_true (tun_tap_test_wait_for (context, &dropper.changed, 5000));
  g_assert_cmpuint (dropper.calls, ==, 1);
  tun_tap_test_spin (context, 50);

  delete_link ("nl-self");
}

static void
test_monitor_bridge_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autofree char *out = NULL;
  TunTapNetlinkMonitor *monitor;
  Recorder recorder = { { 0 } };
  guint watch;
  int ifindex = add_persistent ("nl-port", "tap");

  g_test_summary ("a TAP leaving a bridge (an AF_BRIDGE RTM_DELLINK) is not reported "
                  "as deleted");

  out = tun_tap_test_run (TRUE, "ip link add nl-br type bridge && echo ok");
  if (!output_contains (out, "ok"))
    {
      g_test_skip ("no bridge support in this kernel");
      delete_link ("nl-port");
      return;
    }

  monitor = tun_tap_netlink_monitor_get (context, -1, &error);
  g_assert_no_error (error);
  watch = tun_tap_netlink_monitor_add_watch (monitor, ifindex, record_link, NULL, &recorder, NULL);

  g_free (tun_tap_test_run (FALSE, "ip link set nl-port master nl-br"));
  g_free (tun_tap_test_run (FALSE, "ip link set nl-port nomaster"));
  g_free (tun_tap_test_run (FALSE, "ip link set nl-port mtu 1400"));
  g_assert_true (wait_for (context, &recorder, has_mtu, GUINT_TO_POINTER (1400)));
  tun_tap_test_spin (context, 50);
  g_assert_false (recorder.deleted);
  g_assert_true (recorder.last.is_tun);

  tun_tap_netlink_monitor_remove_watch (monitor, watch);
  tun_tap_netlink_monitor_unref (monitor);
  delete_link ("nl-br");
  delete_link ("nl-port");
}

static void
test_monitor_overrun (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  TunTapNetlinkMonitor *monitor;
  Recorder recorder = { { 0 } };
  guint watch;
  int ifindex = add_persistent ("nl-flood", "tun");

  g_test_summary ("after the kernel drops notifications (ENOBUFS) every watch gets a "
                  "fresh link state and an address call");

  g_free (tun_tap_test_run (FALSE, "ip link set nl-flood mtu 1400"));
  monitor = tun_tap_netlink_monitor_get (context, -1, &error);
  g_assert_no_error (error);
  watch = tun_tap_netlink_monitor_add_watch (monitor, ifindex, record_link, record_addresses,
                                             &recorder, NULL);

  /* A few address changes bring no link call... */
  tun_tap_test_flood_addresses ("nl-flood", "2001:db8:e::", 10);
  g_assert_true (wait_for (context, &recorder, address_calls_above, GUINT_TO_POINTER (0)));
  tun_tap_test_spin (context, 100);
  g_assert_cmpuint (recorder.link_calls, ==, 0);

  /* ...but a flood the socket cannot hold, read only afterwards, does. */
  recorder.address_calls = 0;
  tun_tap_test_flood_addresses ("nl-flood", "2001:db8:f::", 10000);

  /* Until its queue is empty the kernel drops further notifications for
   * the socket without a second ENOBUFS, so this change is never sent: only
   * a re-sync done after the drain can see it. One iteration reads only
   * part of the queue. */
  g_main_context_iteration (context, FALSE);
  g_free (tun_tap_test_run (FALSE, "ip link set nl-flood mtu 1300"));

  g_assert_true (wait_for (context, &recorder, has_mtu, GUINT_TO_POINTER (1300)));
  g_assert_cmpint (recorder.last.ifindex, ==, ifindex);
  g_assert_cmpstr (recorder.last.name, ==, "nl-flood");
  g_assert_false (recorder.deleted);
  g_assert_true (wait_for (context, &recorder, address_calls_above, GUINT_TO_POINTER (0)));
  g_test_message ("after the flood: %u link calls, %u address calls (%u to read again)",
                  recorder.link_calls, recorder.address_calls, recorder.address_rereads);
  /* What was lost is unknown: the watch is told to read again. */
  g_assert_cmpuint (recorder.address_rereads, >, 0);

  /* And the monitor still works. */
  g_free (tun_tap_test_run (FALSE, "ip link set nl-flood mtu 1280"));
  g_assert_true (wait_for (context, &recorder, has_mtu, GUINT_TO_POINTER (1280)));

  tun_tap_netlink_monitor_remove_watch (monitor, watch);
  tun_tap_netlink_monitor_unref (monitor);
  g_free (recorder.last_address);
  delete_link ("nl-flood");
}

int
main (int argc, char *argv[])
{
  g_autofree char *reason = NULL;

  /* Before anything can start a thread. */
  if (!tun_tap_test_enter_netns (&reason))
    {
      g_test_init (&argc, &argv, NULL);
      g_test_skip (reason);
      return g_test_run ();
    }
  g_test_init (&argc, &argv, NULL);
  nl = tun_tap_netlink_open (-1, NULL);
  g_assert_nonnull (nl);

  g_test_add_func ("/tun-tap/netlink/parse-link", test_parse_link);
  g_test_add_func ("/tun-tap/netlink/link/get-open-tun", test_get_link_open_tun);
  g_test_add_func ("/tun-tap/netlink/link/get-flags", test_get_link_flags);
  g_test_add_func ("/tun-tap/netlink/link/missing-device", test_missing_device);
  g_test_add_func ("/tun-tap/netlink/link/up-down", test_up_down);
  g_test_add_func ("/tun-tap/netlink/link/mtu-tun", test_mtu_tun);
  g_test_add_func ("/tun-tap/netlink/link/mtu-tap", test_mtu_tap);
  g_test_add_func ("/tun-tap/netlink/link/hwaddr", test_hwaddr);
  g_test_add_func ("/tun-tap/netlink/address/ipv4", test_address_ipv4);
  g_test_add_func ("/tun-tap/netlink/address/ipv4-peer", test_address_ipv4_peer);
  g_test_add_func ("/tun-tap/netlink/address/ipv6", test_address_ipv6);
  g_test_add_func ("/tun-tap/netlink/address/ipv6-peer", test_address_ipv6_peer);
  g_test_add_func ("/tun-tap/netlink/address/ipv6-low-mtu", test_address_ipv6_low_mtu);
  g_test_add_func ("/tun-tap/netlink/route/both-families", test_routes);
  g_test_add_func ("/tun-tap/netlink/route/link-down", test_route_link_down);
  g_test_add_func ("/tun-tap/netlink/no-fd-leak", test_no_fd_leak);
  g_test_add_func ("/tun-tap/netlink/monitor/link", test_monitor_link);
  g_test_add_func ("/tun-tap/netlink/monitor/shared", test_monitor_shared);
  g_test_add_func ("/tun-tap/netlink/monitor/remove-in-callback", test_monitor_remove_in_callback);
  g_test_add_func ("/tun-tap/netlink/monitor/bridge-port", test_monitor_bridge_port);
  g_test_add_func ("/tun-tap/netlink/monitor/overrun", test_monitor_overrun);

  return g_test_run ();
}
