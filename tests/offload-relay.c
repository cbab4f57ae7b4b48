/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Offloads against the kernel (issue 11), in private network namespaces:
 * device A (offload on) in this namespace, device B (offload off) in a
 * second namespace made for the test; this process relays every packet
 * between them with packets-received and send_many(). TCP streams from A's
 * side to a server in B's namespace make the kernel hand A super-packets,
 * which the library splits; B's kernel verifies every checksum of what
 * the library wrote (nothing tells it to trust them), so its
 * TcpInCsumErrors must stay 0 and the stream's SHA-256 must match.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <tuntap-glib/tuntap-glib.h>
#include "tun-tap-test-util.h"

#define PORT 5001

/* MiB over IPv4 per case (a quarter of it over IPv6): 100 for the split
 * case, whose SHA-256 is the integrity check, 16 for the others;
 * TUN_TAP_TEST_TRANSFER_MIB sets all of them (the valgrind and sanitizer
 * runs use less). */
static guint64 transfer_mib = 0;

/* ---- fault injection -------------------------------------------------------- */

/* While set, a write of a super-packet fails with EINVAL, as on kernels
 * that refuse GSO writes: writev() of a coalesced one (a virtio-net header
 * followed by the head's headers in the first iovec, longer than the
 * 10-byte zero header of a single packet), write() of one passed through
 * (a virtio-net header with a GSO type, then the packet). These
 * definitions come first in symbol lookup, so the library's calls reach
 * them; they also count the super-packets each way. */
static gint refuse_coalesced;
static gint coalesced_writes;     /* planned and merged: writev() */
static gint passed_writes;        /* passed through whole: write() */

ssize_t writev (int fd, const struct iovec *iov, int iovcnt);
ssize_t write (int fd, const void *buf, size_t count);

ssize_t
writev (int fd, const struct iovec *iov, int iovcnt)
{
  static ssize_t (*real) (int, const struct iovec *, int);

  if (iovcnt > 2 && iov[0].iov_len > 10)
    {
      if (g_atomic_int_get (&refuse_coalesced))
        {
          errno = EINVAL;
          return -1;
        }
      g_atomic_int_inc (&coalesced_writes);
    }
  if (real == NULL)
    real = (ssize_t (*) (int, const struct iovec *, int)) dlsym (RTLD_NEXT, "writev");
  return real (fd, iov, iovcnt);
}

ssize_t
write (int fd, const void *buf, size_t count)
{
  static ssize_t (*real) (int, const void *, size_t);
  const guint8 *p = buf;

  /* Flags (NEEDS_CSUM, DATA_VALID), then a GSO type: TCPv4, UDP, TCPv6,
   * UDP_L4, maybe with ECN; no text written by the test looks like it. */
  if (count > 10 && p[0] <= 3 && (p[1] & 0x7f) >= 1 && (p[1] & 0x7f) <= 5)
    {
      if (g_atomic_int_get (&refuse_coalesced))
        {
          errno = EINVAL;
          return -1;
        }
      g_atomic_int_inc (&passed_writes);
    }
  if (real == NULL)
    real = (ssize_t (*) (int, const void *, size_t)) dlsym (RTLD_NEXT, "write");
  return real (fd, buf, count);
}

/* ---- a second namespace ---------------------------------------------------- */

static gpointer
make_namespace (gpointer data)
{
  int *fd = data;

  g_assert_cmpint (unshare (CLONE_NEWNET), ==, 0);
  *fd = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  return NULL;
}

static int
new_namespace (void)
{
  int fd = -1;

  g_thread_join (g_thread_new ("make-netns", make_namespace, &fd));
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

/* The value of @field on the @proto line of /proc/thread-self/net/snmp. */
static guint64
snmp_value (const char *proto, const char *field)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *prefix = g_strdup_printf ("%s:", proto);

  g_assert_true (g_file_get_contents ("/proc/thread-self/net/snmp", &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix) && g_str_has_prefix (lines[i + 1], prefix))
      {
        g_auto(GStrv) names = g_strsplit (lines[i], " ", -1);
        g_auto(GStrv) values = g_strsplit (lines[i + 1], " ", -1);

        for (guint j = 0; names[j] != NULL && values[j] != NULL; j++)
          if (g_str_equal (names[j], field))
            return g_ascii_strtoull (values[j], NULL, 10);
      }
  g_assert_not_reached ();
  return 0;
}

static socklen_t
make_address (int                      family,
              const char              *address,
              struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof *ss);
  if (family == AF_INET)
    {
      struct sockaddr_in *sin = (struct sockaddr_in *) ss;

      sin->sin_family = AF_INET;
      sin->sin_port = htons (PORT);
      inet_pton (AF_INET, address, &sin->sin_addr);
      return sizeof *sin;
    }
  else
    {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons (PORT);
      inet_pton (AF_INET6, address, &sin6->sin6_addr);
      return sizeof *sin6;
    }
}

/* ---- the TCP server, in B's namespace -------------------------------------- */

typedef struct {
  int        netns;
  int        family;
  const char *address;
  int        listening;       /* set once listening */
  guint64    received;
  char      *digest;
  guint64    csum_errors;     /* Tcp InCsumErrors gained during the run */
  gboolean   done;
} Server;

static gpointer
server_thread (gpointer data)
{
  Server *s = data;
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  struct sockaddr_storage ss = { 0 };
  socklen_t sslen;
  guint64 errors_before;
  guint8 buf[65536];
  int sock, conn, one = 1;
  ssize_t n;

  g_assert_cmpint (setns (s->netns, CLONE_NEWNET), ==, 0);
  errors_before = snmp_value ("Tcp", "InCsumErrors");

  sock = socket (s->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (sock, >=, 0);
  setsockopt (sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sslen = make_address (s->family, s->address, &ss);
  g_assert_cmpint (bind (sock, (struct sockaddr *) &ss, sslen), ==, 0);
  g_assert_cmpint (listen (sock, 1), ==, 0);
  g_atomic_int_set (&s->listening, 1);

  conn = accept4 (sock, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (conn, >=, 0);
  while ((n = recv (conn, buf, sizeof buf, 0)) > 0)
    {
      g_checksum_update (sha, buf, n);
      s->received += (guint64) n;
    }
  close (conn);
  close (sock);
  s->digest = g_strdup (g_checksum_get_string (sha));
  s->csum_errors = snmp_value ("Tcp", "InCsumErrors") - errors_before;
  g_atomic_int_set (&s->done, 1);
  return NULL;
}

/* ---- the client, in this namespace ------------------------------------------ */

typedef struct {
  int         family;
  const char *address;
  guint64     bytes;
  char       *digest;
} Client;

static gpointer
client_thread (gpointer data)
{
  Client *c = data;
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  struct sockaddr_storage ss = { 0 };
  socklen_t sslen;
  guint32 buf[16384];
  guint64 sent = 0;
  int sock;

  sock = socket (c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sslen = make_address (c->family, c->address, &ss);
  g_assert_cmpint (connect (sock, (struct sockaddr *) &ss, sslen), ==, 0);
  while (sent < c->bytes)
    {
      gsize chunk = MIN (sizeof buf, c->bytes - sent);
      gsize off = 0;

      for (gsize i = 0; i < G_N_ELEMENTS (buf); i++)
        buf[i] = g_rand_int (rand);
      g_checksum_update (sha, (const guchar *) buf, chunk);
      while (off < chunk)
        {
          ssize_t n = send (sock, (guint8 *) buf + off, chunk - off, MSG_NOSIGNAL);

          g_assert_cmpint (n, >, 0);
          off += (gsize) n;
        }
      sent += chunk;
    }
  shutdown (sock, SHUT_WR);
  close (sock);
  c->digest = g_strdup (g_checksum_get_string (sha));
  return NULL;
}

static gboolean
keep_ticking (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* ---- the relay ---------------------------------------------------------------- */

typedef struct {
  TunTapDevice *to;
  guint         errors;
} Relay;

/* How the relay hands each batch on: as it came (super-packets pass
 * through whole), copied into memory of its own first (as a binding's
 * send_many() does: planned and merged again, every checksum verified), or
 * every other batch cut into calls of 3, then 100 packets (super-packets
 * cut in two are planned and merged per call, whole ones pass through). */
typedef enum {
  RELAY_AS_IS,
  RELAY_COPY,
  RELAY_CUT,
} RelayMode;

static RelayMode relay_mode;
static gint cut_batches;

/* Sends @n packets; send_many() returns how many went, and the call that
 * starts with the one that did not says why. */
static void
send_all (Relay *r, const guint8 *data, gsize len, const guint *lens, guint n)
{
  while (n > 0)
    {
      g_autoptr(GError) error = NULL;
      gint sent = tun_tap_device_send_many (r->to, data, len, lens, n, &error);

      if (sent < 0)
        {
          /* The peer's queue may be full for an instant: TCP recovers. */
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            r->errors++;
          return;
        }
      for (gint i = 0; i < sent; i++)
        {
          len -= lens[i];
          data += lens[i];
        }
      lens += sent;
      n -= (guint) sent;
    }
}

static void
relay (TunTapDevice *from, GBytes *packets, GArray *lengths, gpointer user_data)
{
  Relay *r = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (packets, &len);
  const guint *lens = (const guint *) lengths->data;
  guint n = lengths->len;
  g_autofree guint8 *copy = relay_mode == RELAY_COPY ? g_memdup2 (data, len) : NULL;

  if (relay_mode != RELAY_CUT)
    {
      send_all (r, copy != NULL ? copy : data, len, lens, n);
      return;
    }
  /* Every other batch whole: both ways, whatever the batches hold. */
  if (g_atomic_int_add (&cut_batches, 1) % 2 == 1)
    {
      send_all (r, data, len, lens, n);
      return;
    }
  for (guint call = 0; n > 0; call++)
    {
      guint take = MIN (n, call == 0 ? 3 : 100);
      gsize bytes = 0;

      for (guint i = 0; i < take; i++)
        bytes += lens[i];
      send_all (r, data, bytes, lens, take);
      data += bytes;
      lens += take;
      n -= take;
    }
}

static void
configure (TunTapDevice *device, const char *v4, const char *v4_peer,
           const char *v6, const char *v6_peer)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tun_tap_device_add_address_from_string (device, v4, v4_peer, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_add_address_from_string (device, v6, v6_peer, &error));
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_no_error (error);
}

static void
transfer (int netns, int family, const char *address, guint64 bytes)
{
  Server server = { netns, family, address, 0, 0, NULL, 0, FALSE };
  Client client = { family, address, bytes, NULL };
  GThread *st, *ct;
  gint64 end;
  guint tick;

  st = g_thread_new ("server", server_thread, &server);
  while (!g_atomic_int_get (&server.listening))
    g_usleep (1000);
  ct = g_thread_new ("client", client_thread, &client);
  end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  /* The server's thread ends the wait: a tick looks at it. */
  tick = g_timeout_add (10, keep_ticking, NULL);
  while (!g_atomic_int_get (&server.done) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  g_assert_true (g_atomic_int_get (&server.done));
  g_thread_join (ct);
  g_thread_join (st);

  g_test_message ("%s: %" G_GUINT64_FORMAT " bytes, TcpInCsumErrors +%" G_GUINT64_FORMAT,
                  address, server.received, server.csum_errors);
  g_assert_cmpuint (server.received, ==, bytes);
  g_assert_cmpstr (server.digest, ==, client.digest);
  g_assert_cmpuint (server.csum_errors, ==, 0);
  g_free (server.digest);
  g_free (client.digest);
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
run_relay (gboolean b_offload,
           gboolean refuse)
{
  guint coalesce_notified = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) a = NULL;
  g_autoptr(TunTapDevice) b = NULL;
  Relay to_b = { NULL, 0 }, to_a = { NULL, 0 };
  guint64 super_packets, split_packets, malformed, coalesced, fallbacks, a_errors, mib;
  int netns = new_namespace ();

  a = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofa", "offload", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_get_offload (a));
  g_assert_true (tun_tap_device_get_offloads (a) & TUN_TAP_OFFLOADS_TCP_SEGMENTATION);
  b = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofb", "netns-fd", netns,
                      "offload", b_offload, NULL);
  g_assert_no_error (error);
  g_assert_true (!tun_tap_device_get_offload (b) == !b_offload);

  g_signal_connect (b, "notify::coalesce", G_CALLBACK (count_notify), &coalesce_notified);
  g_atomic_int_set (&refuse_coalesced, refuse);
  to_b.to = b;
  to_a.to = a;
  g_signal_connect (a, "packets-received", G_CALLBACK (relay), &to_b);
  g_signal_connect (b, "packets-received", G_CALLBACK (relay), &to_a);
  configure (a, "192.0.2.1", "192.0.2.2", "2001:db8::1/128", "2001:db8::2");
  configure (b, "192.0.2.2", "192.0.2.1", "2001:db8::2/128", "2001:db8::1");

  g_atomic_int_set (&coalesced_writes, 0);
  g_atomic_int_set (&passed_writes, 0);
  a_errors = snmp_value ("Tcp", "InCsumErrors");
  mib = transfer_mib != 0 ? transfer_mib : (!b_offload ? 100 : 16);
  transfer (netns, AF_INET, "192.0.2.2", mib * 1024 * 1024);
  transfer (netns, AF_INET6, "2001:db8::2", mib * 1024 * 1024 / 4);

  tun_tap_device_get_offload_counters (a, &super_packets, &split_packets, &malformed,
                                       NULL, NULL);
  g_test_message ("A read %" G_GUINT64_FORMAT " super-packets, split into %" G_GUINT64_FORMAT
                  " packets; %" G_GUINT64_FORMAT " malformed", super_packets, split_packets,
                  malformed);
  g_assert_cmpuint (super_packets, >, 0);
  g_assert_cmpuint (split_packets, >, 2 * super_packets);
  g_assert_cmpuint (malformed, ==, 0);
  g_assert_cmpuint (to_a.errors + to_b.errors, ==, 0);
  /* What the relay wrote into A with a zero header was checked too. */
  g_assert_cmpuint (snmp_value ("Tcp", "InCsumErrors") - a_errors, ==, 0);

  tun_tap_device_get_offload_counters (b, NULL, NULL, NULL, &coalesced, &fallbacks);
  g_test_message ("B: %" G_GUINT64_FORMAT " coalesced writes, %" G_GUINT64_FORMAT
                  " fallbacks", coalesced, fallbacks);
  if (refuse)
    {
      /* Refused once: its packets went one by one (the transfers above
       * are intact), coalescing is off for good, said once. */
      g_assert_cmpuint (coalesced, ==, 0);
      g_assert_cmpuint (fallbacks, ==, 1);
      g_assert_false (tun_tap_device_get_coalesce (b) & TUN_TAP_COALESCE_TCP);
      /* The notification comes from an idle in B's context (the refused
       * write may happen in any thread): slow under valgrind. */
      for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
           coalesce_notified == 0 && g_get_monotonic_time () < end;)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (1000);
      tun_tap_test_spin (NULL, 50);
      g_assert_cmpuint (coalesce_notified, ==, 1);
    }
  else if (b_offload)
    g_assert_cmpuint (coalesced, >, 0);
  else
    g_assert_cmpuint (coalesced, ==, 0);
  if (!refuse)
    g_assert_cmpuint (fallbacks, ==, 0);
  g_atomic_int_set (&refuse_coalesced, FALSE);

  /* Which way the super-packets went: whole batches pass their
   * super-packets through as read; copies are planned and merged again;
   * calls that cut a super-packet merge its pieces, the rest passes. */
  g_test_message ("B: %d passed through, %d merged", g_atomic_int_get (&passed_writes),
                  g_atomic_int_get (&coalesced_writes));
  if (!b_offload || refuse)
    {
      g_assert_cmpint (g_atomic_int_get (&passed_writes), ==, 0);
      g_assert_cmpint (g_atomic_int_get (&coalesced_writes), ==, 0);
    }
  else
    {
      g_assert_cmpint (g_atomic_int_get (&passed_writes) + g_atomic_int_get (&coalesced_writes),
                       ==, coalesced);
      if (relay_mode != RELAY_COPY)
        g_assert_cmpint (g_atomic_int_get (&passed_writes), >, 0);
      else
        g_assert_cmpint (g_atomic_int_get (&passed_writes), ==, 0);
      if (relay_mode != RELAY_AS_IS)
        g_assert_cmpint (g_atomic_int_get (&coalesced_writes), >, 0);
    }
  relay_mode = RELAY_AS_IS;

  tun_tap_device_close (a);
  tun_tap_device_close (b);
  close (netns);
}

static void
test_tcp_split (void)
{
  g_test_summary ("TCP through an offloading device into a plain one: super-packets split "
                  "in C arrive intact (SHA-256) and with every checksum valid for the "
                  "receiving kernel, which verifies them all");
  run_relay (FALSE, FALSE);
}

static void
test_tcp_coalesce (void)
{
  g_test_summary ("TCP through two offloading devices: the relay's send_many() coalesces "
                  "the segments of each flow into super-packets, which arrive intact");
  run_relay (TRUE, FALSE);
}

static void
test_tcp_coalesce_copy (void)
{
  g_test_summary ("TCP through two offloading devices, the relay handing on a copy of each "
                  "batch: no super-packet passes through; the segments are verified and "
                  "merged again, and arrive intact");
  relay_mode = RELAY_COPY;
  run_relay (TRUE, FALSE);
}

static void
test_tcp_pass_cut (void)
{
  g_test_summary ("TCP through two offloading devices, the relay handing on every other batch "
                  "in calls of 3, then 100 packets: super-packets whole in a call pass through, those "
                  "cut in two are merged per call, and everything arrives intact");
  relay_mode = RELAY_CUT;
  run_relay (TRUE, FALSE);
}

static void
test_tcp_fallback (void)
{
  g_test_summary ("a kernel that refuses coalesced writes: the packets are sent one by one, "
                  "nothing is lost, coalescing is turned off once with a warning and a "
                  "notification");
  g_test_expect_message ("TunTap", G_LOG_LEVEL_WARNING, "*refused a coalesced TCP write*ofb*");
  run_relay (TRUE, TRUE);
  g_test_assert_expected_messages ();
}

static void
test_opt_out (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  guint notified = 0;

  g_test_summary ("TUNTAP_GLIB_NO_COALESCE turns coalescing off, per protocol or all; the "
                  "property turns it on again, with a notification, and never for what "
                  "the kernel cannot take");
  g_setenv ("TUNTAP_GLIB_NO_COALESCE", "1", TRUE);
  device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofo", "offload", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_get_coalesce (device), ==, TUN_TAP_COALESCE_NONE);
  g_signal_connect (device, "notify::coalesce", G_CALLBACK (count_notify), &notified);
  g_object_set (device, "coalesce", TUN_TAP_COALESCE_TCP | TUN_TAP_COALESCE_UDP, NULL);
  g_assert_true (tun_tap_device_get_coalesce (device) & TUN_TAP_COALESCE_TCP);
  g_assert_true (!(tun_tap_device_get_coalesce (device) & TUN_TAP_COALESCE_UDP) ==
                 !(tun_tap_device_get_offloads (device) & TUN_TAP_OFFLOADS_UDP_SEGMENTATION));
  g_assert_cmpuint (notified, ==, 1);
  g_clear_object (&device);

  g_setenv ("TUNTAP_GLIB_NO_COALESCE", "tcp", TRUE);
  device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofo", "offload", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_false (tun_tap_device_get_coalesce (device) & TUN_TAP_COALESCE_TCP);
  g_clear_object (&device);
  g_unsetenv ("TUNTAP_GLIB_NO_COALESCE");

  /* Without offloads there is nothing to coalesce. */
  device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofo", NULL);
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_get_coalesce (device), ==, TUN_TAP_COALESCE_NONE);
}

/* ---- UDP: super-packets from UDP_SEGMENT ------------------------------------ */

#define UDP_PORT 5003
#define UDP_SEGMENT_SIZE 1400
#define UDP_PER_SEND 40
#define UDP_SENDS 50

typedef struct {
  int     netns;
  gint    ready;
  guint   received;
  guint   bad;
  guint64 csum_errors;
} UdpServer;

static gpointer
udp_server_thread (gpointer data)
{
  UdpServer *s = data;
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (UDP_PORT) };
  struct timeval tv = { 2, 0 };
  int size = 8 * 1024 * 1024;
  guint8 buf[2048];
  guint64 before;
  int sock;

  g_assert_cmpint (setns (s->netns, CLONE_NEWNET), ==, 0);
  before = snmp_value ("Udp", "InCsumErrors");
  sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  setsockopt (sock, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  setsockopt (sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  inet_pton (AF_INET, "192.0.2.2", &sin.sin_addr);
  g_assert_cmpint (bind (sock, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_atomic_int_set (&s->ready, 1);

  for (;;)
    {
      ssize_t n = recv (sock, buf, sizeof buf, 0);
      guint index;

      if (n < 0)
        break;
      /* Each datagram: its index, then the index's pattern. */
      memcpy (&index, buf, sizeof index);
      if (n != UDP_SEGMENT_SIZE || buf[UDP_SEGMENT_SIZE - 1] != (guint8) (index * 13))
        s->bad++;
      if (++s->received == UDP_PER_SEND * UDP_SENDS)
        break;
    }
  close (sock);
  s->csum_errors = snmp_value ("Udp", "InCsumErrors") - before;
  g_atomic_int_set (&s->ready, 2);
  return NULL;
}

static gpointer
udp_client_thread (gpointer data)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (UDP_PORT) };
  int segment = UDP_SEGMENT_SIZE;
  guint8 *buf = g_malloc0 (UDP_SEGMENT_SIZE * UDP_PER_SEND);
  int sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  inet_pton (AF_INET, "192.0.2.2", &sin.sin_addr);
  g_assert_cmpint (connect (sock, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  /* One send, UDP_PER_SEND datagrams: a UDP_L4 super-packet on the TUN. */
  g_assert_cmpint (setsockopt (sock, IPPROTO_UDP, 103 /* UDP_SEGMENT */, &segment,
                               sizeof segment), ==, 0);
  for (guint s = 0; s < UDP_SENDS; s++)
    {
      for (guint i = 0; i < UDP_PER_SEND; i++)
        {
          guint index = s * UDP_PER_SEND + i;
          guint8 *d = buf + i * UDP_SEGMENT_SIZE;

          memcpy (d, &index, sizeof index);
          d[UDP_SEGMENT_SIZE - 1] = (guint8) (index * 13);
        }
      g_assert_cmpint (send (sock, buf, UDP_SEGMENT_SIZE * UDP_PER_SEND, 0), ==,
                       UDP_SEGMENT_SIZE * UDP_PER_SEND);
      /* Paced: a relay, not a drop test. */
      g_usleep (2000);
    }
  close (sock);
  g_free (buf);
  return NULL;
}

static void
run_udp (gboolean b_offload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) a = NULL;
  g_autoptr(TunTapDevice) b = NULL;
  Relay to_b = { NULL, 0 }, to_a = { NULL, 0 };
  UdpServer server = { new_namespace (), 0, 0, 0, 0 };
  guint64 super_packets = 0, split_packets = 0, coalesced = 0;
  GThread *st, *ct;
  gint64 end;
  guint tick;

  a = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofu", "offload", TRUE, NULL);
  g_assert_no_error (error);
  b = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofv", "netns-fd",
                      server.netns, "offload", b_offload, NULL);
  g_assert_no_error (error);
  to_b.to = b;
  to_a.to = a;
  g_signal_connect (a, "packets-received", G_CALLBACK (relay), &to_b);
  g_signal_connect (b, "packets-received", G_CALLBACK (relay), &to_a);
  configure (a, "192.0.2.1", "192.0.2.2", "2001:db8::1/128", "2001:db8::2");
  configure (b, "192.0.2.2", "192.0.2.1", "2001:db8::2/128", "2001:db8::1");

  st = g_thread_new ("udp-server", udp_server_thread, &server);
  while (g_atomic_int_get (&server.ready) == 0)
    g_usleep (1000);
  ct = g_thread_new ("udp-client", udp_client_thread, NULL);
  end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  tick = g_timeout_add (10, keep_ticking, NULL);
  while (g_atomic_int_get (&server.ready) != 2 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  g_thread_join (ct);
  g_thread_join (st);

  tun_tap_device_get_offload_counters (a, &super_packets, &split_packets, NULL, NULL, NULL);
  g_test_message ("UDP: %u of %u datagrams, %u bad, UdpInCsumErrors +%" G_GUINT64_FORMAT
                  "; A read %" G_GUINT64_FORMAT " super-packets, %" G_GUINT64_FORMAT " packets",
                  server.received, UDP_PER_SEND * UDP_SENDS, server.bad, server.csum_errors,
                  super_packets, split_packets);
  /* A paced relay on one machine: allow a handful lost to a full queue,
   * never a bad one. */
  g_assert_cmpuint (server.received, >=, UDP_PER_SEND * UDP_SENDS * 95 / 100);
  g_assert_cmpuint (server.bad, ==, 0);
  g_assert_cmpuint (server.csum_errors, ==, 0);
  if (tun_tap_device_get_offloads (a) & TUN_TAP_OFFLOADS_UDP_SEGMENTATION)
    g_assert_cmpuint (super_packets, >, 0);
  g_assert_cmpuint (to_a.errors + to_b.errors, ==, 0);
  tun_tap_device_get_offload_counters (b, NULL, NULL, NULL, &coalesced, NULL);
  g_test_message ("B: %" G_GUINT64_FORMAT " coalesced writes", coalesced);
  if (tun_tap_device_get_coalesce (b) & TUN_TAP_COALESCE_UDP)
    g_assert_cmpuint (coalesced, >, 0);
  else
    g_assert_cmpuint (coalesced, ==, 0);
  close (server.netns);
}

static void
test_udp_split (void)
{
  g_test_summary ("UDP_SEGMENT sends through an offloading device: UDP super-packets "
                  "(where the kernel offers USO) are split into datagrams that arrive "
                  "whole, with valid checksums");
  run_udp (FALSE);
}

static void
test_udp_coalesce (void)
{
  g_test_summary ("the same into an offloading device: send_many() merges the datagrams "
                  "of one flow again (where the kernel offers USO), and they arrive whole");
  run_udp (TRUE);
}

static void
test_refused (void)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device;

  g_test_summary ("offload on TAP or with packet information: NOT_SUPPORTED");

  device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofr", "offload", TRUE,
                           "mode", TUN_TAP_MODE_TAP, NULL);
  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofr", "offload", TRUE,
                           "packet-info", TRUE, NULL);
  g_assert_null (device);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
}

/* ---- closed inside a wake-up ------------------------------------------------ */

static void
count_batch (TunTapDevice *device, GBytes *packets, GArray *lengths, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
close_on_packet (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  (*(guint *) user_data)++;
  tun_tap_device_close (device);
}

static void
test_close_in_handler (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = NULL;
  struct sockaddr_in to = { 0 };
  guint8 datagram[100] = { 0 };
  guint packets = 0, batches = 0;
  gint64 end;
  int sock;

  g_test_summary ("an offloading device closed by a packet-received handler while "
                  "packets-received is connected too: the wake-up ends without touching "
                  "the device's freed buffers, and no batch is emitted after the close");
  device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "ofc", "offload", TRUE,
                           NULL);
  g_assert_no_error (error);
  g_signal_connect (device, "packet-received", G_CALLBACK (close_on_packet), &packets);
  g_signal_connect (device, "packets-received", G_CALLBACK (count_batch), &batches);
  configure (device, "192.0.2.1", "192.0.2.2", "2001:db8::1/128", "2001:db8::2");

  /* Datagrams the kernel routes out through the device, several per
   * wake-up. */
  sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (sock, >=, 0);
  to.sin_family = AF_INET;
  to.sin_port = htons (9);
  inet_pton (AF_INET, "192.0.2.2", &to.sin_addr);
  for (int i = 0; i < 8; i++)
    g_assert_cmpint (sendto (sock, datagram, sizeof datagram, 0, (struct sockaddr *) &to,
                             sizeof to), ==, sizeof datagram);
  close (sock);

  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!tun_tap_device_is_closed (device) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (tun_tap_device_is_closed (device));
  g_assert_cmpuint (packets, ==, 1);
  g_assert_cmpuint (batches, ==, 0);
}

/* ---- packets held for the next taker ----------------------------------------- */

typedef struct {
  TunTapDevice *device;
  gulong        id;
  guint         leave_after;
  GArray       *indexes;    /* guint: the first bytes of each payload */
} Taker;

/* The number a datagram of send_super_packet() carries; G_MAXUINT for
 * any other packet (the kernel sends its own too, such as IPv6 router
 * solicitations). */
static guint
payload_index (const guint8 *p, gsize len)
{
  guint index = G_MAXUINT;

  /* IPv4 + UDP to port 9: the payload from byte 28. */
  if (len >= 32 && p[0] == 0x45 && p[9] == 17 && p[22] == 0 && p[23] == 9)
    memcpy (&index, p + 28, sizeof index);
  return index;
}

static void
take_one (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  Taker *t = user_data;
  gsize len;
  const guint8 *p = g_bytes_get_data (packet, &len);
  guint index = payload_index (p, len);

  if (index == G_MAXUINT)
    return;
  g_array_append_val (t->indexes, index);
  if (t->indexes->len == t->leave_after)
    g_signal_handler_disconnect (device, t->id);
}

static void
take_batch (TunTapDevice *device, GBytes *packets, GArray *lengths, gpointer user_data)
{
  Taker *t = user_data;
  const guint8 *p = g_bytes_get_data (packets, NULL);

  for (guint i = 0; i < lengths->len; i++)
    {
      guint index = payload_index (p, g_array_index (lengths, guint, i));

      if (index != G_MAXUINT)
        g_array_append_val (t->indexes, index);
      p += g_array_index (lengths, guint, i);
    }
}

/* receive_async()'s callback: the batch into the taker's indexes. */
static void
took_batch (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Taker *t = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) lengths = NULL;
  g_autoptr(GBytes) packets = tun_tap_device_receive_finish (TUN_TAP_DEVICE (source), result,
                                                             &lengths, &error);

  g_assert_no_error (error);
  take_batch (TUN_TAP_DEVICE (source), packets, lengths, t);
  t->id = 1;   /* done */
}

/* One UDP_SEGMENT send of @count datagrams, payloads numbered from
 * @first: one super-packet on the device. */
static void
send_super_packet (guint first, guint count)
{
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (9) };
  int segment = 1000, sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_autofree guint8 *buf = g_malloc0 (1000 * count);

  for (guint i = 0; i < count; i++)
    {
      guint index = first + i;

      memcpy (buf + i * 1000, &index, sizeof index);
    }
  inet_pton (AF_INET, "192.0.2.2", &to.sin_addr);
  g_assert_cmpint (setsockopt (sock, IPPROTO_UDP, 103 /* UDP_SEGMENT */, &segment,
                               sizeof segment), ==, 0);
  g_assert_cmpint (sendto (sock, buf, 1000 * count, 0, (struct sockaddr *) &to, sizeof to), ==,
                   (gssize) (1000 * count));
  close (sock);
}

static void
spin_until (GArray *indexes, guint n)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (indexes->len < n && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  /* And a little more: nothing else may come. */
  tun_tap_test_spin (NULL, 100);
}

/* An offload device @name, configured, that reads UDP super-packets. */
static TunTapDevice *
held_device (const char *name)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", name,
                                         "offload", TRUE, NULL);

  g_assert_no_error (error);
  /* UDP super-packets need USO (Linux 6.2); CI's kernel has it. */
  g_assert_true (tun_tap_device_get_offloads (device) & TUN_TAP_OFFLOADS_UDP_SEGMENTATION);
  configure (device, "192.0.2.1", "192.0.2.2", "2001:db8::1/128", "2001:db8::2");
  return device;
}

static void
test_held_for_next_taker (void)
{
  g_autoptr(TunTapDevice) device = NULL;
  g_autoptr(GArray) first = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) second = g_array_new (FALSE, FALSE, sizeof (guint));
  Taker one = { NULL, 0, 3, first }, next = { NULL, 0, 0, second };

  g_test_summary ("the last packet-received handler leaves part-way through a super-packet: "
                  "the rest of it waits in the device and goes, in order, to the next "
                  "handler connected, packet-received or packets-received, or to a "
                  "receive_async(), with no new traffic; nothing is lost or repeated");
  device = held_device ("ofh");
  one.device = next.device = device;

  for (int round = 0; round < 3; round++)
    {
      g_array_set_size (first, 0);
      g_array_set_size (second, 0);
      one.id = g_signal_connect (device, "packet-received", G_CALLBACK (take_one), &one);
      send_super_packet (round * 100, 10);
      spin_until (first, 3);
      g_assert_cmpuint (first->len, ==, 3);

      /* Nobody listens: the rest waits (nothing is read either). */
      tun_tap_test_spin (NULL, 100);
      g_assert_cmpuint (first->len, ==, 3);
      if (round == 0)
        next.id = g_signal_connect (device, "packet-received", G_CALLBACK (take_one), &next);
      else if (round == 1)
        next.id = g_signal_connect (device, "packets-received", G_CALLBACK (take_batch), &next);
      else
        {
          /* A pull: one batch, the rest of the super-packet. */
          next.id = 0;
          tun_tap_device_receive_async (device, NULL, took_batch, &next);
        }
      spin_until (second, 7);
      g_assert_cmpuint (second->len, ==, 7);
      for (guint i = 0; i < 3; i++)
        g_assert_cmpuint (g_array_index (first, guint, i), ==, round * 100 + i);
      for (guint i = 0; i < 7; i++)
        g_assert_cmpuint (g_array_index (second, guint, i), ==, round * 100 + 3 + i);
      if (round < 2)
        g_signal_handler_disconnect (device, next.id);
      else
        g_assert_cmpuint (next.id, ==, 1);
    }
  tun_tap_device_close (device);
}

static void
count_closed (TunTapDevice *device, GError *error, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_held_then_deleted (void)
{
  g_autoptr(TunTapDevice) device = NULL;
  g_autoptr(GArray) first = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) second = g_array_new (FALSE, FALSE, sizeof (guint));
  Taker one = { NULL, 0, 3, first }, next = { NULL, 0, 0, second };
  gint64 end;
  guint closed = 0;

  g_test_summary ("packets held for the next taker when the interface is deleted: closed "
                  "is emitted once, the held packets go nowhere afterwards");
  device = held_device ("ofd");
  g_signal_connect (device, "closed", G_CALLBACK (count_closed), &closed);
  one.device = next.device = device;
  one.id = g_signal_connect (device, "packet-received", G_CALLBACK (take_one), &one);
  send_super_packet (0, 10);
  spin_until (first, 3);
  g_assert_cmpuint (first->len, ==, 3);

  g_free (tun_tap_test_run (FALSE, "ip link del ofd"));
  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (closed == 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (closed, ==, 1);
  g_assert_true (tun_tap_device_is_closed (device));

  next.id = g_signal_connect (device, "packet-received", G_CALLBACK (take_one), &next);
  tun_tap_test_spin (NULL, 200);
  g_assert_cmpuint (second->len, ==, 0);
  g_assert_cmpuint (closed, ==, 1);
}

int
main (int argc, char *argv[])
{
  g_autofree char *reason = NULL;

  g_test_init (&argc, &argv, NULL);
  if (!tun_tap_test_enter_netns (&reason))
    g_error ("%s", reason);
  if (g_getenv ("TUN_TAP_TEST_TRANSFER_MIB") != NULL)
    transfer_mib = g_ascii_strtoull (g_getenv ("TUN_TAP_TEST_TRANSFER_MIB"), NULL, 10);

  g_test_add_func ("/tun-tap/offload-relay/tcp-split", test_tcp_split);
  g_test_add_func ("/tun-tap/offload-relay/tcp-coalesce", test_tcp_coalesce);
  g_test_add_func ("/tun-tap/offload-relay/tcp-coalesce-copy", test_tcp_coalesce_copy);
  g_test_add_func ("/tun-tap/offload-relay/tcp-pass-cut", test_tcp_pass_cut);
  g_test_add_func ("/tun-tap/offload-relay/tcp-fallback", test_tcp_fallback);
  g_test_add_func ("/tun-tap/offload-relay/opt-out", test_opt_out);
  g_test_add_func ("/tun-tap/offload-relay/udp-split", test_udp_split);
  g_test_add_func ("/tun-tap/offload-relay/udp-coalesce", test_udp_coalesce);
  g_test_add_func ("/tun-tap/offload-relay/refused", test_refused);
  g_test_add_func ("/tun-tap/offload-relay/close-in-handler", test_close_in_handler);
  g_test_add_func ("/tun-tap/offload-relay/held-for-next-taker", test_held_for_next_taker);
  g_test_add_func ("/tun-tap/offload-relay/held-then-deleted", test_held_then_deleted);
  return g_test_run ();
}
