#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The overview's smallest programs are the tested examples (issue 13).

Usage: docs-snippets.py EXAMPLES-DIR DOC.md:LANG[,LANG...]...

The first ```c, ```python and ```js blocks under the first heading that
starts with "## The echo" in each DOC.md (the API reference's overview, the
README) must be examples/minimal.c, minimal.py and minimal.js, which
tests/bindings/run-minimal.sh runs; comment-only lines, blank lines and
`# noqa` markers aside.
"""

import re
import sys

FILES = {"c": "minimal.c", "python": "minimal.py", "js": "minimal.js"}


def code_lines(text):
    lines = []
    in_c_comment = False
    for line in text.splitlines():
        stripped = line.strip()
        if in_c_comment:
            in_c_comment = "*/" not in stripped
            continue
        if stripped.startswith("/*"):
            in_c_comment = "*/" not in stripped
            continue
        if not stripped or stripped.startswith("#!") or re.match(r"(#|//) ", stripped + " "):
            continue
        lines.append(re.sub(r"\s+# noqa.*$", "", line.rstrip()))
    return lines


def main():
    examples = sys.argv[1]
    failed = False
    for arg in sys.argv[2:]:
        doc, langs = arg.rsplit(":", 1)
        failed |= not check(doc, langs.split(","), examples)
    return 1 if failed else 0


def check(doc, langs, examples):
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    section = text.split("## The echo", 1)[1].split("\n## ", 1)[0]
    failed = False
    for lang in langs:
        name = FILES[lang]
        m = re.search(r"```" + lang + r"\n(.*?)```", section, re.S)
        if m is None:
            print(f"FAIL: {doc}: no ```{lang} block under '## The echo'")
            failed = True
            continue
        with open(f"{examples}/{name}", encoding="utf-8") as f:
            want = code_lines(f.read())
        got = code_lines(m.group(1))
        if got != want:
            failed = True
            print(f"FAIL: {doc}: the ```{lang} block differs from examples/{name}:")
            for i in range(max(len(got), len(want))):
                g = got[i] if i < len(got) else "<none>"
                w = want[i] if i < len(want) else "<none>"
                if g != w:
                    print(f"  overview: {g}\n  {name}: {w}")
                    break
        else:
            print(f"PASS: {doc}: the ```{lang} block is examples/{name} ({len(want)} lines)")
    return not failed


if __name__ == "__main__":
    sys.exit(main())
