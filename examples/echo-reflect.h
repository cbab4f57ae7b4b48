/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The echo examples' packet logic, kept apart from the main loop so the
 * tests and the fuzzer can drive it: describe a packet in one line, and
 * turn a request into its answer in place.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes a one-line description of @packet into @out (always terminated). */
void     echo_describe (const guint8 *packet,
                        gsize         len,
                        gboolean      tap,
                        char         *out,
                        gsize         out_size);

/* Rewrites @packet in place into its answer: ICMP/ICMPv6 echo request into
 * echo reply, UDP/TCP reflected with addresses and ports swapped, and on a
 * TAP device ARP requests and IPv6 neighbour solicitations answered for any
 * address with ECHO_REFLECT_MAC. Returns FALSE, leaving @packet unchanged,
 * when the packet has no answer (ICMP replies, router solicitations...). */
gboolean echo_reflect  (guint8       *packet,
                        gsize         len,
                        gboolean      tap);

/* The MAC address the TAP echo claims for every address it answers for. */
#define ECHO_REFLECT_MAC { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01 }

G_END_DECLS
