#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The echo demo end to end, from a fresh Debian 12 machine, as root:
# installs the dependencies, builds, and in a private network namespace (the
# machine's own network is never touched) runs examples/echo-gmain --reply on
# a TUN device, which configures its own addresses and brings the link up
# through the library (no ip, no ifconfig), and pings through it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/_build}
cd "$top"

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  sh tests/install-deps.sh
fi
[ -d "$build" ] || meson setup "$build" -Dintrospection=enabled
ninja -C "$build" examples/echo-gmain

exec unshare --net sh -eu -c '
  echo_bin=$1
  log=$(mktemp)
  trap "rm -f $log" EXIT
  "$echo_bin" --name demo0 --reply \
    --address 192.0.2.1 --peer 192.0.2.2 --address 2001:db8::1/64 >"$log" 2>&1 &
  pid=$!
  # echo-gmain prints the device name once the link is configured and up.
  for i in $(seq 50); do [ -s "$log" ] && break; sleep 0.1; done
  echo "== ping 192.0.2.2 (answered by echo-gmain through demo0)"
  ping -c 3 -i 0.3 -W 2 192.0.2.2
  echo "== ping 2001:db8::2"
  ping -6 -c 3 -i 0.3 -W 2 2001:db8::2
  kill -INT $pid
  wait $pid
  echo "== what echo-gmain saw"
  cat "$log"
' demo "$build/examples/echo-gmain"
