/* SPDX-License-Identifier: MIT */
/* JSON text (json_text.h).
 * Floor: ground (docs/internals.md). It calls nothing but libc. */
#include "json_text.h"

#include <stdio.h>

void fa__json_quote(const char *s, void (*emit)(void *ctx, const char *text, size_t n), void *ctx) {
    emit(ctx, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            emit(ctx, esc, 2);
        } else if (c < 0x20) {
            emit(ctx, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
        } else {
            emit(ctx, s, 1);
        }
    }
    emit(ctx, "\"", 1);
}
