/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Shared by the C tests: a private network namespace, small helpers to run
 * iproute2 inside it, and process measurements. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Moves the calling process into a fresh network namespace (and a private
 * mount namespace with its own /sys, so sysfs shows this namespace). Falls
 * back to a user+network namespace when not root. Returns FALSE, with a
 * reason, only when neither is possible; callers then skip. Must be called
 * before any thread is started. */
gboolean  tun_tap_test_enter_netns    (char       **reason);

/* Runs a shell command line (iproute2, ping) synchronously in the current
 * namespace; asserts it succeeded unless @may_fail. Returns its stdout. */
char     *tun_tap_test_run            (gboolean     may_fail,
                                       const char  *format,
                                       ...) G_GNUC_PRINTF (2, 3);

/* Iterates @context until *@flag is TRUE or @timeout_ms passes. */
gboolean  tun_tap_test_wait_for       (GMainContext *context,
                                       gboolean     *flag,
                                       guint         timeout_ms);

/* Iterates @context for @ms milliseconds. */
void      tun_tap_test_spin           (GMainContext *context,
                                       guint         ms);

/* CPU time (user + system) used by this process so far, in microseconds. */
gint64    tun_tap_test_cpu_time_us    (void);

/* Number of open file descriptors of this process. */
guint     tun_tap_test_count_fds      (void);

/* Writes an IPv4/UDP datagram (valid IP checksum, UDP checksum 0) into
 * @buf, which must hold 28 + @len bytes; returns its length. */
gsize     tun_tap_test_make_udp4      (guint8      *buf,
                                       const char  *src,
                                       guint16      sport,
                                       const char  *dst,
                                       guint16      dport,
                                       const void  *payload,
                                       gsize        len);

/* Adds @count IPv6 host addresses @prefix1, @prefix2, ... (hex, "nodad")
 * to interface @name in one `ip -batch`: a burst of notifications that
 * overruns an rtnetlink socket nobody reads meanwhile. */
void      tun_tap_test_flood_addresses (const char *name,
                                        const char *prefix,
                                        guint       count);

/* Whether the interface exists in this namespace. */
gboolean  tun_tap_test_link_exists    (const char  *name);

G_END_DECLS
