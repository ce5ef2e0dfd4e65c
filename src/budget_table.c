/* SPDX-License-Identifier: MIT */
/* The budget table (budget_table.h): slots, batched headroom, purses.
 * Floor: structures (docs/internals.md). It stands on tag_table.c (a path's
 * parent and budget slot) and calls nothing above it: no thread, instance,
 * attribution or API file.
 * Invariants:
 * - A slot's `reserved` is generation << 56 | bytes: the bytes consumed plus
 *   the headroom threads hold. A reservation's compare-and-swap never takes
 *   the bytes past the hard limit it saw (level 2 checks it), and a give
 *   back never takes them below zero.
 * - Headroom goes back only to the generation it was taken under: what a
 *   thread held before a slot restarted is dropped, never returned.
 * - A purse's held[i] is non-zero only where bit i of `holding` is set, and
 *   gen[i] is the generation held[i] was taken under.
 * - Slots are only added, under the lock, and a path keeps its slot. The
 *   epoch changes with every limit set, so threads rebuild their chains. */
#include "budget_table.h"

#include <string.h>

#include "invariant.h"
#include "platform.h"

static int limited(const struct fa_budget *s) {
    return (atomic_load_explicit(&s->soft, memory_order_relaxed) |
            atomic_load_explicit(&s->hard, memory_order_relaxed)) != 0;
}

int fa__budgets_any(const struct fa_budgets *b) {
    return atomic_load_explicit(&b->slots, memory_order_relaxed) > 1 || limited(&b->slot[FA__BUDGET_GLOBAL]);
}

void fa__budgets_init(struct fa_budgets *b, const fa_config *cfg) {
    memset(b, 0, sizeof *b);
    fa__mutex_init(&b->lock);
    atomic_init(&b->slots, 1);
    b->most = cfg->max_budgets + 1;
    atomic_init(&b->frame_soft, cfg->frame_budget_soft);
    atomic_init(&b->frame_hard, cfg->frame_budget_hard);
}

void fa__budgets_fini(struct fa_budgets *b) {
    fa__mutex_destroy(&b->lock);
}

int fa__budget_set(struct fa_budgets *b, struct fa_tags *tags, uint32_t tag, uint64_t soft,
                   uint64_t hard, uint64_t live) {
    fa__mutex_lock(&b->lock);
    uint32_t i = tag == FA__TAG_ROOT ? FA__BUDGET_GLOBAL : atomic_load(&tags->tag[tag].budget);
    uint32_t n = atomic_load_explicit(&b->slots, memory_order_relaxed);
    int is_new = tag != FA__TAG_ROOT && i == 0;
    /* A budget that had no limit counted nothing: it starts from `live`. */
    int fresh = is_new || !limited(&b->slot[i]);
    if (is_new) {
        if (n == b->most) {
            fa__mutex_unlock(&b->lock);
            return -1;
        }
        i = n;
        b->slot[i].tag = tag;
        atomic_store(&b->slots, n + 1);
        atomic_store(&tags->tag[tag].budget, i);
    }
    struct fa_budget *s = &b->slot[i];
    if (fresh) { /* a new generation: headroom threads hold from before is void */
        uint64_t gen = (atomic_load(&s->reserved) >> FA__BUDGET_GEN_SHIFT) + 1;
        atomic_store(&s->reserved, gen << FA__BUDGET_GEN_SHIFT | (live & FA__BUDGET_BYTES));
    }
    atomic_store(&s->soft, soft);
    atomic_store(&s->hard, hard);
    atomic_fetch_add(&b->epoch, 1);
    fa__mutex_unlock(&b->lock);
    return (int)i;
}

void fa__budget_chain(const struct fa_budgets *b, const struct fa_tags *tags, uint32_t tag,
                      struct fa_chain *out) {
    out->n = 0;
    for (uint32_t t = tag; t != FA__TAG_ROOT; t = tags->tag[t].parent) {
        uint32_t i = atomic_load_explicit(&tags->tag[t].budget, memory_order_acquire);
        if (i != 0 && limited(&b->slot[i]))
            out->slot[out->n++] = (uint8_t)i;
    }
    if (limited(&b->slot[FA__BUDGET_GLOBAL]))
        out->slot[out->n++] = FA__BUDGET_GLOBAL;
    fa__assert_internal(out->n <= sizeof out->slot);
}

static uint8_t gen_of(uint64_t word) {
    return (uint8_t)(word >> FA__BUDGET_GEN_SHIFT);
}

static uint8_t current_gen(const struct fa_budget *s) {
    return gen_of(atomic_load_explicit(&s->reserved, memory_order_relaxed));
}

/* n bytes back to the slot, if it is still at generation `gen`. */
static void give_back(struct fa_budget *s, uint64_t n, uint8_t gen) {
    uint64_t w = atomic_load_explicit(&s->reserved, memory_order_relaxed), r;
    do {
        if (gen_of(w) != gen)
            return;
        r = w & FA__BUDGET_BYTES; /* never below zero: frees of blocks older than the budget are not its own */
    } while (!atomic_compare_exchange_weak_explicit(&s->reserved, &w, (w - r) + (r > n ? r - n : 0),
                                                    memory_order_relaxed, memory_order_relaxed));
}

/* A batch for `need`: a share of what is left, so that racing threads
 * leave each other room; it stops at the soft limit when below it, so that
 * crossing it is a refill of its own. Returns 0 when the hard limit refuses. */
static uint64_t reserve(struct fa_budget *s, uint64_t need, int *crossed, uint8_t *gen) {
    uint64_t w = atomic_load_explicit(&s->reserved, memory_order_relaxed), r, grant, hard;
    do {
        r = w & FA__BUDGET_BYTES;
        uint64_t soft = atomic_load_explicit(&s->soft, memory_order_relaxed);
        hard = atomic_load_explicit(&s->hard, memory_order_relaxed);
        uint64_t room = hard == 0 ? FA__BUDGET_BYTES - r : hard > r ? hard - r : 0;
        if (need > room)
            return 0;
        uint64_t extra = (room - need) / 8;
        if (soft != 0 && r + need <= soft && soft - r - need < extra)
            extra = soft - r - need;
        grant = need + (extra < FA__BUDGET_BATCH ? extra : FA__BUDGET_BATCH);
        *crossed = soft != 0 && r <= soft && r + grant > soft;
    } while (!atomic_compare_exchange_weak_explicit(&s->reserved, &w, w + grant, memory_order_relaxed,
                                                    memory_order_relaxed));
    *gen = gen_of(w);
    fa__assert_internal(hard == 0 ? r + grant <= FA__BUDGET_BYTES : r + grant <= hard); /* the limit it saw */
    return grant;
}

fa_error fa__budget_take(struct fa_budgets *b, struct fa_purse *p, const struct fa_chain *c,
                         uint64_t need, uint64_t *crossed, uint32_t *refused) {
    *crossed = 0;
    for (uint32_t k = 0; k < c->n; k++) {
        uint32_t i = c->slot[k];
        if (p->held[i] >= need)
            continue;
        struct fa_budget *s = &b->slot[i];
        int cross = 0;
        uint8_t gen;
        uint64_t grant = reserve(s, need - p->held[i], &cross, &gen);
        if (grant == 0) {
            *refused = i;
            return FA_ERR_BUDGET;
        }
        if (cross) {
            atomic_fetch_add_explicit(&s->crossings, 1, memory_order_relaxed);
            *crossed |= (uint64_t)1 << i;
        }
        if (p->held[i] != 0 && p->gen[i] != gen) /* the slot restarted under the thread */
            p->held[i] = 0;
        p->held[i] += grant;
        p->gen[i] = gen;
        p->holding |= (uint64_t)1 << i;
        p->lean &= ~((uint64_t)1 << i); /* a grant: the slot is under its limit again */
    }
    return FA_OK;
}

void fa__budget_refused(struct fa_budgets *b, uint32_t slot) {
    atomic_fetch_add_explicit(&b->slot[slot].refusals, 1, memory_order_relaxed);
}

void fa__budget_charge(struct fa_budgets *b, struct fa_purse *p, const struct fa_chain *c, uint64_t n) {
    for (uint32_t k = 0; k < c->n; k++) {
        uint32_t i = c->slot[k];
        uint64_t from_held = p->held[i] < n ? p->held[i] : n;
        p->held[i] -= from_held;
        if (from_held < n) /* only when the budget changed under the thread */
            atomic_fetch_add_explicit(&b->slot[i].reserved, n - from_held, memory_order_relaxed);
    }
}

/* n freed bytes are held again, up to a batch kept, the rest given back.
 * Under a limit lowered below what the slot counts, none is kept: freed
 * bytes are not headroom then, or the thread could consume them again past
 * the limit. A purse of the current epoch knows that from its lean bits
 * and its slots' generations (a limit change moves the epoch), so the
 * common credit reads no shared word at all; a stale purse reads the
 * slot's word for both. */
void fa__budget_credit(struct fa_budgets *b, struct fa_purse *p, const struct fa_chain *c, uint64_t n) {
    int current = p->epoch == atomic_load_explicit(&b->epoch, memory_order_acquire);
    for (uint32_t k = 0; k < c->n; k++) {
        uint32_t i = c->slot[k];
        struct fa_budget *s = &b->slot[i];
        int lean = (p->lean >> i) & 1;
        if (!current) {
            uint64_t w = atomic_load_explicit(&s->reserved, memory_order_relaxed);
            uint64_t hard = atomic_load_explicit(&s->hard, memory_order_relaxed);
            if (p->held[i] == 0 || p->gen[i] != gen_of(w)) {
                p->held[i] = 0;
                p->gen[i] = gen_of(w);
            }
            lean = hard != 0 && (w & FA__BUDGET_BYTES) > hard;
        }
        p->held[i] += n;
        p->holding |= (uint64_t)1 << i;
        uint64_t keep = lean                                ? 0
                      : p->held[i] > 2 * FA__BUDGET_BATCH ? FA__BUDGET_BATCH
                                                          : p->held[i];
        if (keep < p->held[i]) {
            give_back(s, p->held[i] - keep, p->gen[i]);
            p->held[i] = keep;
        }
    }
}

void fa__budget_hold(struct fa_purse *p, const struct fa_chain *c, uint64_t n) {
    for (uint32_t k = 0; k < c->n; k++) {
        p->held[c->slot[k]] += n;
        p->holding |= (uint64_t)1 << c->slot[k];
    }
}

void fa__budget_release(struct fa_budgets *b, const struct fa_chain *c, uint64_t n) {
    for (uint32_t k = 0; k < c->n; k++) {
        struct fa_budget *s = &b->slot[c->slot[k]];
        give_back(s, n, current_gen(s));
    }
}

void fa__budget_return_all(struct fa_budgets *b, struct fa_purse *p) {
    uint32_t slots = atomic_load_explicit(&b->slots, memory_order_relaxed);
    fa__assert_internal(slots == 64 || p->holding >> slots == 0);
    for (uint64_t bits = p->holding; bits != 0; bits &= bits - 1) {
        uint32_t i = (uint32_t)fa__ctz64(bits);
        give_back(&b->slot[i], p->held[i], p->gen[i]);
        p->held[i] = 0;
    }
    p->holding = 0;
}

/* Each slot's generation, and whether it is over its hard limit (a
 * lowered one): what credits of the new epoch go by. The purse holds
 * nothing. */
static void learn(const struct fa_budgets *b, struct fa_purse *p) {
    uint32_t slots = atomic_load_explicit(&b->slots, memory_order_relaxed);
    p->lean = 0;
    for (uint32_t i = 0; i < slots; i++) {
        uint64_t w = atomic_load_explicit(&b->slot[i].reserved, memory_order_relaxed);
        uint64_t hard = atomic_load_explicit(&b->slot[i].hard, memory_order_relaxed);
        p->gen[i] = gen_of(w);
        if (hard != 0 && (w & FA__BUDGET_BYTES) > hard)
            p->lean |= (uint64_t)1 << i;
    }
}

void fa__budget_rebind(struct fa_budgets *b, const struct fa_tags *tags, uint32_t tag, struct fa_purse *p,
                       struct fa_chain *out) {
    uint64_t epoch = atomic_load_explicit(&b->epoch, memory_order_acquire);
    if (p->epoch != epoch) {
        fa__budget_return_all(b, p);
        learn(b, p);
        p->epoch = epoch;
    }
    out->n = 0;
    if (fa__budgets_any(b))
        fa__budget_chain(b, tags, tag, out);
}

uint64_t fa__budget_least_limit(const struct fa_budgets *b, const struct fa_chain *c) {
    uint64_t least = UINT64_MAX;
    for (uint32_t k = 0; k < c->n; k++) {
        const struct fa_budget *s = &b->slot[c->slot[k]];
        uint64_t soft = atomic_load_explicit(&s->soft, memory_order_relaxed);
        uint64_t hard = atomic_load_explicit(&s->hard, memory_order_relaxed);
        if (soft != 0 && soft < least)
            least = soft;
        if (hard != 0 && hard < least)
            least = hard;
    }
    return least;
}

uint64_t fa__budget_headroom(const struct fa_purse *p, const struct fa_chain *c) {
    uint64_t least = UINT64_MAX;
    for (uint32_t k = 0; k < c->n; k++)
        if (p->held[c->slot[k]] < least)
            least = p->held[c->slot[k]];
    return least;
}
