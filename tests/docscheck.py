# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared by the documentation checks (docs-*.py)."""


def report(problems, fail, ok):
    """Prints the problems and a FAIL line, or the PASS line; returns the
    exit status."""
    for p in problems:
        print(p)
    if problems:
        print(f"FAIL: {len(problems)} {fail}")
        return 1
    print(f"PASS: {ok}")
    return 0
