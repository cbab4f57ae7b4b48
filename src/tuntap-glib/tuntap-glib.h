/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define __TUN_TAP_H_INSIDE__

#include <tuntap-glib/tun-tap-version.h>
#include <tuntap-glib/tun-tap-address.h>
#include <tuntap-glib/tun-tap-device.h>
#include <tuntap-glib/tun-tap-socket.h>
#include <tuntap-glib/tun-tap-enum-types.h>

#undef __TUN_TAP_H_INSIDE__
