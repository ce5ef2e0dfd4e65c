/* SPDX-License-Identifier: MIT */
/* Free extents of one address range: first-fit takes and coalescing gives,
 * the bookkeeping of the sources that carve a range (mmap, fixed). It lives
 * outside the range, whose free memory may not even be mapped.
 * Floor: memory, in source/ (docs/internals.md). It calls nothing above it:
 * no structure, thread, instance, attribution or API file.
 * Invariants (fa__extents_check, level 3, after every change): extents are
 * in address order, none empty, never touching, so always coalesced. A take
 * makes room for a split before it changes anything; a give without memory
 * to record a range drops it (the range stays unused). Not thread-safe: the
 * source holds its lock. */
#include "extents.h"

#include <stdlib.h>
#include <string.h>

#include "invariant.h"
#include "platform.h"

/* Room for one more extent; 0 when out of memory. */
static int reserve_one(struct fa_extents *x) {
    void *items = x->free;
    int ok = x->count < x->capacity || fa__grow(&items, &x->capacity, sizeof *x->free);
    x->free = (struct fa_extent *)items;
    return ok;
}

static void insert_at(struct fa_extents *x, size_t i, uintptr_t start, size_t size) {
    memmove(&x->free[i + 1], &x->free[i], (x->count - i) * sizeof *x->free);
    x->free[i].start = start;
    x->free[i].size = size;
    x->count++;
}

static void remove_at(struct fa_extents *x, size_t i) {
    memmove(&x->free[i], &x->free[i + 1], (x->count - i - 1) * sizeof *x->free);
    x->count--;
}

int fa__extents_init(struct fa_extents *x, uintptr_t start, size_t size) {
    memset(x, 0, sizeof *x);
    if (!reserve_one(x))
        return 0;
    insert_at(x, 0, start, size);
    return 1;
}

void fa__extents_fini(struct fa_extents *x) {
    free(x->free);
    memset(x, 0, sizeof *x);
}

int fa__extents_check(const struct fa_extents *x) {
    for (size_t i = 0; i < x->count; i++) {
        const struct fa_extent *e = &x->free[i];
        if (e->size == 0 || e->start + e->size < e->start)
            return 0;
        if (i + 1 < x->count && e->start + e->size >= x->free[i + 1].start) /* in order, never touching */
            return 0;
    }
    return x->count <= x->capacity;
}

static uintptr_t take_first_fit(struct fa_extents *x, size_t size, size_t align) {
    if (!reserve_one(x)) /* a split may need one more entry */
        return 0;
    for (size_t i = 0; i < x->count; i++) {
        struct fa_extent *e = &x->free[i];
        uintptr_t at = fa__align_up(e->start, align);
        if (at < e->start || at - e->start > e->size || e->size - (at - e->start) < size)
            continue;
        uintptr_t end = e->start + e->size;
        size_t before = at - e->start, after = end - (at + size);
        if (before == 0 && after == 0) {
            remove_at(x, i);
        } else if (before == 0) {
            e->start = at + size;
            e->size = after;
        } else {
            e->size = before;
            if (after != 0)
                insert_at(x, i + 1, at + size, after);
        }
        return at;
    }
    return 0;
}

uintptr_t fa__extents_take(struct fa_extents *x, size_t size, size_t align) {
    uintptr_t at = take_first_fit(x, size, align);
    fa__assert_expensive(fa__extents_check(x));
    return at;
}

void fa__extents_give(struct fa_extents *x, uintptr_t start, size_t size) {
    fa__assert(size != 0);
    size_t i = 0;
    while (i < x->count && x->free[i].start < start)
        i++;
    int joins_prev = i > 0 && x->free[i - 1].start + x->free[i - 1].size == start;
    int joins_next = i < x->count && start + size == x->free[i].start;
    if (joins_prev && joins_next) {
        x->free[i - 1].size += size + x->free[i].size;
        remove_at(x, i);
    } else if (joins_prev) {
        x->free[i - 1].size += size;
    } else if (joins_next) {
        x->free[i].start = start;
        x->free[i].size += size;
    } else if (reserve_one(x)) {
        insert_at(x, i, start, size);
    } /* else: no memory to record it; the range stays unused, nothing breaks */
    fa__assert_expensive(fa__extents_check(x));
}
