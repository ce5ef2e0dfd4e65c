# SPDX-License-Identifier: MIT
# The Doxygen input filter of docs/Doxyfile: the headers' comments are plain
# C comments, written before what they describe or after it on its line;
# this marks them as documentation without touching the headers.
# The licence line is no documentation.
/SPDX-License-Identifier/b
# The file comment, which opens the file, opens the file's page.
1,3s|^/\*$|/** \\file|
# A comment after code on its line documents that code (member, enum value).
s|^\([[:space:]]*[^[:space:]/][^/]*\)/\* |\1/**< |
s|^\([[:space:]]*[^[:space:]/][^/]*\)// |\1///< |
# A comment that opens its line documents what follows it; the section rules
# (/* ---- frames ---- */) stay plain comments.
s|^\([[:space:]]*\)/\*\( [^-]\)|\1/**\2|
s|^\([[:space:]]*\)/\*$|\1/**|
s|^\([[:space:]]*\)// \([^-]\)|\1/// \2|
