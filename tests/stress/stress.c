/* SPDX-License-Identifier: MIT */
/* Stress, after mimalloc's test/test-stress.c (not a benchmark). Threads
 * pass pool and heap blocks to each other through one shared array of
 * slots and free blocks of threads that have exited; every thread runs
 * frames with nested marks and rewinds; a global and a tag hard budget are
 * crossed by racing threads while an independent count of the bytes they
 * charge must never pass them. Sized by FA_STRESS_THREADS (per round),
 * FA_STRESS_ROUNDS, FA_STRESS_FRAMES (per thread and round) and
 * FA_STRESS_SLOTS. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "workload.h"

#define TAG "stress"
#define POOL_MAX 4096
#define EXCHANGES 8   /* blocks each frame passes on */
#define FRAME_DEPTH 3 /* marks nest this deep */
/* A frame allocates at most 4 blocks in each of its 1 + 2 + 4 + 8 calls
 * of frame_level (two marks on every level but the last). */
#define FRAME_BLOCKS 60

/* An independent count of the bytes a budget charges: added once an
 * allocation has succeeded and taken off before the free, so that it never
 * runs ahead of the library's own count, which may not pass `hard`. */
struct meter {
    long long    hard; /* 0: no budget (a minimal build) */
    atomic_llong live;
    atomic_llong high;
    atomic_long  over; /* updates that saw live above hard */
};

static void meter_add(struct meter *m, long long n) {
    long long now = atomic_fetch_add(&m->live, n) + n;
    long long high = atomic_load(&m->high);
    while (now > high && !atomic_compare_exchange_weak(&m->high, &high, now))
        continue;
    if (m->hard != 0 && now > m->hard)
        atomic_fetch_add(&m->over, 1);
}

enum kind { POOL, HEAP };

/* What a slot holds: a 32-byte pool block describing a payload, both
 * allocated by one thread and freed by whichever thread takes it out. */
struct item {
    unsigned char *payload;
    uint64_t       cookie; /* item_cookie() while the item is intact */
    uint32_t       size;
    uint32_t       thread; /* serial of the allocating thread */
    uint8_t        kind;
    uint8_t        tagged;
};

static uint64_t item_cookie(const struct item *it) {
    return mix64((uintptr_t)it ^ mix64((uintptr_t)it->payload) ^ ((uint64_t)it->size << 8) ^
                 ((uint64_t)it->thread << 40) ^ ((uint64_t)it->kind << 2) ^ it->tagged);
}

/* What happened, per thread; summed up after each round. */
struct tally {
    long exchanges;
    long passed;   /* blocks freed by another thread than the one that allocated them */
    long orphaned; /* of which the allocating thread had exited */
    long refusals; /* allocations refused with FA_ERR_BUDGET */
    long bad;      /* cookies or fill patterns that did not match */
    long errors;   /* any other failure: a call that should have returned FA_OK */
};

static void tally_add(struct tally *to, const struct tally *t) {
    to->exchanges += t->exchanges;
    to->passed += t->passed;
    to->orphaned += t->orphaned;
    to->refusals += t->refusals;
    to->bad += t->bad;
    to->errors += t->errors;
}

struct run {
    struct counting c;
    struct events   ev;
    fa_alloc       *a;
    size_t          threads, rounds, frames, slots;
    _Atomic(struct item *) *slot;
    struct meter    global, tag;
    struct tally    total;
};

struct frame_block {
    unsigned char *p;
    size_t         size;
};

struct worker {
    struct run  *r;
    uint32_t     serial; /* round * threads + index: unique over the run */
    size_t       round;
    struct rng   rng;
    struct tally t;
    struct frame_block block[FRAME_BLOCKS];
    size_t       blocks;
    size_t       frame_bytes; /* what the budgets count of the current frame */
};

/* ---- blocks ----------------------------------------------------------- */

/* What a budget counts for a block (docs/budgets-and-tags.md: consumed bytes): a pool
 * block its size class, a block on the heap path its size (1 for 0). */
static size_t charged(enum kind kind, size_t size) {
    if (kind == HEAP || size > POOL_MAX)
        return size != 0 ? size : 1;
    size_t cls = 8;
    while (cls < size)
        cls <<= 1;
    return cls;
}

static void charge(struct worker *w, enum kind kind, size_t size, int tagged, int sign) {
    long long n = sign * (long long)charged(kind, size);
    meter_add(&w->r->global, n);
    if (tagged)
        meter_add(&w->r->tag, n);
}

/* A failed allocation: a refusal when a hard budget said no, else an error. */
static void failed(struct worker *w) {
    if (fa_last_error() == FA_ERR_BUDGET)
        w->t.refusals++;
    else
        w->t.errors++;
}

/* A block allocation's outcome, counted against the budgets if it succeeded. */
static void *taken(struct worker *w, void *p, enum kind kind, size_t size, int tagged) {
    if (p != NULL)
        charge(w, kind, size, tagged, 1);
    else
        failed(w);
    return p;
}

/* Heap blocks go back through either free: fa_pool_free takes them too. */
static void release(struct worker *w, void *p, enum kind kind, size_t size, int tagged, int by_heap_free) {
    charge(w, kind, size, tagged, -1);
    fa_error e = kind == HEAP && by_heap_free ? fa_heap_free(w->r->a, p) : fa_pool_free(w->r->a, p);
    w->t.errors += e != FA_OK;
}

/* mimalloc's mix: mostly small, now and then large. Pool sizes above 4096
 * take the heap path; heap blocks have alignments up to 64 KiB. */
static size_t pool_size(struct rng *g) {
    size_t roll = rng_below(g, 100);
    if (roll < 60)
        return rng_below(g, 257);
    if (roll < 85)
        return 257 + rng_below(g, POOL_MAX - 256);
    return POOL_MAX + 1 + rng_below(g, 60 << 10);
}

static struct item *item_new(struct worker *w, int tagged) {
    fa_alloc *a = w->r->a;
    enum kind kind = rng_below(&w->rng, 8) == 0 ? HEAP : POOL;
    size_t size = kind == HEAP ? rng_below(&w->rng, (128 << 10) + 1) : pool_size(&w->rng);
    size_t align = (size_t)1 << rng_below(&w->rng, 17);
    struct item *it = (struct item *)taken(w, fa_pool_alloc(a, sizeof *it), POOL, sizeof *it, tagged);
    if (it == NULL)
        return NULL;
    void *p = kind == HEAP ? fa_heap_alloc(a, size, align) : fa_pool_alloc(a, size);
    if (taken(w, p, kind, size, tagged) == NULL) {
        release(w, it, POOL, sizeof *it, tagged, 0);
        return NULL;
    }
    *it = (struct item){(unsigned char *)p, 0, (uint32_t)size, w->serial, (uint8_t)kind, (uint8_t)tagged};
    it->cookie = item_cookie(it);
    pattern_fill(it->payload, size);
    return it;
}

/* A damaged item is left alone (and the run fails): freeing it could
 * only turn the finding into a crash. */
static void item_free(struct worker *w, struct item *it) {
    if (it->cookie != item_cookie(it) || !pattern_ok(it->payload, it->size)) {
        w->t.bad++;
        return;
    }
    w->t.passed += it->thread != w->serial;
    w->t.orphaned += it->thread / w->r->threads < w->round;
    release(w, it->payload, (enum kind)it->kind, it->size, it->tagged, it->cookie & 1);
    release(w, it, POOL, sizeof *it, it->tagged, 0);
}

/* A new block into a random slot; the one it replaces is freed here. A
 * third of them are charged to the tag, and so to its budget. */
static void exchange(struct worker *w) {
    fa_alloc *a = w->r->a;
    int tagged = rng_below(&w->rng, 3) == 0;
    if (tagged)
        w->t.errors += fa_tag_push(a, TAG) != FA_OK;
    struct item *it = item_new(w, tagged);
    struct item *old = atomic_exchange(&w->r->slot[rng_below(&w->rng, w->r->slots)], it);
    if (old != NULL)
        item_free(w, old);
    if (tagged)
        w->t.errors += fa_tag_pop(a) != FA_OK;
    w->t.exchanges++;
}

/* ---- frames ----------------------------------------------------------- */

/* The frame's bytes as the library counts them, padding included: what the
 * global budget is charged for the frame. */
static size_t frame_bytes(struct worker *w) {
    fa_frame_info info;
    w->t.errors += fa_frame_info_get(w->r->a, &info) != FA_OK;
    return info.bytes;
}

static void frame_alloc(struct worker *w) {
    size_t size = 1 + rng_below(&w->rng, rng_below(&w->rng, 16) == 0 ? 32 << 10 : 1024);
    size_t align = (size_t)1 << rng_below(&w->rng, 13);
    unsigned char *p = (unsigned char *)fa_frame_alloc_aligned(w->r->a, size, align);
    if (p == NULL) {
        failed(w);
        return;
    }
    size_t bytes = frame_bytes(w);
    w->t.errors += bytes < w->frame_bytes + size || (uintptr_t)p % align != 0;
    meter_add(&w->r->global, (long long)(bytes - w->frame_bytes));
    w->frame_bytes = bytes;
    pattern_fill(p, size);
    w->block[w->blocks++] = (struct frame_block){p, size};
}

/* Frame blocks from `from` on are intact. */
static void frame_check(struct worker *w, size_t from) {
    for (size_t i = from; i < w->blocks; i++)
        w->t.bad += !pattern_ok(w->block[i].p, w->block[i].size);
}

struct mark {
    fa_mark m;
    size_t  blocks;
    size_t  bytes;
};

static struct mark mark(struct worker *w) {
    struct mark m = {fa_frame_mark(w->r->a), w->blocks, w->frame_bytes};
    return m;
}

static void rewind_to(struct worker *w, struct mark m) {
    frame_check(w, m.blocks);
    meter_add(&w->r->global, -(long long)(w->frame_bytes - m.bytes));
    w->t.errors += fa_frame_rewind(w->r->a, m.m) != FA_OK;
    w->t.errors += frame_bytes(w) != m.bytes; /* the library gave back what the marks say */
    w->blocks = m.blocks;
    w->frame_bytes = m.bytes;
}

/* A few blocks, then twice: a mark, the next level down, and (half the
 * time) a rewind to the mark. */
static void frame_level(struct worker *w, int depth) {
    for (size_t n = 1 + rng_below(&w->rng, 4); n > 0; n--)
        frame_alloc(w);
    if (depth == FRAME_DEPTH)
        return;
    for (int k = 0; k < 2; k++) {
        struct mark m = mark(w);
        frame_level(w, depth + 1);
        if (rng_below(&w->rng, 2) == 0)
            rewind_to(w, m);
    }
}

static void frame(struct worker *w) {
    fa_alloc *a = w->r->a;
    w->t.errors += fa_begin_frame(a) != FA_OK;
    w->blocks = 0;
    w->frame_bytes = 0;
    frame_level(w, 0);
    for (int k = 0; k < EXCHANGES; k++)
        exchange(w);
    frame_check(w, 0);
    meter_add(&w->r->global, -(long long)w->frame_bytes);
    w->t.errors += fa_end_frame(a) != FA_OK;
    if (rng_below(&w->rng, 64) == 0) /* memory back to the source while the others run */
        w->t.errors += fa_trim(a) != FA_OK;
}

static void *stress_thread(void *arg) {
    struct worker *w = (struct worker *)arg;
    for (size_t f = 0; f < w->r->frames; f++)
        frame(w);
    return NULL;
}

/* ---- the run ---------------------------------------------------------- */

/* Hard limits well below what the slots would hold unlimited (some 13 KiB
 * a slot on average), so that racing threads keep running into them. */
static void set_budgets(struct run *r) {
    if (FA_MINIMAL) /* no budgets to cross: the rest of the run still holds */
        return;
    r->global.hard = (long long)r->slots << 12;
    r->tag.hard = (long long)r->slots << 10;
    assert_int_equal(fa_budget_set(r->a, NULL, 0, (size_t)r->global.hard), FA_OK);
    assert_int_equal(fa_budget_set(r->a, TAG, 0, (size_t)r->tag.hard), FA_OK);
}

/* Threads of a round exit while the slots keep their blocks, which the
 * next rounds' threads free. */
static void run_round(struct run *r, size_t round) {
    struct worker *w = (struct worker *)calloc(r->threads, sizeof *w);
    pthread_t *t = (pthread_t *)calloc(r->threads, sizeof *t);
    assert_non_null(w);
    assert_non_null(t);
    for (size_t i = 0; i < r->threads; i++) {
        w[i].r = r;
        w[i].serial = (uint32_t)(round * r->threads + i);
        w[i].round = round;
        w[i].rng = rng_seeded(w[i].serial);
        assert_int_equal(pthread_create(&t[i], NULL, stress_thread, &w[i]), 0);
    }
    for (size_t i = 0; i < r->threads; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        tally_add(&r->total, &w[i].t);
    }
    free(t);
    free(w);
}

/* The creating thread, which ran no frames, frees what the slots hold. */
static void drain(struct run *r) {
    struct worker w = {.r = r, .serial = UINT32_MAX, .round = r->rounds};
    for (size_t i = 0; i < r->slots; i++) {
        struct item *it = atomic_exchange(&r->slot[i], NULL);
        if (it != NULL)
            item_free(&w, it);
    }
    tally_add(&r->total, &w.t);
}

/* Every refusal was counted by exactly one budget, and nothing is left
 * counted once everything is freed. */
static void check_statistics(struct run *r) {
    fa_stats *st = stats_of(r->a);
    assert_non_null(st);
    int tag = tag_index(st, TAG);
    assert_true(tag > 0);
    const fa_budget_stats *g = &st->global_budget, *t = &st->tags[tag].budget;
    printf("stress: refusals by the global budget %llu, by the tag budget %llu\n",
           (unsigned long long)g->refusals, (unsigned long long)t->refusals);
    assert_true(g->refusals > 0);
    assert_true(t->refusals > 0);
    assert_int_equal(g->refusals + t->refusals, r->total.refusals);
    assert_int_equal(g->reserved, 0);
    assert_int_equal(t->reserved, 0);
    assert_int_equal(st->total.live_bytes, 0);
    free(st);
}

static void report(const struct run *r) {
    const struct tally *t = &r->total;
    printf("stress: %zu threads x %zu rounds (%zu thread exits), %zu frames per thread and round, "
           "%zu slots\n",
           r->threads, r->rounds, r->threads * r->rounds, r->frames, r->slots);
    printf("stress: %ld exchanges, %ld blocks passed between threads (%ld from exited threads), "
           "%ld refusals, %ld bad cookies, %ld errors\n",
           t->exchanges, t->passed, t->orphaned, t->refusals, t->bad, t->errors);
    printf("stress: independent max: global %lld of hard %lld, tag %lld of hard %lld; over: %ld, %ld\n",
           (long long)r->global.high, r->global.hard, (long long)r->tag.high, r->tag.hard,
           (long)r->global.over, (long)r->tag.over);
}

static void stress(void **state) {
    (void)state;
    struct run *r = (struct run *)calloc(1, sizeof *r);
    assert_non_null(r);
    r->threads = env_size("FA_STRESS_THREADS", 4);
    r->rounds = env_size("FA_STRESS_ROUNDS", 25);
    r->frames = env_size("FA_STRESS_FRAMES", 400);
    r->slots = env_size("FA_STRESS_SLOTS", 512);
    r->slot = calloc(r->slots, sizeof *r->slot);
    assert_non_null(r->slot);
    fa_config cfg = test_config(&r->c, &r->ev);
    r->a = fa_create(&cfg);
    assert_non_null(r->a);
    set_budgets(r);

    for (size_t round = 0; round < r->rounds; round++)
        run_round(r, round);
    drain(r);
    report(r);

    assert_int_equal(r->total.bad, 0);
    assert_int_equal(r->total.errors, 0);
    assert_int_equal(r->ev.count, r->total.refusals); /* every event was a refusal seen here */
    assert_true(r->total.passed > 0);
    assert_true(r->total.orphaned > 0 || r->rounds == 1);
    assert_int_equal(r->global.over, 0);
    assert_int_equal(r->tag.over, 0);
    assert_int_equal(r->global.live, 0);
    assert_int_equal(r->tag.live, 0);
    if (!FA_MINIMAL)
        check_statistics(r);
    fa_destroy(r->a);
    assert_int_equal(r->c.bytes_out, 0);
    free(r->slot);
    free(r);
}

/* ---- shared frames: a job system ------------------------------------- */

/* Rounds of worker threads under FA_FRAMES_SHARED with two frames in
 * flight: the creating thread begins each frame; every worker pushes jobs
 * on its own deque and takes jobs from its own and the others' until all
 * are done; a job (a pool block) writes a pattern into frame memory and is
 * freed by whichever thread ran it; each worker hands a frame buffer to the
 * next worker through a transfer that must still be alive and intact one
 * frame later; a barrier ends each frame. Workers exit with frames in
 * flight at each round's end. Sized by FA_STRESS_SHARED_ROUNDS, _FRAMES. */
enum { CREW = 3, JOBS = 64 };

struct job {
    uint32_t id;
    uint32_t size;
};

struct crew {
    fa_alloc         *a;
    fa_barrier       *end;        /* ends the shared frame */
    pthread_barrier_t go;         /* the frame has begun */
    fa_deque         *deque[CREW];
    atomic_int        remaining;  /* jobs of this frame not done */
    atomic_uchar      done[CREW * JOBS];
    fa_transfer       handed[2][CREW]; /* by frame parity: each worker's buffer for the next */
    size_t            frames;
    atomic_long       jobs, steals, checked, bad, errors;
};

struct crew_member {
    struct crew *c;
    int          index;
    struct rng   rng;
};

static void run_job(struct crew_member *m, fa_arena *ar, struct job *j) {
    struct crew *c = m->c;
    unsigned char *scratch = (unsigned char *)fa_arena_alloc(ar, j->size);
    if (scratch == NULL) {
        atomic_fetch_add(&c->errors, 1);
    } else {
        pattern_fill(scratch, j->size);
        c->bad += !pattern_ok(scratch, j->size);
    }
    if (atomic_fetch_add(&c->done[j->id], 1) != 0)
        atomic_fetch_add(&c->bad, 1); /* a job taken twice */
    c->errors += fa_pool_free(c->a, j) != FA_OK;
    atomic_fetch_sub(&c->remaining, 1);
    atomic_fetch_add(&c->jobs, 1);
}

static void push_jobs(struct crew_member *m) {
    struct crew *c = m->c;
    for (int k = 0; k < JOBS; k++) {
        struct job *j = (struct job *)fa_pool_alloc(c->a, sizeof *j);
        if (j != NULL) /* written before the push: a thief may run it at once */
            *j = (struct job){(uint32_t)(m->index * JOBS + k), (uint32_t)(16 + rng_below(&m->rng, 2000))};
        if (j == NULL || fa_deque_push(c->deque[m->index], j) != FA_OK) {
            atomic_fetch_add(&c->errors, 1);
            atomic_fetch_sub(&c->remaining, 1);
            fa_pool_free(c->a, j);
        }
    }
}

static void work_frame(struct crew_member *m, fa_arena *ar, size_t frame) {
    struct crew *c = m->c;
    push_jobs(m);
    while (atomic_load(&c->remaining) > 0) {
        struct job *j = (struct job *)fa_deque_pop(c->deque[m->index]);
        if (j == NULL) {
            j = (struct job *)fa_deque_steal(c->deque[rng_below(&m->rng, CREW)]);
            atomic_fetch_add(&c->steals, j != NULL);
        }
        if (j != NULL)
            run_job(m, ar, j);
        else
            sched_yield(); /* the others' turn (valgrind runs one thread at a time) */
    }
    /* the buffer the previous worker handed over last frame: alive (two in flight) */
    const fa_transfer *t = &c->handed[(frame + 1) % 2][(m->index + CREW - 1) % CREW];
    if (t->ptr != NULL) {
        const unsigned char *p = (const unsigned char *)fa_transfer_get(c->a, t);
        c->bad += p == NULL || !pattern_ok(p, t->size);
        atomic_fetch_add(&c->checked, 1);
    }
    size_t size = 64 + rng_below(&m->rng, 4000);
    unsigned char *mine = (unsigned char *)fa_arena_alloc(ar, size);
    if (mine != NULL) {
        pattern_fill(mine, size);
        c->handed[frame % 2][m->index] = fa_transfer_make(c->a, mine, size);
    }
}

static void *crew_thread(void *arg) {
    struct crew_member *m = (struct crew_member *)arg;
    struct crew *c = m->c;
    fa_arena *ar = fa_arena_get(c->a);
    for (size_t f = 0; f < c->frames; f++) {
        pthread_barrier_wait(&c->go);
        work_frame(m, ar, f);
        c->errors += fa_barrier_wait(c->end) != FA_OK;
    }
    return NULL; /* exits with its last two frames in flight */
}

static void crew_round(struct crew *c, size_t round) {
    struct crew_member m[CREW];
    pthread_t t[CREW];
    for (int i = 0; i < CREW; i++) {
        c->deque[i] = fa_deque_create(c->a, 8); /* grows under contention */
        assert_non_null(c->deque[i]);
    }
    memset(c->handed, 0, sizeof c->handed);
    for (int i = 0; i < CREW; i++) {
        m[i] = (struct crew_member){c, i, rng_seeded((uint32_t)(round * CREW + (size_t)i + 7777))};
        assert_int_equal(pthread_create(&t[i], NULL, crew_thread, &m[i]), 0);
    }
    for (size_t f = 0; f < c->frames; f++) {
        assert_int_equal(fa_begin_frame(c->a), FA_OK);
        for (int k = 0; k < CREW * JOBS; k++)
            atomic_store(&c->done[k], 0);
        atomic_store(&c->remaining, CREW * JOBS);
        pthread_barrier_wait(&c->go);
        assert_non_null(fa_frame_alloc(c->a, 100));
        assert_int_equal(fa_barrier_wait(c->end), FA_OK); /* the frame ends here */
        for (int k = 0; k < CREW * JOBS; k++)
            c->bad += atomic_load(&c->done[k]) != 1;
    }
    for (int i = 0; i < CREW; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < CREW; i++) /* the creating thread destroys the empty deques */
        fa_deque_destroy(c->deque[i]);
}

static void shared_frames_stress(void **state) {
    (void)state;
    struct counting cnt;
    struct events ev;
    fa_config cfg = test_config(&cnt, &ev);
    cfg.frame_mode = FA_FRAMES_SHARED;
    cfg.frames_in_flight = 2;
    struct crew *c = (struct crew *)calloc(1, sizeof *c);
    assert_non_null(c);
    c->a = fa_create(&cfg);
    assert_non_null(c->a);
    c->frames = env_size("FA_STRESS_SHARED_FRAMES", 100);
    size_t rounds = env_size("FA_STRESS_SHARED_ROUNDS", 6);
    c->end = fa_barrier_create(c->a, CREW + 1);
    assert_non_null(c->end);
    pthread_barrier_init(&c->go, NULL, CREW + 1);
    for (size_t round = 0; round < rounds; round++)
        crew_round(c, round);
    printf("shared frames: %zu rounds x %zu frames x %d workers: %ld jobs, %ld stolen, %ld transfers checked, "
           "%ld bad, %ld errors\n",
           rounds, c->frames, CREW, (long)c->jobs, (long)c->steals, (long)c->checked, (long)c->bad, (long)c->errors);
    assert_int_equal(c->bad, 0);
    assert_int_equal(c->errors, 0);
    assert_int_equal(c->jobs, (long)(rounds * c->frames * CREW * JOBS));
    assert_true(c->checked > 0);
    assert_int_equal(ev.count, 0);
    fa_barrier_destroy(c->end);
    if (!FA_MINIMAL) { /* the workers left: their frames in flight went with them */
        fa_stats *st = stats_of(c->a);
        assert_non_null(st);
        assert_int_equal(st->pool.live_bytes + st->heap.live_bytes, 0);
        free(st);
    }
    pthread_barrier_destroy(&c->go);
    fa_destroy(c->a);
    assert_int_equal(cnt.bytes_out, 0);
    free(c);
}

/* ---- many tag paths ------------------------------------------------------ */

/* Threads push paths from a space larger than the table (so it fills and
 * pushes are refused), allocate on every kind under them, change budgets
 * on random paths, trim, and read every path's figures, while other rounds'
 * threads exit with their caches: the per-path tables past FA_TAG_MAX
 * under the sanitizers. Sized by FA_STRESS_PATH_ROUNDS and
 * FA_STRESS_PATH_FRAMES. */
#define PATH_THREADS 3
#define PATH_TABLE 600 /* cfg.max_tags: 20 groups of 40 names would need 821 */

struct path_worker {
    fa_alloc *a;
    unsigned  seed;
    size_t    frames;
    long      unexpected; /* results no rule allows */
    long      refused;    /* full table or budget: allowed */
};

static unsigned next_random(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static int sink_json(void *user, const char *text, size_t length) {
    (void)user, (void)text, (void)length;
    return 0;
}

/* A refusal the rules allow: the table is full, or a budget says no. */
static void allowed_or_not(struct path_worker *w, fa_error e) {
    if (e == FA_OK)
        return;
    if (e == FA_ERR_NOMEM || e == FA_ERR_BUDGET)
        w->refused++;
    else
        w->unexpected++;
}

/* Something that reads or changes every path, now and then. */
static void path_chore(struct path_worker *w, char *name, size_t room) {
    unsigned r = next_random(&w->seed) % 24;
    if (FA_MINIMAL && r <= 1)
        return; /* no budgets in a minimal build */
    if (r == 0) {
        snprintf(name, room, "g%u/x%u", next_random(&w->seed) % 20, next_random(&w->seed) % 40);
        allowed_or_not(w, fa_budget_set(w->a, name, 0, 1 + next_random(&w->seed) % 50000));
    } else if (r == 1) {
        snprintf(name, room, "g%u", next_random(&w->seed) % 20);
        allowed_or_not(w, fa_budget_set(w->a, name, 0, next_random(&w->seed) % 2 ? 0 : 20000));
    } else if (r == 2) {
        w->unexpected += fa_trim(w->a) != FA_OK;
    } else if (r == 3 && !FA_MINIMAL) {
        fa_tag_stats *all = (fa_tag_stats *)calloc(PATH_TABLE, sizeof *all);
        size_t n = all != NULL ? fa_tag_stats_get(w->a, all, PATH_TABLE) : 0;
        w->unexpected += n == 0 || n > PATH_TABLE || (n > 1 && all[n - 1].parent >= n - 1);
        free(all);
    } else if (r == 4 && !FA_MINIMAL) {
        w->unexpected += fa_write_json_to(w->a, sink_json, NULL) != FA_OK;
    }
}

static void *path_thread(void *arg) {
    struct path_worker *w = (struct path_worker *)arg;
    void *held[32] = {NULL};
    char name[32];
    for (size_t f = 0; f < w->frames; f++) {
        w->unexpected += fa_begin_frame(w->a) != FA_OK;
        for (int k = 0; k < 12; k++) {
            unsigned p = next_random(&w->seed) % 800;
            snprintf(name, sizeof name, "g%u", p % 20);
            fa_error outer = fa_tag_push(w->a, name);
            snprintf(name, sizeof name, "x%u", p / 20);
            fa_error inner = outer == FA_OK ? fa_tag_push(w->a, name) : FA_ERR_STATE;
            allowed_or_not(w, outer);
            allowed_or_not(w, inner == FA_ERR_STATE ? FA_OK : inner);
            if (fa_frame_alloc(w->a, 16 + next_random(&w->seed) % 200) == NULL)
                allowed_or_not(w, fa_last_error());
            void **slot = &held[next_random(&w->seed) % 32];
            if (*slot != NULL) {
                w->unexpected += fa_pool_free(w->a, *slot) != FA_OK;
                *slot = NULL;
            } else if ((*slot = fa_pool_alloc(w->a, 8 + next_random(&w->seed) % 600)) == NULL) {
                allowed_or_not(w, fa_last_error());
            }
            void *h = fa_heap_alloc(w->a, 5000, 16);
            if (h == NULL)
                allowed_or_not(w, fa_last_error());
            w->unexpected += h != NULL && fa_heap_free(w->a, h) != FA_OK;
            w->unexpected += inner == FA_OK && fa_tag_pop(w->a) != FA_OK;
            w->unexpected += outer == FA_OK && fa_tag_pop(w->a) != FA_OK;
        }
        w->unexpected += fa_end_frame(w->a) != FA_OK;
        path_chore(w, name, sizeof name);
    }
    for (int i = 0; i < 32; i++)
        w->unexpected += held[i] != NULL && fa_pool_free(w->a, held[i]) != FA_OK;
    return NULL;
}

static void many_paths_stress(void **state) {
    (void)state;
    struct counting cnt;
    struct events ev;
    fa_config cfg = test_config(&cnt, &ev);
    cfg.max_tags = PATH_TABLE;
    cfg.max_budgets = FA_BUDGET_MAX;
    cfg.slab_reserve = 1; /* emptied slabs go back, and come again at the same addresses */
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    size_t rounds = env_size("FA_STRESS_PATH_ROUNDS", 3), frames = env_size("FA_STRESS_PATH_FRAMES", 40);
    long unexpected = 0, refused = 0;
    for (size_t round = 0; round < rounds; round++) {
        struct path_worker w[PATH_THREADS + 1];
        pthread_t t[PATH_THREADS];
        for (int i = 0; i <= PATH_THREADS; i++)
            w[i] = (struct path_worker){a, (unsigned)(round * 16 + (size_t)i + 1), frames, 0, 0};
        for (int i = 0; i < PATH_THREADS; i++)
            assert_int_equal(pthread_create(&t[i], NULL, path_thread, &w[i]), 0);
        path_thread(&w[PATH_THREADS]); /* the creating thread too: its frames are the history's */
        for (int i = 0; i < PATH_THREADS; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        for (int i = 0; i <= PATH_THREADS; i++) {
            unexpected += w[i].unexpected;
            refused += w[i].refused;
        }
    }
    printf("many paths: %zu rounds x %d threads x %zu frames: %ld refused (full table, budgets), %ld unexpected\n",
           rounds, PATH_THREADS + 1, frames, refused, unexpected);
    assert_int_equal(unexpected, 0);
    if (!FA_MINIMAL) {
        fa_stats *st = stats_of(a);
        assert_non_null(st);
        assert_int_equal(st->pool.live_bytes + st->heap.live_bytes, 0);
        assert_true(st->tag_paths > FA_TAG_MAX && st->tag_paths <= PATH_TABLE);
        assert_int_equal(st->tag_count, FA_TAG_MAX);
        assert_int_equal(fa_tag_stats_get(a, NULL, 0), st->tag_paths);
        free(st);
    }
    fa_destroy(a);
    assert_int_equal(cnt.bytes_out, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stress),
        cmocka_unit_test(shared_frames_stress),
        cmocka_unit_test(many_paths_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
