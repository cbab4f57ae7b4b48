#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# examples/tunnel.sh run from a source tree and a build directory whose
# paths hold a space (a home directory such as "/home/me/My Projects"): it
# once split such a path into two arguments. The tree and the build are
# reached through symbolic links in a temporary directory named with a
# space; the rest of the arguments go to tunnel.sh as they are.
#
# Usage (under unshare -n): tunnel-space-path.sh --build BUILDDIR [TUNNEL.SH OPTIONS]
set -u
if [ $# -lt 2 ] || [ "$1" != --build ]; then
  echo "usage: $0 --build BUILDDIR [tunnel.sh options]" >&2
  exit 2
fi
build=$2
shift 2
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/with space"
ln -s "$srcdir" "$tmp/with space/source tree"
ln -s "$build" "$tmp/with space/build dir"
sh "$tmp/with space/source tree/examples/tunnel.sh" --build "$tmp/with space/build dir" "$@"
