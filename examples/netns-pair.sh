# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Sourced by examples/tunnel.sh and tests/benchmark/{relay,tunnel}.sh: two
# private network namespaces A and B, each held by a sleeping `unshare -n`
# process, with lo up. Nothing runs in them before both exist: a command
# started too early would act in the caller's own namespace.
#
#   netns_pair            sets nsa and nsb (the holders' PIDs) or exits 1
#   in_a CMD... / in_b    runs CMD in A / B
#   netns_pair_kill       ends both (call it from the caller's EXIT trap)

netns_pair () {
  unshare -n sleep 1000000 & nsa=$!
  unshare -n sleep 1000000 & nsb=$!
  _self=$(readlink /proc/self/ns/net)
  for _ in $(seq 200); do
    [ "$(readlink /proc/$nsa/ns/net)" != "$_self" ] &&
      [ "$(readlink /proc/$nsb/ns/net)" != "$_self" ] && break
    sleep 0.05
  done
  if [ "$(readlink /proc/$nsa/ns/net)" = "$_self" ] ||
     [ "$(readlink /proc/$nsb/ns/net)" = "$_self" ]; then
    echo "netns-pair: no private network namespaces (needs root or unshare -r)" >&2
    netns_pair_kill
    exit 1
  fi
  in_a ip link set lo up && in_b ip link set lo up || exit 1
}

in_a () { nsenter -t "$nsa" -n "$@"; }
in_b () { nsenter -t "$nsb" -n "$@"; }

netns_pair_kill () {
  kill "${nsa:-}" "${nsb:-}" 2>/dev/null || true
}
