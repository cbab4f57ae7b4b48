/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The limit of the offload relay benchmark (relay.sh): two TUN devices
 * opened with IFF_VNET_HDR and TSO, one in this namespace and one in
 * another (opened from a thread that enters it), and a poll loop copying
 * each read, super-packets whole, to the other device. No splitting, no
 * checksums, no GLib main loop: what a relay that needs nothing from the
 * packets could do. Not the library.
 *
 * With --copy, the floor of any relay that hands the application its
 * packets: each wake-up reads up to 128 KiB as the library does, copies
 * every segment of each super-packet into packets of their own (the
 * header, then the payload copied and summed in one pass by the library's
 * own checksum code), and then writes each read whole. No header fixed,
 * no checksum stored, no main loop, no signal: the copying and the
 * memory it takes, nothing else.
 *
 *   bench-raw-relay [--copy] NETNS-PATH
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
#include <linux/virtio_net.h>

#include "tun-tap-checksum.h"

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

/* --copy: a wake-up's reads of @fd relayed to @to after every segment was
 * copied out as a packet of its own. Returns the reads. */
#define WAKE_BYTES (128 * 1024)
#define READ_MAX (65536 + 64)

static unsigned long long
relay_copied (int fd, int to, unsigned long long *bytes)
{
  static unsigned char in[WAKE_BYTES + READ_MAX], out[2 * (WAKE_BYTES + READ_MAX)];
  size_t len[64], at = 0, end = 0;
  int n = 0;

  while (n < 64 && at < WAKE_BYTES)
    {
      ssize_t got = read (fd, in + at, READ_MAX);

      if (got <= 0)
        break;
      len[n++] = (size_t) got;
      at += (size_t) got;
    }
  at = 0;
  for (int i = 0; i < n; i++)
    {
      const struct virtio_net_hdr *vh = (const void *) (in + at);
      const unsigned char *packet = in + at + sizeof *vh;
      size_t plen = len[i] - sizeof *vh, hdr = vh->hdr_len, size = vh->gso_size;

      if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE || size == 0 || hdr >= plen)
        {
          if (end + plen <= sizeof out)
            {
              memcpy (out + end, packet, plen);
              end += plen;
            }
        }
      else
        for (size_t off = hdr; off < plen && end + hdr + size <= sizeof out; off += size)
          {
            size_t seg = plen - off < size ? plen - off : size;

            memcpy (out + end, packet, hdr);
            tun_tap_checksum_copy (out + end + hdr, packet + off, seg, 0);
            end += hdr + seg;
          }
      at += len[i];
    }
  at = 0;
  for (int i = 0; i < n; i++)
    {
      *bytes += len[i];
      if (write (to, in + at, len[i]) < 0 && errno == EBADFD)
        stop = 1;
      at += len[i];
    }
  return (unsigned long long) n;
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

  gboolean copy = argc == 3 && strcmp (argv[1], "--copy") == 0;

  if (argc != 2 && !copy)
    {
      fprintf (stderr, "usage: bench-raw-relay [--copy] NETNS-PATH\n");
      return 2;
    }
  peer.path = argv[argc - 1];
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
        if ((fds[i].revents & POLLIN) && copy)
          reads += relay_copied (fds[i].fd, fds[1 - i].fd, &bytes);
        else if (fds[i].revents & POLLIN)
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
