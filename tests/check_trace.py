#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The trace test_profiling leaves, checked as Chrome trace-event JSON: the
document's shape, every event's required members by phase, the frame
slices of at least two threads, the live-bytes counters and the instants.
Perfetto's trace_processor is not packaged by Debian, so this is the
format's own rules (the Trace Event Format document) checked by hand.

    check_trace.py TRACE.json"""
import json
import sys

REQUIRED = {
    "M": {"name", "pid", "tid", "args"},
    "X": {"name", "cat", "pid", "tid", "ts", "dur", "args"},
    "C": {"name", "pid", "tid", "ts", "args"},
    "i": {"name", "cat", "pid", "tid", "ts", "s", "args"},
}


def fail(why):
    print("check_trace: " + why)
    sys.exit(1)


def main(path):
    with open(path) as f:
        doc = json.load(f)
    if doc.get("displayTimeUnit") != "ns" or not isinstance(doc.get("traceEvents"), list):
        fail("not a trace-event document")
    seen = {}
    for ev in doc["traceEvents"]:
        ph = ev.get("ph")
        if ph not in REQUIRED:
            fail("unexpected phase %r" % ph)
        missing = REQUIRED[ph] - ev.keys()
        if missing:
            fail("a %s event lacks %s" % (ph, sorted(missing)))
        if "ts" in ev and (not isinstance(ev["ts"], (int, float)) or ev["ts"] < 0):
            fail("bad timestamp %r" % ev["ts"])
        seen.setdefault(ph, []).append(ev)
    slices = seen.get("X", [])
    if len({e["tid"] for e in slices}) < 2:
        fail("frame slices of fewer than two threads")
    if any(e["dur"] < 0 or "bytes" not in e["args"] for e in slices):
        fail("a frame slice without its figures")
    counters = seen.get("C", [])
    if not counters or not all(isinstance(v, int) for e in counters for v in e["args"].values()):
        fail("no live-bytes counters, or a counter that is not a number")
    cats = {e["cat"] for e in seen.get("i", [])}
    if not {"budget", "error"} <= cats:
        fail("instants lack a budget crossing or an error: %s" % sorted(cats))
    named = {e["tid"] for e in seen.get("M", []) if e["name"] == "thread_name"}
    if not {e["tid"] for e in slices} <= named:
        fail("a thread with slices has no name")
    print("check_trace: %d events, %d slices, %d counters, %d instants" % (
        len(doc["traceEvents"]), len(slices), len(counters), len(seen.get("i", []))))


if __name__ == "__main__":
    main(sys.argv[1])
