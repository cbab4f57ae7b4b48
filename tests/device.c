/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * TunTapDevice through its public API, in a private network namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <libintl.h>
#include <sched.h>

#include <tuntap-glib/tuntap-glib.h>
#include "echo-reflect.h"
#include "tun-tap-test-util.h"

/* ---- helpers ---------------------------------------------------------- */

typedef struct {
  guint     packets;
  guint     closed;
  GError   *closed_error;
  GThread  *packet_thread;
  GBytes   *last;
  gboolean  reflect;
  gboolean  close_in_handler;
  gboolean  unref_in_handler;
  TunTapDevice **device_slot;
  gboolean  done;
} Counter;

static void
counter_clear (Counter *c)
{
  g_clear_error (&c->closed_error);
  g_clear_pointer (&c->last, g_bytes_unref);
}

static void
on_packet (TunTapDevice *device,
           GBytes       *packet,
           gpointer      user_data)
{
  Counter *c = user_data;

  c->packets++;
  c->packet_thread = g_thread_self ();
  /* Keep the last IPv4 packet (with or without a packet-info header): one
   * wake-up can deliver the test's datagram and then a router
   * solicitation, which must not hide it. */
  {
    gsize len;
    const guint8 *data = g_bytes_get_data (packet, &len);

    if ((len > 0 && data[0] == 0x45) || (len > 4 && data[4] == 0x45))
      {
        g_clear_pointer (&c->last, g_bytes_unref);
        c->last = g_bytes_ref (packet);
      }
  }

  if (c->reflect)
    {
      gsize len;
      g_autofree guint8 *copy = g_bytes_unref_to_data (g_bytes_ref (packet), &len);
      if (echo_reflect (copy, len, tun_tap_device_get_mode (device) == TUN_TAP_MODE_TAP))
        {
          g_autoptr(GError) error = NULL;
          tun_tap_device_send (device, copy, len, &error);
          g_assert_no_error (error);
          c->done = TRUE;
        }
    }

  if (c->close_in_handler)
    {
      tun_tap_device_close (device);
      c->done = TRUE;
    }
  if (c->unref_in_handler)
    {
      g_clear_object (c->device_slot);
      c->done = TRUE;
    }
}

static void
on_closed (TunTapDevice *device,
           const GError *error,
           gpointer      user_data)
{
  Counter *c = user_data;

  c->closed++;
  g_clear_error (&c->closed_error);
  if (error != NULL)
    c->closed_error = g_error_copy (error);
  c->done = TRUE;
}

static TunTapDevice *
new_device (const char *name, TunTapMode mode, Counter *c)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device = tun_tap_device_new (name, mode, &error);

  g_assert_no_error (error);
  g_assert_nonnull (device);
  if (c != NULL)
    {
      g_signal_connect (device, "packet-received", G_CALLBACK (on_packet), c);
      g_signal_connect (device, "closed", G_CALLBACK (on_closed), c);
    }
  return device;
}

/* Point-to-point addresses so traffic to the peer is routed into the device. */
/* Each test uses its own pair: a device deleted by the previous test may
 * still be taking its routes down while the next one adds the same. */
static void
configure_ptp (const char *name, const char *local, const char *peer)
{
  g_free (tun_tap_test_run (FALSE, "ip addr add %s peer %s dev %s && ip link set %s up",
                            local, peer, name, name));
}

static int
udp_socket (void)
{
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  g_assert_cmpint (s, >=, 0);
  return s;
}

static void
udp_send (int s, const char *dst, guint16 port, const char *payload)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (port) };

  inet_pton (AF_INET, dst, &sin.sin_addr);
  /* Seen once under valgrind, never reproduced: a transient refusal right
   * after the route appeared. Retry briefly, and say which errno it was. */
  for (int attempt = 0;; attempt++)
    {
      if (sendto (s, payload, strlen (payload), 0, (struct sockaddr *) &sin, sizeof sin) ==
          (ssize_t) strlen (payload))
        return;
      if (attempt == 50)
        g_error ("sendto %s: %s", dst, g_strerror (errno));
      g_test_message ("sendto %s: %s; retrying", dst, g_strerror (errno));
      g_usleep (10000);
    }
}

static const guint8 *
bytes_data (GBytes *b, gsize *len)
{
  return g_bytes_get_data (b, len);
}

/* A minimal valid IPv4/UDP packet from 192.0.2.2:7 to 192.0.2.1:9. */
static gsize
make_udp4 (guint8 *buf, gsize payload)
{
  static const guint8 zeros[1500];

  g_assert_cmpuint (payload, <=, sizeof zeros);
  return tun_tap_test_make_udp4 (buf, "192.0.2.2", 7, "192.0.2.1", 9, zeros, payload);
}

/* ---- creation --------------------------------------------------------- */

static void
test_create_fixed_name (void)
{
  g_autoptr(TunTapDevice) tun = new_device ("tt-fixed", TUN_TAP_MODE_TUN, NULL);
  g_autoptr(TunTapDevice) tap = new_device ("tt-fixed-tap", TUN_TAP_MODE_TAP, NULL);
  g_autofree char *name = NULL;
  TunTapMode mode;
  gboolean closed;
  int fd;

  g_assert_cmpstr (tun_tap_device_get_name (tun), ==, "tt-fixed");
  g_assert_cmpint (tun_tap_device_get_mode (tun), ==, TUN_TAP_MODE_TUN);
  g_assert_cmpstr (tun_tap_device_get_name (tap), ==, "tt-fixed-tap");
  g_assert_cmpint (tun_tap_device_get_mode (tap), ==, TUN_TAP_MODE_TAP);
  g_assert_true (tun_tap_test_link_exists ("tt-fixed"));
  g_assert_true (tun_tap_test_link_exists ("tt-fixed-tap"));
  g_assert_false (tun_tap_device_is_closed (tun));
  g_assert_false (tun_tap_device_get_packet_info (tun));

  g_object_get (tap, "name", &name, "mode", &mode, "closed", &closed, "fd", &fd, NULL);
  g_assert_cmpstr (name, ==, "tt-fixed-tap");
  g_assert_cmpint (mode, ==, TUN_TAP_MODE_TAP);
  g_assert_false (closed);
  g_assert_cmpint (fd, ==, tun_tap_device_get_fd (tap));

  /* The kernel really made a TAP (Ethernet) and a TUN (no link layer). */
  g_autofree char *out = tun_tap_test_run (FALSE, "ip -d link show tt-fixed-tap");
  g_assert_nonnull (strstr (out, "link/ether"));
  g_assert_nonnull (strstr (out, "tap"));
  g_free (out);
  out = tun_tap_test_run (FALSE, "ip -d link show tt-fixed");
  g_assert_nonnull (strstr (out, "link/none"));
}

static void
test_create_template (void)
{
  g_autoptr(TunTapDevice) a = new_device ("vpn%dx", TUN_TAP_MODE_TUN, NULL);
  g_autoptr(TunTapDevice) b = new_device ("vpn%dx", TUN_TAP_MODE_TUN, NULL);

  g_assert_cmpstr (tun_tap_device_get_name (a), ==, "vpn0x");
  g_assert_cmpstr (tun_tap_device_get_name (b), ==, "vpn1x");
  g_assert_true (tun_tap_test_link_exists ("vpn1x"));
}

static void
test_create_null_name (void)
{
  g_autoptr(TunTapDevice) tun = new_device (NULL, TUN_TAP_MODE_TUN, NULL);
  g_autoptr(TunTapDevice) tap = new_device (NULL, TUN_TAP_MODE_TAP, NULL);

  g_assert_true (g_str_has_prefix (tun_tap_device_get_name (tun), "tun"));
  g_assert_true (g_str_has_prefix (tun_tap_device_get_name (tap), "tap"));
  g_assert_true (tun_tap_test_link_exists (tun_tap_device_get_name (tun)));
  g_assert_true (tun_tap_test_link_exists (tun_tap_device_get_name (tap)));
}

static void
test_create_initable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = g_object_new (TUN_TAP_TYPE_DEVICE,
                                                 "name", "tt-initable",
                                                 "mode", TUN_TAP_MODE_TAP, NULL);

  /* Not initialised yet: it behaves as closed, and nothing exists. */
  g_assert_true (tun_tap_device_is_closed (device));
  g_assert_false (tun_tap_test_link_exists ("tt-initable"));

  g_assert_true (g_initable_init (G_INITABLE (device), NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_initable_init (G_INITABLE (device), NULL, &error));
  g_assert_true (tun_tap_test_link_exists ("tt-initable"));
  g_assert_false (tun_tap_device_is_closed (device));
}

static void
test_unref_removes_interface (void)
{
  TunTapDevice *device = new_device ("tt-gone", TUN_TAP_MODE_TUN, NULL);

  g_assert_true (tun_tap_test_link_exists ("tt-gone"));
  g_object_unref (device);
  g_assert_false (tun_tap_test_link_exists ("tt-gone"));
}

static void
test_fd_flags (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tt-flags", TUN_TAP_MODE_TUN, NULL);
  int fd = tun_tap_device_get_fd (device);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fcntl (fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
  g_assert_cmpint (fcntl (fd, F_GETFL) & O_NONBLOCK, ==, O_NONBLOCK);
  g_assert_cmpint (fcntl (fd, F_GETFL) & O_ACCMODE, ==, O_RDWR);
}

static void
test_no_fd_leak (void)
{
  guint before = tun_tap_test_count_fds ();

  for (guint i = 0; i < 200; i++)
    {
      TunTapDevice *device = new_device ("tt-cycle", TUN_TAP_MODE_TUN, NULL);
      if (i % 2)
        tun_tap_device_close (device);
      g_object_unref (device);
    }
  g_assert_cmpuint (tun_tap_test_count_fds (), ==, before);
  g_assert_false (tun_tap_test_link_exists ("tt-cycle"));
}

/* ---- errors at creation ----------------------------------------------- */

static void
test_error_bad_names (void)
{
  const char *bad[] = {
    "abcdefghijklmnop",           /* 16 bytes: the kernel would truncate */
    "a-very-long-interface-name",
    "",
    "a/b", "a b", "a\tb", "a:b", "a\nb",
    ".", "..",
    "a%s", "a%d%d", "100%", "%", "a%x",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TunTapDevice) device = tun_tap_device_new (bad[i], TUN_TAP_MODE_TUN, &error);

      g_test_message ("name “%s”: %s", bad[i], error ? error->message : "(no error)");
      g_assert_null (device);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }

  /* The longest name Linux keeps whole is fine, and bytes beyond ASCII too. */
  g_autoptr(TunTapDevice) ok = new_device ("abcdefghijklmno", TUN_TAP_MODE_TUN, NULL);
  g_autoptr(TunTapDevice) utf8 = new_device ("tün-a_b.c@d", TUN_TAP_MODE_TUN, NULL);
  g_assert_cmpstr (tun_tap_device_get_name (ok), ==, "abcdefghijklmno");
  g_assert_cmpstr (tun_tap_device_get_name (utf8), ==, "tün-a_b.c@d");
}

static void
test_error_bad_mode (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = tun_tap_device_new ("tt-mode", (TunTapMode) 7, &error);

  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_false (tun_tap_test_link_exists ("tt-mode"));
}

static void
test_error_busy (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) first = new_device ("tt-busy", TUN_TAP_MODE_TUN, NULL);
  g_autoptr(TunTapDevice) second = tun_tap_device_new ("tt-busy", TUN_TAP_MODE_TUN, &error);

  g_assert_null (second);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "tt-busy"));
  /* It is this process that holds it, and the message says so. */
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "in this process"));
  g_assert_null (strstr (error->message, "another process"));
  /* The first one is untouched. */
  g_assert_false (tun_tap_device_is_closed (first));
}

/* The EBUSY explanation looks at this process's fds while other threads
 * may close them: here one keeps duplicating the holder's fd and closing
 * the copy. The explanation takes a reference of its own (pidfd_getfd)
 * before asking a fd anything, and one that is gone by then is skipped,
 * never asked by number: the wording holds on every try. */
typedef struct {
  int fd;
  int stop;
  guint copies;
} DupChurn;

/* The holder's fd, and its copy's: the copy comes first in the scan of
 * /proc/self/fd, which stops at the first fd that holds the device. */
#define DUP_HOLDER_FD 950
#define DUP_CHURN_FD 900

static gpointer
dup_churn (gpointer data)
{
  DupChurn *churn = data;

  while (!g_atomic_int_get (&churn->stop))
    {
      /* dup3(), which TSan follows (it does not follow fcntl's copies). */
      int copy = dup3 (churn->fd, DUP_CHURN_FD, O_CLOEXEC);

      if (copy >= 0)
        {
          /* Open most of the time, so the explanation meets it. */
          g_usleep (50);
          close (copy);
          churn->copies++;
        }
    }
  return NULL;
}

static void
test_error_busy_fds_closing (void)
{
  struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
  int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  DupChurn churn = { -1, 0, 0 };
  GThread *thread;

  g_assert_cmpint (fd, >=, 0);
  memcpy (ifr.ifr_name, "tt-busy3", sizeof "tt-busy3");
  g_assert_no_errno (ioctl (fd, TUNSETIFF, &ifr));
  churn.fd = dup3 (fd, DUP_HOLDER_FD, O_CLOEXEC);
  g_assert_cmpint (churn.fd, ==, DUP_HOLDER_FD);
  close (fd);
  thread = g_thread_new ("dup-churn", dup_churn, &churn);

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TunTapDevice) second = tun_tap_device_new ("tt-busy3", TUN_TAP_MODE_TUN, &error);

      g_assert_null (second);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
      g_assert_nonnull (strstr (error->message, "in this process"));
    }
  g_atomic_int_set (&churn.stop, 1);
  g_thread_join (thread);
  g_test_message ("%u copies made and closed meanwhile", churn.copies);
  g_assert_cmpuint (churn.copies, >, 0);
  close (churn.fd);
}

static void
test_error_busy_elsewhere (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) second = NULL;
  int ready[2], release[2];
  pid_t child;
  char byte = 0;
  int status;

  g_test_summary ("EBUSY from a device another process holds says “another process”");

  g_assert_no_errno (pipe2 (ready, O_CLOEXEC));
  g_assert_no_errno (pipe2 (release, O_CLOEXEC));
  child = fork ();
  g_assert_cmpint (child, >=, 0);
  if (child == 0)
    {
      /* Only async-signal-safe calls here: the parent has threads. */
      struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
      int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);

      close (ready[0]);
      close (release[1]);   /* or the read below never sees the parent's close */
      memcpy (ifr.ifr_name, "tt-busy2", sizeof "tt-busy2");
      if (fd < 0 || ioctl (fd, TUNSETIFF, &ifr) != 0)
        _exit (1);
      if (write (ready[1], "", 1) != 1 || read (release[0], &byte, 1) < 0)
        _exit (2);
      _exit (0);
    }
  close (ready[1]);
  close (release[0]);
  g_assert_cmpint (read (ready[0], &byte, 1), ==, 1);

  second = tun_tap_device_new ("tt-busy2", TUN_TAP_MODE_TUN, &error);
  g_assert_null (second);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "“tt-busy2”"));
  g_assert_nonnull (strstr (error->message, "another process"));

  close (release[1]);
  close (ready[0]);
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

static void
test_error_exists (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = tun_tap_device_new ("lo", TUN_TAP_MODE_TUN, &error);
  g_autoptr(TunTapDevice) tap = NULL;

  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "“lo”"));
  g_clear_error (&error);

  g_free (tun_tap_test_run (FALSE, "ip link add tt-veth0 type veth peer name tt-veth1"));
  device = tun_tap_device_new ("tt-veth0", TUN_TAP_MODE_TAP, &error);
  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_free (tun_tap_test_run (FALSE, "ip link del tt-veth0"));

  /* A persistent TAP cannot be opened as a TUN. */
  g_free (tun_tap_test_run (FALSE, "ip tuntap add dev tt-ptap mode tap"));
  device = tun_tap_device_new ("tt-ptap", TUN_TAP_MODE_TUN, &error);
  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  /* ...but it can be attached to as a TAP. */
  tap = new_device ("tt-ptap", TUN_TAP_MODE_TAP, NULL);
  g_assert_cmpstr (tun_tap_device_get_name (tap), ==, "tt-ptap");
  g_clear_object (&tap);
  /* Attaching left it persistent. */
  g_assert_true (tun_tap_test_link_exists ("tt-ptap"));
  g_free (tun_tap_test_run (FALSE, "ip tuntap del dev tt-ptap mode tap"));
}

static gboolean
drop_cap_net_admin (void)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];

  if (syscall (SYS_capget, &header, data) != 0)
    return FALSE;
  data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
  data[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
  return syscall (SYS_capset, &header, data) == 0;
}

static void
expect_permission_denied (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = tun_tap_device_new ("tt-perm", TUN_TAP_MODE_TUN, &error);

  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "tt-perm"));
  g_assert_nonnull (strstr (error->message, "CAP_NET_ADMIN"));
  g_assert_false (tun_tap_test_link_exists ("tt-perm"));
}

static void
test_error_no_capability (void)
{
  if (g_test_subprocess ())
    {
      /* Root can still open the 0600 node, so this reaches TUNSETIFF. */
      g_assert_true (drop_cap_net_admin ());
      expect_permission_denied ();
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_error_other_user (void)
{
  if (g_test_subprocess ())
    {
      /* A plain user: EACCES on a 0600 node, EPERM on a 0666 one. */
      if (setresgid (65534, 65534, 65534) != 0 || setresuid (65534, 65534, 65534) != 0)
        {
          /* Inside a user namespace only uid 0 is mapped. */
          g_assert_true (drop_cap_net_admin ());
        }
      expect_permission_denied ();
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_error_no_driver (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TunTapDevice) device = NULL;

      /* Hide /dev/net/tun behind an empty tmpfs in a private mount ns. */
      g_assert_cmpint (unshare (CLONE_NEWNS), ==, 0);
      g_assert_cmpint (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), ==, 0);
      g_assert_cmpint (mount ("tmpfs", "/dev/net", "tmpfs", 0, NULL), ==, 0);

      device = tun_tap_device_new ("tt-nodrv", TUN_TAP_MODE_TUN, &error);
      g_assert_null (device);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      g_assert_nonnull (strstr (error->message, "tun module"));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* ---- packets ---------------------------------------------------------- */

static void
test_receive_udp (void)
{
  Counter c = { 0 };
  /* Only held: the handler does the work. */
  G_GNUC_UNUSED g_autoptr(TunTapDevice) device = new_device ("tt-rx", TUN_TAP_MODE_TUN, &c);
  int s = udp_socket ();
  const guint8 *data;
  gsize len;

  configure_ptp ("tt-rx", "192.0.2.1", "192.0.2.2");
  udp_send (s, "192.0.2.2", 4242, "hello tun");

  /* IPv6 router solicitations may come first: wait for our datagram. */
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       g_get_monotonic_time () < end;)
    {
      g_main_context_iteration (NULL, TRUE);
      if (c.last != NULL && (data = bytes_data (c.last, &len)) && len == 28 + 9 && data[0] == 0x45)
        break;
    }
  g_assert_nonnull (c.last);
  data = bytes_data (c.last, &len);
  g_assert_cmpuint (len, ==, 28 + 9);
  g_assert_cmpint (data[0], ==, 0x45);              /* IPv4, no PI header */
  g_assert_cmpint (data[9], ==, 17);                /* UDP */
  g_assert_cmpmem (data + 28, 9, "hello tun", 9);
  g_assert_true (c.packet_thread == g_thread_self ());
  close (s);
  counter_clear (&c);
}

static void
test_echo_udp_through_kernel (void)
{
  Counter c = { .reflect = TRUE };
  /* Only held: the handler does the work. */
  G_GNUC_UNUSED g_autoptr(TunTapDevice) device = new_device ("tt-echo", TUN_TAP_MODE_TUN, &c);
  int s = udp_socket ();
  char reply[64];
  ssize_t n = -1;

  configure_ptp ("tt-echo", "192.0.2.5", "192.0.2.6");
  udp_send (s, "192.0.2.6", 4243, "ping through the stack");

  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       n < 0 && g_get_monotonic_time () < end;)
    {
      g_main_context_iteration (NULL, FALSE);
      n = recv (s, reply, sizeof reply, 0);
      if (n < 0)
        g_usleep (1000);
    }
  /* The reflected datagram came back to our socket through the kernel. */
  g_assert_cmpint (n, ==, 22);
  g_assert_cmpmem (reply, 22, "ping through the stack", 22);
  close (s);
  counter_clear (&c);
}

typedef struct {
  gboolean done;
  int status;
} ChildState;

static void
on_child_exit (GPid pid, int status, gpointer user_data)
{
  ChildState *st = user_data;
  st->status = status;
  st->done = TRUE;
  g_spawn_close_pid (pid);
}

static void
ping_through (const char *name, TunTapMode mode, const char *setup, const char *ping)
{
  Counter c = { .reflect = TRUE };
  /* Only held: the handler does the work. */
  G_GNUC_UNUSED g_autoptr(TunTapDevice) device = new_device (name, mode, &c);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  ChildState st = { 0 };
  GPid pid;

  g_autoptr(GString) cmd = g_string_new (setup);

  g_string_replace (cmd, "DEV", name, 0);
  g_free (tun_tap_test_run (FALSE, "%s", cmd->str));
  g_assert_true (g_shell_parse_argv (ping, NULL, &argv, &error));
  g_assert_true (g_spawn_async (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH |
                                G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, &pid, &error));
  g_child_watch_add (pid, on_child_exit, &st);
  g_assert_true (tun_tap_test_wait_for (NULL, &st.done, 15000));
  /* ping exits 0 only when it received replies for every request */
  g_assert_true (g_spawn_check_wait_status (st.status, &error));
  g_assert_cmpuint (c.packets, >=, 3);
  counter_clear (&c);
}

static void
test_ping_tun (void)
{
  ping_through ("tt-ping", TUN_TAP_MODE_TUN,
                "ip addr add 198.51.100.1 peer 198.51.100.2 dev DEV && "
                "ip -6 addr add 2001:db8:100::1/64 dev DEV nodad && ip link set DEV up",
                "ping -c 3 -i 0.2 -W 2 198.51.100.2");
  ping_through ("tt-ping6", TUN_TAP_MODE_TUN,
                "ip addr add 198.51.100.5 peer 198.51.100.6 dev DEV && "
                "ip -6 addr add 2001:db8:101::1/64 dev DEV nodad && ip link set DEV up",
                "ping -6 -c 3 -i 0.2 -W 2 2001:db8:101::2");
}

static void
test_ping_tap (void)
{
  ping_through ("tt-tping", TUN_TAP_MODE_TAP,
                "ip addr add 203.0.113.1/24 dev DEV && "
                "ip -6 addr add 2001:db8:102::1/64 dev DEV nodad && ip link set DEV up",
                "ping -c 3 -i 0.2 -W 2 203.0.113.2");
}

static void
test_packet_info (void)
{
  Counter c = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error,
                                                   "name", "tt-pi",
                                                   "packet-info", TRUE, NULL);
  int s = udp_socket ();
  const guint8 *data = NULL;
  gsize len = 0;
  guint8 pkt[4 + 64];
  gsize plen;

  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_packet_info (device));
  g_signal_connect (device, "packet-received", G_CALLBACK (on_packet), &c);
  configure_ptp ("tt-pi", "192.0.2.9", "192.0.2.10");
  udp_send (s, "192.0.2.10", 4244, "pi");

  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       g_get_monotonic_time () < end;)
    {
      g_main_context_iteration (NULL, TRUE);
      if (c.last != NULL && (data = bytes_data (c.last, &len)) && len == 4 + 30)
        break;
    }
  g_assert_cmpuint (len, ==, 4 + 30);
  /* struct tun_pi: flags, then the EtherType of IPv4 */
  g_assert_cmpint (data[2], ==, 0x08);
  g_assert_cmpint (data[3], ==, 0x00);
  g_assert_cmpint (data[4], ==, 0x45);

  /* Sending needs the header too. */
  plen = make_udp4 (pkt + 4, 8);
  memset (pkt, 0, 4);
  pkt[2] = 0x08;
  g_assert_true (tun_tap_device_send (device, pkt, plen + 4, &error));
  g_assert_no_error (error);
  close (s);
  counter_clear (&c);
}

/* ---- batches ------------------------------------------------------------ */

typedef struct {
  guint batches;
  guint packets;
  guint singles;
  gboolean consistent;
  gboolean close_in_single;
} Batches;

static void
on_batch (TunTapDevice *device, GBytes *packets, GArray *lengths, gpointer user_data)
{
  Batches *b = user_data;
  gsize size, total = 0;
  const guint8 *data = g_bytes_get_data (packets, &size);

  b->batches++;
  for (guint i = 0; i < lengths->len; i++)
    {
      guint len = g_array_index (lengths, guint, i);
      /* every packet is an IP packet starting where the previous ended */
      if (total + len > size || (data[total] >> 4 != 4 && data[total] >> 4 != 6))
        b->consistent = FALSE;
      total += len;
    }
  if (total != size || lengths->len == 0 || lengths->len > 256)
    b->consistent = FALSE;
  b->packets += lengths->len;
}

static void
on_single (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  Batches *b = user_data;

  b->singles++;
  if (b->close_in_single)
    tun_tap_device_close (device);
}

static void
test_packets_received (void)
{
  Batches b = { .consistent = TRUE };
  g_autoptr(TunTapDevice) device = new_device ("tt-batch", TUN_TAP_MODE_TUN, NULL);
  int s = udp_socket ();

  g_signal_connect (device, "packets-received", G_CALLBACK (on_batch), &b);
  configure_ptp ("tt-batch", "192.0.2.25", "192.0.2.26");
  tun_tap_test_spin (NULL, 50);
  b.packets = b.batches = 0;

  /* 300 queued before the loop runs: several batches of at most 256. */
  for (int i = 0; i < 300; i++)
    udp_send (s, "192.0.2.26", 4248, "batch");
  tun_tap_test_spin (NULL, 200);
  g_assert_true (b.consistent);
  g_assert_cmpuint (b.packets, >=, 300);
  g_assert_cmpuint (b.batches, >=, 2);
  g_assert_cmpuint (b.batches, <, b.packets);

  /* With both signals, each packet is seen by both. */
  g_signal_connect (device, "packet-received", G_CALLBACK (on_single), &b);
  b.packets = b.singles = 0;
  for (int i = 0; i < 30; i++)
    udp_send (s, "192.0.2.26", 4248, "both");
  tun_tap_test_spin (NULL, 200);
  g_assert_cmpuint (b.packets, >=, 30);
  g_assert_cmpuint (b.singles, ==, b.packets);

  /* Closed from the per-packet handler: no batch afterwards. */
  b.close_in_single = TRUE;
  b.batches = b.packets = b.singles = 0;
  for (int i = 0; i < 10; i++)
    udp_send (s, "192.0.2.26", 4248, "close");
  tun_tap_test_spin (NULL, 200);
  g_assert_cmpuint (b.singles, ==, 1);
  g_assert_cmpuint (b.batches, ==, 0);
  close (s);
}

/* ---- large packets: the byte budget, the batch read in place ----------- */

#define BIG_COUNT 40
#define BIG_BUDGET (256 * 1024)

typedef struct {
  guint       header;       /* bytes before the IP header (TAP, packet-info) */
  gsize       payload;      /* of each UDP datagram: IP packets of the MTU */
  guint       batches, packets, bad;
  gsize       largest;      /* the largest batch, in bytes */
  GPtrArray  *singles;      /* GBytes of packet-received */
  GPtrArray  *slices;       /* the same packets cut out of the batches */
} Big;

typedef enum {
  BIG_OTHER,      /* other traffic: the kernel's own IPv6, ARP */
  BIG_INTACT,     /* one of send_big()'s datagrams, every byte right */
  BIG_DAMAGED,    /* one of them, cut or changed */
} BigKind;

static BigKind
big_kind (const Big *big, const guint8 *p, gsize len)
{
  const guint8 *ip = p + big->header;
  guint32 seq;

  if (len < big->header + 28 || ip[0] != 0x45 || ip[9] != 17 || ip[22] != 0x10 || ip[23] != 0x98)
    return BIG_OTHER;
  if (len != big->header + 28 + big->payload)
    return BIG_DAMAGED;
  memcpy (&seq, ip + 28, sizeof seq);
  for (gsize i = sizeof seq; i < big->payload; i++)
    if (ip[28 + i] != (guint8) (seq + i))
      return BIG_DAMAGED;
  return BIG_INTACT;
}

static void
big_batch (TunTapDevice *device, GBytes *packets, GArray *lengths, gpointer user_data)
{
  Big *big = user_data;
  gsize size, off = 0;
  const guint8 *data = g_bytes_get_data (packets, &size);

  big->batches++;
  big->largest = MAX (big->largest, size);
  for (guint i = 0; i < lengths->len; i++)
    {
      guint len = g_array_index (lengths, guint, i);

      if (off + len > size || big_kind (big, data + off, len) == BIG_DAMAGED)
        big->bad++;
      else if (big_kind (big, data + off, len) == BIG_INTACT)
        g_ptr_array_add (big->slices, g_bytes_new_from_bytes (packets, off, len));
      off += len;
    }
  if (off != size)
    big->bad++;
  big->packets += lengths->len;
}

static void
big_single (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  Big *big = user_data;

  g_ptr_array_add (big->singles, g_bytes_ref (packet));
  /* A nested main loop in a handler, as a dialog would run. */
  for (int i = 0; i < 3; i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
send_big (int s, const char *dst, guint32 seq, gsize payload)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (4248) };
  g_autofree guint8 *buf = g_malloc (payload);

  inet_pton (AF_INET, dst, &sin.sin_addr);
  memcpy (buf, &seq, sizeof seq);
  for (gsize i = sizeof seq; i < payload; i++)
    buf[i] = (guint8) (seq + i);
  for (int attempt = 0;; attempt++)
    {
      if (sendto (s, buf, payload, 0, (struct sockaddr *) &sin, sizeof sin) == (gssize) payload)
        return;
      if (attempt == 100)
        g_error ("sendto %s: %s", dst, g_strerror (errno));
      g_usleep (1000);
    }
}

static void
big_round (TunTapMode mode, gboolean packet_info, const char *name, const char *local,
           const char *peer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  Big big = { 0 };
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), sndbuf = 8 << 20;

  device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", name, "mode", mode,
                           "packet-info", packet_info, NULL);
  g_assert_no_error (error);
  big.header = (packet_info ? 4 : 0) + (mode == TUN_TAP_MODE_TAP ? 14 : 0);
  big.payload = (mode == TUN_TAP_MODE_TAP ? 65521 : 65535) - 28;
  big.singles = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  big.slices = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_signal_connect (device, "packets-received", G_CALLBACK (big_batch), &big);
  g_signal_connect (device, "packet-received", G_CALLBACK (big_single), &big);
  /* The largest MTU each mode takes: one datagram, one packet. */
  g_free (tun_tap_test_run (FALSE, "ip link set %s mtu %d", name,
                            mode == TUN_TAP_MODE_TAP ? 65521 : 65535));
  configure_ptp (name, local, peer);
  if (mode == TUN_TAP_MODE_TAP)
    g_free (tun_tap_test_run (FALSE, "ip neigh add %s lladdr 02:00:00:00:00:02 dev %s", peer,
                              name));
  tun_tap_test_spin (NULL, 50);
  g_ptr_array_set_size (big.singles, 0);
  g_ptr_array_set_size (big.slices, 0);
  big.batches = big.packets = 0;

  /* All queued before the loop runs: 2.6 MB, so the byte budget ends
   * each wake-up, not the packets. */
  g_assert_cmpint (setsockopt (s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), ==, 0);
  for (guint i = 0; i < BIG_COUNT; i++)
    send_big (s, peer, i * 7919, big.payload);
  tun_tap_test_spin (NULL, 300);
  close (s);

  g_test_message ("%s: %u packets in %u batches, the largest %" G_GSIZE_FORMAT " bytes", name,
                  big.packets, big.batches, big.largest);
  g_assert_cmpuint (big.bad, ==, 0);
  g_assert_cmpuint (big.slices->len, ==, BIG_COUNT);
  /* Stopped once over the budget: at most one read past it. */
  g_assert_cmpuint (big.largest, >, BIG_BUDGET);
  g_assert_cmpuint (big.largest, <, BIG_BUDGET + 65536 + 64);
  /* Each packet-received copy equals the batch's packet. */
  g_assert_cmpuint (big.singles->len, ==, big.packets);
  for (guint i = 0, k = 0; i < big.singles->len; i++)
    {
      gsize len;
      const guint8 *p = g_bytes_get_data (big.singles->pdata[i], &len);

      if (big_kind (&big, p, len) == BIG_INTACT)
        g_assert_true (g_bytes_equal (big.singles->pdata[i], big.slices->pdata[k++]));
    }
  g_ptr_array_unref (big.singles);
  g_ptr_array_unref (big.slices);
  tun_tap_device_close (device);
}

static void
test_batch_large_packets (void)
{
  g_test_summary ("packets of 65,535 bytes on a TUN device, and on a TAP device with "
                  "packet-info: each wake-up reads until it is over 256 KiB, no further "
                  "than one more packet; every byte of every packet arrives, in the batch "
                  "and to packet-received (whose handler runs a nested main loop)");
  big_round (TUN_TAP_MODE_TUN, FALSE, "tt-big", "192.0.2.93", "192.0.2.94");
  big_round (TUN_TAP_MODE_TAP, TRUE, "tt-bigt", "192.0.2.95", "192.0.2.96");
}

static void
test_send_many (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tt-many", TUN_TAP_MODE_TUN, NULL);
  g_autoptr(GError) error = NULL;
  guint8 buf[3 * 64];
  guint lengths[3];
  gsize a, b, c;

  a = make_udp4 (buf, 4);
  b = make_udp4 (buf + a, 12);
  c = make_udp4 (buf + a + b, 20);
  lengths[0] = a; lengths[1] = b; lengths[2] = c;
  g_free (tun_tap_test_run (FALSE, "ip link set tt-many up"));

  g_assert_cmpint (tun_tap_device_send_many (device, buf, a + b + c, lengths, 3, &error), ==, 3);
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_send_many (device, buf, 0, lengths, 0, &error), ==, 0);
  g_assert_no_error (error);

  /* Lengths that do not add up: nothing is sent. */
  g_assert_cmpint (tun_tap_device_send_many (device, buf, a + b, lengths, 3, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpint (tun_tap_device_send_many (device, buf, a, NULL, 1, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* The second is not IP: the first went, and the count says so without
   * an error, as g_socket_send_messages() does; the call that starts with
   * the bad packet says why, and sends nothing. */
  buf[a] = 0x10;
  g_assert_cmpint (tun_tap_device_send_many (device, buf, a + b + c, lengths, 3, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_send_many (device, buf + a, b + c, lengths + 1, 2, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_null (strstr (error->message, "Packet"));
  g_clear_error (&error);
  g_assert_cmpint (tun_tap_device_send_many (device, buf + a + b, c, lengths + 2, 1, &error), ==, 1);
  g_assert_no_error (error);

  /* The same from a GBytes: the count, the errors, none for nothing. */
  buf[a] = 0x45;
  {
    g_autoptr(GBytes) whole = g_bytes_new (buf, a + b + c);
    g_autoptr(GBytes) tail = g_bytes_new_from_bytes (whole, a, b + c);

    g_assert_cmpint (tun_tap_device_send_many_bytes (device, whole, lengths, 3, &error), ==, 3);
    g_assert_no_error (error);
    g_assert_cmpint (tun_tap_device_send_many_bytes (device, tail, lengths + 1, 2, &error), ==, 2);
    g_assert_no_error (error);
    g_assert_cmpint (tun_tap_device_send_many_bytes (device, NULL, NULL, 0, &error), ==, 0);
    g_assert_no_error (error);
    g_assert_cmpint (tun_tap_device_send_many_bytes (device, tail, lengths, 3, &error), ==, -1);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "“tt-many”"));
    g_clear_error (&error);
    g_assert_cmpint (tun_tap_device_send_many_bytes (device, NULL, lengths, 1, &error), ==, -1);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  tun_tap_device_close (device);
  g_assert_cmpint (tun_tap_device_send_many (device, buf, a, lengths, 1, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpint (tun_tap_device_send_many (device, buf, 0, lengths, 0, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

/* ---- send errors ------------------------------------------------------ */

static void
test_send_errors (void)
{
  g_autoptr(TunTapDevice) tun = new_device ("tt-send", TUN_TAP_MODE_TUN, NULL);
  g_autoptr(TunTapDevice) tap = new_device ("tt-send-tap", TUN_TAP_MODE_TAP, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  guint8 pkt[128];
  gsize len = make_udp4 (pkt, 16);
  g_autofree guint8 *huge = g_malloc0 (70000);
  const guint8 junk[20] = { 0x11, 0x22 };

  /* Link down: the kernel says EIO. */
  g_assert_false (tun_tap_device_send (tun, pkt, len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "tt-send"));
  g_clear_error (&error);

  g_free (tun_tap_test_run (FALSE, "ip link set tt-send up && ip link set tt-send-tap up"));
  g_assert_true (tun_tap_device_send (tun, pkt, len, &error));
  g_assert_no_error (error);

  g_assert_false (tun_tap_device_send (tun, pkt, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_send (tun, NULL, 10, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_send_bytes (tun, empty, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_send_bytes (tun, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Not IP: the version nibble is 1. */
  g_assert_false (tun_tap_device_send (tun, junk, sizeof junk, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  /* Shorter than an Ethernet header on a TAP. */
  g_assert_false (tun_tap_device_send (tap, junk, 10, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* A valid IPv4 header (total length 36) and trailing bytes: too large,
   * not malformed. */
  make_udp4 (huge, 8);
  g_assert_false (tun_tap_device_send (tun, huge, 70000, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  g_assert_false (tun_tap_device_send (tap, huge, 1500 + 14 + 4 + 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  /* A raised MTU is noticed, from the rtnetlink notification. */
  g_free (tun_tap_test_run (FALSE, "ip link set tt-send-tap mtu 9000"));
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       tun_tap_device_get_mtu (tap) != 9000 && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  memset (huge, 0, 14);
  huge[12] = 0x08;
  g_assert_true (tun_tap_device_send (tap, huge, 4000, &error));
  g_assert_no_error (error);

  tun_tap_device_close (tun);
  g_assert_false (tun_tap_device_send (tun, pkt, len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
}

/* ---- closing and removal ---------------------------------------------- */

static void
on_notify_count (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_close (void)
{
  Counter c = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-close", TUN_TAP_MODE_TUN, &c);
  guint notified = 0;

  g_signal_connect (device, "notify::closed", G_CALLBACK (on_notify_count), &notified);
  tun_tap_device_close (device);
  g_assert_true (tun_tap_device_is_closed (device));
  g_assert_cmpuint (c.closed, ==, 1);
  g_assert_null (c.closed_error);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpint (tun_tap_device_get_fd (device), ==, -1);
  g_assert_false (tun_tap_test_link_exists ("tt-close"));
  /* The name stays readable after close. */
  g_assert_cmpstr (tun_tap_device_get_name (device), ==, "tt-close");

  /* A second close is a no-op. */
  tun_tap_device_close (device);
  g_assert_cmpuint (c.closed, ==, 1);
  g_assert_cmpuint (notified, ==, 1);
  counter_clear (&c);
}

static void
test_deleted_while_open (void)
{
  Counter c = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-del", TUN_TAP_MODE_TUN, &c);
  g_autoptr(GError) error = NULL;
  guint8 pkt[64];
  gsize len = make_udp4 (pkt, 4);
  gint64 cpu_before, cpu_used;

  g_free (tun_tap_test_run (FALSE, "ip link del tt-del"));
  g_assert_true (tun_tap_test_wait_for (NULL, &c.done, 5000));
  g_assert_cmpuint (c.closed, ==, 1);
  g_assert_error (c.closed_error, G_IO_ERROR, G_IO_ERROR_NO_SUCH_DEVICE);
  g_assert_nonnull (strstr (c.closed_error->message, "tt-del"));
  g_assert_true (tun_tap_device_is_closed (device));
  g_assert_cmpint (tun_tap_device_get_fd (device), ==, -1);

  /* The fd polled as POLLERR forever: nothing may keep waking up. */
  cpu_before = tun_tap_test_cpu_time_us ();
  tun_tap_test_spin (NULL, 1000);
  cpu_used = tun_tap_test_cpu_time_us () - cpu_before;
  g_test_message ("CPU time in the second after deletion: %" G_GINT64_FORMAT " µs", cpu_used);
  g_assert_cmpint (cpu_used, <, 20000);
  g_assert_cmpuint (c.closed, ==, 1);

  g_assert_false (tun_tap_device_send (device, pkt, len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  tun_tap_device_close (device);
  g_assert_cmpuint (c.closed, ==, 1);
  counter_clear (&c);
}

static void
test_deleted_send_first (void)
{
  Counter c = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-del2", TUN_TAP_MODE_TUN, &c);
  g_autoptr(GError) error = NULL;
  guint8 pkt[64];
  gsize len = make_udp4 (pkt, 4);

  /* Deleted, and a send happens before the main loop notices. */
  g_free (tun_tap_test_run (FALSE, "ip link del tt-del2"));
  g_assert_false (tun_tap_device_send (device, pkt, len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_true (tun_tap_test_wait_for (NULL, &c.done, 5000));
  g_assert_cmpuint (c.closed, ==, 1);
  g_assert_error (c.closed_error, G_IO_ERROR, G_IO_ERROR_NO_SUCH_DEVICE);
  counter_clear (&c);
}

static void
test_close_in_handler (void)
{
  Counter c = { .close_in_handler = TRUE };
  g_autoptr(TunTapDevice) device = new_device ("tt-hclose", TUN_TAP_MODE_TUN, &c);
  int s = udp_socket ();

  configure_ptp ("tt-hclose", "192.0.2.13", "192.0.2.14");
  /* Several packets queued: none may be delivered after the close. */
  for (int i = 0; i < 10; i++)
    udp_send (s, "192.0.2.14", 4245, "x");
  g_assert_true (tun_tap_test_wait_for (NULL, &c.done, 5000));
  tun_tap_test_spin (NULL, 100);
  g_assert_cmpuint (c.packets, ==, 1);
  g_assert_cmpuint (c.closed, ==, 1);
  g_assert_null (c.closed_error);
  g_assert_true (tun_tap_device_is_closed (device));
  close (s);
  counter_clear (&c);
}

static void
test_unref_in_handler (void)
{
  Counter c = { .unref_in_handler = TRUE };
  TunTapDevice *device = new_device ("tt-hunref", TUN_TAP_MODE_TUN, &c);
  GWeakRef weak;
  int s = udp_socket ();

  c.device_slot = &device;
  g_weak_ref_init (&weak, device);
  configure_ptp ("tt-hunref", "192.0.2.17", "192.0.2.18");
  for (int i = 0; i < 10; i++)
    udp_send (s, "192.0.2.18", 4246, "x");
  g_assert_true (tun_tap_test_wait_for (NULL, &c.done, 5000));
  tun_tap_test_spin (NULL, 100);
  g_assert_null (device);
  g_assert_null (g_weak_ref_get (&weak));
  /* The lifetime rule: the emission holds its own reference and asks the
   * device's state, never the reference count, so the rest of that one
   * wake-up's packets still reach the connected handler; a handler that
   * must stop at once calls close() first (test_close_in_handler). */
  g_assert_cmpuint (c.packets, >=, 1);
  g_assert_cmpuint (c.packets, <=, 256);
  g_assert_false (tun_tap_test_link_exists ("tt-hunref"));
  g_weak_ref_clear (&weak);
  close (s);
  counter_clear (&c);
}

/* ---- main contexts ---------------------------------------------------- */

typedef struct {
  GMainContext *context;
  Counter       counter;
  GThread      *thread;
  gboolean      ready;
  GMutex        lock;
  GCond         cond;
} ThreadData;

static gpointer
device_thread (gpointer user_data)
{
  ThreadData *td = user_data;
  g_autoptr(TunTapDevice) device = NULL;

  g_main_context_push_thread_default (td->context);
  device = new_device ("tt-thread", TUN_TAP_MODE_TUN, &td->counter);
  configure_ptp ("tt-thread", "192.0.2.21", "192.0.2.22");
  g_mutex_lock (&td->lock);
  td->ready = TRUE;
  g_cond_signal (&td->cond);
  g_mutex_unlock (&td->lock);

  /* Until our datagram: a router solicitation may come first. */
  while (td->counter.last == NULL)
    g_main_context_iteration (td->context, TRUE);

  tun_tap_device_close (device);
  g_main_context_pop_thread_default (td->context);
  return NULL;
}

static void
test_thread_default_context (void)
{
  ThreadData td = { 0 };
  int s = udp_socket ();
  GThread *thread;

  td.context = g_main_context_new ();
  g_mutex_init (&td.lock);
  g_cond_init (&td.cond);
  thread = g_thread_new ("device", device_thread, &td);

  g_mutex_lock (&td.lock);
  while (!td.ready)
    g_cond_wait (&td.cond, &td.lock);
  g_mutex_unlock (&td.lock);

  /* Our own default context must never see the device's signals. */
  g_main_context_iteration (NULL, FALSE);
  udp_send (s, "192.0.2.22", 4247, "to the thread");
  g_thread_join (thread);

  g_assert_cmpuint (td.counter.packets, >=, 1);
  g_assert_true (td.counter.packet_thread == thread);
  g_assert_cmpuint (td.counter.closed, ==, 1);
  g_main_context_unref (td.context);
  g_mutex_clear (&td.lock);
  g_cond_clear (&td.cond);
  close (s);
  counter_clear (&td.counter);
}

typedef struct {
  TunTapDevice *device;
  guint         sent;
} SendThreadData;

static gpointer
send_thread (gpointer user_data)
{
  SendThreadData *st = user_data;
  guint8 pkt[64];
  gsize len = make_udp4 (pkt, 8);

  for (guint i = 0; i < 1000; i++)
    {
      g_autoptr(GError) error = NULL;
      if (tun_tap_device_send (st->device, pkt, len, &error))
        st->sent++;
      else
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
    }
  return NULL;
}

static void
test_send_from_threads (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tt-tsend", TUN_TAP_MODE_TUN, NULL);
  SendThreadData st[4] = { { device, 0 }, { device, 0 }, { device, 0 }, { device, 0 } };
  GThread *threads[4];
  guint total = 0;

  g_free (tun_tap_test_run (FALSE, "ip link set tt-tsend up"));
  for (guint i = 0; i < 4; i++)
    threads[i] = g_thread_new ("sender", send_thread, &st[i]);
  /* Closing while others send must give them G_IO_ERROR_CLOSED, never a
   * write to a recycled fd. */
  g_usleep (1000);
  tun_tap_device_close (device);
  for (guint i = 0; i < 4; i++)
    {
      g_thread_join (threads[i]);
      total += st[i].sent;
    }
  g_test_message ("%u packets sent from 4 threads before close", total);
  g_assert_true (tun_tap_device_is_closed (device));
}

/* ---- adopting an fd --------------------------------------------------- */

static int
open_tun_fd (const char *name, short flags)
{
  struct ifreq ifr = { 0 };
  int fd = open ("/dev/net/tun", O_RDWR);

  g_assert_cmpint (fd, >=, 0);
  ifr.ifr_flags = flags;
  g_strlcpy (ifr.ifr_name, name, sizeof ifr.ifr_name);
  g_assert_cmpint (ioctl (fd, TUNSETIFF, &ifr), ==, 0);
  return fd;
}

static void
test_adopt_fd (void)
{
  g_autoptr(GError) error = NULL;
  int fd = open_tun_fd ("tt-adopt", IFF_TAP | IFF_NO_PI);
  g_autoptr(TunTapDevice) device = tun_tap_device_new_for_fd (fd, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (tun_tap_device_get_name (device), ==, "tt-adopt");
  g_assert_cmpint (tun_tap_device_get_mode (device), ==, TUN_TAP_MODE_TAP);
  g_assert_cmpint (tun_tap_device_get_fd (device), ==, fd);
  /* Now ours: made close-on-exec and non-blocking. */
  g_assert_cmpint (fcntl (fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
  g_assert_cmpint (fcntl (fd, F_GETFL) & O_NONBLOCK, ==, O_NONBLOCK);

  tun_tap_device_close (device);
  /* Closed with the device: the fd number is free again. */
  g_assert_cmpint (fcntl (fd, F_GETFD), ==, -1);
  g_assert_false (tun_tap_test_link_exists ("tt-adopt"));
}

static void
expect_adopt_refused (int fd, gboolean stays_open)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = tun_tap_device_new_for_fd (fd, &error);

  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  if (stays_open)
    g_assert_cmpint (fcntl (fd, F_GETFD), !=, -1);
}

static void
test_adopt_refused (void)
{
  int sock = socket (AF_INET, SOCK_DGRAM, 0);
  int file = open ("/proc/self/status", O_RDONLY);
  int null = open ("/dev/null", O_RDWR);
  int unattached = open ("/dev/net/tun", O_RDWR);
  int closed_fd = dup (null);

  close (closed_fd);
  expect_adopt_refused (sock, TRUE);
  expect_adopt_refused (file, TRUE);
  expect_adopt_refused (null, TRUE);
  expect_adopt_refused (unattached, TRUE);
  expect_adopt_refused (closed_fd, FALSE);
  expect_adopt_refused (-1, FALSE);
  close (sock);
  close (file);
  close (null);
  close (unattached);

  /* An fd whose interface was deleted (EBADFD): refused, left open. */
  {
    g_autoptr(GError) error = NULL;
    int orphan = open_tun_fd ("tt-orphan", IFF_TUN | IFF_NO_PI);
    g_autoptr(TunTapDevice) device = NULL;

    g_free (tun_tap_test_run (FALSE, "ip link del tt-orphan"));
    device = tun_tap_device_new_for_fd (orphan, &error);
    g_assert_null (device);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_cmpint (fcntl (orphan, F_GETFD), !=, -1);
    close (orphan);
  }

  /* A TUN fd with a virtio-net header is adopted with offloads on; on a
   * TAP it would misframe every frame: refused, left open. */
  {
    g_autoptr(GError) error = NULL;
    int vnet = open_tun_fd ("tt-vnet", IFF_TUN | IFF_NO_PI | IFF_VNET_HDR);
    g_autoptr(TunTapDevice) device = tun_tap_device_new_for_fd (vnet, &error);

    g_assert_no_error (error);
    g_assert_true (tun_tap_device_get_offload (device));
    g_assert_true (tun_tap_device_get_offloads (device) & TUN_TAP_OFFLOADS_CHECKSUM);
  }
  {
    g_autoptr(GError) error = NULL;
    int vnet = open_tun_fd ("tt-vnet", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
    g_autoptr(TunTapDevice) device = tun_tap_device_new_for_fd (vnet, &error);

    g_assert_null (device);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
    g_assert_nonnull (strstr (error->message, "tt-vnet"));
    g_assert_cmpint (fcntl (vnet, F_GETFD), !=, -1);
    close (vnet);
  }
}

static void
test_i18n_domain (void)
{
  const char *dir;

  g_test_summary ("The library binds its gettext domain (UTF-8, the install's locale "
                  "directory) before any of its messages can be made");

  g_type_class_unref (g_type_class_ref (TUN_TAP_TYPE_DEVICE));
  /* NULL asks without changing: set only by the library's binding. */
  g_assert_cmpstr (bind_textdomain_codeset (TUN_TAP_TEST_GETTEXT_PACKAGE, NULL), ==, "UTF-8");
  dir = bindtextdomain (TUN_TAP_TEST_GETTEXT_PACKAGE, NULL);
  g_assert_cmpstr (dir, ==, TUN_TAP_TEST_LOCALEDIR);
}

int
main (int argc, char *argv[])
{
  g_autofree char *reason = NULL;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("TunTapDevice through its public API, in a private network namespace");

  if (!tun_tap_test_enter_netns (&reason))
    {
      g_test_skip (reason);
      return g_test_run ();
    }

  g_test_add_func ("/tun-tap/device/i18n/domain", test_i18n_domain);
  g_test_add_func ("/tun-tap/device/create/fixed-name", test_create_fixed_name);
  g_test_add_func ("/tun-tap/device/create/template", test_create_template);
  g_test_add_func ("/tun-tap/device/create/null-name", test_create_null_name);
  g_test_add_func ("/tun-tap/device/create/initable", test_create_initable);
  g_test_add_func ("/tun-tap/device/create/unref-removes-interface", test_unref_removes_interface);
  g_test_add_func ("/tun-tap/device/create/fd-flags", test_fd_flags);
  g_test_add_func ("/tun-tap/device/create/no-fd-leak", test_no_fd_leak);
  g_test_add_func ("/tun-tap/device/error/bad-names", test_error_bad_names);
  g_test_add_func ("/tun-tap/device/error/bad-mode", test_error_bad_mode);
  g_test_add_func ("/tun-tap/device/error/busy", test_error_busy);
  g_test_add_func ("/tun-tap/device/error/busy-fds-closing", test_error_busy_fds_closing);
  g_test_add_func ("/tun-tap/device/error/busy-elsewhere", test_error_busy_elsewhere);
  g_test_add_func ("/tun-tap/device/error/exists", test_error_exists);
  g_test_add_func ("/tun-tap/device/error/no-capability", test_error_no_capability);
  g_test_add_func ("/tun-tap/device/error/other-user", test_error_other_user);
  g_test_add_func ("/tun-tap/device/error/no-driver", test_error_no_driver);
  g_test_add_func ("/tun-tap/device/packets/receive-udp", test_receive_udp);
  g_test_add_func ("/tun-tap/device/packets/echo-udp", test_echo_udp_through_kernel);
  g_test_add_func ("/tun-tap/device/packets/ping-tun", test_ping_tun);
  g_test_add_func ("/tun-tap/device/packets/ping-tap", test_ping_tap);
  g_test_add_func ("/tun-tap/device/packets/packet-info", test_packet_info);
  g_test_add_func ("/tun-tap/device/send/errors", test_send_errors);
  g_test_add_func ("/tun-tap/device/batch/packets-received", test_packets_received);
  g_test_add_func ("/tun-tap/device/batch/large-packets", test_batch_large_packets);
  g_test_add_func ("/tun-tap/device/batch/send-many", test_send_many);
  g_test_add_func ("/tun-tap/device/close/close", test_close);
  g_test_add_func ("/tun-tap/device/close/deleted", test_deleted_while_open);
  g_test_add_func ("/tun-tap/device/close/deleted-then-send", test_deleted_send_first);
  g_test_add_func ("/tun-tap/device/close/in-handler", test_close_in_handler);
  g_test_add_func ("/tun-tap/device/close/unref-in-handler", test_unref_in_handler);
  g_test_add_func ("/tun-tap/device/context/thread-default", test_thread_default_context);
  g_test_add_func ("/tun-tap/device/context/send-from-threads", test_send_from_threads);
  g_test_add_func ("/tun-tap/device/adopt/fd", test_adopt_fd);
  g_test_add_func ("/tun-tap/device/adopt/refused", test_adopt_refused);

  return g_test_run ();
}
