/* SPDX-License-Identifier: LGPL-2.1-or-later
 * tun_tap_socket_receive_many(): many datagrams of a UDP socket in one
 * call, over loopback in a private network namespace, IPv4 and IPv6: exact
 * bytes and lengths, the byte budget, GRO runs cut back into their
 * datagrams, and every error (would block, refused or too big before and
 * after datagrams, a datagram cut, cancelled, closed, not UDP), none of
 * which loses a datagram it could hand over.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tun-tap-socket-private.h"
#include "tun-tap-test-util.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

typedef struct {
  GSocket *receiver;
  GSocket *sender;
} Pair;

static GSocket *
bound_socket (GSocketFamily family)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (family);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  GSocket *socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any_port, FALSE, &error));
  g_assert_no_error (error);
  /* Room for everything a test queues (without CAP_NET_ADMIN, as much
   * as net.core.rmem_max allows). */
  if (!g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20, NULL))
    g_assert_true (g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, 4 << 20, &error));
  g_assert_no_error (error);
  return socket;
}

/* Two sockets connected to each other, on loopback. */
static Pair
pair_new (GSocketFamily family)
{
  g_autoptr(GError) error = NULL;
  Pair pair = { bound_socket (family), bound_socket (family) };
  g_autoptr(GSocketAddress) r = g_socket_get_local_address (pair.receiver, &error);
  g_autoptr(GSocketAddress) s = g_socket_get_local_address (pair.sender, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_connect (pair.receiver, s, NULL, &error));
  g_assert_true (g_socket_connect (pair.sender, r, NULL, &error));
  g_assert_no_error (error);
  return pair;
}

static void
pair_clear (Pair *pair)
{
  g_clear_object (&pair->receiver);
  g_clear_object (&pair->sender);
}

static void
send_datagram (GSocket *socket,
               const guint8 *data,
               gsize len)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_socket_send (socket, (const char *) data, len, NULL, &error), ==, (gssize) len);
  g_assert_no_error (error);
}

/* @len bytes, different for every @seed. */
static guint8 *
pattern (gsize len,
         guint seed)
{
  guint8 *data = g_malloc (MAX (len, 1));

  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) (i * 7 + seed * 131 + (i >> 8));
  return data;
}

/* One receive_many(), which must give @n datagrams of @expected_lengths,
 * the bytes of @expected. */
static void
receive_expect (GSocket      *socket,
                gsize         max_bytes,
                const guint8 *expected,
                const guint  *expected_lengths,
                guint         n)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint *lengths = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint n_lengths = 99;
  gsize size = 0, total = 0;
  const guint8 *data;

  bytes = tun_tap_socket_receive_many (socket, max_bytes, &lengths, &n_lengths, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  g_assert_cmpuint (n_lengths, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpuint (lengths[i], ==, expected_lengths[i]);
      total += lengths[i];
    }
  data = g_bytes_get_data (bytes, &size);
  g_assert_cmpmem (data, size, expected, total);
}

static void
receive_expect_error (GSocket *socket,
                      gint     code)
{
  g_autoptr(GError) error = NULL;
  guint *lengths = GUINT_TO_POINTER (1);
  guint n_lengths = 99;
  GBytes *bytes = tun_tap_socket_receive_many (socket, 65536, &lengths, &n_lengths, NULL, &error);

  g_assert_null (bytes);
  g_assert_error (error, G_IO_ERROR, code);
  g_assert_null (lengths);
  g_assert_cmpuint (n_lengths, ==, 0);
}

static GSocketFamily
family_of (gconstpointer data)
{
  return GPOINTER_TO_INT (data) == 6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4;
}

/* Nothing waiting: WOULD_BLOCK, naming the socket and saying what to do,
 * on a blocking socket too (it never blocks). */
static void
test_would_block (gconstpointer data)
{
  Pair pair = pair_new (family_of (data));
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (pair.receiver, NULL);
  g_autofree char *where = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (local));
  g_autofree guint *lengths = NULL;
  guint n = 0;

  g_assert_true (g_socket_get_blocking (pair.receiver));
  g_assert_null (tun_tap_socket_receive_many (pair.receiver, 4096, &lengths, &n, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_assert_nonnull (strstr (error->message, where));
  g_assert_nonnull (strstr (error->message, "readable"));
  pair_clear (&pair);
}

/* Datagrams of every size (empty and the largest UDP one included) come in
 * one call, in order, byte for byte; then nothing is left. */
static void
test_datagrams (gconstpointer data)
{
  GSocketFamily family = family_of (data);
  Pair pair = pair_new (family);
  guint sizes[] = { 0, 1, 100, 1400, 0, 9000, family == G_SOCKET_FAMILY_IPV4 ? 65507 : 65527, 3 };
  g_autoptr(GByteArray) all = g_byte_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *d = pattern (sizes[i], i);

      send_datagram (pair.sender, d, sizes[i]);
      g_byte_array_append (all, d, sizes[i]);
    }
  receive_expect (pair.receiver, 1 << 20, all->data, sizes, G_N_ELEMENTS (sizes));
  receive_expect_error (pair.receiver, G_IO_ERROR_WOULD_BLOCK);
  pair_clear (&pair);
}

/* Receiving stops once max_bytes have come (the last datagram may pass
 * it), 256 KiB at most (0 asks for those); the rest waits for the next
 * call. An empty datagram counts 64 bytes, so a flood of them still ends
 * a call. */
static void
test_max_bytes (void)
{
  Pair pair = pair_new (G_SOCKET_FAMILY_IPV4);
  guint thousand[10], empty[200];
  g_autoptr(GByteArray) all = g_byte_array_new ();

  for (guint i = 0; i < 10; i++)
    {
      g_autofree guint8 *d = pattern (1000, i);

      send_datagram (pair.sender, d, 1000);
      g_byte_array_append (all, d, 1000);
      thousand[i] = 1000;
    }
  /* 1000, 2000: under 2500; 3000: over it, the last. */
  receive_expect (pair.receiver, 2500, all->data, thousand, 3);
  receive_expect (pair.receiver, 1, all->data + 3000, thousand, 1);
  receive_expect (pair.receiver, 1 << 20, all->data + 4000, thousand, 6);

  /* However much is asked, one call takes 256 KiB at most: 60,000-byte
   * datagrams stop at the fifth (240,000 bytes were under). */
  {
    g_autoptr(GByteArray) big = g_byte_array_new ();
    guint sixty[6];

    for (guint i = 0; i < 6; i++)
      {
        g_autofree guint8 *d = pattern (60000, 20 + i);

        send_datagram (pair.sender, d, 60000);
        g_byte_array_append (big, d, 60000);
        sixty[i] = 60000;
      }
    receive_expect (pair.receiver, G_MAXSIZE, big->data, sixty, 5);
    receive_expect (pair.receiver, G_MAXSIZE, big->data + 5 * 60000, sixty, 1);
    /* 0 asks for those 256 KiB. */
    for (guint i = 0; i < 6; i++)
      send_datagram (pair.sender, big->data + i * 60000, 60000);
    receive_expect (pair.receiver, 0, big->data, sixty, 5);
    receive_expect (pair.receiver, 0, big->data + 5 * 60000, sixty, 1);
  }

  memset (empty, 0, sizeof empty);
  for (guint i = 0; i < G_N_ELEMENTS (empty); i++)
    send_datagram (pair.sender, (const guint8 *) "", 0);
  for (guint call = 0; call < 20; call++)
    receive_expect (pair.receiver, 640, NULL, empty, 10);
  receive_expect_error (pair.receiver, G_IO_ERROR_WOULD_BLOCK);
  pair_clear (&pair);
}

/* With UDP_GRO, a run sent with UDP_SEGMENT arrives as one receive and is
 * cut back into its datagrams (the last shorter), between plain ones:
 * three receives for 15 datagrams (recvmsg(2) counted). */
static guint receives;

static ssize_t
counting_recvmsg (int            fd,
                  struct msghdr *msg,
                  int            flags)
{
  ssize_t n = recvmsg (fd, msg, flags);

  if (n >= 0)
    receives++;
  return n;
}

static void
test_gro (gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  Pair pair = pair_new (family_of (data));
  g_autofree guint8 *run1 = pattern (10 * 1000 + 500, 1);
  g_autofree guint8 *plain = pattern (700, 2);
  g_autofree guint8 *run2 = pattern (3 * 1400, 3);
  g_autoptr(GByteArray) all = g_byte_array_new ();
  GArray *expected = g_array_new (FALSE, FALSE, sizeof (guint));
  guint v;

  g_assert_true (g_socket_set_option (pair.receiver, SOL_UDP, UDP_GRO, 1, &error));
  g_assert_no_error (error);

  g_assert_true (g_socket_set_option (pair.sender, SOL_UDP, UDP_SEGMENT, 1000, &error));
  send_datagram (pair.sender, run1, 10 * 1000 + 500);
  g_byte_array_append (all, run1, 10 * 1000 + 500);
  for (guint i = 0; i < 10; i++)
    {
      v = 1000;
      g_array_append_val (expected, v);
    }
  v = 500;
  g_array_append_val (expected, v);

  g_assert_true (g_socket_set_option (pair.sender, SOL_UDP, UDP_SEGMENT, 0, &error));
  send_datagram (pair.sender, plain, 700);
  g_byte_array_append (all, plain, 700);
  v = 700;
  g_array_append_val (expected, v);

  g_assert_true (g_socket_set_option (pair.sender, SOL_UDP, UDP_SEGMENT, 1400, &error));
  g_assert_no_error (error);
  send_datagram (pair.sender, run2, 3 * 1400);
  g_byte_array_append (all, run2, 3 * 1400);
  for (guint i = 0; i < 3; i++)
    {
      v = 1400;
      g_array_append_val (expected, v);
    }

  {
    g_autofree guint *lengths = NULL;
    g_autoptr(GBytes) bytes = NULL;
    guint n = 0;

    receives = 0;
    bytes = tun_tap_socket_receive_many_with (pair.receiver, 1 << 20, &lengths, &n, NULL, &error,
                                              counting_recvmsg);
    g_assert_no_error (error);
    g_assert_cmpuint (receives, ==, 3);
    g_assert_cmpuint (n, ==, expected->len);
    g_assert_cmpmem (lengths, n * sizeof (guint), expected->data, expected->len * sizeof (guint));
    g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), all->data, all->len);
  }
  receive_expect_error (pair.receiver, G_IO_ERROR_WOULD_BLOCK);
  g_array_unref (expected);
  pair_clear (&pair);
}

/* An ICMP "port unreachable" for an earlier send is reported first, and
 * the datagrams that were waiting come with the next call. */
static void
test_refused_first (void)
{
  g_autoptr(GError) error = NULL;
  Pair pair = pair_new (G_SOCKET_FAMILY_IPV4);
  g_autofree guint8 *d = pattern (300, 9);
  guint three[] = { 100, 100, 100 };

  for (guint i = 0; i < 3; i++)
    send_datagram (pair.sender, d + 100 * i, 100);
  g_clear_object (&pair.sender);     /* nobody listens at the peer's port now */
  g_assert_cmpint (g_socket_send (pair.receiver, "x", 1, NULL, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_true (g_socket_condition_timed_wait (pair.receiver, G_IO_ERR, G_USEC_PER_SEC, NULL, &error));
  g_assert_no_error (error);

  receive_expect_error (pair.receiver, G_IO_ERROR_CONNECTION_REFUSED);
  receive_expect (pair.receiver, 1 << 20, d, three, 3);
  pair_clear (&pair);
}

/* An error between two datagrams (the kernel's order cannot be forced
 * over loopback, so recvmsg(2) is replaced): the datagrams before it come
 * now, the error with the next call, the rest after. A datagram cut short
 * (MSG_TRUNC: longer than any UDP one) is such an error. */
typedef struct {
  const char *data;    /* NULL: fails with @errsv */
  int         errsv;
  int         flags;   /* MSG_TRUNC, MSG_CTRUNC */
} FakeStep;

static const FakeStep *fake_script;
static guint fake_len, fake_step;

static ssize_t
fake_recvmsg (int            fd,
              struct msghdr *msg,
              int            flags)
{
  const FakeStep *step;

  g_assert_true (flags & MSG_DONTWAIT);
  msg->msg_flags = 0;
  msg->msg_controllen = 0;
  if (fake_step >= fake_len)
    {
      errno = EAGAIN;
      return -1;
    }
  step = &fake_script[fake_step++];
  if (step->data == NULL)
    {
      errno = step->errsv;
      return -1;
    }
  memcpy (msg->msg_iov[0].iov_base, step->data, strlen (step->data));
  msg->msg_flags = step->flags;
  return (ssize_t) strlen (step->data);
}

/* One call through the script: the datagrams, or the error code (and a
 * piece of its message). */
static void
fake_expect (GSocket     *socket,
             const char  *expected,
             const guint *expected_lengths,
             guint        n_expected,
             gint         code,
             const char  *says)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint *lengths = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint n = 0;

  bytes = tun_tap_socket_receive_many_with (socket, 4096, &lengths, &n, NULL, &error,
                                            fake_recvmsg);
  if (expected == NULL)
    {
      g_assert_error (error, G_IO_ERROR, code);
      g_assert_nonnull (strstr (error->message, says));
      g_assert_null (bytes);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpmem (lengths, n * sizeof (guint), expected_lengths, n_expected * sizeof (guint));
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   expected, strlen (expected));
}

static void
test_error_after_datagrams (void)
{
  static const FakeStep script[] = {
    { "ab", 0, 0 }, { "cde", 0, 0 }, { NULL, ECONNREFUSED, 0 },
    { "f", 0, 0 },
    { "gh", 0, 0 }, { "xxxx", 0, MSG_TRUNC }, { "i", 0, 0 },
    { "xx", 0, MSG_TRUNC }, { "j", 0, 0 },
    { "yy", 0, MSG_CTRUNC }, { "k", 0, 0 }, { NULL, EMSGSIZE, 0 },
  };
  static const guint two_three[] = { 2, 3 }, one_two[] = { 1, 2 }, one[] = { 1 };
  Pair pair = pair_new (G_SOCKET_FAMILY_IPV4);

  fake_script = script;
  fake_len = G_N_ELEMENTS (script);
  fake_step = 0;
  fake_expect (pair.receiver, "abcde", two_three, 2, 0, NULL);
  fake_expect (pair.receiver, NULL, NULL, 0, G_IO_ERROR_CONNECTION_REFUSED, "nobody listening");
  /* The datagram cut short is dropped, and reported after "gh". */
  fake_expect (pair.receiver, "fgh", one_two, 2, 0, NULL);
  fake_expect (pair.receiver, NULL, NULL, 0, G_IO_ERROR_INVALID_DATA, "longer than 64 KiB");
  fake_expect (pair.receiver, "i", one, 1, 0, NULL);
  /* First in a call: reported at once. */
  fake_expect (pair.receiver, NULL, NULL, 0, G_IO_ERROR_INVALID_DATA, "longer than 64 KiB");
  fake_expect (pair.receiver, "j", one, 1, 0, NULL);
  /* Control messages that did not fit: no segment size known, dropped. */
  fake_expect (pair.receiver, NULL, NULL, 0, G_IO_ERROR_INVALID_DATA, "control messages");
  fake_expect (pair.receiver, "k", one, 1, 0, NULL);
  /* The path's "too big" for an earlier send: nothing received lost. */
  fake_expect (pair.receiver, NULL, NULL, 0, G_IO_ERROR_MESSAGE_TOO_LARGE, "too large for the path");
  fake_expect (pair.receiver, NULL, NULL, 0, G_IO_ERROR_WOULD_BLOCK, "readable");
  pair_clear (&pair);
}

/* Cancelled before it starts: nothing is taken. Closed: CLOSED. */
static void
test_cancelled_and_closed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Pair pair = pair_new (G_SOCKET_FAMILY_IPV4);
  g_autofree guint *lengths = NULL;
  guint one[] = { 5 }, n = 0;

  send_datagram (pair.sender, (const guint8 *) "hello", 5);
  g_cancellable_cancel (cancellable);
  g_assert_null (tun_tap_socket_receive_many (pair.receiver, 4096, &lengths, &n, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  receive_expect (pair.receiver, 4096, (const guint8 *) "hello", one, 1);

  g_assert_true (g_socket_close (pair.receiver, NULL));
  receive_expect_error (pair.receiver, G_IO_ERROR_CLOSED);
  pair_clear (&pair);
}

/* Only UDP: a TCP socket and a Unix datagram socket are refused. */
static void
test_not_udp (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) tcp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                         G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GSocket) unix_dgram = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                                G_SOCKET_PROTOCOL_DEFAULT, &error);

  g_assert_no_error (error);
  receive_expect_error (tcp, G_IO_ERROR_NOT_SUPPORTED);
  receive_expect_error (unix_dgram, G_IO_ERROR_NOT_SUPPORTED);
}

int
main (int argc, char **argv)
{
  g_autofree char *reason = NULL;

  g_test_init (&argc, &argv, NULL);
  if (!tun_tap_test_enter_netns (&reason))
    {
      g_test_skip (reason);
      return g_test_run ();
    }
  g_test_summary ("tun_tap_socket_receive_many() on loopback in a private namespace");

  g_test_add_data_func ("/tun-tap/socket/would-block/ipv4", GINT_TO_POINTER (4), test_would_block);
  g_test_add_data_func ("/tun-tap/socket/would-block/ipv6", GINT_TO_POINTER (6), test_would_block);
  g_test_add_data_func ("/tun-tap/socket/datagrams/ipv4", GINT_TO_POINTER (4), test_datagrams);
  g_test_add_data_func ("/tun-tap/socket/datagrams/ipv6", GINT_TO_POINTER (6), test_datagrams);
  g_test_add_func ("/tun-tap/socket/max-bytes", test_max_bytes);
  g_test_add_data_func ("/tun-tap/socket/gro/ipv4", GINT_TO_POINTER (4), test_gro);
  g_test_add_data_func ("/tun-tap/socket/gro/ipv6", GINT_TO_POINTER (6), test_gro);
  g_test_add_func ("/tun-tap/socket/refused-first", test_refused_first);
  g_test_add_func ("/tun-tap/socket/error-after-datagrams", test_error_after_datagrams);
  g_test_add_func ("/tun-tap/socket/cancelled-and-closed", test_cancelled_and_closed);
  g_test_add_func ("/tun-tap/socket/not-udp", test_not_udp);
  return g_test_run ();
}
