# SPDX-License-Identifier: MIT
"""report_inputs: fa-report on the inputs a demo run does not make: an empty
history, one frame, frames of 0 bytes, uint64-sized figures, tag paths with
markup and control characters, more tag paths than colours, the optional
bandwidth and sites sections, a trace alone, a bare event array, and a trace
cut short by a crash. Each page must be well-formed XML and chart what its
inputs hold (report_page.check).

usage: check_inputs.py FA_REPORT WORKDIR
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import report_page
from report_page import synthetic_frame as frame, synthetic_snapshot as snapshot

U64 = 2 ** 64 - 1


def trace_events(frames=6, threads=(1, 2)):
    events = [{"ph": "M", "name": "thread_name", "pid": 1, "tid": t, "args": {"name": "worker <%d> & co" % t}}
              for t in threads]
    for n in range(1, frames + 1):
        for t in threads:
            events.append({"ph": "X", "cat": "frame", "name": "frame", "pid": 1, "tid": t, "ts": 1000.0 * n,
                           "dur": 400.0 + 50 * t, "args": {"frame": n, "allocations": 10, "bytes": 100 * n * t,
                                                           "peak_bytes": 100 * n * t}})
        events.append({"ph": "C", "cat": "memory", "name": "live bytes", "pid": 1, "tid": 0, "ts": 1000.0 * n + 500,
                       "args": {"(untagged)": 10 * n, "render": 20 * n}})
    events.append({"ph": "i", "s": "t", "cat": "budget", "name": "budget <render> crossed its soft limit", "pid": 1,
                   "tid": 1, "ts": 2100.0, "args": {"error": "FA_OK", "tag": "render", "size": 64}})
    events.append({"ph": "i", "s": "t", "cat": "error", "name": "fa_frame_alloc: FA_ERR_BUDGET", "pid": 1,
                   "tid": 2, "ts": 3100.0, "args": {"error": "FA_ERR_BUDGET", "tag": None, "size": U64}})
    return events


def cases():
    """(name, {file name: content}, expected snapshot, expected events)"""
    many = {"tag%02d/<x&y>" % i: 1000 * (i + 1) for i in range(14)}
    sites = {"sample_bytes": 4096, "samples": 3, "entries": [
        {"site": "0x5555deadbeef", "symbol": "spawn<T>&+0x1f", "count": 3, "bytes": 300, "average": 100.0,
         "share": 0.25},
        {"site": "0x5555feedface", "symbol": None, "count": 9, "bytes": 900, "average": 100.0, "share": 0.75}]}
    snapshots = {
        "empty": snapshot([]),
        "one": snapshot([frame(7, {"render": 4096, "": 12})]),
        "zero": snapshot([frame(n, {}, duration_ns=0) for n in range(1, 4)]),
        "huge": snapshot([frame(1, {"big": U64}, duration_ns=U64), frame(2, {"big": U64 // 3}, duration_ns=1)]),
        "markup": snapshot([frame(n, {"a<&>\"b'": n, "ctl\x01\x1f\x7f": 2 * n, "": 1}) for n in range(1, 5)]),
        "many": snapshot([frame(n, many) for n in range(1, 30)]),
        "extras": dict(snapshot([frame(n, {"io": 512 * n}, read_bytes=10 ** 6 * n, write_bytes=U64)
                                 for n in range(1, 9)]), sites=sites),
    }
    for name, data in snapshots.items():
        yield name, {name + ".json": json.dumps(data)}, data, None
    events = trace_events()
    full = json.dumps({"displayTimeUnit": "ns", "otherData": {"producer": "framealloc 0.0.0"},
                       "traceEvents": events})
    yield "trace-and-snapshot", {"t.json": full, "s.json": json.dumps(snapshots["one"])}, snapshots["one"], events
    yield "trace-alone", {"trace.json": full}, None, events
    yield "bare-array", {"array.json": json.dumps(events)}, None, events
    # A crash in the middle of the last event, between two events, before
    # the first one: the page shows the events written whole.
    last = full.rindex(', {"ph": "i"')
    yield "cut-in-event", {"cut.json": full[:last] + ', {"ph": "i", "s": "t", "cat": "err'}, None, events[:-1]
    yield "cut-between", {"cut2.json": full[:last] + ",\n"}, None, events[:-1]
    yield "cut-at-start", {"cut3.json": full[:full.index("[") + 1] + "\n"}, None, []


def main(fa_report, workdir):
    failures = []
    for name, files, expect_snapshot, expect_events in cases():
        paths = []
        for file_name, content in files.items():
            paths.append(os.path.join(workdir, "inputs-" + file_name))
            with open(paths[-1], "w", encoding="utf-8") as f:
                f.write(content)
        page = os.path.join(workdir, "inputs-%s.html" % name)
        result = subprocess.run([fa_report] + paths + ["-o", page], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            failures.append("%s: status %d: %s" % (name, result.returncode, result.stderr.strip()))
            continue
        with open(page, encoding="utf-8") as f:
            text = f.read()
        try:
            ET.fromstring(text)
        except ET.ParseError as e:
            failures.append("%s: not well-formed XML: %s" % (name, e))
            continue
        problems = report_page.check(report_page.parse(text), report_page.expectations(expect_snapshot, expect_events))
        failures += ["%s: %s" % (name, p) for p in problems]
        if not problems:
            print("ok: %s (%d bytes)" % (name, len(text)))
    report_page.finish(failures)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(*sys.argv[1:])
