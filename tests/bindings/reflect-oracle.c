/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The C reply logic as a filter, so the Python and gjs tests can check that
 * their ports answer exactly as echo-reflect.c does. Each input line is
 * "t HEX" (a TAP frame) or "n HEX" (a TUN packet); each output line is
 * echo_describe()'s text, a tab, and the packet after echo_reflect() in hex,
 * or "-" when it has no answer.
 */
#include <stdio.h>
#include <string.h>

#include "echo-reflect.h"

static int
hex_digit (char c)
{
  return g_ascii_xdigit_value (c);
}

int
main (void)
{
  char line[2 * 70000];

  while (fgets (line, sizeof line, stdin) != NULL)
    {
      gsize text_len = strcspn (line, "\r\n");
      g_autofree guint8 *packet = NULL;
      gsize len = 0;
      gboolean tap;
      char text[256];

      line[text_len] = '\0';
      if (text_len < 2 || (line[0] != 't' && line[0] != 'n') || line[1] != ' ' ||
          (text_len - 2) % 2 != 0)
        {
          fprintf (stderr, "reflect-oracle: bad line “%s”\n", line);
          return 2;
        }
      tap = line[0] == 't';
      len = (text_len - 2) / 2;
      packet = g_malloc (len + 1);
      for (gsize i = 0; i < len; i++)
        {
          int hi = hex_digit (line[2 + 2 * i]), lo = hex_digit (line[3 + 2 * i]);

          if (hi < 0 || lo < 0)
            {
              fprintf (stderr, "reflect-oracle: bad hex in “%s”\n", line);
              return 2;
            }
          packet[i] = (guint8) (hi << 4 | lo);
        }

      echo_describe (packet, len, tap, text, sizeof text);
      fputs (text, stdout);
      fputc ('\t', stdout);
      if (echo_reflect (packet, len, tap))
        for (gsize i = 0; i < len; i++)
          printf ("%02x", packet[i]);
      else
        fputc ('-', stdout);
      fputc ('\n', stdout);
    }

  return ferror (stdin) ? 1 : 0;
}
