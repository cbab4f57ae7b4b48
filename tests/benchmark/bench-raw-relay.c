/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The limit of the offload relay benchmark (relay.sh): two TUN devices
 * opened with IFF_VNET_HDR and TSO, one in this namespace and one in
 * another (opened from a thread that enters it), and a poll loop copying
 * each read, super-packets whole, to the other device. No splitting, no
 * checksums, no GLib main loop: what a relay that needs nothing from the
 * packets could do. Not the library.
 *
 *   bench-raw-relay NETNS-PATH
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

static volatile sig_atomic_t stop;

static void
on_signal (int sig)
{
  stop = 1;
}

static int
open_vnet_tun (const char *name)
{
  struct ifreq ifr;
  int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  int size = 10;

  if (fd < 0)
    return -1;
  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  strncpy (ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl (fd, TUNSETIFF, &ifr) < 0 || ioctl (fd, TUNSETVNETHDRSZ, &size) < 0 ||
      ioctl (fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

typedef struct {
  const char *path;
  int         fd;
} Peer;

static void *
open_in_namespace (void *data)
{
  Peer *peer = data;
  int ns = open (peer->path, O_RDONLY | O_CLOEXEC);

  if (ns < 0 || setns (ns, CLONE_NEWNET) != 0)
    return NULL;
  peer->fd = open_vnet_tun ("rrb");
  close (ns);
  return NULL;
}

int
main (int argc, char *argv[])
{
  static unsigned char buf[65536 + 64];
  Peer peer = { NULL, -1 };
  pthread_t thread;
  struct pollfd fds[2];
  unsigned long long reads = 0, bytes = 0;
  int a;

  if (argc != 2)
    {
      fprintf (stderr, "usage: bench-raw-relay NETNS-PATH\n");
      return 2;
    }
  peer.path = argv[1];
  a = open_vnet_tun ("rra");
  pthread_create (&thread, NULL, open_in_namespace, &peer);
  pthread_join (thread, NULL);
  if (a < 0 || peer.fd < 0)
    {
      perror ("bench-raw-relay: open");
      return 1;
    }
  signal (SIGTERM, on_signal);
  signal (SIGINT, on_signal);
  printf ("fds\n");
  fflush (stdout);

  fds[0].fd = a;
  fds[1].fd = peer.fd;
  fds[0].events = fds[1].events = POLLIN;
  while (!stop)
    {
      if (poll (fds, 2, 200) < 0)
        continue;
      for (int i = 0; i < 2; i++)
        if (fds[i].revents & POLLIN)
          for (int k = 0; k < 64; k++)
            {
              ssize_t n = read (fds[i].fd, buf, sizeof buf);

              if (n <= 0)
                break;
              reads++;
              bytes += (unsigned long long) n;
              if (write (fds[1 - i].fd, buf, (size_t) n) < 0 && errno == EBADFD)
                stop = 1;
            }
    }
  printf ("raw: reads %llu bytes %llu (%.1f bytes per read)\n", reads, bytes,
          reads ? (double) bytes / (double) reads : 0.0);
  return 0;
}
