#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dead links in the generated API reference (issue 13).

Usage: docs-links.py DOCDIR GIRDIR

gi-docgen writes a link into another namespace (GLib, GObject, Gio) as
<a href="javascript:void(0)" data-namespace="GLib" data-link="struct.Bytes.html"
class="external">, which main.js turns into base URL + link when the page
loads, the base URL coming from urlmap.js. Without it every such link is
dead. Fails when:
 - a page has such links but does not load urlmap.js, or DOCDIR has none;
 - a namespace linked to has no https:// base URL in urlmap.js;
 - the linked name does not exist in that namespace's GIR (a typo, or an
   API that moved: the URL would be a 404);
 - a relative link inside the reference names a file that does not exist.
"""

import html.parser
import os
import re
import sys
import xml.etree.ElementTree as ET

from docscheck import report

CORE = "{http://www.gtk.org/introspection/core/1.0}"
C = "{http://www.gtk.org/introspection/c/1.0}"


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors = []
        self.scripts = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a":
            self.anchors.append(a)
        elif tag == "script" and "src" in a:
            self.scripts.append(a["src"])


def base_urls(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return dict(re.findall(r"\[\s*'([A-Za-z0-9]+)'\s*,\s*'([^']*)'\s*\]", text))


def gir_names(girdir, namespace, cache):
    """Every name gi-docgen can link to in a namespace: types, and their
    members as Type.member, plus functions and constants."""
    if namespace in cache:
        return cache[namespace]
    names = set()
    candidates = [f for f in os.listdir(girdir) if f.startswith(namespace + "-") and f.endswith(".gir")]
    for f in candidates:
        root = ET.parse(os.path.join(girdir, f)).getroot()
        ns = root.find(CORE + "namespace")
        for child in ns:
            name = child.get("name")
            if name is None:
                continue
            names.add(name)
            for member in child:
                if member.get("name") is not None:
                    names.add(f"{name}.{member.get('name')}")
    cache[namespace] = names
    return names


def main():
    docdir, girdir = sys.argv[1], sys.argv[2]
    problems = []
    urls = {}
    urlmap = os.path.join(docdir, "urlmap.js")
    if os.path.exists(urlmap):
        urls = base_urls(urlmap)
    else:
        problems.append(f"{docdir} has no urlmap.js: every link into GLib, GObject or Gio is dead")
    cache = {}
    external = 0
    for page in sorted(os.listdir(docdir)):
        if not page.endswith(".html"):
            continue
        parser = Links()
        with open(os.path.join(docdir, page), encoding="utf-8") as f:
            parser.feed(f.read())
        page_external = 0
        for a in parser.anchors:
            namespace = a.get("data-namespace")
            href = a.get("href", "")
            if namespace is not None:
                external += 1
                page_external += 1
                link = a.get("data-link", "")
                base = urls.get(namespace)
                if base is None:
                    problems.append(f"{page}: link to {namespace} ({link}) but urlmap.js has no {namespace}")
                    continue
                if not base.startswith("https://") or not base.endswith("/"):
                    problems.append(f"urlmap.js: {namespace} maps to {base!r}, not an https:// URL ending in /")
                m = re.fullmatch(r"[a-z_]+\.(.+)\.html(#[A-Za-z0-9_-]*)?", link)
                if m is None:
                    problems.append(f"{page}: malformed link {link!r} into {namespace}")
                elif m.group(1) not in gir_names(girdir, namespace, cache):
                    problems.append(f"{page}: {namespace} has no {m.group(1)} ({base}{link} would be dead)")
            elif href and not re.match(r"(https?:|mailto:|javascript:|#)", href):
                target = href.split("#")[0]
                if target and not os.path.exists(os.path.join(docdir, target)):
                    problems.append(f"{page}: link to {href}, which does not exist")
        if page_external and "urlmap.js" not in parser.scripts:
            problems.append(f"{page}: {page_external} links into other namespaces, but it does not load urlmap.js")
    return report(problems, f"dead or unchecked links ({external} links into other namespaces)",
                  f"{external} links into {', '.join(sorted(urls))}, every one resolved")


if __name__ == "__main__":
    sys.exit(main())
