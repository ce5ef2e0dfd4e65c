# SPDX-License-Identifier: MIT
# The docs quote measured figures only from docs/figures.json (make bench
# refreshes it; tools/figures.py): docs_figures fails when a figure marked in
# README.md or docs/*.md differs from the file (a hand edit, or a refresh not
# rendered), names a figure the file lacks, or when the file holds one no doc
# quotes. It reads files and measures nothing: well under a second.
add_test(NAME docs_figures COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tools/figures.py check)
