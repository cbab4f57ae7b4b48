/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/socket.h>

#include "tun-tap-socket.h"

G_BEGIN_DECLS

/* tun_tap_socket_receive_many() with @receive in place of recvmsg(2), so
 * that a test can make an error come between two datagrams. */
typedef ssize_t (*TunTapRecvmsgFunc) (int            fd,
                                      struct msghdr *msg,
                                      int            flags);

GBytes *tun_tap_socket_receive_many_with (GSocket            *socket,
                                          gsize               max_bytes,
                                          guint             **lengths,
                                          guint              *n_lengths,
                                          GCancellable       *cancellable,
                                          GError            **error,
                                          TunTapRecvmsgFunc   receive);

G_END_DECLS
