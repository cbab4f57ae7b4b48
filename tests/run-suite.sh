#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The whole test suite from a fresh Debian 12 machine, as root: installs the
# dependencies, builds with warnings as errors and every feature on, runs
# `meson test`, and ends with "N passed, N failed". Every test that creates a
# device does so in a network namespace of its own.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/_build}
cd "$top"

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  sh tests/install-deps.sh
fi

if [ -d "$build" ]; then
  meson setup --reconfigure "$build" -Dwerror=true -Dintrospection=enabled -Ddocs=enabled
else
  meson setup "$build" -Dwerror=true -Dintrospection=enabled -Ddocs=enabled
fi
ninja -C "$build"

status=0
meson test -C "$build" --print-errorlogs "$@" || status=$?

# meson prints no single summary line: derive it from testlog.json. A test
# that skipped (wholly, or any TAP subtest) counts as failed: CI is root.
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY' || status=1
import json, re, sys
passed = failed = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    skipped_sub = re.search(r'^ok \d+ .*# SKIP', t.get('stdout') or '', re.M)
    if t['result'] in ('OK', 'EXPECTEDFAIL') and not skipped_sub:
        passed += 1
    else:
        failed += 1
        why = 'a subtest skipped' if skipped_sub else t['result']
        print(f"FAILED: {t['name']} ({why})")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
PY
exit $status
