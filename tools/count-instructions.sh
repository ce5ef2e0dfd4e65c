#!/bin/sh
# Instructions per fa_frame_alloc in a loop of 1000 x 64 B frame allocations,
# and per fa_pool_alloc + fa_pool_free pair for 1000 x 64 B blocks, counted
# by callgrind as docs/performance.md describes: Ir(550 rounds) - Ir(50 rounds), divided by
# 500,000, so start-up and teardown cancel out.
#   tools/count-instructions.sh [BUILD_DIR] [--max-frame N] [--max-pool N]
# With a --max option, exits 1 when that figure is above N (the CI guard).
# FA_COUNT_SETTINGS=1 also counts the frame path with budgets, under a tag
# and with everything disabled.
set -eu
build=build
max_frame=""
max_pool=""
while [ $# -gt 0 ]; do
    case "$1" in
        --max-frame) max_frame="$2"; shift 2 ;;
        --max-pool) max_pool="$2"; shift 2 ;;
        *) build="$1"; shift ;;
    esac
done

instructions() { # probe rounds [mode]
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1
    callgrind_annotate "$out" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
    rm -f "$out"
}

status=0
measure() { # probe what limit [mode]
    probe="$build/bench/$1"
    [ -x "$probe" ] || { echo "no $probe: run 'make' first" >&2; exit 2; }
    per=$(awk -v a="$(instructions "$probe" 550 ${4:-})" -v b="$(instructions "$probe" 50 ${4:-})" \
        'BEGIN { printf "%.2f", (a - b) / 500000 }')
    echo "$2: $per instructions (1000 x 64 B, gcc -O2, static library)"
    if [ -n "$3" ] && awk -v p="$per" -v m="$3" 'BEGIN { exit !(p > m) }'; then
        echo "FAIL: $2 is above the limit of $3" >&2
        status=1
    fi
}
measure instr_frame "fa_frame_alloc, per allocation" "$max_frame"
measure instr_pool "fa_pool_alloc + fa_pool_free, per pair" "$max_pool"
if [ -n "${FA_COUNT_SETTINGS:-}" ]; then # the cost of each setting (docs/budgets-and-tags.md)
    measure instr_frame "fa_frame_alloc with budgets set" "" budget
    measure instr_frame "fa_frame_alloc under a budgeted tag" "" tagged
    measure instr_frame "fa_frame_alloc, statistics, tags and budgets off" "" off
    measure instr_pool "fa_pool_alloc + fa_pool_free under a tag, per pair" "" tagged
    measure instr_pool "fa_pool_alloc + fa_pool_free under a budgeted tag, per pair" "" budgeted
fi
measure instr_ideal "reference: ideal bump, per allocation" "" bump
measure instr_ideal "reference: ideal size-class pool, per pair" "" pool
exit $status
