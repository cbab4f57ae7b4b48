/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Construction of TunTapDevice: g_initable_init() (open or adopt, learn the
 * identity, apply the creation rules, start watching) and the
 * constructors. Properties and signals are in tun-tap-device.c.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-device-private.h"
#include "tun-tap-netns.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <net/if.h>

/* EPERM from TUNSETIFF on an existing device: say who owns it. */
static void
explain_permission_denied (TunTapDevice *self)
{
  TunTapLinkInfo info;
  TunTapNetlink *nl;
  gboolean found;
  const char *kind;
  g_autofree char *owner = NULL;
  g_autofree char *rule = NULL;
  GError *error = self->init_error;

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) ||
      self->requested_name == NULL || strchr (self->requested_name, '%') != NULL)
    return;

  /* Refused at open(), before the device was even asked: that message
   * (node permissions, the udev rule) is the one that helps. */
  if (faccessat (AT_FDCWD, TUN_TAP_CLONE_DEVICE, R_OK | W_OK, AT_EACCESS) != 0)
    return;

  nl = tun_tap_netlink_open (self->request_netns, NULL);
  if (nl == NULL)
    return;
  found = tun_tap_netlink_get_link_by_name (nl, self->requested_name, &info, NULL);
  tun_tap_netlink_close (nl);
  if (!found || !info.is_tun)
    return;

  kind = info.tun_type == IFF_TAP ? "tap" : "tun";
  /* The kernel's rule: the owner, if set, must be the effective uid, and
   * the group, if set, one of the process's groups. */
  if (info.owner >= 0 && info.group >= 0)
    {
      owner = g_strdup_printf (_("owned by uid %lld and gid %lld"),
                               (long long) info.owner, (long long) info.group);
      rule = g_strdup (_("runs as that uid and is in that group"));
    }
  else if (info.owner >= 0)
    {
      owner = g_strdup_printf (_("owned by uid %lld and no group"), (long long) info.owner);
      rule = g_strdup (_("runs as that uid"));
    }
  else if (info.group >= 0)
    {
      owner = g_strdup_printf (_("owned by no user and gid %lld"), (long long) info.group);
      rule = g_strdup (_("is in that group"));
    }
  else
    {
      owner = g_strdup (_("owned by no user and no group"));
      rule = g_strdup (_("has CAP_NET_ADMIN (this kernel refuses everybody else)"));
    }

  g_free (error->message);
  error->message =
    g_strdup_printf (_("Cannot attach to %s device “%s”: it is %s, and a process without "
                     "CAP_NET_ADMIN may attach only if it %s; this process is uid %u, "
                     "gid %u. Run it as the owner (or in the group), or have an "
                     "administrator recreate the device for this user "
                     "(ip tuntap del dev %s mode %s; ip tuntap add dev %s mode %s user %u)"),
                     info.tun_type == IFF_TAP ? "TAP" : "TUN", self->requested_name, owner, rule,
                     (guint) geteuid (), (guint) getegid (),
                     self->requested_name, kind, self->requested_name, kind, (guint) geteuid ());
}

/* Whether this open created the interface: a persistent interface existed
 * before (the library makes it persistent only after this point); one
 * that is not persistent lives only as long as its fds, and an existing
 * one that is not multi-queue would have refused us (EBUSY), so we made
 * it, unless other queues of a multi-queue one are attached. Decided after
 * TUNSETIFF, so nobody adding or deleting interfaces can fool it. */
static gboolean
created_by_us (TunTapDevice           *self,
               const TunTapKernelInfo *info)
{
  if (self->adopt_fd >= 0 || info->persistent)
    return FALSE;
  if (!info->multi_queue)
    return TRUE;
  return tun_tap_link_num_queues (self) <= 1;
}

static gboolean
apply_creation_options (TunTapDevice           *self,
                        const TunTapKernelInfo *info,
                        GError                **error)
{
  int fd = g_atomic_int_get (&self->fd);
  gboolean created = created_by_us (self, info);

  /* The owner rule for what we create: see tun_tap_kernel_apply_access(). */
  if (created && (self->request_persistent || self->request_owner >= 0 || self->request_group >= 0) &&
      !tun_tap_kernel_apply_access (fd, info->name, self->request_owner, self->request_group, error))
    return FALSE;

  if (self->request_persistent && !info->persistent)
    {
      /* A further queue of an interface someone else made, unowned: the
       * same rule as set_persistent(). */
      if (!created)
        {
          tun_tap_link_refresh (self);
          if (g_atomic_int_get (&self->owner) == -1 && g_atomic_int_get (&self->group) == -1 &&
              !tun_tap_kernel_apply_access (fd, info->name, self->request_owner,
                                            self->request_group, error))
            return FALSE;
        }
      if (!tun_tap_kernel_set_persistent (fd, info->name, TRUE, error))
        return FALSE;
    }

  if (created || self->request_persistent)
    tun_tap_link_refresh (self);
  return TRUE;
}

gboolean
tun_tap_device_initable_init (GInitable     *initable,
                              GCancellable  *cancellable,
                              GError       **error)
{
  TunTapDevice *self = TUN_TAP_DEVICE (initable);
  TunTapKernelInfo info;
  int fd;

  switch ((TunTapState) g_atomic_int_get (&self->state))
    {
    case TUN_TAP_STATE_NEW:
      break;
    case TUN_TAP_STATE_FAILED:
      g_propagate_error (error, g_error_copy (self->init_error));
      return FALSE;
    case TUN_TAP_STATE_OPEN:
    case TUN_TAP_STATE_CLOSED:
    default:
      return TRUE;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, &self->init_error))
    goto fail;

  if (self->request_netns >= 0 && !tun_tap_netns_is_netns (self->request_netns))
    {
      g_set_error (&self->init_error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot create “%s”: “netns-fd” %d is not a network namespace; pass "
                   "an fd of /proc/PID/ns/net or /run/netns/NAME"),
                   self->requested_name ? self->requested_name : "(any)", self->request_netns);
      goto fail;
    }

  if (self->adopt_fd >= 0)
    {
      if (!tun_tap_kernel_adopt (self->adopt_fd, &info, &self->init_error))
        goto fail;
      fd = self->adopt_fd;
    }
  else
    {
      TunTapKernelOptions options = {
        .packet_info = self->packet_info,
        .multi_queue = self->multi_queue,
        .exclusive = self->exclusive,
        .vnet_hdr = self->offload,
      };

      if (self->offload && (self->mode != TUN_TAP_MODE_TUN || self->packet_info))
        {
          g_set_error (&self->init_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       _("Cannot open “%s” with offloads: they are supported on TUN devices "
                       "without packet information; unset “offload”%s"),
                       self->requested_name ? self->requested_name : "(any)",
                       self->mode != TUN_TAP_MODE_TUN ? _(" or use a TUN device")
                                                      : _(" or “packet-info”"));
          goto fail;
        }

      fd = tun_tap_kernel_open (self->requested_name, self->mode, &options,
                                self->request_netns, &info, &self->init_error);
      if (fd < 0)
        {
          explain_permission_denied (self);
          goto fail;
        }
    }

  g_atomic_pointer_set (&self->name, g_intern_string (info.name));
  self->mode = info.mode;
  self->packet_info = info.packet_info;
  self->multi_queue = info.multi_queue;
  self->offload = info.vnet_hdr;
  self->offload_mask = info.offloads;
  g_atomic_int_set (&self->queue_enabled, info.queue_enabled);
  g_atomic_int_set (&self->persistent, info.persistent);
  g_atomic_int_set (&self->fd, fd);

  /* Identity, and the kernel's view of packet-info, persistence, owner. */
  tun_tap_link_attach (self);

  if (!apply_creation_options (self, &info, &self->init_error))
    {
      tun_tap_link_detach (self);
      g_atomic_int_set (&self->fd, -1);
      if (self->adopt_fd < 0)
        close (fd);
      goto fail;
    }

  /* Open before the watch exists: if another thread runs the context, the
   * watch may dispatch at once. */
  g_atomic_int_set (&self->state, TUN_TAP_STATE_OPEN);
  tun_tap_device_init_coalesce (self);
  tun_tap_receive_start (self);

  g_debug ("Opened %s device “%s” on fd %d",
           self->mode == TUN_TAP_MODE_TAP ? "TAP" : "TUN", info.name, fd);
  return TRUE;

fail:
  g_atomic_int_set (&self->state, TUN_TAP_STATE_FAILED);
  g_propagate_error (error, g_error_copy (self->init_error));
  return FALSE;
}

/**
 * tun_tap_device_new:
 * @name: (nullable): the interface name, a template with one `%d`, or
 *   %NULL to let the kernel choose `tun0`, `tap0`, ...
 * @mode: TUN or TAP
 * @error: return location for a #GError
 *
 * Creates the interface @name, or attaches to it if it is an existing
 * persistent TUN/TAP device, and starts watching it in the thread-default
 * main context.
 *
 * Errors are in the %G_IO_ERROR domain: %G_IO_ERROR_INVALID_ARGUMENT for a
 * name Linux would refuse or silently shorten (16 bytes or more, empty,
 * containing `/`, `:` or white space, a `%` other than one `%d`),
 * %G_IO_ERROR_BUSY when the device is already open, in this process or another,
 * %G_IO_ERROR_EXISTS when an interface of that name exists and is not a
 * TUN/TAP device of this mode, %G_IO_ERROR_PERMISSION_DENIED without
 * CAP_NET_ADMIN or access to `/dev/net/tun`, and %G_IO_ERROR_NOT_FOUND when
 * the kernel has no TUN driver.
 *
 * Returns: (transfer full): the new device, or %NULL on error
 *
 * Since: 0.1
 */
TunTapDevice *
tun_tap_device_new (const char  *name,
                    TunTapMode   mode,
                    GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (mode != TUN_TAP_MODE_TUN && mode != TUN_TAP_MODE_TAP)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Unknown mode %d for “%s”; use the TUN or the TAP mode"),
                   (int) mode, name ? name : "(any)");
      return NULL;
    }

  return g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, error,
                         "name", name,
                         "mode", mode,
                         NULL);
}

/**
 * tun_tap_device_new_for_fd:
 * @fd: a file descriptor of `/dev/net/tun` already attached to an interface
 * @error: return location for a #GError
 *
 * Wraps a TUN/TAP file descriptor opened elsewhere, for example by a
 * privileged helper that passed it over a Unix socket. The name and mode
 * are learnt from the kernel.
 *
 * On success the device owns @fd (it is made non-blocking and
 * close-on-exec, and closed with the device). If @fd is not an attached
 * TUN/TAP descriptor, %G_IO_ERROR_INVALID_ARGUMENT is returned and @fd is
 * left open for the caller.
 *
 * Returns: (transfer full): the new device, or %NULL on error
 *
 * Since: 0.1
 */
TunTapDevice *
tun_tap_device_new_for_fd (int      fd,
                           GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("File descriptor %d is not valid; pass an open TUN/TAP file "
                   "descriptor"), fd);
      return NULL;
    }

  return g_initable_new (TUN_TAP_TYPE_DEVICE, NULL, error, "fd", fd, NULL);
}

