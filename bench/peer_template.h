/* SPDX-License-Identifier: MIT */
/* The workload loops, instantiated once per peer so that every peer's
 * allocation call is as direct (and as inlinable) as the peer allows: no
 * function pointer in any timed loop. Expects PEER (an identifier), PEER_NAME,
 * and the peer's PEER_is_arena, PEER_create, _destroy, _begin, _alloc,
 * _free, _end, _consumed and _usable (see bench.c). */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define P(fn) CAT(PEER, fn)

/* One frame of a workload: allocate every group (touching each block, as a
 * program would), then release: a frame reset for arenas, a free of every
 * block for the others. */
static void P(_one_frame)(void *st, const struct workload *w, void **kept, struct tally *t) {
    size_t n = 0;
    P(_begin)(st);
    for (uint32_t i = 0; i < w->allocs; i++) {
        const struct request *r = &w->requests[i];
        char *p = (char *)P(_alloc)(st, r->size);
        p[0] = (char)i;
        if (t != NULL) {
            t->requested += r->size;
            t->usable += P(_usable)(p, r->size);
        }
        kept[n++] = p;
    }
    if (t != NULL)
        t->consumed += P(_consumed)(st);
    if (!P(_is_arena))
        for (size_t i = 0; i < n; i++)
            P(_free)(st, kept[i], w->requests[i].size);
    P(_end)(st);
}

static void P(_frames)(const struct workload *w, long frames, struct result *out) {
    void *st = P(_create)();
    void **kept = (void **)malloc(w->allocs * sizeof *kept);
    for (int i = 0; i < 3; i++) /* warm: chunks, caches, pages */
        P(_one_frame)(st, w, kept, NULL);
    struct tally t = {0, 0, 0};
    P(_one_frame)(st, w, kept, &t); /* waste, measured on one frame */
    double start = now_ns();
    for (long f = 0; f < frames; f++)
        P(_one_frame)(st, w, kept, NULL);
    out->ns_per_op = (now_ns() - start) / ((double)frames * w->allocs);
    out->waste = waste_of(&t);
    free(kept);
    P(_destroy)(st);
}

/* begin + end of a frame with nothing in it. */
static void P(_empty)(const struct workload *w, long frames, struct result *out) {
    (void)w;
    void *st = P(_create)();
    P(_begin)(st);
    P(_end)(st);
    double start = now_ns();
    for (long f = 0; f < frames; f++) {
        P(_begin)(st);
        P(_end)(st);
    }
    out->ns_per_op = (now_ns() - start) / (double)frames;
    out->waste = -1;
    P(_destroy)(st);
}

/* 10,000 live objects of 16..1024 B; each op frees a random one and
 * allocates a new one in its place. General-purpose peers only. */
static void P(_churn)(const struct workload *w, long ops, struct result *out) {
    (void)w;
    void *st = P(_create)();
    static void *live[CHURN_LIVE];
    static size_t sizes[CHURN_LIVE];
    uint64_t rng = 42;
    for (int i = 0; i < CHURN_LIVE; i++) {
        sizes[i] = 16 + (size_t)(next_random(&rng) % 1009);
        live[i] = P(_alloc)(st, sizes[i]);
    }
    double start = now_ns();
    for (long i = 0; i < ops; i++) {
        uint64_t r = next_random(&rng);
        size_t v = (size_t)(r % CHURN_LIVE);
        P(_free)(st, live[v], sizes[v]);
        sizes[v] = 16 + (size_t)((r >> 32) % 1009);
        live[v] = P(_alloc)(st, sizes[v]);
        *(volatile char *)live[v] = 1;
    }
    out->ns_per_op = (now_ns() - start) / (2.0 * (double)ops);
    out->waste = -1;
    for (int i = 0; i < CHURN_LIVE; i++)
        P(_free)(st, live[i], sizes[i]);
    P(_destroy)(st);
}

/* Persistent workers, each running its own frames of the workload between
 * one start and one stop barrier: nothing per frame but the frames. */
struct P(_worker) {
    const struct workload *w;
    long                   frames;
    pthread_barrier_t     *start;
    double                 began, ended; /* the worker's own clock: with as many workers as
                                          * cores, the main thread may not run meanwhile */
};

static void *P(_work)(void *arg) {
    struct P(_worker) *wk = (struct P(_worker) *)arg;
    void *st = P(_create)();
    void **kept = (void **)malloc(wk->w->allocs * sizeof *kept);
    P(_one_frame)(st, wk->w, kept, NULL);
    pthread_barrier_wait(wk->start);
    wk->began = now_ns();
    for (long f = 0; f < wk->frames; f++)
        P(_one_frame)(st, wk->w, kept, NULL);
    wk->ended = now_ns();
    free(kept);
    P(_destroy)(st);
    return NULL;
}

/* ns per allocation of the whole machine's throughput with `threads`
 * workers: from the first worker's start to the last one's end. */
static double P(_threads)(const struct workload *w, long frames, int threads) {
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    struct P(_worker) wk[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        wk[i] = (struct P(_worker)){w, frames, &start, 0, 0};
        pthread_create(&tid[i], NULL, P(_work), &wk[i]);
    }
    double first = 0, last = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        first = i == 0 || wk[i].began < first ? wk[i].began : first;
        last = wk[i].ended > last ? wk[i].ended : last;
    }
    pthread_barrier_destroy(&start);
    return (last - first) / ((double)frames * w->allocs * threads);
}

static const struct peer P(_peer) = {PEER_NAME, P(_is_arena), P(_frames), P(_empty), P(_churn), P(_threads)};

#undef P
#undef PEER
#undef PEER_NAME
