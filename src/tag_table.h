/* SPDX-License-Identifier: MIT */
/* The tag table: paths interned once per allocator, never freed before it, so that
 * a thread's tag stack holds small ids and attribution does no string work. */
#ifndef FA_TAG_TABLE_H
#define FA_TAG_TABLE_H

#include <stdatomic.h>

#include "framealloc.h"
#include "os.h"

#define FA__TAG_ROOT 0u

struct fa_tag {
    char    *path;   /* "renderer/shadows"; "" for the root */
    uint32_t parent; /* the root is its own parent */
    uint32_t depth;
    _Atomic uint32_t budget; /* its budget slot, 0: none */
};

struct fa_tags {
    fa__mutex  lock;  /* taken to add a path only */
    uint32_t         max;   /* paths it holds at most (cfg.max_tags, up to FA_TAG_PATHS_MAX) */
    uint32_t         depth; /* the deepest path (cfg.max_tag_depth) */
    _Atomic uint32_t count; /* paths published; tag[i < count] is immutable but for its budget */
    struct fa_tag    *tag;  /* max of them */
    _Atomic uint16_t *slot; /* id + 1 of a path by hash of (parent, name); 0: empty */
    uint32_t          slot_mask; /* slots - 1: a power of two, four slots per path at least */
};

/* An empty table (the root only) of at most max paths, depth deep; 0 when
 * there is no memory for it. */
int fa__tags_init(struct fa_tags *tags, uint32_t max, uint32_t depth);
void fa__tags_fini(struct fa_tags *tags);

/* Non-zero when name is a valid tag name: 1..FA_TAG_NAME_MAX bytes of
 * printable ASCII other than '/'. */
int fa__tag_name_ok(const char *name, size_t length);
/* What the calls below return instead of an id (their reports differ: a
 * full table is the program's sizing, no memory the system's). */
#define FA__TAG_FULL (-1)  /* the table holds all the paths it can */
#define FA__TAG_NOMEM (-2) /* no memory for the path's name */

/* The id of `parent`'s child `name` (checked by the caller), interned on
 * first use; FA__TAG_FULL or FA__TAG_NOMEM when it cannot be. */
int fa__tag_child(struct fa_tags *tags, uint32_t parent, const char *name, size_t length);
/* The id of a whole path ("a/b"; "" is the root), interned level by level;
 * below 0 with *e set: FA_ERR_INVALID (-1) for a bad name, FA_ERR_NOMEM
 * with FA__TAG_FULL or FA__TAG_NOMEM. */
int fa__tag_path(struct fa_tags *tags, const char *path, fa_error *e);

static inline const struct fa_tag *fa__tag(const struct fa_tags *tags, uint32_t id) {
    return &tags->tag[id];
}
static inline uint32_t fa__tag_count(const struct fa_tags *tags) {
    return atomic_load_explicit(&tags->count, memory_order_acquire);
}

#endif
