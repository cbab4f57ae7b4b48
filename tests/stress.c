/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The threading rules under load, in a private network namespace, for a
 * bounded time per case (TUN_TAP_STRESS_SECONDS, 3 s by default):
 *
 *  - senders: worker threads send (send, send_many, send_bytes) and read
 *    the any-thread getters in loops while the main thread receives
 *    packets, toggles the link, changes the MTU, and closes and recreates
 *    the device, handing each new one to the workers;
 *  - last unref in a worker: the main thread's packet-received handler
 *    drops the application's last reference while workers are sending, so
 *    the final unref and dispose run in a worker.
 *
 * Workers take their reference from a mutex-protected slot, use the device
 * and drop the reference. Sends may fail only with G_IO_ERROR_CLOSED,
 * G_IO_ERROR_NETWORK_UNREACHABLE (link down) or G_IO_ERROR_WOULD_BLOCK;
 * every device must be finalized and no fd may be left behind. Built with
 * -Db_sanitize=thread (tests/run-suite.sh) this is the ThreadSanitizer's
 * workload.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <tuntap-glib/tuntap-glib.h>
#include "tun-tap-test-util.h"

#define LOCAL_ADDR  "192.0.2.1"
#define PEER_ADDR   "192.0.2.2"
#define N_SENDERS   4
#define N_GETTERS   2
#define SEND_BATCH  8
/* How far past TUN_TAP_STRESS_SECONDS a case may run to get every part
 * exercised at least once. */
#define HARD_LIMIT_US (30 * G_USEC_PER_SEC)

/* ---- shared state ------------------------------------------------------ */

typedef struct {
  GMutex        lock;           /* guards device, generation, holders */
  TunTapDevice *device;         /* the application's current device */
  guint         generation;     /* bumped whenever device changes */
  guint         holders;        /* workers holding this generation */

  gint          stop;           /* atomic */
  gboolean      hold_until_replaced;  /* last-unref case: keep it until it goes */

  /* Tallies, atomic. */
  gint          sent;
  gint          sent_closed;
  gint          sent_unreachable;
  gint          sent_would_block;
  gint          getter_rounds;
  gint          disposed;
  gint          disposed_in_worker;

  GMutex        error_lock;
  GError       *unexpected;     /* the first error nobody should see */
  guint         n_unexpected;

  /* Main thread only. */
  GThread      *main_thread;
  GPtrArray    *weak_refs;      /* (element-type GWeakRef*) every device made */
  guint         created;
  guint         packets;
  guint         notifies;
  guint         toggles;
  guint         mtu_changes;
  guint         udp_sent;
  TunTapDevice *doomed;         /* last-unref case: the app's reference */
  guint         dropped_in_handler;
} Stress;

typedef struct {
  Stress *stress;
  guint   index;
} Worker;

static double
stress_seconds (void)
{
  const char *env = g_getenv ("TUN_TAP_STRESS_SECONDS");
  double seconds = env != NULL ? g_ascii_strtod (env, NULL) : 0;

  return seconds > 0 ? seconds : 3.0;
}

static void
note_unexpected (Stress     *s,
                 const char *what,
                 GError     *error)   /* (transfer full) */
{
  g_mutex_lock (&s->error_lock);
  s->n_unexpected++;
  if (s->unexpected == NULL)
    {
      g_prefix_error (&error, "%s: ", what);
      s->unexpected = g_steal_pointer (&error);
    }
  g_mutex_unlock (&s->error_lock);
  g_clear_error (&error);
}

/* Counts an expected failure of a send, or keeps the unexpected one. */
static void
note_send_error (Stress     *s,
                 const char *what,
                 GError     *error)   /* (transfer full) */
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    g_atomic_int_inc (&s->sent_closed);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    g_atomic_int_inc (&s->sent_unreachable);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    g_atomic_int_inc (&s->sent_would_block);
  else
    {
      note_unexpected (s, what, g_steal_pointer (&error));
      return;
    }
  g_error_free (error);
}

/* A worker's reference to the current device, or NULL. */
static TunTapDevice *
take_device (Stress *s,
             guint  *generation)
{
  TunTapDevice *device = NULL;

  g_mutex_lock (&s->lock);
  if (s->device != NULL)
    {
      device = g_object_ref (s->device);
      s->holders++;
    }
  *generation = s->generation;
  g_mutex_unlock (&s->lock);
  return device;
}

static void
drop_device (Stress       *s,
             TunTapDevice *device,
             guint         generation)
{
  g_mutex_lock (&s->lock);
  if (generation == s->generation)
    s->holders--;
  g_mutex_unlock (&s->lock);
  /* Possibly the last reference: then dispose runs here. */
  g_object_unref (device);
}

static gboolean
replaced (Stress *s,
          guint   generation)
{
  gboolean r;

  g_mutex_lock (&s->lock);
  r = s->generation != generation;
  g_mutex_unlock (&s->lock);
  return r;
}

/* Puts @device (the application's reference, or NULL) in the slot and
 * returns what was there. */
static TunTapDevice *
publish (Stress       *s,
         TunTapDevice *device)
{
  TunTapDevice *old;

  g_mutex_lock (&s->lock);
  old = s->device;
  s->device = device;
  s->generation++;
  s->holders = 0;
  g_mutex_unlock (&s->lock);
  return old;
}

/* ---- workers ----------------------------------------------------------- */

static gpointer
sender_thread (gpointer user_data)
{
  Worker *w = user_data;
  Stress *s = w->stress;
  guint8 packets[SEND_BATCH * 64];
  guint lengths[SEND_BATCH];
  gsize total = 0;
  g_autoptr(GBytes) bytes = NULL;
  guint8 payload[32];

  memset (payload, 'a' + w->index, sizeof payload);
  for (guint i = 0; i < SEND_BATCH; i++)
    {
      lengths[i] = tun_tap_test_make_udp4 (packets + total, "198.51.100.1",
                                           (guint16) (4000 + w->index), PEER_ADDR, 9,
                                           payload, 8 + i);
      total += lengths[i];
    }
  bytes = g_bytes_new (packets, lengths[0]);

  while (!g_atomic_int_get (&s->stop))
    {
      guint generation;
      TunTapDevice *device = take_device (s, &generation);
      gint64 linger_until = 0;
      gboolean closed = FALSE;

      if (device == NULL)
        {
          g_usleep (100);
          continue;
        }

      for (guint i = 0; !g_atomic_int_get (&s->stop); i++)
        {
          GError *error = NULL;
          gint n_sent;

          switch (i % 3)
            {
            case 0:
              if (tun_tap_device_send (device, packets, lengths[0], &error))
                g_atomic_int_inc (&s->sent);
              else
                note_send_error (s, "send", error);
              break;
            case 1:
              n_sent = tun_tap_device_send_many (device, packets, total, lengths, SEND_BATCH,
                                                 &error);
              if (n_sent < 0)
                note_send_error (s, "send_many", error);
              else
                g_atomic_int_add (&s->sent, n_sent);
              break;
            default:
              if (tun_tap_device_send_bytes (device, bytes, &error))
                g_atomic_int_inc (&s->sent);
              else
                note_send_error (s, "send_bytes", error);
              break;
            }

          if (!s->hold_until_replaced)
            {
              /* A closed device fails every send at once, without a system
               * call: waiting for the next one instead of spinning keeps a
               * serialising runtime (valgrind) from starving the main
               * thread, which makes that next one. */
              if (i % 16 == 15 && tun_tap_device_is_closed (device))
                {
                  closed = TRUE;
                  break;
                }
              if (i == 3 * SEND_BATCH)
                break;
              continue;
            }

          /* Until the main thread dropped the device, and a little
           * longer (0 to 2 ms): mostly the last reference is then ours,
           * sometimes it is the main thread's, around the same moment. */
          if (linger_until == 0 && i % 4 == 0 && replaced (s, generation))
            linger_until = g_get_monotonic_time () + g_random_int_range (0, 2000);
          if (linger_until != 0 && g_get_monotonic_time () >= linger_until)
            break;
        }

      drop_device (s, device, generation);
      if (closed)
        g_usleep (1000);
      g_thread_yield ();
    }
  return NULL;
}

static void
check_getters (Stress       *s,
               TunTapDevice *device)
{
  gboolean closed_before = tun_tap_device_is_closed (device);
  guint mtu = tun_tap_device_get_mtu (device);
  gboolean up = tun_tap_device_get_up (device);
  gboolean carrier = tun_tap_device_get_carrier (device);
  int ifindex = tun_tap_device_get_ifindex (device);
  gboolean persistent = tun_tap_device_get_persistent (device);
  gint64 owner = tun_tap_device_get_owner (device);
  gint64 group = tun_tap_device_get_group (device);
  gboolean multi_queue = tun_tap_device_get_multi_queue (device);
  gboolean queue_enabled = tun_tap_device_get_queue_enabled (device);
  int fd = tun_tap_device_get_fd (device);
  gboolean closed_after = tun_tap_device_is_closed (device);

  if ((mtu != 0 && (mtu < 68 || mtu > 65535)) || (up != TRUE && up != FALSE) ||
      (carrier != TRUE && carrier != FALSE) || ifindex < 0 || persistent ||
      owner != -1 || group != -1 || multi_queue || !queue_enabled ||
      (closed_before && fd != -1) || (fd < 0 && !closed_after) || (fd >= 0 && fd < 3))
    note_unexpected (s, "getters",
                     g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                  "mtu %u up %d carrier %d ifindex %d persistent %d owner %"
                                  G_GINT64_FORMAT " group %" G_GINT64_FORMAT " multi-queue %d "
                                  "queue-enabled %d fd %d closed %d then %d",
                                  mtu, up, carrier, ifindex, persistent, owner, group,
                                  multi_queue, queue_enabled, fd, closed_before, closed_after));
}

static gpointer
getter_thread (gpointer user_data)
{
  Worker *w = user_data;
  Stress *s = w->stress;

  while (!g_atomic_int_get (&s->stop))
    {
      guint generation;
      TunTapDevice *device = take_device (s, &generation);

      if (device == NULL)
        {
          g_usleep (100);
          continue;
        }
      for (guint i = 0; i < 64 && !g_atomic_int_get (&s->stop); i++)
        check_getters (s, device);
      g_atomic_int_inc (&s->getter_rounds);
      drop_device (s, device, generation);
      g_thread_yield ();
    }
  return NULL;
}

/* ---- the main thread's side -------------------------------------------- */

static void
on_disposed (gpointer  data,
             GObject  *where_the_object_was)
{
  Stress *s = data;

  g_atomic_int_inc (&s->disposed);
  if (g_thread_self () != s->main_thread)
    g_atomic_int_inc (&s->disposed_in_worker);
}

static void
on_packet (TunTapDevice *device,
           GBytes       *packet,
           gpointer      user_data)
{
  Stress *s = user_data;

  if (g_thread_self () != s->main_thread)
    note_unexpected (s, "packet-received",
                     g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                          "emitted outside the device's main context"));
  s->packets++;

  /* The last-unref case: drop the application's reference from here
   * while a worker is sending on the device. */
  if (device == s->doomed && s->doomed != NULL)
    {
      gboolean held;

      g_mutex_lock (&s->lock);
      held = s->holders > 0;
      g_mutex_unlock (&s->lock);
      if (held)
        {
          TunTapDevice *app = publish (s, NULL);

          g_assert_true (app == device);
          s->doomed = NULL;
          s->dropped_in_handler++;
          g_object_unref (app);
        }
    }
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  Stress *s = user_data;

  if (g_thread_self () != s->main_thread)
    note_unexpected (s, "notify",
                     g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                  "notify::%s emitted outside the device's main context",
                                  pspec->name));
  s->notifies++;
}

/* A device in the main thread's context with 192.0.2.1 peer 192.0.2.2,
 * link up, every handler connected and a weak reference kept. */
static TunTapDevice *
new_device (Stress *s)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device = tun_tap_device_new ("tts%d", TUN_TAP_MODE_TUN, &error);
  GWeakRef *weak = g_new0 (GWeakRef, 1);

  g_assert_no_error (error);
  g_weak_ref_init (weak, device);
  g_ptr_array_add (s->weak_refs, weak);
  g_object_weak_ref (G_OBJECT (device), on_disposed, s);
  g_signal_connect (device, "packet-received", G_CALLBACK (on_packet), s);
  g_signal_connect (device, "notify::up", G_CALLBACK (on_notify), s);
  g_signal_connect (device, "notify::mtu", G_CALLBACK (on_notify), s);

  /* The previous device took its address and route with it when it went,
   * but give the kernel a moment if it has not finished. */
  for (guint attempt = 0;; attempt++)
    {
      if (tun_tap_device_add_address_from_string (device, LOCAL_ADDR, PEER_ADDR, &error))
        break;
      g_assert_cmpuint (attempt, <, 100);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
      g_test_message ("%s; retrying", error->message);
      g_clear_error (&error);
      g_usleep (10000);
    }
  tun_tap_device_set_up (device, TRUE, &error);
  g_assert_no_error (error);
  s->created++;
  return device;
}

static int
udp_socket (void)
{
  int sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

  g_assert_cmpint (sock, >=, 0);
  return sock;
}

/* One datagram routed into the device; refused while the link is down or
 * between devices, which is fine. */
static void
udp_poke (Stress *s,
          int     sock)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (5555) };
  static const char payload[] = "stress";

  inet_pton (AF_INET, PEER_ADDR, &sin.sin_addr);
  if (sendto (sock, payload, sizeof payload, 0, (struct sockaddr *) &sin, sizeof sin) > 0)
    s->udp_sent++;
  else
    g_assert_cmpint (errno, !=, EBADF);
}

/* Open fds other than pipes: once a sanitizer printed a report, its
 * symbolizer keeps two pipes open, and the library never opens one. */
static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (target != NULL && !g_str_has_prefix (target, "pipe:"))
        n++;
    }
  return n;
}

/* Dispatches what is ready, then sleeps a little if nothing was. */
static void
iterate (void)
{
  gboolean any = FALSE;

  for (guint i = 0; i < 64 && g_main_context_iteration (NULL, FALSE); i++)
    any = TRUE;
  if (!any)
    g_usleep (100);
}

static void
stress_init (Stress *s)
{
  memset (s, 0, sizeof *s);
  g_mutex_init (&s->lock);
  g_mutex_init (&s->error_lock);
  s->main_thread = g_thread_self ();
  s->weak_refs = g_ptr_array_new ();
}

static void
start_workers (Stress  *s,
               Worker   workers[],
               GThread *threads[])
{
  for (guint i = 0; i < N_SENDERS + N_GETTERS; i++)
    {
      workers[i].stress = s;
      workers[i].index = i;
      threads[i] = g_thread_new (i < N_SENDERS ? "stress-send" : "stress-get",
                                 i < N_SENDERS ? sender_thread : getter_thread,
                                 &workers[i]);
    }
}

static void
stop_workers (Stress  *s,
              GThread *threads[])
{
  g_atomic_int_set (&s->stop, 1);
  for (guint i = 0; i < N_SENDERS + N_GETTERS; i++)
    g_thread_join (threads[i]);
}

/* Every device ever made is finalized (the context iterated meanwhile, so
 * nothing waits on it), nothing went wrong, no fd was left behind. */
static void
stress_finish (Stress *s,
               guint   fds_before)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  guint alive;

  do
    {
      alive = 0;
      iterate ();
      for (guint i = 0; i < s->weak_refs->len; i++)
        {
          TunTapDevice *device = g_weak_ref_get (g_ptr_array_index (s->weak_refs, i));

          if (device != NULL)
            {
              alive++;
              g_object_unref (device);
            }
        }
    }
  while (alive > 0 && g_get_monotonic_time () < deadline);
  g_assert_cmpuint (alive, ==, 0);
  tun_tap_test_spin (NULL, 20);

  for (guint i = 0; i < s->weak_refs->len; i++)
    {
      g_weak_ref_clear (g_ptr_array_index (s->weak_refs, i));
      g_free (g_ptr_array_index (s->weak_refs, i));
    }
  g_assert_cmpint (g_atomic_int_get (&s->disposed), ==, (gint) s->weak_refs->len);
  g_ptr_array_unref (s->weak_refs);

  if (s->unexpected != NULL)
    g_test_message ("%u unexpected results; the first:", s->n_unexpected);
  g_assert_no_error (s->unexpected);
  if (count_fds () > fds_before)
    {
      g_autofree char *fds = tun_tap_test_run (TRUE, "ls -l /proc/%d/fd", (int) getpid ());
      /* stderr: meson shows it when the test fails (a message would not) */
      g_printerr ("open fds:\n%s", fds);
    }
  g_assert_cmpuint (count_fds (), <=, fds_before);

  g_mutex_clear (&s->lock);
  g_mutex_clear (&s->error_lock);
}

/* ---- the cases --------------------------------------------------------- */

static void
test_senders (void)
{
  Stress s;
  Worker workers[N_SENDERS + N_GETTERS];
  GThread *threads[N_SENDERS + N_GETTERS];
  guint fds_before = count_fds ();
  gint64 now, deadline, next_udp, next_toggle, next_mtu, next_recreate;
  int sock = udp_socket ();
  TunTapDevice *device;

  stress_init (&s);
  device = new_device (&s);
  g_assert_null (publish (&s, g_object_ref (device)));
  start_workers (&s, workers, threads);

  now = g_get_monotonic_time ();
  deadline = now + (gint64) (stress_seconds () * G_USEC_PER_SEC);
  next_udp = next_toggle = next_mtu = now;
  next_recreate = now + 250000;
  /* On a starved machine (valgrind runs one thread at a time) past the
   * deadline until every part was exercised, within a hard limit. */
  while ((now = g_get_monotonic_time ()) < deadline ||
         ((s.created < 2 || s.packets == 0 || s.toggles < 2 || s.mtu_changes < 2) &&
          now < deadline + HARD_LIMIT_US))
    {
      g_autoptr(GError) error = NULL;

      iterate ();

      if (now >= next_udp)
        {
          udp_poke (&s, sock);
          next_udp = now + 500;
        }

      /* Mostly up, so packets flow: down for 5 ms in every 25. */
      if (now >= next_toggle)
        {
          gboolean up = !tun_tap_device_get_up (device);

          tun_tap_device_set_up (device, up, &error);
          g_assert_no_error (error);
          g_assert_cmpint (tun_tap_device_get_up (device), ==, up);
          s.toggles++;
          next_toggle = now + (up ? 20000 : 5000);
        }

      if (now >= next_mtu)
        {
          guint mtu = tun_tap_device_get_mtu (device) == 1500 ? 1400 : 1500;

          tun_tap_device_set_mtu (device, mtu, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (tun_tap_device_get_mtu (device), ==, mtu);
          s.mtu_changes++;
          next_mtu = now + 7000;
        }

      /* Close and recreate: workers still holding the old one see
       * G_IO_ERROR_CLOSED; the new one goes to them through the slot. */
      if (now >= next_recreate)
        {
          TunTapDevice *old = device;

          tun_tap_device_close (old);
          g_assert_true (tun_tap_device_is_closed (old));
          device = new_device (&s);
          g_object_unref (publish (&s, g_object_ref (device)));
          g_object_unref (old);
          next_recreate = now + 250000;
        }
    }

  stop_workers (&s, threads);
  tun_tap_device_close (device);
  g_object_unref (publish (&s, NULL));
  g_object_unref (device);
  close (sock);

  g_test_message ("%u devices, %d packets sent (%d closed, %d link down, %d would block), "
                  "%d getter rounds, %u datagrams in, %u received, %u link toggles, "
                  "%u MTU changes, %u notifications, %d disposed in a worker",
                  s.created, s.sent, s.sent_closed, s.sent_unreachable, s.sent_would_block,
                  s.getter_rounds, s.udp_sent, s.packets, s.toggles, s.mtu_changes,
                  s.notifies, s.disposed_in_worker);
  g_assert_cmpuint (s.created, >=, 2);   /* recreated at least once */
  g_assert_cmpint (s.sent, >, 0);
  g_assert_cmpint (s.getter_rounds, >, 0);
  g_assert_cmpuint (s.packets, >, 0);
  g_assert_cmpuint (s.toggles, >=, 2);
  g_assert_cmpuint (s.mtu_changes, >=, 2);
  g_assert_cmpuint (s.notifies, >, 0);
  stress_finish (&s, fds_before);
}

static void
test_last_unref_in_worker (void)
{
  Stress s;
  Worker workers[N_SENDERS + N_GETTERS];
  GThread *threads[N_SENDERS + N_GETTERS];
  guint fds_before = count_fds ();
  gint64 deadline;
  int sock = udp_socket ();
  guint rounds = 0;

  stress_init (&s);
  s.hold_until_replaced = TRUE;
  start_workers (&s, workers, threads);

  deadline = g_get_monotonic_time () + (gint64) (stress_seconds () * G_USEC_PER_SEC);
  /* Past the deadline until a worker did dispose one, within a limit. */
  while (g_get_monotonic_time () < deadline ||
         ((rounds < 3 || g_atomic_int_get (&s.disposed_in_worker) == 0) &&
          g_get_monotonic_time () < deadline + HARD_LIMIT_US))
    {
      TunTapDevice *device = new_device (&s);
      GWeakRef *weak = g_ptr_array_index (s.weak_refs, s.weak_refs->len - 1);
      gint64 give_up = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
      gint64 next_udp = 0;
      TunTapDevice *alive;

      /* The slot holds the application's only reference. */
      s.doomed = device;
      g_assert_null (publish (&s, device));
      rounds++;

      /* Datagrams until the handler dropped it, then until the worker
       * that held it last let it go. */
      for (;;)
        {
          gint64 now = g_get_monotonic_time ();

          if (s.doomed != NULL && now >= next_udp)
            {
              udp_poke (&s, sock);
              next_udp = now + 200;
            }
          iterate ();
          if (s.doomed == NULL)
            {
              alive = g_weak_ref_get (weak);
              if (alive == NULL)
                break;
              g_object_unref (alive);
            }
          g_assert_cmpint (now, <, give_up);
        }
    }

  stop_workers (&s, threads);
  close (sock);

  g_test_message ("%u rounds, %u dropped in the handler, %d of %d disposed in a worker; "
                  "%d packets sent (%d closed, %d link down, %d would block), %u received",
                  rounds, s.dropped_in_handler, s.disposed_in_worker, s.disposed, s.sent,
                  s.sent_closed, s.sent_unreachable, s.sent_would_block, s.packets);
  g_assert_cmpuint (rounds, >=, 3);
  g_assert_cmpuint (s.dropped_in_handler, ==, rounds);
  g_assert_cmpint (s.disposed_in_worker, >, 0);
  stress_finish (&s, fds_before);
}

int
main (int argc, char *argv[])
{
  g_autofree char *reason = NULL;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The threading rules under load, in a private network namespace");

  if (!tun_tap_test_enter_netns (&reason))
    {
      g_test_skip (reason);
      return g_test_run ();
    }
  /* No IPv6 on the devices: no router solicitations among the packets.
   * This is the private namespace's own setting. */
  g_file_set_contents ("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1", -1, NULL);
  /* The default context's wake-up fd, made on first use, is no leak. */
  g_main_context_default ();

  g_test_add_func ("/tun-tap/stress/senders", test_senders);
  g_test_add_func ("/tun-tap/stress/last-unref-in-worker", test_last_unref_in_worker);

  return g_test_run ();
}
