/* SPDX-License-Identifier: LGPL-2.1-or-later
 * libFuzzer target: the offload splitter (src/tun-tap-offload.c), which
 * parses the virtio-net header and packet the kernel hands a vnet TUN. The
 * input is one read, copied to a buffer of exactly its size so that any
 * read past the end is caught. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun-tap-offload.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

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

      if (len == 0 || len > 65535 + 64)
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
