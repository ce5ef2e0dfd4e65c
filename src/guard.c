/* SPDX-License-Identifier: MIT */
/* Guards (guard.h): headers, canaries, fills, the live list, backtraces.
 * Floor: structures (docs/internals.md). It calls nothing above it: the
 * API files ask it to wrap, check and retire blocks, and report.
 * Invariants:
 * - A guarded block's front canary ends at the caller's pointer and its
 *   back canary starts at pointer + size; each is FA_FILL_CANARY with one
 *   zero byte on the side of the caller's bytes, so that a runaway string
 *   read stops at the block's end.
 * - A block has a record in its set (the allocator's live set for pool and
 *   heap blocks, its thread's for frame blocks) exactly while its state is
 *   LIVE, and the record's header field points at its header; the
 *   header's slot is the record's index unless the program overwrote it. */
#include "guard.h"

#include <stdlib.h>
#include <string.h>

#include "os.h"


_Static_assert(sizeof(struct fa_guard) == FA__GUARD_HEAD, "the header is FA__GUARD_HEAD bytes");

#define CANARY_BYTES 0xcacacacacacacacaull
/* Byte order does not matter: the zero byte is the one next to the caller's bytes. */
static uint64_t canary(int after) {
    uint64_t w = CANARY_BYTES;
    unsigned char b[8];
    memcpy(b, &w, 8);
    b[after ? 0 : 7] = 0;
    memcpy(&w, b, 8);
    return w;
}

void fa__guards_init(struct fa_guards *g) {
    memset(g, 0, sizeof *g);
    fa__mutex_init(&g->lock);
}

void fa__guards_fini(struct fa_guards *g) {
    fa__guard_set_fini(&g->live);
    fa__mutex_destroy(&g->lock);
}

int fa__guard_set_add(struct fa_guard_set *s, const struct fa_guard_rec *r) {
    if (s->count == s->room) {
        size_t room = s->room != 0 ? 2 * s->room : 64;
        struct fa_guard_rec *grown = (struct fa_guard_rec *)realloc(s->rec, room * sizeof *grown);
        if (grown == NULL)
            return 0;
        s->rec = grown;
        s->room = room;
    }
    r->header->slot = (uint32_t)s->count;
    s->rec[s->count++] = *r;
    return 1;
}

long fa__guard_set_find(const struct fa_guard_set *s, const struct fa_guard *g) {
    if (g->slot < s->count && s->rec[g->slot].header == g)
        return (long)g->slot;
    for (size_t i = s->count; i-- > 0;) /* an overwritten header: by the record's pointer */
        if (s->rec[i].header == g)
            return (long)i;
    return -1;
}

void fa__guard_set_remove(struct fa_guard_set *s, size_t i, struct fa_guard_rec *out) {
    *out = s->rec[i];
    s->rec[i] = s->rec[--s->count];
    if (i < s->count)
        s->rec[i].header->slot = (uint32_t)i;
}

void fa__guard_set_fini(struct fa_guard_set *s) {
    for (size_t i = 0; i < s->count; i++)
        free(s->rec[i].backtrace);
    free(s->rec);
    memset(s, 0, sizeof *s);
}

void *fa__guard_wrap(void *raw, size_t front, size_t size) {
    struct fa_guard *g = (struct fa_guard *)(void *)((char *)raw + front - FA__GUARD_HEAD);
    memset(g, 0, sizeof *g);
    g->size = size;
    g->front = front;
    g->state = FA__GUARD_LIVE;
    g->canary = canary(0);
    char *p = (char *)fa__guard_user(g);
    uint64_t back = canary(1);
    memset(p, FA_FILL_FRESH, size);
    memcpy(p + size, &back, sizeof back);
    return p;
}

/* The first byte of n at p that differs from the same bytes at want. */
static int differs(const unsigned char *p, const unsigned char *want, size_t n, size_t *first) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != want[i]) {
            *first = i;
            return 1;
        }
    return 0;
}

fa_error fa__guard_verify(const struct fa_guard_rec *r, const char **side, long *offset) {
    const unsigned char *p = (const unsigned char *)fa__guard_user(r->header);
    uint64_t front = canary(0), back = canary(1);
    size_t first;
    if (differs(p - sizeof front, (const unsigned char *)&front, sizeof front, &first)) {
        *side = "before";
        *offset = (long)first - (long)sizeof front;
        return FA_ERR_CORRUPT;
    }
    if (differs(p + r->size, (const unsigned char *)&back, sizeof back, &first)) {
        *side = "after";
        *offset = (long)(r->size + first);
        return FA_ERR_CORRUPT;
    }
    return FA_OK;
}

void fa__guard_retire(const struct fa_guard_rec *r) {
    memset(fa__guard_user(r->header), FA_FILL_FREED, r->size);
    r->header->size = r->size; /* for the freed-fill check when the block comes back */
    r->header->front = r->front;
    r->header->state = FA__GUARD_FREED;
}

void fa__guard_reset(const struct fa_guard_rec *r) {
    memset((char *)fa__guard_user(r->header) - r->front, FA_FILL_RESET, r->front + r->size + FA__GUARD_TAIL);
}

int fa__filled(const void *p, int byte, size_t n, size_t *first) {
    const unsigned char *b = (const unsigned char *)p;
    uint64_t want = (uint64_t)(unsigned char)byte * 0x0101010101010101ull, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { /* a word at a time; the byte that differs after */
        memcpy(&w, b + i, 8);
        if (w != want)
            break;
    }
    for (; i < n; i++)
        if (b[i] != (unsigned char)byte) {
            *first = i;
            return 0;
        }
    return 1;
}

void **fa__guard_backtrace(const void *from, uint32_t *depth) {
    void *frames[FA__GUARD_FRAMES + 16]; /* room for the library's own frames */
    int n = fa__backtrace(frames, FA__GUARD_FRAMES + 16), skip = 0;
    while (skip < n && frames[skip] != from) /* the library's frames, up to the caller's */
        skip++;
    if (skip == n)
        skip = 0; /* the caller is not on the stack as expected: keep it all */
    int keep = n - skip < FA__GUARD_FRAMES ? n - skip : FA__GUARD_FRAMES;
    *depth = 0;
    void **out = keep > 0 ? (void **)malloc((size_t)keep * sizeof *out) : NULL;
    if (out == NULL)
        return NULL;
    memcpy(out, frames + skip, (size_t)keep * sizeof *out);
    *depth = (uint32_t)keep;
    return out;
}

const char *fa__guard_kind_name(int kind) {
    static const char *const names[] = {"frame", "pool", "heap"};
    return names[kind];
}
