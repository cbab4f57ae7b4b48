#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The C examples call setlocale(), so GOption's help is printed in the
# user's charset: "[OPTION…]" under a UTF-8 locale, not "[OPTION?]".
# Usage: example-help.sh PROGRAM...   (nothing here creates a device)
set -u
if ! locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
  echo "SKIP: no C.UTF-8 locale"
  exit 77
fi
status=0
for program in "$@"; do
  out=$(LC_ALL=C.UTF-8 "$program" --help 2>&1)
  case $out in
    *"[OPTION…]"*) echo "ok: $(basename "$program") --help says [OPTION…]" ;;
    *) echo "FAIL: $(basename "$program") --help under C.UTF-8:"; echo "$out" | head -3; status=1 ;;
  esac
done
exit $status
