/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tearing down a GSource in the thread that runs its context, whichever
 * thread lets go of it (the last unref of a device may happen anywhere).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

static inline gboolean
tun_tap_destroy_source_cb (gpointer source)
{
  g_source_destroy (source);
  return G_SOURCE_REMOVE;
}

/* Destroys @source and drops the caller's reference to it: now when the
 * calling thread owns @context (or may take it: @may_acquire, for the
 * thread that created the object while nobody runs the context), else from
 * a high-priority idle in @context. Until then, callbacks of @source must
 * cope with their object being gone (they hold weak references). */
static inline void
tun_tap_destroy_source_in_context (GSource      *source,
                                   GMainContext *context,
                                   gboolean      may_acquire)
{
  GSource *idle;

  if (g_main_context_is_owner (context))
    {
      g_source_destroy (source);
      g_source_unref (source);
      return;
    }
  if (may_acquire && g_main_context_acquire (context))
    {
      g_source_destroy (source);
      g_source_unref (source);
      g_main_context_release (context);
      return;
    }

  idle = g_idle_source_new ();
  g_source_set_priority (idle, G_PRIORITY_HIGH);
  g_source_set_callback (idle, tun_tap_destroy_source_cb, source,
                         (GDestroyNotify) g_source_unref);
  g_source_set_static_name (idle, "[tuntap-glib] teardown");
  g_source_attach (idle, context);
  g_source_unref (idle);
}

G_END_DECLS
