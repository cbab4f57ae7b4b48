/* SPDX-License-Identifier: LGPL-2.1-or-later
 * libFuzzer target: send()'s check of an outgoing packet's framing
 * (version nibble, packet-information header, TAP minimum). The first byte
 * picks the mode and whether packet information is on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun-tap-packet.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  TunTapMode mode;
  gboolean packet_info;
  guint8 *copy;

  if (size < 1)
    return 0;
  mode = (data[0] & 1) ? TUN_TAP_MODE_TAP : TUN_TAP_MODE_TUN;
  packet_info = (data[0] & 2) != 0;
  data++;
  size--;

  copy = malloc (size ? size : 1);
  memcpy (copy, data, size);
  if (!tun_tap_packet_check (mode, packet_info, copy, size, "fuzz0", &error))
    {
      /* Every refusal is an error of the documented kind. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
        abort ();
      g_error_free (error);
    }
  else if (error != NULL)
    abort ();
  free (copy);
  return 0;
}
