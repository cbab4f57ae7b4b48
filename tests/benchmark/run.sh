#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds tuntap-glib and runs the echo benchmark (issue 6):
#
#   tests/benchmark/run.sh [BUILDDIR] [-- DRIVER-OPTIONS...]
#
# BUILDDIR defaults to _build-bench in the source tree (configured with
# -Dwerror=true if it does not exist yet). Without driver options this is
# `meson test -C BUILDDIR --benchmark -v`; with them, e.g.
# `run.sh -- --rounds 3 --only a,b`, the driver runs directly (see
# `BUILDDIR/tests/benchmark/tuntap-bench --help`).
#
# Needs root, or unprivileged user namespaces with access to /dev/net/tun:
# everything runs in a network namespace the benchmark creates for itself,
# and the host's namespace is not touched. Takes about three minutes.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir="$srcdir/_build-bench"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  builddir=$1
  shift
fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then
  shift
fi

if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" "$srcdir" -Dwerror=true
fi
ninja -C "$builddir"

if [ $# -eq 0 ]; then
  exec meson test -C "$builddir" --benchmark -v
fi

bench="$builddir/tests/benchmark"
LD_LIBRARY_PATH="$builddir/src" GI_TYPELIB_PATH="$builddir/introspection" \
  exec "$bench/tuntap-bench" \
    --echo-gmain "$builddir/examples/echo-gmain" \
    --raw-echo "$bench/bench-raw-echo" \
    --timer-echo "$bench/bench-timer-echo" \
    --srcdir "$srcdir" "$@"
