/* SPDX-License-Identifier: MIT */
/* The hot-site table (site_table.h): open addressing on the site's
 * address, linear probing, no deletion but a clear of the whole table.
 * Floor: structures (docs/internals.md). It calls guard.c for a
 * backtrace, nothing above.
 * Invariants: `used` counts the slots holding a site; a site is in at most
 * one slot; the table keeps a quarter of its slots empty, so that a probe
 * always ends, and gathers the sites beyond that under `overflow`. */
#include "site_table.h"

#include <stdlib.h>
#include <string.h>

#include "guard.h"

int fa__site_table_init(struct fa_site_table *t) {
    memset(t, 0, sizeof *t);
    t->slot = (struct fa_site_entry *)calloc(FA__SITE_SLOTS, sizeof *t->slot);
    if (t->slot == NULL)
        return 0;
    fa__mutex_init(&t->lock);
    return 1;
}

static void forget(struct fa_site_table *t) {
    for (uint32_t i = 0; i < FA__SITE_SLOTS; i++)
        free(t->slot[i].backtrace);
    memset(t->slot, 0, FA__SITE_SLOTS * sizeof *t->slot);
    memset(&t->overflow, 0, sizeof t->overflow);
    t->used = 0;
}

void fa__site_table_fini(struct fa_site_table *t) {
    if (t->slot == NULL)
        return;
    forget(t);
    free(t->slot);
    t->slot = NULL;
    fa__mutex_destroy(&t->lock);
}

/* The slot of site, a new one if there is room, or the overflow entry. */
static struct fa_site_entry *entry_of(struct fa_site_table *t, const void *site) {
    uint64_t h = (uint64_t)(uintptr_t)site * 0x9E3779B97F4A7C15u; /* Fibonacci hashing */
    for (uint32_t i = (uint32_t)(h >> 53) & (FA__SITE_SLOTS - 1);; i = (i + 1) & (FA__SITE_SLOTS - 1)) {
        struct fa_site_entry *e = &t->slot[i];
        if (e->site == site)
            return e;
        if (e->site != NULL)
            continue;
        if (site == NULL || t->used >= FA__SITE_SLOTS / 4 * 3)
            return &t->overflow;
        e->site = site;
        t->used++;
        return e;
    }
}

void fa__site_count(struct fa_site_table *t, const void *site, size_t size, uint64_t weight, int trace) {
    fa__mutex_lock(&t->lock);
    struct fa_site_entry *e = entry_of(t, site);
    e->samples++;
    e->count += size != 0 ? (weight + size / 2) / size : 1; /* the allocations weight bytes are, rounded */
    e->bytes += weight;
    if (trace && e->samples == 1 && e != &t->overflow)
        e->backtrace = fa__guard_backtrace(site, &e->depth);
    fa__mutex_unlock(&t->lock);
}

size_t fa__site_copy(struct fa_site_table *t, struct fa_site_entry *out) {
    size_t n = 0;
    fa__mutex_lock(&t->lock);
    for (uint32_t i = 0; i < FA__SITE_SLOTS; i++)
        if (t->slot[i].site != NULL)
            out[n++] = t->slot[i];
    if (t->overflow.samples != 0)
        out[n++] = t->overflow;
    fa__mutex_unlock(&t->lock);
    return n;
}

void fa__site_table_clear(struct fa_site_table *t) {
    fa__mutex_lock(&t->lock);
    forget(t);
    fa__mutex_unlock(&t->lock);
}
