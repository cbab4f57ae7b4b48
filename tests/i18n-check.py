#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The library's messages stay translatable.

- every message of a GError or a g_warning (g_set_error, g_warning,
  g_prefix_error, tun_tap_set_error, netlink_set_error) starts with a
  marked string: _("..."), N_("...") or g_dngettext (GETTEXT_PACKAGE, ...),
  or with no string literal at all (built elsewhere, and marked there);
- po/POTFILES lists exactly the sources that mark strings.

Usage: i18n-check.py SOURCE-ROOT
"""

import glob
import os
import re
import sys

root = sys.argv[1]
failures = []
CALL = re.compile(r"\b(g_set_error(?:_literal)?|g_warning|g_prefix_error|tun_tap_set_error|"
                  r"netlink_set_error)\s*\(")
MARKED = re.compile(r'(_|N_)\s*\(\s*"|g_dngettext\s*\(\s*GETTEXT_PACKAGE\s*,\s*"')

marking = set()
for path in sorted(glob.glob(os.path.join(root, "src", "*.c"))):
    text = open(path, encoding="utf-8").read()
    name = os.path.relpath(path, root)
    if re.search(r'\b(_|N_)\s*\(\s*"|g_dngettext\s*\(', text):
        marking.add(name)
    for call in CALL.finditer(text):
        end = text.find(";", call.end())
        args = text[call.end():end]
        first = args.find('"')
        if first < 0:
            continue                     # the message comes from a variable
        if not MARKED.search(args[:first + 1]):
            line = text.count("\n", 0, call.start()) + 1
            failures.append(f"{name}:{line}: {call.group(1)} with an unmarked message: "
                            f"{args[first:first + 60]!r}")

listed = {line.strip() for line in open(os.path.join(root, "po", "POTFILES"), encoding="utf-8")
          if line.strip() and not line.startswith("#")}
for name in sorted(marking - listed):
    failures.append(f"po/POTFILES lacks {name}, which marks strings")
for name in sorted(listed - marking):
    failures.append(f"po/POTFILES lists {name}, which marks no strings (or does not exist)")

if failures:
    sys.exit("\n".join(f"FAIL: {failure}" for failure in failures))
print(f"PASS: {len(marking)} sources mark their messages, all in po/POTFILES")
