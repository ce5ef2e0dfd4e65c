#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions per fast-path operation, counted by callgrind as
# docs/performance.md describes: Ir(550 rounds) - Ir(50 rounds), divided by
# 500 rounds x the operations per round, so start-up and teardown cancel out.
# Each figure in both shapes of bench/instr_shape.h: "local" (the allocator
# or handle in a local) and "struct" (read from a context struct on every
# call, each result stored into a void * array: engine code's shape).
#   tools/count-instructions.sh [BUILD_DIR] [--check]
# --check exits 1 when a figure is above its ceiling in the table below (the
# CI guard). FA_COUNT_SETTINGS=1 also counts the frame and pool paths with
# budgets, under a tag and with everything disabled.
set -eu
build=build
check=""
for arg in "$@"; do
    case "$arg" in
        --check) check=1 ;;
        *) build="$arg" ;;
    esac
done

instructions() { # probe rounds args...
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1
    callgrind_annotate "$out" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
    rm -f "$out"
}

status=0
# measure NAME CEILING OPS-PER-ROUND PROBE ARGS...: CEILING "-" for none
measure() {
    name="$1" ceiling="$2" ops="$3" probe="$build/bench/$4"
    shift 4
    [ -x "$probe" ] || { echo "no $probe: run 'make' first" >&2; exit 2; }
    per=$(awk -v a="$(instructions "$probe" 550 "$@")" -v b="$(instructions "$probe" 50 "$@")" -v n="$ops" \
        'BEGIN { printf "%.2f", (a - b) / (500 * n) }')
    printf '%-58s %8s   (ceiling %s)\n' "$name" "$per" "$ceiling"
    if [ -n "$check" ] && [ "$ceiling" != "-" ] && awk -v p="$per" -v m="$ceiling" 'BEGIN { exit !(p > m) }'; then
        echo "FAIL: $name is above its ceiling of $ceiling" >&2
        status=1
    fi
}

echo "instructions per operation (1000 x 64 B per round, gcc -O2, static library)"
#       what                                                     ceiling ops  probe        args
measure "fa_frame_alloc, local"                                  13.0   1000 instr_frame  - local
measure "fa_frame_alloc, struct"                                 18.0   1000 instr_frame  - struct
measure "fa_arena_alloc (handle), local"                         13.0   1000 instr_frame  arena local
measure "fa_arena_alloc (handle), struct"                        15.0   1000 instr_frame  arena struct
measure "fa_pool_alloc + fa_pool_free, local"                    50.0   1000 instr_pool   - local
measure "fa_pool_alloc + fa_pool_free, struct"                   60.0   1000 instr_pool   - struct
measure "fa_cache_alloc + fa_cache_free (handle), local"         50.0   1000 instr_pool   cache local
measure "fa_cache_alloc + fa_cache_free (handle), struct"        54.0   1000 instr_pool   cache struct
measure "empty frame (fa_begin_frame + fa_end_frame)"           350.0      1 instr_frame  empty
measure "empty frame, statistics, tags and budgets off"          170.0      1 instr_frame  empty-off
measure "fa_frame_alloc under a budgeted tag, local"             15.0   1000 instr_frame  tagged
measure "fa_pool_alloc + fa_pool_free under a budgeted tag, local" 50.0 1000 instr_pool   budgeted
if [ -n "${FA_COUNT_SETTINGS:-}" ]; then # the cost of each setting (docs/budgets-and-tags.md)
    measure "fa_frame_alloc with budgets set"                    -      1000 instr_frame  budget
    measure "fa_frame_alloc, statistics, tags and budgets off"   -      1000 instr_frame  off
    measure "fa_pool_alloc + fa_pool_free under a tag"           -      1000 instr_pool   tagged
    # profiling (docs/profiling.md): hot sites at 1 in 64 and at every allocation, a trace
    measure "fa_arena_alloc (handle), sites at 1 in 64"          -      1000 instr_frame  sites local
    measure "fa_arena_alloc (handle), sites at every allocation" -      1000 instr_frame  sites-all local
    measure "fa_pool_alloc + fa_pool_free, sites at 1 in 64"     -      1000 instr_pool   sites local
    measure "fa_pool_alloc + fa_pool_free, sites at every allocation" - 1000 instr_pool sites-all local
    measure "empty frame with a trace running"                   -         1 instr_frame  empty-trace
fi
measure "reference: ideal bump, local"                           -      1000 instr_ideal  bump local
measure "reference: ideal bump, struct"                          -      1000 instr_ideal  bump struct
measure "reference: ideal size-class pool, local"                -      1000 instr_ideal  pool local
measure "reference: ideal size-class pool, struct"               -      1000 instr_ideal  pool struct
exit $status
