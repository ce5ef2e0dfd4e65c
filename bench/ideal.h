/* SPDX-License-Identifier: MIT */
/* The physical-limit references: an inline bump pointer and an inline
 * size-class pool with no checks, no threads and no growth. What framealloc
 * is measured against, in the benchmark and in the instruction counts. */
#ifndef BENCH_IDEAL_H
#define BENCH_IDEAL_H

#include <stdint.h>
#include <stdlib.h>

/* 16-byte aligned, one bound check. */
struct ideal_bump {
    char     *base;
    uintptr_t cur, limit;
};

static inline void ideal_bump_init(struct ideal_bump *s, size_t bytes) {
    s->base = (char *)malloc(bytes);
    s->cur = (uintptr_t)s->base;
    s->limit = s->cur + bytes;
}

static inline void *ideal_bump_alloc(struct ideal_bump *s, size_t size) {
    uintptr_t p = (s->cur + 15) & ~(uintptr_t)15;
    if (p + size > s->limit)
        return NULL;
    s->cur = p + size;
    return (void *)p;
}

/* Ten power-of-two classes, 8 .. 4096 B, each an intrusive free list, fed
 * from one buffer; larger blocks from malloc. The free is told the size. */
struct ideal_pool {
    void     *free[10];
    uintptr_t cur, limit;
    char     *base;
};

static inline unsigned ideal_pool_class(size_t size) {
    return size <= 8 ? 0 : (unsigned)(61 - __builtin_clzll((unsigned long long)size - 1));
}

static inline void ideal_pool_init(struct ideal_pool *s, size_t bytes) {
    for (int c = 0; c < 10; c++)
        s->free[c] = NULL;
    s->base = (char *)malloc(bytes);
    s->cur = (uintptr_t)s->base;
    s->limit = s->cur + bytes;
}

static inline void *ideal_pool_alloc(struct ideal_pool *s, size_t size) {
    if (size > 4096)
        return malloc(size);
    unsigned c = ideal_pool_class(size);
    void *p = s->free[c];
    if (p != NULL) {
        s->free[c] = *(void **)p;
        return p;
    }
    size_t block = (size_t)8 << c;
    uintptr_t at = (s->cur + block - 1) & ~(uintptr_t)(block - 1);
    if (at + block > s->limit)
        return NULL;
    s->cur = at + block;
    return (void *)at;
}

static inline void ideal_pool_free(struct ideal_pool *s, void *p, size_t size) {
    if (size > 4096) {
        free(p);
        return;
    }
    unsigned c = ideal_pool_class(size);
    *(void **)p = s->free[c];
    s->free[c] = p;
}

#endif
