/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Passing super-packets through, against a device in a private network
 * namespace, one send_many() call at a time: a TCPv4 super-packet as the
 * kernel hands it, split and published as the read loop does, handed back
 * while "its handlers run" (pass_begin .. pass_end). write(2) and
 * writev(2) are interposed to count the writes each way and to inject what
 * another thread could do at that instant:
 *
 *   - as is: one write of the read, no packet on its own;
 *   - coalescing turned off right after the pass went (another thread's
 *     refused write, or set_coalesce()): still one write, nothing sent
 *     twice (a review found the packets sent again one by one);
 *   - the kernel refusing the pass (EINVAL): the packets one by one, all
 *     counted, coalescing off for good, one fallback;
 *   - the link down (EIO): nothing sent, -1 and NETWORK_UNREACHABLE naming
 *     the device, coalescing still on.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include <tuntap-glib/tuntap-glib.h>
#include "tun-tap-offload.h"
#include "tun-tap-test-util.h"

#define SEGMENTS 6
#define MSS 1000

typedef enum {
  AS_IS,
  OFF_AFTER,
  REFUSE,
  LINK_DOWN,
} Inject;

static TunTapDevice *device;
static gint armed;
static Inject inject;
static gint pass_writes, single_writes;

ssize_t write (int fd, const void *buf, size_t count);
ssize_t writev (int fd, const struct iovec *iov, int iovcnt);

/* A write of a whole read: a virtio-net header with a GSO type. */
ssize_t
write (int fd, const void *buf, size_t count)
{
  static ssize_t (*real) (int, const void *, size_t);
  const guint8 *p = buf;
  gboolean pass = g_atomic_int_get (&armed) && count > 10 && p[0] <= 3 && p[1] != 0;
  ssize_t n;

  if (real == NULL)
    real = (ssize_t (*) (int, const void *, size_t)) dlsym (RTLD_NEXT, "write");
  if (pass && inject == REFUSE)
    {
      errno = EINVAL;
      return -1;
    }
  n = real (fd, buf, count);
  if (pass && n >= 0)
    {
      g_atomic_int_inc (&pass_writes);
      if (inject == OFF_AFTER)
        tun_tap_device_set_coalesce (device, TUN_TAP_COALESCE_NONE);
    }
  return n;
}

/* A packet on its own: the 10-byte zero header, then the packet. */
ssize_t
writev (int fd, const struct iovec *iov, int iovcnt)
{
  static ssize_t (*real) (int, const struct iovec *, int);

  if (real == NULL)
    real = (ssize_t (*) (int, const struct iovec *, int)) dlsym (RTLD_NEXT, "writev");
  if (g_atomic_int_get (&armed) && iovcnt == 2 && iov[0].iov_len == 10)
    g_atomic_int_inc (&single_writes);
  return real (fd, iov, iovcnt);
}

static void
put16 (guint8 *p, guint16 v)
{
  p[0] = (guint8) (v >> 8);
  p[1] = (guint8) v;
}

/* The read: virtio-net header (GSO TCPv4, NEEDS_CSUM), IPv4 from
 * 192.0.2.2 to 192.0.2.1 (the device's own address: the kernel takes it
 * in), TCP, SEGMENTS × MSS bytes. */
static TunTapOffloadRaw *
super_packet (gsize *len)
{
  const gsize total = 20 + 20 + SEGMENTS * MSS;
  TunTapOffloadRaw *raw = tun_tap_offload_raw_new (10 + total);
  guint8 *p = raw->data + 10;
  guint16 vh[5] = { 40, MSS, 20, 16, 0 };
  guint32 sum = 0;

  memset (raw->data, 0, 10 + total);
  raw->data[0] = TUN_TAP_VNET_F_NEEDS_CSUM;
  raw->data[1] = TUN_TAP_VNET_GSO_TCPV4;
  memcpy (raw->data + 2, vh, sizeof vh);
  p[0] = 0x45;
  put16 (p + 2, (guint16) total);
  p[6] = 0x40;
  p[8] = 64;
  p[9] = 6;
  memcpy (p + 12, (guint8[]) { 192, 0, 2, 2, 192, 0, 2, 1 }, 8);
  for (guint i = 0; i < 20; i += 2)
    sum += (guint32) (p[i] << 8 | p[i + 1]);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  put16 (p + 10, (guint16) ~sum);
  put16 (p + 20, 80);
  put16 (p + 22, 12345);
  p[27] = 1;
  p[32] = 0x50;
  p[33] = 0x10;
  put16 (p + 34, 1000);
  for (gsize i = 0; i < SEGMENTS * MSS; i++)
    p[40 + i] = (guint8) (i * 7);
  *len = 10 + total;
  return raw;
}

static void
one_call (Inject what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GBytes) bytes = NULL;
  GByteArray *array = tun_tap_offload_batch_array_new ();
  guint8 computed[SEGMENTS];
  TunTapOffloadGroup group;
  TunTapOffloadRaw *raw;
  gboolean c = FALSE;
  guint64 fallbacks;
  gsize len;
  gint sent;

  raw = super_packet (&len);
  g_assert_cmpuint (tun_tap_offload_split (raw->data, len, array, lengths, &c), ==, SEGMENTS);
  memset (computed, c, sizeof computed);
  bytes = tun_tap_offload_batch_publish (array, (guint *) lengths->data, computed, SEGMENTS);
  group = (TunTapOffloadGroup) { 0, SEGMENTS, 0, len };

  tun_tap_device_set_coalesce (device, TUN_TAP_COALESCE_TCP | TUN_TAP_COALESCE_UDP);
  if (what == LINK_DOWN)
    {
      g_assert_true (tun_tap_device_set_up (device, FALSE, &error));
      g_assert_no_error (error);
    }
  tun_tap_offload_batch_pass_begin (bytes, raw, &group, 1);
  inject = what;
  g_atomic_int_set (&pass_writes, 0);
  g_atomic_int_set (&single_writes, 0);
  g_atomic_int_set (&armed, 1);
  sent = tun_tap_device_send_many_bytes (device, bytes, (guint *) lengths->data, SEGMENTS, &error);
  g_atomic_int_set (&armed, 0);
  tun_tap_offload_batch_pass_end (bytes);
  if (what == LINK_DOWN)
    {
      g_assert_cmpint (sent, ==, -1);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
      g_assert_nonnull (strstr (error->message, "“opass”"));
      g_clear_error (&error);
      g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
    }
  else
    g_assert_cmpint (sent, ==, SEGMENTS);
  g_assert_no_error (error);
  g_assert_false (tun_tap_offload_raw_shared (raw));
  tun_tap_offload_raw_unref (raw);

  tun_tap_device_get_offload_counters (device, NULL, NULL, NULL, NULL, &fallbacks);
  switch (what)
    {
    case AS_IS:
    case OFF_AFTER:
      g_assert_cmpint (g_atomic_int_get (&pass_writes), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&single_writes), ==, 0);
      g_assert_cmpuint (fallbacks, ==, 0);
      break;
    case REFUSE:
      g_assert_cmpint (g_atomic_int_get (&pass_writes), ==, 0);
      g_assert_cmpint (g_atomic_int_get (&single_writes), ==, SEGMENTS);
      g_assert_cmpuint (fallbacks, ==, 1);
      g_assert_false (tun_tap_device_get_coalesce (device) & TUN_TAP_COALESCE_TCP);
      break;
    case LINK_DOWN:
      g_assert_cmpint (g_atomic_int_get (&pass_writes), ==, 0);
      g_assert_cmpint (g_atomic_int_get (&single_writes), ==, 0);
      g_assert_cmpuint (fallbacks, ==, 0);
      g_assert_true (tun_tap_device_get_coalesce (device) & TUN_TAP_COALESCE_TCP);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
test_as_is (void)
{
  g_test_summary ("a whole super-packet handed back while its handlers run: one write of "
                  "the read, no packet on its own");
  one_call (AS_IS);
}

static void
test_off_after (void)
{
  g_test_summary ("coalescing turned off right after a pass went out: nothing is sent "
                  "twice");
  one_call (OFF_AFTER);
}

static void
test_refused (void)
{
  g_test_summary ("the kernel refuses a pass: its packets go one by one, all counted, "
                  "coalescing is off for good, one fallback, said once");
  g_test_expect_message ("TunTap", G_LOG_LEVEL_WARNING, "*refused a coalesced TCP write*opass*");
  one_call (REFUSE);
  g_test_assert_expected_messages ();
}

static void
test_link_down (void)
{
  g_test_summary ("a pass on a device whose link is down: nothing sent, -1 with "
                  "NETWORK_UNREACHABLE naming the device; coalescing stays on");
  one_call (LINK_DOWN);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  if (!tun_tap_test_enter_netns (&reason))
    {
      g_printerr ("%s\n", reason);
      return 1;
    }
  device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", "opass", "offload", TRUE,
                           NULL);
  g_assert_no_error (error);
  g_assert_true (tun_tap_device_add_address_from_string (device, "192.0.2.1", "192.0.2.2",
                                                         &error));
  g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_no_error (error);

  g_test_add_func ("/tun-tap/offload-pass/as-is", test_as_is);
  g_test_add_func ("/tun-tap/offload-pass/coalescing-off-after", test_off_after);
  g_test_add_func ("/tun-tap/offload-pass/link-down", test_link_down);
  g_test_add_func ("/tun-tap/offload-pass/refused", test_refused);
  status = g_test_run ();
  g_clear_object (&device);
  return status;
}
