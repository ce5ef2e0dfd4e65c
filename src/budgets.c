/* SPDX-License-Identifier: MIT */
/* The budget API: fa_budget_set and fa_frame_budget_set.
 * Floor: API, above the statistics API, which tells a new budget the live
 * bytes it starts from (docs/internals.md). It calls no other API file.
 * Invariants: a budget that starts counting starts from the live bytes of
 * its path and everything below it, so that frees of blocks taken before
 * it balance. After fa_budget_set the calling thread refreshes at once,
 * the others at their next refresh (the budgets' epoch changed); a frame
 * budget applies from each thread's next fa_begin_frame. */
#include "stats.h"

static fa_error budgets_usable(fa_alloc *a, size_t soft, size_t hard, const char *fn) {
    if (!fa__budgets_on(a))
        return fa__report(&a->sink, FA_ERR_STATE, 0, "%s: budgets are off in this allocator's config", fn);
    if (hard != 0 && soft > hard)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "%s: soft limit %zu is above hard limit %zu", fn, soft,
                          hard);
    return FA_OK;
}

/* fa__tag_path's refusal of a path (its error e, its result id), reported. */
static fa_error path_refused(fa_alloc *a, fa_error e, int id) {
    if (e == FA_ERR_INVALID)
        return fa__report(&a->sink, e, 0, "fa_budget_set: a path is names of 1 to %d bytes joined by '/', %u deep "
                          "at most", FA_TAG_NAME_MAX, a->cfg.max_tag_depth);
    if (id == FA__TAG_FULL)
        return fa__report(&a->sink, e, 0, "fa_budget_set: the tag table is full: no room for another tag path "
                          "(%u paths at most: cfg.max_tags)", a->cfg.max_tags);
    return fa__report(&a->sink, e, 0, "fa_budget_set: no memory for the name of a tag path");
}

fa_error fa_budget_set(fa_alloc *a, const char *tag, size_t soft, size_t hard) {
    if (a == NULL)
        return fa__null_alloc("fa_budget_set");
    fa_error e = budgets_usable(a, soft, hard, "fa_budget_set");
    if (e != FA_OK)
        return e;
    int id = FA__TAG_ROOT;
    if (tag != NULL && *tag != '\0') {
        if (!fa__tags_on(a))
            return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_budget_set: tags are off in this allocator's config");
        id = fa__tag_path(&a->ledger->tags, tag, &e);
        if (id < 0)
            return path_refused(a, e, id);
    }
    uint64_t live = fa__stats_on(a) ? fa__stats_live_under(a, (uint32_t)id) : 0;
    if (fa__budget_set(&a->ledger->budgets, &a->ledger->tags, (uint32_t)id, soft, hard, live) < 0)
        return fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_budget_set: the budget table is full: all %u tag "
                          "budgets are taken (cfg.max_budgets)", a->cfg.max_budgets);
    struct fa_thread *th = fa__thread_find(&a->threads);
    if (th != NULL) /* the calling thread sees its own change at once */
        fa__attr_refresh(a, th);
    return FA_OK;
}

fa_error fa_frame_budget_set(fa_alloc *a, size_t soft, size_t hard) {
    if (a == NULL)
        return fa__null_alloc("fa_frame_budget_set");
    fa_error e = budgets_usable(a, soft, hard, "fa_frame_budget_set");
    if (e != FA_OK)
        return e;
    atomic_store(&a->ledger->budgets.frame_soft, soft);
    atomic_store(&a->ledger->budgets.frame_hard, hard);
    return FA_OK;
}
