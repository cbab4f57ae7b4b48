#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The errors page of the API reference against the library (issue 13).

Usage: docs-errors.py ERRORS.md SRCDIR

Fails when
 - a G_IO_ERROR code the library sets (anywhere in SRCDIR/*.c) has no row
   in the page's table, or a row names a code the library never sets
   (G_IO_ERROR_FAILED, g_io_error_from_errno()'s default, aside);
 - a row of the errno table in tun-tap-error.c maps an errno to a code
   whose row in the page does not name that errno (G_IO_ERROR_FAILED
   aside).
"""

import glob
import os
import re
import sys

from docscheck import report


def main():
    page, srcdir = sys.argv[1], sys.argv[2]
    with open(page, encoding="utf-8") as f:
        rows = {}
        for line in f:
            m = re.match(r"\| `(G_IO_ERROR_[A-Z_]+)` \| (.*) \|$", line.rstrip("\n"))
            if m:
                rows[m.group(1)] = m.group(2)
    used = set()
    for path in glob.glob(os.path.join(srcdir, "*.c")):
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        used |= set(re.findall(r"G_IO_ERROR_[A-Z_]+", text))
    used.discard("G_IO_ERROR_FAILED")
    problems = []
    for code in sorted(used - rows.keys()):
        problems.append(f"{code} is set by the library but has no row in {page}")
    for code in sorted(rows.keys() - used - {"G_IO_ERROR_FAILED"}):
        problems.append(f"{page} has a row for {code}, which the library never sets")

    with open(os.path.join(srcdir, "tun-tap-error.c"), encoding="utf-8") as f:
        table = f.read()
    checked = 0
    for m in re.finditer(r"\{ (E[A-Z0-9]+), (SAME \((G_IO_ERROR_[A-Z_]+)\)|(?:G_IO_ERROR_[A-Z_]+,\s*){3}G_IO_ERROR_[A-Z_]+)", table):
        errsv = m.group(1)
        codes = {m.group(3)} if m.group(3) else set(re.findall(r"G_IO_ERROR_[A-Z_]+", m.group(2)))
        for code in sorted(codes - {"G_IO_ERROR_FAILED"}):
            checked += 1
            if code not in rows:
                continue   # reported above
            if not re.search(rf"`{errsv}`", rows[code]):
                problems.append(f"tun-tap-error.c maps {errsv} to {code}, but its row in {page} does not name `{errsv}`")
    if checked < 20:
        problems.append(f"only {checked} errno mappings found in tun-tap-error.c: has its table changed shape?")
    return report(problems, "differences",
                  f"{len(rows)} codes, {len(used)} set by the library, {checked} errno mappings named")


if __name__ == "__main__":
    sys.exit(main())
