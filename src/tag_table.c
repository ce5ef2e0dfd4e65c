/* SPDX-License-Identifier: MIT */
/* The tag table: tag paths interned once per allocator, never freed before
 * it. Lookups read a small open-addressed table without a lock; an
 * addition, rare, takes the lock, writes the path and publishes its slot
 * last, so that a reader that finds the id sees the whole path.
 * Floor: structures (docs/internals.md). It calls nothing above it: no
 * thread, instance, attribution or API file.
 * Invariants:
 * - Ids are never reused, and a path's id is above its parent's (stats.c
 *   sums subtrees on that). tag[i < count] no longer changes, but for its
 *   budget slot.
 * - At most tags->max paths fill at most a quarter of the slots, so a
 *   probe always meets the path or an empty slot, and id + 1 fits the
 *   16-bit slot (FA_TAG_PATHS_MAX).
 * - A path is checked whole before any of it is interned: a bad path
 *   interns nothing. */
#include "tag_table.h"

#include <stdlib.h>
#include <string.h>

#include "invariant.h"

static char root_path[] = "";

_Static_assert(FA_TAG_PATHS_MAX < UINT16_MAX, "a slot holds id + 1 in 16 bits");

int fa__tags_init(struct fa_tags *tags, uint32_t max, uint32_t depth) {
    fa__assert(max >= 1 && max <= FA_TAG_PATHS_MAX && depth >= 1 && depth <= FA_TAG_DEPTH_MAX);
    uint32_t slots = 64;
    while (slots < 4 * max)
        slots *= 2;
    tags->tag = (struct fa_tag *)calloc(max, sizeof *tags->tag);
    tags->slot = (_Atomic uint16_t *)malloc(slots * sizeof *tags->slot);
    if (tags->tag == NULL || tags->slot == NULL) {
        free(tags->tag);
        free((void *)tags->slot);
        return 0;
    }
    fa__mutex_init(&tags->lock);
    tags->max = max;
    tags->depth = depth;
    tags->slot_mask = slots - 1;
    tags->tag[FA__TAG_ROOT].path = root_path;
    for (size_t i = 0; i < slots; i++)
        atomic_init(&tags->slot[i], 0);
    atomic_init(&tags->count, 1);
    return 1;
}

void fa__tags_fini(struct fa_tags *tags) {
    uint32_t n = fa__tag_count(tags);
    for (uint32_t i = 1; i < n; i++)
        free(tags->tag[i].path);
    free(tags->tag);
    free((void *)tags->slot);
    fa__mutex_destroy(&tags->lock);
}

int fa__tag_name_ok(const char *name, size_t length) {
    if (length == 0 || length > FA_TAG_NAME_MAX)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (name[i] == '/' || name[i] < 0x20 || name[i] > 0x7e) /* printable ASCII: JSON-safe */
            return 0;
    return 1;
}

static uint32_t hash(uint32_t parent, const char *name, size_t length) {
    uint32_t h = 2166136261u ^ parent; /* FNV-1a */
    for (size_t i = 0; i < length; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    return h;
}

/* The path's last name is everything after the parent's path and a '/'. */
static int is_child(const struct fa_tags *tags, uint32_t id, uint32_t parent, const char *name,
                    size_t length) {
    const struct fa_tag *t = &tags->tag[id];
    if (t->parent != parent || id == FA__TAG_ROOT)
        return 0;
    size_t skip = parent == FA__TAG_ROOT ? 0 : strlen(tags->tag[parent].path) + 1;
    return strncmp(t->path + skip, name, length) == 0 && t->path[skip + length] == '\0';
}

/* The slot holding the path, or the empty slot where it would go. */
static _Atomic uint16_t *find(struct fa_tags *tags, uint32_t parent, const char *name, size_t length) {
    for (uint32_t h = hash(parent, name, length);; h++) {
        _Atomic uint16_t *s = &tags->slot[h & tags->slot_mask];
        uint16_t v = atomic_load_explicit(s, memory_order_acquire);
        if (v == 0 || is_child(tags, v - 1u, parent, name, length))
            return s;
    }
}

static int add(struct fa_tags *tags, _Atomic uint16_t *s, uint32_t parent, const char *name, size_t length) {
    uint32_t id = atomic_load_explicit(&tags->count, memory_order_relaxed);
    if (id == tags->max)
        return FA__TAG_FULL;
    const char *base = tags->tag[parent].path;
    size_t prefix = parent == FA__TAG_ROOT ? 0 : strlen(base) + 1;
    char *path = (char *)malloc(prefix + length + 1);
    if (path == NULL)
        return FA__TAG_NOMEM;
    if (prefix != 0) {
        memcpy(path, base, prefix - 1);
        path[prefix - 1] = '/';
    }
    memcpy(path + prefix, name, length);
    path[prefix + length] = '\0';
    struct fa_tag *t = &tags->tag[id];
    fa__assert_internal(parent < id && tags->tag[parent].depth < tags->depth); /* parents come first */
    t->path = path;
    t->parent = parent;
    t->depth = tags->tag[parent].depth + 1;
    atomic_store_explicit(&t->budget, 0, memory_order_relaxed);
    atomic_store_explicit(&tags->count, id + 1, memory_order_release);
    atomic_store_explicit(s, (uint16_t)(id + 1), memory_order_release);
    return (int)id;
}

int fa__tag_child(struct fa_tags *tags, uint32_t parent, const char *name, size_t length) {
    uint16_t v = atomic_load_explicit(find(tags, parent, name, length), memory_order_acquire);
    if (v != 0)
        return v - 1;
    fa__mutex_lock(&tags->lock);
    _Atomic uint16_t *s = find(tags, parent, name, length); /* another thread may have added it */
    v = atomic_load_explicit(s, memory_order_relaxed);
    int id = v != 0 ? v - 1 : add(tags, s, parent, name, length);
    fa__mutex_unlock(&tags->lock);
    return id;
}

/* Non-zero when path is names joined by '/', tags->depth at most. */
static int path_ok(const struct fa_tags *tags, const char *path) {
    for (uint32_t depth = 1;; depth++) {
        size_t length = strcspn(path, "/");
        if (!fa__tag_name_ok(path, length) || depth > tags->depth)
            return 0;
        if (path[length] == '\0')
            return 1;
        path += length + 1;
    }
}

int fa__tag_path(struct fa_tags *tags, const char *path, fa_error *e) {
    if (*path == '\0')
        return FA__TAG_ROOT;
    if (!path_ok(tags, path)) { /* checked whole first: a bad path interns nothing */
        *e = FA_ERR_INVALID;
        return -1;
    }
    uint32_t id = FA__TAG_ROOT;
    for (;;) {
        size_t length = strcspn(path, "/");
        int child = fa__tag_child(tags, id, path, length);
        if (child < 0) {
            *e = FA_ERR_NOMEM;
            return child;
        }
        id = (uint32_t)child;
        if (path[length] == '\0')
            return (int)id;
        path += length + 1;
    }
}
