# SPDX-License-Identifier: MIT
"""What a report page must show, checked the same way on fa-report's own file
and on the DOM headless Chromium rendered from it.

The expectations come from the snapshot and the trace themselves, not from
fa-report, so that a chart that silently drops frames or tags is caught.
"""

import json
import re
import sys
from html.parser import HTMLParser

XHTML_NS = "http://www.w3.org/1999/xhtml"
SVG_NS = "http://www.w3.org/2000/svg"
VOID = {"meta", "br", "hr", "img", "link", "col", "wbr", "input"}


class Element:
    def __init__(self, tag, attrs):
        self.tag, self.attrs, self.children, self.text = tag, attrs, [], []

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def all_text(self):
        return "".join(e_text for e in self.iter() for e_text in e.text)

    def classes(self):
        return self.attrs.get("class", "").split()


class TreeBuilder(HTMLParser):
    """An element tree from HTML or XHTML text: html.parser reads both
    (fa-report's "<rect/>" and Chromium's "<rect></rect>" alike)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].text.append(data)


def parse(text):
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def expectations_of_files(snapshot_path, trace_path):
    with open(snapshot_path) as f:
        snapshot = json.load(f)
    with open(trace_path) as f:
        events = json.load(f)["traceEvents"]
    return expectations(snapshot, events)


LEGEND_SERIES = 10  # the tag paths with a colour of their own; the rest are one "other" series


def legend_names(frames):
    """The names the bytes chart's legend must show for (bytes, tag_bytes) frames.

    The root is "(untagged)"; a character XML cannot hold shows as U+FFFD.
    """
    totals = {}
    for _, tag_bytes in frames:
        for path, value in tag_bytes.items():
            name = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", path or "(untagged)")
            totals[name] = totals.get(name, 0) + value
    ranked = sorted(totals, key=lambda name: (-totals[name], name))
    if len(ranked) <= LEGEND_SERIES:
        return ranked
    return ranked[:LEGEND_SERIES] + ["other (%d paths)" % (len(ranked) - LEGEND_SERIES)]


def expectations(snapshot, events):
    """The counts the page must show, from the inputs (either may be None).

    events: the trace's event list. Without a snapshot, fa-report charts the
    frames of the thread that ran the most of them, not split by tag.
    """
    slices = [e for e in events or [] if e.get("ph") == "X" and e.get("cat") == "frame"]
    if snapshot is not None:
        frames = [(f["bytes"], f["tag_bytes"]) for f in snapshot["history"]["frames"]]
        records = snapshot["history"]["frames"]
    else:
        tids = [e["tid"] for e in slices]
        busiest = min(set(tids), key=lambda t: (-tids.count(t), t)) if tids else None
        frames = [(e["args"]["bytes"], {"all tags": e["args"]["bytes"]}) for e in slices if e["tid"] == busiest]
        records = []
    expect = {
        "frames": len(frames),
        "bytes": [b for b, _ in frames],
        "tags": legend_names(frames),
        "bandwidth": any("read_bytes" in f or "write_bytes" in f for f in records),
        "sites": len(((snapshot or {}).get("sites") or {}).get("entries") or []),
        "slices": None,
    }
    if events is not None:
        instants = [e for e in events if e.get("ph") in ("i", "I")]
        expect.update(slices=len(slices), instants=len(instants),
                      lanes=len({e["tid"] for e in slices + instants}))
    return expect


def by_id(root, element_id):
    return next((e for e in root.iter() if e.attrs.get("id") == element_id), None)


def marks(chart, tag, cls):
    return [e for e in chart.iter() if e.tag == tag and cls in e.classes()]


def check(root, expect):
    """Returns what is wrong with the page, one line per problem."""
    problems = []

    def need(condition, message):
        if not condition:
            problems.append(message)
        return condition

    def chart(element_id):
        element = by_id(root, element_id)
        if need(element is not None, "no element with id %s" % element_id):
            need(element.tag in ("svg", "table", "header", "section"), "%s is a <%s>" % (element_id, element.tag))
        return element

    need(by_id(root, "summary") is not None and "Frames" in by_id(root, "summary").all_text(),
         "the summary header is missing or has no frame count")
    frames = expect["frames"]

    bytes_chart = chart("chart-bytes")
    if bytes_chart is not None:
        groups = marks(bytes_chart, "g", "frame")
        need(len(groups) == frames, "chart-bytes: %d frame bars for %d frames" % (len(groups), frames))
        legend = " ".join(e.all_text() for e in marks(bytes_chart, "g", "legend"))
        for tag in expect["tags"]:
            need(tag in legend, "chart-bytes: the legend does not name tag path %r" % tag)
        # The tallest stack must be the frame with the most bytes.
        heights = [sum(float(r.attrs["height"]) for r in g.iter() if r.tag == "rect") for g in groups]
        if heights and len(heights) == frames and max(expect["bytes"]) > 0:
            need(heights.index(max(heights)) == expect["bytes"].index(max(expect["bytes"])),
                 "chart-bytes: the tallest bar is not the frame with the most bytes")

    for element_id in ("chart-allocations", "chart-frame-time"):
        element = chart(element_id)
        if element is not None:
            bars = marks(element, "rect", "frame")
            need(len(bars) == frames, "%s: %d bars for %d frames" % (element_id, len(bars), frames))
            need(any(e.tag == "text" and "tick" in e.classes() for e in element.iter()),
                 "%s: no tick labels" % element_id)

    if expect["bandwidth"]:
        element = chart("chart-bandwidth")
        if element is not None:
            points = marks(element, "circle", "frame")
            need(len(points) == 2 * frames, "chart-bandwidth: %d points for 2 x %d frames" % (len(points), frames))
    else:
        need(by_id(root, "chart-bandwidth") is None, "chart-bandwidth drawn without bandwidth figures")

    if expect["sites"]:
        table = chart("table-sites")
        if table is not None:
            rows = [e for e in table.iter() if e.tag == "tr"]
            need(len(rows) == expect["sites"] + 1,
                 "table-sites: %d rows for %d sites" % (len(rows) - 1, expect["sites"]))
    else:
        need(by_id(root, "table-sites") is None, "table-sites shown without sites")

    if expect["slices"] is not None:
        timeline = chart("chart-timeline")
        if timeline is not None:
            slices = marks(timeline, "rect", "slice")
            need(len(slices) == expect["slices"],
                 "chart-timeline: %d slices for %d frame events" % (len(slices), expect["slices"]))
            lanes = marks(timeline, "g", "lane")
            need(len(lanes) == expect["lanes"],
                 "chart-timeline: %d lanes for %d threads" % (len(lanes), expect["lanes"]))
            instants = [e for e in timeline.iter() if "instant" in e.classes()]
            need(len(instants) == expect["instants"],
                 "chart-timeline: %d markers for %d instant events" % (len(instants), expect["instants"]))
    else:
        need(by_id(root, "chart-timeline") is None, "chart-timeline drawn without a trace")

    for element in root.iter():
        need(element.tag not in ("script", "iframe", "object", "embed"), "the page holds a <%s>" % element.tag)
        if element.tag == "svg":
            need(element.attrs.get("xmlns", SVG_NS) == SVG_NS, "an <svg> outside the SVG namespace")
    return problems


def external_references(text):
    """Every http(s) URL in the page but the two namespace names."""
    return sorted(set(re.findall(r"https?://[^\s\"'<>()]*", text)) - {XHTML_NS, SVG_NS})


def synthetic_snapshot(frames):
    """A complete snapshot (docs/statistics.json) around the given history records."""
    kind = {"allocations": 0, "frees": 0, "bytes": 0, "live_bytes": 0, "peak_bytes": 0}
    budget = {"soft": 0, "hard": 0, "usage": 0, "reserved": 0, "soft_crossings": 0, "refusals": 0}
    kinds = {name: dict(kind) for name in ("frame", "pool", "heap", "scratch")}
    paths = [""] + sorted({p for f in frames for p in f["tag_bytes"] if p})
    tags = [dict(path=p, parent=0, depth=p.count("/") + 1 if p else 0, budget=dict(budget), **kinds) for p in paths]
    times = sorted(f["duration_ns"] for f in frames) or [0]
    return {
        "version": 2,
        "totals": {"frame_number": len(frames), "threads": 1, "backend_calls": 2, "backend_bytes": 1 << 20,
                   "tag_count": len(tags)},
        "total": dict(kind), "kinds": kinds,
        "classes": [{"block_size": 8 << i, "slabs": 0, "blocks_in_use": 0, "blocks_free": 0, "occupancy": 0}
                    for i in range(10)],
        "budgets": {"global": dict(budget), "frame": dict(budget, soft=1 << 20, hard=2 << 20)},
        "tags": tags,
        "history": {
            "summary": {"frames": len(frames), "avg_frame_ns": sum(times) / len(times), "avg_allocations": 0,
                        "avg_bytes": 0, "peak_bytes": max([f["peak_bytes"] for f in frames] + [0]),
                        "efficiency": 0.5, "p50_frame_ns": times[len(times) // 2], "p95_frame_ns": times[-1],
                        "p99_frame_ns": times[-1], "max_frame_ns": times[-1]},
            "frames": frames,
        },
    }


def synthetic_frame(number, tag_bytes, duration_ns=500000, **extra):
    total = sum(tag_bytes.values())
    return dict(frame=number, duration_ns=duration_ns, allocations=len(tag_bytes) * 10, bytes=total,
                peak_bytes=total, chunks=1, reserved_bytes=max(total, 65536), backend_calls=0,
                tag_bytes=tag_bytes, **extra)


def finish(failures):
    """Prints each failure and exits 1 if there is any, else 0."""
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)
