#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The iproute2 recipe for a persistent TUN device owned by a user, run once
# by an administrator (as root). The user's program then attaches to it by
# name with no capability:
#   tun_tap_device_new ("vpn0", TUN_TAP_MODE_TUN, &error)
# Only configuration (addresses, MTU, up) needs CAP_NET_ADMIN, so it is done
# here too. The user also needs read/write access to /dev/net/tun; where it
# is mode 0600, see 60-tuntap-glib.rules.
#
#   sh persistent-device.sh vpn0 alice 192.0.2.1/24
#
# Until the program attaches the link is up but NO-CARRIER; the kernel drops
# what is routed into it. Closing the program leaves the device, its
# addresses and its owner in place.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 DEVICE USER [ADDRESS/PREFIX]" >&2
  exit 2
fi
dev=$1 user=$2 addr=${3:-}
ip tuntap add dev "$dev" mode tun user "$user"
if [ -n "$addr" ]; then
  ip addr add "$addr" dev "$dev"
fi
ip link set "$dev" up
# Remove with: ip tuntap del dev "$dev" mode tun
