/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tearing down a GSource in the thread that runs its context, whichever
 * thread lets go of it (the last unref of a device may happen anywhere).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Retires @source and drops the caller's reference to it. When the calling
 * thread owns @context (or may take it: @may_acquire, for the thread that
 * created the object while nobody runs the context) it is destroyed now.
 * Otherwise it is made ready (g_source_set_ready_time(), safe from any
 * thread): its callback then runs in @context's thread, finds its object
 * gone, and returns G_SOURCE_REMOVE, so GLib destroys it there. Nothing is
 * allocated across threads; only a source that context destroyed already
 * (its callback found the object gone first) is freed by this unref, in
 * this thread, which GLib orders after that dispatch. */
static inline void
tun_tap_retire_source (GSource      *source,
                       GMainContext *context,
                       gboolean      may_acquire)
{
  if (g_main_context_is_owner (context))
    g_source_destroy (source);
  else if (may_acquire && g_main_context_acquire (context))
    {
      g_source_destroy (source);
      g_main_context_release (context);
    }
  else
    g_source_set_ready_time (source, 0);
  g_source_unref (source);
}

G_END_DECLS
