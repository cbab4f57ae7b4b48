/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(TUN_TAP_INSIDE) && !defined(__TUN_TAP_H_INSIDE__)
#error "Only <tuntap-glib/tuntap-glib.h> can be included directly."
#endif

#include <gio/gio.h>
#include <tuntap-glib/tun-tap-address.h>
#include <tuntap-glib/tun-tap-version.h>

G_BEGIN_DECLS

/**
 * TunTapMode:
 * @TUN_TAP_MODE_TUN: a TUN device: packets are IP datagrams (layer 3)
 * @TUN_TAP_MODE_TAP: a TAP device: packets are Ethernet frames (layer 2)
 *
 * The kind of virtual interface a [class@TunTap.Device] owns.
 *
 * Since: 0.1
 */
typedef enum {
  TUN_TAP_MODE_TUN,
  TUN_TAP_MODE_TAP,
} TunTapMode;

/**
 * TunTapOffloads:
 * @TUN_TAP_OFFLOADS_NONE: no offload
 * @TUN_TAP_OFFLOADS_CHECKSUM: the kernel may hand over packets whose
 *   TCP/UDP checksum is left for the reader to finish
 * @TUN_TAP_OFFLOADS_TCP_SEGMENTATION: the kernel may hand over TCP
 *   super-packets of up to 64 KiB (TSO)
 * @TUN_TAP_OFFLOADS_UDP_SEGMENTATION: the kernel may hand over UDP
 *   super-packets (USO, Linux 6.2 and later)
 *
 * What the kernel agreed to when [property@TunTap.Device:offload] is set.
 * The device finishes checksums and splits super-packets before emitting
 * them, so packets look the same to the application either way.
 *
 * Since: 0.1
 */
typedef enum {
  TUN_TAP_OFFLOADS_NONE             = 0,
  TUN_TAP_OFFLOADS_CHECKSUM         = 1 << 0,
  TUN_TAP_OFFLOADS_TCP_SEGMENTATION = 1 << 1,
  TUN_TAP_OFFLOADS_UDP_SEGMENTATION = 1 << 2,
} TunTapOffloads;

/**
 * TunTapCoalesce:
 * @TUN_TAP_COALESCE_NONE: every packet is written on its own
 * @TUN_TAP_COALESCE_TCP: TCP segments of one flow are merged
 * @TUN_TAP_COALESCE_UDP: UDP datagrams of one flow are merged (kernels
 *   with UDP segmentation offload, Linux 6.2 and later)
 *
 * What [method@TunTap.Device.send_many] merges into super-packets; see
 * [property@TunTap.Device:coalesce].
 *
 * Since: 0.1
 */
typedef enum {
  TUN_TAP_COALESCE_NONE = 0,
  TUN_TAP_COALESCE_TCP  = 1 << 0,
  TUN_TAP_COALESCE_UDP  = 1 << 1,
} TunTapCoalesce;

#define TUN_TAP_TYPE_DEVICE (tun_tap_device_get_type ())

TUN_TAP_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (TunTapDevice, tun_tap_device, TUN_TAP, DEVICE, GObject)

TUN_TAP_AVAILABLE_IN_0_1
TunTapDevice *tun_tap_device_new          (const char     *name,
                                           TunTapMode      mode,
                                           GError        **error);
TUN_TAP_AVAILABLE_IN_0_1
TunTapDevice *tun_tap_device_new_for_fd   (int             fd,
                                           GError        **error);

TUN_TAP_AVAILABLE_IN_0_1
const char   *tun_tap_device_get_name     (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
TunTapMode    tun_tap_device_get_mode     (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
int           tun_tap_device_get_fd       (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_get_packet_info (TunTapDevice *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_get_offload  (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
TunTapOffloads tun_tap_device_get_offloads (TunTapDevice  *self);
TUN_TAP_AVAILABLE_IN_0_1
void          tun_tap_device_get_offload_counters (TunTapDevice *self,
                                                   guint64      *super_packets,
                                                   guint64      *split_packets,
                                                   guint64      *malformed,
                                                   guint64      *coalesced,
                                                   guint64      *fallbacks);
TUN_TAP_AVAILABLE_IN_0_1
TunTapCoalesce tun_tap_device_get_coalesce (TunTapDevice  *self);
TUN_TAP_AVAILABLE_IN_0_1
void          tun_tap_device_set_coalesce (TunTapDevice   *self,
                                           TunTapCoalesce  coalesce);

TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_send         (TunTapDevice   *self,
                                           const guint8   *data,
                                           gsize           len,
                                           GError        **error);
TUN_TAP_AVAILABLE_IN_0_1
gint          tun_tap_device_send_many    (TunTapDevice   *self,
                                           const guint8   *data,
                                           gsize           len,
                                           const guint    *lengths,
                                           guint           n_packets,
                                           GError        **error);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_send_bytes   (TunTapDevice   *self,
                                           GBytes         *packet,
                                           GError        **error);
TUN_TAP_AVAILABLE_IN_0_1
gint          tun_tap_device_send_many_bytes (TunTapDevice *self,
                                              GBytes       *packets,
                                              const guint  *lengths,
                                              guint         n_packets,
                                              GError      **error);

TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_get_receiving (TunTapDevice  *self);
TUN_TAP_AVAILABLE_IN_0_1
void          tun_tap_device_set_receiving (TunTapDevice  *self,
                                            gboolean       receiving);
TUN_TAP_AVAILABLE_IN_0_1
void          tun_tap_device_receive_async (TunTapDevice        *self,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
TUN_TAP_AVAILABLE_IN_0_1
GBytes       *tun_tap_device_receive_finish (TunTapDevice  *self,
                                             GAsyncResult  *result,
                                             GArray       **lengths,
                                             GError       **error);

TUN_TAP_AVAILABLE_IN_0_1
void          tun_tap_device_close        (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_is_closed    (TunTapDevice   *self);

TUN_TAP_AVAILABLE_IN_0_1
int           tun_tap_device_get_ifindex  (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_get_up       (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_set_up       (TunTapDevice   *self,
                                           gboolean        up,
                                           GError        **error);
TUN_TAP_AVAILABLE_IN_0_1
guint         tun_tap_device_get_mtu      (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_set_mtu      (TunTapDevice   *self,
                                           guint           mtu,
                                           GError        **error);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_get_carrier  (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_set_carrier  (TunTapDevice   *self,
                                           gboolean        carrier,
                                           GError        **error);
TUN_TAP_AVAILABLE_IN_0_1
const char   *tun_tap_device_get_hardware_address (TunTapDevice *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_set_hardware_address (TunTapDevice  *self,
                                                   const char    *address,
                                                   GError       **error);

TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_add_address  (TunTapDevice      *self,
                                           TunTapAddress     *address,
                                           GError           **error);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_add_address_from_string (TunTapDevice  *self,
                                                      const char    *address,
                                                      const char    *peer,
                                                      GError       **error);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_remove_address (TunTapDevice      *self,
                                             TunTapAddress     *address,
                                             GError           **error);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_remove_address_from_string (TunTapDevice  *self,
                                                         const char    *address,
                                                         const char    *peer,
                                                         GError       **error);
TUN_TAP_AVAILABLE_IN_0_1
GPtrArray    *tun_tap_device_get_addresses (TunTapDevice     *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_add_route    (TunTapDevice      *self,
                                           GInetAddressMask  *destination,
                                           GInetAddress      *gateway,
                                           GError           **error);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_add_route_from_string (TunTapDevice  *self,
                                                    const char    *destination,
                                                    const char    *gateway,
                                                    GError       **error);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_remove_route (TunTapDevice      *self,
                                           GInetAddressMask  *destination,
                                           GInetAddress      *gateway,
                                           GError           **error);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_remove_route_from_string (TunTapDevice  *self,
                                                       const char    *destination,
                                                       const char    *gateway,
                                                       GError       **error);

TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_get_persistent (TunTapDevice  *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_set_persistent (TunTapDevice  *self,
                                             gboolean       persistent,
                                             GError       **error);
TUN_TAP_AVAILABLE_IN_0_1
gint64        tun_tap_device_get_owner    (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
gint64        tun_tap_device_get_group    (TunTapDevice   *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_get_multi_queue (TunTapDevice *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_get_queue_enabled (TunTapDevice *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean      tun_tap_device_set_queue_enabled (TunTapDevice  *self,
                                                gboolean       enabled,
                                                GError       **error);

G_END_DECLS
