/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the rest of the library needs of TunTapAddress beyond its public
 * API: addresses with flags (from the kernel) and the one parser, whose
 * messages name the device when there is one.
 */
#pragma once

#include "tun-tap-address.h"

G_BEGIN_DECLS

TunTapAddress *tun_tap_address_new_full   (GInetAddress        *address,
                                           guint                prefix_length,
                                           GInetAddress        *peer,
                                           TunTapAddressFlags   flags);

/* @text as tun_tap_address_to_string() writes it, the prefix length
 * optional (a host address without one). @peer (nullable) is the peer
 * given apart, when @text names none. @devname (nullable) goes into the
 * message. INVALID_ARGUMENT, saying what is wrong and what to write. */
TunTapAddress *tun_tap_address_parse      (const char          *text,
                                           const char          *peer,
                                           const char          *devname,
                                           GError             **error);

/* The same address as far as the kernel is concerned: an IPv6 address is
 * its local address on its link; an IPv4 one its local address, prefix
 * length and peer. Flags are not compared. */
gboolean       tun_tap_address_same_key   (const TunTapAddress *a,
                                           const TunTapAddress *b);

G_END_DECLS
