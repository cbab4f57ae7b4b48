#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The tunnel example end to end, as root: two private network namespaces
# joined by a veth (the "wire", 203.0.113.1/24 <-> 203.0.113.2/24), a
# tunnel program in each (198.51.100.1 <-> 198.51.100.2 over UDP port
# 5000), pings both ways through it, then a TCP stream whose SHA-256 must
# arrive intact. Exits 0 only if all of that worked and both tunnels exited
# cleanly on SIGTERM; prints the stream's MB/s and each tunnel's counters.
#
# Nothing is configured outside the two namespaces: they are made with
# `unshare -n` (kept alive by a sleeping process each), the veth is created
# inside the first with its other end moved into the second, and both go
# away with the processes.
#
#   sh examples/tunnel.sh [--lang c|python|js] [--lang-a L] [--lang-b L]
#                         [--no-offload] [--no-udp-offload] [--megabytes N] [--build DIR]
#                         [--wire-rate RATE] [--ipv6] [--point-to-point]
#
# --lang picks the program for both sides, --lang-a/--lang-b for one (C
# on one side and Python on the other, say); --build is the meson build
# directory (default _build next to this script's directory), used for the
# C program and, when present, the uninstalled library and typelib.
# --no-offload and --no-udp-offload are passed to both programs.
# --ipv6 runs both the wire (2001:db8::/64) and the tunnel (2001:db8:1::/64)
# on IPv6 instead. --point-to-point gives the tunnel addresses as
# point-to-point peers (IPv4): A --address 198.51.100.1 --peer-address
# 198.51.100.2, B the same with the prefix on the peer (198.51.100.1/24).
# --wire-rate (a tc rate such as 300mbit) makes the wire slower than the
# tunnel with a token bucket that queues up to 1 s: the senders' sockets
# then fill, and the tunnels must pause their devices without losing a
# packet of their own (they count any they lose; this checks the counts).
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=$srcdir/_build
lang_a=c lang_b=c offload='' megabytes=50 wire_rate='' p2p=''
wire_a=203.0.113.1 wire_b=203.0.113.2 wire_prefix=24
inner_a=198.51.100.1 inner_b=198.51.100.2 inner_prefix=24

while [ $# -gt 0 ]; do
  case $1 in
    --lang) lang_a=$2 lang_b=$2; shift 2 ;;
    --lang-a) lang_a=$2; shift 2 ;;
    --lang-b) lang_b=$2; shift 2 ;;
    --no-offload|--no-udp-offload) offload="$offload $1"; shift ;;
    --megabytes) megabytes=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --wire-rate) wire_rate=$2; shift 2 ;;
    --point-to-point) p2p=1; shift ;;
    --ipv6)
      wire_a=2001:db8::1 wire_b=2001:db8::2 wire_prefix=64
      inner_a=2001:db8:1::1 inner_b=2001:db8:1::2 inner_prefix=64
      shift ;;
    *) echo "usage: $0 [--lang c|python|js] [--lang-a L] [--lang-b L] [--no-offload] [--no-udp-offload] [--megabytes N] [--build DIR] [--wire-rate RATE] [--ipv6] [--point-to-point]" >&2
       exit 2 ;;
  esac
done

if [ -d "$build/src" ]; then
  export LD_LIBRARY_PATH="$build/src${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export GI_TYPELIB_PATH="$build/introspection${GI_TYPELIB_PATH:+:$GI_TYPELIB_PATH}"
fi

for lang in "$lang_a" "$lang_b"; do
  case $lang in
    c|python|js) ;;
    *) echo "unknown language $lang (c, python or js)" >&2; exit 2 ;;
  esac
done

tmp=$(mktemp -d)
nsa='' nsb='' tun_a='' tun_b='' receiver=''
cleanup() {
  for p in $receiver $tun_a $tun_b $nsa $nsb; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.out "$tmp"/*.err; do
    [ -s "$f" ] && { echo "--- $(basename "$f"):" >&2; cat "$f" >&2; }
  done
  exit 1
}

. "$srcdir/examples/netns-pair.sh"
netns_pair
in_a ip link add wire type veth peer name wire netns "$nsb" || fail "cannot create the veth"
# nodad: an IPv6 address is usable at once (no other host on this wire).
nodad=
case $wire_a in *:*) nodad=nodad ;; esac
in_a ip addr add $wire_a/$wire_prefix dev wire $nodad && in_a ip link set wire up || fail "wire in A"
in_b ip addr add $wire_b/$wire_prefix dev wire $nodad && in_b ip link set wire up || fail "wire in B"
# ADDR:PORT, IPv6 in brackets.
endpoint() {
  case $1 in *:*) echo "[$1]:5000" ;; *) echo "$1:5000" ;; esac
}
if [ -n "$wire_rate" ]; then
  for side in a b; do
    in_$side tc qdisc add dev wire root tbf rate "$wire_rate" burst 64kb latency 1s ||
      fail "tc on the wire in $side"
  done
fi

# start SIDE LANG ARGS...: runs the tunnel in language LANG (c, python or
# js) with ARGS in namespace SIDE (a or b) and waits for its "ready IFNAME"
# line. The program's path is one word, whatever spaces it holds.
start() {
  side=$1 lang=$2
  shift 2
  case $lang in
    c) set -- "$build/examples/tunnel" "$@" ;;
    python) set -- /usr/bin/python3 "$srcdir/examples/tunnel.py" "$@" ;;
    js) set -- gjs -m "$srcdir/examples/tunnel.js" "$@" ;;
  esac
  ns=$nsa
  [ "$side" = b ] && ns=$nsb
  nsenter -t "$ns" -n "$@" >"$tmp/tunnel-$side.out" 2>"$tmp/tunnel-$side.err" </dev/null &
  pid=$!
  for _ in $(seq 200); do
    grep -q '^ready ' "$tmp/tunnel-$side.out" && break
    kill -0 "$pid" 2>/dev/null || fail "tunnel $side exited before it was ready"
    sleep 0.05
  done
  grep -q '^ready ' "$tmp/tunnel-$side.out" || fail "tunnel $side never printed its ready line"
  echo "tunnel $side ($*): $(head -n 1 "$tmp/tunnel-$side.out")"
}

address_a="--address $inner_a/$inner_prefix" address_b="--address $inner_b/$inner_prefix"
if [ -n "$p2p" ]; then
  address_a="--address $inner_a --peer-address $inner_b"
  address_b="--address $inner_b --peer-address $inner_a/$inner_prefix"
fi
# shellcheck disable=SC2086
start a "$lang_a" --local "$(endpoint $wire_a)" --peer "$(endpoint $wire_b)" \
  $address_a --name tunnel0 $offload
tun_a=$pid
# shellcheck disable=SC2086
start b "$lang_b" --local "$(endpoint $wire_b)" --peer "$(endpoint $wire_a)" \
  $address_b --name tunnel0 $offload
tun_b=$pid

# Every ping answered (ping's status alone accepts a partial loss).
in_a ping -c 3 -i 0.2 -W 2 $inner_b >"$tmp/ping-a.out" 2>&1 &&
  grep -q ' 3 received' "$tmp/ping-a.out" || fail "ping from A to B through the tunnel"
in_b ping -c 3 -i 0.2 -W 2 $inner_a >"$tmp/ping-b.out" 2>&1 &&
  grep -q ' 3 received' "$tmp/ping-b.out" || fail "ping from B to A through the tunnel"
echo "ping A -> B and B -> A: 3 of 3 each"

# The stream: B listens, A sends MEGABYTES of pseudo-random bytes and
# shuts down its side; B answers with the byte count and SHA-256 it
# received, which A compares with what it sent.
cat >"$tmp/stream.py" <<'EOF'
import hashlib, random, socket, sys, time

role, address = sys.argv[1], sys.argv[2]
if role == "receive":
    s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, 5001))
    s.listen(1)
    s.settimeout(120)
    print("listening", flush=True)
    c, _ = s.accept()
    c.settimeout(120)
    h, n = hashlib.sha256(), 0
    while b := c.recv(1 << 18):
        h.update(b)
        n += len(b)
    c.sendall(f"{n} {h.hexdigest()}\n".encode())
    c.close()
else:
    total = int(sys.argv[3]) * 1000 * 1000
    chunk = random.Random(12).randbytes(1 << 20)
    h, n = hashlib.sha256(), 0
    c = socket.create_connection((address, 5001), timeout=60)
    start = time.monotonic()
    while n < total:
        # Each MiB differs from the last: a lost or repeated one shows.
        k = (n >> 20) * 4099 % len(chunk)
        b = chunk[k:] + chunk[:k]
        b = b[:total - n]
        c.sendall(b)
        h.update(b)
        n += len(b)
    c.shutdown(socket.SHUT_WR)
    answer = c.makefile().readline().split()
    seconds = time.monotonic() - start
    if answer != [str(n), h.hexdigest()]:
        print(f"sent {n} bytes with SHA-256 {h.hexdigest()}, the receiver got {answer}")
        sys.exit(1)
    print(f"{n / 1e6:.0f} MB in {seconds:.2f} s: {n / 1e6 / seconds:.1f} MB/s, SHA-256 matches")
EOF

in_b /usr/bin/python3 "$tmp/stream.py" receive $inner_b >"$tmp/receiver.out" 2>&1 &
receiver=$!
for _ in $(seq 100); do
  grep -q listening "$tmp/receiver.out" && break
  sleep 0.05
done
in_a /usr/bin/python3 "$tmp/stream.py" send $inner_b "$megabytes" >"$tmp/sender.out" 2>&1 ||
  fail "the TCP stream through the tunnel"
wait $receiver || fail "the stream's receiver"
receiver=
echo "TCP A -> B: $(cat "$tmp/sender.out")"

# With a slow wire, a UDP flood from A for 1 s: A's socket fills, A pauses
# its device (the kernel's queue in front of it then drops, as a real
# link's would), and A itself must lose nothing.
if [ -n "$wire_rate" ]; then
  in_a /usr/bin/python3 -c '
import socket, sys, time
address = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
payload = bytes(1300)
end = time.monotonic() + 1
while time.monotonic() < end:
    try:
        s.sendto(payload, (address, 9))
    except OSError:
        pass
' $inner_b || fail "the UDP flood"
  # The wire's queue (1 s at most) drains; then A has sent what it kept.
  sleep 1.2
  echo "UDP flood A -> B for 1 s over a $wire_rate wire"
fi

# Both tunnels stop cleanly, A on SIGTERM and B on SIGINT, and print
# their counters, and the CPU time they used (user + system, whole run).
hz=$(getconf CLK_TCK)
for side in a b; do
  eval pid=\$tun_$side
  cpu=$(awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat")
  echo "tunnel $side: $cpu CPU-s"
  sig=TERM
  [ $side = b ] && sig=INT
  kill -$sig "$pid"
  wait "$pid" || fail "tunnel $side exited with status $? on SIG$sig"
  eval tun_$side=
  sed -n '2,$s/^/  /p' "$tmp/tunnel-$side.out"
done
if [ -n "$wire_rate" ]; then
  summary=$(sed -n 2p "$tmp/tunnel-a.out")
  case $summary in
    *" 0 pauses"*) fail "tunnel A never paused its device during the flood" ;;
  esac
  sed -n 3p "$tmp/tunnel-a.out" | grep -q 'dropped 0 to the peer' ||
    fail "tunnel A lost packets of its own instead of pausing its device"
fi
