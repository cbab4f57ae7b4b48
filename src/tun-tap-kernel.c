/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-kernel.h"
#include "tun-tap-kernel-explain.h"
#include "tun-tap-error.h"
#include "tun-tap-netns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if_tun.h>

/* Linux 6.2; Debian 12's headers predate them. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

gboolean
tun_tap_kernel_validate_name (const char  *name,
                              GError     **error)
{
  gsize len;
  const char *percent;

  /* NULL means "let the kernel choose" and is handled by the caller. */
  g_assert (name != NULL);

  len = strlen (name);
  if (len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("The interface name is empty; pass NULL to let the kernel "
                           "choose a name, or a name such as “tun0” or “tun%d”"));
      return FALSE;
    }

  /* The kernel silently cuts names at IFNAMSIZ - 1 bytes, so a long name
   * would give an interface the caller never asked for. */
  if (len >= IFNAMSIZ)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The interface name “%s” is %zu bytes long; "
                   "Linux allows at most %d bytes, choose a shorter name"),
                   name, len, IFNAMSIZ - 1);
      return FALSE;
    }

  if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” cannot be an interface name; choose a name such as “tun0”"),
                   name);
      return FALSE;
    }

  for (const char *p = name; *p != '\0'; p++)
    {
      if (*p == '/' || *p == ':' || g_ascii_isspace (*p))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("The interface name “%s” contains “%c”, which Linux does not "
                       "allow in interface names (no “/”, “:” or white space)"),
                       name, g_ascii_isspace (*p) ? ' ' : *p);
          return FALSE;
        }
    }

  percent = strchr (name, '%');
  if (percent != NULL &&
      (percent[1] != 'd' || strchr (percent + 1, '%') != NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The interface name template “%s” is not valid: it may contain "
                   "“%%” only once, as “%%d”, where the kernel puts a number"),
                   name);
      return FALSE;
    }

  return TRUE;
}

static int
open_clone_in_namespace (gpointer user_data)
{
  int fd;

  do
    fd = open (TUN_TAP_CLONE_DEVICE, O_RDWR | O_CLOEXEC | O_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  return fd;
}

/* The interface TUNSETIFF creates belongs to the namespace the clone
 * device was opened in, so only the open needs to happen there. */
static int
open_clone_device (const char  *display_name,
                   int          netns_fd,
                   GError     **error)
{
  int fd;

  fd = tun_tap_netns_open (netns_fd, open_clone_in_namespace, NULL);
  if (fd >= 0)
    return fd;

  switch (errno)
    {
    case EACCES:
    case EPERM:
      {
        struct stat st;
        char node[128] = "";

        /* CAP_NET_ADMIN does not help here: the node's mode decides. */
        if (stat (TUN_TAP_CLONE_DEVICE, &st) == 0)
          g_snprintf (node, sizeof node, _(" (it is mode %04o, uid %u, gid %u)"),
                      (guint) (st.st_mode & 07777), (guint) st.st_uid, (guint) st.st_gid);
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                     _("Cannot open /dev/net/tun for “%s”: permission denied; "
                     "this process (uid %u, gid %u) needs read and write access to "
                     "/dev/net/tun%s, which some systems give to root only: "
                     "an administrator can give a group access with a udev rule such as "
                     "KERNEL==\"tun\", GROUP=\"tuntap\", MODE=\"0660\". With access "
                     "but without CAP_NET_ADMIN it can attach to persistent devices "
                     "owned by its uid or group"),
                     display_name, (guint) geteuid (), (guint) getegid (), node);
      }
      break;
    case ENOENT:
    case ENODEV:
    case ENXIO:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("Cannot open /dev/net/tun for “%s”: %s; "
                   "load the tun module (modprobe tun) or enable CONFIG_TUN"),
                   display_name, g_strerror (errno));
      break;
    default:
      g_set_error (error, G_IO_ERROR, tun_tap_error_code (errno, TUN_TAP_ERRNO_FD),
                   _("Cannot open /dev/net/tun for “%s”: %s"),
                   display_name, g_strerror (errno));
      break;
    }
  return -1;
}

static gboolean
tun_ioctl_int (int            fd,
               unsigned long  request,
               unsigned long  value,
               int           *out_errno)
{
  int r;

  do
    r = ioctl (fd, request, value);
  while (r < 0 && errno == EINTR);

  *out_errno = r < 0 ? errno : 0;
  return r == 0;
}

gboolean
tun_tap_kernel_set_owner (int          fd,
                          const char  *name,
                          gint64       owner,
                          GError     **error)
{
  int errsv;

  if (tun_ioctl_int (fd, TUNSETOWNER, (unsigned long) owner, &errsv))
    return TRUE;

  g_set_error (error, G_IO_ERROR,
               errsv == EINVAL ? G_IO_ERROR_INVALID_ARGUMENT : tun_tap_error_code (errsv, TUN_TAP_ERRNO_FD),
               _("Cannot make uid %lld the owner of “%s”: %s%s"),
               (long long) owner, name, g_strerror (errsv),
               errsv == EINVAL ? _(" (the uid is not mapped in this user namespace)") : "");
  return FALSE;
}

/* The rule for an interface the library creates, or makes persistent: it
 * is never left open to every user. The owner is the caller's uid unless
 * an owner or a group was given; a group alone admits that group (the
 * kernel admits only a process matching both when both are set). The
 * owner goes first, so a persistent device is never unowned, not even for
 * an instant. */
gboolean
tun_tap_kernel_apply_access (int          fd,
                             const char  *name,
                             gint64       owner,
                             gint64       group,
                             GError     **error)
{
  int errsv;

  if (owner < 0 && group < 0)
    owner = (gint64) geteuid ();

  if (owner >= 0 && !tun_tap_kernel_set_owner (fd, name, owner, error))
    return FALSE;

  if (group >= 0 && !tun_ioctl_int (fd, TUNSETGROUP, (unsigned long) group, &errsv))
    {
      g_set_error (error, G_IO_ERROR,
                   errsv == EINVAL ? G_IO_ERROR_INVALID_ARGUMENT : tun_tap_error_code (errsv, TUN_TAP_ERRNO_FD),
                   _("Cannot make gid %lld the group of “%s”: %s%s"),
                   (long long) group, name, g_strerror (errsv),
                   errsv == EINVAL ? _(" (the gid is not mapped in this user namespace)") : "");
      return FALSE;
    }

  return TRUE;
}

/* The offload mask belongs to the interface and outlives the fd: a
 * previous user's TUNSETOFFLOAD would make the kernel hand this fd GSO
 * super-packets with unfinished checksums and no header to say so. */
static void
clear_offloads (int         fd,
                const char *name)
{
  int errsv;

  if (!tun_ioctl_int (fd, TUNSETOFFLOAD, 0, &errsv))
    g_debug ("Cannot clear the offloads of “%s”: %s", name, g_strerror (errsv));
}

static void
read_flags (int               fd,
            TunTapKernelInfo *info)
{
  struct ifreq ifr;

  memset (&ifr, 0, sizeof ifr);
  if (ioctl (fd, TUNGETIFF, &ifr) == 0)
    {
      info->persistent = (ifr.ifr_flags & IFF_PERSIST) != 0;
      info->queue_enabled = (ifr.ifr_flags & IFF_DETACH_QUEUE) == 0;
    }
}

int
tun_tap_kernel_open (const char                *name,
                     TunTapMode                 mode,
                     const TunTapKernelOptions *options,
                     int                        netns_fd,
                     TunTapKernelInfo          *info,
                     GError                   **error)
{
  struct ifreq ifr;
  const char *display_name;
  int fd, r;

  if (name != NULL && !tun_tap_kernel_validate_name (name, error))
    return -1;

  display_name = name != NULL ? name : (mode == TUN_TAP_MODE_TAP ? "tap%d" : "tun%d");

  fd = open_clone_device (display_name, netns_fd, error);
  if (fd < 0)
    return -1;

  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (mode == TUN_TAP_MODE_TAP ? IFF_TAP : IFF_TUN);
  if (!options->packet_info)
    ifr.ifr_flags |= IFF_NO_PI;
  if (options->multi_queue)
    ifr.ifr_flags |= IFF_MULTI_QUEUE;
  if (options->exclusive)
    ifr.ifr_flags |= IFF_TUN_EXCL;
  if (options->vnet_hdr)
    ifr.ifr_flags |= IFF_VNET_HDR;
  /* An empty name makes the kernel use "tun%d" or "tap%d". */
  if (name != NULL)
    memcpy (ifr.ifr_name, name, strlen (name));

  do
    r = ioctl (fd, TUNSETIFF, &ifr);
  while (r < 0 && errno == EINTR);

  if (r < 0)
    {
      int errsv = errno;
      close (fd);
      if (options->exclusive && errsv == EBUSY)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                     _("An interface named “%s” already exists and the device was "
                     "opened exclusively; choose another name or attach without "
                     "“exclusive”"), display_name);
      else
        tun_tap_kernel_explain_setiff (error, errsv, display_name, mode, netns_fd);
      return -1;
    }

  memset (info, 0, sizeof *info);
  memcpy (info->name, ifr.ifr_name, IFNAMSIZ - 1);
  info->mode = mode;
  info->packet_info = options->packet_info;
  info->multi_queue = options->multi_queue;
  info->queue_enabled = TRUE;
  /* Read right after TUNSETIFF, before anything of ours makes it
   * persistent: a persistent interface existed before this open. */
  read_flags (fd, info);
  info->vnet_hdr = options->vnet_hdr;
  if (options->vnet_hdr)
    {
      int mask = tun_tap_kernel_negotiate_offloads (fd, info->name, error);

      if (mask < 0)
        {
          close (fd);
          return -1;
        }
      info->offloads = (guint) mask;
    }
  else
    clear_offloads (fd, info->name);
  return fd;
}

int
tun_tap_kernel_negotiate_offloads (int          fd,
                                   const char  *name,
                                   GError     **error)
{
  static const unsigned int chain[] = {
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
    TUN_F_CSUM,
    0,
  };
  int size = 10, errsv;

  if (ioctl (fd, TUNSETVNETHDRSZ, &size) != 0)
    {
      g_autofree char *what = g_strdup_printf (_("set the virtio-net header size of “%s”"), name);

      tun_tap_set_error (error, errno, TUN_TAP_ERRNO_FD, what, NULL, NULL);
      return -1;
    }
  /* Unknown bits give EINVAL: the documented way to probe (USO needs
   * Linux 6.2). */
  for (gsize i = 0; i < G_N_ELEMENTS (chain); i++)
    if (tun_ioctl_int (fd, TUNSETOFFLOAD, chain[i], &errsv))
      return (int) chain[i];
    else if (errsv != EINVAL)
      {
        g_autofree char *what = g_strdup_printf (_("set the offloads of “%s”"), name);

        tun_tap_set_error (error, errsv, TUN_TAP_ERRNO_FD, what, NULL, NULL);
        return -1;
      }
  return 0;
}

int
tun_tap_kernel_get_netns (int fd)
{
  int nsfd;

  do
    nsfd = ioctl (fd, TUNGETDEVNETNS);
  while (nsfd < 0 && errno == EINTR);
  return nsfd;
}

gboolean
tun_tap_kernel_get_hwaddr (int    fd,
                           guint8 mac[6])
{
  struct ifreq ifr;

  memset (&ifr, 0, sizeof ifr);
  if (ioctl (fd, SIOCGIFHWADDR, &ifr) != 0)
    return FALSE;
  memcpy (mac, ifr.ifr_hwaddr.sa_data, 6);
  return TRUE;
}

int
tun_tap_kernel_get_name (int  fd,
                         char name[IFNAMSIZ])
{
  struct ifreq ifr;

  memset (&ifr, 0, sizeof ifr);
  if (ioctl (fd, TUNGETIFF, &ifr) != 0)
    return errno;
  memcpy (name, ifr.ifr_name, IFNAMSIZ - 1);
  name[IFNAMSIZ - 1] = '\0';
  return 0;
}

gboolean
tun_tap_kernel_is_attached (int fd)
{
  struct ifreq ifr;

  if (fd < 0)
    return FALSE;
  memset (&ifr, 0, sizeof ifr);
  return ioctl (fd, TUNGETIFF, &ifr) == 0;
}

gboolean
tun_tap_kernel_set_persistent (int          fd,
                               const char  *name,
                               gboolean     persistent,
                               GError     **error)
{
  int errsv;

  if (tun_ioctl_int (fd, TUNSETPERSIST, persistent ? 1 : 0, &errsv))
    return TRUE;

  if (errsv == EBADFD)
    tun_tap_kernel_set_io_error (error, errsv, name, _("change persistence"));
  else
    g_set_error (error, G_IO_ERROR, tun_tap_error_code (errsv, TUN_TAP_ERRNO_FD),
                 persistent ? _("Cannot make “%s” persistent: %s")
                            : _("Cannot make “%s” non-persistent: %s"),
                 name, g_strerror (errsv));
  return FALSE;
}

gboolean
tun_tap_kernel_set_queue_enabled (int          fd,
                                  const char  *name,
                                  gboolean     enabled,
                                  GError     **error)
{
  struct ifreq ifr;
  int r;

  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = enabled ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
  do
    r = ioctl (fd, TUNSETQUEUE, &ifr);
  while (r < 0 && errno == EINTR);

  if (r == 0)
    return TRUE;

  if (errno == EBADFD)
    tun_tap_kernel_set_io_error (error, errno, name, _("change the queue"));
  else if (errno == EINVAL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 enabled ? _("Cannot attach the queue of “%s”: only a multi-queue device "
                             "has queues to attach and detach")
                         : _("Cannot detach the queue of “%s”: only a multi-queue device "
                             "has queues to attach and detach"), name);
  else
    g_set_error (error, G_IO_ERROR, tun_tap_error_code (errno, TUN_TAP_ERRNO_FD),
                 enabled ? _("Cannot attach the queue of “%s”: %s")
                         : _("Cannot detach the queue of “%s”: %s"),
                 name, g_strerror (errno));
  return FALSE;
}

gboolean
tun_tap_kernel_set_carrier (int          fd,
                            const char  *name,
                            gboolean     carrier,
                            GError     **error)
{
  int value = carrier ? 1 : 0;
  int r;

  do
    r = ioctl (fd, TUNSETCARRIER, &value);
  while (r < 0 && errno == EINTR);

  if (r == 0)
    return TRUE;

  switch (errno)
    {
    case EBADFD:
      tun_tap_kernel_set_io_error (error, errno, name, _("change the carrier"));
      break;
    case EINVAL:
    case ENOTTY:
    case EOPNOTSUPP:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("Cannot change the carrier of “%s”: this kernel does not support "
                   "TUNSETCARRIER (Linux 4.19 or later)"), name);
      break;
    case EPERM:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("Cannot switch the carrier of “%s” on: the device has no attached "
                   "queue; attach one first (the device’s set_queue_enabled())"), name);
      break;
    default:
      g_set_error (error, G_IO_ERROR, tun_tap_error_code (errno, TUN_TAP_ERRNO_FD),
                   _("Cannot change the carrier of “%s”: %s"), name, g_strerror (errno));
      break;
    }
  return FALSE;
}

gboolean
tun_tap_kernel_adopt (int                fd,
                      TunTapKernelInfo  *info,
                      GError           **error)
{
  struct ifreq ifr;
  struct stat st;
  int flags, r;

  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("File descriptor %d is not valid; pass an open TUN/TAP file "
                   "descriptor"), fd);
      return FALSE;
    }

  if (fstat (fd, &st) < 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("File descriptor %d is not open (%s); pass an open TUN/TAP file "
                   "descriptor"), fd, g_strerror (errsv));
      return FALSE;
    }

  /* TUNGETIFF on a socket or a terminal could mean something else
   * entirely, so only ask character devices. */
  memset (&ifr, 0, sizeof ifr);
  if (!S_ISCHR (st.st_mode) || (r = ioctl (fd, TUNGETIFF, &ifr)) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("File descriptor %d is not attached to a TUN/TAP interface; pass "
                   "a file descriptor of /dev/net/tun after TUNSETIFF"), fd);
      return FALSE;
    }

  /* Sends would fail with EBADF on a read-only fd (TUNSETIFF works on
   * one), reads on a write-only one. */
  flags = fcntl (fd, F_GETFL);
  if (flags < 0 || (flags & O_ACCMODE) != O_RDWR)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("File descriptor %d (“%.*s”) was opened %s; open /dev/net/tun"
                   " with O_RDWR so packets can be both read and sent"), fd, IFNAMSIZ,
                   ifr.ifr_name, flags >= 0 && (flags & O_ACCMODE) == O_WRONLY ?
                   _("write-only") : _("read-only"));
      return FALSE;
    }

  memset (info, 0, sizeof *info);
  memcpy (info->name, ifr.ifr_name, IFNAMSIZ - 1);
  info->mode = (ifr.ifr_flags & IFF_TAP) ? TUN_TAP_MODE_TAP : TUN_TAP_MODE_TUN;
  info->multi_queue = (ifr.ifr_flags & IFF_MULTI_QUEUE) != 0;
  info->queue_enabled = (ifr.ifr_flags & IFF_DETACH_QUEUE) == 0;
  info->persistent = (ifr.ifr_flags & IFF_PERSIST) != 0;
  /* A vnet fd carries a virtio-net header before every packet: the device
   * handles it on TUN (offloads); on TAP it would misframe. */
  info->vnet_hdr = (ifr.ifr_flags & IFF_VNET_HDR) != 0;
  if (info->vnet_hdr && info->mode == TUN_TAP_MODE_TAP)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("File descriptor %d (“%.*s”) is a TAP device opened with IFF_VNET_HDR; "
                   "TunTapDevice handles the virtio-net header on TUN only: open it "
                   "without IFF_VNET_HDR"), fd, IFNAMSIZ, ifr.ifr_name);
      return FALSE;
    }

  /* TUNGETIFF reports IFF_NOFILTER in the bit IFF_NO_PI uses, so it cannot
   * tell whether packet information is on; the device layer asks rtnetlink. */
  info->packet_info = FALSE;

  /* We own the fd from here on: make it behave like one we opened. */
  if (info->vnet_hdr)
    {
      int mask = tun_tap_kernel_negotiate_offloads (fd, info->name, error);

      if (mask < 0)
        return FALSE;
      info->offloads = (guint) mask;
    }
  else
    clear_offloads (fd, info->name);
  if (!(flags & O_NONBLOCK))
    fcntl (fd, F_SETFL, flags | O_NONBLOCK);
  flags = fcntl (fd, F_GETFD);
  if (flags >= 0 && !(flags & FD_CLOEXEC))
    fcntl (fd, F_SETFD, flags | FD_CLOEXEC);

  return TRUE;
}

ssize_t
tun_tap_kernel_write (int           fd,
                      gboolean      vnet_hdr,
                      const guint8 *data,
                      gsize         len,
                      int          *out_errno)
{
  /* All zero: no GSO, no partial checksum, so the kernel verifies. */
  static const guint8 zero_header[10] = { 0 };
  ssize_t n;

  if (vnet_hdr)
    {
      struct iovec iov[2] = {
        { (void *) zero_header, sizeof zero_header },
        { (void *) data, len },
      };

      do
        n = writev (fd, iov, 2);
      while (n < 0 && errno == EINTR);
      if (n >= (ssize_t) sizeof zero_header)
        n -= sizeof zero_header;
    }
  else
    do
      n = write (fd, data, len);
    while (n < 0 && errno == EINTR);

  *out_errno = n < 0 ? errno : 0;
  return n;
}

void
tun_tap_kernel_set_io_error (GError     **error,
                             int          errsv,
                             const char  *name,
                             const char  *operation)
{
  g_autofree char *what = g_strdup_printf (_("%s on “%s”"), operation, name);
  const char *hint = NULL;

  if (errsv == EINVAL)
    hint = _("a TUN device takes IPv4 or IPv6 packets, a TAP device Ethernet frames of "
           "at least 14 bytes");
  tun_tap_set_error (error, errsv, TUN_TAP_ERRNO_PACKET, what, NULL, hint);
}
