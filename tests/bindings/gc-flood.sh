#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What gjs does with a flood of TUN packets, per packet and in batches
# (issue 13): gjs 1.74 refuses to call JavaScript while its garbage collector
# is sweeping, logging "Attempting to call back into JSAPI during the
# sweeping phase of GC" and dropping the call. A ::packet-received handler
# runs once per packet, makes garbage once per packet, and is refused: each
# refusal is a packet lost. Timers and async callbacks are refused too, and
# once no JavaScript runs the sweep never finishes, so the process may stop
# handling anything at all. ::packets-received runs once per main-loop
# wake-up (up to 256 packets) and was never refused here.
#
# Checked (gc-flood.js floods and handles the packets):
#  - batch, 100,000 packets: the run ends, not one refusal, every packet the
#    kernel handed over reached the handler, and the 100 ms ticker still
#    runs;
#  - per packet, 80,000 packets, each copied out of its GLib.Bytes: every
#    packet is either delivered or refused by gjs (the library loses none).
#    With gjs 1.74.2 the first refusals come after about 40,000 packets (the
#    first sweep that does not finish in one slice), and from then on every
#    callback is refused: the run never ends, and is killed a second after
#    the first refusal. Refusals are counted and printed. With gjs 1.74 a
#    run without refusals passes with a note; with a later gjs it fails:
#    gjs may have fixed it, and the warnings in src/tun-tap-device.c,
#    introspection/*.md and README.md should be revisited (then this test).
#
# Usage (under unshare -n): gc-flood.sh GJS GC-FLOOD-JS
set -u
gjs=$1 script=$2

. "$(dirname "$0")/script-setup.sh"

# The interface's TX packets in /proc/net/dev (this namespace's).
kernel_tx() {
  awk -v dev="$1:" '$1 == dev { print $11 }' /proc/net/dev
}

now_ms() {
  echo $(( $(date +%s%N) / 1000000 ))
}

# flood MODE PACKETS: runs gc-flood.js; sets ended (yes/no), delivered, tx,
# ticker, refused_signal (refused handler calls), refused_other (timers,
# async callbacks).
flood() {
  "$gjs" -m "$script" "$1" "$2" >"$tmp/out" 2>"$tmp/err" </dev/null &
  pid=$!
  # A run that was refused once is given one more second; none should take
  # 20 s (the flooder's own limit).
  deadline=$(( $(now_ms) + 20000 ))
  ended=no
  while [ "$(now_ms)" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      ended=yes
      break
    fi
    if [ "$deadline" -gt "$(( $(now_ms) + 1000 ))" ] && grep -q 'JS callback not invoked' "$tmp/err"; then
      deadline=$(( $(now_ms) + 1000 ))
    fi
    sleep 0.1
  done
  name=$(head -n 1 "$tmp/out")
  if [ $ended = yes ]; then
    status=0
    wait "$pid" || status=$?
    pid=
    [ $status -eq 0 ] || fail "gc-flood.js $1 exited with status $status"
    result=$(sed -n 2p "$tmp/out")
    delivered=$(echo "$result" | sed -nE 's/.*delivered=([0-9]+).*/\1/p')
    tx=$(echo "$result" | sed -nE 's/.*kernel_tx=([0-9]+).*/\1/p')
    ticker=$(echo "$result" | sed -nE 's/.*ticker_alive=([a-z]+).*/\1/p')
    [ -n "$delivered" ] && [ -n "$tx" ] || fail "no result line from gc-flood.js $1"
  else
    [ -n "$name" ] || fail "gc-flood.js $1 never printed its device name"
    grep -q 'JS callback not invoked' "$tmp/err" || fail "gc-flood.js $1 $2 did not end within 20 s, and no refusal"
    tx=$(kernel_tx "$name")
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    pid=
    delivered=unknown ticker=unknown
  fi
  refused_signal=$(grep -c 'The offending signal was packet' "$tmp/err")
  refused_other=$(grep -c 'The offending callback was' "$tmp/err")
  echo "# $1: ended=$ended kernel_tx=$tx delivered=$delivered refused_handlers=$refused_signal" \
       "refused_other_callbacks=$refused_other ticker_alive=$ticker"
}

version=$("$gjs" --version)
echo "# $version"

flood batch 100000
[ $ended = yes ] || fail "the batch run stopped handling packets ($refused_signal + $refused_other refusals)"
[ "$refused_signal" -eq 0 ] && [ "$refused_other" -eq 0 ] ||
  fail "gjs refused ::packets-received $refused_signal times, other callbacks $refused_other times"
! grep -q 'CRITICAL\|WARNING' "$tmp/err" || fail "warnings on the batch path"
[ "$delivered" -eq "$tx" ] || fail "batch: $delivered delivered, the kernel handed over $tx"
[ "$ticker" = true ] || fail "batch: the 100 ms ticker stopped"
[ "$tx" -gt 1000 ] || fail "batch: only $tx packets: no flood"
echo "ok 1 - packets-received under a flood: all $tx packets delivered, no refusal"

flood one 80000
if [ $ended = yes ]; then
  [ $((delivered + refused_signal)) -eq "$tx" ] ||
    fail "per packet: $delivered delivered + $refused_signal refused is not the $tx the kernel handed over"
else
  [ "$refused_signal" -le "$tx" ] ||
    fail "per packet: $refused_signal refusals but the kernel handed over only $tx"
fi
if [ "$refused_signal" -gt 0 ]; then
  echo "# gjs refused ::packet-received $refused_signal times (each a packet lost)" \
       "and $refused_other other callbacks; the run $( [ $ended = yes ] && echo ended || echo 'stopped handling anything')"
  echo "ok 2 - packet-received under a flood: $version refuses handlers while its GC sweeps, as documented"
else
  case $version in
    "gjs 1.74."*)
      echo "ok 2 - packet-received under a flood: no refusal in 80,000 packets this time" \
           "(gjs 1.74 usually refuses; see the notes above)" ;;
    *)
      echo "not ok 2 - $version never refused ::packet-received in 80,000 packets: if it no longer refuses" \
           "callbacks while sweeping, revisit the gjs warnings (src/tun-tap-device.c, introspection/, README.md) and this test"
      echo "1..2"
      exit 1 ;;
  esac
fi
echo "1..2"
