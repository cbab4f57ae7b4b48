/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Faults and hostile input: the interface pulled away at bad moments, the
 * link going down under traffic, a slow handler, bad arguments everywhere,
 * unref from every signal, and create/close cycles. Nothing may crash,
 * spin, leak or lose data it was handed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <tuntap-glib/tuntap-glib.h>
#include "tun-tap-test-util.h"

typedef struct {
  TunTapDevice *device;
  guint         packets;
  guint         closed;
  GError       *closed_error;
  gboolean      delete_in_handler;
  guint         sleep_ms;
  char         *name;
} Watch;

static void
on_packet (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  Watch *w = user_data;

  w->packets++;
  if (w->delete_in_handler && w->packets == 5)
    g_free (tun_tap_test_run (FALSE, "ip link del %s", w->name));
  if (w->sleep_ms)
    g_usleep (w->sleep_ms * 1000);
}

static void
on_closed (TunTapDevice *device, const GError *error, gpointer user_data)
{
  Watch *w = user_data;

  w->closed++;
  g_clear_error (&w->closed_error);
  if (error)
    w->closed_error = g_error_copy (error);
}

static void
watch_init (Watch *w, const char *name, const char *local, const char *peer)
{
  g_autoptr(GError) error = NULL;

  memset (w, 0, sizeof *w);
  w->name = g_strdup (name);
  w->device = tun_tap_device_new (name, TUN_TAP_MODE_TUN, &error);
  g_assert_no_error (error);
  g_signal_connect (w->device, "packet-received", G_CALLBACK (on_packet), w);
  g_signal_connect (w->device, "closed", G_CALLBACK (on_closed), w);
  if (local != NULL)
    {
      g_assert_true (tun_tap_device_add_address_from_string (w->device, local, peer, &error));
      g_assert_true (tun_tap_device_set_up (w->device, TRUE, &error));
      g_assert_no_error (error);
    }
}

static void
watch_clear (Watch *w)
{
  g_clear_object (&w->device);
  g_clear_error (&w->closed_error);
  g_free (w->name);
}

/* A minimal IPv4/UDP packet 192.0.2.2:7 -> 192.0.2.1:9 (checksum 0). */
static gsize
make_udp4 (guint8 *buf, gsize payload)
{
  static const guint8 zeros[1500];

  g_assert_cmpuint (payload, <=, sizeof zeros);
  return tun_tap_test_make_udp4 (buf, "192.0.2.2", 7, "192.0.2.1", 9, zeros, payload);
}

/* ---- a flood from another thread ---------------------------------------- */

typedef struct {
  GThread *thread;
  gint     stop;
  guint    sent;
  char     dst[64];
} Flood;

static gpointer
flood_thread (gpointer data)
{
  Flood *f = data;
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (9999) };
  char payload[64] = "flood";

  inet_pton (AF_INET, f->dst, &sin.sin_addr);
  while (!g_atomic_int_get (&f->stop))
    {
      for (int i = 0; i < 64; i++)
        {
          /* Different source ports would need more sockets; one flow is
           * enough for a single queue. */
          if (sendto (s, payload, sizeof payload, 0, (struct sockaddr *) &sin, sizeof sin) > 0)
            f->sent++;
        }
      g_usleep (100);
    }
  close (s);
  return NULL;
}

static void
flood_start (Flood *f, const char *dst)
{
  memset (f, 0, sizeof *f);
  g_strlcpy (f->dst, dst, sizeof f->dst);
  f->thread = g_thread_new ("flood", flood_thread, f);
}

static void
flood_stop (Flood *f)
{
  g_atomic_int_set (&f->stop, 1);
  g_thread_join (f->thread);
}

/* Memory limits only hold without valgrind or ASan in the way. */
static gboolean
rss_is_meaningful (void)
{
  return g_getenv ("TUN_TAP_TEST_NO_RSS_LIMITS") == NULL;
}

static gint64
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoll (line + 6, NULL, 10);
}

static void
assert_quiet_after_close (Watch *w)
{
  g_autoptr(GError) error = NULL;
  guint8 pkt[64];
  gsize len = make_udp4 (pkt, 8);
  gint64 before, used;

  g_assert_cmpuint (w->closed, ==, 1);
  g_assert_error (w->closed_error, G_IO_ERROR, G_IO_ERROR_NO_SUCH_DEVICE);

  before = tun_tap_test_cpu_time_us ();
  tun_tap_test_spin (NULL, 1000);
  used = tun_tap_test_cpu_time_us () - before;
  g_test_message ("CPU time in the second after deletion: %" G_GINT64_FORMAT " µs", used);
  g_assert_cmpint (used, <, 20000);
  g_assert_cmpuint (w->closed, ==, 1);

  g_assert_false (tun_tap_device_send (w->device, pkt, len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

/* ---- deletion ------------------------------------------------------------ */

static void
test_delete_during_flood (void)
{
  Watch w;
  Flood f;
  guint fds_before = tun_tap_test_count_fds ();

  watch_init (&w, "tf-flood", "192.0.2.1", "192.0.2.2");
  flood_start (&f, "192.0.2.2");

  while (w.packets < 2000)
    g_main_context_iteration (NULL, TRUE);
  g_free (tun_tap_test_run (FALSE, "ip link del tf-flood"));
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       w.closed == 0 && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, TRUE);
  flood_stop (&f);
  g_test_message ("%u packets received of %u sent before the deletion", w.packets, f.sent);

  assert_quiet_after_close (&w);
  watch_clear (&w);
  g_assert_cmpuint (tun_tap_test_count_fds (), ==, fds_before);
}

static void
test_delete_in_handler (void)
{
  Watch w;
  Flood f;

  watch_init (&w, "tf-hdel", "192.0.2.1", "192.0.2.2");
  w.delete_in_handler = TRUE;
  flood_start (&f, "192.0.2.2");
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       w.closed == 0 && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, TRUE);
  flood_stop (&f);

  assert_quiet_after_close (&w);
  watch_clear (&w);
}

/* ---- link down and up under traffic --------------------------------------- */

static void
test_link_down_under_traffic (void)
{
  g_autoptr(GError) error = NULL;
  Watch w;
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (9999) };
  guint8 pkt[64];
  gsize len = make_udp4 (pkt, 8);

  watch_init (&w, "tf-down", "192.0.2.1", "192.0.2.2");
  inet_pton (AF_INET, "192.0.2.2", &sin.sin_addr);
  tun_tap_test_spin (NULL, 50);   /* let router solicitations and the like pass */
  w.packets = 0;

  /* Queued in the kernel, not read yet: the loop does not run. */
  for (int i = 0; i < 10; i++)
    g_assert_cmpint (sendto (s, "q", 1, 0, (struct sockaddr *) &sin, sizeof sin), ==, 1);

  g_assert_true (tun_tap_device_set_up (w.device, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (tun_tap_device_send (w.device, pkt, len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
  g_clear_error (&error);

  /* What was queued before the down is still delivered. */
  tun_tap_test_spin (NULL, 200);
  g_assert_cmpuint (w.packets, >=, 10);
  g_assert_cmpuint (w.closed, ==, 0);

  g_assert_true (tun_tap_device_set_up (w.device, TRUE, &error));
  g_assert_true (tun_tap_device_send (w.device, pkt, len, &error));
  g_assert_no_error (error);
  close (s);
  watch_clear (&w);
}

/* ---- a slow handler --------------------------------------------------------- */

static guint64
read_counter (const char *name, const char *counter)
{
  g_autofree char *out = tun_tap_test_run (FALSE, "cat /sys/class/net/%s/statistics/%s",
                                           name, counter);
  return g_ascii_strtoull (out, NULL, 10);
}

static void
test_slow_handler (void)
{
  Watch w;
  Flood f;
  gint64 rss_before, rss_after;
  guint64 dropped;

  watch_init (&w, "tf-slow", "192.0.2.1", "192.0.2.2");
  w.sleep_ms = 2;
  tun_tap_test_spin (NULL, 100);
  rss_before = rss_kib ();

  flood_start (&f, "192.0.2.2");
  for (gint64 end = g_get_monotonic_time () + 1500 * 1000; g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, FALSE);
  flood_stop (&f);
  rss_after = rss_kib ();

  dropped = read_counter ("tf-slow", "tx_dropped");
  g_test_message ("slow handler: %u sent, %u handled, %" G_GUINT64_FORMAT " dropped by the "
                  "kernel, RSS %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " KiB",
                  f.sent, w.packets, dropped, rss_before, rss_after);
  /* The kernel's queue took the overflow, not our memory. */
  g_assert_cmpuint (dropped, >, 0);
  g_assert_cmpuint (w.packets, <, f.sent);
  if (rss_is_meaningful ())
    g_assert_cmpint (rss_after - rss_before, <, 1024);
  watch_clear (&w);
}

/* ---- bad input -------------------------------------------------------------- */

static void
test_bad_packets (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) tun = NULL;
  g_autoptr(TunTapDevice) pi = NULL;
  g_autoptr(TunTapDevice) tap = NULL;
  g_autofree guint8 *huge = g_malloc0 (5 * 1024 * 1024);
  guint8 pkt[4 + 64];
  gsize len;
  struct {
    TunTapDevice **device;
    const guint8 *data;
    gsize len;
    int code;
  } cases[] = {
    { &tun, NULL, 0, G_IO_ERROR_INVALID_ARGUMENT },
    { &tun, NULL, 20, G_IO_ERROR_INVALID_ARGUMENT },
    { &tun, pkt, 0, G_IO_ERROR_INVALID_ARGUMENT },
    { &tun, (const guint8 *) "\x00\x01\x02\x03", 4, G_IO_ERROR_INVALID_DATA },
    { &tun, (const guint8 *) "\x15\x00", 2, G_IO_ERROR_INVALID_DATA },
    { &tun, huge, 5 * 1024 * 1024, G_IO_ERROR_MESSAGE_TOO_LARGE },
    { &tun, huge, 65536, G_IO_ERROR_MESSAGE_TOO_LARGE },
    { &tap, (const guint8 *) "\x02\x00", 2, G_IO_ERROR_INVALID_DATA },
    { &tap, huge, 1500 + 19, G_IO_ERROR_MESSAGE_TOO_LARGE },
    { &pi, (const guint8 *) "\x00\x00\x08", 3, G_IO_ERROR_INVALID_DATA },
    { &pi, (const guint8 *) "\x00\x00\x08\x00", 4, G_IO_ERROR_INVALID_DATA },
  };

  tun = tun_tap_device_new ("tf-bad", TUN_TAP_MODE_TUN, &error);
  tap = tun_tap_device_new ("tf-bad-tap", TUN_TAP_MODE_TAP, &error);
  pi = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "tf-bad-pi",
                       "packet-info", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_set_up (tun, TRUE, &error));
  g_assert_true (tun_tap_device_set_up (tap, TRUE, &error));
  g_assert_true (tun_tap_device_set_up (pi, TRUE, &error));
  /* A valid IPv4 header (total length 36) and trailing bytes: too large,
   * not malformed. */
  make_udp4 (huge, 8);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_false (tun_tap_device_send (*cases[i].device, cases[i].data, cases[i].len, &error));
      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, error->message);
      g_assert_error (error, G_IO_ERROR, cases[i].code);
      g_clear_error (&error);
    }

  /* A packet-info header whose EtherType does not match the packet. */
  len = make_udp4 (pkt + 4, 8);
  memset (pkt, 0, 4);
  pkt[2] = 0x86; pkt[3] = 0xdd;
  g_assert_false (tun_tap_device_send (pi, pkt, len + 4, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "0x86dd"));
  g_clear_error (&error);
  pkt[2] = 0x08; pkt[3] = 0x00; pkt[0] = 0x80;
  g_assert_false (tun_tap_device_send (pi, pkt, len + 4, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  pkt[0] = 0;
  g_assert_true (tun_tap_device_send (pi, pkt, len + 4, &error));
  g_assert_no_error (error);
}

static void
expect_invalid_ip (TunTapDevice *device,
                   const guint8 *data,
                   gsize         len,
                   const char   *says)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (tun_tap_device_send (device, data, len, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, tun_tap_device_get_name (device)));
  g_assert_nonnull (strstr (error->message, says));
}

static void
test_bad_ip_headers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) tun = NULL;
  g_autoptr(TunTapDevice) pi = NULL;
  guint8 good[64], bad[4 + 64];
  guint8 ip6[48] = { 0x60, 0, 0, 0, 0, 8, 17, 64 };
  guint lengths[2];
  gsize len;

  g_test_summary ("TUN: the write(2) the kernel accepts and the IP layer then drops "
                  "(truncated or inconsistent IPv4/IPv6 header, IPv4 header checksum) "
                  "fails with INVALID_DATA naming the device and the fault");

  tun = tun_tap_device_new ("tf-ip", TUN_TAP_MODE_TUN, &error);
  g_assert_no_error (error);
  pi = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "tf-ip-pi",
                       "packet-info", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_set_up (tun, TRUE, &error));
  g_assert_true (tun_tap_device_set_up (pi, TRUE, &error));
  len = make_udp4 (good, 8);   /* 36 bytes */

  /* IPv4: the header cut short, a length field that lies, a bad checksum. */
  expect_invalid_ip (tun, good, 10, "at least 20 bytes");
  expect_invalid_ip (tun, good, 1, "at least 20 bytes");
  memcpy (bad, good, len);
  bad[0] = 0x44;
  expect_invalid_ip (tun, bad, len, "header length");
  bad[0] = 0x4f;
  expect_invalid_ip (tun, bad, len, "header length");
  expect_invalid_ip (tun, good, len - 6, "total length");
  memcpy (bad, good, len);
  bad[2] = 0;
  bad[3] = 0;
  expect_invalid_ip (tun, bad, len, "total length");
  memcpy (bad, good, len);
  bad[11] ^= 1;
  expect_invalid_ip (tun, bad, len, "checksum");

  /* IPv6: shorter than its header, a payload longer than the packet, and
   * the all-zero header of a jumbogram that is not one. */
  expect_invalid_ip (tun, ip6, 39, "40-byte header");
  expect_invalid_ip (tun, ip6, 47, "payload length");
  ip6[5] = 0;
  ip6[6] = 0;
  expect_invalid_ip (tun, ip6, 48, "jumbogram");

  /* After a packet-information header, the same checks. */
  memset (bad, 0, 4);
  bad[2] = 0x08;
  memcpy (bad + 4, good, len);
  expect_invalid_ip (pi, bad, 4 + 10, "at least 20 bytes");
  g_assert_true (tun_tap_device_send (pi, bad, 4 + len, &error));
  g_assert_no_error (error);

  /* What the kernel takes is still taken: bytes after the total length
   * (the IP layer trims them), and a well-formed IPv6 packet. */
  memcpy (bad, good, len);
  g_assert_true (tun_tap_device_send (tun, bad, len + 4, &error));
  g_assert_no_error (error);
  ip6[5] = 8;
  ip6[6] = 17;
  g_assert_true (tun_tap_device_send (tun, ip6, 48, &error));
  g_assert_no_error (error);

  /* send_many() stops at the bad packet: the one before it was sent, and
   * the call starting with the bad one fails with its reason. */
  memcpy (bad, good, len);
  memcpy (bad + len, good, 10);
  lengths[0] = (guint) len;
  lengths[1] = 10;
  g_assert_cmpint (tun_tap_device_send_many (tun, bad, len + 10, lengths, 2, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmpint (tun_tap_device_send_many (tun, bad + len, 10, lengths + 1, 1, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "at least 20 bytes"));
  g_clear_error (&error);
}

static void
test_calls_after_close (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = tun_tap_device_new ("tf-after", TUN_TAP_MODE_TAP, &error);
  g_autoptr(GBytes) bytes = g_bytes_new_static ("\x45\x00", 2);
  g_autoptr(GInetAddressMask) mask = NULL;
  g_autoptr(TunTapAddress) address = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  Watch counter = { 0 };

  g_assert_no_error (error);
  g_signal_connect (device, "closed", G_CALLBACK (on_closed), &counter);
  tun_tap_device_close (device);
  tun_tap_device_close (device);
  g_assert_cmpuint (counter.closed, ==, 1);
  g_assert_null (counter.closed_error);

  g_assert_true (tun_tap_device_is_closed (device));
  g_assert_cmpint (tun_tap_device_get_fd (device), ==, -1);
  g_assert_cmpstr (tun_tap_device_get_name (device), ==, "tf-after");
  g_assert_false (tun_tap_device_send_bytes (device, bytes, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);   /* runt frame first */
  g_clear_error (&error);
  g_assert_false (tun_tap_device_send (device, (const guint8 *) "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);

#define EXPECT_CLOSED(call) \
  G_STMT_START { \
    g_assert_false (call); \
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED); \
    g_clear_error (&error); \
  } G_STMT_END
  mask = g_inet_address_mask_new_from_string ("192.0.2.0/24", NULL);
  address = tun_tap_address_new_from_string ("192.0.2.1/24", NULL);
  EXPECT_CLOSED (tun_tap_device_set_up (device, TRUE, &error));
  EXPECT_CLOSED (tun_tap_device_set_mtu (device, 1400, &error));
  EXPECT_CLOSED (tun_tap_device_set_carrier (device, TRUE, &error));
  EXPECT_CLOSED (tun_tap_device_set_persistent (device, TRUE, &error));
  EXPECT_CLOSED (tun_tap_device_set_hardware_address (device, "02:00:5e:00:53:01", &error));
  EXPECT_CLOSED (tun_tap_device_add_address (device, address, &error));
  EXPECT_CLOSED (tun_tap_device_remove_address (device, address, &error));
  EXPECT_CLOSED (tun_tap_device_remove_address_from_string (device, "192.0.2.1/24", NULL, &error));
  EXPECT_CLOSED (tun_tap_device_add_route (device, mask, NULL, &error));
  EXPECT_CLOSED (tun_tap_device_remove_route (device, mask, NULL, &error));
  EXPECT_CLOSED (tun_tap_device_add_route_from_string (device, "192.0.2.0/24", NULL, &error));
  EXPECT_CLOSED (tun_tap_device_remove_route_from_string (device, "192.0.2.0/24", NULL, &error));
#undef EXPECT_CLOSED
  addresses = tun_tap_device_get_addresses (device);
  g_assert_cmpuint (addresses->len, ==, 0);
  g_assert_cmpuint (counter.closed, ==, 1);
}

/* ---- unref inside every signal handler ------------------------------------- */

static void
unref_in_signal (gpointer instance, gpointer user_data)
{
  TunTapDevice **slot = user_data;

  g_clear_object (slot);
}

static void
unref_in_closed (TunTapDevice *device, const GError *error, gpointer user_data)
{
  unref_in_signal (device, user_data);
}

static void
unref_in_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  unref_in_signal (object, user_data);
}

static void
unref_in_packet (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  unref_in_signal (device, user_data);
}

static void
wait_gone (TunTapDevice **slot, GWeakRef *weak)
{
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       *slot != NULL && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  g_assert_null (*slot);
  tun_tap_test_spin (NULL, 50);
  g_assert_null (g_weak_ref_get (weak));
  g_weak_ref_clear (weak);
}

static TunTapDevice *
device_with_weak (const char *name, GWeakRef *weak)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device = tun_tap_device_new (name, TUN_TAP_MODE_TUN, &error);

  g_assert_no_error (error);
  g_weak_ref_init (weak, device);
  return device;
}

static void
test_unref_in_every_signal (void)
{
  GWeakRef weak;
  TunTapDevice *device;
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (9) };

  /* closed, after deletion */
  device = device_with_weak ("tf-u-closed", &weak);
  g_signal_connect (device, "closed", G_CALLBACK (unref_in_closed), &device);
  g_free (tun_tap_test_run (FALSE, "ip link del tf-u-closed"));
  wait_gone (&device, &weak);

  /* closed, from close() itself: the caller's reference keeps it alive
   * through the call */
  device = device_with_weak ("tf-u-close", &weak);
  g_object_ref (device);
  {
    TunTapDevice *extra = device;
    g_signal_connect (device, "closed", G_CALLBACK (unref_in_closed), &device);
    tun_tap_device_close (extra);
    g_object_unref (extra);
  }
  wait_gone (&device, &weak);

  /* notify::up, from another program */
  device = device_with_weak ("tf-u-notify", &weak);
  g_signal_connect (device, "notify::up", G_CALLBACK (unref_in_notify), &device);
  g_free (tun_tap_test_run (FALSE, "ip link set tf-u-notify up"));
  wait_gone (&device, &weak);
  g_assert_false (tun_tap_test_link_exists ("tf-u-notify"));

  /* addresses-changed */
  device = device_with_weak ("tf-u-addr", &weak);
  g_signal_connect (device, "addresses-changed", G_CALLBACK (unref_in_signal), &device);
  g_free (tun_tap_test_run (FALSE, "ip addr add 198.51.100.1/24 dev tf-u-addr"));
  wait_gone (&device, &weak);

  /* packet-received */
  device = device_with_weak ("tf-u-pkt", &weak);
  g_signal_connect (device, "packet-received", G_CALLBACK (unref_in_packet), &device);
  g_free (tun_tap_test_run (FALSE, "ip addr add 203.0.113.1 peer 203.0.113.2 dev tf-u-pkt && "
                                   "ip link set tf-u-pkt up"));
  inet_pton (AF_INET, "203.0.113.2", &sin.sin_addr);
  for (int i = 0; i < 5; i++)
    sendto (s, "x", 1, 0, (struct sockaddr *) &sin, sizeof sin);
  wait_gone (&device, &weak);
  close (s);
}

/* ---- cycles and fds ----------------------------------------------------------- */

static void
test_create_close_cycles (void)
{
  guint fds_before;
  gint64 rss_warm;

  /* Warm up malloc arenas, GType and the monitor machinery first. */
  for (guint i = 0; i < 50; i++)
    {
      TunTapDevice *device = tun_tap_device_new ("tf-cycle", i % 2 ? TUN_TAP_MODE_TAP : TUN_TAP_MODE_TUN, NULL);
      g_assert_nonnull (device);
      g_object_unref (device);
    }
  fds_before = tun_tap_test_count_fds ();
  rss_warm = rss_kib ();

  for (guint i = 0; i < 1000; i++)
    {
      g_autoptr(GError) error = NULL;
      TunTapDevice *device = tun_tap_device_new ("tf-cycle", i % 2 ? TUN_TAP_MODE_TAP : TUN_TAP_MODE_TUN, &error);

      g_assert_no_error (error);
      if (i % 3 == 0)
        tun_tap_device_close (device);
      g_object_unref (device);
      if (i % 100 == 0)
        g_main_context_iteration (NULL, FALSE);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;

  g_test_message ("1000 cycles: fds %u -> %u, RSS %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " KiB",
                  fds_before, tun_tap_test_count_fds (), rss_warm, rss_kib ());
  g_assert_cmpuint (tun_tap_test_count_fds (), ==, fds_before);
  if (rss_is_meaningful ())
    g_assert_cmpint (rss_kib () - rss_warm, <, 1024);
  g_assert_false (tun_tap_test_link_exists ("tf-cycle"));
}

/* The fds open now, leaving out the one used to list them. */
static GHashTable *
open_fds (void)
{
  GHashTable *set = g_hash_table_new (NULL, NULL);
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;

  g_assert_nonnull (dir);
  while ((entry = readdir (dir)) != NULL)
    {
      int fd = atoi (entry->d_name);
      if (entry->d_name[0] != '.' && fd != dirfd (dir))
        g_hash_table_add (set, GINT_TO_POINTER (fd));
    }
  closedir (dir);
  return set;
}

static void
test_every_fd_cloexec (void)
{
  g_autoptr(GHashTable) before = open_fds ();
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) tun = tun_tap_device_new ("tf-cloexec", TUN_TAP_MODE_TUN, &error);
  g_autoptr(TunTapDevice) tap = tun_tap_device_new ("tf-cloexec-tap", TUN_TAP_MODE_TAP, &error);
  GHashTableIter iter;
  gpointer key;
  guint checked = 0;

  g_assert_no_error (error);
  /* Exercise every code path that opens something. */
  g_assert_true (tun_tap_device_set_up (tun, TRUE, &error));
  g_assert_true (tun_tap_device_add_address_from_string (tun, "192.0.2.1/24", NULL, &error));
  g_ptr_array_unref (tun_tap_device_get_addresses (tun));
  g_assert_true (tun_tap_device_set_mtu (tap, 1400, &error));
  g_assert_no_error (error);

  after = open_fds ();
  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      int fd = GPOINTER_TO_INT (key);
      int flags = fcntl (fd, F_GETFD);

      if (g_hash_table_contains (before, key))
        continue;   /* the test's own */
      g_assert_cmpint (flags, >=, 0);
      g_assert_cmpint (flags & FD_CLOEXEC, ==, FD_CLOEXEC);
      checked++;
    }
  /* the two device fds and the context's rtnetlink monitor */
  g_assert_cmpuint (checked, >=, 3);
}

int
main (int argc, char *argv[])
{
  g_autofree char *reason = NULL;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Faults and hostile input, in a private network namespace");

  if (!tun_tap_test_enter_netns (&reason))
    {
      g_test_skip (reason);
      return g_test_run ();
    }

  g_test_add_func ("/tun-tap/fault/delete/during-flood", test_delete_during_flood);
  g_test_add_func ("/tun-tap/fault/delete/in-handler", test_delete_in_handler);
  g_test_add_func ("/tun-tap/fault/link-down-under-traffic", test_link_down_under_traffic);
  g_test_add_func ("/tun-tap/fault/slow-handler", test_slow_handler);
  g_test_add_func ("/tun-tap/fault/bad-packets", test_bad_packets);
  g_test_add_func ("/tun-tap/fault/bad-ip-headers", test_bad_ip_headers);
  g_test_add_func ("/tun-tap/fault/calls-after-close", test_calls_after_close);
  g_test_add_func ("/tun-tap/fault/unref-in-every-signal", test_unref_in_every_signal);
  g_test_add_func ("/tun-tap/fault/create-close-cycles", test_create_close_cycles);
  g_test_add_func ("/tun-tap/fault/every-fd-cloexec", test_every_fd_cloexec);

  return g_test_run ();
}
