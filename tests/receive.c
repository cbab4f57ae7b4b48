/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Backpressure and the pull receive, through the public API, in a private
 * network namespace: the `receiving` property (a paused device reads
 * nothing and the kernel's queue drops, deletion is still noticed, resume
 * delivers), no read while nobody listens, and receive_async() with each
 * of its rules (packets instead of the signals, CLOSED, NO_SUCH_DEVICE,
 * CANCELLED without consuming a packet, PENDING).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <tuntap-glib/tuntap-glib.h>
#include "tun-tap-test-util.h"

#define PORT 4300
#define QUEUE_LEN 16

/* ---- helpers ---------------------------------------------------------- */

typedef struct {
  guint     udp;           /* UDP datagrams to PORT seen by the handlers */
  guint     batches;
  guint     closed;
  GError   *closed_error;
  guint     notifies;
  gboolean  pause_in_handler;
} Seen;

static gboolean
is_test_datagram (const guint8 *data, gsize len)
{
  /* IPv4, UDP, to PORT (IPv6 router solicitations also arrive). */
  return len >= 28 && data[0] == 0x45 && data[9] == 17 &&
         ((data[22] << 8) | data[23]) == PORT;
}

static guint
count_datagrams (GBytes *packets, GArray *lengths)
{
  gsize len, offset = 0;
  const guint8 *data = g_bytes_get_data (packets, &len);
  guint n = 0;

  for (guint i = 0; i < lengths->len; i++)
    {
      guint l = g_array_index (lengths, guint, i);

      g_assert_cmpuint (offset + l, <=, len);
      n += is_test_datagram (data + offset, l);
      offset += l;
    }
  g_assert_cmpuint (offset, ==, len);
  return n;
}

static void
on_packet (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  Seen *seen = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (packet, &len);

  if (!is_test_datagram (data, len))
    return;
  seen->udp++;
  if (seen->pause_in_handler)
    tun_tap_device_set_receiving (device, FALSE);
}

static void
on_packets (TunTapDevice *device, GBytes *packets, GArray *lengths, gpointer user_data)
{
  Seen *seen = user_data;

  seen->batches++;
  seen->udp += count_datagrams (packets, lengths);
}

static void
on_closed (TunTapDevice *device, const GError *error, gpointer user_data)
{
  Seen *seen = user_data;

  seen->closed++;
  g_clear_error (&seen->closed_error);
  if (error != NULL)
    seen->closed_error = g_error_copy (error);
}

static void
on_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  ((Seen *) user_data)->notifies++;
}

static TunTapDevice *
new_device (const char *name, const char *local, const char *peer, Seen *seen)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device = tun_tap_device_new (name, TUN_TAP_MODE_TUN, &error);

  g_assert_no_error (error);
  g_signal_connect (device, "closed", G_CALLBACK (on_closed), seen);
  g_signal_connect (device, "notify::receiving", G_CALLBACK (on_notify), seen);
  /* A short queue, so that what the kernel drops shows quickly; no IPv6,
   * so that no router solicitation completes a receive the test expects
   * to stay pending. */
  g_free (tun_tap_test_run (FALSE, "echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6 && "
                            "ip link set %s txqueuelen %d && "
                            "ip addr add %s peer %s dev %s && ip link set %s up",
                            name, name, QUEUE_LEN, local, peer, name, name));
  return device;
}

static void
seen_clear (Seen *seen)
{
  g_clear_error (&seen->closed_error);
}

/* Sends @n datagrams to @dst:PORT, all before the loop runs again. */
static void
send_datagrams (const char *dst, guint n)
{
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (PORT) };

  g_assert_cmpint (s, >=, 0);
  inet_pton (AF_INET, dst, &sin.sin_addr);
  for (guint i = 0; i < n; i++)
    {
      char payload[32];
      int len = g_snprintf (payload, sizeof payload, "datagram %u", i);

      g_assert_cmpint (sendto (s, payload, len, 0, (struct sockaddr *) &sin, sizeof sin),
                       ==, len);
    }
  close (s);
}

/* The interface's TX dropped counter, from /proc/net/dev (this namespace's). */
static guint64
tx_dropped (const char *name)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents ("/proc/net/dev", &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *colon = strchr (lines[i], ':');
      g_autofree char *ifname = NULL;
      g_auto(GStrv) fields = NULL;
      guint n = 0;
      char *field[16];

      if (colon == NULL)
        continue;
      ifname = g_strstrip (g_strndup (lines[i], colon - lines[i]));
      if (strcmp (ifname, name) != 0)
        continue;
      fields = g_strsplit_set (colon + 1, " ", -1);
      for (guint k = 0; fields[k] != NULL && n < G_N_ELEMENTS (field); k++)
        if (fields[k][0] != '\0')
          field[n++] = fields[k];
      /* rx: bytes packets errs drop fifo frame compressed multicast;
       * tx: bytes packets errs drop ... */
      g_assert_cmpuint (n, >=, 12);
      return g_ascii_strtoull (field[11], NULL, 10);
    }
  g_assert_not_reached ();
}

/* ---- receiving ---------------------------------------------------------- */

static void
test_paused_reads_nothing (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-pause", "192.0.2.1", "192.0.2.2", &seen);
  guint64 dropped;

  g_signal_connect (device, "packets-received", G_CALLBACK (on_packets), &seen);
  g_assert_true (tun_tap_device_get_receiving (device));
  tun_tap_device_set_receiving (device, FALSE);
  g_assert_false (tun_tap_device_get_receiving (device));
  g_assert_cmpuint (seen.notifies, ==, 1);
  tun_tap_device_set_receiving (device, FALSE);
  g_assert_cmpuint (seen.notifies, ==, 1);

  dropped = tx_dropped ("tt-pause");
  send_datagrams ("192.0.2.2", 4 * QUEUE_LEN);
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (seen.udp, ==, 0);
  /* The kernel kept at most its queue and dropped the rest. */
  g_assert_cmpuint (tx_dropped ("tt-pause") - dropped, >=, 3 * QUEUE_LEN);

  /* Resumed: what the queue kept arrives. */
  g_object_set (device, "receiving", TRUE, NULL);
  g_assert_cmpuint (seen.notifies, ==, 2);
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (seen.udp, >=, 1);
  g_assert_cmpuint (seen.udp, <=, QUEUE_LEN);

  /* And new packets flow as before. */
  seen.udp = 0;
  send_datagrams ("192.0.2.2", 5);
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (seen.udp, ==, 5);
  g_assert_cmpuint (seen.closed, ==, 0);
  seen_clear (&seen);
}

static void
test_pause_in_handler (void)
{
  Seen seen = { .pause_in_handler = TRUE };
  g_autoptr(TunTapDevice) device = new_device ("tt-hpause", "192.0.2.5", "192.0.2.6", &seen);

  g_signal_connect (device, "packet-received", G_CALLBACK (on_packet), &seen);
  /* Let router solicitations and the like go first. */
  tun_tap_test_spin (NULL, 100);
  send_datagrams ("192.0.2.6", 10);
  tun_tap_test_spin (NULL, 300);
  /* Paused by the handler of the first: no read(2) after it. */
  g_assert_cmpuint (seen.udp, ==, 1);
  g_assert_false (tun_tap_device_get_receiving (device));

  seen.pause_in_handler = FALSE;
  tun_tap_device_set_receiving (device, TRUE);
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (seen.udp, ==, 10);
  seen_clear (&seen);
}

static void
test_deleted_while_paused (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-pdel", "192.0.2.9", "192.0.2.10", &seen);
  gint64 cpu;

  g_signal_connect (device, "packets-received", G_CALLBACK (on_packets), &seen);
  tun_tap_device_set_receiving (device, FALSE);
  send_datagrams ("192.0.2.10", 3);
  g_free (tun_tap_test_run (FALSE, "ip link del tt-pdel"));
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       seen.closed == 0 && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (seen.closed, ==, 1);
  g_assert_error (seen.closed_error, G_IO_ERROR, G_IO_ERROR_NO_SUCH_DEVICE);
  g_assert_cmpuint (seen.udp, ==, 0);

  /* Nothing keeps waking up, and ::closed stays at one. */
  cpu = tun_tap_test_cpu_time_us ();
  tun_tap_test_spin (NULL, 500);
  g_assert_cmpint (tun_tap_test_cpu_time_us () - cpu, <, 20000);
  g_assert_cmpuint (seen.closed, ==, 1);
  tun_tap_device_set_receiving (device, TRUE);
  tun_tap_test_spin (NULL, 100);
  g_assert_cmpuint (seen.closed, ==, 1);
  seen_clear (&seen);
}

static void
test_no_listener_no_read (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-nobody", "192.0.2.13", "192.0.2.14", &seen);
  guint64 dropped;
  gulong handler;
  gint64 cpu;

  tun_tap_test_spin (NULL, 100);
  dropped = tx_dropped ("tt-nobody");
  send_datagrams ("192.0.2.14", 4 * QUEUE_LEN);
  cpu = tun_tap_test_cpu_time_us ();
  tun_tap_test_spin (NULL, 300);
  /* Not read (and discarded): left to the kernel, which dropped the
   * excess; and waiting for a listener costs nothing. */
  g_assert_cmpuint (tx_dropped ("tt-nobody") - dropped, >=, 3 * QUEUE_LEN);
  g_assert_cmpint (tun_tap_test_cpu_time_us () - cpu, <, 20000);

  /* A handler connected now is noticed, and gets what the queue kept. */
  handler = g_signal_connect (device, "packets-received", G_CALLBACK (on_packets), &seen);
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (seen.udp, >=, 1);
  g_assert_cmpuint (seen.udp, <=, QUEUE_LEN);

  /* Blocked, the handler does not count; unblocked, it gets what the
   * queue kept. */
  g_signal_handler_block (device, handler);
  dropped = tx_dropped ("tt-nobody");
  seen.udp = 0;
  send_datagrams ("192.0.2.14", 4 * QUEUE_LEN);
  tun_tap_test_spin (NULL, 200);
  g_assert_cmpuint (tx_dropped ("tt-nobody") - dropped, >=, 3 * QUEUE_LEN);
  g_signal_handler_unblock (device, handler);
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (seen.udp, >=, 1);
  g_assert_cmpuint (seen.udp, <=, QUEUE_LEN);

  /* Disconnected again: no read after the next wake-up. */
  g_signal_handler_disconnect (device, handler);
  send_datagrams ("192.0.2.14", 2);
  tun_tap_test_spin (NULL, 200);
  dropped = tx_dropped ("tt-nobody");
  send_datagrams ("192.0.2.14", 4 * QUEUE_LEN);
  tun_tap_test_spin (NULL, 200);
  g_assert_cmpuint (tx_dropped ("tt-nobody") - dropped, >=, 3 * QUEUE_LEN);
  seen_clear (&seen);
}

/* ---- receive_async ------------------------------------------------------ */

typedef struct {
  gboolean  done;
  GBytes   *packets;
  GArray   *lengths;
  GError   *error;
} Pulled;

static void
pulled_clear (Pulled *p)
{
  g_clear_pointer (&p->packets, g_bytes_unref);
  g_clear_pointer (&p->lengths, g_array_unref);
  g_clear_error (&p->error);
  p->done = FALSE;
}

static void
on_received (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pulled *p = user_data;

  g_assert_false (p->done);
  p->packets = tun_tap_device_receive_finish (TUN_TAP_DEVICE (source), result,
                                              &p->lengths, &p->error);
  g_assert_true ((p->packets == NULL) == (p->error != NULL));
  g_assert_true ((p->packets == NULL) == (p->lengths == NULL));
  p->done = TRUE;
}

/* Pulls until a batch holds test datagrams (router solicitations may come
 * first); returns how many it held. */
static guint
pull_datagrams (TunTapDevice *device, GCancellable *cancellable)
{
  for (int attempt = 0; attempt < 10; attempt++)
    {
      Pulled p = { 0 };
      guint n;

      tun_tap_device_receive_async (device, cancellable, on_received, &p);
      g_assert_true (tun_tap_test_wait_for (NULL, &p.done, 5000));
      g_assert_no_error (p.error);
      n = count_datagrams (p.packets, p.lengths);
      pulled_clear (&p);
      if (n > 0)
        return n;
    }
  g_assert_not_reached ();
}

static void
test_receive_async (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-pull", "192.0.2.17", "192.0.2.18", &seen);
  guint n = 0;

  /* A pending receive takes the packets: the signals see none of them. */
  g_signal_connect (device, "packet-received", G_CALLBACK (on_packet), &seen);
  g_signal_connect (device, "packets-received", G_CALLBACK (on_packets), &seen);
  tun_tap_device_set_receiving (device, FALSE);
  send_datagrams ("192.0.2.18", 5);
  tun_tap_device_set_receiving (device, TRUE);
  while (n < 5)
    n += pull_datagrams (device, NULL);
  g_assert_cmpuint (n, ==, 5);
  g_assert_cmpuint (seen.udp, ==, 0);

  /* With none pending, the signals have them again. */
  send_datagrams ("192.0.2.18", 3);
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (seen.udp, ==, 6);   /* 3 per packet + 3 in batches */
  seen_clear (&seen);
}

static void
test_receive_async_closed (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-pullc", "192.0.2.21", "192.0.2.22", &seen);
  g_autoptr(TunTapDevice) deleted = new_device ("tt-pulld", "192.0.2.25", "192.0.2.26", &seen);
  g_autoptr(TunTapDevice) fresh = g_object_new (TUN_TAP_TYPE_DEVICE, "name", "tt-pulln", NULL);
  Pulled p = { 0 };

  /* close() completes a pending receive with CLOSED. */
  tun_tap_device_receive_async (device, NULL, on_received, &p);
  tun_tap_test_spin (NULL, 50);
  g_assert_false (p.done);
  tun_tap_device_close (device);
  g_assert_true (tun_tap_test_wait_for (NULL, &p.done, 5000));
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_nonnull (strstr (p.error->message, "tt-pullc"));
  pulled_clear (&p);

  /* On a closed device: CLOSED at once. */
  tun_tap_device_receive_async (device, NULL, on_received, &p);
  g_assert_true (tun_tap_test_wait_for (NULL, &p.done, 5000));
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  pulled_clear (&p);

  /* Deletion: NO_SUCH_DEVICE. */
  tun_tap_device_receive_async (deleted, NULL, on_received, &p);
  g_free (tun_tap_test_run (FALSE, "ip link del tt-pulld"));
  g_assert_true (tun_tap_test_wait_for (NULL, &p.done, 5000));
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_NO_SUCH_DEVICE);
  pulled_clear (&p);

  /* Never initialised. */
  tun_tap_device_receive_async (fresh, NULL, on_received, &p);
  g_assert_true (tun_tap_test_wait_for (NULL, &p.done, 5000));
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED);
  pulled_clear (&p);
  seen_clear (&seen);
}

static void
test_receive_async_cancel (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-pullx", "192.0.2.29", "192.0.2.30", &seen);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  Pulled p = { 0 };
  guint n = 0;

  tun_tap_test_spin (NULL, 100);
  /* Packets are queued in the kernel while the receive is cancelled. */
  tun_tap_device_set_receiving (device, FALSE);
  send_datagrams ("192.0.2.30", 4);
  tun_tap_device_receive_async (device, cancellable, on_received, &p);
  g_cancellable_cancel (cancellable);
  g_assert_true (tun_tap_test_wait_for (NULL, &p.done, 5000));
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  pulled_clear (&p);

  /* Already cancelled: CANCELLED at once. */
  g_cancellable_cancel (cancelled);
  tun_tap_device_receive_async (device, cancelled, on_received, &p);
  g_assert_true (tun_tap_test_wait_for (NULL, &p.done, 5000));
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  pulled_clear (&p);

  /* No packet was consumed: all four come to the next receive. */
  tun_tap_device_set_receiving (device, TRUE);
  g_cancellable_reset (cancellable);
  while (n < 4)
    n += pull_datagrams (device, cancellable);
  g_assert_cmpuint (n, ==, 4);
  seen_clear (&seen);
}

static void
test_receive_async_pending (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-pullp", "192.0.2.33", "192.0.2.34", &seen);
  Pulled first = { 0 }, second = { 0 };

  tun_tap_device_receive_async (device, NULL, on_received, &first);
  tun_tap_device_receive_async (device, NULL, on_received, &second);
  g_assert_true (tun_tap_test_wait_for (NULL, &second.done, 5000));
  g_assert_error (second.error, G_IO_ERROR, G_IO_ERROR_PENDING);
  pulled_clear (&second);

  /* The first is untouched and still works. */
  send_datagrams ("192.0.2.34", 1);
  g_assert_true (tun_tap_test_wait_for (NULL, &first.done, 5000));
  g_assert_no_error (first.error);
  g_assert_cmpuint (first.lengths->len, >=, 1);
  pulled_clear (&first);
  seen_clear (&seen);
}

/* ---- a handler that stops listening, a callback that waits ------------ */

typedef struct {
  TunTapDevice *device;
  gulong        handler;
  guint         udp;
  gboolean      block;       /* block the handler instead of disconnecting */
  Pulled        pulled;
} Leaver;

static void
on_packet_leave (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  Leaver *leaver = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (packet, &len);

  if (!is_test_datagram (data, len))
    return;
  leaver->udp++;
  /* The first datagram is the last this handler wants: from the next one
   * on, a pull receive takes them (or, blocked, nobody until unblocked). */
  if (leaver->block)
    g_signal_handler_block (device, leaver->handler);
  else
    {
      g_signal_handler_disconnect (device, leaver->handler);
      tun_tap_device_receive_async (device, NULL, on_received, &leaver->pulled);
    }
}

static void
test_handler_leaves (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-leave", "192.0.2.37", "192.0.2.38", &seen);
  Leaver leaver = { device, 0 };
  guint n;

  g_test_summary ("A packet-received handler that disconnects itself for a pull receive: "
                  "the packets after it wait for the receive; none is read for nobody");
  leaver.handler = g_signal_connect (device, "packet-received", G_CALLBACK (on_packet_leave),
                                     &leaver);
  tun_tap_test_spin (NULL, 100);
  /* All ten queued before the loop runs: one wake-up could read them all. */
  send_datagrams ("192.0.2.38", 10);
  g_assert_true (tun_tap_test_wait_for (NULL, &leaver.pulled.done, 5000));
  g_assert_cmpuint (leaver.udp, ==, 1);
  g_assert_no_error (leaver.pulled.error);
  n = count_datagrams (leaver.pulled.packets, leaver.pulled.lengths);
  pulled_clear (&leaver.pulled);
  while (n < 9)
    n += pull_datagrams (device, NULL);
  g_assert_cmpuint (n, ==, 9);
  seen_clear (&seen);
}

static void
test_handler_blocks_itself (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-block", "192.0.2.41", "192.0.2.42", &seen);
  Leaver leaver = { device, 0, .block = TRUE };

  g_test_summary ("A packet-received handler that blocks itself: nothing is read after it "
                  "until it is unblocked, and then every packet arrives");
  leaver.handler = g_signal_connect (device, "packet-received", G_CALLBACK (on_packet_leave),
                                     &leaver);
  tun_tap_test_spin (NULL, 100);
  send_datagrams ("192.0.2.42", 10);
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (leaver.udp, ==, 1);

  /* The queue (16) kept the other nine. */
  leaver.block = FALSE;
  g_signal_handlers_disconnect_by_func (device, on_packet_leave, &leaver);
  g_signal_connect (device, "packet-received", G_CALLBACK (on_packet), &seen);
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpuint (seen.udp, ==, 9);
  seen_clear (&seen);
}

typedef struct {
  TunTapDevice *device;
  Pulled        first;
  Pulled        second;
  gboolean      second_in_time;
} Waiter;

static void
on_received_then_wait (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Waiter *w = user_data;

  on_received (source, result, &w->first);
  /* A synchronous helper built on a nested loop, as a caller may write:
   * the next batch, waited for here. */
  send_datagrams ("192.0.2.46", 1);
  tun_tap_device_receive_async (w->device, NULL, on_received, &w->second);
  w->second_in_time = tun_tap_test_wait_for (NULL, &w->second.done, 2000);
}

static void
test_callback_waits (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-nest", "192.0.2.45", "192.0.2.46", &seen);
  Waiter w = { device };

  g_test_summary ("A receive callback that waits for the next receive in a nested main loop "
                  "gets it there");
  tun_tap_test_spin (NULL, 100);
  send_datagrams ("192.0.2.46", 1);
  tun_tap_device_receive_async (device, NULL, on_received_then_wait, &w);
  g_assert_true (tun_tap_test_wait_for (NULL, &w.first.done, 5000));
  g_assert_no_error (w.first.error);
  g_assert_true (w.second_in_time);
  g_assert_no_error (w.second.error);
  g_assert_cmpuint (count_datagrams (w.second.packets, w.second.lengths), ==, 1);
  pulled_clear (&w.first);
  pulled_clear (&w.second);
  seen_clear (&seen);
}

/* ---- one read, many packets (offloads) ---------------------------------- */

#define SEGMENT 1000
#define SEGMENTS 10

typedef enum { ACT_CLOSE, ACT_PAUSE, ACT_NEST, ACT_UNREF } Act;

typedef struct {
  TunTapDevice *device;
  Act           act;
  const char   *peer;
  guint         udp;
  guint         last_index;
  gboolean      in_order;
} Splitter;

/* One send of @n datagrams of SEGMENT bytes with UDP_SEGMENT: one
 * super-packet on an offload device, one read. Each payload starts with
 * its index. */
static void
send_segmented (const char *dst, guint first, guint n)
{
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (PORT) };
  int segment = SEGMENT;
  g_autofree guint8 *buf = g_malloc0 (SEGMENT * n);

  g_assert_cmpint (s, >=, 0);
  inet_pton (AF_INET, dst, &sin.sin_addr);
  g_assert_cmpint (connect (s, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (setsockopt (s, IPPROTO_UDP, 103 /* UDP_SEGMENT */, &segment,
                               sizeof segment), ==, 0);
  for (guint i = 0; i < n; i++)
    {
      guint index = first + i;

      memcpy (buf + i * SEGMENT, &index, sizeof index);
    }
  g_assert_cmpint (send (s, buf, SEGMENT * n, 0), ==, SEGMENT * n);
  close (s);
}

static void
on_segment (TunTapDevice *device, GBytes *packet, gpointer user_data)
{
  Splitter *sp = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (packet, &len);
  guint index;

  if (!is_test_datagram (data, len))
    return;
  memcpy (&index, data + 28, sizeof index);
  if (sp->udp > 0 && index != sp->last_index + 1)
    sp->in_order = FALSE;
  sp->last_index = index;
  if (sp->udp++ > 0)
    return;
  switch (sp->act)
    {
    case ACT_CLOSE:
      tun_tap_device_close (device);
      break;
    case ACT_PAUSE:
      tun_tap_device_set_receiving (device, FALSE);
      break;
    case ACT_NEST:
      /* More packets while the handler iterates the loop: the watch is
       * parked meanwhile, and the rest of this read comes first. */
      send_segmented (sp->peer, SEGMENTS, SEGMENTS);
      tun_tap_test_spin (NULL, 100);
      break;
    case ACT_UNREF:
      g_object_unref (device);
      break;
    }
}

static TunTapDevice *
new_offload_device (const char *name, const char *local, const char *peer)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device = g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, &error, "name", name,
                                         "offload", TRUE, NULL);

  g_assert_no_error (error);
  g_free (tun_tap_test_run (FALSE, "echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6 && "
                            "ip addr add %s peer %s dev %s && ip link set %s up",
                            name, local, peer, name, name));
  return device;
}

static void
run_split (Act act, const char *name, const char *local, const char *peer)
{
  TunTapDevice *device = new_offload_device (name, local, peer);
  Splitter sp = { device, act, peer, 0, 0, TRUE };
  guint64 super_packets = 0;

  if (!(tun_tap_device_get_offloads (device) & TUN_TAP_OFFLOADS_UDP_SEGMENTATION))
    {
      g_object_unref (device);
      g_test_skip ("no UDP segmentation offload in this kernel");
      return;
    }
  g_object_add_weak_pointer (G_OBJECT (device), (gpointer *) &sp.device);
  g_signal_connect (device, "packet-received", G_CALLBACK (on_segment), &sp);
  tun_tap_test_spin (NULL, 100);
  send_segmented (peer, 0, SEGMENTS);
  tun_tap_test_spin (NULL, 300);
  if (sp.device != NULL)
    {
      tun_tap_device_get_offload_counters (device, &super_packets, NULL, NULL, NULL, NULL);
      g_assert_cmpuint (super_packets, >=, 1);
    }
  switch (act)
    {
    case ACT_CLOSE:
      g_assert_cmpuint (sp.udp, ==, 1);
      g_assert_true (tun_tap_device_is_closed (device));
      break;
    case ACT_UNREF:
      /* The last reference went in the first handler: the rest of that
       * wake-up still reached it (the lifetime rule), then the device
       * went, and its interface with it. */
      g_assert_null (sp.device);
      g_assert_cmpuint (sp.udp, ==, SEGMENTS);
      g_assert_true (sp.in_order);
      g_assert_false (tun_tap_test_link_exists (name));
      return;
    case ACT_PAUSE:
      /* Already read, so delivered; nothing read after. */
      g_assert_cmpuint (sp.udp, ==, SEGMENTS);
      send_segmented (peer, SEGMENTS, SEGMENTS);
      tun_tap_test_spin (NULL, 200);
      g_assert_cmpuint (sp.udp, ==, SEGMENTS);
      tun_tap_device_set_receiving (device, TRUE);
      tun_tap_test_spin (NULL, 200);
      g_assert_cmpuint (sp.udp, ==, 2 * SEGMENTS);
      break;
    case ACT_NEST:
      g_assert_cmpuint (sp.udp, ==, 2 * SEGMENTS);
      break;
    }
  g_assert_true (sp.in_order);
  g_object_unref (device);
}

static void test_split_close (void) { run_split (ACT_CLOSE, "tt-sclose", "198.51.100.1", "198.51.100.2"); }
static void test_split_pause (void) { run_split (ACT_PAUSE, "tt-spause", "198.51.100.5", "198.51.100.6"); }
static void test_split_nest (void) { run_split (ACT_NEST, "tt-snest", "198.51.100.9", "198.51.100.10"); }
static void test_split_unref (void) { run_split (ACT_UNREF, "tt-sunref", "198.51.100.13", "198.51.100.14"); }

/* ---- the byte budget with offloads ----------------------------------------- */

#define BUDGET_SENDS 8
#define BUDGET_SEGMENTS 56   /* 56,000 bytes: one ~57 KB super-packet each */

typedef struct {
  guint batches;
  guint datagrams;
  guint largest;       /* datagrams in the largest batch */
} BudgetSeen;

static void
on_budget_batch (TunTapDevice *device,
                 GBytes       *packets,
                 GArray       *lengths,
                 gpointer      user_data)
{
  BudgetSeen *seen = user_data;
  guint n = count_datagrams (packets, lengths);

  seen->batches++;
  seen->datagrams += n;
  seen->largest = MAX (seen->largest, n);
}

/* With offloads a wake-up stops reading once it has 128 KiB (then one
 * read more), so that what it read is still in the CPU's cache when a
 * relay writes it: eight ~57 KB super-packets waiting come in batches of
 * at most three reads, none lost. */
static void
test_offload_byte_budget (void)
{
  TunTapDevice *device = new_offload_device ("tt-sbudget", "198.51.100.17", "198.51.100.18");
  BudgetSeen seen = { 0 };

  if (!(tun_tap_device_get_offloads (device) & TUN_TAP_OFFLOADS_UDP_SEGMENTATION))
    {
      g_object_unref (device);
      g_test_skip ("no UDP segmentation offload in this kernel");
      return;
    }
  g_signal_connect (device, "packets-received", G_CALLBACK (on_budget_batch), &seen);
  tun_tap_test_spin (NULL, 100);
  seen = (BudgetSeen) { 0 };
  /* All waiting before the loop reads any. */
  for (guint i = 0; i < BUDGET_SENDS; i++)
    send_segmented ("198.51.100.18", i * BUDGET_SEGMENTS, BUDGET_SEGMENTS);
  tun_tap_test_spin (NULL, 300);

  g_test_message ("%u datagrams in %u batches, at most %u in one", seen.datagrams,
                  seen.batches, seen.largest);
  g_assert_cmpuint (seen.datagrams, ==, BUDGET_SENDS * BUDGET_SEGMENTS);
  g_assert_cmpuint (seen.largest, <=, 3 * BUDGET_SEGMENTS);
  g_assert_cmpuint (seen.batches, >=, 3);
  g_object_unref (device);
}

/* ---- the last reference in another thread, while waiting ----------------- */

typedef struct {
  TunTapDevice *device;
  gboolean      done;     /* set by an idle the thread adds */
} Dropper;

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
drop_thread (gpointer data)
{
  Dropper *d = data;

  g_usleep (20000);
  g_object_unref (d->device);
  g_idle_add (set_flag, &d->done);
  return NULL;
}

static void
run_unref_in_thread (const char *name, const char *local, const char *peer, gboolean paused)
{
  Seen seen = { 0 };
  Dropper d = { new_device (name, local, peer, &seen) };
  GThread *thread;
  gint64 cpu;

  /* No listener: the gate waits in the context; paused: only the error
   * watch. The thread lets go while the loop sleeps in poll. */
  if (paused)
    {
      g_signal_connect (d.device, "packets-received", G_CALLBACK (on_packets), &seen);
      tun_tap_device_set_receiving (d.device, FALSE);
    }
  tun_tap_test_spin (NULL, 50);
  send_datagrams (peer, 3);
  thread = g_thread_new ("drop", drop_thread, &d);
  g_assert_true (tun_tap_test_wait_for (NULL, &d.done, 5000));
  g_thread_join (thread);
  g_assert_false (tun_tap_test_link_exists (name));
  /* The retired sources went in this thread's loop, and nothing spins. */
  cpu = tun_tap_test_cpu_time_us ();
  tun_tap_test_spin (NULL, 300);
  g_assert_cmpint (tun_tap_test_cpu_time_us () - cpu, <, 20000);
  g_assert_false (g_main_context_pending (NULL));
  g_assert_cmpuint (seen.udp, ==, 0);
  g_assert_cmpuint (seen.closed, ==, 0);
  seen_clear (&seen);
}

static void
test_unref_in_thread_no_listener (void)
{
  run_unref_in_thread ("tt-tgate", "203.0.113.1", "203.0.113.2", FALSE);
}

static void
test_unref_in_thread_paused (void)
{
  run_unref_in_thread ("tt-tpause", "203.0.113.5", "203.0.113.6", TRUE);
}

/* ---- cancellation racing the reads ------------------------------------- */

typedef struct {
  GCancellable *current;
  GMutex        lock;
  gint          stop;
} Canceller;

static gpointer
cancel_thread (gpointer data)
{
  Canceller *c = data;

  while (!g_atomic_int_get (&c->stop))
    {
      g_mutex_lock (&c->lock);
      if (c->current != NULL)
        g_cancellable_cancel (c->current);
      g_mutex_unlock (&c->lock);
      g_usleep (g_random_int_range (0, 300));
    }
  return NULL;
}

static gpointer
sender_thread (gpointer data)
{
  for (guint i = 0; i < 400; i++)
    {
      send_datagrams ("192.0.2.50", 1);
      g_usleep (g_random_int_range (0, 400));
    }
  return NULL;
}

static void
test_cancel_race (void)
{
  Seen seen = { 0 };
  g_autoptr(TunTapDevice) device = new_device ("tt-crace", "192.0.2.49", "192.0.2.50", &seen);
  Canceller c = { NULL };
  GThread *ct, *st;
  guint n = 0, cancelled = 0, batches = 0;
  gint64 end;

  g_test_summary ("Receives cancelled from another thread at random moments, 400 datagrams "
                  "arriving meanwhile: each completes once, with packets or CANCELLED, and "
                  "every datagram reaches a receive (a cancelled one consumes none)");
  g_free (tun_tap_test_run (FALSE, "ip link set tt-crace txqueuelen 1000"));
  g_mutex_init (&c.lock);
  ct = g_thread_new ("cancel", cancel_thread, &c);
  st = g_thread_new ("send", sender_thread, NULL);
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (n < 400 && g_get_monotonic_time () < end)
    {
      GCancellable *cancellable = g_cancellable_new ();
      Pulled p = { 0 };

      g_mutex_lock (&c.lock);
      c.current = cancellable;
      g_mutex_unlock (&c.lock);
      tun_tap_device_receive_async (device, cancellable, on_received, &p);
      g_assert_true (tun_tap_test_wait_for (NULL, &p.done, 5000));
      g_mutex_lock (&c.lock);
      c.current = NULL;
      g_mutex_unlock (&c.lock);
      g_object_unref (cancellable);
      if (p.error != NULL)
        {
          g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          cancelled++;
        }
      else
        {
          n += count_datagrams (p.packets, p.lengths);
          batches++;
        }
      pulled_clear (&p);
    }
  g_atomic_int_set (&c.stop, 1);
  g_thread_join (ct);
  g_thread_join (st);
  g_test_message ("%u datagrams in %u batches, %u cancelled", n, batches, cancelled);
  g_assert_cmpuint (n, ==, 400);
  g_mutex_clear (&c.lock);
  seen_clear (&seen);
}

int
main (int argc, char *argv[])
{
  g_autofree char *reason = NULL;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Backpressure (receiving) and the pull receive (receive_async), in a "
                  "private network namespace");

  if (!tun_tap_test_enter_netns (&reason))
    {
      g_test_skip (reason);
      return g_test_run ();
    }

  g_test_add_func ("/tun-tap/receive/receiving/paused-reads-nothing", test_paused_reads_nothing);
  g_test_add_func ("/tun-tap/receive/receiving/pause-in-handler", test_pause_in_handler);
  g_test_add_func ("/tun-tap/receive/receiving/deleted-while-paused", test_deleted_while_paused);
  g_test_add_func ("/tun-tap/receive/receiving/no-listener-no-read", test_no_listener_no_read);
  g_test_add_func ("/tun-tap/receive/async/takes-the-packets", test_receive_async);
  g_test_add_func ("/tun-tap/receive/async/closed", test_receive_async_closed);
  g_test_add_func ("/tun-tap/receive/async/cancel", test_receive_async_cancel);
  g_test_add_func ("/tun-tap/receive/async/pending", test_receive_async_pending);
  g_test_add_func ("/tun-tap/receive/async/handler-leaves", test_handler_leaves);
  g_test_add_func ("/tun-tap/receive/receiving/handler-blocks-itself", test_handler_blocks_itself);
  g_test_add_func ("/tun-tap/receive/async/callback-waits", test_callback_waits);
  g_test_add_func ("/tun-tap/receive/split/close", test_split_close);
  g_test_add_func ("/tun-tap/receive/split/pause", test_split_pause);
  g_test_add_func ("/tun-tap/receive/split/nest", test_split_nest);
  g_test_add_func ("/tun-tap/receive/split/unref", test_split_unref);
  g_test_add_func ("/tun-tap/receive/split/byte-budget", test_offload_byte_budget);
  g_test_add_func ("/tun-tap/receive/async/cancel-race", test_cancel_race);
  g_test_add_func ("/tun-tap/receive/unref-in-thread/no-listener", test_unref_in_thread_no_listener);
  g_test_add_func ("/tun-tap/receive/unref-in-thread/paused", test_unref_in_thread_paused);

  return g_test_run ();
}
