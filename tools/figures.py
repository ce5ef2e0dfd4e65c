#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The measured figures the docs quote, kept in one generated file.

docs/figures.json holds every figure README.md and docs/*.md quote, by key,
with where and when each source was measured. The docs never hold a figure
by hand: each sits between markers this tool fills from the file,

    <!-- fig:callgrind.gcc.pool_pair.local|.2f -->49.04<!-- /fig -->
    <!-- fig:budgets.t*.ratio|.2f -->1.03–1.07<!-- /fig -->
    <!-- fig-runs:deque.owner_and_thief.ratio|.1f -->1.8–2.8<!-- /fig -->
    <!-- fig-table:peers.full -->
    ...a table...
    <!-- /fig-table -->

`fig` gives a key's latest value, or the range of the latest values of the
keys a `*` pattern matches; `fig-runs` the range over the last RUNS_KEPT
collections (for the figures that vary from run to run on a shared machine);
after `|` comes a Python format spec (.2f when none), or `time` (ns or µs,
with the unit);
`fig-table` a whole generated table (TABLES); `<!-- fig-date:SOURCE -->` the
day a source was last measured. The plot of the peers,
docs/performance.svg, is made from the file the same way (PLOTS).

    tools/figures.py collect BUILD [--clang DIR] [--minimal DIR] [--only SOURCE ...]
    tools/figures.py render     rewrite the marked values from the file
    tools/figures.py check      exit 1 on any difference

`make bench` builds what collect runs, then runs collect and render. collect
measures each source (SOURCES: callgrind's counts of three builds, the peers
of bench/run.py, the framealloc benchmarks' "FIGURE key value" lines of
bench/figures.h, engine_lua --bench), keeps the figures some doc quotes (to
quote another, mark it and collect again) and records the date, commit and
machine of each source; a source not built keeps its figures and its date.
`check` (a ctest) fails when a marked value or a plot differs from the file
(a hand edit, or a file refreshed without a render), when a marker names a
key the file lacks, or when the file holds a key no doc quotes: so a figure
in the docs is always the last measured one, and the file says when, on
which commit and on which machine.
"""
import argparse
import datetime
import fnmatch
import glob
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = os.path.join(ROOT, "docs", "figures.json")
RUNS_KEPT = 5

FIG = re.compile(r"<!-- fig(-runs)?:([A-Za-z0-9_.*-]+)(?:\|([^ ]+))? -->(.*?)<!-- /fig -->", re.S)
DATE = re.compile(r"<!-- fig-date:([a-z.]+) -->(.*?)<!-- /fig -->")
TABLE = re.compile(r"(<!-- fig-table:([A-Za-z0-9_.-]+) -->\n)(.*?)(<!-- /fig-table -->)", re.S)

sys.path.insert(0, os.path.join(ROOT, "bench"))
import run as peers_run  # noqa: E402  (bench/run.py: the peers and their tables)


def docs():
    return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))


def slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# ---- collection --------------------------------------------------------------

# tools/count-instructions.sh's lines (FA_COUNT_SETTINGS=1), by key.
CALLGRIND = {
    "fa_frame_alloc, local": "frame_alloc.local",
    "fa_frame_alloc, struct": "frame_alloc.struct",
    "fa_arena_alloc (handle), local": "arena_alloc.local",
    "fa_arena_alloc (handle), struct": "arena_alloc.struct",
    "fa_pool_alloc + fa_pool_free, local": "pool_pair.local",
    "fa_pool_alloc + fa_pool_free, struct": "pool_pair.struct",
    "fa_cache_alloc + fa_cache_free (handle), local": "cache_pair.local",
    "fa_cache_alloc + fa_cache_free (handle), struct": "cache_pair.struct",
    "empty frame (fa_begin_frame + fa_end_frame)": "empty_frame.on",
    "empty frame, statistics, tags and budgets off": "empty_frame.off",
    "fa_frame_alloc under a budgeted tag, local": "frame_alloc.budgeted_tag",
    "fa_pool_alloc + fa_pool_free under a budgeted tag, local": "pool_pair.budgeted_tag",
    "fa_frame_alloc with budgets set": "frame_alloc.budgets",
    "fa_frame_alloc, statistics, tags and budgets off": "frame_alloc.off",
    "fa_pool_alloc + fa_pool_free under a tag": "pool_pair.tag",
    "fa_arena_alloc (handle), sites at 1 in 64": "arena_alloc.sites_64",
    "fa_arena_alloc (handle), sites at every allocation": "arena_alloc.sites_all",
    "fa_pool_alloc + fa_pool_free, sites at 1 in 64": "pool_pair.sites_64",
    "fa_pool_alloc + fa_pool_free, sites at every allocation": "pool_pair.sites_all",
    "empty frame with a trace running": "empty_frame.trace",
    "reference: ideal bump, local": "ideal_bump.local",
    "reference: ideal bump, struct": "ideal_bump.struct",
    "reference: ideal size-class pool, local": "ideal_pool.local",
    "reference: ideal size-class pool, struct": "ideal_pool.struct",
}
CALLGRIND_LINE = re.compile(r"^(\S.*?)\s+([0-9.]+)\s+\(ceiling")


def stream(argv, env=None):
    """Runs argv with its output passed through; returns its stdout."""
    print("+ " + " ".join(argv), flush=True)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env=dict(os.environ, **(env or {})))
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if not line.startswith("FIGURE "):
            print(line, end="", flush=True)
    if proc.wait() != 0:
        sys.exit(f"figures: {argv[0]} failed with status {proc.returncode}")
    return "".join(lines)


def callgrind(build, source):
    """Instruction counts of BUILD's probes under SOURCE's keys; None if it has none."""
    if not os.access(os.path.join(build, "bench", "instr_frame"), os.X_OK):
        return None
    out = stream([os.path.join(ROOT, "tools", "count-instructions.sh"), build], {"FA_COUNT_SETTINGS": "1"})
    found = {}
    for line in out.splitlines():
        m = CALLGRIND_LINE.match(line)
        if m:
            if m.group(1) not in CALLGRIND:
                sys.exit(f"figures: count-instructions.sh measures {m.group(1)!r}, which CALLGRIND does not name")
            if float(m.group(2)) <= 0:  # valgrind gave up on the probe (its output goes to /dev/null)
                sys.exit(f"figures: {build}: callgrind counted nothing for {m.group(1)!r}")
            found[f"{source}.{CALLGRIND[m.group(1)]}"] = float(m.group(2))
    missing = {f"{source}.{key}" for key in CALLGRIND.values()} - set(found)
    if missing:
        sys.exit(f"figures: count-instructions.sh did not measure {sorted(missing)}")
    return found


def figure_lines(out):
    """The "FIGURE key value" lines of a benchmark (bench/figures.h)."""
    found = {}
    for line in out.splitlines():
        if line.startswith("FIGURE "):
            _, key, value = line.split()
            found[key] = float(value)
    return found


def program(build, path, *args):
    """A benchmark's FIGURE lines; None where it was not built."""
    binary = os.path.join(build, path)
    if not os.access(binary, os.X_OK):
        return None
    return figure_lines(stream([binary, *args], {"FA_BENCH_FIGURES": "1"}))


def prodcons(build):
    found = {}
    for peer in ("framealloc pool", "mimalloc", "glibc malloc"):
        one = program(build, "bench/prodcons", peer)
        if one is None:
            return None
        found.update(one)
    return found


# The summary table of docs/performance.md: the frame workloads, and the peers
# it shows with their time.
FRAME_WORKLOADS = ["1000 x 64 B", "physics", "particles", "render", "UI", "alignment 7/31/63 B"]
SUMMARY_PEERS = ["framealloc frame", "framealloc arena handle", "ideal bump", "mimalloc heap", "APR pool",
                 "mimalloc", "glibc malloc"]
CHURN_PEERS = ["framealloc pool", "mimalloc", "glibc malloc", "tcmalloc", "jemalloc"]
# where the ideal bump's 16-byte alignment wastes: mixed sizes
IDEAL_WASTE_WORKLOADS = ["render", "alignment 7/31/63 B"]
EMPTY_FRAME_PEERS = ["framealloc frame", "APR pool", "talloc", "obstack", "mimalloc heap"]


def peer_figures(results):
    """The figures the docs quote from bench/run.py's results."""
    at = {(r["workload"], r["peer"]): r for r in results}
    found = {}
    for w in FRAME_WORKLOADS:
        ns = {p: at[(w, p)]["ns_median"] for p in SUMMARY_PEERS}
        for p in SUMMARY_PEERS:
            found[f"peers.{slug(w)}.{slug(p)}.ns"] = ns[p]
        for p in ("framealloc frame", "framealloc arena handle"):
            found[f"peers.{slug(w)}.{slug(p)}.x_ideal"] = at[(w, p)]["x_ideal"]
        fa = ns["framealloc frame"]
        found[f"peers.{slug(w)}.fa_per_mimalloc_heap"] = fa / ns["mimalloc heap"]
        found[f"peers.{slug(w)}.apr_per_fa"] = ns["APR pool"] / fa
        found[f"peers.{slug(w)}.glibc_per_fa"] = ns["glibc malloc"] / fa
        found[f"peers.{slug(w)}.framealloc_frame.waste_pct"] = 100 * at[(w, "framealloc frame")]["waste"]
    for w in IDEAL_WASTE_WORKLOADS:
        found[f"peers.{slug(w)}.ideal_bump.waste_pct"] = 100 * at[(w, "ideal bump")]["waste"]
    for p in CHURN_PEERS:
        if ("pool churn", p) in at:  # jemalloc and tcmalloc: where their packages were found
            found[f"peers.pool_churn.{slug(p)}.ns"] = at[("pool churn", p)]["ns_median"]
    found["peers.pool_churn.fa_per_mimalloc"] = (at[("pool churn", "framealloc pool")]["ns_median"]
                                                 / at[("pool churn", "mimalloc")]["ns_median"])
    for p in EMPTY_FRAME_PEERS:
        found[f"peers.empty_frame.{slug(p)}.ns"] = at[("empty frame", p)]["ns_median"]
    if ("2 threads", "ideal bump") in at:  # a machine with two cores or more
        found["peers.threads.ideal_bump.t2_per_t1"] = (at[("2 threads", "ideal bump")]["ns_median"]
                                                       / at[("1 thread", "ideal bump")]["ns_median"])
    return found


def peers(build, data):
    """Runs bench/run.py (its outputs as `make bench` always wrote them)."""
    if not os.access(os.path.join(build, "bench", "bench"), os.X_OK):
        return None
    stream([sys.executable, os.path.join(ROOT, "bench", "run.py"), build,
            "--markdown", os.path.join(build, "bench-results.md"),
            "--json", os.path.join(build, "bench-results.json"),
            "--svg", os.path.join(build, "bench-results.svg")])
    with open(os.path.join(build, "bench-results.json")) as f:
        data["peers"] = json.load(f)
    return peer_figures(data["peers"]["results"])


LUA_ROW = re.compile(r"^\| ([^|]+?) \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| ([0-9.]+) \|$", re.M)


def engine_lua(build):
    """examples/engines/lua --bench: framealloc's time over glibc's per script."""
    binary = os.path.join(build, "examples", "engines", "lua", "engine_lua")
    if not os.access(binary, os.X_OK):
        return None
    out = stream([binary, "--bench"])
    return {f"lua.{slug(name)}.ratio": float(ratio) for name, ratio in LUA_ROW.findall(out)}


# Each source: what `collect` measures, by the key prefix its figures share;
# each is given the build directories (gcc: the main one, clang, minimal).
SOURCES = {
    "callgrind.gcc": lambda builds, data: callgrind(builds["gcc"], "callgrind.gcc"),
    "callgrind.clang": lambda builds, data: callgrind(builds["clang"], "callgrind.clang"),
    "callgrind.minimal": lambda builds, data: callgrind(builds["minimal"], "callgrind.minimal"),
    "peers": lambda builds, data: peers(builds["gcc"], data),
    "prodcons": lambda builds, data: prodcons(builds["gcc"]),
    "budgets": lambda builds, data: program(builds["gcc"], "bench/bench_budgets"),
    "debug": lambda builds, data: program(builds["gcc"], "bench/bench_debug"),
    "deque": lambda builds, data: program(builds["gcc"], "bench/bench_deque"),
    "threading": lambda builds, data: program(builds["gcc"], "bench/bench_threading"),
    "realloc": lambda builds, data: program(builds["gcc"], "bench/bench_realloc"),
    "lua": lambda builds, data: engine_lua(builds["gcc"]),
}


def source_of(key):
    return max((s for s in SOURCES if key == s or key.startswith(s + ".")), key=len, default=None)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPUs, {cpu}, {platform.system()} {platform.release()}"


def commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load():
    with open(FIGURES) as f:
        return json.load(f)


def save(data):
    data["figures"] = dict(sorted(data["figures"].items()))
    text = json.dumps(data, indent=1, ensure_ascii=False)
    # each innermost list or object (a figure's runs, a peer's result) on one
    # line, so that a refresh reads as a diff of figures
    text = re.sub(r"([\[{])\n\s*([^\[\]{}]*?)\n\s*([\]}])",
                  lambda m: m.group(1) + re.sub(r"\n\s*", " ", m.group(2)) + m.group(3), text)
    with open(FIGURES, "w") as f:
        f.write(text + "\n")


def collect(builds, only):
    data = load()
    stamp = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             "commit": commit(), "machine": machine()}
    for name in only or SOURCES:
        found = SOURCES[name](builds, data)
        if found is None:
            print(f"figures: {name}: not built, its figures stay as they were", file=sys.stderr)
            continue
        stray = [k for k in found if source_of(k) != name]
        if stray:
            sys.exit(f"figures: {name} gave keys outside it: {stray}")
        # a source's figures are replaced together: one it no longer gives goes
        for key in [k for k in data["figures"] if source_of(k) == name and k not in found]:
            del data["figures"][key]
        for key, value in found.items():
            runs = data["figures"].get(key, [])
            if runs[:1] != [round(value, 4)]:  # the same again (callgrind's counts) says nothing new
                data["figures"][key] = ([round(value, 4)] + runs)[:RUNS_KEPT]
        data["sources"][name] = stamp
        save(data)  # a later source that fails costs this one nothing
    # the file holds what the docs quote: to quote another figure, mark it and collect again
    _, _, used = render(data, write=False)
    dropped = [key for key in unused(data, used) if key in data["figures"]]
    for key in dropped:
        del data["figures"][key]
    if dropped:
        print(f"figures: {len(dropped)} figures measured but quoted by no doc, not kept", file=sys.stderr)
    save(data)


# ---- rendering ---------------------------------------------------------------

def fmt(value, spec):
    if spec == "time":  # ns, in µs from a thousand on, three digits
        return f"{value / 1000:.3g} µs" if value >= 1000 else f"{value:.3g} ns"
    return format(value, spec)


def span(values, spec):
    lo, hi = fmt(min(values), spec), fmt(max(values), spec)
    if lo == hi:
        return lo
    return f"{lo} to {hi}" if lo[0] in "+-" else f"{lo}–{hi}"  # "-6–+23" would misread


class Figures:
    """The file's figures as markers see them, noting which are used."""

    def __init__(self, data):
        self.data, self.figures, self.used = data, data["figures"], set()

    def keys(self, pattern):
        found = sorted(k for k in self.figures if fnmatch.fnmatchcase(k, pattern))
        self.used.update(found)
        return found

    def value(self, runs, pattern, spec):
        keys = self.keys(pattern)
        if not keys:
            return None
        values = [v for k in keys for v in (self.figures[k] if runs else self.figures[k][:1])]
        return span(values, spec or ".2f")

    def latest(self, key):
        self.used.add(key)
        return self.figures[key][0]


def table_peers_full(f):
    f.used.add("peers")
    return peers_run.tables(f.data["peers"]["results"], markdown=True).rstrip("\n") + "\n"


SUMMARY_COLUMNS = ["framealloc_frame.ns", "framealloc_arena_handle.ns", "ideal_bump.ns",
                   "framealloc_frame.x_ideal", "framealloc_arena_handle.x_ideal", "mimalloc_heap.ns",
                   "fa_per_mimalloc_heap", "apr_pool.ns", "mimalloc.ns", "glibc_malloc.ns"]


def table_peers_summary(f):
    """Time on the frame workloads, the peers an engine would weigh."""
    lines = ["| workload | framealloc | arena handle | ideal bump | × ideal (fa / handle), same run | mimalloc heap "
             "| fa ÷ mi heap | APR pool | mimalloc | glibc |", "|---|---|---|---|---|---|---|---|---|---|"]
    for w in FRAME_WORKLOADS:
        cells = [fmt(f.latest(f"peers.{slug(w)}.{column}"), ".2f") for column in SUMMARY_COLUMNS]
        cells[3:5] = [" / ".join(cells[3:5])]  # framealloc's and the handle's, one column
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


TABLES = {"peers.full": table_peers_full, "peers.summary": table_peers_summary}

# Whole files the docs show, made from the file's figures like the tables.
PLOTS = {os.path.join("docs", "performance.svg"): lambda data: peers_run.svg(data["peers"]["results"])}


def render_text(text, f, where, stale, broken):
    """TEXT with every marked figure and table from the file; what differed
    goes to STALE, what the file cannot give to BROKEN."""
    def fig(m):
        runs, pattern, spec, old = m.groups()
        value = f.value(bool(runs), pattern, spec)
        if value is None:
            broken.append(f"{where}: no figure {pattern!r} in docs/figures.json")
            return m.group(0)
        if value != old:
            stale.append(f"{where}: {pattern} reads {old!r}, docs/figures.json says {value!r}")
        return m.group(0).replace(f"-->{old}<!--", f"-->{value}<!--", 1)

    def table(m):
        opening, name, old, closing = m.groups()
        if name not in TABLES:
            broken.append(f"{where}: no table {name!r}")
            return m.group(0)
        try:  # blank lines around: a markdown table ends at one, not at a comment
            new = "\n" + TABLES[name](f) + "\n"
        except KeyError as missing:
            broken.append(f"{where}: table {name}: no figure {missing} in docs/figures.json")
            return m.group(0)
        if new != old:
            stale.append(f"{where}: table {name} differs from docs/figures.json")
        return opening + new + closing

    def date(m):
        source, old = m.groups()
        if source not in f.data["sources"]:
            broken.append(f"{where}: no source {source!r} in docs/figures.json")
            return m.group(0)
        value = f.data["sources"][source]["date"][:len("YYYY-MM-DD")]
        if value != old:
            stale.append(f"{where}: the date of {source} reads {old!r}, docs/figures.json says {value!r}")
        return m.group(0).replace(f"-->{old}<!--", f"-->{value}<!--", 1)

    return DATE.sub(date, TABLE.sub(table, FIG.sub(fig, text)))


def render(data, write):
    """Renders every doc from DATA (rewriting them if WRITE); returns the
    differences found, the markers DATA cannot fill and the keys used."""
    f = Figures(data)
    stale, broken = [], []
    for path in docs():
        with open(path) as fh:
            text = fh.read()
        new = render_text(text, f, os.path.relpath(path, ROOT), stale, broken)
        if write and new != text:
            with open(path, "w") as fh:
                fh.write(new)
    for path, plot in PLOTS.items():
        try:
            new = plot(data)
        except KeyError as missing:
            broken.append(f"{path}: no figure {missing} in docs/figures.json")
            continue
        with open(os.path.join(ROOT, path)) as fh:
            if fh.read() != new:
                stale.append(f"{path} differs from docs/figures.json")
        if write:
            with open(os.path.join(ROOT, path), "w") as fh:
                fh.write(new)
    return stale, broken, f.used


def unused(data, used):
    """DATA's figures, and its peer results, that no doc quotes."""
    return sorted(set(data["figures"]) - used) + (["peers"] if "peers" in data and "peers" not in used else [])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="run the benchmarks, update docs/figures.json")
    c.add_argument("build", help="the build (gcc, default configuration) of every benchmark")
    c.add_argument("--clang", help="a clang build of the instruction probes (default: BUILD-instr-clang)")
    c.add_argument("--minimal", help="a -DFA_MINIMAL=ON build of them (default: BUILD-instr-minimal)")
    c.add_argument("--only", nargs="+", choices=sorted(SOURCES), help="these sources alone")
    sub.add_parser("render", help="rewrite the marked figures in the docs from docs/figures.json")
    sub.add_parser("check", help="exit 1 if a marked figure differs from docs/figures.json")
    args = ap.parse_args()
    if args.command == "collect":
        build = os.path.abspath(args.build)
        collect({"gcc": build, "clang": os.path.abspath(args.clang or build + "-instr-clang"),
                 "minimal": os.path.abspath(args.minimal or build + "-instr-minimal")}, args.only)
    else:
        data = load()
        stale, broken, used = render(data, write=args.command == "render")
        broken += [f"docs/figures.json: {key} is quoted by no doc" for key in unused(data, used)]
        if args.command == "render":
            stale = []  # filled
        for problem in stale + broken:
            print(problem, file=sys.stderr)
        if stale:
            print("figures: run `tools/figures.py render` (or `make bench` to measure again)", file=sys.stderr)
        sys.exit(1 if stale or broken else 0)


if __name__ == "__main__":
    main()
