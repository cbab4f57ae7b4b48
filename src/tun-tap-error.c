/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-error.h"

#include <errno.h>

/* A code per source; 0 in a column means “as g_io_error_from_errno()”.
 * GLib maps EBADFD, EIO, EFAULT, ENOBUFS and EADDRNOTAVAIL to
 * G_IO_ERROR_FAILED, but the TUN driver and rtnetlink give them precise
 * meanings (linux-tun-behaviour.md §9). */
typedef struct {
  int          errsv;
  GIOErrorEnum packet, fd, open, link;
  const char  *reason;   /* NULL: g_strerror() */
  const char  *advice;   /* NULL: none */
} ErrnoRow;

#define SAME(code) code, code, code, code

static const ErrnoRow table[] = {
  /* The interface was deleted while the fd was attached. */
  { EBADFD, SAME (G_IO_ERROR_CLOSED),
    N_("the interface was deleted"), N_("create a new device") },
  { EFAULT, G_IO_ERROR_CLOSED, G_IO_ERROR_CLOSED, G_IO_ERROR_FAILED, G_IO_ERROR_FAILED,
    N_("the interface was deleted"), N_("create a new device") },
  /* write(2) on a link that is down. */
  { EIO, SAME (G_IO_ERROR_NETWORK_UNREACHABLE),
    N_("the link is down"), N_("bring it up first (the device’s set_up(), or “ip link set DEV up”)") },
  { EINVAL, G_IO_ERROR_INVALID_DATA, G_IO_ERROR_INVALID_ARGUMENT,
    G_IO_ERROR_INVALID_ARGUMENT, G_IO_ERROR_INVALID_ARGUMENT,
    N_("the kernel refused it as invalid"), NULL },
  { ENOBUFS, G_IO_ERROR_MESSAGE_TOO_LARGE, G_IO_ERROR_NO_SPACE, G_IO_ERROR_NO_SPACE,
    G_IO_ERROR_NO_SPACE, NULL, NULL },
  { EMSGSIZE, SAME (G_IO_ERROR_MESSAGE_TOO_LARGE),
    N_("it is too large for the device"), NULL },
  { EAGAIN, SAME (G_IO_ERROR_WOULD_BLOCK),
    N_("the kernel has no buffer space now"), N_("nothing was sent; try again later") },
  { EADDRNOTAVAIL, SAME (G_IO_ERROR_INVALID_ARGUMENT),
    N_("the address is not present on the interface or cannot be assigned to it"),
    N_("check the address, prefix length and peer against the interface’s addresses") },
  { EEXIST, SAME (G_IO_ERROR_EXISTS), N_("it already exists"),
    N_("remove it first or leave it as it is") },
  { EPERM, SAME (G_IO_ERROR_PERMISSION_DENIED), N_("permission denied"),
    N_("this needs CAP_NET_ADMIN in the interface’s network namespace (run as root, or "
    "inside a user and network namespace of your own)") },
  { EACCES, SAME (G_IO_ERROR_PERMISSION_DENIED), N_("permission denied"), NULL },
  /* rtnetlink on an ifindex that is gone: the interface was deleted. */
  { ENODEV, G_IO_ERROR_CLOSED, G_IO_ERROR_CLOSED, G_IO_ERROR_NOT_FOUND, G_IO_ERROR_CLOSED,
    N_("the interface no longer exists"), N_("create a new device") },
  { ENETDOWN, SAME (G_IO_ERROR_NETWORK_UNREACHABLE), N_("the link is down"),
    N_("bring it up first") },
  { EOPNOTSUPP, SAME (G_IO_ERROR_NOT_SUPPORTED), N_("the device does not support this"), NULL },
  { ENOTTY, SAME (G_IO_ERROR_NOT_SUPPORTED), N_("the kernel does not support this"), NULL },
  { ESRCH, SAME (G_IO_ERROR_NOT_FOUND), N_("there is no such route"),
    N_("check the destination, prefix length and gateway") },
  { ETIMEDOUT, SAME (G_IO_ERROR_TIMED_OUT), N_("the kernel did not answer in time"), NULL },
  { EBUSY, SAME (G_IO_ERROR_BUSY), N_("the device is busy"), NULL },
  /* TUNSETIFF: the multi-queue interface has its 256 queues already. */
  { E2BIG, SAME (G_IO_ERROR_TOO_MANY_OPEN_FILES),
    N_("the interface already has the maximum number of queues (256)"),
    N_("close another queue of it first") },
  { ENOENT, SAME (G_IO_ERROR_NOT_FOUND), NULL, NULL },
  { ENXIO, SAME (G_IO_ERROR_NOT_FOUND), NULL, NULL },
};

static const ErrnoRow *
lookup (int errsv)
{
  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (table[i].errsv == errsv)
      return &table[i];
  return NULL;
}

GIOErrorEnum
tun_tap_error_code (int               errsv,
                    TunTapErrnoSource source)
{
  /* The table's rows speak of the device; a socket's errors are GIO's. */
  const ErrnoRow *row = source == TUN_TAP_ERRNO_SOCKET ? NULL : lookup (errsv);

  if (row == NULL)
    return g_io_error_from_errno (errsv);
  switch (source)
    {
    case TUN_TAP_ERRNO_PACKET:
      return row->packet;
    case TUN_TAP_ERRNO_FD:
      return row->fd;
    case TUN_TAP_ERRNO_OPEN:
      return row->open;
    case TUN_TAP_ERRNO_LINK:
    case TUN_TAP_ERRNO_SOCKET:
    default:
      return row->link;
    }
}

void
tun_tap_set_error (GError            **error,
                   int                 errsv,
                   TunTapErrnoSource   source,
                   const char         *what,
                   const char         *extack,
                   const char         *hint)
{
  const ErrnoRow *row;
  const char *advice;
  GString *message;

  if (error == NULL)
    return;

  row = source == TUN_TAP_ERRNO_SOCKET ? NULL : lookup (errsv);
  /* @hint comes translated from the caller; the table's advice is N_(). */
  advice = hint != NULL ? hint : row != NULL && row->advice != NULL ? _(row->advice) : NULL;

  message = g_string_new (NULL);
  /* TRANSLATORS: the first %s is what failed (“bring “tun0” up”), the
   * second why (“the link is down”, or the system's own error text). */
  g_string_append_printf (message, _("Cannot %s: %s"), what,
                          row != NULL && row->reason != NULL ? _(row->reason)
                                                             : g_strerror (errsv));
  if (extack != NULL && *extack != '\0')
    /* TRANSLATORS: %s is the kernel's own message, in English. */
    g_string_append_printf (message, _(" (the kernel says “%s”)"), extack);
  if (advice != NULL && *advice != '\0')
    /* TRANSLATORS: %s is advice on what to do, after the reason. */
    g_string_append_printf (message, _("; %s"), advice);

  g_set_error_literal (error, G_IO_ERROR, tun_tap_error_code (errsv, source), message->str);
  g_string_free (message, TRUE);
}

/* Points the library's gettext domain at its catalogues; once per process,
 * from the device's class_init, the address parser and
 * tun_tap_socket_receive_many() (every error comes from one of them). */
void
tun_tap_i18n_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      g_once_init_leave (&done, 1);
    }
}
