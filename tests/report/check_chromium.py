# SPDX-License-Identifier: MIT
"""report_chromium: the page report_xhtml wrote, rendered by headless Chromium.

The DOM Chromium builds must hold every chart with its data (the same checks
as on the file, see report_page.py), and a screenshot must show something.
Chromium runs without a display, as root or not (--no-sandbox), with a
profile of its own in OUTDIR, so that nothing of the user's is read or
written.

usage: check_chromium.py REPORT.html SNAPSHOT.json TRACE.json OUTDIR
"""

import os
import shutil
import struct
import subprocess
import sys
import tempfile

import report_page

WINDOW = (1400, 2200)
MIN_PNG_BYTES = 40 * 1024  # a blank or error page compresses to a few KB
TIMEOUT = 25               # seconds for each Chromium run: two must fit in the test's 60


def chromium(profile, *arguments):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        sys.exit("FAIL: chromium not found: install Debian's chromium (make test does)")
    env = dict(os.environ, HOME=profile, XDG_CONFIG_HOME=profile, XDG_CACHE_HOME=profile)
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + os.path.join(profile, "profile")]
    try:
        result = subprocess.run(command + list(arguments), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        sys.exit("FAIL: chromium %s did not finish in %d s" % (arguments[0], TIMEOUT))
    if result.returncode != 0:
        sys.exit("FAIL: chromium exited %d: %s" % (result.returncode, result.stderr.strip()[-2000:]))
    return result.stdout


def png_size(path):
    """The width and height in a PNG's header, or None when it is no PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def main(page, snapshot, trace, outdir):
    url = "file://" + os.path.abspath(page)
    screenshot = os.path.join(outdir, "report.png")
    if os.path.exists(screenshot):
        os.remove(screenshot)
    problems = []
    # Chromium helpers may still be closing files when it exits: do not fail on the clean-up.
    with tempfile.TemporaryDirectory(dir=outdir, ignore_cleanup_errors=True) as profile:
        dom = chromium(profile, "--dump-dom", url)
        problems += report_page.check(report_page.parse(dom), report_page.expectations_of_files(snapshot, trace))
        chromium(profile, "--screenshot=" + screenshot, "--window-size=%d,%d" % WINDOW, url)
    if not os.path.exists(screenshot):
        problems.append("no screenshot written")
    else:
        size = os.path.getsize(screenshot)
        if png_size(screenshot) != WINDOW:
            problems.append("the screenshot is not a %dx%d PNG: %s" % (WINDOW + (png_size(screenshot),)))
        if size < MIN_PNG_BYTES:
            problems.append("the screenshot is %d bytes: nearly blank" % size)
    for problem in problems:
        print("FAIL:", problem)
    if problems:
        sys.exit(1)
    print("ok: Chromium rendered %s (%d bytes of DOM), screenshot %s" % (page, len(dom), screenshot))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(*sys.argv[1:])
