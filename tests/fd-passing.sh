#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Running without root, end to end, in a private network namespace:
#  1. echo-fd-client runs as an unprivileged uid with no capability and
#     listens on a Unix socket; tun-helper (root) creates a TUN device,
#     gives it an address, brings it up and passes its fd over the socket;
#     ping gets 3 answers from the client. The device goes away with the
#     client.
#  2. The same with a persistent device owned by that uid: it outlives the
#     client, and echo-gmain running as that uid (with a 0666 /dev/net/tun
#     in a private mount namespace, as the udev rule in data/ gives) attaches
#     to it by name and answers ping too.
#
# Usage (under unshare -n): fd-passing.sh TUN-HELPER ECHO-FD-CLIENT ECHO-GMAIN
set -u

helper=$1 client=$2 echo_gmain=$3
uid=4242

# Only ever in a namespace of our own: the caller's must stay untouched.
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/$PPID/ns/net)" ]; then
  echo "Bail out! not in a private network namespace; run under unshare -n" >&2
  exit 99
fi
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null ||
   ! grep -Eq '^ +0 +0 +4294967295$' /proc/self/uid_map; then
  echo "SKIP: needs real root and setpriv to switch to uid $uid" >&2
  exit 77
fi
ip link set lo up

tmp=$(mktemp -d)
chmod 0755 "$tmp"
# The client's socket lives in a directory only the client's uid can use.
mkdir "$tmp/run"
chown "$uid:$uid" "$tmp/run"
chmod 0700 "$tmp/run"
sock=$tmp/run/tun.sock
pid=

trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in out err helper-out helper-err; do
    [ -s "$tmp/$f" ] && { echo "--- $f:" >&2; cat "$tmp/$f" >&2; }
  done
  exit 1
}

# Waits until line $1 of the client's output exists; prints it.
line() {
  for _ in $(seq 100); do
    l=$(sed -n "$1p" "$tmp/out")
    [ -n "$l" ] && { echo "$l"; return 0; }
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# The process runs as $uid with no capability, as the kernel sees it.
check_unprivileged() {
  grep -Eq "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid$" /proc/"$pid"/status ||
    fail "pid $pid does not run as uid $uid"
  grep -q "^CapEff:[[:space:]]*0000000000000000$" /proc/"$pid"/status ||
    fail "pid $pid has capabilities: $(grep Cap /proc/"$pid"/status)"
}

ping3() {
  ping -n -c 3 -W 2 -i 0.2 192.0.2.2 >"$tmp/ping" 2>&1
  status=$?
  cat "$tmp/ping"
  [ $status -eq 0 ] && grep -q '3 packets transmitted, 3 received' "$tmp/ping" ||
    fail "ping 192.0.2.2 did not get 3 replies"
}

stop() {
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  pid=
  [ $status -eq 0 ] || fail "exit status $status after SIGTERM"
  [ "$(grep -cxF "$1: 84 bytes IPv4 ICMP 192.0.2.1 > 192.0.2.2 type 8" "$tmp/out")" -eq 3 ] ||
    fail "not 3 lines for the echo requests"
  [ ! -s "$tmp/err" ] || fail "the unprivileged program wrote to stderr"
}

# run NAME HELPER-OPTION...
run() {
  name=$1
  shift
  : >"$tmp/out"
  # Directly, not through a function, so $! is the client itself.
  setpriv --clear-groups --reuid "$uid" --regid "$uid" --inh-caps=-all \
    "$client" --socket "$sock" --reply >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  [ "$(line 1)" = "listening on $sock" ] || fail "the client did not start listening"
  check_unprivileged

  "$helper" --socket "$sock" --address 192.0.2.1 --peer 192.0.2.2 "$@" "$name" \
    >"$tmp/helper-out" 2>"$tmp/helper-err" || fail "tun-helper $* $name failed"
  [ "$(cat "$tmp/helper-out")" = "$name" ] || fail "tun-helper did not print $name"
  [ "$(line 2)" = "$name" ] || fail "the client did not adopt $name"
  check_unprivileged

  ping3
  stop "$name"
  echo "PASS: $name passed to uid $uid by tun-helper $*"
}

# 1. A plain device: it lives exactly as long as the client's fd.
run tl-pass
ip link show tl-pass >/dev/null 2>&1 && fail "tl-pass outlived the client"

# 2. A persistent device owned by $uid.
run tl-ppass --persistent --owner "$uid"
details=$(ip -d link show tl-ppass) || fail "tl-ppass did not outlive the client"
echo "$details"
echo "$details" | grep -q "persist on" || fail "tl-ppass is not persistent"
echo "$details" | grep -q "user $uid " || fail "tl-ppass is not owned by uid $uid"

# ... which its owner reattaches to by name, without the helper. A private
# 0666 node stands in for the udev rule (the host's may be 0600).
unshare -m sh -c '
  mount -t tmpfs -o mode=0755 tmpfs /dev/net &&
  mknod -m 0666 /dev/net/tun c 10 200 &&
  exec setpriv --clear-groups --reuid "$0" --regid "$0" --inh-caps=-all "$1" --name tl-ppass --reply
' "$uid" "$echo_gmain" >"$tmp/out" 2>"$tmp/err" &
pid=$!
[ "$(line 1)" = tl-ppass ] || fail "echo-gmain did not attach to tl-ppass as uid $uid"
check_unprivileged
ping3
stop tl-ppass
echo "PASS: tl-ppass reattached by its owner, uid $uid"

ip link show tl-ppass >/dev/null 2>&1 || fail "tl-ppass did not outlive its owner's program"
ip tuntap del dev tl-ppass mode tun
