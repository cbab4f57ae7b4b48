/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Network namespaces. A socket or a /dev/net/tun file belongs to the
 * namespace of the thread that created it, for life. To make one that
 * belongs to another namespace, the library starts a short-lived private
 * thread, which enters that namespace (setns), creates the fd and exits:
 * the caller's threads never change namespace. This file is the only place
 * in the library that calls setns(2) (tests/safety.sh checks it).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Creates an fd (a socket, an open device); returns it, or -1 with errno
 * set. Runs in the namespace asked for. */
typedef int (*TunTapNetnsOpenFunc) (gpointer user_data);

/* Runs @func in the network namespace @netns_fd: directly when @netns_fd
 * is -1 (the caller's namespace) or the calling thread's namespace,
 * otherwise in a private thread that enters it and then exits. Returns
 * @func's result; -1 with errno set if the namespace cannot be entered. */
int       tun_tap_netns_open      (int                  netns_fd,
                                   TunTapNetnsOpenFunc  func,
                                   gpointer             user_data);

/* Whether @fd is an open network-namespace file descriptor. */
gboolean  tun_tap_netns_is_netns  (int                  fd);

/* An identity for the namespace @netns_fd (-1: the calling thread's), equal
 * for every fd of the same namespace; NULL if it cannot be told. */
char     *tun_tap_netns_id        (int                  netns_fd);

G_END_DECLS
