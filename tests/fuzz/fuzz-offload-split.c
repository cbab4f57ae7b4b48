/* SPDX-License-Identifier: LGPL-2.1-or-later
 * libFuzzer target: the offload splitter (src/tun-tap-offload.c), which
 * parses the virtio-net header and packet the kernel hands a vnet TUN. The
 * input is one read, copied to a buffer of exactly its size so that any
 * read past the end is caught. Every segment of a super-packet must carry
 * right checksums, checked here with a plain sum of its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun-tap-offload.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static guint32
plain_sum (const guint8 *p, gsize len, guint32 sum)
{
  for (gsize i = 0; i < len; i++)
    sum += (i % 2 == 0) ? (guint32) p[i] << 8 : p[i];
  return sum;
}

/* The IPv4 header and L4 checksums of one segment verify. */
static gboolean
segment_ok (const guint8 *p, gsize len)
{
  gsize l4 = (p[0] >> 4) == 4 ? (gsize) (p[0] & 0x0f) * 4 : 40;
  guint8 protocol = (p[0] >> 4) == 4 ? p[9] : p[6];
  guint32 sum;

  if ((p[0] >> 4) == 4)
    {
      sum = plain_sum (p, l4, 0);
      while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
      if (sum != 0xffff)
        return FALSE;
      sum = plain_sum (p + 12, 8, 0);
    }
  else
    sum = plain_sum (p + 8, 32, 0);
  sum += protocol + (guint32) (len - l4);
  sum = plain_sum (p + l4, len - l4, sum);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GByteArray *out = g_byte_array_new ();
  GArray *lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  guint8 *copy = malloc (size ? size : 1);
  gsize total = 0;
  guint n;

  memcpy (copy, data, size);
  n = tun_tap_offload_split (copy, size, out, lengths, NULL);

  /* Nothing on refusal; otherwise one length per packet, adding up. */
  if (lengths->len != n || (n == 0 && out->len != 0))
    abort ();
  for (guint i = 0; i < n; i++)
    {
      guint len = g_array_index (lengths, guint, i);

      if (len == 0 || len > 65535 + 64 || (n > 1 && !segment_ok (out->data + total, len)))
        abort ();
      total += len;
    }
  if (total != out->len || n > TUN_TAP_OFFLOAD_MAX_SEGMENTS)
    abort ();

  free (copy);
  g_array_unref (lengths);
  g_byte_array_unref (out);
  return 0;
}
