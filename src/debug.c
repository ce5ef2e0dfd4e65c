/* SPDX-License-Identifier: MIT */
/* The debugging API: fa_debug_level, fa_check, the leak queries and
 * report; and the debug levels' part of the frame, pool and heap slow paths
 * (debug.h), which guard, check and report what those take and give back.
 * Floor: API, below frame.c, pool.c, heap.c and alloc.c, which call it
 * (docs/internals.md); above the statistics API, whose figures the leak
 * report prints at FA_DEBUG_OFF. It calls no other API file.
 * Invariants:
 * - At a debug level every block the allocator hands out is guarded
 *   (guard.h): frame blocks on their thread's chain, pool and heap blocks
 *   on the live list, each verified when it goes (free, frame end,
 *   rewind) and by fa_check.
 * - Every byte of a chunk a debug arena has used holds FA_FILL_RESET
 *   outside its live frame blocks (chunk->poisoned), so frame memory
 *   written after its frame shows when the bytes are handed out again.
 * - No event is sent while the live list's lock is held: what needs
 *   reporting is copied out first. */
#include "debug.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "invariant.h"
#include "os.h"
#include "stats.h"

static const char *path_of(const fa_alloc *a, uint32_t tag) {
    return fa__tag(&a->ledger->tags, tag)->path;
}

/* "0x… (symbol+0x…)", or the address alone where no symbol is known. */
static void site_name(const void *site, char *buf, size_t n) {
    char symbol[128];
    if (site == NULL)
        snprintf(buf, n, "an unknown site");
    else if (fa__site_symbol(site, symbol, sizeof symbol))
        snprintf(buf, n, "%p (%s)", site, symbol);
    else
        snprintf(buf, n, "%p", site);
}

/* The record of a new block (its header comes with the wrap). */
static struct fa_guard_rec record(fa_alloc *a, const struct fa_thread *th, int kind, size_t size, size_t front) {
    struct fa_guard_rec r;
    memset(&r, 0, sizeof r);
    r.size = size;
    r.kind = kind;
    r.front = (uint32_t)front;
    r.site = fa__call_site;
    r.frame = atomic_load_explicit(&a->frames_begun, memory_order_relaxed);
    r.tag = th != NULL ? th->charge.tag : FA__TAG_ROOT;
    r.thread = th != NULL ? th->number : 0;
    if (a->cfg.debug == FA_DEBUG_TRACE) {
        r.time_ns = fa__now_ns();
        r.backtrace = fa__guard_backtrace(r.site, &r.depth);
    }
    return r;
}

/* What an event says of a broken guard, copied out of the record. */
struct breach {
    const void *user;
    uint64_t    size;
    const void *site;
    uint32_t    tag;
    int         kind;
    const char *side;
    long        offset;
};

static int breached(const struct fa_guard_rec *r, struct breach *out) {
    if (fa__guard_verify(r, &out->side, &out->offset) == FA_OK)
        return 0;
    out->user = fa__guard_user(r->header);
    out->size = r->size;
    out->site = r->site;
    out->tag = r->tag;
    out->kind = r->kind;
    return 1;
}

static fa_error report_breach(fa_alloc *a, const struct breach *b, const char *fn) {
    char site[192];
    site_name(b->site, site, sizeof site);
    const char *path = path_of(a, b->tag);
    return fa__report_at(&a->sink, b->tag != FA__TAG_ROOT ? path : NULL, FA_ERR_CORRUPT, b->size,
                         "%s: the guard %s a %s block of %llu bytes at %p is broken at byte %ld "
                         "(path \"%s\", allocated at %s)",
                         fn, b->side, fa__guard_kind_name(b->kind), (unsigned long long)b->size, b->user,
                         b->offset, path, site);
}

/* Checks one block's guards, reporting a breach for fn. */
static fa_error check(fa_alloc *a, const struct fa_guard_rec *r, const char *fn) {
    struct breach b;
    return breached(r, &b) ? report_breach(a, &b, fn) : FA_OK;
}

/* ---- frame blocks -------------------------------------------------------- */

/* A chunk's first debug allocation poisons all of it: from then on its
 * bytes outside live blocks hold the reset fill. */
static void poison_chunk(struct fa_chunk *c) {
    size_t n = fa__chunk_end(c) - fa__chunk_base(c);
    fa__track_release((void *)fa__chunk_base(c), n); /* a tracked library: writable for the fill ... */
    memset((void *)fa__chunk_base(c), FA_FILL_RESET, n);
    fa__track_chunk_dead(c);                         /* ... and dead again after it */
    c->poisoned = 1;
}

void *fa__debug_frame_wrap(fa_alloc *a, struct fa_thread *th, void *raw, size_t front, size_t size,
                           uint64_t seq, const char *fn) {
    size_t total = front + size + FA__GUARD_TAIL, first;
    struct fa_chunk *c = fa__arena_chunk_of(&th->arena, (uintptr_t)raw);
    fa__track_release(raw, total); /* read for the fill below, then written whole */
    fa__assert_internal(c != NULL); /* the arena just handed it out */
    if (!c->poisoned) {
        poison_chunk(c);
        fa__track_release(raw, total); /* the block itself is handed out */
    } else if (!fa__filled(raw, FA_FILL_RESET, total, &first)) {
        fa__report(&a->sink, FA_ERR_CORRUPT, size,
                   "%s: frame memory at %p was written after its frame ended or was rewound "
                   "(0x%02x where 0x%02x was left)",
                   fn, (void *)((char *)raw + first), ((unsigned char *)raw)[first], FA_FILL_RESET);
    }
    struct fa_guard_rec r = record(a, th, FA__GUARD_FRAME, size, front);
    r.seq = seq;
    void *p = fa__guard_wrap(raw, front, size);
    r.header = fa__guard_of(p);
    if (!fa__guard_set_add(&th->guarded, &r)) { /* the bytes stay the frame's until it ends */
        free(r.backtrace);
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: no memory for a guarded block's record", fn);
        return NULL;
    }
    return p;
}

fa_error fa__debug_frame_release(fa_alloc *a, struct fa_guard_set *s, uint64_t seq, const char *fn) {
    fa_error e = FA_OK;
    while (s->count != 0 && s->rec[s->count - 1].seq >= seq) { /* newest first */
        struct fa_guard_rec r;
        fa__guard_set_remove(s, s->count - 1, &r);
        if (check(a, &r, fn) != FA_OK)
            e = FA_ERR_CORRUPT;
        free(r.backtrace);
        fa__guard_reset(&r);
    }
    return e;
}

fa_error fa__debug_frame_size(fa_alloc *a, const struct fa_thread *th, const void *p, size_t size, const char *fn) {
    uintptr_t u = (uintptr_t)p;
    if (fa__passed_through(a)) {
        for (size_t i = 0; i < th->passed.count; i++)
            if (th->passed.item[i].block == p && th->passed.item[i].size == (size != 0 ? size : 1))
                return FA_OK;
    } else if (u > FA__GUARD_HEAD && fa__arena_chunk_of(&th->arena, u - FA__GUARD_HEAD) != NULL) {
        long i = fa__guard_set_find(&th->guarded, fa__guard_of(p)); /* frame memory: readable */
        if (i >= 0 && th->guarded.rec[i].size == size)
            return FA_OK;
    }
    return fa__report(&a->sink, FA_ERR_INVALID, size, "%s: %p is not a block of %zu bytes of this thread's frame", fn,
                      p, size);
}

void fa__debug_frame_end(fa_alloc *a, struct fa_thread *th) {
    if (th->charge.depth != 0)
        fa__report(&a->sink, FA_OK, 0,
                   "fa_end_frame: tag path \"%s\" is still pushed (%u push%s without a pop: it carries "
                   "into the next frame)",
                   path_of(a, th->charge.tag), th->charge.depth, th->charge.depth > 1 ? "es" : "");
}

/* ---- pool and heap blocks ------------------------------------------------ */

/* A pool block coming back: its last life's header (its front noted in the
 * block's second word; slabs are zeroed when formatted, so a block never
 * handed out notes nothing) says how many bytes must still hold the freed
 * fill. */
static void check_reuse(fa_alloc *a, const void *raw, size_t usable, size_t size, const char *fn) {
    uint64_t front = ((const uint64_t *)raw)[1];
    if (front < FA__GUARD_HEAD || front > usable - FA__GUARD_TAIL || (front & (front - 1)) != 0)
        return;
    const struct fa_guard *old = (const struct fa_guard *)(const void *)((const char *)raw + front - FA__GUARD_HEAD);
    const unsigned char *bytes = (const unsigned char *)raw + front;
    size_t first;
    if (old->state == FA__GUARD_FREED && old->size <= usable - front - FA__GUARD_TAIL &&
        !fa__filled(bytes, FA_FILL_FREED, old->size, &first))
        fa__report(&a->sink, FA_ERR_CORRUPT, size,
                   "%s: a pool block at %p was written after it was freed (byte %zu of its %llu: 0x%02x "
                   "where 0x%02x was left)",
                   fn, (const void *)bytes, first, (unsigned long long)old->size, bytes[first], FA_FILL_FREED);
}

void *fa__debug_block_wrap(fa_alloc *a, struct fa_thread *th, void *raw, size_t front, int kind, size_t size,
                           size_t usable, const char *fn) {
    if (kind == FA__GUARD_POOL && usable <= FA__POOL_MAX) /* a slab's block */
        check_reuse(a, raw, usable, size, fn);
    struct fa_guard_rec r = record(a, th, kind, size, front);
    char *p = (char *)fa__guard_wrap(raw, front, size);
    memset(p + size + FA__GUARD_TAIL, FA_FILL_PAD, usable - front - size - FA__GUARD_TAIL);
    r.header = fa__guard_of(p);
    fa__mutex_lock(&a->guards.lock);
    int added = fa__guard_set_add(&a->guards.live, &r);
    fa__mutex_unlock(&a->guards.lock);
    if (!added) { /* tracked or not at all: the caller gives the raw block back */
        free(r.backtrace);
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: no memory for a guarded block's record", fn);
        return NULL;
    }
    return p;
}

/* A live guarded block behind p, or a freed one, found from the
 * allocator's records before any byte of the block is read; the live
 * block's lookup happens under the live set's lock (held on return). */
struct found {
    void       *raw;
    int         kind;  /* by where it lives: a slab's block, or the heap table's */
    int         freed; /* a freed block's own pointer */
    const char *why;   /* neither: what p is */
};

/* A slab block: the block holding p's header, if p is its pointer. */
static void find_in_slab(fa_alloc *a, const struct fa_slab *s, uintptr_t u, struct found *f) {
    f->kind = FA__GUARD_POOL;
    if (s->instance != a) {
        f->why = "is a block of another allocator";
        return;
    }
    if ((u & 7) != 0) { /* every guarded pointer is at least 8-aligned */
        f->why = "points inside a block";
        return;
    }
    uintptr_t raw = (u - FA__GUARD_HEAD) & ~(((uintptr_t)1 << s->shift) - 1); /* a block of ours: readable */
    fa__track_release((void *)raw, 16); /* its first two words: read whatever the program left there */
    const uint64_t *words = (const uint64_t *)raw;
    if (words[0] == a->pools.cookie) { /* free: its second word notes its last front */
        f->freed = words[1] == u - raw;
        f->why = "points inside a block";
        f->raw = f->freed ? (void *)raw : NULL;
        return;
    }
    f->raw = (void *)raw;
}

/* A heap block: the table's entry at p - front whose alignment gives that
 * front, a live one before a freed one's tombstone. */
static void find_in_heap(fa_alloc *a, uintptr_t u, struct found *f) {
    f->kind = FA__GUARD_HEAP;
    for (size_t front = FA__GUARD_HEAD; front < u && (front == FA__GUARD_HEAD || (u & (front - 1)) == 0);
         front <<= 1) {
        size_t size, align;
        int state = fa__heap_state(&a->heap, (const void *)(u - front), &size, &align);
        if (state == FA__HEAP_EMPTY || fa__guard_front(align) != front || (f->raw != NULL && state != FA__HEAP_LIVE))
            continue;
        f->raw = (void *)(u - front);
        f->freed = state == FA__HEAP_FREED;
        if (!f->freed)
            return;
    }
}

static fa_error not_ours(fa_alloc *a, const struct fa_thread *th, const void *p, const char *why,
                         const char *fn) {
    if (th != NULL && fa__arena_chunk_of(&th->arena, (uintptr_t)p) != NULL)
        why = "is frame memory of this thread (fa_end_frame releases it; it is not freed)";
    return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p %s", fn, p, why);
}

/* p's record in the allocator's live set: FA_OK with the set's lock held
 * and *i its index, or the error, reported (the lock released). heap_only
 * refuses pool blocks, as fa_heap_free does. */
static fa_error locate(fa_alloc *a, struct fa_thread *th, const void *p, int heap_only, const char *fn,
                       struct found *f, long *i) {
    uintptr_t u = (uintptr_t)p;
    *f = (struct found){NULL, FA__GUARD_HEAP, 0, "is not a block of this allocator"};
    if (th != NULL && fa__arena_chunk_of(&th->arena, u) != NULL)
        return not_ours(a, th, p, f->why, fn); /* frame memory, whatever lay there before */
    const struct fa_slab *s = u > FA__GUARD_HEAD ? fa__slab_at((const void *)(u - FA__GUARD_HEAD)) : NULL;
    if (s != NULL)
        find_in_slab(a, s, u, f);
    else if (u > FA__GUARD_HEAD)
        find_in_heap(a, u, f);
    if (heap_only && f->kind == FA__GUARD_POOL && f->raw != NULL)
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p is a pool block (use fa_pool_free)", fn, p);
    if (f->freed)
        return fa__report(&a->sink, FA_ERR_DOUBLE_FREE, 0, "%s: %p was already freed", fn, p);
    if (f->raw == NULL)
        return not_ours(a, th, p, f->why, fn);
    /* Under the lock, so that of two frees of one block racing, one finds
     * its record and the other the state the first one left. */
    const struct fa_guard *g = fa__guard_of(p);
    fa__mutex_lock(&a->guards.lock);
    *i = fa__guard_set_find(&a->guards.live, g);
    int pool_block = *i >= 0 && a->guards.live.rec[*i].kind == FA__GUARD_POOL;
    int freed = *i < 0 && g->state == FA__GUARD_FREED && g->front == u - (uintptr_t)f->raw;
    if (*i >= 0 && !(heap_only && pool_block))
        return FA_OK;
    fa__mutex_unlock(&a->guards.lock);
    if (*i >= 0) /* as the default build sees it, guards apart */
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p is a pool block (use fa_pool_free)", fn, p);
    if (freed)
        return fa__report(&a->sink, FA_ERR_DOUBLE_FREE, 0, "%s: %p was already freed", fn, p);
    return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p points inside a block", fn, p);
}

fa_error fa__debug_block_unwrap(fa_alloc *a, struct fa_thread *th, void *p, int heap_only, const char *fn,
                                void **raw) {
    struct found f;
    long i;
    *raw = NULL;
    fa_error e = locate(a, th, p, heap_only, fn, &f, &i);
    if (e != FA_OK)
        return e;
    struct fa_guard_rec r;
    fa__guard_set_remove(&a->guards.live, (size_t)i, &r);
    fa__guard_of(p)->state = FA__GUARD_FREED;
    fa__mutex_unlock(&a->guards.lock);
    e = check(a, &r, fn);
    fa__guard_retire(&r);
    free(r.backtrace);
    if (r.front > FA__GUARD_HEAD)
        ((uint64_t *)f.raw)[1] = r.front; /* where its header is, for the check when it comes back */
    *raw = f.raw;
    return e;
}

fa_error fa__debug_block_size(fa_alloc *a, struct fa_thread *th, const void *p, const char *fn, size_t *size) {
    struct found f;
    long i;
    fa_error e = locate(a, th, p, 0, fn, &f, &i);
    if (e != FA_OK)
        return e;
    *size = a->guards.live.rec[i].size;
    fa__mutex_unlock(&a->guards.lock);
    return FA_OK;
}

/* ---- threads ------------------------------------------------------------- */

fa_error fa__debug_handle(fa_alloc *a, const struct fa_thread *th, const char *fn) {
    if (fa__thread_same(th->os_thread, fa__thread_self()))
        return FA_OK;
    return fa__report(&a->sink, FA_ERR_STATE, 0,
                      "%s: a handle of thread %u used on another thread (a handle belongs to the thread "
                      "that got it)",
                      fn, th->number);
}

static void report_left_open(fa_alloc *a, const char *fn) {
    uint64_t n = atomic_exchange_explicit(&a->left_open, 0, memory_order_relaxed);
    if (n != 0)
        fa__report(&a->sink, FA_OK, 0, "%s: %llu thread%s exited inside a frame (call fa_end_frame first)", fn,
                   (unsigned long long)n, n > 1 ? "s" : "");
}

/* ---- the live blocks: queries, checks, reports --------------------------- */

static int oldest_first(const void *x, const void *y) {
    const fa_leak *l = (const fa_leak *)x, *r = (const fa_leak *)y;
    if (l->age_frames != r->age_frames)
        return l->age_frames > r->age_frames ? -1 : 1;
    return l->age_ns > r->age_ns ? -1 : l->age_ns < r->age_ns;
}

/* The live blocks, oldest first, as leak records: a new array (NULL when
 * there are none or no memory; *n its length). With own_backtraces the
 * backtraces are copies in the same allocation, which a free on another
 * thread cannot take away; else they are the blocks' own. */
static fa_leak *live_blocks(fa_alloc *a, size_t *n, int own_backtraces) {
    fa__mutex_lock(&a->guards.lock);
    const struct fa_guard_set *set = &a->guards.live;
    size_t count = set->count, frames = 0;
    for (size_t i = 0; own_backtraces && i < count; i++)
        frames += set->rec[i].depth;
    fa_leak *out = count != 0 ? (fa_leak *)calloc(1, count * sizeof *out + frames * sizeof(void *)) : NULL;
    void **copies = out != NULL ? (void **)(void *)(out + count) : NULL;
    uint64_t frame = atomic_load_explicit(&a->frames_begun, memory_order_relaxed), now = fa__now_ns();
    for (size_t i = 0; out != NULL && i < count; i++) {
        const struct fa_guard_rec *r = &set->rec[i];
        fa_leak *l = &out[i];
        l->ptr = fa__guard_user(r->header);
        l->size = (size_t)r->size;
        l->kind = fa__guard_kind_name(r->kind);
        l->tag = path_of(a, r->tag);
        l->site = r->site;
        l->thread = r->thread;
        l->age_frames = frame - r->frame;
        l->age_ns = r->time_ns != 0 ? now - r->time_ns : 0;
        l->depth = r->depth;
        l->backtrace = r->backtrace;
        if (own_backtraces && r->depth != 0) {
            memcpy(copies, r->backtrace, r->depth * sizeof *copies);
            l->backtrace = copies;
            copies += r->depth;
        }
    }
    fa__mutex_unlock(&a->guards.lock);
    *n = out != NULL ? count : 0;
    if (out != NULL)
        qsort(out, count, sizeof *out, oldest_first);
    return out;
}

fa_debug fa_debug_level(const fa_alloc *a) {
    if (a == NULL) {
        fa__null_alloc("fa_debug_level");
        return FA_DEBUG_OFF;
    }
    return a->cfg.debug;
}

size_t fa_leak_find(fa_alloc *a, uint64_t min_frames, uint64_t min_ns, fa_leak *out, size_t max) {
    if (a == NULL) {
        fa__null_alloc("fa_leak_find");
        return 0;
    }
    if (out == NULL && max != 0) {
        fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_leak_find: NULL output with max %zu", max);
        return 0;
    }
    size_t n, found = 0;
    fa_leak *all = live_blocks(a, &n, 0);
    for (size_t i = 0; i < n; i++)
        if (all[i].age_frames >= min_frames && all[i].age_ns >= min_ns && found++ < max)
            out[found - 1] = all[i];
    free(all);
    return found;
}

fa_error fa_check(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_check");
    if (!fa__debug_on(a))
        return FA_OK;
    enum { MOST = 16 }; /* breaches reported one by one; the rest counted */
    struct breach found[MOST];
    size_t broken = 0;
    fa__mutex_lock(&a->guards.lock);
    for (size_t i = 0; i < a->guards.live.count; i++)
        if (breached(&a->guards.live.rec[i], &found[broken < MOST ? broken : MOST - 1]))
            broken++;
    fa__mutex_unlock(&a->guards.lock);
    for (size_t i = 0; i < broken && i < MOST; i++)
        report_breach(a, &found[i], "fa_check");
    struct fa_thread *th = fa__thread_find(&a->threads);
    for (size_t i = 0; th != NULL && i < th->guarded.count; i++)
        broken += check(a, &th->guarded.rec[i], "fa_check") != FA_OK;
    for (uint32_t k = 0; th != NULL && k < th->held_count; k++) /* frames in flight */
        for (size_t i = 0; i < th->held[k].guarded.count; i++)
            broken += check(a, &th->held[k].guarded.rec[i], "fa_check") != FA_OK;
    report_left_open(a, "fa_check");
    if (broken > MOST)
        fa__report(&a->sink, FA_ERR_CORRUPT, 0, "fa_check: %zu broken guards in all", broken);
    return broken != 0 ? FA_ERR_CORRUPT : FA_OK;
}

static int by_site(const void *x, const void *y) {
    const fa_leak *l = (const fa_leak *)x, *r = (const fa_leak *)y;
    return l->site < r->site ? -1 : l->site > r->site;
}

static void print_block(FILE *out, const fa_leak *l) {
    fprintf(out, "    %p: %zu bytes, thread %u, %llu frames old", l->ptr, l->size, l->thread,
            (unsigned long long)l->age_frames);
    if (l->age_ns != 0)
        fprintf(out, ", %.3f s", (double)l->age_ns / 1e9);
    fputc('\n', out);
    for (uint32_t k = 0; k < l->depth; k++) {
        char name[192];
        site_name(l->backtrace[k], name, sizeof name);
        fprintf(out, "        #%u %s\n", k, name);
    }
}

/* The live blocks grouped by site, each group with its count and bytes. */
static void report_sites(FILE *out, fa_leak *all, size_t n) {
    if (n == 0)
        return;
    qsort(all, n, sizeof *all, by_site);
    for (size_t i = 0, end; i < n; i = end) {
        size_t bytes = 0;
        for (end = i; end < n && all[end].site == all[i].site; end++)
            bytes += all[end].size;
        char site[192];
        site_name(all[i].site, site, sizeof site);
        fprintf(out, "%zu live block%s, %zu bytes, allocated at %s:\n", end - i, end - i > 1 ? "s" : "", bytes,
                site);
        for (size_t k = i; k < end; k++) {
            fprintf(out, "  %s block, path \"%s\"\n", all[k].kind, all[k].tag);
            print_block(out, &all[k]);
        }
    }
}

/* FA_DEBUG_OFF: the live bytes the statistics count, per size class and path. */
static fa_error report_counts(fa_alloc *a, FILE *out) {
    fa_stats *st = (fa_stats *)malloc(sizeof *st);
    if (st == NULL)
        return fa__report(&a->sink, FA_ERR_NOMEM, sizeof *st, "fa_leak_report: no memory for the statistics");
    fa_tag_stats *paths = NULL;
    fa_error e = fa__stats_all(a, st, &paths, "fa_leak_report");
    if (e == FA_OK) {
        fprintf(out, "live pool and heap memory (FA_DEBUG_OFF: no sites; set FRAMEALLOC_DEBUG=guard for them)\n");
        for (unsigned c = 0; c < FA_POOL_CLASS_COUNT; c++)
            if (st->classes[c].blocks_in_use != 0)
                fprintf(out, "  pool class %u B: %llu blocks in use\n", 8u << c,
                        (unsigned long long)st->classes[c].blocks_in_use);
        for (uint64_t t = 0; t < st->tag_paths; t++) {
            const fa_tag_stats *ts = &paths[t];
            if (ts->pool.live_bytes + ts->heap.live_bytes != 0)
                fprintf(out, "  path \"%s\": %llu pool bytes, %llu heap bytes\n", ts->path,
                        (unsigned long long)ts->pool.live_bytes, (unsigned long long)ts->heap.live_bytes);
        }
    }
    free(paths);
    free(st);
    return e;
}

fa_error fa_leak_report(fa_alloc *a, FILE *out) {
    if (a == NULL)
        return fa__null_alloc("fa_leak_report");
    if (out == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_leak_report: NULL output");
    if (!fa__guarded(a))
        return report_counts(a, out);
    size_t n;
    fa_leak *all = live_blocks(a, &n, 1);
    fprintf(out, "framealloc: %zu live pool and heap block%s\n", n, n == 1 ? "" : "s");
    report_sites(out, all, n);
    free(all);
    return FA_OK;
}

void fa__debug_destroy(fa_alloc *a) {
    size_t n;
    fa_leak *all = live_blocks(a, &n, 1);
    for (size_t i = 0; i < n; i++) {
        char site[192];
        site_name(all[i].site, site, sizeof site);
        fa__report(&a->sink, FA_OK, all[i].size,
                   "fa_destroy: leak: a %s block of %zu bytes at %p (path \"%s\", thread %u, allocated at %s, "
                   "%llu frames ago)",
                   all[i].kind, all[i].size, all[i].ptr, all[i].tag, all[i].thread, site,
                   (unsigned long long)all[i].age_frames);
    }
    report_left_open(a, "fa_destroy");
    if (n != 0 && a->sink.on_event == NULL) {
        fprintf(stderr, "framealloc: %zu live pool and heap block%s at fa_destroy\n", n, n == 1 ? "" : "s");
        report_sites(stderr, all, n);
    }
    free(all);
}
