#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The iproute2 recipe for a persistent TUN device owned by a user, run once
# by an administrator (as root). The user's program then attaches to it by
# name with no capability; only configuration (addresses, MTU, up) needs
# CAP_NET_ADMIN, so do that here too.
#
#   sh persistent-device.sh vpn0 alice 192.0.2.1/24
set -eu
dev=$1 user=$2 addr=${3:-}
ip tuntap add dev "$dev" mode tun user "$user"
if [ -n "$addr" ]; then
  ip addr add "$addr" dev "$dev"
fi
ip link set "$dev" up
# Remove with: ip tuntap del dev "$dev" mode tun
