# SPDX-License-Identifier: MIT
"""report_cli: fa-report's command line. Bad or unreadable input is one line
"fa-report: <why>" on stderr and status 1, never a traceback; --help is 0.

usage: check_cli.py FA_REPORT WORKDIR
"""

import json
import os
import subprocess
import sys

import report_page


def main(fa_report, workdir):
    def path(name, content=None):
        full = os.path.join(workdir, name)
        if content is not None:
            with open(full, "w") as f:
                f.write(content)
        return full

    out = path("cli.html")
    snapshot = json.dumps(report_page.synthetic_snapshot([report_page.synthetic_frame(1, {"render": 64})]))
    refused = [
        ("a missing file", [path("no-such-file.json"), "-o", out]),
        ("a file that is not JSON", [path("cli-not.json", "frame 1: 42 bytes\n"), "-o", out]),
        ("JSON that is neither a snapshot nor a trace", [path("cli-neither.json", '{"frames": [1, 2]}'), "-o", out]),
        ("a JSON array of numbers", [path("cli-array.json", "[1, 2, 3]"), "-o", out]),
        ("a snapshot with a malformed frame", [path("cli-bad-frame.json", snapshot.replace(
            '"frame": 1,', '"frame": "one",')), "-o", out]),
        ("two snapshots", [path("cli-snap.json", snapshot), path("cli-snap.json"), "-o", out]),
        ("a directory", [workdir, "-o", out]),
        ("no output", [path("cli-snap.json")]),
        ("no input", ["-o", out]),
        ("an unknown option", ["--frobnicate", path("cli-snap.json"), "-o", out]),
        ("an output that cannot be written", [path("cli-snap.json"), "-o", path("no-such-dir/x.html")]),
    ]
    failures = []
    for what, arguments in refused:
        result = subprocess.run([fa_report] + arguments, capture_output=True, text=True, timeout=30)
        lines = result.stderr.splitlines()
        if result.returncode != 1 or len(lines) != 1 or not lines[0].startswith("fa-report: "):
            failures.append("%s: status %d, stderr %r (want 1 and one line 'fa-report: ...')"
                            % (what, result.returncode, result.stderr))
        else:
            print("ok: %s -> %s" % (what, lines[0]))

    result = subprocess.run([fa_report, "--help"], capture_output=True, text=True, timeout=30)
    if result.returncode != 0 or "REPORT.html" not in result.stdout:
        failures.append("--help: status %d, stdout %r" % (result.returncode, result.stdout))
    report_page.finish(failures)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(*sys.argv[1:])
