/* Guards: what the debug levels put around every block (docs/debugging.md).
 * A guarded block is a header, the caller's bytes and a canary:
 *
 *     raw ... [struct fa_guard, 128 bytes, its last word the front canary][size bytes][back canary]
 *                                                                          ^ the caller's pointer
 *
 * The header says what the block is (kind, size, path, site, thread,
 * frame, time, backtrace) and whether it is live; live pool and heap blocks
 * are on one list, frame blocks on their thread's chain. The fills mark
 * each lifetime with a byte of its own, so a crash dump tells which broke. */
#ifndef FA_GUARD_H
#define FA_GUARD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "framealloc.h"

#define FA__GUARD_HEAD ((size_t)128) /* the header; a multiple of every alignment up to it */
#define FA__GUARD_TAIL ((size_t)8)   /* the back canary */
#define FA__GUARD_FRAMES 16          /* return addresses a backtrace keeps */

enum fa__guard_kind { FA__GUARD_FRAME, FA__GUARD_POOL, FA__GUARD_HEAP };

struct fa_guard {
    struct fa_guard *next, *prev; /* on the live list (pool, heap) or the thread's chain (frame) */
    uint64_t         size;        /* the caller's */
    const void      *site;        /* the return address of the library call that made it */
    uint64_t         frame;       /* the allocator's frame number then */
    uint64_t         seq;         /* frame blocks: the thread's allocation count before it */
    uint64_t         time_ns;     /* FA_DEBUG_TRACE: when, on the monotonic clock */
    void           **backtrace;   /* FA_DEBUG_TRACE: up to FA__GUARD_FRAMES addresses, or NULL */
    uint32_t         depth;       /* of the backtrace */
    uint32_t         tag;         /* the path it is charged to */
    uint32_t         thread;      /* a small number for the allocating thread */
    uint32_t         state;       /* FA__GUARD_LIVE or FA__GUARD_FREED */
    uint32_t         front;       /* bytes from the raw block to the caller's pointer */
    uint8_t          kind;
    uint8_t          fa__pad[35];
    uint64_t         canary;      /* the front canary, just before the caller's bytes */
};

#define FA__GUARD_LIVE 0x4556494cu  /* "LIVE" */
#define FA__GUARD_FREED 0x45455246u /* "FREE" */

/* The live pool and heap blocks of an allocator at a debug level. */
struct fa_guards {
    pthread_mutex_t  lock;
    struct fa_guard *live;  /* newest first */
    uint64_t         count;
};

void fa__guards_init(struct fa_guards *g);
void fa__guards_fini(struct fa_guards *g);

/* Bytes in front of the caller's pointer for an alignment (a power of two). */
static inline size_t fa__guard_front(size_t align) {
    return align > FA__GUARD_HEAD ? align : FA__GUARD_HEAD;
}
/* Raw bytes a guarded block of size bytes takes. */
static inline size_t fa__guard_raw_size(size_t size, size_t align) {
    return fa__guard_front(align) + size + FA__GUARD_TAIL;
}
static inline struct fa_guard *fa__guard_of(const void *p) {
    return (struct fa_guard *)(void *)((char *)p - FA__GUARD_HEAD);
}
static inline void *fa__guard_user(struct fa_guard *g) {
    return (char *)g + FA__GUARD_HEAD;
}
static inline void *fa__guard_raw(struct fa_guard *g) {
    return (char *)fa__guard_user(g) - g->front;
}

/* Writes the header (its fields from *proto), both canaries and the fresh
 * fill over the caller's bytes; returns the caller's pointer. */
void *fa__guard_wrap(void *raw, size_t front, const struct fa_guard *proto);
/* FA_OK when both canaries hold; else FA_ERR_CORRUPT with *side "before" or
 * "after" and *offset the first bad byte's distance from the caller's
 * pointer (negative before it). */
fa_error fa__guard_verify(const struct fa_guard *g, const char **side, long *offset);
/* The freed fill over the caller's bytes of a block, and its state. */
void fa__guard_retire(struct fa_guard *g);
/* Whether n bytes at p all hold `byte`; if not, *first the first that does not. */
int fa__filled(const void *p, int byte, size_t n, size_t *first);

/* Forgets a chain of frame blocks (a thread leaving inside its frame). */
void fa__guard_drop_chain(struct fa_guard **chain);

/* The live list. */
void fa__guard_list(struct fa_guards *g, struct fa_guard *b);
void fa__guard_unlist(struct fa_guards *g, struct fa_guard *b);

/* FA_DEBUG_TRACE: the backtrace from return address `from` (the library's
 * caller) outwards, up to FA__GUARD_FRAMES, in a new array (NULL without
 * memory); *depth gets its length. */
void **fa__guard_backtrace(const void *from, uint32_t *depth);

const char *fa__guard_kind_name(int kind);

#endif
