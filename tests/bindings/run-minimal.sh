#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs one of examples/minimal.{c,py,js} as a new user would and checks
# that it does what its comment says: `--help` creates nothing; without it
# the device comes up with 192.0.2.1 peer 192.0.2.2, three pings to
# 192.0.2.2 are printed as 84-byte packets, and each is written back (the
# interface's RX counter: what the program sent to the kernel). An echo request written back unchanged is addressed
# to the peer, so ping itself gets no reply; that is not checked.
#
# Usage (under unshare -n): run-minimal.sh PATTERN COMMAND...
#   PATTERN: what a line for an 84-byte IPv4 packet looks like (grep -E)
set -u
pattern=$1
shift

. "$(dirname "$0")/script-setup.sh"

# `--help` (a new user's first try) says what the program does and creates
# nothing: outside a namespace it would configure the machine's network.
timeout 10 "$@" --help >"$tmp/out" 2>"$tmp/err" </dev/null || fail "$* --help exited with $?"
grep -q "unshare -n" "$tmp/out" || fail "$* --help does not say to use unshare -n"
[ -z "$(ip -o link show type tun)" ] || fail "$* --help created a device"

# Line-buffered, as on a terminal: the C program's g_print() would
# otherwise sit in a pipe's buffer when it is killed.
stdbuf -oL "$@" >"$tmp/out" 2>"$tmp/err" </dev/null &
pid=$!

# The program adds the address, then sets the link up: wait for both (a
# check right after the address once caught the link a moment before up).
name=
for _ in $(seq 100); do
  name=$(ip -o addr show | awk '/inet 192\.0\.2\.1 peer 192\.0\.2\.2\/32/ { print $2 }')
  [ -n "$name" ] && ip -o link show dev "$name" | grep -Eq "<([A-Z_-]+,)*UP[,>]" && break
  kill -0 "$pid" 2>/dev/null || fail "$* exited"
  sleep 0.1
done
[ -n "$name" ] || fail "no interface with 192.0.2.1 peer 192.0.2.2 after 10 s"
ip -o link show dev "$name" | grep -Eq "<([A-Z_-]+,)*UP[,>]" || fail "$name is not up after 10 s"

rx() {
  awk -v dev="$name:" '$1 == dev { print $3 }' /proc/net/dev
}
rx_before=$(rx)
ping -n -c 3 -i 0.2 -W 1 192.0.2.2 >/dev/null 2>&1
sleep 0.3
rx_after=$(rx)

kill -TERM "$pid"
wait "$pid" 2>/dev/null
pid=

lines=$(grep -Ec "^$name: $pattern\$" "$tmp/out")
[ "$lines" -ge 3 ] || fail "$lines lines for the 3 pings (want '$name: $pattern')"
[ $((rx_after - rx_before)) -ge 3 ] || fail "$((rx_after - rx_before)) packets written back, not 3"
[ ! -s "$tmp/err" ] || fail "the example wrote to stderr"
echo "PASS: $* printed $lines pings on $name and wrote $((rx_after - rx_before)) packets back"
