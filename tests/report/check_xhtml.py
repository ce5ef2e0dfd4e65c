# SPDX-License-Identifier: MIT
"""report_xhtml: the demo's own snapshot and trace through fa-report; the page
must be well-formed XHTML with its SVG in the SVG namespace (xmllint), hold no
network reference, and chart every frame, tag path, thread and event.

usage: check_xhtml.py DEMO FA_REPORT OUTDIR
Leaves OUTDIR/report.html (and the inputs) for report_chromium.
"""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import report_page


def run(command):
    try:
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=25)
    except subprocess.TimeoutExpired:
        sys.exit("FAIL: %s did not finish in 25 s" % " ".join(command))
    if result.returncode != 0:
        sys.exit("FAIL: %s exited %d: %s" % (" ".join(command), result.returncode, result.stderr.strip()))


def main(demo, fa_report, outdir):
    snapshot, trace, page = (os.path.join(outdir, name) for name in ("report.json", "report.trace.json", "report.html"))
    for stale in (snapshot, trace, page):
        if os.path.exists(stale):
            os.remove(stale)
    run([demo, "--frames", "60", "--json", snapshot, "--trace", trace])
    run([fa_report, trace, snapshot, "-o", page])  # the trace first: the order must not matter

    xmllint = shutil.which("xmllint")
    if xmllint is None:
        sys.exit("FAIL: xmllint not found: install Debian's libxml2-utils (make test does)")
    run([xmllint, "--noout", page])

    with open(page, encoding="utf-8") as f:
        text = f.read()
    root = ET.fromstring(text)
    problems = []
    if root.tag != "{%s}html" % report_page.XHTML_NS:
        problems.append("the root element is %s, not XHTML's html" % root.tag)
    svgs = root.findall(".//{%s}svg" % report_page.SVG_NS)
    if len(svgs) < 4:
        problems.append("%d SVG elements in the SVG namespace, expected 4 or more" % len(svgs))
    problems += ["references %s" % url for url in report_page.external_references(text)]
    problems += report_page.check(report_page.parse(text), report_page.expectations_of_files(snapshot, trace))
    for problem in problems:
        print("FAIL:", problem)
    if problems:
        sys.exit(1)
    print("ok: %s, %d bytes, %d charts" % (page, len(text), len(svgs)))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-2])
    main(*sys.argv[1:])
