/* SPDX-License-Identifier: MIT */
/* The budget table: limits on consumed bytes, exact under threads. A shared budget's
 * `reserved` counts the bytes consumed plus the headroom threads took in
 * batches; a compare-and-swap never lets it pass the hard limit, so no
 * thread can consume past it, and threads touch the shared atomic once per
 * batch rather than once per allocation. */
#ifndef FA_BUDGET_TABLE_H
#define FA_BUDGET_TABLE_H

#include <stdatomic.h>

#include "os.h"
#include "tag_table.h"

#define FA__BUDGET_SLOTS (FA_BUDGET_MAX + 1) /* slot 0: global; the others: tag paths */
#define FA__BUDGET_GLOBAL 0u
/* Largest batch a thread takes; a thread keeps at most twice that. */
#define FA__BUDGET_BATCH ((uint64_t)64 << 10)

/* `reserved` shares its word with the slot's generation (the top bits),
 * which changes whenever the slot starts counting afresh: headroom a thread
 * took under an older generation is then no longer part of the count, and
 * one compare-and-swap both checks that and gives bytes back. */
#define FA__BUDGET_GEN_SHIFT 56
#define FA__BUDGET_BYTES (((uint64_t)1 << FA__BUDGET_GEN_SHIFT) - 1)

/* A slot to a cache line: threads taking batches from one slot do not
 * disturb those of another, nor the epoch every credit reads. */
struct fa_budget {
    _Alignas(64) _Atomic uint64_t soft, hard; /* 0: none */
    _Atomic uint64_t reserved;   /* generation << FA__BUDGET_GEN_SHIFT | bytes */
    _Atomic uint64_t crossings, refusals;
    uint32_t         tag;
};

struct fa_budgets {
    fa__mutex  lock;  /* setting only */
    uint32_t         most;  /* slots it may take, the global one included (cfg.max_budgets + 1) */
    _Atomic uint32_t slots; /* slots taken, the global one included */
    _Atomic uint64_t epoch; /* changes whenever a limit does */
    struct fa_budget slot[FA__BUDGET_SLOTS];
    /* the per-thread-frame budget: limits, and figures over all threads */
    _Atomic uint64_t frame_soft, frame_hard, frame_crossings, frame_refusals;
};

/* Budget slots a thread's allocations are charged to now: the global one
 * and those of the current path and its ancestors that have a limit. */
struct fa_chain {
    uint32_t n;
    uint8_t  slot[FA_TAG_DEPTH_MAX + 1]; /* a path's and its ancestors', and the global one */
};

/* One thread's headroom: bytes reserved in each slot and not consumed. */
struct fa_purse {
    uint64_t held[FA__BUDGET_SLOTS];
    uint8_t  gen[FA__BUDGET_SLOTS]; /* the slot's generation when held[i] was taken */
    uint64_t holding;               /* bit i: held[i] != 0 */
    uint64_t lean;    /* bit i: slot i was over its hard limit at the last rebind, and no take
                       * has succeeded there since: freed bytes go straight back */
    uint64_t epoch;   /* of the budgets the chain was built from */
};

void fa__budgets_init(struct fa_budgets *b, const fa_config *cfg);
void fa__budgets_fini(struct fa_budgets *b);

/* Sets a slot's limits (a new slot for a path without one; -1 when
 * cfg.max_budgets are taken). `live` is what a new slot starts from. */
int fa__budget_set(struct fa_budgets *b, struct fa_tags *tags, uint32_t tag, uint64_t soft,
                   uint64_t hard, uint64_t live);
/* The chain of tag path `tag`. */
void fa__budget_chain(const struct fa_budgets *b, const struct fa_tags *tags, uint32_t tag,
                      struct fa_chain *out);
/* The chain of `tag` under the current epoch: a purse from an earlier one
 * first returns all it holds (a changed limit binds at once). */
void fa__budget_rebind(struct fa_budgets *b, const struct fa_tags *tags, uint32_t tag, struct fa_purse *p,
                       struct fa_chain *out);

/* Makes sure the purse holds `need` bytes in every slot of the chain.
 * FA_OK, or FA_ERR_BUDGET with *refused the slot that would pass its hard
 * limit (a caller that gives up counts it: fa__budget_refused). *crossed
 * gets a bit per slot whose soft limit this crossed. */
fa_error fa__budget_take(struct fa_budgets *b, struct fa_purse *p, const struct fa_chain *c,
                         uint64_t need, uint64_t *crossed, uint32_t *refused);
/* Counts a refusal of a slot. */
void fa__budget_refused(struct fa_budgets *b, uint32_t slot);
/* Consumes n bytes of the held headroom (past it, straight from the slot). */
void fa__budget_charge(struct fa_budgets *b, struct fa_purse *p, const struct fa_chain *c, uint64_t n);
/* n bytes given back: held again, and what is beyond a batch returned. */
void fa__budget_credit(struct fa_budgets *b, struct fa_purse *p, const struct fa_chain *c, uint64_t n);
/* n consumed bytes held again under the generations the purse knows, for a
 * purse about to return all it holds (a stale one, a departing thread's):
 * they go back with the rest, to the slots that did not restart since. */
void fa__budget_hold(struct fa_purse *p, const struct fa_chain *c, uint64_t n);
/* n bytes given back by a thread without a purse: straight to the slots. */
void fa__budget_release(struct fa_budgets *b, const struct fa_chain *c, uint64_t n);
/* Returns everything held (frame end, thread exit, a budget changed): what
 * was taken under a slot's current generation goes back, the rest is
 * dropped. */
void fa__budget_return_all(struct fa_budgets *b, struct fa_purse *p);
/* The smallest limit, soft or hard, over the chain (UINT64_MAX: none). */
uint64_t fa__budget_least_limit(const struct fa_budgets *b, const struct fa_chain *c);
/* The least held over the chain: how far the thread may go unchecked. */
uint64_t fa__budget_headroom(const struct fa_purse *p, const struct fa_chain *c);

/* Bytes a slot counts now: consumed plus the headroom threads hold. */
static inline uint64_t fa__budget_reserved(const struct fa_budget *s) {
    return atomic_load_explicit(&s->reserved, memory_order_relaxed) & FA__BUDGET_BYTES;
}

/* Non-zero when any budget may be set: only then do frees look for one.
 * Always 0 in an allocator whose budgets are off. */
int fa__budgets_any(const struct fa_budgets *b);

#endif
