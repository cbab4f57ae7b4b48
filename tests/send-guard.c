/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The send guard (tun-tap-io.c), one interleaving at a time: a thread is
 * held where it is inside the guard, at its write(2) (interposed here) or
 * just after counting itself in (the library's test hook), while close()
 * runs in the main thread; then let go.
 *
 *   - a send inside write(2): close() waits for it (up to its limit), then
 *     leaves the fd open for it (the number cannot be reused under its
 *     write), and the send, leaving, closes it;
 *   - a thread counted in and then refused (is_closed() from another
 *     thread) as the last one out: it closes the fd close() left (stop
 *     18's CI: the fd stayed open for good);
 *   - threads calling is_closed() in a loop, each counted in for a while
 *     (a slow machine, TSan): close() is not held off by them.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <tuntap-glib/tuntap-glib.h>
#include "tun-tap-device-private.h"
#include "tun-tap-test-util.h"

/* The thread to hold (at its next write, or in the hook), until let go. */
static gpointer hold_thread;     /* GThread *; atomic */
static GMutex hold_lock;
static GCond hold_cond;
static gboolean held, released;
/* Instead: every thread counted in stays so this long. */
static gint linger_us;           /* atomic */

static void
hold_here (void)
{
  g_mutex_lock (&hold_lock);
  held = TRUE;
  g_cond_broadcast (&hold_cond);
  while (!released)
    g_cond_wait (&hold_cond, &hold_lock);
  g_mutex_unlock (&hold_lock);
}

static gboolean
hold_me (void)
{
  gpointer thread = g_atomic_pointer_get (&hold_thread);

  return thread != NULL && thread == (gpointer) g_thread_self () &&
         g_atomic_pointer_compare_and_exchange (&hold_thread, thread, NULL);
}

static void
wait_held (void)
{
  g_mutex_lock (&hold_lock);
  while (!held)
    g_cond_wait (&hold_cond, &hold_lock);
  g_mutex_unlock (&hold_lock);
}

static void
let_go (void)
{
  g_mutex_lock (&hold_lock);
  released = TRUE;
  g_cond_broadcast (&hold_cond);
  g_mutex_unlock (&hold_lock);
}

static void
hold_reset (void)
{
  g_atomic_pointer_set (&hold_thread, NULL);
  held = released = FALSE;
  g_atomic_int_set (&linger_us, 0);
}

ssize_t write (int fd, const void *buf, size_t count);

ssize_t
write (int fd, const void *buf, size_t count)
{
  static ssize_t (*real) (int, const void *, size_t);

  if (real == NULL)
    real = (ssize_t (*) (int, const void *, size_t)) dlsym (RTLD_NEXT, "write");
  if (hold_me ())
    hold_here ();
  return real (fd, buf, count);
}

static void
enter_hook (TunTapDevice *self)
{
  int us = g_atomic_int_get (&linger_us);

  if (hold_me ())
    hold_here ();
  else if (us > 0)
    g_usleep ((gulong) us);
}

static TunTapDevice *
new_device (const char *name)
{
  g_autoptr(GError) error = NULL;
  TunTapDevice *device = tun_tap_device_new (name, TUN_TAP_MODE_TUN, &error);

  g_assert_no_error (error);
  g_assert_true (tun_tap_device_set_up (device, TRUE, &error));
  g_assert_no_error (error);
  hold_reset ();
  return device;
}

static gboolean
fd_open (int fd)
{
  return fcntl (fd, F_GETFD) != -1;
}

/* ---- a send held at its write ---------------------------------------- */

typedef struct {
  TunTapDevice *device;
  gboolean      result;     /* of the one call */
  gint          calls;      /* atomic */
  gint          stop;       /* atomic */
} Caller;

static gpointer
send_once (gpointer data)
{
  Caller *c = data;
  guint8 packet[64];
  gsize len = tun_tap_test_make_udp4 (packet, "192.0.2.2", 9, "192.0.2.1", 9,
                                      (const guint8 *) "held", 4);

  g_atomic_pointer_set (&hold_thread, g_thread_self ());
  c->result = tun_tap_device_send (c->device, packet, len, NULL);
  return NULL;
}

/* Runs @func in a thread until it is held, closes the device meanwhile,
 * checks that the fd outlives close() while the thread is held, lets it go
 * and checks that the fd is closed once it left. Returns how long close()
 * took. */
static gint64
close_while_held (Caller      *c,
                  const char  *name,
                  GThreadFunc  func)
{
  int fd = tun_tap_device_get_fd (c->device);
  GThread *thread = g_thread_new (name, func, c);
  gint64 start, took;

  wait_held ();
  start = g_get_monotonic_time ();
  tun_tap_device_close (c->device);
  took = g_get_monotonic_time () - start;
  g_test_message ("close() took %" G_GINT64_FORMAT " us", took);
  g_assert_true (tun_tap_device_is_closed (c->device));
  g_assert_cmpint (tun_tap_device_get_fd (c->device), ==, -1);
  g_assert_true (fd_open (fd));

  let_go ();
  g_thread_join (thread);
  g_assert_false (fd_open (fd));
  return took;
}

static void
test_send_held_in_write (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tg-write");
  Caller c = { device };

  g_test_summary ("close() during a write(2): the fd stays open for that write, "
                  "and the sender closes it as it leaves");
  /* It waited for the send, then gave up waiting. */
  g_assert_cmpint (close_while_held (&c, "held-sender", send_once), >=, G_USEC_PER_SEC);
  /* Its write went to the device's own fd (then it closed it). */
  g_assert_true (c.result);
}

/* ---- refused, and the last one out --------------------------------------- */

static gpointer
ask_closed_once (gpointer data)
{
  Caller *c = data;

  g_atomic_pointer_set (&hold_thread, g_thread_self ());
  c->result = tun_tap_device_is_closed (c->device);
  return NULL;
}

static void
test_refused_last_out (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tg-refused");
  Caller c = { device };

  g_test_summary ("A thread counted into the send guard before close() and refused "
                  "after it, last out: it closes the fd close() left");
  tun_tap_io_set_enter_hook (enter_hook);
  close_while_held (&c, "held-asker", ask_closed_once);
  tun_tap_io_set_enter_hook (NULL);
  /* Refused (the device closed), and the fd closed by it on its way out. */
  g_assert_true (c.result);
}

/* ---- threads in a loop ---------------------------------------------------- */

static gpointer
ask_closed_in_a_loop (gpointer data)
{
  Caller *c = data;

  /* A refused call makes no system call: the yield keeps a serialising
   * runtime (valgrind) from running only these loops while close() waits
   * to run again. A caller refused while close() runs still calls again
   * at once, as one in a loop would. */
  while (!g_atomic_int_get (&c->stop))
    {
      tun_tap_device_is_closed (c->device);
      g_atomic_int_inc (&c->calls);
      g_thread_yield ();
    }
  return NULL;
}

static void
test_callers_in_a_loop (void)
{
  g_autoptr(TunTapDevice) device = new_device ("tg-loop");
  Caller callers[2] = { { device }, { device } };
  GThread *threads[G_N_ELEMENTS (callers)];
  int fd = tun_tap_device_get_fd (device);
  gint64 start, took;

  g_test_summary ("Threads calling is_closed() in a loop, each counted into the send "
                  "guard for 1 ms a call: close() is prompt and closes the fd");
  g_atomic_int_set (&linger_us, 1000);
  tun_tap_io_set_enter_hook (enter_hook);
  for (guint i = 0; i < G_N_ELEMENTS (callers); i++)
    threads[i] = g_thread_new ("asker", ask_closed_in_a_loop, &callers[i]);
  while (g_atomic_int_get (&callers[0].calls) < 50 || g_atomic_int_get (&callers[1].calls) < 50)
    g_usleep (1000);

  start = g_get_monotonic_time ();
  tun_tap_device_close (device);
  took = g_get_monotonic_time () - start;

  g_usleep (10 * 1000);
  for (guint i = 0; i < G_N_ELEMENTS (callers); i++)
    {
      g_atomic_int_set (&callers[i].stop, 1);
      g_thread_join (threads[i]);
    }
  tun_tap_io_set_enter_hook (NULL);
  g_test_message ("close() took %" G_GINT64_FORMAT " us", took);
  /* Each caller held it off for one call at most (its limit is 2 s). */
  g_assert_cmpint (took, <, G_USEC_PER_SEC);
  g_assert_false (fd_open (fd));
}

int
main (int argc, char *argv[])
{
  char *reason = NULL;

  g_test_init (&argc, &argv, NULL);
  if (!tun_tap_test_enter_netns (&reason))
    {
      g_test_skip (reason);
      return g_test_run ();
    }
  g_test_add_func ("/tun-tap/send-guard/held-in-write", test_send_held_in_write);
  g_test_add_func ("/tun-tap/send-guard/refused-last-out", test_refused_last_out);
  g_test_add_func ("/tun-tap/send-guard/callers-in-a-loop", test_callers_in_a_loop);
  return g_test_run ();
}
