#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tuntap-glib.doap is well-formed DOAP and agrees with meson.build.

Usage: doap-check.py DOAP PROJECT-NAME LICENSE
"""

import sys
import xml.etree.ElementTree as ET

NS = {
    "doap": "http://usefulinc.com/ns/doap#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "foaf": "http://xmlns.com/foaf/0.1/",
}

doap, name, license_ = sys.argv[1:4]
root = ET.parse(doap).getroot()
failures = []


def text(path):
    element = root.find(path, NS)
    return element.text.strip() if element is not None and element.text else ""


if root.tag != "{%s}Project" % NS["doap"]:
    failures.append(f"the root is {root.tag}, not doap:Project")
if text("doap:name") != name:
    failures.append(f"name {text('doap:name')!r}, meson.build says {name!r}")
for field in ("doap:shortdesc", "doap:description", "doap:maintainer/foaf:Person/foaf:name"):
    if not text(field):
        failures.append(f"no {field}")
if text("doap:programming-language") != "C":
    failures.append("programming-language is not C")
licences = [e.get("{%s}resource" % NS["rdf"], "") for e in root.findall("doap:license", NS)]
if not any(url.rstrip("/").endswith("/" + license_) for url in licences):
    failures.append(f"license {licences}, meson.build says {license_}")

if failures:
    sys.exit("\n".join(f"FAIL: {failure}" for failure in failures))
print(f"PASS: {name}, {license_}, maintained by {text('doap:maintainer/foaf:Person/foaf:name')}")
