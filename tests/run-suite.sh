#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The whole test suite from a fresh Debian 12 machine, as root. Installs the
# dependencies, then:
#   1. builds with gcc, warnings as errors, every feature on, and runs
#      `meson test` (C, Python, gjs, examples, install, docs);
#   2. runs the C suite again under valgrind memcheck (--setup=valgrind),
#      and the soak: 10 M packets through echo-gmain, RSS flat within 1 MiB;
#   3. builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
#      whole suite again (interpreters get the ASan runtime preloaded);
#   4. builds with ThreadSanitizer (clang) and runs the C suite again, the
#      stress test included; any report fails the test;
#   5. builds the libFuzzer targets with clang and runs each for a while.
# Every test that creates a device does so in a network namespace of its own.
# Ends with "N passed, N failed" over all of it. Set QUICK=1 for step 1 only.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/_build}
results=$build/suite-results
cd "$top"

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  sh tests/install-deps.sh
fi

# setup BUILDDIR [meson options...]: configure and build, or stop with the
# summary line saying so.
setup () {
  dir=$1; shift
  if [ -d "$dir/meson-private" ]; then
    meson setup --reconfigure "$dir" "$@" && ninja -C "$dir" && return 0
  else
    meson setup "$dir" "$@" && ninja -C "$dir" && return 0
  fi
  echo "FAILED: building $dir"
  echo "0 passed, 1 failed"
  exit 1
}

status=0
mkdir -p "$results"
rm -f "$results"/*.json

# run NAME BUILDDIR [meson test args...]: one meson test run, its log kept.
run () {
  name=$1 dir=$2; shift 2
  rc=0
  echo "=== $name"
  ${wrap:-} meson test -C "$dir" --print-errorlogs "$@" || rc=1
  log=$dir/meson-logs/testlog.json
  for f in "$dir"/meson-logs/testlog-*.json; do
    if [ -e "$f" ] && [ "$f" -nt "$log" ]; then log=$f; fi
  done
  cp "$log" "$results/$name.json"
  return $rc
}

setup "$build" -Dwerror=true -Dintrospection=enabled -Ddocs=enabled
run main "$build" || status=1

if [ "${QUICK:-0}" != 1 ]; then
  # The stress test's threads under memcheck cost 40 s and find nothing
  # the normal and TSan runs of it would not.
  run valgrind "$build" --setup=valgrind --suite c --no-suite stress || status=1
  # 10 M packets through echo-gmain, RSS sampled every second.
  run soak "$build" --benchmark --suite soak || status=1

  asan=$build-asan
  # No API reference or VAPI here: the docs and install checks ran in step 1
  # and have no C of ours to sanitize.
  setup "$asan" -Dwerror=true -Dintrospection=enabled -Ddocs=disabled -Dvapi=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  run asan-c "$asan" --suite c || status=1
  # Python and gjs leak by design at exit: leaks are checked in C only; the
  # interpreters need the ASan runtime first in line.
  export LD_PRELOAD="$(gcc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0
  run asan-other "$asan" --suite python --suite gjs --suite examples || status=1
  unset LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS

  # ThreadSanitizer over the C suite (tests/stress.c is its workload). GLib
  # is not instrumented: tests/tsan-glib.c, linked into the tests of this
  # build only, tells TSan about the synchronisation GLib does where it
  # cannot see it; tests/tsan.supp is for GLib-internal reports only.
  # Reports do not stop a test (all of them get printed), but any report
  # makes it exit 66, which fails it.
  tsan=$build-tsan
  export CC=clang
  setup "$tsan" -Dwerror=true -Dintrospection=disabled -Ddocs=disabled -Dexamples=true \
    -Db_sanitize=thread -Db_lundef=false
  unset CC
  export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:suppressions=$top/tests/tsan.supp"
  # LLVM 14's TSan cannot map its shadow under the 32-bit mmap randomisation
  # some kernels use ("unexpected memory mapping"); without ASLR it can.
  # This changes only these processes' personality.
  wrap=
  if setarch "$(uname -m)" -R true 2>/dev/null; then
    wrap="setarch $(uname -m) -R"
  fi
  run tsan "$tsan" --suite c || status=1
  wrap=
  unset TSAN_OPTIONS

  fuzz=$build-fuzz
  export CC=clang
  setup "$fuzz" -Dwerror=true -Dintrospection=disabled -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false
  unset CC
  run fuzz "$fuzz" --suite fuzz || status=1
fi

# meson prints no single summary line: derive it from the testlog.json of
# every run. A test that skipped (wholly, or any TAP subtest) counts as
# failed: CI is root.
/usr/bin/python3 - "$results" <<'PY' || status=1
import glob, json, os, re, sys
passed = failed = 0
for path in sorted(glob.glob(os.path.join(sys.argv[1], '*.json'))):
    run = os.path.basename(path)[:-5]
    for line in open(path):
        t = json.loads(line)
        skipped_sub = re.search(r'^ok \d+ .*# SKIP', t.get('stdout') or '', re.M)
        if t['result'] in ('OK', 'EXPECTEDFAIL') and not skipped_sub:
            passed += 1
        else:
            failed += 1
            why = 'a subtest skipped' if skipped_sub else t['result']
            print(f"FAILED: {run}: {t['name']} ({why})")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
PY
exit $status
