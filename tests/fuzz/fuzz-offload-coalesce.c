/* SPDX-License-Identifier: LGPL-2.1-or-later
 * libFuzzer target: the coalescer of send_many() (src/tun-tap-offload.c).
 * The input is a batch of packets, each preceded by its 2-byte length.
 * Whatever the coalescer merges must split back (tun_tap_offload_split)
 * into as many packets, carrying the same payloads in the same order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun-tap-offload.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GByteArray *packets = g_byte_array_new ();
  GArray *offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  GArray *lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  gsize pos = 0;

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

  for (guint i = 0; i < lengths->len;)
    {
      guint8 header[TUN_TAP_OFFLOAD_HEADER_MAX];
      gsize header_len = 0, payload_offset = 0;
      guint count = tun_tap_offload_coalesce (packets->data, (gsize *) offsets->data,
                                              (guint *) lengths->data, lengths->len, i,
                                              TUN_TAP_OFFLOAD_COALESCE_TCP |
                                              TUN_TAP_OFFLOAD_COALESCE_UDP,
                                              header, &header_len, &payload_offset);

      if (count == 0 || i + count > lengths->len)
        abort ();
      if (count > 1)
        {
          GByteArray *write = g_byte_array_new ();
          GByteArray *out = g_byte_array_new ();
          GArray *out_lengths = g_array_new (FALSE, FALSE, sizeof (guint));
          gsize out_pos = 0;

          g_byte_array_append (write, header, (guint) header_len);
          for (guint k = i; k < i + count; k++)
            g_byte_array_append (write,
                                 packets->data + g_array_index (offsets, gsize, k) + payload_offset,
                                 g_array_index (lengths, guint, k) - (guint) payload_offset);
          if (tun_tap_offload_split (write->data, write->len, out, out_lengths) != count)
            abort ();
          for (guint k = 0; k < count; k++)
            {
              guint len = g_array_index (lengths, guint, i + k);

              if (g_array_index (out_lengths, guint, k) != len ||
                  memcmp (out->data + out_pos + payload_offset,
                          packets->data + g_array_index (offsets, gsize, i + k) + payload_offset,
                          len - payload_offset) != 0)
                abort ();
              out_pos += len;
            }
          g_byte_array_unref (write);
          g_byte_array_unref (out);
          g_array_unref (out_lengths);
        }
      i += count;
    }

  g_byte_array_unref (packets);
  g_array_unref (offsets);
  g_array_unref (lengths);
  return 0;
}
