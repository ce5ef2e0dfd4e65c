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
#define _GNU_SOURCE /* dladdr */
#include "debug.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "invariant.h"

_Thread_local const void *fa__debug_site;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *path_of(const fa_alloc *a, uint32_t tag) {
    return fa__tag(&a->ledger->tags, tag)->path;
}

/* "0x… (symbol+0x…)", or the address alone where no symbol is known. */
static void site_name(const void *site, char *buf, size_t n) {
    Dl_info info;
    if (site == NULL)
        snprintf(buf, n, "an unknown site");
    else if (dladdr(site, &info) != 0 && info.dli_sname != NULL)
        snprintf(buf, n, "%p (%s+0x%tx)", site, info.dli_sname, (const char *)site - (const char *)info.dli_saddr);
    else
        snprintf(buf, n, "%p", site);
}

/* A new block's header, but for the fields wrap fills in. */
static struct fa_guard proto(fa_alloc *a, const struct fa_thread *th, int kind, size_t size) {
    struct fa_guard g;
    memset(&g, 0, sizeof g);
    g.size = size;
    g.kind = (uint8_t)kind;
    g.site = fa__debug_site;
    g.frame = atomic_load_explicit(&a->frames_begun, memory_order_relaxed);
    g.tag = th != NULL ? th->charge.tag : FA__TAG_ROOT;
    g.thread = th != NULL ? th->number : 0;
    if (a->cfg.debug == FA_DEBUG_TRACE) {
        g.time_ns = now_ns();
        g.backtrace = fa__guard_backtrace(g.site, &g.depth);
    }
    return g;
}

/* What an event says of a broken guard, copied out of the block. */
struct breach {
    const void *user;
    uint64_t    size;
    const void *site;
    uint32_t    tag;
    int         kind;
    const char *side;
    long        offset;
};

static int breached(const struct fa_guard *g, struct breach *out) {
    if (fa__guard_verify(g, &out->side, &out->offset) == FA_OK)
        return 0;
    out->user = (const char *)g + FA__GUARD_HEAD;
    out->size = g->size;
    out->site = g->site;
    out->tag = g->tag;
    out->kind = g->kind;
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
static fa_error check(fa_alloc *a, const struct fa_guard *g, const char *fn) {
    struct breach b;
    return breached(g, &b) ? report_breach(a, &b, fn) : FA_OK;
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
    } else if (!fa__filled(raw, FA_FILL_RESET, total, &first))
        fa__report(&a->sink, FA_ERR_CORRUPT, size,
                   "%s: frame memory at %p was written after its frame ended or was rewound "
                   "(0x%02x where 0x%02x was left)",
                   fn, (void *)((char *)raw + first), ((unsigned char *)raw)[first], FA_FILL_RESET);
    struct fa_guard g = proto(a, th, FA__GUARD_FRAME, size);
    g.seq = seq;
    void *p = fa__guard_wrap(raw, front, &g);
    struct fa_guard *h = fa__guard_of(p);
    h->next = th->guarded;
    th->guarded = h;
    return p;
}

fa_error fa__debug_frame_release(fa_alloc *a, struct fa_thread *th, uint64_t seq, const char *fn) {
    fa_error e = FA_OK;
    while (th->guarded != NULL && th->guarded->seq >= seq) {
        struct fa_guard *g = th->guarded;
        th->guarded = g->next;
        if (check(a, g, fn) != FA_OK)
            e = FA_ERR_CORRUPT;
        free(g->backtrace);
        void *raw = fa__guard_raw(g);
        memset(raw, FA_FILL_RESET, g->front + g->size + FA__GUARD_TAIL);
    }
    return e;
}

void fa__debug_frame_end(fa_alloc *a, struct fa_thread *th) {
    if (th->charge.depth != 0)
        fa__report(&a->sink, FA_OK, 0,
                   "fa_end_frame: tag path \"%s\" is still pushed (%u push%s without a pop: it carries "
                   "into the next frame)",
                   path_of(a, th->charge.tag), th->charge.depth, th->charge.depth > 1 ? "es" : "");
}

/* ---- pool and heap blocks ------------------------------------------------ */

/* A pool block coming back: its last life's header (where the free noted
 * it: slabs are zeroed when formatted, so a block never handed out notes
 * nothing) says how many bytes must still hold the freed fill. */
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
    struct fa_guard g = proto(a, th, kind, size);
    char *p = (char *)fa__guard_wrap(raw, front, &g);
    memset(p + size + FA__GUARD_TAIL, FA_FILL_PAD, usable - front - size - FA__GUARD_TAIL);
    fa__guard_list(&a->guards, fa__guard_of(p));
    return p;
}

/* The raw block behind p if it is one of the allocator's guarded blocks
 * (its records say so before any byte of the block is read), with its
 * kind; NULL when it is not, with *why what it is then. */
static void *raw_of(fa_alloc *a, const void *p, int *kind, int *heap_state, const char **why) {
    uintptr_t u = (uintptr_t)p;
    *why = "is not a block of this allocator";
    if (u <= FA__GUARD_HEAD)
        return NULL;
    const struct fa_slab *s = (const struct fa_slab *)fa__slab_of(u - FA__GUARD_HEAD)->slab; /* the header's */
    if (s != NULL) {
        *kind = FA__GUARD_POOL;
        if (s->instance != a) {
            *why = "is a block of another allocator";
            return NULL;
        }
        if ((u & 7) != 0) { /* every guarded pointer is at least 8-aligned */
            *why = "points inside a block";
            return NULL;
        }
        uintptr_t raw = (u - 1) & ~(((uintptr_t)1 << s->shift) - 1); /* a block of ours: readable */
        fa__track_release((void *)raw, 8); /* read whatever the program left there */
        if (*(const uint64_t *)raw == a->pools.cookie)
            return (void *)raw; /* a free block (past its marker, a tracked library forbids reads) */
        fa__track_release(fa__guard_of(p), FA__GUARD_HEAD); /* a live block's: a header, or its bytes */
        const struct fa_guard *g = fa__guard_of(p);
        size_t room = ((size_t)1 << s->shift) - (u - raw); /* the block's bytes from p on */
        if (g->front != u - raw || g->size > room - FA__GUARD_TAIL ||
            (g->state != FA__GUARD_LIVE && g->state != FA__GUARD_FREED)) {
            *why = "points inside a block";
            return NULL;
        }
        return (void *)raw;
    }
    *kind = FA__GUARD_HEAP; /* a heap block's front is fa__guard_front of the alignment it was taken
                             * with; a live block there wins over a freed one's tombstone */
    void *found = NULL;
    for (size_t front = FA__GUARD_HEAD; front < u && (front == FA__GUARD_HEAD || (u & (front - 1)) == 0);
         front <<= 1) {
        size_t size, align;
        int state = fa__heap_state(&a->heap, (const char *)p - front, &size, &align);
        if (state == FA__HEAP_EMPTY || fa__guard_front(align) != front || (found != NULL && state != FA__HEAP_LIVE))
            continue;
        *heap_state = state;
        found = (char *)p - front;
        if (state == FA__HEAP_LIVE)
            break;
    }
    return found;
}

static fa_error not_ours(fa_alloc *a, const struct fa_thread *th, const void *p, const char *why,
                         const char *fn) {
    if (th != NULL && fa__arena_chunk_of(&th->arena, (uintptr_t)p) != NULL)
        why = "is frame memory of this thread (fa_end_frame releases it; it is not freed)";
    return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p %s", fn, p, why);
}

fa_error fa__debug_block_unwrap(fa_alloc *a, struct fa_thread *th, void *p, int heap_only, const char *fn,
                                void **raw) {
    int kind = FA__GUARD_HEAP, heap_state = FA__HEAP_EMPTY;
    const char *why = "is not a block of this allocator";
    *raw = NULL;
    if (th != NULL && fa__arena_chunk_of(&th->arena, (uintptr_t)p) != NULL)
        return not_ours(a, th, p, why, fn); /* frame memory, whatever lay there before */
    void *r = raw_of(a, p, &kind, &heap_state, &why);
    if (r == NULL)
        return not_ours(a, th, p, why, fn);
    struct fa_guard *g = fa__guard_of(p);
    int freed = kind == FA__GUARD_HEAP ? heap_state == FA__HEAP_FREED /* its memory went back: not read */
                                       : *(const uint64_t *)r == a->pools.cookie || g->state != FA__GUARD_LIVE;
    if (freed)
        return fa__report(&a->sink, FA_ERR_DOUBLE_FREE, 0, "%s: %p was already freed", fn, p);
    if (heap_only && g->kind == FA__GUARD_POOL) /* as the default build sees it, guards apart */
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p is a pool block (use fa_pool_free)", fn, p);
    fa_error e = check(a, g, fn);
    fa__guard_unlist(&a->guards, g);
    fa__guard_retire(g);
    ((uint64_t *)r)[1] = g->front; /* where its header is, for the check when the block comes back */
    *raw = r;
    return e;
}

/* ---- threads ------------------------------------------------------------- */

fa_error fa__debug_handle(fa_alloc *a, const struct fa_thread *th, const char *fn) {
    if (pthread_equal(th->os_thread, pthread_self()))
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

/* The live blocks, oldest first, as leak records (a new array; *n its
 * length; NULL when there are none or no memory). */
static fa_leak *live_blocks(fa_alloc *a, size_t *n) {
    pthread_mutex_lock(&a->guards.lock);
    size_t count = (size_t)a->guards.count, i = count;
    fa_leak *out = count != 0 ? (fa_leak *)calloc(count, sizeof *out) : NULL;
    uint64_t frame = atomic_load_explicit(&a->frames_begun, memory_order_relaxed), now = now_ns();
    for (const struct fa_guard *g = a->guards.live; out != NULL && g != NULL; g = g->next) {
        fa_leak *l = &out[--i]; /* the list is newest first */
        l->ptr = (const char *)g + FA__GUARD_HEAD;
        l->size = (size_t)g->size;
        l->kind = fa__guard_kind_name(g->kind);
        l->tag = path_of(a, g->tag);
        l->site = g->site;
        l->thread = g->thread;
        l->age_frames = frame - g->frame;
        l->age_ns = g->time_ns != 0 ? now - g->time_ns : 0;
        l->backtrace = g->backtrace;
        l->depth = g->depth;
    }
    pthread_mutex_unlock(&a->guards.lock);
    *n = out != NULL ? count : 0;
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
    fa_leak *all = live_blocks(a, &n);
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
    pthread_mutex_lock(&a->guards.lock);
    for (const struct fa_guard *g = a->guards.live; g != NULL; g = g->next)
        if (breached(g, &found[broken < MOST ? broken : MOST - 1]))
            broken++;
    pthread_mutex_unlock(&a->guards.lock);
    for (size_t i = 0; i < broken && i < MOST; i++)
        report_breach(a, &found[i], "fa_check");
    struct fa_thread *th = fa__thread_find(&a->threads);
    for (const struct fa_guard *g = th != NULL ? th->guarded : NULL; g != NULL; g = g->next)
        broken += check(a, g, "fa_check") != FA_OK;
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
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    if (st == NULL)
        return fa__report(&a->sink, FA_ERR_NOMEM, sizeof *st, "fa_leak_report: no memory for the statistics");
    fa_error e = fa_stats_get(a, st);
    if (e == FA_OK) {
        fprintf(out, "live pool and heap memory (FA_DEBUG_OFF: no sites; set FRAMEALLOC_DEBUG=guard for them)\n");
        for (unsigned c = 0; c < FA_POOL_CLASS_COUNT; c++)
            if (st->classes[c].blocks_in_use != 0)
                fprintf(out, "  pool class %u B: %llu blocks in use\n", 8u << c,
                        (unsigned long long)st->classes[c].blocks_in_use);
        for (uint32_t t = 0; t < st->tag_count; t++) {
            const fa_tag_stats *ts = &st->tags[t];
            if (ts->pool.live_bytes + ts->heap.live_bytes != 0)
                fprintf(out, "  path \"%s\": %llu pool bytes, %llu heap bytes\n", ts->path,
                        (unsigned long long)ts->pool.live_bytes, (unsigned long long)ts->heap.live_bytes);
        }
    }
    free(st);
    return e;
}

fa_error fa_leak_report(fa_alloc *a, FILE *out) {
    if (a == NULL)
        return fa__null_alloc("fa_leak_report");
    if (out == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_leak_report: NULL output");
    if (!fa__debug_on(a))
        return report_counts(a, out);
    size_t n;
    fa_leak *all = live_blocks(a, &n);
    fprintf(out, "framealloc: %zu live pool and heap block%s\n", n, n == 1 ? "" : "s");
    report_sites(out, all, n);
    free(all);
    return FA_OK;
}

void fa__debug_destroy(fa_alloc *a) {
    size_t n;
    fa_leak *all = live_blocks(a, &n);
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
