#!/bin/sh
# SPDX-License-Identifier: MIT
# Keeps the licence line (LICENSE) in every source file: within its first
# three lines, in the file's comment syntax, after a #! line if it has one.
#   tools/spdx.sh --check   lists the files that lack it; exits 1 if any
#   tools/spdx.sh --fix     adds it to them
# The files are those git tracks or would track (new files count before
# their first commit): C and C++ sources and headers, Python, shell, CMake
# (with its .in templates), pkg-config templates, the Makefile,
# tools/fa-report, and every executable that starts with #!.
set -eu
cd "$(dirname "$0")/.."
spdx='SPDX-License-Identifier: MIT'

# The licence line as a comment of the file's language, or nothing for a
# file that is not a source file.
comment_for() {
    case "$1" in
    *.c | *.h) echo "/* $spdx */" ;;
    *.cpp | *.hpp) echo "// $spdx" ;;
    *.py | *.sh | *.cmake | *.cmake.in | *.pc.in | CMakeLists.txt | */CMakeLists.txt | Makefile | */Makefile | \
        tools/fa-report) echo "# $spdx" ;;
    *) if [ -x "$1" ] && [ "$(head -c 2 "$1")" = '#!' ]; then echo "# $spdx"; fi ;;
    esac
}

case "${1:-}" in
--check | --fix) mode=$1 ;;
*) echo "usage: tools/spdx.sh --check | --fix" >&2; exit 2 ;;
esac

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
lacking=0
IFS='
'
for file in $(git ls-files --cached --others --exclude-standard | sort -u); do
    if [ ! -f "$file" ] || [ -L "$file" ]; then continue; fi # deleted in the work tree, or a link
    text=$(comment_for "$file")
    [ -n "$text" ] || continue
    head -n 3 "$file" | grep -q "$spdx" && continue
    lacking=$((lacking + 1))
    if [ "$mode" = --check ]; then
        echo "$file"
        continue
    fi
    if [ "$(head -c 2 "$file")" = '#!' ]; then
        { head -n 1 "$file"; echo "$text"; tail -n +2 "$file"; } >"$tmp"
    else
        { echo "$text"; cat "$file"; } >"$tmp"
    fi
    cat "$tmp" >"$file" # rewritten in place, so it keeps its mode
    echo "spdx: added to $file"
done

if [ "$mode" = --check ] && [ $lacking -gt 0 ]; then
    echo "spdx: $lacking files lack '$spdx' in their first 3 lines (tools/spdx.sh --fix adds it)" >&2
    exit 1
fi
exit 0
