/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(TUN_TAP_INSIDE) && !defined(__TUN_TAP_H_INSIDE__)
#error "Only <tuntap-glib/tuntap-glib.h> can be included directly."
#endif

#include <gio/gio.h>
#include <tuntap-glib/tun-tap-version.h>

G_BEGIN_DECLS

TUN_TAP_AVAILABLE_IN_0_1
GBytes *tun_tap_socket_receive_many (GSocket       *socket,
                                     gsize          max_bytes,
                                     guint        **lengths,
                                     guint         *n_lengths,
                                     GCancellable  *cancellable,
                                     GError       **error);

G_END_DECLS
