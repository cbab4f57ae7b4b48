/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The Internet checksum (RFC 1071) of @len bytes at @data, added to the
 * unfolded 32-bit @sum; returns the unfolded sum. Fold and complement with
 * tun_tap_checksum_finish(): 0 for bytes that include a right checksum. */
guint32  tun_tap_checksum_add     (const guint8 *data,
                                   gsize         len,
                                   guint32       sum);
/* The same, copying the bytes to @dst (not overlapping @src) on the way:
 * one pass over them instead of two. */
guint32  tun_tap_checksum_copy    (guint8       *dst,
                                   const guint8 *src,
                                   gsize         len,
                                   guint32       sum);

/* Folds and complements: inline, as it runs twice per split packet. */
static inline guint16
tun_tap_checksum_finish (guint32 sum)
{
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (guint16) ~sum;
}

G_END_DECLS
