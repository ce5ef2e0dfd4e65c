/* SPDX-License-Identifier: MIT */
/* The heap table (heap_table.h): large blocks taken from the backend,
 * recorded in an open-addressed table, and given back only when the table
 * holds them live.
 * Floor: structures (docs/internals.md). It stands on backend.c and calls
 * nothing above it: no thread, instance, attribution or API file.
 * Invariants:
 * - capacity is 0 or a power of two, and used (live entries plus
 *   tombstones) stays at most three quarters of it, so a probe always ends.
 * - A freed block leaves a tombstone, which makes a second free
 *   FA_ERR_DOUBLE_FREE until a rebuild drops it.
 * - The lock guards the table only: the backend is called before it is
 *   taken (take) or after it is released (give). */
#include "heap_table.h"

#include <stdlib.h>

#include "backend.h"
#include "invariant.h"


void fa__heap_init(struct fa_heap *h, const fa_config *cfg, struct fa_meter *meter) {
    h->meter = meter;
    h->backend = cfg->backend;
    fa__mutex_init(&h->lock);
    h->table = NULL;
    h->capacity = h->live = h->used = 0;
}

void fa__heap_fini(struct fa_heap *h) {
    for (size_t i = 0; i < h->capacity; i++) {
        struct fa_heap_entry *e = &h->table[i];
        if (e->state == FA__HEAP_LIVE)
            fa__backend_give(&h->backend, h->meter, (void *)e->addr, e->size, e->align, e->from_system);
    }
    free(h->table);
    fa__mutex_destroy(&h->lock);
}

int fa__heap_check(const struct fa_heap *h) {
    size_t live = 0, used = 0;
    for (size_t i = 0; i < h->capacity; i++) {
        live += h->table[i].state == FA__HEAP_LIVE;
        used += h->table[i].state != FA__HEAP_EMPTY;
    }
    return live == h->live && used == h->used && used < h->capacity + (h->capacity == 0);
}

static size_t slot_of(uintptr_t addr, size_t capacity) {
    return (size_t)(((addr >> 4) * 0x9e3779b97f4a7c15u) >> 7) & (capacity - 1);
}

/* Lock held. The entry for addr (live or tombstone), or else the empty slot
 * where it would go. */
static struct fa_heap_entry *find(struct fa_heap *h, uintptr_t addr) {
    fa__assert_internal(h->capacity != 0 && (h->capacity & (h->capacity - 1)) == 0);
    for (size_t i = slot_of(addr, h->capacity);; i = (i + 1) & (h->capacity - 1)) {
        struct fa_heap_entry *e = &h->table[i];
        if (e->state == FA__HEAP_EMPTY || e->addr == addr)
            return e;
    }
}

/* Lock held. Rebuilds the table with the live entries only (tombstones go),
 * twice as large when it is more than half live. 0 when out of memory. */
static int rebuild(struct fa_heap *h) {
    size_t capacity = h->capacity == 0 ? 64 : h->live * 2 >= h->capacity ? h->capacity * 2 : h->capacity;
    struct fa_heap_entry *old = h->table;
    size_t old_capacity = h->capacity;
    h->table = (struct fa_heap_entry *)calloc(capacity, sizeof *h->table);
    if (h->table == NULL) {
        h->table = old;
        return 0;
    }
    h->capacity = capacity;
    h->used = h->live;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].state == FA__HEAP_LIVE)
            *find(h, old[i].addr) = old[i];
    free(old);
    fa__assert_expensive(fa__heap_check(h));
    return 1;
}

void *fa__heap_take(struct fa_heap *h, size_t size, size_t align, uint32_t tag) {
    if (align < _Alignof(max_align_t))
        align = _Alignof(max_align_t);
    uint8_t from_system;
    void *p = fa__backend_take(&h->backend, h->meter, size, align, &from_system);
    if (p == NULL)
        return NULL;
    fa__mutex_lock(&h->lock);
    int room = (h->used + 1) * 4 <= h->capacity * 3 || rebuild(h);
    if (room) {
        struct fa_heap_entry *e = find(h, (uintptr_t)p);
        h->used += e->state == FA__HEAP_EMPTY;
        *e = (struct fa_heap_entry){(uintptr_t)p, size, align, FA__HEAP_LIVE, from_system, (uint16_t)tag, 0};
        h->live++;
        fa__assert_internal(h->live <= h->used && h->used * 4 <= h->capacity * 3); /* a probe ends */
    }
    fa__mutex_unlock(&h->lock);
    if (!room) {
        fa__backend_give(&h->backend, h->meter, p, size, align, from_system);
        return NULL;
    }
    return p;
}

void fa__heap_mark_pooled(struct fa_heap *h, const void *p) {
    fa__mutex_lock(&h->lock);
    struct fa_heap_entry *e = h->capacity != 0 ? find(h, (uintptr_t)p) : NULL;
    if (e != NULL && e->state == FA__HEAP_LIVE)
        e->pooled = 1;
    fa__mutex_unlock(&h->lock);
}

int fa__heap_pooled(struct fa_heap *h, const void *p) {
    fa__mutex_lock(&h->lock);
    struct fa_heap_entry *e = h->capacity != 0 ? find(h, (uintptr_t)p) : NULL;
    int pooled = e != NULL && e->state == FA__HEAP_LIVE && e->pooled;
    fa__mutex_unlock(&h->lock);
    return pooled;
}

int fa__heap_state(struct fa_heap *h, const void *p, size_t *size, size_t *align) {
    fa__mutex_lock(&h->lock);
    struct fa_heap_entry *e = h->capacity != 0 ? find(h, (uintptr_t)p) : NULL;
    int state = e != NULL ? e->state : FA__HEAP_EMPTY;
    *size = e != NULL ? e->size : 0;
    *align = e != NULL ? e->align : 0;
    fa__mutex_unlock(&h->lock);
    return state;
}

fa_error fa__heap_give(struct fa_heap *h, void *p, size_t *size, uint32_t *tag) {
    fa__mutex_lock(&h->lock);
    struct fa_heap_entry *e = h->capacity != 0 ? find(h, (uintptr_t)p) : NULL;
    uint8_t state = e != NULL ? e->state : FA__HEAP_EMPTY;
    struct fa_heap_entry block = {0, 0, 0, FA__HEAP_EMPTY, 0, 0, 0};
    if (state == FA__HEAP_LIVE) { /* its size and source, for the give below the lock */
        block = *e;
        fa__assert_internal(h->live != 0 && e->addr == (uintptr_t)p);
        e->state = FA__HEAP_FREED;
        h->live--;
    }
    fa__mutex_unlock(&h->lock);
    *size = block.size;
    *tag = block.tag;
    if (state == FA__HEAP_LIVE)
        fa__backend_give(&h->backend, h->meter, p, block.size, block.align, block.from_system);
    return state == FA__HEAP_LIVE ? FA_OK : state == FA__HEAP_FREED ? FA_ERR_DOUBLE_FREE : FA_ERR_FOREIGN;
}
