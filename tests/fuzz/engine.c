/* SPDX-License-Identifier: MIT */
/* The model-based fuzzer's engine: one byte string, one sequence of calls,
 * the library and a reference model side by side (engine.h).
 *
 * The model knows what the header and docs/errors.md promise: which code every call returns,
 * which blocks are live and what they hold, what each path and kind has
 * charged, and the budgets' limits. It does not know frame padding or
 * where chunks end, so frame allocations near a hard limit may go either
 * way; everything else is exact. After every step it checks:
 *   - every live block still holds its fill pattern, and no two overlap;
 *   - alignment as promised;
 *   - the error code, the last error and the number of error events;
 *   - a hard budget's usage never grows while above its limit, and its
 *     reservation covers its usage;
 *   - the statistics a single thread sees exactly (allocations, frees,
 *     bytes and live bytes per kind and per path, the blocks in use per
 *     pool class, the frame's allocations, the interned paths, as
 *     fa_stats_get and fa_tag_stats_get give them) equal the model's, and
 *     the peaks never fall nor lie below the live bytes.
 * The tables (tag paths, budgets, tag depth) are the default sizes or, for
 * one configuration, small ones that fill within a few calls. */
#include "engine.h"

#include <stdarg.h>

/* Under valgrind the copying client's bytes are undefined, and comparing
 * them would be reported: they are declared defined (a no-op elsewhere). */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)0)
#endif

#include "helpers.h"
#include "track.h"

#define MAX_BLOCKS 400
#define MAX_MARKS 24
#define MAX_FREED 48
#define PATH_LEN 64
/* Paths the model holds at most: more than fa_stats.tags, so that the
 * paths past FA_TAG_MAX are checked through fa_tag_stats_get. */
#define MODEL_PATHS (FA_TAG_MAX + 16)
#define FRAME_BYTES_CAP ((size_t)48 << 20) /* past this a frame only gets small requests */
#define WINDOW 64                          /* bytes at each end checked after every step */
#define REQUEST_MAX ((size_t)1 << 55) /* docs/errors.md: larger sizes and alignments cannot be met */
#define KERNEL_ADDRESS ((void *)(uintptr_t)0xffff800000001000u)

enum kind { FRAME, POOL, HEAP, SCRATCH, KINDS }; /* SCRATCH: a scratch arena's block */

struct block {
    unsigned char *p;
    size_t         size;    /* requested: the bytes the client wrote */
    size_t         charged; /* consumed: class size, heap bytes; 0 for frame blocks */
    enum kind      kind;
    unsigned char  fill;
    int            path;
    uint64_t       index; /* frame blocks: how many frame allocations came before */
    uint64_t       frame; /* frame blocks: the frame they belong to */
    int            word0_set; /* the client copied 8 foreign bytes to its start */
    uint64_t       word0;
};

enum mark_state { MARK_LIVE, MARK_PASSED, MARK_OLD_FRAME, MARK_EMPTY, MARK_FOREIGN };

struct mark {
    fa_mark         m;
    enum mark_state state;
    uint64_t        allocs;
};

struct kind_count {
    uint64_t allocations, frees, bytes, live;
};

struct model {
    fa_alloc       *a, *other;
    struct counting counting, other_counting;
    struct events   ev;
    fa_stats       *st;
    fa_tag_stats   *all; /* every path's figures, MODEL_PATHS of room */

    int      in_frame;
    uint64_t frame_allocs;
    size_t   frame_bytes; /* of the current frame's live blocks */
    uint64_t frames;      /* begun */
    unsigned in_flight;   /* cfg.frames_in_flight */
    uint64_t held_bytes[FA_FRAMES_IN_FLIGHT_MAX]; /* per frame in flight (frame % MAX): its bytes */
    uint64_t held_total;
    uint64_t released;    /* frames up to this one have been released */
    fa_transfer transfers[8];
    unsigned    ntransfers;
    fa_arena   *scratch;         /* the scratch arena, or NULL */
    uint64_t    scratch_allocs;  /* its blocks so far: their index */
    fa_mark     scratch_mark;
    int         scratch_path;    /* its chunks are charged there */
    uint64_t    scratch_marked;  /* scratch_allocs at the mark; UINT64_MAX: none valid */
    struct block blocks[MAX_BLOCKS];
    size_t       nblocks;
    struct mark  marks[MAX_MARKS];
    size_t       nmarks;
    void        *freed[MAX_FREED];
    size_t       nfreed;
    void        *ex_heap[MAX_FREED]; /* freed heap blocks, newest over oldest */
    size_t       ex_heap_next;

    int      max_tags, max_budgets, max_depth; /* the tables' sizes (cfg.max_*) */
    char     paths[MODEL_PATHS][PATH_LEN];
    int      parent[MODEL_PATHS];
    int      npaths;
    int      stack[FA_TAG_DEPTH];
    int      depth;
    int      has_slot[MODEL_PATHS]; /* index 0: the global budget, always there */
    int      slots;                /* path budgets made */
    uint64_t soft[MODEL_PATHS], hard[MODEL_PATHS];
    uint64_t usage[MODEL_PATHS]; /* as the last snapshot saw it */
    int      sites;                 /* hot sites on (every allocation sampled) */
    int      tracing;               /* a trace runs */
    uint64_t read_bytes, written_bytes; /* bandwidth recorded */

    struct kind_count kinds[KINDS];
    uint64_t          path_live[MODEL_PATHS][KINDS];
    uint64_t          peaks[KINDS + 1]; /* as the last snapshot saw them; [KINDS]: the total's */

    unsigned char next_fill;
    fa_backend    source;      /* under the counting backend */
    void         *region;      /* the fixed source's */
    int           tight;       /* the source may run out: allocations may fail */
    void         *outside;     /* malloc'd: never the allocator's */
    void         *other_pool;  /* blocks of the other instance */
    void         *other_heap;
    fa_mark       other_mark;
    unsigned long step;
    const char   *call;
    int           diverged;
    int           guarded; /* a debug level (FA_DEBUG_GUARD or _MALLOC): the counts include
                            * guards or leave frame memory out, so only fa_check is compared */
};

static struct fuzz_totals totals;
static int trace;

void fuzz_set_trace(int level) {
    trace = level;
}

const struct fuzz_totals *fuzz_totals(void) {
    return &totals;
}

/* ---- input --------------------------------------------------------------- */

struct input {
    const uint8_t *at, *end;
};

static unsigned byte(struct input *in) {
    return in->at < in->end ? *in->at++ : 0u;
}

static unsigned word(struct input *in) {
    unsigned lo = byte(in);
    return lo | byte(in) << 8;
}

static size_t pick(struct input *in, size_t n) {
    return n == 0 ? 0 : word(in) % n;
}

/* Sizes with weight where the classes and chunk boundaries are, and the
 * sizes that cannot be met. */
static size_t any_size(struct input *in) {
    unsigned k = byte(in);
    switch (k % 10) {
    case 0: return 0;
    case 1: return 1 + byte(in) % 16;
    case 2: return 1 + word(in) % 256;
    case 3: return 1 + word(in) % 4096;
    case 4: return 4090 + byte(in) % 16;
    case 5: return 1 + word(in) % 8192;
    case 6: return 1 + ((size_t)word(in) << 2) % (256u << 10);
    case 7: return (size_t)(1 + byte(in) % 4) << 20; /* whole chunks and more */
    case 8: return 1 + word(in) % 65536;
    default: break;
    }
    static const size_t huge[] = {SIZE_MAX, SIZE_MAX / 2, REQUEST_MAX + 1, REQUEST_MAX * 2};
    return huge[k / 10 % 4];
}

static size_t any_align(struct input *in) {
    unsigned k = byte(in);
    static const size_t odd[] = {0, 3, 48, REQUEST_MAX * 2, REQUEST_MAX * 4};
    if (k % 8 == 0)
        return odd[k / 8 % 5];
    return (size_t)1 << (k % 17); /* 1 .. 64 KiB */
}

/* ---- reporting ------------------------------------------------------------- */

static void diverge(struct model *m, const char *fmt, ...) FA__PRINTF(2, 3);

static void diverge(struct model *m, const char *fmt, ...) {
    if (m->diverged)
        return;
    m->diverged = 1;
    totals.divergences++;
    fprintf(stderr, "fuzz: divergence at step %lu (%s): ", m->step, m->call != NULL ? m->call : "-");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void say(struct model *m, const char *fmt, ...) FA__PRINTF(2, 3);

static void say(struct model *m, const char *fmt, ...) {
    if (!trace)
        return;
    fprintf(stderr, "%5lu ", m->step);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int error_events(struct model *m) {
    return m->ev.count - m->ev.warnings;
}

/* The call just made returned `got`; the model wanted `want`. Also checks
 * the last error and that exactly one error event came with a failure. */
static void expect_on(struct model *m, int events_before, fa_error got, fa_error last, fa_error want) {
    if (got != want) {
        diverge(m, "returned %s, the model expects %s", fa_strerror(got), fa_strerror(want));
        return;
    }
    int events = error_events(m) - events_before;
    if (events != (want != FA_OK))
        diverge(m, "%d error events for %s", events, fa_strerror(want));
    else if (want != FA_OK && (m->ev.last != want || last != want))
        diverge(m, "event %s, last error %s, expected %s", fa_strerror(m->ev.last), fa_strerror(last),
                fa_strerror(want));
}

static void expect(struct model *m, int events_before, fa_error got, fa_error want) {
    expect_on(m, events_before, got, fa_last_error(), want);
}

/* What an allocation the model expects to succeed may also return: with a
 * source that runs out, FA_ERR_NOMEM. */
static int verdict_with_source(const struct model *m, int verdict, fa_error got) {
    return m->tight && verdict == FA_OK && got == FA_ERR_NOMEM ? FA_ERR_NOMEM : verdict;
}

/* For an allocation: its code is the last error when it returned NULL. */
static fa_error alloc_code(const void *p) {
    return p != NULL ? FA_OK : fa_last_error();
}

/* ---- blocks ------------------------------------------------------------------ */

static unsigned char pattern(const struct block *b, size_t k) {
    return (unsigned char)(b->fill + k * 7);
}

/* The first and last WINDOW bytes carry a pattern that moves with the
 * offset (so a shifted copy shows); the middle one byte. */
static int in_window(const struct block *b, size_t k) {
    return k < WINDOW || k >= b->size - WINDOW;
}

static void fill(struct block *b) {
    if (b->size > 2 * WINDOW)
        memset(b->p + WINDOW, b->fill, b->size - 2 * WINDOW);
    for (size_t k = 0; k < b->size; k += k + 1 == WINDOW && b->size > 2 * WINDOW ? b->size - 2 * WINDOW + 1 : 1)
        b->p[k] = pattern(b, k);
}

static unsigned char expected_byte(const struct block *b, size_t k) {
    if (b->word0_set && k < 8) {
        unsigned char w[8];
        memcpy(w, &b->word0, 8);
        return w[k];
    }
    return in_window(b, k) ? pattern(b, k) : b->fill;
}

static int holds_fill(const struct block *b, int whole) {
    for (size_t k = 0; k < b->size; k++) {
        if (!whole && !in_window(b, k)) {
            k = b->size - WINDOW - 1;
            continue;
        }
        if (b->p[k] != expected_byte(b, k))
            return 0;
    }
    return 1;
}

static size_t extent(const struct block *b) {
    return b->size != 0 ? b->size : 1; /* a size-0 block is still a unique byte */
}

static int overlaps(const struct block *b, const unsigned char *p, size_t n) {
    return p < b->p + extent(b) && b->p < p + n;
}

static void forget_freed(struct model *m, const void *p, size_t n) {
    for (size_t i = 0; i < m->nfreed;)
        if ((const unsigned char *)m->freed[i] >= (const unsigned char *)p &&
            (const unsigned char *)m->freed[i] < (const unsigned char *)p + n)
            m->freed[i] = m->freed[--m->nfreed];
        else
            i++;
}

static int current_path(const struct model *m) {
    return m->depth != 0 ? m->stack[m->depth - 1] : 0;
}

/* A new block: aligned as promised, clear of every live one, filled. */
static void add_block(struct model *m, void *p, size_t size, size_t charged, enum kind kind, size_t align) {
    struct block b = {(unsigned char *)p, size, charged, kind, m->next_fill++, current_path(m), 0, m->frames, 0, 0};
    if (((uintptr_t)p & (align - 1)) != 0)
        diverge(m, "%p is not aligned to %zu", p, align);
    for (size_t i = 0; i < m->nblocks; i++)
        if (overlaps(&m->blocks[i], b.p, extent(&b)))
            diverge(m, "%p (%zu bytes) overlaps the live block %p (%zu bytes)", p, size,
                    (void *)m->blocks[i].p, m->blocks[i].size);
    forget_freed(m, p, extent(&b));
    if (kind == FRAME) {
        b.index = m->frame_allocs++;
        m->frame_bytes += size;
    } else if (kind == SCRATCH) {
        b.index = m->scratch_allocs++;
    } else {
        struct kind_count *k = &m->kinds[kind];
        k->allocations++;
        k->bytes += charged;
        k->live += charged;
        m->path_live[b.path][kind] += charged;
    }
    fill(&b);
    m->blocks[m->nblocks++] = b;
}

static void drop_block(struct model *m, size_t i) {
    struct block *b = &m->blocks[i];
    if (b->kind == SCRATCH) {
        /* released with its arena: no free to count, not a freed pointer */
    } else if (b->kind != FRAME) {
        m->kinds[b->kind].frees++;
        m->kinds[b->kind].live -= b->charged;
        m->path_live[b->path][b->kind] -= b->charged;
        if (m->nfreed < MAX_FREED)
            m->freed[m->nfreed++] = b->p;
        if (b->kind == HEAP)
            m->ex_heap[m->ex_heap_next++ % MAX_FREED] = b->p;
    } else if (b->frame == m->frames) {
        m->frame_bytes -= b->size;
    }
    *b = m->blocks[--m->nblocks];
}

/* The index of a live block of a kind in `mask` (bit per kind), picked by
 * the input; -1 when there is none. */
static long pick_block(struct model *m, struct input *in, unsigned mask) {
    size_t n = 0;
    for (size_t i = 0; i < m->nblocks; i++)
        n += (mask >> m->blocks[i].kind) & 1;
    if (n == 0)
        return -1;
    size_t want = pick(in, n);
    for (size_t i = 0; i < m->nblocks; i++)
        if (((mask >> m->blocks[i].kind) & 1) && want-- == 0)
            return (long)i;
    return -1;
}

static int room_for_blocks(const struct model *m) {
    return m->nblocks < MAX_BLOCKS;
}

/* ---- budgets --------------------------------------------------------------- */

static int limited(const struct model *m, int path) {
    return m->has_slot[path] && (m->soft[path] | m->hard[path]) != 0;
}

/* What a request of `low` .. `high` consumed bytes meets under the current
 * path: FA_ERR_BUDGET when even `low` passes a hard limit, FA_OK when
 * `high` fits under all of them, and -1 (either) in between. */
static int budget_verdict_at(const struct model *m, int path, uint64_t low, uint64_t high) {
    int verdict = FA_OK;
    for (int p = path;; p = m->parent[p]) {
        if (limited(m, p) && m->hard[p] != 0) {
            if (m->usage[p] + low > m->hard[p])
                return FA_ERR_BUDGET;
            if (m->usage[p] + high > m->hard[p])
                verdict = -1;
        }
        if (p == 0)
            return verdict;
    }
}

static int budget_verdict(const struct model *m, uint64_t low, uint64_t high) {
    return budget_verdict_at(m, current_path(m), low, high);
}

/* ---- frames ----------------------------------------------------------------- */

static void op_begin(struct model *m) {
    m->call = "fa_begin_frame";
    int before = error_events(m);
    fa_error want = m->in_frame ? FA_ERR_STATE : FA_OK;
    expect(m, before, fa_begin_frame(m->a), want);
    if (want == FA_OK) {
        m->in_frame = 1;
        m->frame_allocs = 0;
        m->frames++;
    }
}

/* With N frames in flight, the end of frame k releases frame k - N + 1:
 * its blocks go, and its bytes stop counting as live. */
static void end_frame_model(struct model *m) {
    uint64_t k = m->frames, gone = k + 1 >= m->in_flight ? k + 1 - m->in_flight : 0;
    if (m->in_flight > 1) {
        fa_frame_info info;
        fa_frame_info_get(m->a, &info); /* the frame just ended: its bytes */
        m->held_bytes[k % FA_FRAMES_IN_FLIGHT_MAX] = info.bytes;
        m->held_total += info.bytes;
        if (gone >= 1)
            m->held_total -= m->held_bytes[gone % FA_FRAMES_IN_FLIGHT_MAX];
    }
    m->released = gone;
    for (size_t i = m->nblocks; i-- > 0;)
        if (m->blocks[i].kind == FRAME && m->blocks[i].frame <= gone)
            drop_block(m, i);
    m->frame_bytes = 0;
    for (size_t i = 0; i < m->nmarks; i++)
        if (m->marks[i].state == MARK_LIVE || m->marks[i].state == MARK_PASSED)
            m->marks[i].state = MARK_OLD_FRAME;
    m->in_frame = 0;
    m->frame_allocs = 0;
}

static void op_end(struct model *m) {
    m->call = "fa_end_frame";
    int before = error_events(m);
    fa_error want = m->in_frame ? FA_OK : FA_ERR_STATE;
    expect(m, before, fa_end_frame(m->a), want);
    if (want == FA_OK)
        end_frame_model(m);
}

static size_t natural_align(size_t size) {
    size_t max = _Alignof(max_align_t), m = size | max;
    return m & (~m + 1);
}

static int is_pow2(size_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}

/* A frame request as the slow path sees it: size and alignment after the
 * inline wrapper. */
struct frame_request {
    const char *call;
    size_t      count, size, align;
    void       *(*run)(struct model *m, const struct frame_request *r);
};

static void *run_alloc(struct model *m, const struct frame_request *r) {
    return fa_frame_alloc(m->a, r->size);
}
static void *run_aligned(struct model *m, const struct frame_request *r) {
    return fa_frame_alloc_aligned(m->a, r->size, r->align);
}
static void *run_calloc(struct model *m, const struct frame_request *r) {
    return fa_frame_calloc(m->a, r->count, r->size);
}
static void *run_array(struct model *m, const struct frame_request *r) {
    return fa_frame_array(m->a, r->count, r->size, r->align);
}
static void *run_strdup(struct model *m, const struct frame_request *r) {
    char text[64];
    memset(text, 'x', r->size - 1);
    text[r->size - 1] = '\0';
    return fa_frame_strdup(m->a, text);
}
static void *run_printf(struct model *m, const struct frame_request *r) {
    return fa_frame_printf(m->a, "%0*d", (int)r->size - 1, 0);
}

static struct frame_request decode_frame_request(struct model *m, struct input *in) {
    struct frame_request r = {"fa_frame_alloc", 1, any_size(in), 0, run_alloc};
    int big = m->frame_bytes > FRAME_BYTES_CAP;
    switch (byte(in) % 6) {
    case 0: break;
    case 1: r = (struct frame_request){"fa_frame_alloc_aligned", 1, r.size, any_align(in), run_aligned}; break;
    case 2: r = (struct frame_request){"fa_frame_calloc", 1 + byte(in) % 64, r.size % 4096, 0, run_calloc}; break;
    case 3: r = (struct frame_request){"fa_frame_array", byte(in) % 64, r.size, any_align(in), run_array}; break;
    case 4: r = (struct frame_request){"fa_frame_strdup", 1, 1 + byte(in) % 63, 1, run_strdup}; break;
    default: r = (struct frame_request){"fa_frame_printf", 1, 1 + byte(in) % 63, 1, run_printf}; break;
    }
    if (r.count == 0 && (byte(in) & 1)) /* sometimes a count that overflows */
        r.count = SIZE_MAX / 2;
    if (big && r.size > 4096 && r.size <= REQUEST_MAX)
        r.size %= 4096;
    if (r.count > 1 && r.count <= 64 && r.size > 65536 && r.size <= REQUEST_MAX)
        r.size %= 65536; /* arrays of up to 4 MiB */
    return r;
}

/* The size and alignment the request comes to (SIZE_MAX on overflow). */
static void frame_totals(const struct frame_request *r, size_t *total, size_t *align) {
    int overflow = r->size != 0 && r->count > SIZE_MAX / r->size;
    *total = overflow ? SIZE_MAX : r->count * r->size;
    *align = r->run == run_aligned || r->run == run_array ? r->align
           : r->run == run_strdup || r->run == run_printf ? 1
                                                          : natural_align(*total);
}

static int frame_verdict(const struct model *m, size_t total, size_t align) {
    if (!m->in_frame)
        return FA_ERR_STATE;
    if (!is_pow2(align))
        return FA_ERR_INVALID;
    if (total > REQUEST_MAX || align > REQUEST_MAX)
        return FA_ERR_NOMEM;
    return budget_verdict(m, total != 0 ? total : 1, total + align);
}

static int contents_ok(const struct frame_request *r, const unsigned char *p, size_t total) {
    for (size_t k = 0; r->run == run_calloc && k < total; k++)
        if (p[k] != 0)
            return 0;
    for (size_t k = 0; (r->run == run_strdup || r->run == run_printf) && k + 1 < total; k++)
        if (p[k] != (r->run == run_strdup ? 'x' : '0'))
            return 0;
    return 1;
}

static void op_frame_alloc(struct model *m, struct input *in) {
    struct frame_request r = decode_frame_request(m, in);
    size_t total, align;
    frame_totals(&r, &total, &align);
    m->call = r.call;
    say(m, "%s count %zu size %zu align %zu", r.call, r.count, r.size, r.align);
    if (!room_for_blocks(m))
        return;
    int before = error_events(m);
    int verdict = frame_verdict(m, total, align);
    void *p = r.run(m, &r);
    fa_error got = alloc_code(p);
    if (verdict == -1 && (got == FA_OK || got == FA_ERR_BUDGET))
        verdict = got;
    verdict = verdict_with_source(m, verdict, got);
    expect(m, before, got, (fa_error)verdict);
    if (p == NULL || got != FA_OK)
        return;
    if (!contents_ok(&r, (const unsigned char *)p, total))
        diverge(m, "%p does not hold what %s wrote", p, r.call);
    add_block(m, p, total, 0, FRAME, align);
}

static void op_mark(struct model *m) {
    m->call = "fa_frame_mark";
    int before = error_events(m);
    fa_mark mark = fa_frame_mark(m->a);
    expect(m, before, m->in_frame ? FA_OK : fa_last_error(), m->in_frame ? FA_OK : FA_ERR_STATE);
    if (m->nmarks == MAX_MARKS)
        m->marks[0] = m->marks[--m->nmarks];
    m->marks[m->nmarks++] = (struct mark){mark, m->in_frame ? MARK_LIVE : MARK_EMPTY, m->frame_allocs};
}

/* Rewinding to `to` releases the frame blocks after it, and passes the
 * live marks after it. */
static void rewind_model(struct model *m, uint64_t to) {
    for (size_t i = m->nblocks; i-- > 0;)
        if (m->blocks[i].kind == FRAME && m->blocks[i].frame == m->frames && m->blocks[i].index >= to)
            drop_block(m, i);
    for (size_t i = 0; i < m->nmarks; i++)
        if (m->marks[i].state == MARK_LIVE && m->marks[i].allocs > to)
            m->marks[i].state = MARK_PASSED;
    m->frame_allocs = to;
}

/* What a rewind to the mark returns; -1 for a passed mark that allocations
 * reached again, a precondition the model leaves alone (docs/errors.md). */
static int rewind_verdict(const struct model *m, const struct mark *mark) {
    if (!m->in_frame || mark->state != MARK_LIVE)
        return mark->state == MARK_PASSED && m->in_frame && mark->allocs <= m->frame_allocs ? -1 : FA_ERR_STATE;
    return FA_OK;
}

static void op_rewind(struct model *m, struct input *in) {
    m->call = "fa_frame_rewind";
    size_t i = pick(in, m->nmarks + 1);
    struct mark mark = i < m->nmarks ? m->marks[i] : (struct mark){m->other_mark, MARK_FOREIGN, 0};
    say(m, "fa_frame_rewind to mark %zu (state %d, allocs %llu)", i, (int)mark.state,
        (unsigned long long)mark.allocs);
    int want = rewind_verdict(m, &mark);
    if (want < 0)
        return;
    int before = error_events(m);
    expect(m, before, fa_frame_rewind(m->a, mark.m), (fa_error)want);
    if (want == FA_OK)
        rewind_model(m, mark.allocs);
}

/* ---- pools and the heap ------------------------------------------------------ */

static size_t class_size(size_t size) {
    size_t c = 8;
    while (c < size)
        c <<= 1;
    return c;
}

static size_t pool_size(struct input *in) {
    unsigned k = byte(in);
    return k % 4 == 0 ? (size_t)word(in) % 8193 : (size_t)word(in) % (16u << (k / 4 % 9));
}

static void op_pool_alloc(struct model *m, struct input *in) {
    size_t size = pool_size(in);
    m->call = "fa_pool_alloc";
    say(m, "fa_pool_alloc %zu", size);
    if (!room_for_blocks(m))
        return;
    int small = size <= FA__POOL_MAX;
    size_t charged = small ? class_size(size) : size;
    int before = error_events(m);
    int verdict = budget_verdict(m, charged, charged);
    void *p = fa_pool_alloc(m->a, size);
    expect(m, before, alloc_code(p), (fa_error)verdict_with_source(m, verdict, alloc_code(p)));
    if (p != NULL)
        add_block(m, p, size, charged, small ? POOL : HEAP, small ? charged : 64);
}

static void op_heap_alloc(struct model *m, struct input *in) {
    size_t size = any_size(in), align = any_align(in);
    if (size > (4u << 20) && size <= REQUEST_MAX)
        size = 1 + size % (4u << 20);
    m->call = "fa_heap_alloc";
    say(m, "fa_heap_alloc %zu align %zu", size, align);
    if (!room_for_blocks(m))
        return;
    uint64_t charged = size != 0 ? size : 1;
    int verdict = !is_pow2(align)                             ? FA_ERR_INVALID
                : size > REQUEST_MAX || align > REQUEST_MAX ? FA_ERR_NOMEM
                                                              : budget_verdict(m, charged, charged);
    int before = error_events(m);
    void *p = fa_heap_alloc(m->a, size, align);
    expect(m, before, alloc_code(p), (fa_error)verdict_with_source(m, verdict, alloc_code(p)));
    if (p != NULL)
        add_block(m, p, size, charged, HEAP, align);
}

/* A free, on this thread or on a new one (the remote path: the block goes
 * back to a slab another thread owns, or to the heap table, from a thread
 * with no state of its own). */
struct freeing {
    fa_alloc *a;
    void     *p;
    int       with_heap_free, remote;
    fa_error  got, last;
};

static void *run_free(void *arg) {
    struct freeing *f = (struct freeing *)arg;
    f->got = f->with_heap_free ? fa_heap_free(f->a, f->p) : fa_pool_free(f->a, f->p);
    f->last = fa_last_error();
    return NULL;
}

static void free_and_expect(struct model *m, struct freeing *f, fa_error want, fa_error also) {
    int before = error_events(m);
    pthread_t thread;
    if (!f->remote || pthread_create(&thread, NULL, run_free, f) != 0)
        run_free(f);
    else
        pthread_join(thread, NULL);
    expect_on(m, before, f->got, f->last, f->got == also ? also : want);
}

static const char *free_name(const struct freeing *f) {
    static const char *const names[2][2] = {{"fa_pool_free", "fa_heap_free"},
                                            {"fa_pool_free on another thread", "fa_heap_free on another thread"}};
    return names[f->remote][f->with_heap_free];
}

static void free_block(struct model *m, long i, int with_heap_free, int remote) {
    struct block *b = &m->blocks[i];
    struct freeing f = {m->a, b->p, with_heap_free, remote, FA_OK, FA_OK};
    m->call = free_name(&f);
    say(m, "%s %p (%zu bytes)", m->call, (void *)b->p, b->size);
    if (!holds_fill(b, 1))
        diverge(m, "%p lost its fill before its free", (void *)b->p);
    free_and_expect(m, &f, FA_OK, FA_OK);
    if (f.got == FA_OK)
        drop_block(m, (size_t)i);
}

static void op_free(struct model *m, struct input *in, int with_heap_free) {
    int remote = byte(in) % 4 == 0;
    long i = pick_block(m, in, with_heap_free ? 1u << HEAP : 1u << POOL | 1u << HEAP);
    if (i >= 0)
        free_block(m, i, with_heap_free, remote);
}

/* A pointer that is not a live block of the instance, and what a free of
 * it must return; NULL kind when the input picked something absent. */
struct bad_pointer {
    const char *what;
    void       *p;
    fa_error    want, also; /* also: a second acceptable answer, or FA_OK */
};

static void *interior_of(struct model *m, struct input *in, unsigned mask) {
    long i = pick_block(m, in, mask);
    if (i < 0 || extent(&m->blocks[i]) < 2)
        return NULL;
    return m->blocks[i].p + 1 + pick(in, extent(&m->blocks[i]) - 1);
}

/* A freed pointer that no live block covers now: a double free, or, where
 * its memory went back to the source, foreign. */
static void *stale_pointer(struct model *m, struct input *in) {
    if (m->nfreed == 0)
        return NULL;
    void *p = m->freed[pick(in, m->nfreed)];
    for (size_t i = 0; i < m->nblocks; i++)
        if (overlaps(&m->blocks[i], (unsigned char *)p, 8))
            return NULL;
    return p;
}

static struct bad_pointer decode_bad_pointer(struct model *m, struct input *in, int with_heap_free,
                                             void *on_stack) {
    long frame = pick_block(m, in, 1u << FRAME), pool = pick_block(m, in, 1u << POOL);
    switch (byte(in) % 10) {
    case 0: return (struct bad_pointer){"malloc'd", m->outside, FA_ERR_FOREIGN, FA_OK};
    case 1: return (struct bad_pointer){"on the stack", on_stack, FA_ERR_FOREIGN, FA_OK};
    case 2: return (struct bad_pointer){"interior", interior_of(m, in, 1u << POOL | 1u << HEAP), FA_ERR_FOREIGN, FA_OK};
    case 3: return (struct bad_pointer){"another instance's pool block", m->other_pool, FA_ERR_FOREIGN, FA_OK};
    case 4: return (struct bad_pointer){"another instance's heap block", m->other_heap, FA_ERR_FOREIGN, FA_OK};
    case 5: return (struct bad_pointer){"a frame block", frame >= 0 ? m->blocks[frame].p : NULL, FA_ERR_FOREIGN, FA_OK};
    case 6:
        if (!with_heap_free)
            return (struct bad_pointer){"a frame interior", interior_of(m, in, 1u << FRAME), FA_ERR_FOREIGN, FA_OK};
        return (struct bad_pointer){"a pool block", pool >= 0 ? m->blocks[pool].p : NULL, FA_ERR_FOREIGN, FA_OK};
    case 7: return (struct bad_pointer){"not user space", KERNEL_ADDRESS, FA_ERR_FOREIGN, FA_OK};
    case 8: return (struct bad_pointer){"freed", stale_pointer(m, in), FA_ERR_DOUBLE_FREE, FA_ERR_FOREIGN};
    default: return (struct bad_pointer){"NULL", NULL, FA_OK, FA_OK};
    }
}

/* The heap table keeps a freed block's address as a tombstone: a free of
 * that address reads as a double free even once the source has handed the
 * memory out again, e.g. for a frame chunk (docs/errors.md). */
static int was_heap_block(const struct model *m, const void *p) {
    for (size_t i = 0; i < MAX_FREED; i++)
        if (m->ex_heap[i] == p)
            return 1;
    return 0;
}

static void op_bad_free(struct model *m, struct input *in) {
    unsigned how = byte(in);
    int with_heap_free = how & 1;
    char on_stack[16];
    struct bad_pointer bad = decode_bad_pointer(m, in, with_heap_free, on_stack);
    if (bad.p == NULL && bad.want != FA_OK)
        return;
    /* A heap block's tombstone answers for its address; guarded, pool blocks
     * of a few KiB live on the heap path too, and leave tombstones the model
     * does not track. Another thread cannot know this thread's frame
     * memory: for it a tombstone older than the model's list of freed heap
     * blocks may answer too. */
    int remote = (how & 6) == 0;
    int frame_pointer = strncmp(bad.what, "a frame", 7) == 0;
    if (bad.want == FA_ERR_FOREIGN && (was_heap_block(m, bad.p) || m->guarded || (remote && frame_pointer)))
        bad.also = FA_ERR_DOUBLE_FREE;
    struct freeing f = {m->a, bad.p, with_heap_free, remote, FA_OK, FA_OK};
    char call[96];
    snprintf(call, sizeof call, "%s of %s %p", free_name(&f), bad.what, bad.p);
    m->call = call;
    say(m, "%s", call);
    free_and_expect(m, &f, bad.want, bad.also);
    m->call = NULL;
}

/* The client copies 8 bytes it never wrote (the slack past a pool block's
 * request) over the start of another live block: legal, and it must never
 * make that block's free look like a double free. */
static void op_copy_unwritten(struct model *m, struct input *in) {
    long from = pick_block(m, in, 1u << POOL), to = pick_block(m, in, 1u << POOL | 1u << HEAP);
    if (from < 0 || to < 0 || from == to)
        return;
    struct block *src = &m->blocks[from], *dst = &m->blocks[to];
    size_t start = (src->size + 7) & ~(size_t)7;
    if (src->charged < start + 8 || dst->size < 8 || m->guarded || FA__TRACKED)
        return; /* guarded, the slack is the guard; tracked, reading it is reported */
    m->call = "copy of unwritten bytes";
    size_t at = start + 8 * pick(in, (src->charged - start) / 8);
    memcpy(&dst->word0, src->p + at, 8);
    VALGRIND_MAKE_MEM_DEFINED(&dst->word0, 8);
    memcpy(dst->p, &dst->word0, 8);
    dst->word0_set = 1;
    say(m, "copy 8 unwritten bytes from %p + %zu to %p", (void *)src->p, at, (void *)dst->p);
}

static void op_trim(struct model *m) {
    m->call = "fa_trim";
    int before = error_events(m);
    expect(m, before, fa_trim(m->a), FA_OK);
}

/* ---- tags and budgets ---------------------------------------------------------- */

static int find_path(const struct model *m, int parent, const char *name) {
    for (int i = 1; i < m->npaths; i++) {
        const char *leaf = strrchr(m->paths[i], '/');
        if (m->parent[i] == parent && strcmp(leaf != NULL ? leaf + 1 : m->paths[i], name) == 0)
            return i;
    }
    return -1;
}

/* The path `name` below `parent`, interned as the library does: -1 when all
 * cfg.max_tags paths are taken. */
static int intern(struct model *m, int parent, const char *name) {
    int id = find_path(m, parent, name);
    if (id >= 0 || m->npaths == m->max_tags)
        return id;
    id = m->npaths++;
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s%s%s", m->paths[parent], parent != 0 ? "/" : "", name);
    memcpy(m->paths[id], path, sizeof path);
    m->parent[id] = parent;
    return id;
}

static void push_named(struct model *m, const char *name, int valid) {
    m->call = "fa_tag_push";
    say(m, "fa_tag_push %s", name != NULL ? name : "(null)");
    int id = valid && m->depth < m->max_depth ? intern(m, current_path(m), name) : -1;
    fa_error want = !valid ? FA_ERR_INVALID : m->depth == m->max_depth ? FA_ERR_STATE
                  : id < 0 ? FA_ERR_NOMEM : FA_OK;
    int before = error_events(m);
    expect(m, before, fa_tag_push(m->a, name), want);
    if (want == FA_OK)
        m->stack[m->depth++] = id;
}

static void op_tag_pop(struct model *m) {
    m->call = "fa_tag_pop";
    int before = error_events(m);
    fa_error want = m->depth != 0 ? FA_OK : FA_ERR_STATE;
    expect(m, before, fa_tag_pop(m->a), want);
    if (want == FA_OK)
        m->depth--;
}

/* A burst of 16 numbered paths below the current one, n<k> .. n<k + 15>,
 * as an engine tagging each of its systems would: each pushed and popped
 * but the last, which stays pushed. Enough new paths to fill the table
 * past FA_TAG_MAX. */
static void tag_burst(struct model *m, struct input *in) {
    unsigned first = byte(in) % 64u;
    char name[8];
    for (unsigned k = first; k < first + 16 && !m->diverged; k++) {
        snprintf(name, sizeof name, "n%u", k);
        int pushed = m->depth;
        push_named(m, name, 1);
        if (m->depth > pushed && k + 1 < first + 16)
            op_tag_pop(m);
    }
}

static void op_tag_push(struct model *m, struct input *in) {
    static const char *const names[] = {"a", "b", "c", "a", "b", "#", NULL, "", "x/y", "\x01",
                                        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"};
    const char *name = names[pick(in, sizeof names / sizeof *names)];
    if (name != NULL && strcmp(name, "#") == 0)
        tag_burst(m, in);
    else
        push_named(m, name, name != NULL && strlen(name) == 1 && name[0] >= 'a');
}

/* Interns every name of `path` in turn, as the library does (a path that
 * runs out of room keeps the prefixes it got). */
static int intern_path(struct model *m, const char *path) {
    char copy[PATH_LEN];
    snprintf(copy, sizeof copy, "%s", path);
    int id = 0;
    for (char *name = strtok(copy, "/"); name != NULL && id >= 0; name = strtok(NULL, "/"))
        id = intern(m, id, name);
    return id;
}

/* Names in a path: 1 + its '/'s. */
static int depth_of(const char *path) {
    int depth = 1;
    for (; *path != '\0'; path++)
        depth += *path == '/';
    return depth;
}

static void op_budget_set(struct model *m, struct input *in) {
    static const char *const paths[] = {NULL, "", "a", "a/b", "b", "c/a", "a/b/c", "a//b", "b/a/c/b"};
    static const size_t limits[] = {0, 1000, 20000, 100000, 1u << 20, 16u << 20};
    const char *path = paths[pick(in, sizeof paths / sizeof *paths)];
    size_t soft = limits[pick(in, 6)], hard = limits[pick(in, 6)];
    m->call = "fa_budget_set";
    say(m, "fa_budget_set %s soft %zu hard %zu", path != NULL ? path : "(global)", soft, hard);
    fa_error want = FA_OK;
    int id = 0;
    if (hard != 0 && soft > hard)
        want = FA_ERR_INVALID;
    else if (path != NULL && (strstr(path, "//") != NULL || depth_of(path) > m->max_depth))
        want = FA_ERR_INVALID;
    else if (path != NULL && *path != '\0' && (id = intern_path(m, path)) < 0)
        want = FA_ERR_NOMEM;
    else if (!m->has_slot[id] && m->slots == m->max_budgets)
        want = FA_ERR_NOMEM;
    int before = error_events(m);
    expect(m, before, fa_budget_set(m->a, path, soft, hard), want);
    if (want != FA_OK)
        return;
    if (!m->has_slot[id])
        m->slots++;
    m->has_slot[id] = 1;
    m->soft[id] = soft;
    m->hard[id] = hard;
    m->usage[id] = UINT64_MAX; /* a limit set below the usage is no growth past it */
}

/* ---- statistics --------------------------------------------------------------- */

static int discard(void *user, const char *text, size_t length) {
    (void)text;
    *(size_t *)user += length;
    return 0;
}

/* fa_tag_stats_get with room for `room` paths: the count of all of them,
 * and those it fills the model's, in order. */
static void read_tag_stats(struct model *m, size_t room) {
    fa_tag_stats out[8];
    m->call = "fa_tag_stats_get";
    int before = error_events(m);
    size_t n = fa_tag_stats_get(m->a, room != 0 ? out : NULL, room);
    expect(m, before, FA_OK, FA_OK);
    if (n != (size_t)m->npaths)
        diverge(m, "fa_tag_stats_get counts %zu paths, the model %d", n, m->npaths);
    for (size_t i = 0; i < room && i < n && !m->diverged; i++)
        if (strcmp(out[i].path, m->paths[i]) != 0)
            diverge(m, "fa_tag_stats_get's path %zu is '%s', the model's '%s'", i, out[i].path, m->paths[i]);
}

static void op_read_stats(struct model *m, struct input *in) {
    m->call = "fa_write_json_to / fa_history_get";
    int before = error_events(m);
    size_t written = 0;
    unsigned how = byte(in);
    if (how % 3 == 2) {
        read_tag_stats(m, (how >> 2) % 9);
    } else if (how % 3 == 1) {
        expect(m, before, fa_write_json_to(m->a, discard, &written), FA_OK);
        if (written == 0)
            diverge(m, "an empty snapshot");
    } else {
        fa_frame_record records[4];
        fa_history_summary summary;
        if (fa_history_get(m->a, records, 4) > 4)
            diverge(m, "more records than asked for");
        expect(m, before, fa_history_summary_get(m->a, &summary), FA_OK);
    }
}

static void compare(struct model *m, const char *what, uint64_t got, uint64_t want) {
    if (got != want)
        diverge(m, "%s is %llu, the model counts %llu", what, (unsigned long long)got, (unsigned long long)want);
}

static void check_kind(struct model *m, const fa_kind_stats *k, enum kind kind) {
    const struct kind_count *c = &m->kinds[kind];
    compare(m, kind == POOL ? "pool.allocations" : "heap.allocations", k->allocations, c->allocations);
    compare(m, kind == POOL ? "pool.frees" : "heap.frees", k->frees, c->frees);
    compare(m, kind == POOL ? "pool.bytes" : "heap.bytes", k->bytes, c->bytes);
    compare(m, kind == POOL ? "pool.live_bytes" : "heap.live_bytes", k->live_bytes, c->live);
}

/* The pool blocks of each class the model holds live. */
static void check_classes(struct model *m, const fa_stats *st) {
    uint64_t live[FA_POOL_CLASS_COUNT] = {0};
    for (size_t i = 0; i < m->nblocks; i++)
        if (m->blocks[i].kind == POOL)
            live[__builtin_ctzll(m->blocks[i].charged) - 3]++;
    for (unsigned c = 0; c < FA_POOL_CLASS_COUNT; c++)
        compare(m, "a class's blocks_in_use", st->classes[c].blocks_in_use, live[c]);
}

/* A peak never falls, and never lies below the live bytes it covers. */
static void check_peak(struct model *m, const fa_kind_stats *k, int which, const char *what) {
    if (k->peak_bytes < k->live_bytes || k->peak_bytes < m->peaks[which])
        diverge(m, "%s.peak_bytes is %llu: live %llu, the last snapshot's peak %llu", what,
                (unsigned long long)k->peak_bytes, (unsigned long long)k->live_bytes,
                (unsigned long long)m->peaks[which]);
    m->peaks[which] = k->peak_bytes;
}

static const fa_budget_stats *budget_of(const fa_stats *st, const fa_tag_stats *all, int path) {
    return path == 0 ? &st->global_budget : &all[path].budget;
}

/* A hard limit never lets usage grow past it; the reservation (usage plus
 * the headroom the thread holds) covers the usage. */
static void check_budgets(struct model *m, const fa_stats *st, const fa_tag_stats *all) {
    for (int p = 0; p < m->npaths; p++) {
        if (!m->has_slot[p])
            continue;
        const fa_budget_stats *b = budget_of(st, all, p);
        if (b->hard > 0 && b->usage > b->hard && b->usage > m->usage[p])
            diverge(m, "budget %s: usage grew from %llu to %llu past its hard limit %llu", p ? m->paths[p] : "(global)",
                    (unsigned long long)m->usage[p], (unsigned long long)b->usage, (unsigned long long)b->hard);
        if (limited(m, p) && b->reserved < b->usage)
            diverge(m, "budget %s: reserved %llu is below its usage %llu", p ? m->paths[p] : "(global)",
                    (unsigned long long)b->reserved, (unsigned long long)b->usage);
        m->usage[p] = b->usage;
    }
}

/* Every path's figures (all: fa_tag_stats_get's), and fa_stats' first
 * FA_TAG_MAX the same. */
static void check_paths(struct model *m, const fa_stats *st, const fa_tag_stats *all) {
    uint64_t listed = m->npaths < FA_TAG_MAX ? (uint64_t)m->npaths : FA_TAG_MAX;
    if (st->tag_paths != (uint64_t)m->npaths || st->tag_count != listed) {
        diverge(m, "%llu tag paths, %llu listed; the model has %d", (unsigned long long)st->tag_paths,
                (unsigned long long)st->tag_count, m->npaths);
        return;
    }
    for (int p = 0; p < m->npaths; p++) {
        if (strcmp(all[p].path, m->paths[p]) != 0)
            diverge(m, "path %d is '%s', the model's '%s'", p, all[p].path, m->paths[p]);
        compare(m, "a path's pool.live_bytes", all[p].pool.live_bytes, m->path_live[p][POOL]);
        compare(m, "a path's heap.live_bytes", all[p].heap.live_bytes, m->path_live[p][HEAP]);
        if ((uint64_t)p < listed)
            compare(m, "fa_stats' heap.live_bytes of a path", st->tags[p].heap.live_bytes, all[p].heap.live_bytes);
    }
}

static void check_frame(struct model *m, const fa_stats *st) {
    fa_frame_info info;
    if (fa_frame_info_get(m->a, &info) != FA_OK || info.in_frame != m->in_frame) {
        diverge(m, "fa_frame_info_get disagrees on being in a frame");
        return;
    }
    if (m->in_frame) {
        compare(m, "the frame's allocations", info.allocations, m->frame_allocs);
        if (info.bytes < m->frame_bytes || st->frame.live_bytes != info.bytes + m->held_total)
            diverge(m, "frame bytes %zu (live %llu, %llu in flight) for %zu bytes of live blocks", info.bytes,
                    (unsigned long long)st->frame.live_bytes, (unsigned long long)m->held_total, m->frame_bytes);
    } else if (st->frame.live_bytes != m->held_total) {
        diverge(m, "%llu frame bytes live outside a frame, %llu in flight", (unsigned long long)st->frame.live_bytes,
                (unsigned long long)m->held_total);
    }
}

static void check(struct model *m) {
    for (size_t i = 0; i < m->nblocks; i++)
        if (!holds_fill(&m->blocks[i], 0))
            diverge(m, "the live block %p (%zu bytes) lost its fill", (void *)m->blocks[i].p, m->blocks[i].size);
    if (m->guarded) { /* nothing wrote out of bounds: every guard holds */
        if (fa_check(m->a) != FA_OK)
            diverge(m, "fa_check found a broken guard: %s", m->ev.message);
        return;
    }
    memset(m->st, 0, sizeof *m->st);
    if (fa_stats_get(m->a, m->st) != FA_OK) {
        diverge(m, "fa_stats_get failed");
        return;
    }
    check_kind(m, &m->st->pool, POOL);
    check_kind(m, &m->st->heap, HEAP);
    check_classes(m, m->st);
    check_peak(m, &m->st->pool, POOL, "pool");
    check_peak(m, &m->st->heap, HEAP, "heap");
    check_peak(m, &m->st->total, KINDS, "total");
    if (fa_tag_stats_get(m->a, m->all, MODEL_PATHS) != (size_t)m->npaths) {
        diverge(m, "fa_tag_stats_get disagrees with the model's %d paths", m->npaths);
        return;
    }
    check_paths(m, m->st, m->all);
    check_budgets(m, m->st, m->all);
    check_frame(m, m->st);
    if (trace > 1)
        fprintf(stderr, "      global budget: usage %llu, reserved %llu\n",
                (unsigned long long)m->st->global_budget.usage, (unsigned long long)m->st->global_budget.reserved);
}

/* A pool or heap block resized with fa_pool_realloc: in place while the
 * size keeps its class (a heap block: while it shrinks by less than half;
 * a debug level always moves), else moved with its first bytes. */
static void op_realloc(struct model *m, struct input *in) {
    long i = pick_block(m, in, 1u << POOL | 1u << HEAP);
    size_t size = pool_size(in);
    m->call = "fa_pool_realloc";
    if (i < 0 || !room_for_blocks(m))
        return;
    struct block *b = &m->blocks[i];
    say(m, "fa_pool_realloc %p (%zu bytes) to %zu", (void *)b->p, b->size, size);
    int small = size <= FA__POOL_MAX;
    size_t charged = small ? class_size(size) : size != 0 ? size : 1;
    int in_place = !m->guarded && size != 0 &&
                   (b->kind == POOL ? small && class_size(size) == b->charged : !small && size <= b->charged && size > b->charged / 2);
    size_t kept = b->size < size ? b->size : size;
    unsigned char *before = (unsigned char *)malloc(kept + 1);
    memcpy(before, b->p, kept);
    int events = error_events(m);
    int verdict = in_place ? FA_OK : budget_verdict(m, charged, charged);
    unsigned char *q = (unsigned char *)fa_pool_realloc(m->a, b->p, size);
    expect(m, events, alloc_code(q), (fa_error)verdict_with_source(m, verdict, alloc_code(q)));
    if (q != NULL && memcmp(q, before, kept) != 0)
        diverge(m, "fa_pool_realloc lost the first %zu bytes of %p", kept, (void *)b->p);
    free(before);
    if (q == NULL)
        return;
    if (in_place != (q == b->p) && !m->guarded)
        diverge(m, "fa_pool_realloc %s the block", in_place ? "moved" : "kept");
    if (q == b->p) {
        b->size = size;
        b->word0_set = 0; /* refilled whole */
        fill(b);
        return;
    }
    drop_block(m, (size_t)i);
    add_block(m, q, size, charged, small ? POOL : HEAP, small ? charged : 64);
}

/* ---- scratch arenas --------------------------------------------------------------- */

/* The scratch arena's blocks from the index-th on go (a rewind, a reset). */
static void drop_scratch(struct model *m, uint64_t from) {
    for (size_t i = m->nblocks; i-- > 0;)
        if (m->blocks[i].kind == SCRATCH && m->blocks[i].index >= from)
            drop_block(m, i);
    m->scratch_allocs = from;
}

/* One scratch arena, made on first use under the current path: blocks
 * from it (any size and alignment, no frame needed), marks and rewinds,
 * resets and its destruction. Its blocks are checked like every live one. */
static void op_scratch(struct model *m, struct input *in) {
    unsigned what = byte(in) % 8;
    if (m->scratch == NULL) {
        m->call = "fa_arena_create";
        m->scratch = fa_arena_create(m->a, "fuzz", 0);
        m->scratch_path = current_path(m);
        m->scratch_allocs = 0;
        m->scratch_marked = UINT64_MAX;
        if (m->scratch == NULL && !m->tight)
            diverge(m, "fa_arena_create failed");
        return;
    }
    int before = error_events(m);
    if (what == 0) {
        m->call = "fa_arena_reset";
        expect(m, before, fa_arena_reset(m->scratch), FA_OK);
        drop_scratch(m, 0);
        m->scratch_marked = UINT64_MAX;
    } else if (what == 1) {
        m->call = "fa_arena_destroy";
        fa_arena_destroy(m->scratch);
        m->scratch = NULL;
        drop_scratch(m, 0);
    } else if (what == 2) {
        m->call = "fa_arena_mark";
        m->scratch_mark = fa_arena_mark(m->scratch);
        m->scratch_marked = m->scratch_allocs;
    } else if (what == 3) {
        m->call = "fa_arena_rewind";
        fa_error want = m->scratch_marked <= m->scratch_allocs ? FA_OK : FA_ERR_STATE;
        expect(m, before, fa_arena_rewind(m->scratch, m->scratch_mark), want);
        if (want == FA_OK)
            drop_scratch(m, m->scratch_marked);
    } else if (room_for_blocks(m)) {
        size_t size = any_size(in) % (3u << 20), align = (size_t)1 << byte(in) % 13;
        m->call = "fa_arena_alloc_aligned";
        say(m, "fa_arena_alloc_aligned (scratch) %zu align %zu", size, align);
        /* it may fit its chunk, or take (and charge) a new one */
        int verdict = budget_verdict_at(m, m->scratch_path, 0, size + align + (2u << 20));
        void *p = fa_arena_alloc_aligned(m->scratch, size, align);
        fa_error got = alloc_code(p);
        if (verdict != FA_OK && (got == FA_OK || got == FA_ERR_BUDGET)) /* it fitted, or a chunk was refused */
            verdict = got;
        expect(m, before, got, (fa_error)verdict_with_source(m, verdict, got));
        if (p != NULL)
            add_block(m, p, size, 0, SCRATCH, align);
    }
}

/* ---- hand-offs ------------------------------------------------------------------- */

/* A live frame block (of the current frame or one in flight) promoted: the
 * copy holds its bytes, aligned as a pool block or the heap path gives. */
static void op_promote(struct model *m, struct input *in) {
    long i = pick_block(m, in, 1u << FRAME);
    m->call = "fa_frame_promote";
    if (i < 0 || !room_for_blocks(m))
        return;
    struct block b = m->blocks[i];
    say(m, "fa_frame_promote %p (%zu bytes, frame %llu)", (void *)b.p, b.size, (unsigned long long)b.frame);
    int small = b.size <= FA__POOL_MAX;
    size_t charged = small ? class_size(b.size) : b.size != 0 ? b.size : 1;
    int before = error_events(m);
    int verdict = budget_verdict(m, charged, charged);
    void *p = fa_frame_promote(m->a, b.p, b.size);
    expect(m, before, alloc_code(p), (fa_error)verdict_with_source(m, verdict, alloc_code(p)));
    if (p == NULL)
        return;
    if (memcmp(p, b.p, b.size) != 0)
        diverge(m, "the promoted copy of %p differs from it", (void *)b.p);
    add_block(m, p, b.size, charged, small ? POOL : HEAP, small ? charged : natural_align(b.size));
}

/* A transfer of a block of the current frame; every transfer kept is alive
 * exactly while its frame is not released. */
static void op_transfer(struct model *m, struct input *in) {
    m->call = "fa_transfer_make";
    long i = pick_block(m, in, 1u << FRAME);
    if (m->in_frame && i >= 0 && m->blocks[i].frame == m->frames) {
        say(m, "fa_transfer_make %p (%zu bytes)", (void *)m->blocks[i].p, m->blocks[i].size);
        int before = error_events(m);
        fa_transfer t = fa_transfer_make(m->a, m->blocks[i].p, m->blocks[i].size);
        expect(m, before, t.ptr != NULL ? FA_OK : fa_last_error(), FA_OK);
        m->transfers[m->ntransfers++ % 8] = t;
    }
    m->call = "fa_transfer_alive";
    for (unsigned k = 0; k < 8 && k < m->ntransfers; k++) {
        const fa_transfer *t = &m->transfers[k];
        compare(m, "a transfer's life", (uint64_t)fa_transfer_alive(m->a, t), t->frame > m->released);
    }
}

/* ---- a run ---------------------------------------------------------------------- */

/* ---- profiling -------------------------------------------------------------- */

/* The sites as fa_sites_get gives them: the largest bytes first, shares
 * that sum to one, estimates at least their samples; off, FA_ERR_STATE. */
static void check_sites(struct model *m) {
    static fa_site s[64];
    m->call = "fa_sites_get";
    int before = error_events(m);
    size_t n = fa_sites_get(m->a, s, 64, 0.0);
    if (!m->sites) {
        expect(m, before, n == 0 ? fa_last_error() : FA_OK, FA_ERR_STATE);
        return;
    }
    double shares = 0;
    for (size_t i = 0; i < n && i < 64 && !m->diverged; i++) {
        if (i > 0 && s[i].bytes > s[i - 1].bytes)
            diverge(m, "site %zu has more bytes than site %zu", i, i - 1);
        if (s[i].samples == 0 || s[i].count < s[i].samples || s[i].bytes < s[i].samples)
            diverge(m, "site %zu: %llu samples, %llu allocations, %llu bytes", i, (unsigned long long)s[i].samples,
                    (unsigned long long)s[i].count, (unsigned long long)s[i].bytes);
        shares += s[i].share;
    }
    if (n != 0 && n <= 64 && (shares < 0.999999 || shares > 1.000001))
        diverge(m, "the sites' shares sum to %f", shares);
}

/* Bandwidth counted exactly; the trace started and stopped as the model
 * says it may be (into /dev/null: its writing is the unit tests'); the
 * sites checked. */
static void op_profile(struct model *m, struct input *in) {
    unsigned what = byte(in);
    int before = error_events(m);
    if (what % 4 == 0) {
        m->call = m->tracing ? "fa_trace_stop" : "fa_trace_start";
        fa_error e = m->tracing ? fa_trace_stop(m->a) : fa_trace_start(m->a, "/dev/null");
        expect(m, before, e, FA_OK);
        m->tracing = !m->tracing;
        before = error_events(m);
        m->call = "a second fa_trace_start or stop";
        expect(m, before, m->tracing ? fa_trace_start(m->a, "/dev/null") : fa_trace_stop(m->a), FA_ERR_STATE);
    } else if (what % 4 == 1) {
        uint64_t r = word(in), w = what, got_r, got_w;
        m->call = "fa_bandwidth_record";
        expect(m, before, fa_bandwidth_record(m->a, r, w), FA_OK);
        m->read_bytes += r;
        m->written_bytes += w;
        expect(m, before, fa_bandwidth_get(m->a, &got_r, &got_w), FA_OK);
        compare(m, "bandwidth read", got_r, m->read_bytes);
        compare(m, "bandwidth written", got_w, m->written_bytes);
    } else {
        check_sites(m);
    }
}

static void step(struct model *m, struct input *in) {
    unsigned op = byte(in);
    switch (op % 20) {
    case 0: case 1: op_begin(m); break;
    case 2: op_end(m); break;
    case 3: case 4: case 5: op_frame_alloc(m, in); break;
    case 6: op_mark(m); break;
    case 7: op_rewind(m, in); break;
    case 8: case 9: op_pool_alloc(m, in); break;
    case 10: case 11: op_free(m, in, 0); break;
    case 12: op_heap_alloc(m, in); break;
    case 13: op_free(m, in, 1); break;
    case 14: op_bad_free(m, in); break;
    case 15: op_tag_push(m, in); break;
    case 16: op_tag_pop(m); break;
    case 17: m->guarded ? op_read_stats(m, in) : op_budget_set(m, in); break; /* budgets count guards */
    case 18: op_copy_unwritten(m, in); break;
    default:
        switch (op & 96) {
        case 0: op & 128 ? op_profile(m, in) : op_read_stats(m, in); break;
        case 32: op & 128 ? op_scratch(m, in) : op_trim(m); break;
        case 64: op & 128 ? op_realloc(m, in) : op_promote(m, in); break;
        default: op_transfer(m, in); break;
        }
        break;
    }
}

/* The first byte of an input picks the allocator's configuration: where
 * memory comes from (the system, the system with small tables and hot
 * sites counting every allocation, an mmap reservation, or a fixed region
 * small enough to run out), small frame chunks (more chunk changes), larger
 * slabs, no chunk cache, the guard or the pass-through debug level, and
 * frames kept in flight (2, or 3 with small chunks). */
enum { SOURCE_BITS = 3, SMALL_TABLES = 1, SMALL_CHUNKS = 4, LARGE_SLABS = 8, NO_CHUNK_CACHE = 16, PASSED = 32, GUARDED = 64,
       IN_FLIGHT = 128 };
#define FIXED_REGION ((size_t)12 << 20)

static int make_source(struct model *m, unsigned config) {
    switch (config & SOURCE_BITS) {
    case 2:
        m->region = malloc(FIXED_REGION);
        m->tight = 1; /* any request for memory may be refused */
        return m->region != NULL && fa_source_fixed(&m->source, m->region, FIXED_REGION) == FA_OK;
    case 3: return fa_source_mmap(&m->source, (size_t)1 << 32, FA_HUGE_NONE) == FA_OK;
    default: m->source = fa_backend_system(); return 1;
    }
}

static int setup(struct model *m, unsigned config) {
    fa_config cfg = test_config(&m->counting, &m->ev);
    if (!make_source(m, config))
        return 0;
    m->counting.inner = m->source; /* counted, so that every byte is seen back */
    cfg.slab_reserve = 1;          /* emptied slabs go back: freed pointers leave the instance */
    if (config & SMALL_CHUNKS) {
        cfg.frame_chunk_first = 4096;
        cfg.frame_chunk_max = 16384;
    }
    if (config & LARGE_SLABS)
        cfg.slab_size = 128u << 10;
    if (config & NO_CHUNK_CACHE)
        cfg.chunk_cache_limit = 1;
    int small = (config & SOURCE_BITS) == SMALL_TABLES; /* paths, budgets and depth fill at once */
    m->max_tags = small ? 4 : MODEL_PATHS;
    m->max_budgets = small ? 2 : 31;
    m->max_depth = small ? 3 : FA_TAG_DEPTH;
    cfg.max_tags = (uint32_t)m->max_tags;
    cfg.max_budgets = (uint32_t)m->max_budgets;
    cfg.max_tag_depth = (uint32_t)m->max_depth;
    m->guarded = (config & (GUARDED | PASSED)) != 0;
    m->in_flight = config & IN_FLIGHT ? (config & SMALL_CHUNKS ? 3 : 2) : 1; /* frames kept in flight */
    cfg.frames_in_flight = m->in_flight;
    cfg.debug = config & GUARDED ? FA_DEBUG_GUARD : config & PASSED ? FA_DEBUG_MALLOC : FA_DEBUG_OFF;
    m->sites = (config & SOURCE_BITS) == SMALL_TABLES;
    cfg.site_sample_bytes = m->sites ? 1 : 0;
    m->a = fa_create(&cfg);
    fa_config other = test_config(&m->other_counting, &m->ev);
    m->other = fa_create(&other);
    m->st = (fa_stats *)calloc(1, sizeof *m->st);
    m->all = (fa_tag_stats *)calloc(MODEL_PATHS, sizeof *m->all);
    m->outside = malloc(64);
    if (m->a == NULL || m->other == NULL || m->st == NULL || m->all == NULL || m->outside == NULL)
        return 0;
    m->npaths = 1;
    m->has_slot[0] = 1;
    m->other_pool = fa_pool_alloc(m->other, 64);
    m->other_heap = fa_heap_alloc(m->other, 10000, 256);
    fa_begin_frame(m->other);
    m->other_mark = fa_frame_mark(m->other);
    return m->other_pool != NULL && m->other_heap != NULL;
}

/* Everything freed and both instances destroyed: every byte back. */
static void teardown(struct model *m) {
    m->call = "teardown";
    if (!m->diverged) {
        if (m->in_frame)
            op_end(m);
        while (m->nblocks > 0 && !m->diverged) {
            if (m->blocks[m->nblocks - 1].kind == FRAME || m->blocks[m->nblocks - 1].kind == SCRATCH)
                drop_block(m, m->nblocks - 1); /* a frame in flight, the scratch arena: fa_destroy releases them */
            else
                free_block(m, (long)m->nblocks - 1, 0, 0);
        }
        check(m);
        compare(m, "live pool bytes at the end", m->st->pool.live_bytes, 0);
    }
    fa_pool_free(m->other, m->other_pool);
    fa_heap_free(m->other, m->other_heap);
    fa_destroy(m->a);
    fa_destroy(m->other);
    fa_source_destroy(&m->source);
    free(m->region);
    if (!m->diverged && (m->counting.bytes_out != 0 || m->other_counting.bytes_out != 0))
        diverge(m, "%ld and %ld backend bytes not given back", (long)m->counting.bytes_out,
                (long)m->other_counting.bytes_out);
    pthread_mutex_destroy(&m->ev.lock);
    free(m->st);
    free(m->all);
    free(m->outside);
}

int fuzz_run(const uint8_t *data, size_t size) {
    struct model *m = (struct model *)calloc(1, sizeof *m);
    if (m == NULL)
        return 0;
    struct input in = {data, data + size};
    totals.runs++;
    if (!setup(m, byte(&in))) {
        diverge(m, "could not set up the allocators");
    } else {
        while (in.at < in.end && !m->diverged) {
            m->step++;
            totals.ops++;
            step(m, &in);
            if (!m->diverged)
                check(m);
        }
    }
    teardown(m);
    int diverged = m->diverged;
    free(m);
    return diverged;
}
