#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `meson install` of the build tree into a DESTDIR, then what a user outside
# the tree does: build installed-program.c with the flags the installed
# tuntap-glib-1.0.pc gives and run it, and load TunTap in /usr/bin/python3
# from the installed typelib. Nothing from the build tree is on any path.
#
# Usage (under unshare -n): install-test.sh MESON BUILD-ROOT PROGRAM.c
set -u

meson=$1 build=$2 program=$3

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/$PPID/ns/net)" ]; then
  echo "Bail out! not in a private network namespace; run under unshare -n" >&2
  exit 99
fi

# Nothing may leak in from the build tree or the test environment.
unset LD_LIBRARY_PATH GI_TYPELIB_PATH PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PYTHONPATH

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

"$meson" install -C "$build" --destdir "$dest" --no-rebuild --quiet ||
  fail "meson install --destdir failed"

# Where things landed depends on prefix and libdir: find them.
pc=$(find "$dest" -name tuntap-glib-1.0.pc -path '*/pkgconfig/*')
typelib=$(find "$dest" -name TunTap-1.0.typelib)
gir=$(find "$dest" -name TunTap-1.0.gir -path '*/gir-1.0/*')
lib=$(find "$dest" -name 'libtuntap-glib-1.0.so.0')
[ -n "$pc" ] || fail "no tuntap-glib-1.0.pc installed"
[ -n "$typelib" ] || fail "no TunTap-1.0.typelib installed"
[ -n "$gir" ] || fail "no TunTap-1.0.gir installed"
[ -n "$lib" ] || fail "no libtuntap-glib-1.0.so.0 installed"
libdir=$(dirname "$lib")
[ -e "$libdir/libtuntap-glib-1.0.so" ] || fail "no libtuntap-glib-1.0.so development link"
echo "installed: $pc $typelib $lib"

# The .pc names its real prefix; relocate a copy into the DESTDIR. (A
# PKG_CONFIG_SYSROOT_DIR would also move gio-2.0's paths, which are not
# there.)
mkdir "$tmp/pkgconfig"
sed -E "s|^([A-Za-z_]+)=/|\\1=$dest/|" "$pc" >"$tmp/pkgconfig/tuntap-glib-1.0.pc"
flags=$(PKG_CONFIG_PATH=$tmp/pkgconfig pkg-config --cflags --libs tuntap-glib-1.0) ||
  fail "pkg-config --cflags --libs tuntap-glib-1.0 failed"
echo "flags: $flags"
case $flags in
  *"-I$dest/"*) ;;
  *) fail "the flags do not point into the DESTDIR" ;;
esac

# GLib, GObject and GIO are public requirements (the headers use them);
# gio-unix and libmnl private: only a static link needs them.
requires=$(PKG_CONFIG_PATH=$tmp/pkgconfig pkg-config --print-requires tuntap-glib-1.0 | tr '\n' ' ')
private=$(PKG_CONFIG_PATH=$tmp/pkgconfig pkg-config --print-requires-private tuntap-glib-1.0 | tr '\n' ' ')
echo "Requires: $requires; Requires.private: $private"
for module in glib-2.0 gobject-2.0 gio-2.0; do
  case " $requires" in *" $module "*) ;; *) fail "Requires lacks $module" ;; esac
done
for module in gio-unix-2.0 libmnl; do
  case " $private" in *" $module "*) ;; *) fail "Requires.private lacks $module" ;; esac
  case " $requires" in *" $module "*) fail "$module is a public requirement" ;; esac
done
case $flags in *-lmnl*) fail "the shared link flags name libmnl" ;; esac
PKG_CONFIG_PATH=$tmp/pkgconfig pkg-config --static --libs tuntap-glib-1.0 | grep -q -- -lmnl ||
  fail "the static link flags lack libmnl"

# shellcheck disable=SC2086
${CC:-cc} -Wall -Wextra -Werror -o "$tmp/program" "$program" $flags ||
  fail "installed-program.c does not build against the installed files"

# The headers must refuse to be included one by one.
printf '#include <tuntap-glib/tun-tap-device.h>\n' >"$tmp/direct.c"
# shellcheck disable=SC2086
if ${CC:-cc} -c -o "$tmp/direct.o" "$tmp/direct.c" $flags 2>"$tmp/direct.err"; then
  fail "including <tuntap-glib/tun-tap-device.h> directly compiled"
fi
grep -q 'Only <tuntap-glib/tuntap-glib.h> can be included directly' "$tmp/direct.err" ||
  fail "no guard message for a direct include: $(cat "$tmp/direct.err")"

LD_LIBRARY_PATH=$libdir ldd "$tmp/program" | grep -qF "$libdir/libtuntap-glib-1.0.so.0" ||
  fail "the program does not load the installed library"
ip link set lo up
LD_LIBRARY_PATH=$libdir "$tmp/program" || fail "installed-program failed"

GI_TYPELIB_PATH=$(dirname "$typelib") LD_LIBRARY_PATH=$libdir DEST=$dest \
  /usr/bin/python3 - <<'EOF' || fail "Python cannot use the installed typelib"
import os
import gi
gi.require_version("GIRepository", "2.0")
gi.require_version("TunTap", "1.0")
from gi.repository import GIRepository, TunTap

dest = os.environ["DEST"] + "/"
path = GIRepository.Repository.get_default().get_typelib_path("TunTap")
assert path.startswith(dest), f"TunTap loaded from {path}"
device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
assert device.get_name().startswith("tun") and not device.is_closed()
with open("/proc/self/maps") as maps:
    libs = {line.split()[-1] for line in maps if "libtuntap-glib" in line}
assert libs and all(lib.startswith(dest) for lib in libs), f"library from {libs}"
print(f"python: {device.get_name()} from {path}")
EOF

# The PyGObject override, from where it was installed: send_bytes(b"...").
override=$(find "$dest" -name TunTap.py -path '*/gi/overrides/*')
[ -n "$override" ] || fail "no gi/overrides/TunTap.py installed"
GI_TYPELIB_PATH=$(dirname "$typelib") LD_LIBRARY_PATH=$libdir \
  PYTHONPATH=$(dirname "$(dirname "$(dirname "$override")")") DEST=$dest \
  /usr/bin/python3 - <<'EOF' || fail "Python does not use the installed override"
import os
import gi
gi.require_version("TunTap", "1.0")
from gi.repository import GLib, TunTap
import gi.overrides.TunTap as override

assert override.__file__.startswith(os.environ["DEST"] + "/"), override.__file__
assert TunTap.Device is override.Device, TunTap.Device
device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
try:
    device.send_bytes(b"\x45")
except GLib.Error as e:   # the library's INVALID_DATA, not a TypeError
    assert "IPv4" in e.message, e.message
else:
    raise AssertionError("a 1-byte packet was sent")
print(f"python: the override from {override.__file__}")
EOF

# gjs the same way: the README's two variables and nothing else.
cat >"$tmp/installed.js" <<'EOF'
import GIRepository from 'gi://GIRepository?version=2.0';
import GLib from 'gi://GLib';
import TunTap from 'gi://TunTap?version=1.0';

const dest = `${GLib.getenv('DEST')}/`;
const path = GIRepository.Repository.get_default().get_typelib_path('TunTap');
if (!path.startsWith(dest))
    throw new Error(`TunTap loaded from ${path}`);
const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
print(`gjs: ${device.get_name()} from ${path}`);
EOF
GI_TYPELIB_PATH=$(dirname "$typelib") LD_LIBRARY_PATH=$libdir DEST=$dest \
  gjs -m "$tmp/installed.js" || fail "gjs cannot use the installed typelib"
echo "PASS"
