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

/* What the caller asks of TUNSETIFF. */
typedef struct {
  gboolean    packet_info;
  gboolean    multi_queue;
  gboolean    exclusive;      /* create, never attach (IFF_TUN_EXCL) */
  gboolean    vnet_hdr;       /* IFF_VNET_HDR: offloads */
} TunTapKernelOptions;

typedef struct {
  char        name[IFNAMSIZ];
  TunTapMode  mode;
  gboolean    packet_info;    /* as asked; rtnetlink tells the truth */
  gboolean    multi_queue;
  gboolean    queue_enabled;
  gboolean    persistent;     /* IFF_PERSIST right after attaching */
  gboolean    vnet_hdr;       /* IFF_VNET_HDR */
  guint       offloads;       /* the TUN_F_* mask negotiated (vnet only) */
} TunTapKernelInfo;

gboolean tun_tap_kernel_validate_name (const char        *name,
                                       GError           **error);

/* Opens /dev/net/tun in the network namespace @netns_fd (-1: the calling
 * thread's) and attaches it with TUNSETIFF, so a new interface is created
 * there. Clears any offload mask a previous user left on the interface.
 * Applies neither owner, group nor persistence: the caller decides whether
 * it created the interface (see tun_tap_kernel_apply_access()). */
int      tun_tap_kernel_open          (const char                *name,
                                       TunTapMode                 mode,
                                       const TunTapKernelOptions *options,
                                       int                        netns_fd,
                                       TunTapKernelInfo          *info,
                                       GError                   **error);

/* TUNSETOWNER/TUNSETGROUP by the library's rule: the caller's uid as owner
 * unless @owner or @group is given (-1: not given); a group alone admits
 * the group. Call before TUNSETPERSIST. */
gboolean tun_tap_kernel_apply_access  (int                fd,
                                       const char        *name,
                                       gint64             owner,
                                       gint64             group,
                                       GError           **error);

/* The offload chain on a vnet fd: a 10-byte header (TUNSETVNETHDRSZ; a
 * persistent device may keep another size), then the best TUNSETOFFLOAD
 * mask the kernel accepts of CSUM|TSO4|TSO6|USO4|USO6, CSUM|TSO4|TSO6,
 * CSUM, 0 (never TSO_ECN). Returns the mask, or -1 with @error. */
int      tun_tap_kernel_negotiate_offloads (int           fd,
                                            const char   *name,
                                            GError      **error);

/* TUNGETDEVNETNS: an O_CLOEXEC fd of the interface's network namespace,
 * or -1 with errno (EPERM without CAP_NET_ADMIN there). */
int      tun_tap_kernel_get_netns     (int                fd);

/* SIOCGIFHWADDR on the device fd: the interface's MAC, whatever namespace
 * the caller is in (TAP; a TUN device has none that means anything). */
gboolean tun_tap_kernel_get_hwaddr    (int                fd,
                                       guint8             mac[6]);

/* TUNGETIFF: the interface's current name; 0 or an errno (EBADFD once the
 * interface was deleted). */
int      tun_tap_kernel_get_name      (int                fd,
                                       char               name[IFNAMSIZ]);

/* Learns what an attached fd is; a vnet fd gets its offloads negotiated,
 * any other has its interface's offload mask cleared. */
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

/* One packet; with @vnet_hdr an all-zero virtio-net header goes first
 * (writev, no copy) and is not counted in the result. */
ssize_t  tun_tap_kernel_write         (int                fd,
                                       gboolean           vnet_hdr,
                                       const guint8      *data,
                                       gsize              len,
                                       int               *out_errno);

void     tun_tap_kernel_set_io_error  (GError           **error,
                                       int                errsv,
                                       const char        *name,
                                       const char        *operation);

G_END_DECLS
