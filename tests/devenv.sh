#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The README's way of running the Python and gjs examples from the build
# tree: `meson devenv -C BUILDDIR COMMAND` gives COMMAND the typelib and the
# library of this build (GI_TYPELIB_PATH, LD_LIBRARY_PATH). Run with neither
# variable set, as a user's shell would be, from outside the tree.
#
# Usage: devenv.sh MESON BUILDDIR SRCDIR PYTHON3 GJS
set -u
meson=$1 builddir=$2 srcdir=$3 python3=$4 gjs=$5
status=0

check() {
  want=$1
  shift
  out=$(cd / && env -u GI_TYPELIB_PATH -u LD_LIBRARY_PATH "$meson" devenv -C "$builddir" "$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || ! printf '%s\n' "$out" | grep -q "$want"; then
    echo "FAIL: meson devenv -C $builddir $* (exit $rc):"
    printf '%s\n' "$out" | head -n 20
    status=1
  else
    echo "PASS: meson devenv -C $builddir $*"
  fi
}

check '^usage: echo.py' "$python3" "$srcdir/examples/echo.py" --help
check '^  echo.js \[OPTION' "$gjs" -m "$srcdir/examples/echo.js" --help
# The typelib found is this build's, not an installed one.
check "^$builddir/introspection/TunTap-1.0.typelib\$" "$python3" -c \
  'import gi; gi.require_version("GIRepository", "2.0"); from gi.repository import GIRepository as R; r = R.Repository.get_default(); r.require("TunTap", "1.0", 0); print(r.get_typelib_path("TunTap"))'
exit $status
