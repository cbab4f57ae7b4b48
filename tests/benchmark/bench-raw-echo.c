/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Variant (a) of the echo benchmark: the physical limit for a per-packet TUN
 * echo, one blocking read(2) and one write(2) per packet, no main loop and
 * no allocation. It answers exactly as echo-gmain --reply does (the shared
 * echo_reflect()), so the benchmark compares the path, not the logic.
 *
 * Options match echo-gmain where they matter to the benchmark: --name, and
 * --reply/--quiet accepted and implied. The interface name is the first line
 * on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "echo-reflect.h"

/* Same size as the library's read buffer: any packet fits, none is cut. */
static guint8 buffer[65536 + 4 + 18 + 64];

int
main (int   argc,
      char *argv[])
{
  const char *name = "tun%d";
  struct ifreq ifr;
  int fd;

  for (int i = 1; i < argc; i++)
    {
      if ((strcmp (argv[i], "--name") == 0 || strcmp (argv[i], "-n") == 0) && i + 1 < argc)
        name = argv[++i];
      else if (strncmp (argv[i], "--name=", 7) == 0)
        name = argv[i] + 7;
      else if (strcmp (argv[i], "--reply") != 0 && strcmp (argv[i], "--quiet") != 0)
        {
          fprintf (stderr, "bench-raw-echo: unknown option %s\n", argv[i]);
          return 2;
        }
    }

  if (strlen (name) >= IFNAMSIZ)
    {
      fprintf (stderr, "bench-raw-echo: interface name too long\n");
      return 2;
    }

  fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      fprintf (stderr, "bench-raw-echo: /dev/net/tun: %s\n", strerror (errno));
      return 1;
    }

  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy (ifr.ifr_name, name, strlen (name));
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    {
      fprintf (stderr, "bench-raw-echo: TUNSETIFF %s: %s\n", name, strerror (errno));
      return 1;
    }

  printf ("%s\n", ifr.ifr_name);
  fflush (stdout);

  for (;;)
    {
      ssize_t n = read (fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          fprintf (stderr, "bench-raw-echo: read: %s\n", n < 0 ? strerror (errno) : "EOF");
          return 1;
        }
      if (echo_reflect (buffer, (gsize) n, FALSE))
        {
          while (write (fd, buffer, (size_t) n) < 0 && errno == EINTR)
            ;
        }
    }
}
