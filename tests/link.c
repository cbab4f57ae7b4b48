/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Link configuration through TunTapDevice (rtnetlink, in-process), each
 * effect checked against the kernel with iproute2, and the properties
 * following changes made by another program.
 */
#include <string.h>
#include <net/if.h>

#include <tuntap-glib/tuntap-glib.h>
#include "tun-tap-test-util.h"
#include "tun-tap-test-address.h"

static TunTapDevice *
new_device (const char *name, TunTapMode mode)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device = tun_tap_device_new (name, mode, &error);

  g_assert_no_error (error);
  return device;
}

static gboolean
contains_and_free (char *out, const char *needle)
{
  gboolean found = strstr (out, needle) != NULL;

  g_free (out);
  return found;
}

/* Whether the output of an iproute2 command contains @needle. */
#define ip_shows(needle, format, arg) \
  contains_and_free (tun_tap_test_run (FALSE, format, arg), needle)

static void
on_notify_count (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_up_down (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-up", TUN_TAP_MODE_TUN);
  g_autoptr(GError) error = NULL;
  guint notified = 0;

  g_assert_cmpint (tun_tap_device_get_ifindex (device), ==, (int) if_nametoindex ("tl-up"));
  g_assert_false (tun_tap_device_get_up (device));
  g_signal_connect (device, "notify::up", G_CALLBACK (on_notify_count), &notified);

  g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_up (device));
  g_assert_true (ip_shows ("<POINTOPOINT,MULTICAST,NOARP,UP", "ip -o link show %s", "tl-up"));
  g_assert_cmpuint (notified, ==, 1);

  g_assert_true (tun_tap_device_set_up (device, FALSE, &error));
  g_assert_false (tun_tap_device_get_up (device));
  g_assert_false (ip_shows (",UP", "ip -o link show %s", "tl-up"));
  g_assert_cmpuint (notified, ==, 2);

  /* Nothing changed: no notification, not even once the monitor's
   * messages arrive. */
  tun_tap_test_spin (NULL, 100);
  g_assert_cmpuint (notified, ==, 2);
}

static void
test_mtu (void)
{
  g_autoptr(TunTapDevice) tun = new_device ("tl-mtu", TUN_TAP_MODE_TUN);
  g_autoptr(TunTapDevice) tap = new_device ("tl-mtu-tap", TUN_TAP_MODE_TAP);
  g_autoptr(GError) error = NULL;
  const guint bad_tun[] = { 0, 67, 65536, 70000 };
  const guint bad_tap[] = { 0, 67, 65522, 65535, 70000 };

  g_assert_cmpuint (tun_tap_device_get_mtu (tun), ==, 1500);
  g_assert_true (tun_tap_device_set_mtu (tun, 1400, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tun_tap_device_get_mtu (tun), ==, 1400);
  g_assert_true (ip_shows ("mtu 1400", "ip -o link show %s", "tl-mtu"));
  g_assert_true (tun_tap_device_set_mtu (tun, 68, &error));
  g_assert_true (tun_tap_device_set_mtu (tun, 65535, &error));
  g_assert_true (tun_tap_device_set_mtu (tap, 65521, &error));
  g_assert_true (ip_shows ("mtu 65521", "ip -o link show %s", "tl-mtu-tap"));
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (bad_tun); i++)
    {
      g_assert_false (tun_tap_device_set_mtu (tun, bad_tun[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "tl-mtu"));
      g_clear_error (&error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_tap); i++)
    {
      g_assert_false (tun_tap_device_set_mtu (tap, bad_tap[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_cmpuint (tun_tap_device_get_mtu (tun), ==, 65535);
}

static TunTapAddress *
address (const char *text)
{
  g_autoptr(GError) error = NULL;
  TunTapAddress *a = tun_tap_address_new_from_string (text, &error);

  g_assert_no_error (error);
  return a;
}

static GInetAddressMask *
network (const char *text)
{
  GInetAddressMask *mask = g_inet_address_mask_new_from_string (text, NULL);

  g_assert_nonnull (mask);
  return mask;
}

/* Asserts INVALID_ARGUMENT whose message has @needle (and @device_name, if
 * given); clears it. */
static void
assert_invalid (GError    **error,
                const char *device_name,
                const char *needle)
{
  g_assert_error (*error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  if (device_name != NULL)
    g_assert_nonnull (strstr ((*error)->message, device_name));
  if (needle != NULL)
    g_assert_nonnull (strstr ((*error)->message, needle));
  g_clear_error (error);
}

static void
test_address_type (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) local = g_inet_address_new_from_string ("192.0.2.1");
  g_autoptr(GInetAddress) peer = g_inet_address_new_from_string ("192.0.2.2");
  g_autoptr(TunTapAddress) plain = tun_tap_address_new (local, 24, NULL);
  g_autoptr(TunTapAddress) ptp = tun_tap_address_new (local, 32, peer);
  const char *round_trip[] = {
    "192.0.2.1/24", "192.0.2.1/32 peer 192.0.2.2", "2001:db8::1/64",
    "2001:db8:1::1/128 peer 2001:db8:1::2", "0.0.0.0/0", "198.51.100.255/31",
  };
  const struct { const char *in, *out; } canonical[] = {
    { "203.0.113.9", "203.0.113.9/32" },                 /* a host address */
    { "2001:db8:2::9", "2001:db8:2::9/128" },
    { "2001:DB8:0:0::1/64", "2001:db8::1/64" },
    { "  192.0.2.1/24\t", "192.0.2.1/24" },
    { "192.0.2.1  peer  192.0.2.2", "192.0.2.1/32 peer 192.0.2.2" },
  };
  const struct { const char *text, *needle; } bad[] = {
    { "", "empty" },
    { "   ", "empty" },
    { "not-an-address", "not an IPv4 or IPv6 address" },
    { "192.0.2.300/24", "not an IPv4 or IPv6 address" },
    { "fe80::1%eth0/64", "not an IPv4 or IPv6 address" },
    { "192.0.2.1/33", "0 to 32" },
    { "2001:db8::1/129", "0 to 128" },
    { "192.0.2.1/", "0 to 32" },
    { "/24", "not an IPv4 or IPv6 address" },
    { "192.0.2.1/24/8", "0 to 32" },
    { "192.0.2.1/-1", "0 to 32" },
    { "192.0.2.1/24 peer", "only an address" },
    { "192.0.2.1/24 via 192.0.2.2", "only an address" },
    { "192.0.2.1/24 peer bogus", "peer “bogus”" },
    { "192.0.2.1/32 peer 192.0.2.2/32", "no prefix length" },
    { "192.0.2.1/32 peer 2001:db8::2", "same family" },
    { "2001:db8::1/128 peer 192.0.2.2", "same family" },
  };

  g_test_summary ("TunTapAddress: constructors, getters, string form and its errors, "
                  "equal and hash");

  g_assert_true (g_inet_address_equal (tun_tap_address_get_address (plain), local));
  g_assert_cmpuint (tun_tap_address_get_prefix_length (plain), ==, 24);
  g_assert_null (tun_tap_address_get_peer (plain));
  g_assert_cmpint (tun_tap_address_get_family (plain), ==, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpint (tun_tap_address_get_flags (plain), ==, TUN_TAP_ADDRESS_FLAGS_NONE);
  g_assert_true (g_inet_address_equal (tun_tap_address_get_peer (ptp), peer));
  g_assert_true (G_TYPE_IS_BOXED (TUN_TAP_TYPE_ADDRESS));
  g_assert_true (G_TYPE_IS_FLAGS (TUN_TAP_TYPE_ADDRESS_FLAGS));

  for (gsize i = 0; i < G_N_ELEMENTS (round_trip); i++)
    {
      g_autoptr(TunTapAddress) a = address (round_trip[i]);
      g_autofree char *text = tun_tap_address_to_string (a);
      g_autoptr(TunTapAddress) again = address (text);
      gpointer copy = g_boxed_copy (TUN_TAP_TYPE_ADDRESS, a);

      g_assert_cmpstr (text, ==, round_trip[i]);
      g_assert_true (tun_tap_address_equal (a, again));
      g_assert_cmpuint (tun_tap_address_hash (a), ==, tun_tap_address_hash (again));
      g_assert_true (copy == a);      /* immutable: a copy is a reference */
      g_boxed_free (TUN_TAP_TYPE_ADDRESS, copy);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (canonical); i++)
    {
      g_autoptr(TunTapAddress) a = address (canonical[i].in);
      g_autofree char *text = tun_tap_address_to_string (a);

      g_assert_cmpstr (text, ==, canonical[i].out);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("bad: “%s”", bad[i].text);
      g_assert_null (tun_tap_address_new_from_string (bad[i].text, &error));
      assert_invalid (&error, NULL, bad[i].needle);
    }

  /* Equal: every field; the peer, the length and the address count. */
  {
    g_autoptr(TunTapAddress) same = address ("192.0.2.1/24");
    g_autoptr(TunTapAddress) longer = address ("192.0.2.1/25");
    g_autoptr(TunTapAddress) other = address ("192.0.2.9/24");
    g_autoptr(TunTapAddress) other_peer = address ("192.0.2.1/32 peer 192.0.2.3");

    g_assert_true (tun_tap_address_equal (plain, same));
    g_assert_cmpuint (tun_tap_address_hash (plain), ==, tun_tap_address_hash (same));
    g_assert_false (tun_tap_address_equal (plain, longer));
    g_assert_false (tun_tap_address_equal (plain, other));
    g_assert_false (tun_tap_address_equal (plain, ptp));
    g_assert_false (tun_tap_address_equal (ptp, other_peer));
  }
}

/* Counts ::addresses-changed. */
static void
on_count (TunTapDevice *device, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_addresses (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-addr", TUN_TAP_MODE_TUN);
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapAddress) v4 = address ("192.0.2.1/32 peer 192.0.2.2");
  g_autoptr(TunTapAddress) v4_net = address ("198.51.100.1/24");
  g_autoptr(TunTapAddress) v6 = address ("2001:db8::1/64");
  g_autoptr(TunTapAddress) v6_ptp = address ("2001:db8:1::1/128 peer 2001:db8:1::2");
  g_autoptr(GPtrArray) list = NULL;
  guint peers = 0;

  g_assert_true (tun_tap_device_add_address (device, v4, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_add_address (device, v4_net, &error));
  g_assert_true (tun_tap_device_add_address (device, v6, &error));
  g_assert_true (tun_tap_device_add_address (device, v6_ptp, &error));
  g_assert_true (tun_tap_device_add_address_from_string (device, "203.0.113.7/25", NULL, &error));
  g_assert_true (tun_tap_device_add_address_from_string (device, "203.0.113.200", "203.0.113.201",
                                                         &error));
  g_assert_no_error (error);

  g_assert_true (ip_shows ("inet 192.0.2.1 peer 192.0.2.2/32", "ip -o addr show dev %s", "tl-addr"));
  g_assert_true (ip_shows ("inet 198.51.100.1/24", "ip -o addr show dev %s", "tl-addr"));
  g_assert_true (ip_shows ("inet 203.0.113.7/25", "ip -o addr show dev %s", "tl-addr"));
  g_assert_true (ip_shows ("inet 203.0.113.200 peer 203.0.113.201/32", "ip -o addr show dev %s", "tl-addr"));
  g_assert_true (ip_shows ("inet6 2001:db8::1/64", "ip -o addr show dev %s", "tl-addr"));
  g_assert_true (ip_shows ("inet6 2001:db8:1::1 peer 2001:db8:1::2/128", "ip -o addr show dev %s", "tl-addr"));

  /* Read back with their peers, as soon as the calls return. */
  g_assert_true (tun_tap_test_has_address (device, "192.0.2.1/32 peer 192.0.2.2"));
  g_assert_true (tun_tap_test_has_address (device, "198.51.100.1/24"));
  g_assert_true (tun_tap_test_has_address (device, "2001:db8::1/64"));
  g_assert_true (tun_tap_test_has_address (device, "2001:db8:1::1/128 peer 2001:db8:1::2"));
  g_assert_true (tun_tap_test_has_address (device, "203.0.113.200/32 peer 203.0.113.201"));
  g_assert_false (tun_tap_test_has_address (device, "192.0.2.1/32"));

  /* One added by another program, with a peer. */
  g_free (tun_tap_test_run (FALSE, "ip addr add 198.51.100.77 peer 198.51.100.78 dev tl-addr"));
  g_assert_true (tun_tap_test_wait_for_address (device, "198.51.100.77/32 peer 198.51.100.78"));

  list = tun_tap_device_get_addresses (device);
  g_assert_cmpuint (list->len, ==, 7);
  for (guint i = 0; i < list->len; i++)
    {
      TunTapAddress *a = g_ptr_array_index (list, i);

      g_assert_cmpint (tun_tap_address_get_flags (a), ==, TUN_TAP_ADDRESS_FLAGS_NONE);
      if (tun_tap_address_get_peer (a) != NULL)
        peers++;
    }
  g_assert_cmpuint (peers, ==, 4);

  /* Duplicates. */
  g_assert_false (tun_tap_device_add_address (device, v4_net, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_add_address (device, v6, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  /* Malformed strings: the device named, the expected form shown. */
  g_assert_false (tun_tap_device_add_address_from_string (device, "192.0.2.1/33", NULL, &error));
  assert_invalid (&error, "tl-addr", "192.0.2.1/24");
  g_assert_false (tun_tap_device_add_address_from_string (device, "not-an-address", NULL, &error));
  assert_invalid (&error, "tl-addr", "not an IPv4 or IPv6 address");
  g_assert_false (tun_tap_device_add_address_from_string (device, "192.0.2.9/32", "bogus", &error));
  assert_invalid (&error, "tl-addr", "bogus");
  g_assert_false (tun_tap_device_add_address_from_string (device, "198.51.100.1/24", "2001:db8:1::2",
                                                          &error));
  assert_invalid (&error, "tl-addr", "same family");
  g_assert_false (tun_tap_device_add_address_from_string (device, "192.0.2.9 peer 192.0.2.10",
                                                          "192.0.2.10", &error));
  assert_invalid (&error, "tl-addr", "give the peer once");
  g_assert_false (tun_tap_device_add_address_from_string (device, NULL, NULL, &error));
  assert_invalid (&error, "tl-addr", "empty");
  g_assert_false (tun_tap_device_remove_address_from_string (device, "198.51.100.1/", NULL, &error));
  assert_invalid (&error, "tl-addr", "0 to 32");

  /* Removal, and removing what is not there. */
  g_assert_true (tun_tap_device_remove_address (device, v4_net, &error));
  g_assert_no_error (error);
  g_assert_false (ip_shows ("198.51.100.1/", "ip -o addr show dev %s", "tl-addr"));
  g_assert_false (tun_tap_test_has_address (device, "198.51.100.1/24"));
  g_assert_false (tun_tap_device_remove_address (device, v4_net, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "tl-addr"));
  g_clear_error (&error);
  g_assert_true (tun_tap_device_remove_address_from_string (device, "2001:db8::1/64", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (ip_shows ("2001:db8::1/64", "ip -o addr show dev %s", "tl-addr"));
  g_assert_false (tun_tap_device_remove_address_from_string (device, "2001:db8::1/64", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* With a peer: the wrong peer is not it; the right one, or none, is. */
  g_assert_false (tun_tap_device_remove_address_from_string (device, "192.0.2.1",
                                                             "192.0.2.3", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (tun_tap_device_remove_address_from_string (device, "192.0.2.1/32 peer 192.0.2.2",
                                                            NULL, &error));
  g_assert_true (tun_tap_device_remove_address_from_string (device, "198.51.100.77", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (ip_shows ("192.0.2.1 ", "ip -o addr show dev %s", "tl-addr"));
  g_assert_false (ip_shows ("198.51.100.77", "ip -o addr show dev %s", "tl-addr"));

  /* What get_addresses() gives can be given back. */
  g_clear_pointer (&list, g_ptr_array_unref);
  list = tun_tap_device_get_addresses (device);
  for (guint i = 0; i < list->len; i++)
    {
      g_assert_true (tun_tap_device_remove_address (device, g_ptr_array_index (list, i), &error));
      g_assert_no_error (error);
    }
  g_clear_pointer (&list, g_ptr_array_unref);
  list = tun_tap_device_get_addresses (device);
  g_assert_cmpuint (list->len, ==, 0);
  g_assert_false (ip_shows ("inet", "ip -o addr show dev %s", "tl-addr"));
}

static void
test_addresses_tap (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-addr-tap", TUN_TAP_MODE_TAP);
  g_autoptr(GError) error = NULL;

  g_assert_true (tun_tap_device_add_address_from_string (device, "203.0.113.1/24", NULL, &error));
  g_assert_true (tun_tap_device_add_address_from_string (device, "2001:db8:2::1/64", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ip_shows ("inet 203.0.113.1/24", "ip -o addr show dev %s", "tl-addr-tap"));
  g_assert_true (ip_shows ("inet6 2001:db8:2::1/64", "ip -o addr show dev %s", "tl-addr-tap"));
  g_assert_true (tun_tap_test_has_address (device, "2001:db8:2::1/64"));
}

/* Iterates until @device emitted ::addresses-changed @expected times in
 * all (5 s at most), then 200 ms more, and returns how many it did. */
static guint
settle (guint *count,
        guint  expected)
{
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       *count < expected && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  tun_tap_test_spin (NULL, 200);
  return *count;
}

/* The flags of @text in get_addresses(), -1 if it is not there. */
static gint
address_flags (TunTapDevice *device,
               const char   *text)
{
  g_autoptr(GPtrArray) list = tun_tap_device_get_addresses (device);

  for (guint i = 0; i < list->len; i++)
    {
      TunTapAddress *a = g_ptr_array_index (list, i);
      g_autofree char *known = tun_tap_address_to_string (a);

      if (g_str_equal (known, text))
        return (gint) tun_tap_address_get_flags (a);
    }
  return -1;
}

static void
test_addresses_changed_only_on_change (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-chg", TUN_TAP_MODE_TUN);
  g_autoptr(GError) error = NULL;
  guint count = 0;

  g_test_summary ("::addresses-changed: exactly once per real change, by this program or "
                  "another; never for a failed call or a change of lifetimes only");

  tun_tap_test_spin (NULL, 100);
  g_signal_connect (device, "addresses-changed", G_CALLBACK (on_count), &count);

  /* Our own change: emitted before the call returns, once. */
  g_assert_true (tun_tap_device_add_address_from_string (device, "192.0.2.1/24", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, 1);
  g_assert_cmpuint (settle (&count, 1), ==, 1);

  /* A duplicate fails and changes nothing. */
  g_assert_false (tun_tap_device_add_address_from_string (device, "192.0.2.1/24", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_remove_address_from_string (device, "192.0.2.99/24", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (settle (&count, 1), ==, 1);

  /* Another program: one address added, with lifetimes. */
  g_free (tun_tap_test_run (FALSE, "ip addr add 198.51.100.1/24 dev tl-chg "
                                   "valid_lft 1000 preferred_lft 1000"));
  g_assert_cmpuint (settle (&count, 2), ==, 2);
  g_assert_true (tun_tap_test_has_address (device, "198.51.100.1/24"));

  /* Its lifetimes changed: the kernel sends RTM_NEWADDR (the netlink
   * layer's test sees it), but nothing get_addresses() returns changed.
   * The removal after it is one emission: had the lifetime change been
   * one, there would be two. */
  g_free (tun_tap_test_run (FALSE, "ip addr change 198.51.100.1/24 dev tl-chg "
                                   "valid_lft 2000 preferred_lft 1500"));
  g_free (tun_tap_test_run (FALSE, "ip addr change 192.0.2.1/24 dev tl-chg "
                                   "valid_lft forever preferred_lft forever"));
  g_assert_cmpuint (settle (&count, 2), ==, 2);
  g_free (tun_tap_test_run (FALSE, "ip addr del 198.51.100.1/24 dev tl-chg"));
  g_assert_cmpuint (settle (&count, 3), ==, 3);
  g_assert_false (tun_tap_test_has_address (device, "198.51.100.1/24"));

  /* A flag is a change: an address whose preferred lifetime is over is
   * deprecated. */
  g_free (tun_tap_test_run (FALSE, "ip addr add 203.0.113.1/24 dev tl-chg "
                                   "valid_lft 1000 preferred_lft 0"));
  g_assert_cmpuint (settle (&count, 4), ==, 4);
  g_assert_cmpint (address_flags (device, "203.0.113.1/24"), ==, TUN_TAP_ADDRESS_FLAGS_DEPRECATED);
  g_free (tun_tap_test_run (FALSE, "ip addr change 203.0.113.1/24 dev tl-chg "
                                   "valid_lft 1000 preferred_lft 1000"));
  g_assert_cmpuint (settle (&count, 5), ==, 5);
  g_assert_cmpint (address_flags (device, "203.0.113.1/24"), ==, TUN_TAP_ADDRESS_FLAGS_NONE);

  /* Our own removal: once. */
  g_assert_true (tun_tap_device_remove_address_from_string (device, "192.0.2.1/24", NULL, &error));
  g_assert_cmpuint (count, ==, 6);
  g_assert_cmpuint (settle (&count, 6), ==, 6);
}

static void
test_addresses_tentative (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-dad", TUN_TAP_MODE_TAP);
  g_autoptr(GError) error = NULL;
  guint count = 0;

  g_test_summary ("an IPv6 address another program adds on a TAP link is tentative "
                  "until duplicate address detection ends, and that end is a change");

  /* No link-local address of its own, whose detection would be counted. */
  g_free (tun_tap_test_run (FALSE, "ip link set %s addrgenmode none", "tl-dad"));
  g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_no_error (error);
  tun_tap_test_spin (NULL, 100);
  g_signal_connect (device, "addresses-changed", G_CALLBACK (on_count), &count);

  g_free (tun_tap_test_run (FALSE, "ip addr add 2001:db8:7::1/64 dev tl-dad"));
  g_assert_true (tun_tap_test_wait_for_address (device, "2001:db8:7::1/64"));
  g_assert_cmpuint (count, ==, 1);
  g_assert_cmpint (address_flags (device, "2001:db8:7::1/64"), ==, TUN_TAP_ADDRESS_FLAGS_TENTATIVE);
  g_assert_true (ip_shows ("tentative", "ip -o -6 addr show dev %s", "tl-dad"));

  /* Detection takes a second or two (one probe, nobody answers). */
  g_assert_cmpuint (settle (&count, 2), ==, 2);
  g_assert_false (ip_shows ("tentative", "ip -o -6 addr show dev %s", "tl-dad"));
  g_assert_cmpint (address_flags (device, "2001:db8:7::1/64"), ==, TUN_TAP_ADDRESS_FLAGS_NONE);
}

static guint
kernel_address_count (const char *name)
{
  g_autofree char *out = tun_tap_test_run (FALSE, "ip -o addr show dev %s | wc -l", name);

  return (guint) g_ascii_strtoull (out, NULL, 10);
}

static void
test_addresses_after_overrun (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-flood", TUN_TAP_MODE_TUN);
  g_autoptr(GPtrArray) list = NULL;
  guint count = 0;

  g_test_summary ("a burst of address changes that overruns the rtnetlink monitor is "
                  "not lost: the device reads its addresses again, and tells");

  g_signal_connect (device, "addresses-changed", G_CALLBACK (on_count), &count);

  /* Nothing reads the monitor meanwhile: the kernel drops notifications. */
  tun_tap_test_flood_addresses ("tl-flood", "2001:db8:f::", 3000);
  g_assert_cmpuint (kernel_address_count ("tl-flood"), ==, 3000);
  g_assert_true (tun_tap_test_wait_for_address (device, "2001:db8:f::bb8/128"));
  list = tun_tap_device_get_addresses (device);
  g_assert_cmpuint (list->len, ==, 3000);
  g_assert_cmpuint (count, >=, 1);
  g_test_message ("3000 addresses added: %u emissions", count);

  /* And all gone at once. */
  count = 0;
  g_free (tun_tap_test_run (FALSE, "ip addr flush dev %s", "tl-flood"));
  g_assert_cmpuint (kernel_address_count ("tl-flood"), ==, 0);
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       list->len > 0 && g_get_monotonic_time () < end;)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
      g_ptr_array_unref (list);
      list = tun_tap_device_get_addresses (device);
    }
  g_assert_cmpuint (list->len, ==, 0);
  g_assert_cmpuint (count, >=, 1);
  g_test_message ("flushed: %u emissions", count);
}

static void
test_routes (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-route", TUN_TAP_MODE_TUN);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddressMask) net4 = network ("203.0.113.0/24");
  g_autoptr(GInetAddressMask) net6 = network ("2001:db8:200::/48");
  g_autoptr(GInetAddressMask) via4 = network ("198.51.100.0/24");
  g_autoptr(GInetAddress) gw4 = g_inet_address_new_from_string ("192.0.2.2");
  g_autoptr(GInetAddress) gw6 = g_inet_address_new_from_string ("2001:db8::2");

  /* A down link takes no routes. */
  g_assert_false (tun_tap_device_add_route (device, net4, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_add_route_from_string (device, "203.0.113.0/24", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
  g_clear_error (&error);

  g_assert_true (tun_tap_device_add_address_from_string (device, "192.0.2.1/24", NULL, &error));
  g_assert_true (tun_tap_device_add_address_from_string (device, "2001:db8::1/64", NULL, &error));
  g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_no_error (error);

  g_assert_true (tun_tap_device_add_route (device, net4, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_add_route (device, net6, NULL, &error));
  g_assert_true (tun_tap_device_add_route (device, via4, gw4, &error));
  g_assert_no_error (error);
  g_assert_true (ip_shows ("203.0.113.0/24 dev tl-route", "ip -4 route show dev %s; ip -4 route", "tl-route"));
  g_assert_true (ip_shows ("198.51.100.0/24 via 192.0.2.2 dev tl-route", "ip -4 route; : %s", "x"));
  g_assert_true (ip_shows ("2001:db8:200::/48 dev tl-route", "ip -6 route; : %s", "x"));

  g_assert_false (tun_tap_device_add_route (device, net4, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_add_route (device, net4, gw6, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (tun_tap_device_remove_route (device, net4, NULL, &error));
  g_assert_true (tun_tap_device_remove_route (device, net6, NULL, &error));
  g_assert_true (tun_tap_device_remove_route (device, via4, gw4, &error));
  g_assert_no_error (error);
  g_assert_false (ip_shows ("203.0.113.0/24", "ip -4 route; : %s", "x"));
  g_assert_false (ip_shows ("2001:db8:200::/48", "ip -6 route; : %s", "x"));
  g_assert_false (tun_tap_device_remove_route (device, net4, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The same from strings; a default route; a host route. */
  g_assert_true (tun_tap_device_add_route_from_string (device, "203.0.113.0/24", NULL, &error));
  g_assert_true (tun_tap_device_add_route_from_string (device, "2001:db8:300::/48", "2001:db8::fe",
                                                       &error));
  g_assert_true (tun_tap_device_add_route_from_string (device, "0.0.0.0/0", "192.0.2.254", &error));
  g_assert_true (tun_tap_device_add_route_from_string (device, "198.51.100.9", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ip_shows ("203.0.113.0/24 dev tl-route", "ip -4 route; : %s", "x"));
  g_assert_true (ip_shows ("2001:db8:300::/48 via 2001:db8::fe dev tl-route", "ip -6 route; : %s", "x"));
  g_assert_true (ip_shows ("default via 192.0.2.254 dev tl-route", "ip -4 route; : %s", "x"));
  g_assert_true (ip_shows ("198.51.100.9 dev tl-route", "ip -4 route; : %s", "x"));
  g_assert_false (tun_tap_device_add_route_from_string (device, "203.0.113.0/24", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (tun_tap_device_remove_route_from_string (device, "203.0.113.0/24", NULL, &error));
  g_assert_true (tun_tap_device_remove_route_from_string (device, "2001:db8:300::/48",
                                                          "2001:db8::fe", &error));
  g_assert_true (tun_tap_device_remove_route_from_string (device, "0.0.0.0/0", "192.0.2.254",
                                                          &error));
  g_assert_true (tun_tap_device_remove_route_from_string (device, "198.51.100.9/32", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (ip_shows ("tl-route", "ip -4 route | grep -v 'proto kernel'; : %s", "x"));
  g_assert_false (tun_tap_device_remove_route_from_string (device, "203.0.113.0/24", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Malformed strings: the device named, the expected form shown. */
  g_assert_false (tun_tap_device_add_route_from_string (device, "203.0.113.1/24", NULL, &error));
  assert_invalid (&error, "tl-route", "198.51.100.0/24");
  g_assert_false (tun_tap_device_add_route_from_string (device, "default", NULL, &error));
  assert_invalid (&error, "tl-route", "0.0.0.0/0");
  g_assert_false (tun_tap_device_add_route_from_string (device, "203.0.113.0/33", NULL, &error));
  assert_invalid (&error, "tl-route", NULL);
  g_assert_false (tun_tap_device_add_route_from_string (device, NULL, NULL, &error));
  assert_invalid (&error, "tl-route", NULL);
  g_assert_false (tun_tap_device_add_route_from_string (device, "203.0.113.0/24", "192.0.2.2/32",
                                                        &error));
  assert_invalid (&error, "tl-route", "192.0.2.254");
  g_assert_false (tun_tap_device_remove_route_from_string (device, "bogus", NULL, &error));
  assert_invalid (&error, "tl-route", NULL);
  g_assert_false (tun_tap_device_add_route_from_string (device, "203.0.113.0/24", "2001:db8::fe",
                                                        &error));
  assert_invalid (&error, "tl-route", "same family");
}

static void
test_hardware_address (void)
{
  g_autoptr(TunTapDevice) tap = new_device ("tl-mac", TUN_TAP_MODE_TAP);
  g_autoptr(TunTapDevice) tun = new_device ("tl-mac-tun", TUN_TAP_MODE_TUN);
  g_autoptr(GError) error = NULL;
  g_autofree char *prop = NULL;
  const char *bad[] = { "02:00:5e:00:53", "02:00:5e:00:53:1g", "02-00-5e-00-53-10",
                        "01:00:5e:00:53:10", "00:00:00:00:00:00", "", "02:00:5e:00:53:10:11" };
  guint notified = 0;

  g_assert_nonnull (tun_tap_device_get_hardware_address (tap));
  g_assert_null (tun_tap_device_get_hardware_address (tun));
  g_signal_connect (tap, "notify::hardware-address", G_CALLBACK (on_notify_count), &notified);

  g_assert_true (tun_tap_device_set_hardware_address (tap, "02:00:5E:00:53:10", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (tun_tap_device_get_hardware_address (tap), ==, "02:00:5e:00:53:10");
  g_assert_true (ip_shows ("link/ether 02:00:5e:00:53:10", "ip -o link show %s", "tl-mac"));
  g_assert_cmpuint (notified, ==, 1);

  /* The property reads the same; it is read-only (a setter that can fail
   * belongs in a method with a GError). */
  g_object_get (tap, "hardware-address", &prop, NULL);
  g_assert_cmpstr (prop, ==, "02:00:5e:00:53:10");
  g_assert_false (g_object_class_find_property (G_OBJECT_GET_CLASS (tap), "hardware-address")->flags &
                  G_PARAM_WRITABLE);

  g_assert_false (tun_tap_device_set_hardware_address (tun, "02:00:5e:00:53:10", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "tl-mac-tun"));
  g_clear_error (&error);

  g_assert_null (tun_tap_device_get_hardware_address (tun));

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (tun_tap_device_set_hardware_address (tap, bad[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_true (ip_shows ("link/ether 02:00:5e:00:53:10", "ip -o link show %s", "tl-mac"));
}

static void
test_carrier (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-carrier", TUN_TAP_MODE_TUN);
  g_autoptr(GError) error = NULL;
  guint notified = 0;

  g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_true (tun_tap_device_get_carrier (device));
  g_signal_connect (device, "notify::carrier", G_CALLBACK (on_notify_count), &notified);

  g_assert_true (tun_tap_device_set_carrier (device, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (tun_tap_device_get_carrier (device));
  g_assert_true (ip_shows ("NO-CARRIER", "ip -o link show %s", "tl-carrier"));
  g_assert_cmpuint (notified, ==, 1);

  g_assert_true (tun_tap_device_set_carrier (device, TRUE, &error));
  g_assert_true (tun_tap_device_get_carrier (device));
  g_assert_false (ip_shows ("NO-CARRIER", "ip -o link show %s", "tl-carrier"));
}

typedef struct {
  guint up, mtu, name, addresses, closed;
  GError *closed_error;
} Changes;

static void
on_change (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  Changes *c = user_data;
  const char *prop = g_param_spec_get_name (pspec);

  if (g_str_equal (prop, "up"))
    c->up++;
  else if (g_str_equal (prop, "mtu"))
    c->mtu++;
  else if (g_str_equal (prop, "name"))
    c->name++;
}

static void
on_addresses_changed (TunTapDevice *device, gpointer user_data)
{
  ((Changes *) user_data)->addresses++;
}

static void
on_closed (TunTapDevice *device, const GError *error, gpointer user_data)
{
  Changes *c = user_data;

  c->closed++;
  if (error != NULL)
    c->closed_error = g_error_copy (error);
}

static gboolean
wait_count (guint *counter, guint at_least)
{
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       *counter < at_least && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  return *counter >= at_least;
}

static void
test_external_changes (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-ext", TUN_TAP_MODE_TUN);
  Changes c = { 0 };
  int ifindex = tun_tap_device_get_ifindex (device);

  g_signal_connect (device, "notify", G_CALLBACK (on_change), &c);
  g_signal_connect (device, "addresses-changed", G_CALLBACK (on_addresses_changed), &c);
  g_signal_connect (device, "closed", G_CALLBACK (on_closed), &c);

  g_free (tun_tap_test_run (FALSE, "ip link set tl-ext up"));
  g_assert_true (wait_count (&c.up, 1));
  g_assert_true (tun_tap_device_get_up (device));

  g_free (tun_tap_test_run (FALSE, "ip link set tl-ext down"));
  g_assert_true (wait_count (&c.up, 2));
  g_assert_false (tun_tap_device_get_up (device));

  g_free (tun_tap_test_run (FALSE, "ip link set tl-ext mtu 1300"));
  g_assert_true (wait_count (&c.mtu, 1));
  g_assert_cmpuint (tun_tap_device_get_mtu (device), ==, 1300);

  /* (Up and down may have added and removed an IPv6 link-local address.) */
  c.addresses = 0;
  g_free (tun_tap_test_run (FALSE, "ip addr add 192.0.2.77/24 dev tl-ext"));
  g_assert_true (wait_count (&c.addresses, 1));
  g_assert_true (tun_tap_test_has_address (device, "192.0.2.77/24"));

  /* Renamed: the device follows its ifindex. */
  g_free (tun_tap_test_run (FALSE, "ip link set tl-ext name tl-renamed"));
  g_assert_true (wait_count (&c.name, 1));
  g_assert_cmpstr (tun_tap_device_get_name (device), ==, "tl-renamed");
  g_assert_cmpint (tun_tap_device_get_ifindex (device), ==, ifindex);
  g_assert_true (tun_tap_device_set_up (device, TRUE, NULL));
  g_assert_true (ip_shows (",UP", "ip -o link show %s", "tl-renamed"));

  g_free (tun_tap_test_run (FALSE, "ip link del tl-renamed"));
  g_assert_true (wait_count (&c.closed, 1));
  tun_tap_test_spin (NULL, 200);
  g_assert_cmpuint (c.closed, ==, 1);
  g_assert_error (c.closed_error, G_IO_ERROR, G_IO_ERROR_NO_SUCH_DEVICE);
  g_assert_nonnull (strstr (c.closed_error->message, "tl-renamed"));
  g_clear_error (&c.closed_error);
}

static void
test_moved_to_other_netns (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-move", TUN_TAP_MODE_TUN);
  g_autoptr(GError) error = NULL;
  g_autofree char *pid = NULL;
  Changes c = { 0 };
  guint8 pkt[28] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0xf6, 0xcd,
                     192, 0, 2, 2, 192, 0, 2, 1, 0, 7, 0, 9, 0, 8, 0, 0 };

  g_signal_connect (device, "closed", G_CALLBACK (on_closed), &c);
  /* A second namespace of our own: a child's, gone when it exits. */
  pid = tun_tap_test_run (FALSE, "unshare -n sleep 30 >/dev/null 2>&1 & echo $!");
  g_strstrip (pid);
  g_usleep (200000);
  g_free (tun_tap_test_run (FALSE, "ip link set tl-move netns %s", pid));
  g_assert_false (tun_tap_test_link_exists ("tl-move"));

  /* The RTM_DELLINK we saw was a move, not a deletion: still open, and
   * the device follows the interface over there. */
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (c.closed, ==, 0);
  g_assert_false (tun_tap_device_is_closed (device));
  g_assert_cmpint (tun_tap_device_get_ifindex (device), >, 0);
  /* The link is down over there: the kernel says EIO, we say why. */
  g_assert_false (tun_tap_device_send (device, pkt, sizeof pkt, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
  g_clear_error (&error);
  /* Configuration acts over there, not here. */
  g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_up (device));
  g_assert_true (ip_shows ("tl-move", "nsenter -t %s -n ip -o link show up", pid));
  g_assert_true (tun_tap_device_send (device, pkt, sizeof pkt, &error));
  g_assert_no_error (error);

  /* Deleted over there: closed, under the name it has now. (The device's
   * sockets keep that namespace alive while it follows the interface.) */
  g_free (tun_tap_test_run (FALSE, "nsenter -t %s -n ip link del tl-move", pid));
  g_free (tun_tap_test_run (FALSE, "kill %s", pid));
  g_assert_true (wait_count (&c.closed, 1));
  g_assert_error (c.closed_error, G_IO_ERROR, G_IO_ERROR_NO_SUCH_DEVICE);
  g_clear_error (&c.closed_error);
}

static void
test_after_close (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tl-closed", TUN_TAP_MODE_TAP);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) addresses = NULL;

  tun_tap_device_close (device);
  g_assert_false (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_set_mtu (device, 1400, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_add_address_from_string (device, "192.0.2.1/24", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_set_hardware_address (device, "02:00:5e:00:53:01", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_set_carrier (device, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  addresses = tun_tap_device_get_addresses (device);
  g_assert_cmpuint (addresses->len, ==, 0);
}

int
main (int argc, char *argv[])
{
  g_autofree char *reason = NULL;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Link configuration and live link state, in a private network namespace");

  if (!tun_tap_test_enter_netns (&reason))
    {
      g_test_skip (reason);
      return g_test_run ();
    }

  g_test_add_func ("/tun-tap/link/up-down", test_up_down);
  g_test_add_func ("/tun-tap/link/mtu", test_mtu);
  g_test_add_func ("/tun-tap/link/address-type", test_address_type);
  g_test_add_func ("/tun-tap/link/addresses", test_addresses);
  g_test_add_func ("/tun-tap/link/addresses-tap", test_addresses_tap);
  g_test_add_func ("/tun-tap/link/addresses-changed-only-on-change",
                   test_addresses_changed_only_on_change);
  g_test_add_func ("/tun-tap/link/addresses-tentative", test_addresses_tentative);
  g_test_add_func ("/tun-tap/link/addresses-after-overrun", test_addresses_after_overrun);
  g_test_add_func ("/tun-tap/link/routes", test_routes);
  g_test_add_func ("/tun-tap/link/hardware-address", test_hardware_address);
  g_test_add_func ("/tun-tap/link/carrier", test_carrier);
  g_test_add_func ("/tun-tap/link/external-changes", test_external_changes);
  g_test_add_func ("/tun-tap/link/moved-to-other-netns", test_moved_to_other_netns);
  g_test_add_func ("/tun-tap/link/after-close", test_after_close);

  return g_test_run ();
}
