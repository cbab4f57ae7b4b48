/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The kernel layer: everything that talks to /dev/net/tun with open(2) and
 * ioctl(2), and the translation of the driver's errno values into GErrors.
 * No GObject in here; tun-tap-device.c is the only caller.
 */
#pragma once

#include <net/if.h>
#include <sys/types.h>

#include "tun-tap-device.h"

G_BEGIN_DECLS

/* Path of the clone device; tests may point it elsewhere only through a
 * mount namespace, never through the environment. */
#define TUN_TAP_CLONE_DEVICE "/dev/net/tun"

/* Largest packet one read(2) can return: a 64 KiB GSO super-packet plus the
 * packet-information header, an Ethernet header and a VLAN tag, rounded up.
 * Reading into anything smaller silently truncates. */
#define TUN_TAP_READ_BUFFER_SIZE (65536 + 4 + 18 + 64)

/* Size of the struct tun_pi header when packet information is on. */
#define TUN_TAP_PI_HEADER_SIZE 4

/* Ethernet header size added to the MTU on a TAP device. */
#define TUN_TAP_ETH_HEADER_SIZE 14

/* What the caller asks of TUNSETIFF and the ioctls that follow it. */
typedef struct {
  gboolean    packet_info;
  gboolean    multi_queue;
  gboolean    exclusive;      /* create, never attach (IFF_TUN_EXCL) */
  gboolean    persistent;     /* TUNSETPERSIST 1 after attaching */
  gint64      owner;          /* TUNSETOWNER when creating, -1 = unset */
  gint64      group;          /* TUNSETGROUP when creating, -1 = unset */
} TunTapKernelOptions;

typedef struct {
  char        name[IFNAMSIZ];
  TunTapMode  mode;
  gboolean    packet_info;
  gboolean    multi_queue;
  gboolean    queue_enabled;
  gboolean    created;        /* this open created the interface */
} TunTapKernelInfo;

gboolean tun_tap_kernel_validate_name (const char        *name,
                                       GError           **error);

int      tun_tap_kernel_open          (const char                *name,
                                       TunTapMode                 mode,
                                       const TunTapKernelOptions *options,
                                       TunTapKernelInfo          *info,
                                       GError                   **error);

gboolean tun_tap_kernel_adopt         (int                fd,
                                       TunTapKernelInfo  *info,
                                       GError           **error);

/* Whether @fd is still attached to an interface (FALSE once deleted). */
gboolean tun_tap_kernel_is_attached   (int                fd);

gboolean tun_tap_kernel_set_persistent (int                fd,
                                        const char        *name,
                                        gboolean           persistent,
                                        GError           **error);

/* TUNSETOWNER; the kernel checks no capability for it on an attached fd. */
gboolean tun_tap_kernel_set_owner     (int                fd,
                                       const char        *name,
                                       gint64             owner,
                                       GError           **error);

gboolean tun_tap_kernel_set_queue_enabled (int              fd,
                                           const char      *name,
                                           gboolean         enabled,
                                           GError         **error);

gboolean tun_tap_kernel_set_carrier   (int                fd,
                                       const char        *name,
                                       gboolean           carrier,
                                       GError           **error);

int      tun_tap_kernel_get_mtu       (const char        *name);

/* Checks what the kernel would accept without a word and then drop:
 * the framing of one outgoing packet. Pure, no I/O (fuzzed). */
gboolean tun_tap_kernel_check_packet  (TunTapMode         mode,
                                       gboolean           packet_info,
                                       const guint8      *data,
                                       gsize              len,
                                       const char        *name,
                                       GError           **error);

ssize_t  tun_tap_kernel_write         (int                fd,
                                       const guint8      *data,
                                       gsize              len,
                                       int               *out_errno);

void     tun_tap_kernel_set_io_error  (GError           **error,
                                       int                errsv,
                                       const char        *name,
                                       const char        *operation);

G_END_DECLS
