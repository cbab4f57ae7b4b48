#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The documentation's code is code that works (issue 13).

Usage: docs-snippets.py [--cc CC] [--gjs GJS] EXAMPLES-DIR ARG...
  ARG is DOC.md:LANG[,LANG...], DOC.md=FILE, or DOC.md (any number of each)

DOC.md:LANG: the first ```c, ```python and ```js blocks under the first
heading that starts with "## The echo" in DOC.md (the API reference's
overview, the README) must be examples/minimal.c, minimal.py and minimal.js,
which tests/bindings/run-minimal.sh runs; comment-only lines, blank lines
and `# noqa` markers aside.

DOC.md=FILE: every ```c block of DOC.md is an excerpt of FILE (a run of its
lines, indentation aside), as the tunnel page quotes examples/tunnel.c.

DOC.md: every other ```c block compiles with `CC $(pkg-config --cflags
tuntap-glib-1.0) -Wall -Wextra -Werror` (as the README builds programs;
under `meson test`, pkg-config finds the build tree's uninstalled .pc): a
complete program as it is, a block of functions at file scope, and a
fragment inside a function that gives it `device`, `packet` and `len`
(fragments declare `error` themselves or get one). Every ```python block
must at least parse, and with --gjs every ```js block too: gjs loads it as
a module, inside a function that is never called (so it needs the typelib
on GI_TYPELIB_PATH and runs nothing). Blocks checked by the first form are
skipped.
"""

import os
import shlex
import subprocess
import tempfile

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
    args = sys.argv[1:]
    cc, gjs = "cc", None
    while args[0] in ("--cc", "--gjs"):
        if args[0] == "--cc":
            cc = args[1]
        else:
            gjs = args[1]
        args = args[2:]
    examples = args[0]
    failed = False
    for arg in args[1:]:
        if "=" in arg:
            doc, source = arg.split("=", 1)
            failed |= not check_excerpts(doc, source)
        elif re.search(r":[a-z,]+$", arg):
            doc, langs = arg.rsplit(":", 1)
            failed |= not check(doc, langs.split(","), examples)
        else:
            failed |= not check_compiles(arg, cc, gjs, examples)
    return 1 if failed else 0


def blocks(doc, lang):
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    for m in re.finditer(r"^```" + lang + r"\n(.*?)^```", text, re.S | re.M):
        yield text.count("\n", 0, m.start()) + 1, m.group(1)


def check_excerpts(doc, source):
    with open(source, encoding="utf-8") as f:
        have = [line.strip() for line in f.read().splitlines()]
    ok = True
    for line, block in blocks(doc, "c"):
        want = [line.strip() for line in block.splitlines() if line.strip()]
        if not any(have[i:i + len(want)] == want for i in range(len(have))):
            print(f"FAIL: {doc}:{line}: this ```c block is not in {source} as printed")
            ok = False
        else:
            print(f"PASS: {doc}:{line}: the ```c block is in {os.path.basename(source)}")
    return ok


FRAGMENT = """#include <tuntap-glib/tuntap-glib.h>
static void G_GNUC_UNUSED
snippet (TunTapDevice *device, const guint8 *packet, gsize len)
{
  %s
  {
%s
  }
}
"""


def c_source(block):
    if re.search(r"^(\w[\w *]* )?main \(", block, re.M):
        return block
    if re.match(r"(static |gpointer|int|void)\b", block):
        return "#include <tuntap-glib/tuntap-glib.h>\n" + block
    error = "" if re.search(r"GError\)? \*?error", block) else "g_autoptr(GError) error = NULL;"
    return FRAGMENT % (error, block)


JS_MODULE = """import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import TunTap from 'gi://TunTap?version=1.0';
%s
// Never called: loading the module parses the snippet and runs none of it.
function snippet(device, packet) {  // eslint-disable-line no-unused-vars
    {
%s
    }
}
"""


def js_source(block):
    imports = [line for line in block.splitlines()
               if line.startswith("import ") and not re.match(r"import (Gio|GLib|TunTap) ", line)]
    body = [line for line in block.splitlines() if not line.startswith("import ")]
    return JS_MODULE % ("\n".join(imports), "\n".join(body))


def check_compiles(doc, cc, gjs, examples):
    minimal = {}
    for lang, name in FILES.items():
        with open(f"{examples}/{name}", encoding="utf-8") as f:
            minimal[lang] = code_lines(f.read())
    flags = subprocess.run(["pkg-config", "--cflags", "tuntap-glib-1.0"], check=True,
                           capture_output=True, text=True).stdout
    ok = True
    for lang in ("c", "python", "js"):
        for line, block in blocks(doc, lang):
            where = f"{doc}:{line}: the ```{lang} block"
            if code_lines(block) == minimal[lang]:
                continue    # examples/minimal.*, built and run by the examples suite
            if lang == "js":
                if gjs is None:
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    with open(f"{tmp}/snippet.js", "w", encoding="utf-8") as f:
                        f.write(js_source(block))
                    r = subprocess.run([gjs, "-m", f"{tmp}/snippet.js"], capture_output=True,
                                       text=True, timeout=60)
                if r.returncode != 0 or r.stderr:
                    print(f"FAIL: {where} does not load:\n{r.stderr}")
                    ok = False
                else:
                    print(f"PASS: {where} loads")
                continue
            if lang == "python":
                try:
                    compile(block, where, "exec")
                except SyntaxError as e:
                    print(f"FAIL: {where} does not parse: {e}")
                    ok = False
                    continue
                print(f"PASS: {where} parses")
                continue
            with tempfile.TemporaryDirectory() as tmp:
                with open(f"{tmp}/snippet.c", "w", encoding="utf-8") as f:
                    f.write(c_source(block))
                r = subprocess.run(shlex.split(cc) + ["-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                                                       "-Wno-unused-variable", "-Wno-unused-parameter",
                                                       "-Wno-unused-but-set-variable", f"{tmp}/snippet.c"]
                                   + shlex.split(flags), capture_output=True, text=True)
            if r.returncode != 0:
                print(f"FAIL: {where} does not compile:\n{r.stderr}")
                ok = False
            else:
                print(f"PASS: {where} compiles")
    return ok


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
