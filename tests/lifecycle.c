/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Lifecycle and privileges of TunTapDevice through its public API:
 * persistent and user-owned devices, attaching without any capability,
 * exclusive creation, multi-queue, fd adoption and carrier, all in a
 * private network namespace. The unprivileged parts run in a
 * g_test_trap_subprocess() child that gives itself a private /dev/net (the
 * equivalent of the udev rule in data/) and then drops to another uid.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <tuntap-glib/tuntap-glib.h>
#include "tun-tap-test-util.h"
#include "tun-tap-test-address.h"

/* Uids and gids without a passwd entry, so `ip` prints them as numbers. */
#define OWNER_UID  4242
#define GROUP_GID  4343
#define OTHER_UID  4444

#define SUBPROCESS_TIMEOUT (30 * G_USEC_PER_SEC)

/* ---- helpers ---------------------------------------------------------- */

static char *
link_details (const char *name)
{
  return tun_tap_test_run (FALSE, "ip -d link show dev %s", name);
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("“%s” not found in:\n%s", needle, haystack);
}

static void
assert_not_contains (const char *haystack,
                     const char *needle)
{
  if (strstr (haystack, needle) != NULL)
    g_error ("“%s” unexpectedly found in:\n%s", needle, haystack);
}

/* How `ip -d link` prints an owner: the user name if there is one. */
static char *
ip_owner_words (uid_t uid,
                gid_t gid)
{
  struct passwd *pw = getpwuid (uid);
  g_autofree char *user = pw ? g_strdup (pw->pw_name) : g_strdup_printf ("%u", (guint) uid);
  g_autofree char *group = NULL;
  struct group *gr;

  if (gid == (gid_t) -1)
    return g_strdup_printf ("user %s ", user);
  gr = getgrgid (gid);
  group = gr ? g_strdup (gr->gr_name) : g_strdup_printf ("%u", (guint) gid);
  return g_strdup_printf ("user %s group %s ", user, group);
}

/* g_initable_new() with a name and a mode, then more properties, NULL-ended. */
#define new_device_full(name, mode, error, ...) \
  ((TunTapDevice *) g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, (error), \
                                    "name", (name), "mode", (mode), __VA_ARGS__))

static void
disable_ipv6 (const char *name)
{
  /* No router solicitations or MLD reports mixed into the counts. */
  g_free (tun_tap_test_run (FALSE, "echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6", name));
}

static int
udp_socket_bound (const char *address,
                  guint16     port)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (port) };
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

  g_assert_cmpint (s, >=, 0);
  if (address != NULL)
    g_assert_cmpint (inet_pton (AF_INET, address, &sin.sin_addr), ==, 1);
  g_assert_cmpint (bind (s, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  return s;
}

static void
udp_send_to (int         s,
             const char *dst,
             guint16     port,
             const char *payload)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (port) };

  g_assert_cmpint (inet_pton (AF_INET, dst, &sin.sin_addr), ==, 1);
  g_assert_cmpint (sendto (s, payload, strlen (payload), 0,
                           (struct sockaddr *) &sin, sizeof sin), ==, (ssize_t) strlen (payload));
}

/* Waits up to two seconds for one datagram on @s; returns its payload. */
static char *
udp_receive (int s)
{
  struct pollfd pfd = { .fd = s, .events = POLLIN };
  char buf[512];
  ssize_t n;

  if (poll (&pfd, 1, 2000) != 1)
    return NULL;
  n = recv (s, buf, sizeof buf - 1, 0);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  return g_strdup (buf);
}

/* An IPv4/UDP datagram (UDP checksum 0: none) into @buf. */
static gsize
make_udp4 (guint8     *buf,
           const char *src,
           guint16     sport,
           const char *dst,
           guint16     dport,
           const char *payload)
{
  return tun_tap_test_make_udp4 (buf, src, sport, dst, dport, payload, strlen (payload));
}

/* Counts the UDP datagrams to one port a device receives, and remembers
 * the payload of the last one. */
typedef struct {
  guint     udp;
  guint16   dport;
  gsize     offset;     /* 4 with packet information */
  gboolean  bad_header; /* a packet-info header that is not {0, IPv4} */
  char     *last_payload;
  gboolean  got;
} UdpCounter;

static void
on_udp_packet (TunTapDevice *device,
               GBytes       *packet,
               gpointer      user_data)
{
  UdpCounter *c = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (packet, &len);
  const guint8 *ip;
  gsize ihl;

  if (len < c->offset + 28)
    return;
  if (c->offset == 4 && !(data[0] == 0 && data[1] == 0 && data[2] == 0x08 && data[3] == 0x00))
    {
      c->bad_header = TRUE;
      return;
    }
  ip = data + c->offset;
  len -= c->offset;
  if ((ip[0] >> 4) != 4 || ip[9] != IPPROTO_UDP)
    return;
  ihl = (gsize) (ip[0] & 0x0f) * 4;
  if (len < ihl + 8 || (guint16) (ip[ihl + 2] << 8 | ip[ihl + 3]) != c->dport)
    return;

  c->udp++;
  g_free (c->last_payload);
  c->last_payload = g_strndup ((const char *) ip + ihl + 8, len - ihl - 8);
  c->got = TRUE;
}

/* One UDP datagram each way between a socket of this process and the
 * device's far side: the socket's arrives as ::packet-received, the one
 * crafted and handed to send() arrives at the socket. */
static void
exchange_udp (TunTapDevice *device,
              int           sock,
              const char   *local,
              guint16       local_port,
              const char   *peer,
              guint16       peer_port,
              gboolean      packet_info)
{
  g_autoptr(GError) error = NULL;
  UdpCounter c = { .dport = peer_port, .offset = packet_info ? 4 : 0 };
  guint8 buf[256];
  gsize len, off = packet_info ? 4 : 0;
  g_autofree char *received = NULL;
  gulong id;

  id = g_signal_connect (device, "packet-received", G_CALLBACK (on_udp_packet), &c);
  udp_send_to (sock, peer, peer_port, "to the peer");
  g_assert_true (tun_tap_test_wait_for (NULL, &c.got, 5000));
  g_assert_false (c.bad_header);
  g_assert_cmpstr (c.last_payload, ==, "to the peer");
  g_signal_handler_disconnect (device, id);
  g_free (c.last_payload);

  if (packet_info)
    {
      buf[0] = 0; buf[1] = 0; buf[2] = 0x08; buf[3] = 0x00;
    }
  len = off + make_udp4 (buf + off, peer, peer_port, local, local_port, "from the peer");
  g_assert_true (tun_tap_device_send (device, buf, len, &error));
  g_assert_no_error (error);
  received = udp_receive (sock);
  g_assert_cmpstr (received, ==, "from the peer");
}

/* Whether this process may become another uid: real root, not uid 0 of a
 * user namespace that maps nobody else. */
static gboolean
can_switch_uid (void)
{
  g_autofree char *map = NULL;
  g_auto(GStrv) fields = NULL;

  if (getuid () != 0 || !g_file_get_contents ("/proc/self/uid_map", &map, NULL, NULL))
    return FALSE;
  fields = g_strsplit_set (g_strstrip (map), " \t\n", -1);
  /* "0 0 4294967295" once empty fields are skipped. */
  for (guint i = 0, n = 0; fields[i] != NULL; i++)
    {
      if (fields[i][0] == '\0')
        continue;
      if ((n == 0 || n == 1) && strcmp (fields[i], "0") != 0)
        return FALSE;
      if (n == 2 && g_ascii_strtoull (fields[i], NULL, 10) <= OTHER_UID)
        return FALSE;
      n++;
    }
  return TRUE;
}

/* In the child, as root: a private mount namespace whose /dev/net holds
 * only a tun node of the given mode, like a udev rule would make it. */
static void
private_tun_node (mode_t mode)
{
  g_assert_cmpint (unshare (CLONE_NEWNS), ==, 0);
  g_assert_cmpint (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), ==, 0);
  g_assert_cmpint (mount ("tmpfs", "/dev/net", "tmpfs", 0, "mode=0755"), ==, 0);
  g_assert_cmpint (mknod ("/dev/net/tun", S_IFCHR | mode, makedev (10, 200)), ==, 0);
  g_assert_cmpint (chmod ("/dev/net/tun", mode), ==, 0);
}

/* In the child: becomes @uid/@gid with no supplementary groups, which
 * also empties every capability set; checked from the kernel's view. */
static void
drop_privileges (uid_t uid,
                 gid_t gid)
{
  g_autofree char *status = NULL;

  g_assert_cmpint (setgroups (0, NULL), ==, 0);
  g_assert_cmpint (setresgid (gid, gid, gid), ==, 0);
  g_assert_cmpint (setresuid (uid, uid, uid), ==, 0);
  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  assert_contains (status, "CapEff:\t0000000000000000\n");
  assert_contains (status, "CapPrm:\t0000000000000000\n");
  g_assert_cmpuint (geteuid (), ==, uid);
}

static void
run_child (void)
{
  g_test_trap_subprocess (NULL, SUBPROCESS_TIMEOUT, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* ---- persistence ------------------------------------------------------ */

static void
test_persistent_lifecycle (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  g_autofree char *details = NULL;
  g_autofree char *owner = ip_owner_words (getuid (), (gid_t) -1);
  g_autofree char *addr = NULL;

  g_test_summary ("A persistent device outlives close() with its addresses; attaching "
                  "never clears persistence, only set_persistent(FALSE) does");

  device = new_device_full ("tl-persist", TUN_TAP_MODE_TUN, &error, "persistent", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_persistent (device));
  /* Never left ownerless: the calling uid by default. */
  g_assert_cmpint (tun_tap_device_get_owner (device), ==, (gint64) getuid ());
  g_assert_cmpint (tun_tap_device_get_group (device), ==, -1);
  details = link_details ("tl-persist");
  assert_contains (details, "persist on");
  assert_contains (details, owner);

  g_assert_true (tun_tap_device_add_address_from_string (device, "192.0.2.1/25", NULL, &error));
  g_assert_no_error (error);
  tun_tap_device_close (device);
  g_clear_object (&device);

  g_assert_true (tun_tap_test_link_exists ("tl-persist"));
  addr = tun_tap_test_run (FALSE, "ip -4 addr show dev tl-persist");
  assert_contains (addr, "192.0.2.1/25");

  /* Attach without asking for persistence: it stays, and says so. */
  device = new_device_full ("tl-persist", TUN_TAP_MODE_TUN, &error, "persistent", FALSE, NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_persistent (device));
  g_assert_cmpint (tun_tap_device_get_owner (device), ==, (gint64) getuid ());
  g_assert_true (tun_tap_test_has_address (device, "192.0.2.1/25"));
  tun_tap_device_close (device);
  g_clear_object (&device);
  g_assert_true (tun_tap_test_link_exists ("tl-persist"));
  g_free (details);
  details = link_details ("tl-persist");
  assert_contains (details, "persist on");

  /* Plain tun_tap_device_new() attaches the same way. */
  device = tun_tap_device_new ("tl-persist", TUN_TAP_MODE_TUN, &error);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_persistent (device));
  g_assert_true (tun_tap_device_set_persistent (device, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (tun_tap_device_get_persistent (device));
  g_free (details);
  details = link_details ("tl-persist");
  assert_contains (details, "persist off");
  tun_tap_device_close (device);
  g_assert_false (tun_tap_test_link_exists ("tl-persist"));
}

static void
test_persistent_later (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  g_autoptr(TunTapDevice) grouped = NULL;
  g_autofree char *details = NULL;
  g_autofree char *owner = ip_owner_words (getuid (), (gid_t) -1);
  guint owner_notifies = 0;

  g_test_summary ("set_persistent(TRUE) on a device without owner or group gives it the "
                  "calling uid as owner; one with a group keeps its ownership");

  device = tun_tap_device_new ("tl-later", TUN_TAP_MODE_TUN, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_get_owner (device), ==, -1);
  g_signal_connect (device, "notify::owner", G_CALLBACK (count_notify), &owner_notifies);
  g_assert_true (tun_tap_device_set_persistent (device, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_persistent (device));
  g_assert_cmpint (tun_tap_device_get_owner (device), ==, (gint64) getuid ());
  g_assert_cmpuint (owner_notifies, ==, 1);
  details = link_details ("tl-later");
  assert_contains (details, "persist on");
  assert_contains (details, owner);
  g_assert_true (tun_tap_device_set_persistent (device, FALSE, &error));
  g_assert_no_error (error);
  g_clear_object (&device);
  g_assert_false (tun_tap_test_link_exists ("tl-later"));

  grouped = new_device_full ("tl-later", TUN_TAP_MODE_TUN, &error, "group", (gint64) GROUP_GID, NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_set_persistent (grouped, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_get_owner (grouped), ==, -1);
  g_assert_cmpint (tun_tap_device_get_group (grouped), ==, GROUP_GID);
  g_assert_true (tun_tap_device_set_persistent (grouped, FALSE, &error));
  g_assert_no_error (error);
}

/* ---- owner and group -------------------------------------------------- */

static void
test_owner_group_applied (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  g_autofree char *details = NULL;
  g_autofree char *words = ip_owner_words (OWNER_UID, GROUP_GID);
  g_autofree char *group_words = NULL;
  gint64 owner, group;

  g_test_summary ("owner and group are applied when the library creates the device");
  {
    struct group *gr = getgrgid (GROUP_GID);
    group_words = gr ? g_strdup_printf ("group %s ", gr->gr_name) : g_strdup_printf ("group %u ", GROUP_GID);
  }

  device = new_device_full ("tl-owned", TUN_TAP_MODE_TAP, &error,
                            "owner", (gint64) OWNER_UID, "group", (gint64) GROUP_GID, NULL);
  g_assert_no_error (error);
  g_object_get (device, "owner", &owner, "group", &group, NULL);
  g_assert_cmpint (owner, ==, OWNER_UID);
  g_assert_cmpint (group, ==, GROUP_GID);
  g_assert_false (tun_tap_device_get_persistent (device));
  details = link_details ("tl-owned");
  assert_contains (details, words);
  assert_contains (details, "persist off");
  tun_tap_device_close (device);
  g_clear_object (&device);
  g_assert_false (tun_tap_test_link_exists ("tl-owned"));

  /* Persistent with only a group: the group is admitted, and no owner is
   * added (the kernel would then admit only a process matching both). */
  device = new_device_full ("tl-owned", TUN_TAP_MODE_TUN, &error,
                            "persistent", TRUE, "group", (gint64) GROUP_GID, NULL);
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_get_owner (device), ==, -1);
  g_assert_cmpint (tun_tap_device_get_group (device), ==, GROUP_GID);
  g_free (details);
  details = link_details ("tl-owned");
  g_assert_null (strstr (details, "user "));
  assert_contains (details, group_words);
  g_assert_true (tun_tap_device_set_persistent (device, FALSE, &error));
  g_assert_no_error (error);
  tun_tap_device_close (device);
  g_assert_false (tun_tap_test_link_exists ("tl-owned"));
}

static void
test_owner_group_read_back (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  g_autoptr(TunTapDevice) other = NULL;

  g_test_summary ("owner, group and persistence of a device made by `ip tuntap` read back "
                  "truthfully, and the owner asked for when attaching is not applied");

  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev tl-ipown mode tap user %u group %u",
                            OWNER_UID, GROUP_GID));

  /* Root attaches (CAP_NET_ADMIN); the owner requested here must not
   * change an existing device. */
  device = new_device_full ("tl-ipown", TUN_TAP_MODE_TAP, &error,
                            "owner", (gint64) OTHER_UID, NULL);
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_get_owner (device), ==, OWNER_UID);
  g_assert_cmpint (tun_tap_device_get_group (device), ==, GROUP_GID);
  g_assert_true (tun_tap_device_get_persistent (device));
  g_assert_cmpint (tun_tap_device_get_mode (device), ==, TUN_TAP_MODE_TAP);
  g_clear_object (&device);
  g_assert_true (tun_tap_test_link_exists ("tl-ipown"));
  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tl-ipown mode tap"));

  /* A device with neither reads -1 for both. */
  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev tl-ipnone mode tun"));
  other = tun_tap_device_new ("tl-ipnone", TUN_TAP_MODE_TUN, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_get_owner (other), ==, -1);
  g_assert_cmpint (tun_tap_device_get_group (other), ==, -1);
  g_assert_true (tun_tap_device_get_persistent (other));
  g_clear_object (&other);
  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tl-ipnone mode tun"));
}

/* ---- attaching without privileges ------------------------------------- */

static void
expect_permission_denied_config (TunTapDevice *device)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_test_message ("set_up: %s", error->message);
  g_clear_error (&error);

  g_assert_false (tun_tap_device_set_mtu (device, 1400, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_test_message ("set_mtu: %s", error->message);
  g_clear_error (&error);

  g_assert_false (tun_tap_device_add_address_from_string (device, "203.0.113.99/24", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_test_message ("add_address: %s", error->message);
  g_clear_error (&error);

  g_assert_false (tun_tap_device_is_closed (device));
}

static void
test_unprivileged_owner (void)
{
  g_autofree char *script = NULL;

  g_test_summary ("The owner of a persistent device made with data/persistent-device.sh "
                  "attaches with no capability and moves packets both ways; configuration "
                  "fails with PERMISSION_DENIED and packets still flow");

  if (!can_switch_uid ())
    {
      g_test_skip ("needs real root to switch to another uid");
      return;
    }

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TunTapDevice) device = NULL;
      int sock;

      private_tun_node (0666);
      sock = udp_socket_bound ("198.51.100.1", 40000);
      drop_privileges (OWNER_UID, OWNER_UID);

      device = tun_tap_device_new ("tl-user", TUN_TAP_MODE_TUN, &error);
      g_assert_no_error (error);
      g_assert_cmpint (tun_tap_device_get_owner (device), ==, OWNER_UID);
      g_assert_cmpint (tun_tap_device_get_group (device), ==, -1);
      g_assert_true (tun_tap_device_get_persistent (device));
      g_assert_true (tun_tap_device_get_up (device));

      exchange_udp (device, sock, "198.51.100.1", 40000, "198.51.100.2", 40001, FALSE);
      expect_permission_denied_config (device);
      exchange_udp (device, sock, "198.51.100.1", 40000, "198.51.100.2", 40001, FALSE);

      tun_tap_device_close (device);
      close (sock);
      return;
    }

  /* The administrator's recipe from data/, run as root in this namespace. */
  script = g_test_build_filename (G_TEST_DIST, "..", "data", "persistent-device.sh", NULL);
  g_free (tun_tap_test_run (FALSE, "sh '%s' tl-user %u 198.51.100.1/24", script, OWNER_UID));
  disable_ipv6 ("tl-user");

  run_child ();

  /* The owner's close left the device as it was. */
  g_assert_true (tun_tap_test_link_exists ("tl-user"));
  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tl-user mode tun"));
}

static void
test_unprivileged_group (void)
{
  g_test_summary ("A member of a device's group attaches with no capability");

  if (!can_switch_uid ())
    {
      g_test_skip ("needs real root to switch to another uid");
      return;
    }

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TunTapDevice) device = NULL;

      private_tun_node (0666);
      drop_privileges (OTHER_UID, GROUP_GID);
      device = tun_tap_device_new ("tl-group", TUN_TAP_MODE_TAP, &error);
      g_assert_no_error (error);
      g_assert_cmpint (tun_tap_device_get_owner (device), ==, -1);
      g_assert_cmpint (tun_tap_device_get_group (device), ==, GROUP_GID);
      return;
    }

  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev tl-group mode tap group %u", GROUP_GID));
  run_child ();
  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tl-group mode tap"));
}

static void
test_unprivileged_other_uid (void)
{
  g_autofree char *owner_text = g_strdup_printf ("uid %u", OWNER_UID);
  g_autofree char *group_text = g_strdup_printf ("gid %u", GROUP_GID);

  g_test_summary ("Attaching as a uid that is neither owner nor in the group: "
                  "PERMISSION_DENIED naming the device, its owner, group and the remedy");

  if (!can_switch_uid ())
    {
      g_test_skip ("needs real root to switch to another uid");
      return;
    }

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TunTapDevice) device = NULL;

      private_tun_node (0666);
      drop_privileges (OTHER_UID, OTHER_UID);
      device = tun_tap_device_new ("tl-other", TUN_TAP_MODE_TUN, &error);
      g_assert_null (device);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_test_message ("%s", error->message);
      assert_contains (error->message, "“tl-other”");
      assert_contains (error->message, owner_text);
      assert_contains (error->message, group_text);
      assert_contains (error->message, "CAP_NET_ADMIN");
      assert_contains (error->message, "ip tuntap add dev tl-other");
      return;
    }

  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev tl-other mode tun user %u group %u",
                            OWNER_UID, GROUP_GID));
  run_child ();
  /* The refused attach changed nothing. */
  g_autofree char *details = link_details ("tl-other");
  g_autofree char *words = ip_owner_words (OWNER_UID, GROUP_GID);
  assert_contains (details, "persist on");
  assert_contains (details, words);
  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tl-other mode tun"));
}

static void
test_unprivileged_no_node_access (void)
{
  g_test_summary ("/dev/net/tun mode 0600: PERMISSION_DENIED pointing at a udev rule (spelled out: no source-tree path)");

  if (!can_switch_uid ())
    {
      g_test_skip ("needs real root to switch to another uid");
      return;
    }

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TunTapDevice) device = NULL;

      /* The node as some distributions ship it: root only. */
      private_tun_node (0600);
      drop_privileges (OWNER_UID, OWNER_UID);
      device = tun_tap_device_new ("tl-nonode", TUN_TAP_MODE_TUN, &error);
      g_assert_null (device);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_test_message ("%s", error->message);
      assert_contains (error->message, "/dev/net/tun");
      assert_contains (error->message, "“tl-nonode”");
      assert_contains (error->message, "udev rule");
      g_assert_null (strstr (error->message, "data/"));
      return;
    }

  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev tl-nonode mode tun user %u", OWNER_UID));
  run_child ();
  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tl-nonode mode tun"));
}

/* ---- exclusive -------------------------------------------------------- */

static void
test_exclusive (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  g_autoptr(TunTapDevice) open_one = NULL;
  gboolean exclusive;

  g_test_summary ("exclusive fails with EXISTS on a taken name and creates a new one");

  /* A persistent device nobody has open. */
  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev tl-excl mode tun"));
  device = new_device_full ("tl-excl", TUN_TAP_MODE_TUN, &error, "exclusive", TRUE, NULL);
  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  assert_contains (error->message, "tl-excl");
  g_clear_error (&error);
  g_assert_true (tun_tap_test_link_exists ("tl-excl"));
  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tl-excl mode tun"));

  /* A device this process has open. */
  open_one = tun_tap_device_new ("tl-excl-open", TUN_TAP_MODE_TAP, &error);
  g_assert_no_error (error);
  device = new_device_full ("tl-excl-open", TUN_TAP_MODE_TAP, &error, "exclusive", TRUE, NULL);
  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_is_closed (open_one));

  /* Another kind of interface. */
  device = new_device_full ("lo", TUN_TAP_MODE_TUN, &error, "exclusive", TRUE, NULL);
  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  /* A new name, and a template. */
  device = new_device_full ("tl-excl-new", TUN_TAP_MODE_TUN, &error, "exclusive", TRUE, NULL);
  g_assert_no_error (error);
  g_object_get (device, "exclusive", &exclusive, NULL);
  g_assert_true (exclusive);
  g_assert_true (tun_tap_test_link_exists ("tl-excl-new"));
  g_clear_object (&device);
  g_assert_false (tun_tap_test_link_exists ("tl-excl-new"));

  device = new_device_full ("tl-ex%d", TUN_TAP_MODE_TUN, &error, "exclusive", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (tun_tap_device_get_name (device), ==, "tl-ex0");
}

/* ---- multi-queue ------------------------------------------------------ */

#define N_FLOWS 64

static void
send_flows (const char *peer,
            guint16     first_port)
{
  for (guint i = 0; i < N_FLOWS; i++)
    {
      int s = udp_socket_bound (NULL, first_port + i);

      udp_send_to (s, peer, 9, "flow");
      close (s);
    }
}

static guint
total_udp (UdpCounter *counters,
           guint       n)
{
  guint total = 0;

  for (guint i = 0; i < n; i++)
    total += counters[i].udp;
  return total;
}

static void
wait_for_total (UdpCounter *counters,
                guint       n,
                guint       expected)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (total_udp (counters, n) < expected && g_get_monotonic_time () < deadline)
    tun_tap_test_spin (NULL, 10);
  /* Anything late would be a duplicate. */
  tun_tap_test_spin (NULL, 50);
  g_assert_cmpuint (total_udp (counters, n), ==, expected);
}

static void
log_counts (const char *what,
            UdpCounter *counters,
            guint       n)
{
  GString *s = g_string_new (what);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, " %u", counters[i].udp);
  g_test_message ("%s", s->str);
  g_string_free (s, TRUE);
}

static void
run_multi_queue (guint       n,
                 const char *name,
                 const char *local,
                 const char *peer)
{
  TunTapDevice *queues[4] = { NULL };
  UdpCounter counters[4] = { { 0 } };
  g_autofree char *details = NULL;
  g_autofree char *expect = NULL;
  guint notified = 0;
  gboolean enabled;
  guint16 port = 41000;

  g_assert_cmpuint (n, <=, G_N_ELEMENTS (queues));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;

      queues[i] = new_device_full (name, TUN_TAP_MODE_TUN, &error, "multi-queue", TRUE, NULL);
      g_assert_no_error (error);
      g_assert_cmpstr (tun_tap_device_get_name (queues[i]), ==, name);
      g_assert_true (tun_tap_device_get_multi_queue (queues[i]));
      g_assert_true (tun_tap_device_get_queue_enabled (queues[i]));
      g_assert_cmpint (tun_tap_device_get_ifindex (queues[i]), ==,
                       tun_tap_device_get_ifindex (queues[0]));
      counters[i].dport = 9;
      g_signal_connect (queues[i], "packet-received", G_CALLBACK (on_udp_packet), &counters[i]);
    }

  details = link_details (name);
  expect = g_strdup_printf ("multi_queue numqueues %u numdisabled 0", n);
  assert_contains (details, expect);

  disable_ipv6 (name);
  g_free (tun_tap_test_run (FALSE, "ip addr add %s peer %s dev %s && ip link set %s up",
                            local, peer, name, name));

  /* Every queue takes some of the flows. */
  send_flows (peer, port);
  port += N_FLOWS;
  wait_for_total (counters, n, N_FLOWS);
  log_counts ("all queues enabled:", counters, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (counters[i].udp, >, 0);

  /* Queue 0 detached: new flows go to the others only. */
  g_signal_connect (queues[0], "notify::queue-enabled", G_CALLBACK (count_notify), &notified);
  g_assert_true (tun_tap_device_set_queue_enabled (queues[0], FALSE, NULL));
  g_object_get (queues[0], "queue-enabled", &enabled, NULL);
  g_assert_false (enabled);
  g_assert_cmpuint (notified, ==, 1);
  g_free (details);
  details = link_details (name);
  g_free (expect);
  expect = g_strdup_printf ("multi_queue numqueues %u numdisabled 1", n - 1);
  assert_contains (details, expect);

  for (guint i = 0; i < n; i++)
    counters[i].udp = 0;
  send_flows (peer, port);
  port += N_FLOWS;
  wait_for_total (counters, n, N_FLOWS);
  log_counts ("queue 0 disabled:", counters, n);
  g_assert_cmpuint (counters[0].udp, ==, 0);

  /* Attached again, it takes flows again. */
  g_assert_true (tun_tap_device_set_queue_enabled (queues[0], TRUE, NULL));
  g_assert_true (tun_tap_device_get_queue_enabled (queues[0]));
  g_assert_cmpuint (notified, ==, 2);
  g_free (details);
  details = link_details (name);
  g_free (expect);
  expect = g_strdup_printf ("multi_queue numqueues %u numdisabled 0", n);
  assert_contains (details, expect);

  for (guint i = 0; i < n; i++)
    counters[i].udp = 0;
  send_flows (peer, port);
  wait_for_total (counters, n, N_FLOWS);
  log_counts ("queue 0 enabled again:", counters, n);
  g_assert_cmpuint (counters[0].udp, >, 0);

  for (guint i = 0; i < n; i++)
    {
      g_free (counters[i].last_payload);
      g_object_unref (queues[i]);
    }
  g_assert_false (tun_tap_test_link_exists (name));
}

static void
test_multi_queue_2 (void)
{
  g_test_summary ("Two queues of one interface share the flows; a disabled queue gets none");
  run_multi_queue (2, "tl-mq2", "203.0.113.1", "203.0.113.2");
}

static void
test_multi_queue_4 (void)
{
  g_test_summary ("Four queues of one interface share the flows; a disabled queue gets none");
  run_multi_queue (4, "tl-mq4", "203.0.113.5", "203.0.113.6");
}

static void
test_multi_queue_framing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) first = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  g_autofree char *details = NULL;

  g_test_summary ("A queue added to a multi-queue device keeps the device's framing, and "
                  "packet-info says so");

  /* The first queue sets the framing (packet information on); a second
   * queue asking for none gets it anyway, and must say so. */
  first = new_device_full ("tl-mqpi", TUN_TAP_MODE_TUN, &error,
                           "multi-queue", TRUE, "packet-info", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_packet_info (first));
  device = new_device_full ("tl-mqpi", TUN_TAP_MODE_TUN, &error,
                            "multi-queue", TRUE, "packet-info", FALSE, NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_multi_queue (device));
  g_assert_true (tun_tap_device_get_packet_info (device));
  g_assert_false (tun_tap_device_get_persistent (device));
  details = link_details ("tl-mqpi");
  assert_contains (details, "pi on");
  assert_contains (details, "multi_queue numqueues 2");
  g_clear_object (&device);
  g_clear_object (&first);
  g_assert_false (tun_tap_test_link_exists ("tl-mqpi"));

  /* The first queue of a persistent multi-queue device nobody has open
   * sets the framing anew: `ip` made it with packet information, this
   * queue asks for none and gets none. */
  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev tl-mqpi mode tun multi_queue pi"));
  device = new_device_full ("tl-mqpi", TUN_TAP_MODE_TUN, &error, "multi-queue", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_false (tun_tap_device_get_packet_info (device));
  g_assert_true (tun_tap_device_get_persistent (device));
  g_free (details);
  details = link_details ("tl-mqpi");
  assert_contains (details, "pi off");
  g_clear_object (&device);
  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tl-mqpi mode tun multi_queue"));

  /* A queue of a device that is not multi-queue: refused, explained. */
  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev tl-sq mode tun"));
  device = new_device_full ("tl-sq", TUN_TAP_MODE_TUN, &error, "multi-queue", TRUE, NULL);
  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  assert_contains (error->message, "multi-queue");
  g_clear_error (&error);

  /* set_queue_enabled on a single-queue device. */
  device = tun_tap_device_new ("tl-sq", TUN_TAP_MODE_TUN, &error);
  g_assert_no_error (error);
  g_assert_false (tun_tap_device_set_queue_enabled (device, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_true (tun_tap_device_get_queue_enabled (device));
  /* The property is read-only: a change that can fail takes a method. */
  g_assert_false (g_object_class_find_property (G_OBJECT_GET_CLASS (device), "queue-enabled")->flags &
                  G_PARAM_WRITABLE);
  g_clear_object (&device);

  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tl-sq mode tun"));
}

/* ---- adopting an fd received over a Unix socket ----------------------- */

static void
send_fd (int sock,
         int fd)
{
  char byte = 'F';
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int))];
  } control;
  struct msghdr msg = {
    .msg_iov = &iov,
    .msg_iovlen = 1,
    .msg_control = control.buf,
    .msg_controllen = sizeof control.buf,
  };
  struct cmsghdr *cmsg;

  memset (&control, 0, sizeof control);
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof fd);
  g_assert_cmpint (sendmsg (sock, &msg, 0), ==, 1);
}

static int
receive_fd (int sock)
{
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int))];
  } control;
  struct msghdr msg = {
    .msg_iov = &iov,
    .msg_iovlen = 1,
    .msg_control = control.buf,
    .msg_controllen = sizeof control.buf,
  };
  struct cmsghdr *cmsg;
  int fd = -1;

  g_assert_cmpint (recvmsg (sock, &msg, MSG_CMSG_CLOEXEC), ==, 1);
  g_assert_cmpint (msg.msg_flags & MSG_CTRUNC, ==, 0);
  cmsg = CMSG_FIRSTHDR (&msg);
  g_assert_nonnull (cmsg);
  g_assert_cmpint (cmsg->cmsg_level, ==, SOL_SOCKET);
  g_assert_cmpint (cmsg->cmsg_type, ==, SCM_RIGHTS);
  memcpy (&fd, CMSG_DATA (cmsg), sizeof fd);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

/* Passes @fd through a socketpair and returns the received copy; the
 * original is closed, as a helper process would after sending. */
static int
pass_fd (int fd)
{
  int sv[2], received;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
  send_fd (sv[0], fd);
  close (fd);
  received = receive_fd (sv[1]);
  close (sv[0]);
  close (sv[1]);
  return received;
}

static void
test_adopt_received_fd (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  struct ifreq ifr = { 0 };
  int fd, received, sock;
  gboolean pi, mq, persistent;
  TunTapMode mode;
  g_autofree char *name = NULL;

  g_test_summary ("An fd opened elsewhere with packet info, multi-queue and TUNSETPERSIST, "
                  "received over SCM_RIGHTS, is adopted with every property truthful");

  fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  ifr.ifr_flags = IFF_TUN | IFF_MULTI_QUEUE;   /* packet information on */
  g_strlcpy (ifr.ifr_name, "tl-fd", sizeof ifr.ifr_name);
  g_assert_cmpint (ioctl (fd, TUNSETIFF, &ifr), ==, 0);
  g_assert_cmpint (ioctl (fd, TUNSETPERSIST, 1), ==, 0);

  received = pass_fd (fd);
  device = tun_tap_device_new_for_fd (received, &error);
  g_assert_no_error (error);
  g_object_get (device, "name", &name, "mode", &mode, "packet-info", &pi,
                "multi-queue", &mq, "persistent", &persistent, NULL);
  g_assert_cmpstr (name, ==, "tl-fd");
  g_assert_cmpint (mode, ==, TUN_TAP_MODE_TUN);
  g_assert_true (pi);
  g_assert_true (mq);
  g_assert_true (persistent);
  g_assert_true (tun_tap_device_get_queue_enabled (device));
  g_assert_cmpint (tun_tap_device_get_fd (device), ==, received);

  disable_ipv6 ("tl-fd");
  g_free (tun_tap_test_run (FALSE, "ip addr add 192.0.2.129 peer 192.0.2.130 dev tl-fd && "
                            "ip link set tl-fd up"));
  sock = udp_socket_bound ("192.0.2.129", 40100);
  exchange_udp (device, sock, "192.0.2.129", 40100, "192.0.2.130", 40101, TRUE);
  close (sock);

  /* Adopting never cleared persistence; asking does. */
  tun_tap_device_close (device);
  g_clear_object (&device);
  g_assert_true (tun_tap_test_link_exists ("tl-fd"));
  device = new_device_full ("tl-fd", TUN_TAP_MODE_TUN, &error, "multi-queue", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_persistent (device));
  /* The only queue again: the kernel takes this open's framing. */
  g_assert_false (tun_tap_device_get_packet_info (device));
  g_assert_true (tun_tap_device_set_persistent (device, FALSE, &error));
  g_assert_no_error (error);
  g_clear_object (&device);
  g_assert_false (tun_tap_test_link_exists ("tl-fd"));
}

static void
expect_adopt_refused_and_open (int fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  int fd_flags = fcntl (fd, F_GETFD), fl_flags = fcntl (fd, F_GETFL);

  g_assert_cmpint (fd_flags, !=, -1);
  device = tun_tap_device_new_for_fd (fd, &error);
  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  /* Still open, and untouched. */
  g_assert_cmpint (fcntl (fd, F_GETFD), ==, fd_flags);
  g_assert_cmpint (fcntl (fd, F_GETFL), ==, fl_flags);
}

static void
test_adopt_refused (void)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int sv[2], file, udp, received_file, received_sock;
  char buf[8] = { 0 };
  int type = 0;
  socklen_t len = sizeof type;

  g_test_summary ("Adopting a socket or a regular file fails with INVALID_ARGUMENT and "
                  "leaves the fd open and usable");

  file = g_file_open_tmp ("tuntap-lifecycle-XXXXXX", &path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (file, "regular", 7), ==, 7);
  udp = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);

  expect_adopt_refused_and_open (file);
  expect_adopt_refused_and_open (udp);
  expect_adopt_refused_and_open (sv[0]);

  /* The same, received over a Unix socket like a helper's fd. */
  received_file = pass_fd (dup (file));
  received_sock = pass_fd (dup (udp));
  expect_adopt_refused_and_open (received_file);
  expect_adopt_refused_and_open (received_sock);

  g_assert_cmpint (pread (received_file, buf, 7, 0), ==, 7);
  g_assert_cmpstr (buf, ==, "regular");
  g_assert_cmpint (getsockopt (received_sock, SOL_SOCKET, SO_TYPE, &type, &len), ==, 0);
  g_assert_cmpint (type, ==, SOCK_DGRAM);
  g_assert_cmpint (write (sv[0], "x", 1), ==, 1);
  g_assert_cmpint (read (sv[1], buf, 1), ==, 1);

  close (received_file);
  close (received_sock);
  close (file);
  close (udp);
  close (sv[0]);
  close (sv[1]);
  unlink (path);
}

/* ---- carrier ---------------------------------------------------------- */

static void
test_carrier (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  g_autofree char *out = NULL;
  guint notifies = 0;
  gboolean carrier;

  g_test_summary ("set_carrier(FALSE) makes the kernel report NO-CARRIER, TRUE brings it back");

  device = tun_tap_device_new ("tl-carrier", TUN_TAP_MODE_TUN, &error);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_carrier (device));
  g_signal_connect (device, "notify::carrier", G_CALLBACK (count_notify), &notifies);

  g_assert_true (tun_tap_device_set_carrier (device, FALSE, &error));
  g_assert_no_error (error);
  g_object_get (device, "carrier", &carrier, NULL);
  g_assert_false (carrier);
  out = tun_tap_test_run (FALSE, "ip link show dev tl-carrier");
  assert_contains (out, "NO-CARRIER");
  assert_not_contains (out, "LOWER_UP");
  g_assert_cmpuint (notifies, ==, 1);

  g_assert_true (tun_tap_device_set_carrier (device, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_carrier (device));
  g_free (out);
  out = tun_tap_test_run (FALSE, "ip link show dev tl-carrier");
  assert_not_contains (out, "NO-CARRIER");
  assert_contains (out, "LOWER_UP");
  g_assert_cmpuint (notifies, ==, 2);

  /* The monitor's late events must not flip it back. */
  tun_tap_test_spin (NULL, 100);
  g_assert_true (tun_tap_device_get_carrier (device));
  g_assert_cmpuint (notifies, ==, 2);
}

int
main (int argc, char *argv[])
{
  g_autofree char *reason = NULL;

  g_test_init (&argc, &argv, NULL);

  /* A g_test_trap_subprocess() child stays in its parent's namespaces,
   * where the parent prepared the devices it attaches to. */
  if (!g_test_subprocess () && !tun_tap_test_enter_netns (&reason))
    {
      g_test_skip (reason);
      return g_test_run ();
    }

  g_test_add_func ("/tun-tap/lifecycle/persistent/create-close-reattach", test_persistent_lifecycle);
  g_test_add_func ("/tun-tap/lifecycle/persistent/later", test_persistent_later);
  g_test_add_func ("/tun-tap/lifecycle/owner/applied", test_owner_group_applied);
  g_test_add_func ("/tun-tap/lifecycle/owner/read-back", test_owner_group_read_back);
  g_test_add_func ("/tun-tap/lifecycle/unprivileged/owner", test_unprivileged_owner);
  g_test_add_func ("/tun-tap/lifecycle/unprivileged/group", test_unprivileged_group);
  g_test_add_func ("/tun-tap/lifecycle/unprivileged/other-uid", test_unprivileged_other_uid);
  g_test_add_func ("/tun-tap/lifecycle/unprivileged/no-node-access", test_unprivileged_no_node_access);
  g_test_add_func ("/tun-tap/lifecycle/exclusive", test_exclusive);
  g_test_add_func ("/tun-tap/lifecycle/multi-queue/2", test_multi_queue_2);
  g_test_add_func ("/tun-tap/lifecycle/multi-queue/4", test_multi_queue_4);
  g_test_add_func ("/tun-tap/lifecycle/multi-queue/framing", test_multi_queue_framing);
  g_test_add_func ("/tun-tap/lifecycle/adopt/received-fd", test_adopt_received_fd);
  g_test_add_func ("/tun-tap/lifecycle/adopt/refused", test_adopt_refused);
  g_test_add_func ("/tun-tap/lifecycle/carrier", test_carrier);

  return g_test_run ();
}
