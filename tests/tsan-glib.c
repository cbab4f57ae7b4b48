/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Linked into the C tests only when they are built with
 * -Db_sanitize=thread (see tests/meson.build); never part of the library.
 *
 * GLib is not built with ThreadSanitizer. Accesses inside it are not
 * checked, which is fine, but TSan also cannot see the synchronisation it
 * provides when that synchronisation is made of atomics rather than pthread
 * calls (which TSan intercepts):
 *
 *  - GMutex and GCond are futexes on Linux (GRWLock and GRecMutex are
 *    pthread objects and need nothing here);
 *  - a GObject's reference count is an atomic: the thread that drops the
 *    last reference runs dispose and finalize after every other thread's
 *    g_object_unref(), but TSan sees no order between them.
 *
 * Without help every access ordered only by those is reported as a race,
 * including correct code in src/, which no suppression may hide. So these
 * wrappers interpose GLib's exported functions (a definition in the
 * executable comes first in symbol lookup: calls from the tests, from
 * libtuntap-glib and from libgobject reach them; libglib's calls to itself
 * do not, and need not, its accesses being invisible anyway) and tell TSan
 * about exactly the order GLib guarantees:
 *
 *  - g_mutex_lock/unlock/trylock and g_cond_wait/wait_until are annotated
 *    as the mutex operations they are (so lock-order inversions are
 *    reported too);
 *  - g_object_unref() releases on the object's address before dropping
 *    the reference, and TunTapDevice's dispose (run only by whoever dropped
 *    the last one) acquires on it first.
 *
 * Nothing here hides an access: a race these annotations do not order is
 * reported as before.
 */
#include <dlfcn.h>
#include <glib-object.h>
#include <sanitizer/tsan_interface.h>

/* Weak: test-netlink-layer does not link the GObject layer. */
GType tun_tap_device_get_type (void) __attribute__ ((weak));

/* The next definition of @name (GLib's), looked up once. Relaxed atomics:
 * two threads may look it up at the same time, and find the same. */
#define REAL(name)                                                          \
  static __typeof__ (&name) real_##name;                                    \
  __typeof__ (&name) real = __atomic_load_n (&real_##name, __ATOMIC_RELAXED); \
  if (G_UNLIKELY (real == NULL))                                            \
    {                                                                       \
      real = (__typeof__ (&name)) dlsym (RTLD_NEXT, #name);                 \
      g_assert (real != NULL);                                              \
      __atomic_store_n (&real_##name, real, __ATOMIC_RELAXED);              \
    }

void
g_mutex_lock (GMutex *mutex)
{
  REAL (g_mutex_lock);
  __tsan_mutex_pre_lock (mutex, 0);
  real (mutex);
  __tsan_mutex_post_lock (mutex, 0, 0);
}

gboolean
g_mutex_trylock (GMutex *mutex)
{
  gboolean locked;

  REAL (g_mutex_trylock);
  __tsan_mutex_pre_lock (mutex, __tsan_mutex_try_lock);
  locked = real (mutex);
  __tsan_mutex_post_lock (mutex, locked ? __tsan_mutex_try_lock
                                        : __tsan_mutex_try_lock | __tsan_mutex_try_lock_failed,
                          0);
  return locked;
}

void
g_mutex_unlock (GMutex *mutex)
{
  REAL (g_mutex_unlock);
  __tsan_mutex_pre_unlock (mutex, 0);
  real (mutex);
  __tsan_mutex_post_unlock (mutex, 0);
}

void
g_mutex_clear (GMutex *mutex)
{
  REAL (g_mutex_clear);
  __tsan_mutex_destroy (mutex, 0);
  real (mutex);
}

/* Waiting releases the mutex and takes it again. */
void
g_cond_wait (GCond  *cond,
             GMutex *mutex)
{
  REAL (g_cond_wait);
  __tsan_mutex_pre_unlock (mutex, 0);
  __tsan_mutex_post_unlock (mutex, 0);
  real (cond, mutex);
  __tsan_mutex_pre_lock (mutex, 0);
  __tsan_mutex_post_lock (mutex, 0, 0);
}

gboolean
g_cond_wait_until (GCond  *cond,
                   GMutex *mutex,
                   gint64  end_time)
{
  gboolean signalled;

  REAL (g_cond_wait_until);
  __tsan_mutex_pre_unlock (mutex, 0);
  __tsan_mutex_post_unlock (mutex, 0);
  signalled = real (cond, mutex, end_time);
  __tsan_mutex_pre_lock (mutex, 0);
  __tsan_mutex_post_lock (mutex, 0, 0);
  return signalled;
}

/* Not declared by <sanitizer/tsan_interface.h> in LLVM 14. */
void __tsan_ignore_thread_begin (void);
void __tsan_ignore_thread_end (void);

/* How deep this thread is in g_source_destroy() or g_source_unref() (see
 * there). */
static __thread int in_source_destroy;

/* Every reference dropped through here is ordered before the dispose that
 * the last one triggers, wherever that runs. */
void
g_object_unref (gpointer object)
{
  int ignored = in_source_destroy;

  REAL (g_object_unref);
  if (object != NULL)
    __tsan_release (object);
  /* A destroy notify run by g_source_destroy() is our code: checked. */
  for (int i = 0; i < ignored; i++)
    __tsan_ignore_thread_end ();
  in_source_destroy = 0;
  real (object);
  in_source_destroy = ignored;
  for (int i = 0; i < ignored; i++)
    __tsan_ignore_thread_begin ();
}

/* A GSource destroyed from another thread than the one iterating its
 * context: GLib frees the source's poll records, which that thread
 * allocated again after the source's last dispatch, under the context's
 * lock. That lock is taken inside libglib, where nothing can annotate it,
 * so TSan would take GLib's own free for a race (GLib does the same in
 * any program: tests/tsan-glib.c's header). The memory accesses made inside
 * g_source_destroy() (libglib's, through malloc/free/memset) are therefore
 * not checked; the caller's own reads of the source pointer are, and so is
 * a g_object_unref() run as the callback's destroy notify. */
void
g_source_destroy (GSource *source)
{
  REAL (g_source_destroy);
  in_source_destroy++;
  __tsan_ignore_thread_begin ();
  real (source);
  __tsan_ignore_thread_end ();
  in_source_destroy--;
}

/* A GSource whose last reference goes in another thread than the one
 * iterating its context: the last unref of a device there retires the
 * device's sources (tun_tap_retire_source()), and the owning context may
 * have destroyed one already, its callback having found the device gone.
 * GLib then finalizes and frees it in that thread, ordered after the
 * owning thread's last dispatch by the context's lock and the source's
 * atomic reference count, which TSan cannot see (as in g_source_destroy()
 * above, and with the same exception for a g_object_unref() inside). */
void
g_source_unref (GSource *source)
{
  REAL (g_source_unref);
  in_source_destroy++;
  __tsan_ignore_thread_begin ();
  real (source);
  __tsan_ignore_thread_end ();
  in_source_destroy--;
}

static void (*device_dispose) (GObject *object);

static void
annotated_device_dispose (GObject *object)
{
  __tsan_acquire (object);
  device_dispose (object);
}

__attribute__ ((constructor)) static void
annotate_device_dispose (void)
{
  GObjectClass *klass;

  if (tun_tap_device_get_type == NULL)
    return;
  /* Before main(), with one thread: the class is never unloaded. */
  klass = g_type_class_ref (tun_tap_device_get_type ());
  device_dispose = klass->dispose;
  klass->dispose = annotated_device_dispose;
}
