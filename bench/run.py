#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the benchmark binaries and makes the tables.

Each (binary, peer) runs as its own process, so each peer's peak resident
memory is its own; the processes are interleaved (every peer once, then every
peer again, REPS times) so that a drift of the machine's speed touches every
peer alike. Figures are medians with min-max; each peer's ratio to the ideal
bump is taken inside its own process (the ideal runs next to it), its ratio
to glibc malloc between medians of the same run.

    bench/run.py BUILD_DIR [--reps N] [--scale S] [--markdown F] [--json F] [--svg F]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

BINARIES = ["bench", "bench_jemalloc", "bench_tcmalloc"]
REFERENCE = "glibc malloc"


def peers_of(binary):
    out = subprocess.run([binary, "--list"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def run_once(binary, peer, scale):
    """One process: its result rows, and its peak RSS in KiB (as it measured
    it: the rusage of a child counts this process's own peak too)."""
    proc = subprocess.run([binary, "--peer", peer, "--scale", str(scale)], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"{binary} --peer {peer} failed with status {proc.returncode}")
    rows, kib = [], None
    for line in proc.stdout.splitlines():
        fields = line.split("\t")
        if fields[0] == "peak-rss-kib":
            kib = int(fields[1])
        else:
            name, workload, ns, waste, ideal = fields
            rows.append((name, workload, float(ns), float(waste), float(ideal)))
    return rows, kib


def collect(build, reps, scale):
    jobs = []
    for name in BINARIES:
        path = os.path.join(build, "bench", name)
        if os.access(path, os.X_OK):
            # the malloc-replacing binaries add only the peer the main one lacks
            known = {peer for _, peer in jobs}
            jobs += [(path, peer) for peer in peers_of(path) if peer not in known]
    if not jobs:
        sys.exit(f"no benchmark binaries under {build}/bench: build with `make bench`")
    samples, ratios, waste, rss, order = {}, {}, {}, {}, []
    total = reps * len(jobs)
    for rep in range(reps):
        for i, (path, peer) in enumerate(jobs):
            done = rep * len(jobs) + i + 1
            print(f"\r[{done:3d}/{total}] {peer:<20}", end="", file=sys.stderr, flush=True)
            rows, kib = run_once(path, peer, scale)
            rss.setdefault(peer, []).append(kib)
            for name, workload, ns, w, ideal in rows:
                key = (name, workload)
                if key not in samples:
                    order.append(key)
                samples.setdefault(key, []).append(ns)
                if ideal > 0:
                    ratios.setdefault(key, []).append(ns / ideal)
                if w >= 0:
                    waste[key] = w
    print(file=sys.stderr)
    return samples, ratios, waste, rss, order


def summarize(samples, ratios, waste, rss, order):
    results = []
    for peer, workload in order:
        ns = samples[(peer, workload)]
        results.append({
            "peer": peer, "workload": workload,
            "ns_median": statistics.median(ns), "ns_min": min(ns), "ns_max": max(ns),
            "x_ideal": statistics.median(ratios[(peer, workload)]) if (peer, workload) in ratios else None,
            "waste": waste.get((peer, workload)),
            "max_rss_kib": max(rss[peer]),
        })
    reference = {r["workload"]: r["ns_median"] for r in results if r["peer"] == REFERENCE}
    for r in results:
        base = reference.get(r["workload"])
        r["x_glibc"] = r["ns_median"] / base if base else None
    return results


def fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def tables(results, markdown):
    workloads = list(dict.fromkeys(r["workload"] for r in results))
    lines = []
    for workload in workloads:
        rows = sorted((r for r in results if r["workload"] == workload), key=lambda r: r["ns_median"])
        unit = "ns/frame" if workload == "empty frame" else "ns/op"
        head = ["peer", f"{unit} (median)", "min-max", "x ideal bump", "x glibc", "waste", "max RSS MiB"]
        body = [[r["peer"], fmt(r["ns_median"], ".2f"), f"{r['ns_min']:.2f}-{r['ns_max']:.2f}",
                 fmt(r["x_ideal"], ".2f"), fmt(r["x_glibc"], ".2f"),
                 fmt(r["waste"] * 100 if r["waste"] is not None else None, ".1f") + ("%" if r["waste"] is not None else ""),
                 f"{r['max_rss_kib'] / 1024:.1f}"] for r in rows]
        if markdown:
            lines.append(f"### {workload}\n")
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            lines += ["| " + " | ".join(row) + " |" for row in body]
        else:
            widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
            lines.append(f"== {workload}")
            lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)))
            lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in body]
        lines.append("")
    return "\n".join(lines)


def svg(results):
    """Horizontal bars of ns/op per workload and peer, on a log scale."""
    import math
    workloads = list(dict.fromkeys(r["workload"] for r in results))
    peers = list(dict.fromkeys(r["peer"] for r in results))
    colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
              "#a6761d", "#666666", "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6", "#ff7f00"]
    bar, gap, left, width = 9, 14, 170, 560
    floor = 0.1  # an empty frame of the ideal bump measures ~0 ns; bars start here
    lo = math.log10(floor)
    hi = math.log10(max(r["ns_median"] for r in results) * 1.5)
    x = lambda v: left + (math.log10(max(v, floor)) - lo) / (hi - lo) * width
    parts, y = [], 30
    for w in workloads:
        rows = [r for r in results if r["workload"] == w]
        parts.append(f'<text x="4" y="{y + bar * len(rows) / 2 + 4:.0f}" font-size="11">{w}</text>')
        for r in rows:
            c = colors[peers.index(r["peer"]) % len(colors)]
            parts.append(f'<rect x="{left}" y="{y}" width="{x(r["ns_median"]) - left:.1f}" height="{bar - 1}" '
                         f'fill="{c}"><title>{r["peer"]}: {r["ns_median"]:.2f} ns</title></rect>')
            y += bar
        y += gap
    for decade in range(math.ceil(lo), math.floor(hi) + 1):
        gx = x(10 ** decade)
        parts.append(f'<line x1="{gx:.1f}" y1="20" x2="{gx:.1f}" y2="{y}" stroke="#ccc"/>')
        parts.append(f'<text x="{gx:.1f}" y="15" font-size="10" text-anchor="middle">{10 ** decade:g} ns</text>')
    ly = 30
    for i, p in enumerate(peers):
        parts.append(f'<rect x="{left + width + 20}" y="{ly}" width="10" height="10" fill="{colors[i % len(colors)]}"/>')
        parts.append(f'<text x="{left + width + 35}" y="{ly + 9}" font-size="11">{p}</text>')
        ly += 16
    total_w, total_h = left + width + 170, max(y, ly) + 10
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" '
            f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>'
            + "".join(parts) + "</svg>\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    ap.add_argument("--svg")
    args = ap.parse_args()
    results = summarize(*collect(args.build, args.reps, args.scale))
    print(tables(results, markdown=False))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(tables(results, markdown=True))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"reps": args.reps, "scale": args.scale, "results": results}, f, indent=1)
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(results))


if __name__ == "__main__":
    main()
