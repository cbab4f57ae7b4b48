# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Sourced by the shell tests that run a program in a network namespace
# (run-echo.sh, run-minimal.sh, gc-flood.sh): refuses to run in the
# caller's namespace, brings lo up, and makes $tmp (removed on exit, with
# the program $pid if it still runs). fail MESSAGE prints the program's
# output from $tmp/out and $tmp/err (the first 40 lines each) and exits 1.

# Only ever in a namespace of our own: the caller's must stay untouched.
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/$PPID/ns/net)" ]; then
  echo "Bail out! not in a private network namespace; run under unshare -n" >&2
  exit 99
fi
ip link set lo up

tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in out err; do
    [ -f "$tmp/$f" ] && { echo "--- program std$f:" >&2; head -n 40 "$tmp/$f" >&2; }
  done
  exit 1
}
