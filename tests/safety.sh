#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The library never spawns a program, and neither it nor the echo examples
# ever touch a network namespace other than the caller's. Checked on what
# the binaries import (nm) and on the sources, so a new call cannot slip in.
#   safety.sh SRCDIR LIBRARY EXAMPLE-BINARY...
set -eu
srcdir=$1 lib=$2
shift 2
fail=0

spawn='^(system|popen|execl|execle|execlp|execv|execve|execvp|execvpe|fexecve|fork|vfork|clone|clone3|posix_spawn|posix_spawnp|g_spawn_.*|g_subprocess_.*|g_app_info_launch.*)$'
netns='^(setns|unshare)$'

imports () {
  nm -D --undefined-only "$1" | awk '{ print $NF }' | sed 's/@.*//'
}

bad=$(imports "$lib" | grep -E "$spawn|$netns" || true)
if [ -n "$bad" ]; then
  echo "not ok: $(basename "$lib") imports: $bad"
  fail=1
else
  echo "ok: $(basename "$lib") imports nothing that spawns or changes namespace ($(imports "$lib" | wc -l) symbols checked)"
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
     "$srcdir"/src/*.c "$srcdir"/examples/*.c "$srcdir"/examples/*.py "$srcdir"/examples/*.js; then
  echo "not ok: a namespace change in src/ or examples/"
  fail=1
fi
if grep -nE '\b(subprocess|os\.system|os\.exec|os\.fork)\b' "$srcdir"/examples/*.py ||
   grep -nE 'Gio\.Subprocess|GLib\.spawn' "$srcdir"/examples/*.js; then
  echo "not ok: the Python or gjs echo spawns a program"
  fail=1
fi
[ $fail = 0 ] && echo "ok: sources clean"
exit $fail
