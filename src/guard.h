/* SPDX-License-Identifier: MIT */
/* Guards: what the debug levels put around every block (docs/debugging.md).
 * A guarded block is a header, the caller's bytes and a canary:
 *
 *     raw ... [struct fa_guard, 128 bytes, its last word the front canary][size bytes][back canary]
 *                                                                          ^ the caller's pointer
 *
 * The header is in memory the program can overwrite, so the checks trust
 * only a record kept out of the block (struct fa_guard_rec: what the block
 * is, where it came from, where its header is) in a set the library owns:
 * one per allocator for live pool and heap blocks, one per thread for its
 * frame blocks. The header holds the index of its record, which a lookup
 * checks before using, and the fills mark each lifetime with a byte of its
 * own, so a crash dump tells which broke. */
#ifndef FA_GUARD_H
#define FA_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "framealloc.h"
#include "os.h"

#define FA__GUARD_HEAD ((size_t)128) /* the header; a multiple of every alignment up to it */
#define FA__GUARD_TAIL ((size_t)8)   /* the back canary */
#define FA__GUARD_FRAMES 16          /* return addresses a backtrace keeps */

enum fa__guard_kind { FA__GUARD_FRAME, FA__GUARD_POOL, FA__GUARD_HEAP };

/* In the block, just before the caller's bytes. */
struct fa_guard {
    uint64_t marker; /* 0 while live; a freed pool block's free marker lands here */
    uint64_t front;  /* bytes from the raw block to the caller's pointer; the raw block's
                      * second word either way (a freed block notes it there) */
    uint64_t size;   /* the caller's (untrusted: the freed-fill check bounds it) */
    uint32_t slot;   /* its record's index in its set (untrusted: checked) */
    uint32_t state;  /* FA__GUARD_LIVE or FA__GUARD_FREED */
    uint8_t  fa__pad[88];
    uint64_t canary; /* the front canary, just before the caller's bytes */
};

#define FA__GUARD_LIVE 0x4556494cu  /* "LIVE" */
#define FA__GUARD_FREED 0x45455246u /* "FREE" */

/* What the checks trust about a guarded block. */
struct fa_guard_rec {
    struct fa_guard *header;
    uint64_t         size;
    const void      *site;      /* the return address of the library call that made it */
    uint64_t         frame;     /* the allocator's frame number then */
    uint64_t         seq;       /* frame blocks: the thread's allocation count before it */
    uint64_t         time_ns;   /* FA_DEBUG_TRACE: when, on the monotonic clock */
    void           **backtrace; /* FA_DEBUG_TRACE: up to FA__GUARD_FRAMES addresses, or NULL */
    uint32_t         depth;     /* of the backtrace */
    uint32_t         tag;       /* the path it is charged to */
    uint32_t         thread;    /* a small number for the allocating thread */
    uint32_t         front;
    int              kind;
};

/* Records, in the order they came (removal moves the last one into the gap). */
struct fa_guard_set {
    struct fa_guard_rec *rec;
    size_t               count, room;
};

/* Adds r (its header's slot set); 0 without memory, nothing added. */
int fa__guard_set_add(struct fa_guard_set *s, const struct fa_guard_rec *r);
/* The index of the record of header g, or -1: the header's slot when it
 * checks out, else a search (its header may have been overwritten). */
long fa__guard_set_find(const struct fa_guard_set *s, const struct fa_guard *g);
/* Removes record i, keeping the moved record's header slot right; *out
 * gets the removed record (its backtrace now the caller's). */
void fa__guard_set_remove(struct fa_guard_set *s, size_t i, struct fa_guard_rec *out);
/* Frees every record's backtrace and the set. */
void fa__guard_set_fini(struct fa_guard_set *s);

/* The live pool and heap blocks of an allocator at a debug level. */
struct fa_guards {
    fa__mutex     lock;
    struct fa_guard_set live;
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
static inline void *fa__guard_user(const struct fa_guard *g) {
    return (char *)g + FA__GUARD_HEAD;
}

/* Writes the header, both canaries and the fresh fill over the caller's
 * bytes; returns the caller's pointer. */
void *fa__guard_wrap(void *raw, size_t front, size_t size);
/* FA_OK when both canaries of the block r describes hold; else
 * FA_ERR_CORRUPT with *side "before" or "after" and *offset the first bad
 * byte's distance from the caller's pointer (negative before it). */
fa_error fa__guard_verify(const struct fa_guard_rec *r, const char **side, long *offset);
/* The freed fill over the caller's bytes of a block, and its state. */
void fa__guard_retire(const struct fa_guard_rec *r);
/* The reset fill over a frame block's whole raw extent (its frame ended or
 * a rewind released it). */
void fa__guard_reset(const struct fa_guard_rec *r);
/* Whether n bytes at p all hold `byte`; if not, *first the first that does not. */
int fa__filled(const void *p, int byte, size_t n, size_t *first);

/* FA_DEBUG_TRACE: the backtrace from return address `from` (the library's
 * caller) outwards, up to FA__GUARD_FRAMES, in a new array (NULL without
 * memory); *depth gets its length. */
void **fa__guard_backtrace(const void *from, uint32_t *depth);

const char *fa__guard_kind_name(int kind);

#endif
