/* SPDX-License-Identifier: MIT */
/* The hot-site table: allocation call sites and what the sampler counted
 * at each, under one lock (samples are rare: about one per
 * cfg.site_sample_bytes bytes allocated). */
#ifndef FA_SITE_TABLE_H
#define FA_SITE_TABLE_H

#include <stdint.h>

#include "framealloc.h"
#include "os.h"

/* Slots of the table; the sites beyond them are gathered under NULL. A
 * program allocates from a few hundred sites at most. */
#define FA__SITE_SLOTS 2048

struct fa_site_entry {
    const void *site;      /* NULL: an empty slot (the overflow entry is apart) */
    uint64_t    samples;
    uint64_t    count;     /* allocations the samples stand for */
    uint64_t    bytes;     /* and their bytes */
    void      **backtrace; /* FA_DEBUG_TRACE: the first sample's, or NULL */
    uint32_t    depth;
};

struct fa_site_table {
    fa__mutex       lock;
    struct fa_site_entry *slot;     /* FA__SITE_SLOTS of them; NULL when sites are off */
    struct fa_site_entry  overflow; /* the sites that found the table full */
    uint32_t              used;
};

/* 0 when there is no memory for the slots. */
int fa__site_table_init(struct fa_site_table *t);
void fa__site_table_fini(struct fa_site_table *t);
/* Counts one sample of `size` bytes standing for `weight` bytes at site.
 * With `trace`, the site's first sample keeps a backtrace. */
void fa__site_count(struct fa_site_table *t, const void *site, size_t size, uint64_t weight, int trace);
/* Copies every site with samples into out (room for FA__SITE_SLOTS + 1),
 * returns how many; their backtraces stay the table's. */
size_t fa__site_copy(struct fa_site_table *t, struct fa_site_entry *out);
/* Forgets every site. */
void fa__site_table_clear(struct fa_site_table *t);

#endif
