/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The one errno → GError table of the library. Every layer (the kernel
 * ioctls, packet I/O, rtnetlink) turns a failed system call into a GError
 * through tun_tap_set_error(), so the codes the README's error table lists
 * and the codes the code returns cannot drift apart.
 *
 * The same errno means different things depending on where it came from
 * (EINVAL from write(2) is a malformed packet, from rtnetlink a refused
 * value), so the table has one column per source.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  TUN_TAP_ERRNO_PACKET,   /* read(2)/write(2) of a packet on the device fd */
  TUN_TAP_ERRNO_FD,       /* an ioctl on the attached device fd */
  TUN_TAP_ERRNO_OPEN,     /* open(2) of /dev/net/tun, TUNSETIFF */
  TUN_TAP_ERRNO_LINK,     /* an rtnetlink request about the interface */
  TUN_TAP_ERRNO_SOCKET,   /* a UDP socket's recvmsg(2): as GSocket says it */
} TunTapErrnoSource;

/* The G_IO_ERROR code for @errsv coming from @source. */
GIOErrorEnum tun_tap_error_code   (int                errsv,
                                   TunTapErrnoSource  source);

/* Sets “Cannot <what>: <reason> (the kernel says “<extack>”); <advice>”.
 * @what names the device (“bring “tun0” up”); @extack (nullable) is the
 * kernel's own words from rtnetlink; @hint (nullable) replaces the table's
 * advice. */
void         tun_tap_set_error    (GError           **error,
                                   int                errsv,
                                   TunTapErrnoSource  source,
                                   const char        *what,
                                   const char        *extack,
                                   const char        *hint);

/* Binds the gettext domain GETTEXT_PACKAGE to LOCALEDIR (UTF-8); cheap
 * after the first call. */
void         tun_tap_i18n_init    (void);

G_END_DECLS
