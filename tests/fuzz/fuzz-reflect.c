/* SPDX-License-Identifier: LGPL-2.1-or-later
 * libFuzzer target: the echo examples' reply logic on arbitrary bytes.
 * The first byte picks TUN or TAP; the rest is the packet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echo-reflect.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char line[256];
  guint8 *copy;
  gboolean tap;

  if (size < 1)
    return 0;
  tap = data[0] & 1;
  data++;
  size--;

  /* An exact-size heap copy, so ASan sees any read or write past the end. */
  copy = malloc (size ? size : 1);
  memcpy (copy, data, size);
  echo_describe (copy, size, tap, line, sizeof line);
  if (echo_reflect (copy, size, tap))
    {
      /* An answer is well-formed enough to describe, and the same size. */
      echo_describe (copy, size, tap, line, sizeof line);
    }
  free (copy);
  return 0;
}
