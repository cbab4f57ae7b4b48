#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tuntap-glib as a meson subproject, the way a parent project uses it:
# subprojects/tuntap-glib is this source tree (a symlink), the parent asks
# for dependency('tuntap-glib-1.0', fallback: 'tuntap-glib'), and the
# library's meson.override_dependency() answers. Offline (no wrap, no
# download), and nothing from the system's tuntap-glib, if any, is used.
# The program creates no device.
#
# Usage: subproject-test.sh MESON SOURCE-ROOT
set -u

meson=$1 source=$2

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

unset PKG_CONFIG_PATH LD_LIBRARY_PATH

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/parent" "$tmp/parent/subprojects"
ln -s "$source" "$tmp/parent/subprojects/tuntap-glib"

cat >"$tmp/parent/meson.build" <<'MESON'
project('parent', 'c')
tuntap = dependency('tuntap-glib-1.0', fallback: 'tuntap-glib',
  default_options: ['tests=false', 'examples=false', 'introspection=disabled',
                    'vapi=disabled', 'docs=disabled', 'werror=false'])
assert(tuntap.type_name() == 'internal', 'not the subproject: ' + tuntap.type_name())
executable('parent', 'parent.c', dependencies: tuntap)
MESON

cat >"$tmp/parent/parent.c" <<'C'
#include <string.h>
#include <tuntap-glib/tuntap-glib.h>

int
main (void)
{
  GError *error = NULL;
  TunTapDevice *device;

  g_print ("tuntap-glib %s\n", TUN_TAP_VERSION_S);
  if (!TUN_TAP_CHECK_VERSION (0, 1, 0))
    return 1;
  /* Refused before the kernel is asked: no device, no namespace needed. */
  device = tun_tap_device_new ("parent-sixteen-b", TUN_TAP_MODE_TUN, &error);
  if (device != NULL || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
    return 1;
  g_print ("%s\n", error->message);
  g_error_free (error);
  return 0;
}
C

"$meson" setup --wrap-mode=nodownload --force-fallback-for=tuntap-glib-1.0 \
  "$tmp/build" "$tmp/parent" >"$tmp/setup.log" 2>&1 ||
  { cat "$tmp/setup.log"; fail "meson setup of the parent failed"; }
grep -q 'Subproject tuntap-glib finished' "$tmp/setup.log" ||
  { cat "$tmp/setup.log"; fail "tuntap-glib was not configured as a subproject"; }
"$meson" compile -C "$tmp/build" >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log"; fail "the parent does not build"; }
# The subproject's tests are not the parent's.
if "$meson" test -C "$tmp/build" --no-rebuild --list 2>&1 | grep 'tuntap-glib'; then
  fail "the parent's meson test lists the library's tests"
fi
"$tmp/build/parent" || fail "the parent program failed"
echo "PASS"
