/* SPDX-License-Identifier: MIT */
/* Attribution: for each allocation of a thread, the tag path it is charged
 * to, the budgets it counts against, and where it is counted. Frame memory
 * is settled lazily, in spans; the budgets' headroom is folded into the
 * fast path's limit (clamp), so the inline path needs no budget check.
 * Floor: attribution (docs/internals.md). It calls nothing above it: no API
 * file. thread.c calls back into it only through the retire hook
 * (fa__attr_retire, under the registry lock).
 * Invariants:
 * - The frame bytes bumped since the last settle (arena used minus
 *   settled_used) belong to the current path: every change to the path,
 *   the chain or the purse comes after a settle.
 * - Spans run forward (level 2 checks it), the first from 0. A rewind or a
 *   frame end gives each span's bytes back to its own path and budgets.
 * - In a frame the fast path's limit lets the bump pass neither the least
 *   headroom over the chain nor the frame budget (its soft limit until it
 *   warned); outside a frame the limit is 0.
 * - A path's pool cache is charged (on th->charged) exactly while a budget is
 *   over the path in the current epoch and the thread has used its pools
 *   since: every block it caches is then charged, like a live one. A
 *   changed budget drops the charged caches before the purse is returned.
 * - Headroom is spent only under the budgets' current epoch: a changed
 *   budget returns all the purse holds first (fa__attr_refresh). */
#include "attribution.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "invariant.h"
#include "observe.h"
#include "platform.h"

static uint64_t least(uint64_t x, uint64_t y) {
    return x < y ? x : y;
}

const char *fa__attr_path(const fa_alloc *a, const struct fa_thread *th) {
    if (th == NULL || th->charge.tag == FA__TAG_ROOT)
        return NULL;
    return fa__tag(&a->ledger->tags, th->charge.tag)->path;
}

static const char *budget_name(const fa_alloc *a, uint32_t slot) {
    if (slot == FA__BUDGET_GLOBAL)
        return "(global)";
    return fa__tag(&a->ledger->tags, a->ledger->budgets.slot[slot].tag)->path;
}

/* The budgets over path `tag` now, into *room. */
static const struct fa_chain *fresh_chain(fa_alloc *a, uint32_t tag, struct fa_chain *room) {
    room->n = 0;
    if (fa__budgets_any(&a->ledger->budgets))
        fa__budget_chain(&a->ledger->budgets, &a->ledger->tags, tag, room);
    return room;
}

/* The budgets over path `tag`: the thread's chain for its current path. */
static const struct fa_chain *chain_of(fa_alloc *a, const struct fa_thread *th, uint32_t tag,
                                       struct fa_chain *room) {
    if (th != NULL && tag == th->charge.tag)
        return &th->charge.chain;
    return fresh_chain(a, tag, room);
}

/* A budget changed since the thread's purse and chain were made. */
static int stale(const fa_alloc *a, const struct fa_thread *th) {
    return th->charge.purse.epoch != atomic_load_explicit(&a->ledger->budgets.epoch, memory_order_acquire);
}

/* ---- charged pool caches ------------------------------------------------- */

/* Pool blocks come from the pools of the current path, whose counters and
 * slabs attribute them (and say which budgets a free gives back to). Under
 * a budget the path's cache is charged: a refill charges the blocks it
 * takes (fa__attr_pool_admit), a flush or drain credits them, and the
 * inline paths serve it like any other, since a block stays charged while
 * it is cached or live. A class's stack holds at most 1/64 of the smallest
 * limit over the path (the usual room where that is less), so that a
 * thread's unused blocks weigh little against a small budget, and a
 * refusal first takes the thread's own back (take). */
#define CHARGED_CACHE_SHARE 64

/* A budget over path `tag` was over its hard limit at the last rebind (a
 * lowered limit) and has granted nothing since: freed bytes are then not
 * headroom, so a charged cache may not keep freed blocks for reuse. */
static int lean_over(fa_alloc *a, const struct fa_thread *th, uint32_t tag) {
    struct fa_chain room;
    const struct fa_chain *chain = chain_of(a, th, tag, &room);
    uint64_t slots = 0;
    for (uint32_t k = 0; k < chain->n; k++)
        slots |= (uint64_t)1 << chain->slot[k];
    return (th->charge.purse.lean & slots) != 0;
}

/* The current path's pools, served inline unless a lean budget is over
 * them (then every call takes the slow path, which admits each refill and
 * gives freed bytes straight back). */
static void pool_mode(fa_alloc *a, struct fa_thread *th) {
    uint32_t path = th->charge.tag;
    int counted = th->charge.chain.n != 0;
    struct fa_pool_cache *ctx = th->ctx[path];
    if (counted && !ctx->charged) {
        uint64_t share = fa__budget_least_limit(&a->ledger->budgets, &th->charge.chain) / CHARGED_CACHE_SHARE;
        fa__pool_drain(ctx); /* blocks freed before the budget: never charged */
        fa__pool_bound(ctx, share < UINT32_MAX ? (uint32_t)share : UINT32_MAX);
        ctx->charged = 1;
        ctx->next_charged = th->charged;
        th->charged = ctx;
    }
    fa__thread_pool_use(th, path, !th->set->pools_slow && (!counted || !lean_over(a, th, path)));
}

/* The charged caches' blocks back to their slabs, their bytes held in the
 * purse under the generations they were charged in, the caches no longer
 * charged: for a purse about to return all (a changed budget, a departing
 * thread). A path's chain is the budgets' current one, which can differ
 * from the one its blocks were charged to only in slots that restarted
 * (their generation voids the bytes) or lost their limit (which counts
 * nothing until it restarts). */
static void drop_charged(fa_alloc *a, struct fa_thread *th) {
    for (struct fa_pool_cache *ctx = th->charged; ctx != NULL; ctx = ctx->next_charged) {
        struct fa_chain room;
        fa__budget_hold(&th->charge.purse, fresh_chain(a, ctx->path, &room), fa__pool_drain(ctx));
        fa__pool_bound(ctx, 0);
        ctx->charged = 0;
    }
    th->charged = NULL;
}

/* The charged caches' blocks back to their slabs and their bytes credited
 * (the caches stay charged, and empty): fa_trim, and a refusal that this
 * thread's own caches may have caused. Under the current epoch. */
static void credit_charged(fa_alloc *a, struct fa_thread *th) {
    for (struct fa_pool_cache *ctx = th->charged; ctx != NULL; ctx = ctx->next_charged) {
        uint64_t bytes = fa__pool_drain(ctx);
        struct fa_chain room;
        if (bytes != 0)
            fa__budget_credit(&a->ledger->budgets, &th->charge.purse, chain_of(a, th, ctx->path, &room), bytes);
    }
}

/* ---- settling and the fast path's limit ---------------------------------- */

/* Counts the frame memory bumped since the last settle and charges it to
 * the current path and its budgets. */
static void settle(fa_alloc *a, struct fa_thread *th) {
    if (!th->in_frame)
        return;
    struct fa_charge *c = &th->charge;
    size_t used = fa__arena_used(&th->arena, th->tls);
    uint64_t allocs = th->tls->allocs;
    fa__assert_internal(used >= c->settled_used && allocs >= c->settled_allocs); /* only a rewind goes back */
    fa__count_alloc(&th->tally.path[c->tag].kind[FA__KIND_FRAME], allocs - c->settled_allocs, used - c->settled_used);
    if (used != c->settled_used && c->chain.n != 0)
        fa__budget_charge(&a->ledger->budgets, &c->purse, &c->chain, used - c->settled_used);
    if (c->sample_left != 0) /* the inline path stops short of the point: 1 left at the least */
        c->sample_left = used - c->settled_used < c->sample_left ? c->sample_left - (used - c->settled_used) : 1;
    c->settled_used = used;
    c->settled_allocs = allocs;
    if (used > c->frame_high)
        c->frame_high = used;
}

/* The fast path's limit in a frame: the chunk's end, or sooner where a
 * budget's headroom (or the frame budget's soft limit, to warn) runs out.
 * Settled. */
static uintptr_t limit_of(struct fa_thread *th) {
    const struct fa_charge *c = &th->charge;
    const struct fa__thread_tls *t = th->tls;
    if (th->set->slow_only) /* a debug level or a tracked library: every frame allocation
                             * takes the slow path */
        return 0;
    uintptr_t end = fa__arena_end_of_bump(&th->arena);
    if ((c->chain.n | c->frame_hard | c->frame_soft | c->sample_left) == 0) /* nothing to fold in */
        return end;
    uint64_t room = fa__budget_headroom(&c->purse, &c->chain);
    if (c->sample_left != 0) /* the next hot-site sample comes to the slow path */
        room = least(room, c->sample_left);
    if (c->frame_hard != 0)
        room = least(room, c->frame_hard - c->settled_used);
    if (c->frame_soft != 0 && !c->frame_warned)
        room = least(room, c->frame_soft > c->settled_used ? c->frame_soft - c->settled_used : 0);
    return end != 0 && room < end - t->cur ? t->cur + room : end;
}

/* Under shared frames another thread may end the frame, zeroing this
 * thread's limit, while the limit is being worked out here. The limit is
 * published with a full barrier and the frame read after it: either that
 * thread's zero lands last, or this one sees the end and zeroes it itself
 * (the end moves the frame before it zeroes limits). */
static void publish_shared(const fa_alloc *a, struct fa_thread *th) {
    struct fa__thread_tls *t = th->tls;
    FA__STORE(&t->limit, fa__limit(t), SEQ_CST);
    if (atomic_load_explicit(&a->clock, memory_order_seq_cst) != (th->frames << 1 | 1))
        fa__limit_set(t, 0);
}

/* Sets the fast path's limit in a frame. Outside a frame it stays 0,
 * failing every frame allocation. */
static void clamp(struct fa_thread *th) {
    if (!th->in_frame)
        return;
    fa__limit_set(th->tls, limit_of(th));
    fa__assert_internal(fa__limit(th->tls) == 0 || fa__limit(th->tls) >= th->tls->cur);
    const fa_alloc *a = fa__alloc_of(th);
    if (fa__shared(a))
        publish_shared(a, th);
}

/* The budgets over the current path, under the budgets' current epoch. */
static void rechain(fa_alloc *a, struct fa_thread *th) {
    struct fa_charge *c = &th->charge;
    if (th->charged != NULL && stale(a, th))
        drop_charged(a, th);
    fa__budget_rebind(&a->ledger->budgets, &a->ledger->tags, c->tag, &c->purse, &c->chain);
    pool_mode(a, th);
}

/* A changed budget revokes the headroom the thread holds: a lowered limit
 * binds its next allocation, not the one after its next batch. */
void fa__attr_refresh(fa_alloc *a, struct fa_thread *th) {
    if (!stale(a, th))
        return;
    settle(a, th);
    rechain(a, th);
    clamp(th);
}

/* ---- tags: spans and switches -------------------------------------------- */

static int grow_spans(struct fa_charge *c) {
    void *spans = c->spans;
    int ok = fa__grow(&spans, &c->span_room, sizeof *c->spans);
    c->spans = (struct fa_span *)spans;
    return ok;
}

/* Frame memory from `used` on is charged to `tag`. An empty last span is
 * retagged rather than followed. A push made room for its span and for its
 * pop's (fa__attr_prepare); should the room still run out, the last span
 * goes on. */
static void push_span(struct fa_charge *c, uint32_t tag, size_t used, uint64_t allocs) {
    struct fa_span *last = &c->spans[c->span_count - 1];
    fa__assert_internal(used >= last->used && allocs >= last->allocs); /* spans follow the frame forward */
    if (last->used == used) {
        last->tag = tag;
        if (c->span_count > 1 && last[-1].tag == tag)
            c->span_count--;
        return;
    }
    if (last->tag == tag || (c->span_count == c->span_room && !grow_spans(c)))
        return;
    c->spans[c->span_count++] = (struct fa_span){tag, used, allocs};
}

fa_error fa__attr_prepare(struct fa_thread *th, uint32_t tag) {
    struct fa_charge *c = &th->charge;
    if (!fa__thread_pool_make(th, tag))
        return FA_ERR_NOMEM;
    if (th->in_frame && c->span_count + 2 > c->span_room && !grow_spans(c))
        return FA_ERR_NOMEM;
    return FA_OK;
}

void fa__attr_switch(fa_alloc *a, struct fa_thread *th, uint32_t tag) {
    struct fa_charge *c = &th->charge;
    settle(a, th);
    c->tag = tag;
    rechain(a, th);
    if (th->in_frame) {
        push_span(c, tag, c->settled_used, c->settled_allocs);
        clamp(th);
    }
}

/* ---- budget headroom for the frame slow path ----------------------------- */

static void report_crossings(fa_alloc *a, struct fa_thread *th, uint64_t crossed, size_t size,
                             const char *fn) {
    for (; crossed != 0; crossed &= crossed - 1) {
        uint32_t i = (uint32_t)fa__ctz64(crossed);
        fa__report_at(&a->sink, fa__attr_path(a, th), FA_OK, size,
                      "%s: budget %s crossed its soft limit of %llu bytes", fn, budget_name(a, i),
                      (unsigned long long)atomic_load(&a->ledger->budgets.slot[i].soft));
    }
}

/* Headroom for `need` more bytes in every budget over the current path;
 * on FA_ERR_BUDGET, *refused is the slot that refused (not yet counted). */
static fa_error try_take(fa_alloc *a, struct fa_thread *th, size_t need, size_t size, const char *fn,
                         uint32_t *refused) {
    struct fa_charge *c = &th->charge;
    if (c->chain.n == 0)
        return FA_OK;
    uint64_t crossed;
    fa_error e = fa__budget_take(&a->ledger->budgets, &c->purse, &c->chain, need, &crossed, refused);
    report_crossings(a, th, crossed, size, fn);
    return e;
}

static fa_error refuse(fa_alloc *a, struct fa_thread *th, uint32_t refused, size_t need, size_t size,
                       const char *fn) {
    fa__budget_refused(&a->ledger->budgets, refused);
    return fa__report_at(&a->sink, fa__attr_path(a, th), FA_ERR_BUDGET, size,
                         "%s: budget %s would pass its hard limit of %llu bytes (%zu more asked)", fn,
                         budget_name(a, refused),
                         (unsigned long long)atomic_load(&a->ledger->budgets.slot[refused].hard), need);
}

/* try_take, and again after this thread's charged caches gave their bytes
 * back: its own cached blocks must not be what refuses it. */
static fa_error take(fa_alloc *a, struct fa_thread *th, size_t need, size_t size, const char *fn) {
    uint32_t refused;
    fa_error e = try_take(a, th, need, size, fn, &refused);
    if (e != FA_OK && th->charged != NULL) {
        credit_charged(a, th);
        e = try_take(a, th, need, size, fn, &refused);
    }
    return e == FA_OK ? FA_OK : refuse(a, th, refused, need, size, fn);
}

fa_error fa__attr_frame_take(fa_alloc *a, struct fa_thread *th, size_t need, size_t size, const char *fn) {
    struct fa_charge *c = &th->charge;
    struct fa_budgets *b = &a->ledger->budgets;
    fa__attr_refresh(a, th);
    settle(a, th);
    if (c->frame_hard != 0 && need > c->frame_hard - c->settled_used) {
        atomic_fetch_add_explicit(&b->frame_refusals, 1, memory_order_relaxed);
        return fa__report_at(&a->sink, fa__attr_path(a, th), FA_ERR_BUDGET, size,
                             "%s: the frame budget's hard limit of %llu bytes would be passed "
                             "(%zu used, %zu more asked)",
                             fn, (unsigned long long)c->frame_hard, c->settled_used, need);
    }
    fa_error e = take(a, th, need, size, fn);
    if (e == FA_OK && c->frame_soft != 0 && !c->frame_warned && c->settled_used + need > c->frame_soft) {
        c->frame_warned = 1;
        atomic_fetch_add_explicit(&b->frame_crossings, 1, memory_order_relaxed);
        fa__report_at(&a->sink, fa__attr_path(a, th), FA_OK, size,
                      "%s: the frame budget crossed its soft limit of %llu bytes", fn,
                      (unsigned long long)c->frame_soft);
    }
    return e;
}

void fa__attr_frame_settle(fa_alloc *a, struct fa_thread *th) {
    settle(a, th);
    clamp(th);
}

/* ---- frames: begin, rewind, end ------------------------------------------ */

/* A thread's first frame: room for its spans, and whether the history
 * records it. Out of the way of every later frame. */
static FA__SLOW fa_error first_frame(fa_alloc *a, struct fa_thread *th) {
    if (!grow_spans(&th->charge))
        return FA_ERR_NOMEM;
    for (uint32_t i = 0; i + 1 < a->cfg.frames_in_flight; i++) { /* each kept frame trades arrays */
        struct fa_held *h = &th->held[i];
        void *spans = h->spans;
        if (h->span_room == 0 && !fa__grow(&spans, &h->span_room, sizeof *h->spans))
            return FA_ERR_NOMEM;
        h->spans = (struct fa_span *)spans;
    }
    fa__observe_first(a, th);
    return FA_OK;
}

/* What watches the frame beginning: the history's start of the record, a
 * hook's or the trace's clock. Non-zero when the sampler's next point must
 * be folded into the limit. */
static inline int begin_observed(fa_alloc *a, struct fa_thread *th, uint32_t observes) {
    struct fa_charge *c = &th->charge;
    if (observes & FA__OBSERVE_HISTORY) {
        if (c->since_ns == 0) /* one clock read per frame: a frame lasts from the last one's end */
            c->since_ns = fa__now_ns();
        c->began_calls = atomic_load_explicit(&a->meter.calls, memory_order_relaxed);
    }
    if (observes & FA__OBSERVE_FRAMES)
        fa__observe_frames_begin(th);
    return (observes & FA__OBSERVE_SAMPLES) != 0;
}

fa_error fa__attr_begin(fa_alloc *a, struct fa_thread *th) {
    struct fa_charge *c = &th->charge;
    struct fa_budgets *b = &a->ledger->budgets;
    if (c->span_room == 0 && first_frame(a, th) != FA_OK)
        return FA_ERR_NOMEM;
    if (stale(a, th)) /* the usual frame skips the call */
        fa__attr_refresh(a, th);
    c->spans[0] = (struct fa_span){c->tag, 0, 0};
    c->span_count = 1;
    c->settled_used = 0;
    c->settled_allocs = 0;
    c->frame_high = 0;
    c->frame_soft = atomic_load_explicit(&b->frame_soft, memory_order_relaxed);
    c->frame_hard = atomic_load_explicit(&b->frame_hard, memory_order_relaxed);
    c->frame_warned = 0;
    int fold = (c->chain.n | c->frame_hard | c->frame_soft) != 0 || FA__TRACKED;
    uint32_t observes = atomic_load_explicit(&c->observes, memory_order_relaxed);
    if (observes != 0)
        fold |= begin_observed(a, th, observes);
    th->in_frame = FA__IN_FRAME;
    fa__arena_begin(&th->arena, th->tls); /* the limit: the chunk's end */
    if (fold)
        clamp(th); /* or sooner, where a budget's headroom or a sample point comes (a debug
                    * level's arena starts with no chunk: its limit is 0; a tracked
                    * library's is 0 too) */
    return FA_OK;
}


/* One frame's charges: its spans (oldest first), and the bytes and
 * allocations they reach to. */
struct charges {
    const struct fa_span *spans;
    size_t                count;
    size_t                used;
    uint64_t              allocs;
};

static struct charges charges_of(const struct fa_charge *c) {
    return (struct charges){c->spans, c->span_count, c->settled_used, c->settled_allocs};
}

/* Walks the frame memory from (used, allocs) on, newest span first: adds
 * each span's bytes to per_tag when given, and with `release` gives them
 * back to the span's path (counts and budgets). Returns the index of the
 * span it falls in. */
static uint32_t walk_spans(fa_alloc *a, struct fa_thread *th, struct charges ch, size_t used, uint64_t allocs,
                           uint64_t *per_tag, int release) {
    size_t hi = ch.used;
    uint64_t ahi = ch.allocs;
    uint32_t i = (uint32_t)ch.count;
    while (i-- > 0) {
        const struct fa_span *s = &ch.spans[i];
        size_t lo = s->used > used ? s->used : used;
        uint64_t alo = s->allocs > allocs ? s->allocs : allocs;
        if (hi > lo && release) {
            struct fa_chain room;
            const struct fa_chain *chain = chain_of(a, th, s->tag, &room);
            fa__count_free(&th->tally.path[s->tag].kind[FA__KIND_FRAME], ahi - alo, hi - lo);
            if (chain->n != 0)
                fa__budget_credit(&a->ledger->budgets, &th->charge.purse, chain, hi - lo);
        }
        if (hi > lo && per_tag != NULL)
            per_tag[s->tag] += hi - lo;
        if (s->used <= used)
            break;
        hi = s->used;
        ahi = s->allocs;
    }
    return i;
}

/* Releases the current frame's memory from (used, allocs) on. */
static uint32_t release_spans(fa_alloc *a, struct fa_thread *th, size_t used, uint64_t allocs,
                              uint64_t *per_tag) {
    return walk_spans(a, th, charges_of(&th->charge), used, allocs, per_tag, 1);
}

void fa__attr_rewind(fa_alloc *a, struct fa_thread *th, size_t used, uint64_t allocs) {
    struct fa_charge *c = &th->charge;
    settle(a, th);
    c->span_count = release_spans(a, th, used, allocs, NULL) + 1;
    th->tls->allocs = allocs; /* the frame's allocations are the live ones */
    c->settled_used = used;
    c->settled_allocs = allocs;
    push_span(c, c->tag, used, allocs);
}

/* The history's record of the creating thread's frame, written in place:
 * only the tag paths that exist have bytes to copy. The bandwidth of the
 * frame is what was recorded since the last record. */
static void record(fa_alloc *a, struct fa_thread *th) {
    struct fa_charge *c = &th->charge;
    struct fa_ledger *l = a->ledger;
    uint64_t ended = fa__now_ns();
    uint64_t read = atomic_load_explicit(&l->read_bytes, memory_order_relaxed);
    uint64_t written = atomic_load_explicit(&l->written_bytes, memory_order_relaxed);
    size_t chunks, reserved;
    fa__arena_holdings(&th->arena, &chunks, &reserved);
    fa_frame_record *r = fa__history_open(&l->history);
    FA__RECORD_SET(r, frame, th->frames);
    FA__RECORD_SET(r, duration_ns, ended - c->since_ns);
    FA__RECORD_SET(r, allocations, c->settled_allocs);
    FA__RECORD_SET(r, bytes, c->settled_used);
    FA__RECORD_SET(r, peak_bytes, c->frame_high);
    FA__RECORD_SET(r, chunks, chunks);
    FA__RECORD_SET(r, reserved_bytes, reserved);
    FA__RECORD_SET(r, backend_calls, atomic_load_explicit(&a->meter.calls, memory_order_relaxed) - c->began_calls);
    FA__RECORD_SET(r, read_bytes, read - c->recorded_read);
    FA__RECORD_SET(r, write_bytes, written - c->recorded_written);
    fa__history_close(&l->history, c->frame_tag_bytes, fa__tag_count(&l->tags));
    c->since_ns = ended;
    c->recorded_read = read;
    c->recorded_written = written;
}

/* What watches the frame just ended: the history, the hook, the trace. */
static void observe_end(fa_alloc *a, struct fa_thread *th, uint32_t observes) {
    if (observes & FA__OBSERVE_HISTORY)
        record(a, th);
    if (observes & FA__OBSERVE_FRAMES)
        fa__observe_frames_end(a, th);
}

/* The frame's figures: each path's share, the peaks, the history record;
 * then the thread's pool counts, so that snapshots see them. With
 * `release` its bytes go back too (else they stay charged: in flight). */
static void account_frame(fa_alloc *a, struct fa_thread *th, int release) {
    struct fa_charge *c = &th->charge;
    walk_spans(a, th, charges_of(c), 0, 0, c->frame_tag_bytes, release);
    for (uint32_t i = 0; i < c->span_count; i++) {
        uint32_t tag = c->spans[i].tag;
        fa__raise(&th->tally.path[tag].kind[FA__KIND_FRAME].peak, c->frame_tag_bytes[tag]);
    }
    fa__raise(&th->tally.frame_peak, c->frame_high);
    fa__bump(&th->tally.frames, 1);
    uint32_t observes = atomic_load_explicit(&c->observes, memory_order_relaxed);
    if (observes != 0)
        observe_end(a, th, observes);
    for (uint32_t i = 0; i < c->span_count; i++)
        c->frame_tag_bytes[c->spans[i].tag] = 0;
    fa__thread_publish(th);
}

void fa__attr_retire(struct fa_thread *th) {
    fa_alloc *a = fa__alloc_of(th);
    if (th->in_frame && fa__debug_on(a)) { /* reported at the next fa_check or fa_destroy: a lock is held */
        atomic_fetch_add_explicit(&a->left_open, 1, memory_order_relaxed);
        for (size_t i = 0; i < th->guarded.count; i++) /* reset, as a frame end would: the chunks go on */
            fa__guard_reset(&th->guarded.rec[i]);
    }
    fa__guard_set_fini(&th->guarded);
    fa__passed_orphan(a, &th->passed); /* no backend call under the registry lock */
    atomic_fetch_and(&th->charge.observes, ~FA__OBSERVE_FRAMES); /* no hook, no trace under the lock */
    if (th->in_frame)
        fa__attr_end(a, th);
    th->in_frame = 0;
    for (uint32_t i = 0; i < FA_FRAMES_IN_FLIGHT_MAX - 1; i++) { /* frames in flight: released */
        struct fa_held *h = &th->held[i];
        if (i < th->held_count)
            fa__attr_release_held(a, th, h);
        for (size_t k = 0; k < h->guarded.count; k++)
            fa__guard_reset(&h->guarded.rec[k]);
        fa__guard_set_fini(&h->guarded);
        fa__passed_orphan(a, &h->passed);
    }
    drop_charged(a, th);
    if (fa__stats_on(a)) /* its frames counted: fa_thread_metrics_get keeps them */
        fa__observe_departed(a, th);
}

/* A frame is plain when it ran under one path, with no budget over it and
 * none changed since it began: its end needs no spans and no budgets. */
static int plain(const fa_alloc *a, const struct fa_thread *th) {
    const struct fa_charge *c = &th->charge;
    return c->span_count == 1 && (c->chain.n | c->purse.holding) == 0 && !stale(a, th);
}

/* What settle and account_frame do at a plain frame's end, for its one
 * span, without the span loops (worth about 30 instructions a frame): the
 * bytes bumped since the last settle counted, all the frame's given back,
 * the peaks raised, the record written. */
static void account_plain(fa_alloc *a, struct fa_thread *th) {
    struct fa_charge *c = &th->charge;
    size_t used = fa__arena_used(&th->arena, th->tls);
    uint64_t allocs = th->tls->allocs;
    struct fa_counts *k = &th->tally.path[c->tag].kind[FA__KIND_FRAME];
    fa__assert_internal(c->spans[0].tag == c->tag && used >= c->settled_used);
    fa__count_alloc(k, allocs - c->settled_allocs, used - c->settled_used);
    fa__count_free(k, allocs, used);
    c->settled_used = used;
    c->settled_allocs = allocs;
    if (used > c->frame_high)
        c->frame_high = used;
    fa__raise(&k->peak, used);
    fa__raise(&th->tally.frame_peak, c->frame_high);
    fa__bump(&th->tally.frames, 1);
    uint32_t observes = atomic_load_explicit(&c->observes, memory_order_relaxed);
    if (observes != 0) {
        c->frame_tag_bytes[c->tag] = used;
        observe_end(a, th, observes);
        c->frame_tag_bytes[c->tag] = 0;
    }
    fa__thread_publish(th);
}

void fa__attr_end(fa_alloc *a, struct fa_thread *th) {
    struct fa_charge *c = &th->charge;
    if (plain(a, th)) {
        if (fa__stats_on(a))
            account_plain(a, th);
        return;
    }
    fa__attr_refresh(a, th); /* a budget set since gets the frame's bytes back too */
    settle(a, th);
    if (fa__stats_on(a))
        account_frame(a, th, 1);
    else if (fa__budgets_any(&a->ledger->budgets))
        release_spans(a, th, 0, 0, NULL); /* the budgets' bytes back */
    if (c->purse.holding != 0)
        fa__budget_return_all(&a->ledger->budgets, &c->purse);
}

/* The frame's spans go to h, which gives the thread its own array. */
static void hand_spans(struct fa_charge *c, struct fa_held *h) {
    struct fa_span *spans = h->spans;
    size_t room = h->span_room;
    h->spans = c->spans;
    h->span_room = c->span_room;
    h->span_count = c->span_count;
    h->used = c->settled_used;
    h->allocs = c->settled_allocs;
    c->spans = spans;
    c->span_room = room;
    c->span_count = 0;
}

void fa__attr_end_held(fa_alloc *a, struct fa_thread *th, struct fa_held *h) {
    struct fa_charge *c = &th->charge;
    fa__attr_refresh(a, th);
    settle(a, th);
    if (fa__stats_on(a))
        account_frame(a, th, 0);
    hand_spans(c, h);
    if (c->purse.holding != 0)
        fa__budget_return_all(&a->ledger->budgets, &c->purse);
}

void fa__attr_release_held(fa_alloc *a, struct fa_thread *th, struct fa_held *h) {
    struct fa_charge *c = &th->charge;
    if (stale(a, th))
        fa__attr_refresh(a, th);
    if (fa__stats_on(a) || fa__budgets_any(&a->ledger->budgets))
        walk_spans(a, th, (struct charges){h->spans, h->span_count, h->used, h->allocs}, 0, 0, NULL, 1);
    h->span_count = 0;
    if (!th->in_frame && c->purse.holding != 0)
        fa__budget_return_all(&a->ledger->budgets, &c->purse);
}

/* ---- scratch arenas ------------------------------------------------------- */

fa_error fa__attr_scratch_take(fa_alloc *a, struct fa_thread *th, uint32_t tag, size_t bytes, size_t size,
                               const char *fn) {
    struct fa_chain room;
    const struct fa_chain *chain = fresh_chain(a, tag, &room);
    if (chain->n == 0)
        return FA_OK;
    struct fa_purse purse = {0}; /* the chunk's headroom only: charged at once, nothing held */
    uint64_t crossed;
    uint32_t refused;
    fa_error e = fa__budget_take(&a->ledger->budgets, &purse, chain, bytes, &crossed, &refused);
    report_crossings(a, th, crossed, size, fn);
    if (e == FA_OK)
        fa__budget_charge(&a->ledger->budgets, &purse, chain, bytes);
    fa__budget_return_all(&a->ledger->budgets, &purse); /* a refused take may hold headroom in the slots it passed */
    return e == FA_OK ? FA_OK : refuse(a, th, refused, bytes, size, fn);
}

void fa__attr_scratch_give(fa_alloc *a, uint32_t tag, size_t bytes) {
    struct fa_chain room;
    const struct fa_chain *chain = fresh_chain(a, tag, &room);
    if (chain->n != 0)
        fa__budget_release(&a->ledger->budgets, chain, bytes);
}

/* Long-lived bytes (a heap block, a scratch chunk, a remote pool free)
 * into the allocator's live figures, as they are counted. */
static void live_add(fa_alloc *a, int kind, int64_t delta) {
    if (fa__stats_on(a))
        fa__live_add(&a->ledger->live, kind, delta);
}

void fa__attr_scratch_count(struct fa_thread *th, uint32_t tag, uint64_t allocs, size_t bytes, int freed) {
    struct fa_counts *k = &th->tally.path[tag].kind[FA__KIND_SCRATCH];
    if (freed)
        fa__count_free(k, allocs, bytes);
    else
        fa__count_alloc(k, allocs, bytes);
    live_add(fa__alloc_of(th), FA__KIND_SCRATCH, freed ? -(int64_t)bytes : (int64_t)bytes);
}

/* ---- pool and heap blocks ------------------------------------------------ */

/* Frame memory bumped since the last settle shares the headroom: it is
 * charged first, so that the check sees what is really left. */
fa_error fa__attr_block_admit(fa_alloc *a, struct fa_thread *th, size_t bytes, size_t size, const char *fn) {
    settle(a, th);
    return take(a, th, bytes, size, fn);
}

uint32_t fa__attr_pool_admit(fa_alloc *a, struct fa_thread *th, size_t block, size_t size, const char *fn) {
    struct fa_charge *c = &th->charge;
    if (fa__attr_block_admit(a, th, block, size, fn) != FA_OK)
        return 0;
    pool_mode(a, th); /* a grant ends a lean spell */
    uint64_t blocks = fa__budget_headroom(&c->purse, &c->chain) / block;
    return blocks < UINT32_MAX ? (uint32_t)blocks : UINT32_MAX;
}

void fa__attr_pool_trim(fa_alloc *a, struct fa_thread *th) {
    fa__attr_refresh(a, th);
    settle(a, th);
    credit_charged(a, th);
    fa__budget_return_all(&a->ledger->budgets, &th->charge.purse); /* and the headroom held */
    clamp(th);
}

int fa__attr_cache_charged(const struct fa_thread *th) {
    return th->ctx[th->pool_path]->charged;
}

void fa__attr_cached(fa_alloc *a, struct fa_thread *th, uint32_t path, size_t block, uint32_t flushed) {
    if (!th->ctx[path]->charged) { /* the block's bytes go back now; the flushed ones were not charged */
        fa__attr_refund(a, th, path, block);
        return;
    }
    uint64_t out = (uint64_t)flushed * block;
    if (lean_over(a, th, path)) /* nothing kept for reuse past a lowered limit */
        out += fa__pool_drain(th->ctx[path]);
    if (out != 0)
        fa__attr_refund(a, th, path, out);
}
void fa__attr_budget(fa_alloc *a, struct fa_thread *th, size_t bytes) {
    struct fa_charge *c = &th->charge;
    if (c->chain.n == 0)
        return;
    fa__budget_charge(&a->ledger->budgets, &c->purse, &c->chain, bytes);
    if (th->in_frame)
        clamp(th); /* the frame may no longer bump into what the block took */
}

void fa__attr_block_taken(fa_alloc *a, struct fa_thread *th, int kind, size_t bytes) {
    fa__attr_budget(a, th, bytes);
    fa__count_alloc(&th->tally.path[th->charge.tag].kind[kind], 1, bytes);
    live_add(a, kind, (int64_t)bytes);
}

/* A credit can trim the headroom the frame's limit was set from: the
 * frame settles before it and takes its limit again after. */
void fa__attr_refund(fa_alloc *a, struct fa_thread *th, uint32_t tag, size_t bytes) {
    if (th != NULL)
        fa__attr_refresh(a, th); /* a budget set since counts this block */
    struct fa_chain room;
    const struct fa_chain *chain = chain_of(a, th, tag, &room);
    if (chain->n == 0)
        return;
    if (th == NULL) {
        fa__budget_release(&a->ledger->budgets, chain, bytes);
        return;
    }
    settle(a, th);
    fa__budget_credit(&a->ledger->budgets, &th->charge.purse, chain, bytes);
    clamp(th);
}

void fa__attr_block_freed(fa_alloc *a, struct fa_thread *th, int kind, uint32_t tag, size_t bytes) {
    fa__attr_refund(a, th, tag, bytes);
    struct fa_tally *t = th != NULL ? &th->tally : &a->ledger->retired;
    if (th != NULL)
        fa__count_free(&t->path[tag].kind[kind], 1, bytes);
    else
        fa__count_free_shared(&t->path[tag].kind[kind], 1, bytes);
    if (kind == FA__KIND_POOL) /* a block freed outside its owner's cache: a remote free */
        fa__count_remote(t, fa__pool_class(bytes), th == NULL);
    live_add(a, kind, -(int64_t)bytes);
}
