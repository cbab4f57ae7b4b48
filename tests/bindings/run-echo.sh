#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs one echo example with --reply and checks it end to end: it
# configures its own link from --address/--peer/--mtu (no `ip addr` or `ip
# link` here; `ip` only checks the result), prints the device name first,
# `ping -c 3 -W 2` gets 3 replies over IPv4 and over IPv6, each echo request
# is described on a line of its own in the shared format, and the signal
# makes it exit 0 after its summary line. Bad link options make it exit 1
# (2 for a second --peer) with a message and leave no interface behind.
#
# Usage (under unshare -n): run-echo.sh tun|tap TERM|INT COMMAND...
set -u

mode=$1 sig=$2
shift 2

. "$(dirname "$0")/script-setup.sh"

# The link configuration, through the example's own options. With a TUN
# the IPv4 address has a point-to-point peer (the recipe's `ifconfig tun0
# A B`); an IPv6 peer address makes no route there, so IPv6 uses a prefix.
case $mode in
  tun) set -- "$@" --address 192.0.2.1 --peer 192.0.2.2 ;;
  tap) set -- "$@" --tap --address 192.0.2.1/24 ;;
  *) echo "usage: $0 tun|tap TERM|INT COMMAND..." >&2; exit 2 ;;
esac
set -- "$@" --address 2001:db8::1/64 --mtu 1400

# Refused configurations: a message on stderr, nothing on stdout (no
# device name), the status, and no interface left behind.
refused() {
  want=$1
  shift
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  status=$?
  [ $status -eq "$want" ] || fail "exit status $status, not $want, for: $*"
  [ -s "$tmp/err" ] || fail "no message on stderr for: $*"
  [ ! -s "$tmp/out" ] || fail "output on stdout for: $*"
  [ "$(ip -o link show | grep -vc ': lo:')" -eq 0 ] || fail "an interface was left behind by: $*"
  rm -f "$tmp/out" "$tmp/err"
}
refused 1 "$@" --mtu 70000
refused 1 "$@" --address 198.51.100.1/32 --peer 2001:db8::2
refused 1 "$@" --address 2001:db8::1/64
refused 2 "$@" --address 198.51.100.1 --peer 198.51.100.2 --peer 198.51.100.3

"$@" --reply >"$tmp/out" 2>"$tmp/err" &
pid=$!

# The device name comes first, on its own line, flushed.
name=
for _ in $(seq 100); do
  name=$(head -n 1 "$tmp/out")
  [ -n "$name" ] && break
  kill -0 "$pid" 2>/dev/null || fail "$* exited before printing the device name"
  sleep 0.1
done
echo "$name" | grep -Eqx "${mode}[0-9]+" || fail "first line '$name' is not a $mode device name"

# The name comes after the configuration: the link is ready now. Check it
# against the kernel.
link=$(ip -o link show dev "$name") || fail "no link $name"
echo "$link" | grep -Eq "^[0-9]+: $name: <([A-Z_-]+,)*UP[,>]" || fail "$name is not up: $link"
echo "$link" | grep -q " mtu 1400 " || fail "the MTU of $name is not 1400: $link"
addrs=$(ip -o addr show dev "$name")
if [ "$mode" = tun ]; then
  want4="inet 192.0.2.1 peer 192.0.2.2/32 "
else
  want4="inet 192.0.2.1/24 "
fi
for want in "$want4" "inet6 2001:db8::1/64 "; do
  echo "$addrs" | grep -qF "$want" || fail "no '$want' on $name: $addrs"
done

for target in 192.0.2.2 2001:db8::2; do
  ping -n -c 3 -W 2 -i 0.2 "$target" >"$tmp/ping" 2>&1
  status=$?
  cat "$tmp/ping"
  if [ $status -ne 0 ] || ! grep -q '3 packets transmitted, 3 received' "$tmp/ping"; then
    fail "ping $target did not get 3 replies"
  fi
done

# ping does not check checksums itself; the kernel counts bad ones.
counter() {
  awk -v name="$1" '
    FILENAME ~ /snmp6$/ && $1 == name { print $2 }
    FILENAME ~ /snmp$/ && !($1 in names) { for (i = 2; i <= NF; i++) names[$1, i] = $i; names[$1] = 1; next }
    FILENAME ~ /snmp$/ { for (i = 2; i <= NF; i++) if (substr($1, 1, length($1) - 1) names[$1, i] == name) print $i }
  ' /proc/net/snmp /proc/net/snmp6
}
for c in IcmpInCsumErrors:0 Icmp6InCsumErrors:0 IcmpInEchoReps:3 Icmp6InEchoReplies:3; do
  [ "$(counter "${c%:*}")" = "${c#*:}" ] || fail "${c%:*} is $(counter "${c%:*}"), not ${c#*:}"
done

kill -"$sig" "$pid"
status=0
wait "$pid" || status=$?
pid=
[ $status -eq 0 ] || fail "exit status $status after SIG$sig"
cat "$tmp/out"

count() {
  grep -cxF "$name: $1" "$tmp/out"
}
[ "$(count '84 bytes IPv4 ICMP 192.0.2.1 > 192.0.2.2 type 8')" -eq 3 ] ||
  fail "not 3 lines for the IPv4 echo requests"
[ "$(count '104 bytes IPv6 ICMPv6 2001:db8::1 > 2001:db8::2 type 128')" -eq 3 ] ||
  fail "not 3 lines for the IPv6 echo requests"
if [ "$mode" = tap ]; then
  [ "$(count '42 bytes ARP request 192.0.2.1 > 192.0.2.2')" -ge 1 ] ||
    fail "no line for the ARP request"
  [ "$(count '72 bytes IPv6 ICMPv6 2001:db8::1 > ff02::1:ff00:2 type 135')" -ge 1 ] ||
    fail "no line for the neighbour solicitation"
fi

# Every other line is a packet, and the last one the summary.
lines=$(wc -l <"$tmp/out")
last=$(tail -n 1 "$tmp/out")
# "NAME: packets received: N, sent: M" (so never "1 packets").
counts=$(echo "$last" | sed -nE "s/^$name: packets received: ([0-9]+), sent: ([0-9]+)\$/\\1 \\2/p")
[ -n "$counts" ] || fail "last line '$last' is not the summary"
received=${counts% *}
sent=${counts#* }
[ "$received" -eq $((lines - 2)) ] || fail "$received packets received but $((lines - 2)) lines"
if [ "$sent" -lt 6 ] || [ "$sent" -gt "$received" ]; then
  fail "$sent packets sent"
fi
[ ! -s "$tmp/err" ] || fail "the example wrote to stderr"
echo "PASS: $* ($mode, SIG$sig)"
