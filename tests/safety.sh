#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The library never spawns a program, and never changes the network
# namespace of a caller's thread; the echo examples never touch a namespace
# at all. Checked on what the binaries import (nm) and on the sources, so a
# new call cannot slip in.
#
# How the namespace rule is told: the library may import setns (never
# unshare), and the only setns( in src/ must be in src/tun-tap-netns.c,
# inside netns_thread_main(), the entry point of the library's private
# short-lived thread; that function may be started only through
# g_thread_try_new() (never called directly), and the file must not name
# it anywhere else.
#   safety.sh SRCDIR LIBRARY EXAMPLE-BINARY...
set -eu
srcdir=$1 lib=$2
shift 2
fail=0

spawn='^(system|popen|execl|execle|execlp|execv|execve|execvp|execvpe|fexecve|fork|vfork|clone|clone3|posix_spawn|posix_spawnp|g_spawn_.*|g_subprocess_.*|g_app_info_launch.*)$'
netns='^(setns|unshare)$'
libnetns='^(unshare)$'

imports () {
  nm -D --undefined-only "$1" | awk '{ print $NF }' | sed 's/@.*//'
}

bad=$(imports "$lib" | grep -E "$spawn|$libnetns" || true)
if [ -n "$bad" ]; then
  echo "not ok: $(basename "$lib") imports: $bad"
  fail=1
else
  echo "ok: $(basename "$lib") imports nothing that spawns, nor unshare ($(imports "$lib" | wc -l) symbols checked)"
fi

for exe in "$@"; do
  bad=$(imports "$exe" | grep -E "$netns" || true)
  if [ -n "$bad" ]; then
    echo "not ok: $(basename "$exe") imports: $bad"
    fail=1
  else
    echo "ok: $(basename "$exe") never changes namespace"
  fi
done

# The sources, including the Python and gjs examples: no spawning in the
# library, no namespace calls anywhere, no sudo.
if grep -nE '\b(system|popen|execv[pe]*|fork|posix_spawn[p]?|g_spawn_[a-z_]+|g_subprocess_[a-z_]+)[[:space:]]*\(' \
     "$srcdir"/src/*.c "$srcdir"/src/*.h "$srcdir"/src/tuntap-glib/*.h; then
  echo "not ok: a spawning call in src/"
  fail=1
fi
if grep -nE '\b(setns|unshare)[[:space:]]*\(|CLONE_NEWNET|/proc/[^ ]*/ns/' \
     "$srcdir"/examples/*.c "$srcdir"/examples/*.py "$srcdir"/examples/*.js; then
  echo "not ok: a namespace change in examples/"
  fail=1
fi
# In src/: unshare nowhere; setns only in netns_thread_main() of
# tun-tap-netns.c, which only g_thread_try_new() starts.
if grep -nE '\bunshare[[:space:]]*\(' "$srcdir"/src/*.c "$srcdir"/src/*.h; then
  echo "not ok: unshare in src/"
  fail=1
fi
# Code lines only: comments may name setns(2).
setns_files=$(for f in "$srcdir"/src/*.c "$srcdir"/src/*.h; do
                grep -E '\bsetns[[:space:]]*\(' "$f" | grep -qvE '^[[:space:]]*(\*|/\*)' && echo "$f"
              done || true)
if [ "$setns_files" != "$srcdir/src/tun-tap-netns.c" ]; then
  echo "not ok: setns( outside src/tun-tap-netns.c: $setns_files"
  fail=1
fi
netns_c="$srcdir/src/tun-tap-netns.c"
# The function around each setns( call: the last line before it that
# starts a function definition (a name at column 0 followed by " (").
outside=$(awk '/^[a-z_]+ \(/ { fn = $1 } /\<setns[[:space:]]*\(/ && !/^ *\*/ && fn != "netns_thread_main" { print FILENAME ":" FNR ": in " fn }' "$netns_c")
if [ -n "$outside" ]; then
  echo "not ok: setns( outside the private thread's entry point: $outside"
  fail=1
fi
uses=$(grep -n 'netns_thread_main' "$netns_c" | grep -vE '^[0-9]+:netns_thread_main \(|g_thread_try_new \("tuntap-netns", netns_thread_main,' || true)
if [ -n "$uses" ]; then
  echo "not ok: netns_thread_main is used other than as a thread entry: $uses"
  fail=1
fi
[ $fail = 0 ] && echo "ok: setns only in the library's private namespace thread"
if grep -nE '\b(subprocess|os\.system|os\.exec|os\.fork)\b' "$srcdir"/examples/*.py ||
   grep -nE 'Gio\.Subprocess|GLib\.spawn' "$srcdir"/examples/*.js; then
  echo "not ok: the Python or gjs echo spawns a program"
  fail=1
fi
[ $fail = 0 ] && echo "ok: sources clean"
exit $fail
