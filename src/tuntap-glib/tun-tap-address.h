/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(TUN_TAP_INSIDE) && !defined(__TUN_TAP_H_INSIDE__)
#error "Only <tuntap-glib/tuntap-glib.h> can be included directly."
#endif

#include <gio/gio.h>
#include <tuntap-glib/tun-tap-version.h>

G_BEGIN_DECLS

/**
 * TunTapAddressFlags:
 * @TUN_TAP_ADDRESS_FLAGS_NONE: the address is usable
 * @TUN_TAP_ADDRESS_FLAGS_TENTATIVE: IPv6 duplicate address detection is
 *   still running: the address cannot be used yet (`tentative` in
 *   `ip addr`)
 * @TUN_TAP_ADDRESS_FLAGS_DEPRECATED: its preferred lifetime is over: it
 *   still works, but new connections avoid it (`deprecated`)
 * @TUN_TAP_ADDRESS_FLAGS_DAD_FAILED: IPv6 duplicate address detection
 *   found the address in use elsewhere: it will not be used (`dadfailed`)
 *
 * What the kernel says about the state of an interface address. Addresses
 * the library adds skip duplicate address detection (the link is
 * virtual), so they are never tentative; addresses added by other programs
 * may be.
 *
 * Since: 0.1
 */
typedef enum {
  TUN_TAP_ADDRESS_FLAGS_NONE       = 0,
  TUN_TAP_ADDRESS_FLAGS_TENTATIVE  = 1 << 0,
  TUN_TAP_ADDRESS_FLAGS_DEPRECATED = 1 << 1,
  TUN_TAP_ADDRESS_FLAGS_DAD_FAILED = 1 << 2,
} TunTapAddressFlags;

#define TUN_TAP_TYPE_ADDRESS (tun_tap_address_get_type ())

typedef struct _TunTapAddress TunTapAddress;

TUN_TAP_AVAILABLE_IN_0_1
GType               tun_tap_address_get_type          (void) G_GNUC_CONST;

TUN_TAP_AVAILABLE_IN_0_1
TunTapAddress      *tun_tap_address_new               (GInetAddress        *address,
                                                       guint                prefix_length,
                                                       GInetAddress        *peer);
TUN_TAP_AVAILABLE_IN_0_1
TunTapAddress      *tun_tap_address_new_from_string   (const char          *text,
                                                       GError             **error);
TUN_TAP_AVAILABLE_IN_0_1
TunTapAddress      *tun_tap_address_ref               (TunTapAddress       *self);
TUN_TAP_AVAILABLE_IN_0_1
void                tun_tap_address_unref             (TunTapAddress       *self);

TUN_TAP_AVAILABLE_IN_0_1
GInetAddress       *tun_tap_address_get_address       (const TunTapAddress *self);
TUN_TAP_AVAILABLE_IN_0_1
guint               tun_tap_address_get_prefix_length (const TunTapAddress *self);
TUN_TAP_AVAILABLE_IN_0_1
GInetAddress       *tun_tap_address_get_peer          (const TunTapAddress *self);
TUN_TAP_AVAILABLE_IN_0_1
GSocketFamily       tun_tap_address_get_family        (const TunTapAddress *self);
TUN_TAP_AVAILABLE_IN_0_1
TunTapAddressFlags  tun_tap_address_get_flags         (const TunTapAddress *self);

TUN_TAP_AVAILABLE_IN_0_1
char               *tun_tap_address_to_string         (const TunTapAddress *self);
TUN_TAP_AVAILABLE_IN_0_1
gboolean            tun_tap_address_equal             (const TunTapAddress *self,
                                                       const TunTapAddress *other);
TUN_TAP_AVAILABLE_IN_0_1
guint               tun_tap_address_hash              (const TunTapAddress *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TunTapAddress, tun_tap_address_unref)

G_END_DECLS
