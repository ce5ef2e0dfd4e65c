#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails when a file of src/ includes a header of a floor above its own.
# The floors are the drawing in docs/internals.md ("Files, in floors"): a
# floor's name in the first column, then one file (or source/, the folder)
# per line in the second; floors are listed top first. A header stands on
# the floor of its .c file.
#   tools/check-layers.sh [REPO_ROOT]
set -eu
root=${1:-$(dirname "$0")/..}
cd "$root"

floors=$(mktemp)
trap 'rm -f "$floors"' EXIT
# "file rank" pairs, rank 0 the top floor.
awk '
    /^## Files, in floors/ { inside = 1 }
    inside && /^```/ { if (drawing) exit; drawing = 1; next }
    drawing {
        if (substr($0, 1, 1) != " ") rank++
        file = $0
        sub(/^[^ ]* */, "", file)                  # the floor name, if any
        if (substr($0, 1, 1) == " ") sub(/^ */, "", file)
        split(file, words, " ")
        if (words[1] ~ /^[a-z_]+(\.[ch])?\/?$/ && words[1] ~ /(\.[ch]|\/)$/) {
            name = words[1]; sub(/\.[ch]$/, "", name)
            print name, rank
        }
    }' docs/internals.md >"$floors"
[ -s "$floors" ] || { echo "check-layers: no floors found in docs/internals.md" >&2; exit 2; }

rank_of() { # src-relative path -> rank ("" when not drawn)
    base=${1%.[ch]}
    case "$base" in source/*) base=source/ ;; esac
    awk -v b="$base" '$1 == b { print $2; exit }' "$floors"
}

status=0
for file in $(cd src && find . -name '*.[ch]' | sed 's|^\./||' | sort); do
    own=$(rank_of "$file")
    if [ -z "$own" ]; then
        echo "check-layers: src/$file is on no floor of docs/internals.md" >&2
        status=1
        continue
    fi
    dir=$(dirname "$file")
    for header in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "src/$file"); do
        [ "$header" = framealloc.h ] && continue
        if [ -f "src/$dir/$header" ] && [ "$dir" != . ]; then target="$dir/$header"; else target=$header; fi
        [ -f "src/$target" ] || { echo "check-layers: src/$file includes $header, not in src/" >&2; status=1; continue; }
        theirs=$(rank_of "$target")
        if [ -z "$theirs" ]; then
            echo "check-layers: src/$target is on no floor of docs/internals.md" >&2
            status=1
        elif [ "$theirs" -lt "$own" ]; then # a smaller rank is a higher floor
            echo "check-layers: src/$file includes $header, a floor above its own" >&2
            status=1
        fi
    done
done
[ $status -eq 0 ] && echo "check-layers: $(wc -l <"$floors") files and folders on $(awk '{print $2}' "$floors" | sort -u | wc -l) floors; no file includes upward"
exit $status
