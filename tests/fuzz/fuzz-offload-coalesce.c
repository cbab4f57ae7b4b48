/* SPDX-License-Identifier: LGPL-2.1-or-later
 * libFuzzer target: the coalescer of send_many() (src/tun-tap-offload.c).
 * The input is one byte of options (bit 0: TCP, bit 1: UDP, bit 2: every
 * packet's checksums taken as known), then a batch of packets, each
 * preceded by its 2-byte length. The plan must write every packet exactly
 * once, in writes that start in the call's order, and whatever it merges
 * must split back (tun_tap_offload_split) into as many packets, of the
 * same lengths, carrying the same payloads in the same order. Flows
 * interleave freely in the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun-tap-offload.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GByteArray *packets;
  GArray *offsets, *lengths;
  guint8 known_good[64], seen[64] = { 0 };
  TunTapOffloadWrite writes[64];
  guint next[64];
  guint options, n_writes;
  gsize pos = 1;

  if (size < 1)
    return 0;
  options = data[0];
  packets = g_byte_array_new ();
  offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  while (pos + 2 <= size && lengths->len < 64)
    {
      guint len = (guint) (data[pos] << 8 | data[pos + 1]);
      gsize at = packets->len;

      pos += 2;
      len = MIN (len, (guint) (size - pos));
      if (len == 0)
        break;
      g_array_append_val (offsets, at);
      g_array_append_val (lengths, len);
      g_byte_array_append (packets, data + pos, len);
      pos += len;
    }
  memset (known_good, 1, sizeof known_good);

  n_writes = tun_tap_offload_plan (packets->data, (gsize *) offsets->data,
                                   (guint *) lengths->data, lengths->len, options & 3,
                                   (options & 4) ? known_good : NULL, writes, next);
  if (n_writes > lengths->len)
    abort ();
  for (guint w = 0; w < n_writes; w++)
    {
      const TunTapOffloadWrite *write = &writes[w];
      guint k = write->head;

      if (write->count == 0 || (w > 0 && write->head <= writes[w - 1].head))
        abort ();
      if (write->count > 1)
        {
          guint8 header[TUN_TAP_OFFLOAD_HEADER_MAX];
          gsize header_len, payload_offset = 0, out_pos = 0;
          GByteArray *bytes = g_byte_array_new ();
          GByteArray *out = g_byte_array_new ();
          GArray *out_lengths = g_array_new (FALSE, FALSE, sizeof (guint));

          header_len = tun_tap_offload_header (packets->data, (gsize *) offsets->data,
                                               (guint *) lengths->data, write, header,
                                               &payload_offset);
          if (header_len == 0 || header_len > TUN_TAP_OFFLOAD_HEADER_MAX)
            abort ();
          g_byte_array_append (bytes, header, (guint) header_len);
          for (guint i = 0; i < write->count; i++, k = next[k])
            g_byte_array_append (bytes,
                                 packets->data + g_array_index (offsets, gsize, k) + payload_offset,
                                 g_array_index (lengths, guint, k) - (guint) payload_offset);
          if (tun_tap_offload_split (bytes->data, bytes->len, out, out_lengths, NULL) != write->count)
            abort ();
          k = write->head;
          for (guint i = 0; i < write->count; i++, k = next[k])
            {
              guint len = g_array_index (lengths, guint, k);

              if (g_array_index (out_lengths, guint, i) != len ||
                  memcmp (out->data + out_pos + payload_offset,
                          packets->data + g_array_index (offsets, gsize, k) + payload_offset,
                          len - payload_offset) != 0)
                abort ();
              out_pos += len;
            }
          g_byte_array_unref (bytes);
          g_byte_array_unref (out);
          g_array_unref (out_lengths);
          k = write->head;
        }
      for (guint i = 0; i < write->count; i++, k = next[k])
        {
          /* Every packet once; a super-packet's packets in the call's order. */
          if (k >= lengths->len || seen[k] || (i > 0 && k <= write->head))
            abort ();
          seen[k] = 1;
        }
    }
  for (guint i = 0; i < lengths->len; i++)
    if (!seen[i])
      abort ();

  g_byte_array_unref (packets);
  g_array_unref (offsets);
  g_array_unref (lengths);
  return 0;
}
