/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Why the kernel refused TUNSETIFF, in words (see tun-tap-kernel-explain.h).
 * It reads /proc/self/fd and asks other fds of this process, which other
 * threads may close meanwhile: each is asked through a reference of its
 * own (pidfd_getfd) where the kernel allows it.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-kernel-explain.h"
#include "tun-tap-error.h"
#include "tun-tap-netns.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Asked only to explain an EINVAL: a name taken by something else. */
static gboolean
interface_exists (const char *name,
                  int         netns_fd)
{
  g_autofree char *id = NULL;

  if (strchr (name, '%') != NULL)
    return FALSE;
  /* if_nametoindex() answers for the calling thread's namespace. */
  if (netns_fd >= 0)
    {
      g_autofree char *here = tun_tap_netns_id (-1);

      id = tun_tap_netns_id (netns_fd);
      if (here == NULL || id == NULL || !g_str_equal (here, id))
        return TRUE;  /* cannot look; EINVAL on a valid name means taken */
    }
  return if_nametoindex (name) != 0;
}

/* The interface a TUN/TAP fd of this process is attached to, from
 * /proc/self/fdinfo/N (“iff:\tNAME”); FALSE if it is not one. */
static gboolean
fd_interface_name (int    dir_fd,
                   int    fd,
                   char   name[IFNAMSIZ])
{
  char path[64];
  char buf[512];
  const char *iff;
  ssize_t n;
  int info;

  g_snprintf (path, sizeof path, "%d", fd);
  n = readlinkat (dir_fd, path, buf, sizeof buf - 1);
  if (n < 0)
    return FALSE;
  buf[n] = '\0';
  if (strcmp (buf, TUN_TAP_CLONE_DEVICE) != 0)
    return FALSE;

  g_snprintf (path, sizeof path, "/proc/self/fdinfo/%d", fd);
  info = open (path, O_RDONLY | O_CLOEXEC);
  if (info < 0)
    return FALSE;
  do
    n = read (info, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  close (info);
  if (n <= 0)
    return FALSE;
  buf[n] = '\0';

  iff = strstr (buf, "\niff:\t");
  if (iff == NULL)
    return FALSE;
  iff += strlen ("\niff:\t");
  n = strcspn (iff, "\n");
  if (n == 0 || n >= IFNAMSIZ)
    return FALSE;
  memcpy (name, iff, n);
  name[n] = '\0';
  return TRUE;
}

/* A reference of our own to this process's fd @fd (pidfd_getfd(2),
 * close-on-exec), through @pidfd (of this process; -1: none); -1 if it
 * is closed meanwhile or the kernel cannot. Asking the fd itself while
 * another thread may close it (and the number be reused) would race. */
static int
own_reference (int pidfd,
               int fd)
{
#ifdef SYS_pidfd_getfd
  if (pidfd >= 0)
    return (int) syscall (SYS_pidfd_getfd, pidfd, fd, 0);
#endif
  (void) pidfd;
  (void) fd;
  return -1;
}

/* Whether @fd is still the tun character device, attached in the network
 * namespace whose id is @want. */
static gboolean
is_device_in (int         fd,
              const char *want)
{
  struct stat st;
  int nsfd;

  /* The same name in another namespace is another interface. Asked only
   * of what is still the tun character device. */
  if (fstat (fd, &st) != 0 || !S_ISCHR (st.st_mode) || st.st_rdev != makedev (10, 200))
    return FALSE;
  nsfd = tun_tap_kernel_get_netns (fd);
  if (nsfd >= 0)
    {
      g_autofree char *id = tun_tap_netns_id (nsfd);

      close (nsfd);
      return g_strcmp0 (id, want) == 0;
    }
  return TRUE;   /* no CAP_NET_ADMIN there to ask: the name decides */
}

/* Asked only to explain an EBUSY: whether a fd of this very process (a
 * TunTapDevice or not) holds the single-queue interface @name of the
 * namespace @netns_fd (-1: the calling thread's). The kernel says only
 * “busy”; /proc/self/fdinfo tells which interface each tun fd holds. */
static gboolean
held_by_this_process (const char *name,
                      int         netns_fd)
{
  g_autofree char *want = tun_tap_netns_id (netns_fd);
  gboolean found = FALSE;
  struct dirent *entry;
  int pidfd = -1;
  DIR *dir;

  dir = opendir ("/proc/self/fd");   /* O_CLOEXEC in glibc */
  if (dir == NULL)
    return FALSE;
#ifdef SYS_pidfd_open
  pidfd = (int) syscall (SYS_pidfd_open, getpid (), 0);   /* always close-on-exec */
#endif
  while (!found && (entry = readdir (dir)) != NULL)
    {
      char held[IFNAMSIZ];
      int fd, own;

      if (!g_ascii_isdigit (entry->d_name[0]))
        continue;
      fd = atoi (entry->d_name);
      /* By path first (/proc/self/fd and fdinfo: no use of the fd). */
      if (fd == dirfd (dir) || fd == pidfd || !fd_interface_name (dirfd (dir), fd, held) ||
          strcmp (held, name) != 0)
        continue;
      /* Then through a reference of our own, named again (the number may
       * have been closed and reused meanwhile; if its owner closes it now,
       * the file goes with our close instead). Without pidfd_getfd()
       * (before Linux 5.6, or filtered), the fd itself. */
      own = own_reference (pidfd, fd);
      if (own >= 0)
        {
          found = fd_interface_name (dirfd (dir), own, held) && strcmp (held, name) == 0 &&
                  is_device_in (own, want);
          close (own);
        }
      else if (pidfd < 0 || errno == ENOSYS || errno == EPERM)
        found = is_device_in (fd, want);
    }
  if (pidfd >= 0)
    close (pidfd);
  closedir (dir);
  return found;
}

void
tun_tap_kernel_explain_setiff (GError     **error,
                               int          errsv,
                               const char  *display_name,
                               TunTapMode   mode,
                               int          netns_fd)
{
  const char *kind = mode == TUN_TAP_MODE_TAP ? "TAP" : "TUN";

  switch (errsv)
    {
    case EPERM:
    case EACCES:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("Cannot create or attach to %s device “%s”: permission denied; "
                   "it needs CAP_NET_ADMIN or a persistent device owned by uid %u "
                   "(or its group)"), kind, display_name, (guint) geteuid ());
      break;
    case EBUSY:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   held_by_this_process (display_name, netns_fd)
                   ? _("%s device “%s” is already open in this process (another device "
                       "object or file descriptor holds it, and it is not multi-queue); "
                       "close that one first, or choose another name")
                   : _("%s device “%s” is already opened by another process; close it "
                       "there or choose another name"),
                   kind, display_name);
      break;
    case EINVAL:
      if (interface_exists (display_name, netns_fd))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                     _("An interface named “%s” already exists and is not a %s device "
                     "this process can attach to (another kind of interface, or the "
                     "other of TUN/TAP, or a multi-queue device); choose another name"),
                     display_name, kind);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     _("The kernel refused to create %s device “%s” (invalid argument); "
                     "check the name"), kind, display_name);
      break;
    default:
      {
        g_autofree char *what = g_strdup_printf (_("create or attach to %s device “%s”"),
                                                 kind, display_name);
        tun_tap_set_error (error, errsv, TUN_TAP_ERRNO_OPEN, what, NULL, NULL);
      }
      break;
    }
}
