/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Why the kernel refused TUNSETIFF, in words: the kernel says only EPERM,
 * EBUSY or EINVAL; this looks at what else there is to tell the caller
 * what to do (which process holds a busy device, whether the name is
 * taken by another kind of interface). Only on that error path, never on
 * a packet's.
 */
#pragma once

#include <gio/gio.h>

#include "tun-tap-kernel.h"

G_BEGIN_DECLS

/* Sets @error for TUNSETIFF's @errsv on “@display_name” (of @mode, in the
 * namespace @netns_fd; -1: the calling thread's). */
void tun_tap_kernel_explain_setiff (GError     **error,
                                    int          errsv,
                                    const char  *display_name,
                                    TunTapMode   mode,
                                    int          netns_fd);

G_END_DECLS
