/* SPDX-License-Identifier: MIT */
/* JSON text: a string's escaped form, for the snapshot and the trace. */
#ifndef FA_JSON_TEXT_H
#define FA_JSON_TEXT_H

#include <stddef.h>

/* Sends s as a JSON string, quotes included, to emit in pieces: quotes and
 * backslashes escaped, control bytes as \u00XX, other bytes (UTF-8
 * included) as they are. */
void fa__json_quote(const char *s, void (*emit)(void *ctx, const char *text, size_t n), void *ctx);

#endif
