/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "tun-tap-device.h"

G_BEGIN_DECLS

/* Checks what the kernel would accept without a word and then drop:
 * the framing of one outgoing packet and, on TUN, its fixed IPv4 or IPv6
 * header (lengths, IPv4 header checksum). Every send path goes through
 * it (send, send_bytes, send_many one by one). Pure, no I/O (fuzzed). */
gboolean tun_tap_packet_check (TunTapMode     mode,
                               gboolean       packet_info,
                               const guint8  *data,
                               gsize          len,
                               const char    *name,
                               GError       **error);

G_END_DECLS
