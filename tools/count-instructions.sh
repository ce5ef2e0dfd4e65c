#!/bin/sh
# Instructions per fa_frame_alloc in a loop of 1000 x 64 B frame allocations,
# counted by callgrind as DESIGN §5 says: Ir(550 frames) - Ir(50 frames),
# divided by 500,000, so start-up and teardown cancel out.
#   tools/count-instructions.sh [BUILD_DIR] [--max N]
# With --max, exits 1 when the figure is above N (the CI guard).
set -eu
build=build
max=""
while [ $# -gt 0 ]; do
    case "$1" in
        --max) max="$2"; shift 2 ;;
        *) build="$1"; shift ;;
    esac
done
probe="$build/bench/instr_frame"
[ -x "$probe" ] || { echo "no $probe: run 'make' first" >&2; exit 2; }

instructions() {
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$probe" "$1" >/dev/null 2>&1
    callgrind_annotate "$out" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
    rm -f "$out"
}
small=$(instructions 50)
large=$(instructions 550)
per=$(awk -v a="$large" -v b="$small" 'BEGIN { printf "%.2f", (a - b) / 500000 }')
echo "fa_frame_alloc: $per instructions per allocation (1000 x 64 B, gcc -O2, static)"
if [ -n "$max" ] && awk -v p="$per" -v m="$max" 'BEGIN { exit !(p > m) }'; then
    echo "FAIL: above the limit of $max" >&2
    exit 1
fi
