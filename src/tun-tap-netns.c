/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tun-tap-netns.h"

#include <errno.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/nsfs.h>

#define CURRENT_NETNS "/proc/thread-self/ns/net"

gboolean
tun_tap_netns_is_netns (int fd)
{
  struct stat st;

  if (fd < 0 || fstat (fd, &st) != 0)
    return FALSE;
  return ioctl (fd, NS_GET_NSTYPE) == CLONE_NEWNET;
}

char *
tun_tap_netns_id (int netns_fd)
{
  struct stat st;

  if (netns_fd >= 0 ? fstat (netns_fd, &st) != 0 : stat (CURRENT_NETNS, &st) != 0)
    return NULL;
  return g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                          (guint64) st.st_dev, (guint64) st.st_ino);
}

static gboolean
is_current (int netns_fd)
{
  g_autofree char *here = tun_tap_netns_id (-1);
  g_autofree char *there = tun_tap_netns_id (netns_fd);

  return here != NULL && there != NULL && g_str_equal (here, there);
}

typedef struct {
  int                 netns_fd;
  TunTapNetnsOpenFunc func;
  gpointer            user_data;
  int                 result;
  int                 errsv;
} NetnsCall;

/* The private thread: the only code in the library that enters a
 * namespace, and it exits right after (so no thread of the caller's, and
 * no later work of this one, ever runs in the other namespace). */
static gpointer
netns_thread_main (gpointer data)
{
  NetnsCall *call = data;

  if (setns (call->netns_fd, CLONE_NEWNET) != 0)
    {
      call->result = -1;
      call->errsv = errno;
      return NULL;
    }
  errno = 0;
  call->result = call->func (call->user_data);
  call->errsv = call->result < 0 ? errno : 0;
  return NULL;
}

int
tun_tap_netns_open (int                 netns_fd,
                    TunTapNetnsOpenFunc func,
                    gpointer            user_data)
{
  NetnsCall call = { netns_fd, func, user_data, -1, 0 };
  GThread *thread;

  if (netns_fd < 0 || is_current (netns_fd))
    return func (user_data);

  thread = g_thread_try_new ("tuntap-netns", netns_thread_main, &call, NULL);
  if (thread == NULL)
    {
      errno = EAGAIN;
      return -1;
    }
  g_thread_join (thread);
  errno = call.errsv;
  return call.result;
}
