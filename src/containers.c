/* SPDX-License-Identifier: MIT */
/* Frame containers and layout helpers: the vector's slow halves, the hash
 * map, the structure-of-arrays layout and the batch runner.
 * Floor: helpers, on top (docs/internals.md). Every byte comes through the
 * public arena calls (fa_arena_alloc_aligned, fa_arena_realloc, marks), so
 * it is counted, charged and budgeted like the caller's own; instance.h
 * only answers "which allocator, at which debug level" for a handle, and
 * event.c carries the reports.
 * Invariants:
 * - A vector's data holds capacity elements in one block of exactly
 *   capacity * size bytes, the block fa_arena_realloc last returned (or
 *   NULL with capacity 0), so that growth can hand it back as old_size.
 * - A map of capacity c > 0 has a power-of-two number of slots, at least
 *   4/3 c: even full, a quarter of them are empty, so every probe ends.
 * - Every key a map holds sits on the probe path from its home slot with
 *   no empty slot between: linear probing's lookup rule, which removal
 *   keeps by shifting later entries back instead of leaving tombstones. */
#include <string.h>

#include "framealloc.h"
#include "event.h"
#include "instance.h"
#include "platform.h"

/* ---- handles --------------------------------------------------------------- */

/* The allocator behind arena handle ar; NULL for a NULL handle. The one
 * place that knows how a handle leads to its allocator. */
static fa_alloc *alloc_of(fa_arena *ar) {
    struct fa_thread *th = fa__thread_of_handle(ar);
    return th != NULL ? fa__alloc_of(th) : NULL;
}

/* Where reports about ar's containers go (NULL: the last error only). */
static const struct fa_sink *sink_of(fa_arena *ar) {
    fa_alloc *a = alloc_of(ar);
    return a != NULL ? &a->sink : NULL;
}

static fa_error null_handle(const char *fn) {
    return fa__report(NULL, FA_ERR_INVALID, 0, "%s: NULL arena handle", fn);
}

/* ---- the vector ------------------------------------------------------------ */

#define VEC_FIRST_CAPACITY 8

/* Non-zero when v can be used; else reported for fn. */
static int vec_ok(const fa_vec *v, const char *fn) {
    if (v == NULL)
        fa__report(NULL, FA_ERR_INVALID, 0, "%s: NULL vector", fn);
    else if (v->fa__arena == NULL)
        fa__report(NULL, FA_ERR_INVALID, 0, "%s: vector not initialised (fa_vec_init)", fn);
    return v != NULL && v->fa__arena != NULL;
}

/* Non-zero when a typed call's element size is v's; else reported. */
static int vec_type_ok(const fa_vec *v, size_t elem_size, const char *fn) {
    if (v->fa__size == elem_size)
        return 1;
    fa__report(sink_of(v->fa__arena), FA_ERR_INVALID, elem_size,
               "%s: a %zu-byte element type for a vector of %zu-byte elements", fn, elem_size, v->fa__size);
    return 0;
}

static char *vec_slot(const fa_vec *v, size_t i) {
    return (char *)v->data + v->fa__size * i;
}

fa_error fa_vec_init(fa_vec *v, fa_arena *ar, size_t elem_size, size_t elem_align) {
    if (v == NULL)
        return fa__report(sink_of(ar), FA_ERR_INVALID, 0, "fa_vec_init: NULL vector");
    memset(v, 0, sizeof *v);
    v->fa__checked = 1; /* until it is initialised, every index takes the path that reports it */
    fa_alloc *a = alloc_of(ar);
    if (a == NULL)
        return null_handle("fa_vec_init");
    if (elem_size == 0 || !fa__is_pow2(elem_align) || elem_size % elem_align != 0)
        return fa__report(&a->sink, FA_ERR_INVALID, elem_size,
                          "fa_vec_init: element size %zu with alignment %zu (a size of whole alignments, not 0)",
                          elem_size, elem_align);
    v->fa__arena = ar;
    v->fa__size = elem_size;
    v->fa__align = elem_align;
    v->fa__checked = fa__debug_on(a);
    return FA_OK;
}

/* v's block resized to capacity elements, more than it holds; v unchanged
 * on failure. The arena grows it in place when it is the last allocation. */
static fa_error vec_grow(fa_vec *v, size_t capacity, const char *fn) {
    if (capacity > FA__REQUEST_MAX / v->fa__size)
        return fa__report(sink_of(v->fa__arena), FA_ERR_NOMEM, SIZE_MAX,
                          "%s: %zu elements of %zu bytes cannot be met", fn, capacity, v->fa__size);
    void *p = fa_arena_realloc(v->fa__arena, v->data, v->capacity * v->fa__size, capacity * v->fa__size,
                               v->fa__align);
    if (p == NULL)
        return fa_last_error(); /* fa_arena_realloc reported it */
    v->data = p;
    v->capacity = capacity;
    return FA_OK;
}

fa_error fa_vec_reserve(fa_vec *v, size_t capacity) {
    if (!vec_ok(v, "fa_vec_reserve"))
        return FA_ERR_INVALID;
    return capacity <= v->capacity ? FA_OK : vec_grow(v, capacity, "fa_vec_reserve");
}

/* Doubling keeps n pushes at O(n) bytes copied when the vector cannot grow
 * in place. A capacity is at most FA__REQUEST_MAX / size (vec_grow), so
 * doubling cannot wrap; vec_grow refuses a double past that. */
static size_t vec_next_capacity(const fa_vec *v) {
    return v->capacity != 0 ? v->capacity * 2 : VEC_FIRST_CAPACITY;
}

void *fa__vec_push_slow(fa_vec *v, size_t elem_size) {
    if (!vec_ok(v, "fa_vec_push") || !vec_type_ok(v, elem_size, "fa_vec_push"))
        return NULL;
    if (v->count == v->capacity && vec_grow(v, vec_next_capacity(v), "fa_vec_push") != FA_OK)
        return NULL;
    return vec_slot(v, v->count++);
}

void *fa__vec_at_slow(const fa_vec *v, size_t i, size_t elem_size) {
    if (!vec_ok(v, "fa_vec_at") || !vec_type_ok(v, elem_size, "fa_vec_at"))
        return NULL;
    if (i >= v->count) {
        fa__report(sink_of(v->fa__arena), FA_ERR_INVALID, 0, "fa_vec_at: index %zu past the end (%zu elements)", i,
                   v->count);
        return NULL;
    }
    return vec_slot(v, i);
}

void *fa__vec_pop_as(fa_vec *v, size_t elem_size) {
    if (!vec_ok(v, "fa_vec_pop") || !vec_type_ok(v, elem_size, "fa_vec_pop") || v->count == 0)
        return NULL;
    return vec_slot(v, --v->count);
}

void *fa_vec_pop(fa_vec *v) {
    return fa__vec_pop_as(v, v != NULL ? v->fa__size : 0);
}

fa_error fa_vec_clear(fa_vec *v) {
    if (!vec_ok(v, "fa_vec_clear"))
        return FA_ERR_INVALID;
    v->count = 0;
    return FA_OK;
}

/* ---- the map --------------------------------------------------------------- */

struct fa__map_slot {
    uint64_t key;
    void    *value;
};

/* Beyond this a table (at most 8/3 slots a key, 17 bytes a slot) could
 * pass the largest request. */
#define MAP_CAPACITY_MAX (FA__REQUEST_MAX / 64)

/* Non-zero when m can be used; else reported for fn. */
static int map_ok(const fa_map *m, const char *fn) {
    if (m == NULL)
        fa__report(NULL, FA_ERR_INVALID, 0, "%s: NULL map", fn);
    else if (m->fa__arena == NULL)
        fa__report(NULL, FA_ERR_INVALID, 0, "%s: map not initialised (fa_map_init)", fn);
    return m != NULL && m->fa__arena != NULL;
}

/* MurmurHash3's 64-bit finaliser: ids are often consecutive or share low
 * bits, and linear probing needs them spread over the slots. */
static uint64_t map_hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdu;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53u;
    return key ^ (key >> 33);
}

static size_t map_home(const fa_map *m, uint64_t key) {
    return (size_t)map_hash(key) & m->fa__mask;
}

static size_t map_next(const fa_map *m, size_t i) {
    return (i + 1) & m->fa__mask;
}

/* Non-zero when m holds key, at *at; else *at is the empty slot where its
 * probe ended (where it would go), or unset for a map without slots. */
static int map_find(const fa_map *m, uint64_t key, size_t *at) {
    if (m->fa__slots == NULL)
        return 0;
    size_t i = map_home(m, key);
    while (m->fa__used[i] && m->fa__slots[i].key != key)
        i = map_next(m, i);
    *at = i;
    return m->fa__used[i];
}

/* The smallest power of two of slots at most 3/4 full at capacity keys
 * (at most MAP_CAPACITY_MAX: slots * 3 cannot wrap). */
static size_t map_slots_for(size_t capacity) {
    size_t slots = 2;
    while (slots * 3 / 4 < capacity)
        slots <<= 1;
    return slots;
}

fa_error fa_map_init(fa_map *m, fa_arena *ar, size_t capacity) {
    if (m == NULL)
        return fa__report(sink_of(ar), FA_ERR_INVALID, capacity, "fa_map_init: NULL map");
    memset(m, 0, sizeof *m);
    if (alloc_of(ar) == NULL)
        return null_handle("fa_map_init");
    m->fa__arena = ar; /* a valid map of capacity 0 from here on */
    if (capacity == 0)
        return FA_OK;
    if (capacity > MAP_CAPACITY_MAX)
        return fa__report(sink_of(ar), FA_ERR_NOMEM, capacity, "fa_map_init: a capacity of %zu cannot be met",
                          capacity);
    size_t slots = map_slots_for(capacity);
    /* Slots and used bytes in one block: one allocation to fail, none to leak.
     * A cache-line start keeps every 16-byte slot within one line. */
    char *block = (char *)fa_arena_alloc_aligned(ar, slots * (sizeof(struct fa__map_slot) + 1), FA_CACHE_LINE);
    if (block == NULL)
        return fa_last_error();
    m->fa__slots = (struct fa__map_slot *)(void *)block;
    m->fa__used = (unsigned char *)block + slots * sizeof(struct fa__map_slot);
    memset(m->fa__used, 0, slots);
    m->fa__mask = slots - 1;
    m->capacity = capacity;
    return FA_OK;
}

fa_error fa_map_put(fa_map *m, uint64_t key, void *value) {
    if (!map_ok(m, "fa_map_put"))
        return FA_ERR_INVALID;
    size_t i = 0;
    int held = map_find(m, key, &i);
    if (!held && m->count == m->capacity) /* checked after the search: an update needs no room */
        return fa__report(sink_of(m->fa__arena), FA_ERR_NOMEM, 0, "fa_map_put: the map is full (%zu keys)",
                          m->capacity);
    if (!held) {
        m->fa__slots[i].key = key;
        m->fa__used[i] = 1;
        m->count++;
    }
    m->fa__slots[i].value = value;
    return FA_OK;
}

int fa_map_get(const fa_map *m, uint64_t key, void **value) {
    size_t i = 0;
    if (!map_ok(m, "fa_map_get") || !map_find(m, key, &i))
        return 0;
    if (value != NULL)
        *value = m->fa__slots[i].value;
    return 1;
}

/* Empties slot hole, then walks the run after it: an entry whose probe
 * path (home .. its slot) crosses the hole moves back into it, and its
 * old slot becomes the hole, until the run ends at an empty slot. */
static void map_shift_back(fa_map *m, size_t hole) {
    for (size_t j = map_next(m, hole); m->fa__used[j]; j = map_next(m, j)) {
        size_t home = map_home(m, m->fa__slots[j].key);
        if (((j - home) & m->fa__mask) >= ((j - hole) & m->fa__mask)) {
            m->fa__slots[hole] = m->fa__slots[j];
            hole = j;
        }
    }
    m->fa__used[hole] = 0;
}

int fa_map_remove(fa_map *m, uint64_t key) {
    size_t i = 0;
    if (!map_ok(m, "fa_map_remove") || !map_find(m, key, &i))
        return 0;
    map_shift_back(m, i);
    m->count--;
    return 1;
}

fa_error fa_map_clear(fa_map *m) {
    if (!map_ok(m, "fa_map_clear"))
        return FA_ERR_INVALID;
    if (m->fa__used != NULL)
        memset(m->fa__used, 0, m->fa__mask + 1);
    m->count = 0;
    return FA_OK;
}

/* ---- structure of arrays ---------------------------------------------------- */

/* Where an array of alignment align starts: a cache line of its own at least. */
static size_t soa_align(size_t align) {
    return align > FA_CACHE_LINE ? align : FA_CACHE_LINE;
}

/* The bytes the layout takes (arrays in order, each at its alignment
 * after the previous one), and with base, out[k] set to array k; SIZE_MAX
 * when it cannot be met. One walk for measuring and placing, so the two
 * cannot disagree. */
static size_t soa_place(size_t count, size_t n, const size_t sizes[], const size_t aligns[], char *base,
                        void *out[]) {
    size_t end = 0; /* at most FA__REQUEST_MAX: aligning it up cannot wrap */
    for (size_t k = 0; k < n; k++) {
        size_t start = fa__align_up(end, soa_align(aligns[k]));
        if (start > FA__REQUEST_MAX || (sizes[k] != 0 && count > (FA__REQUEST_MAX - start) / sizes[k]))
            return SIZE_MAX;
        if (base != NULL)
            out[k] = base + start;
        end = start + count * sizes[k];
    }
    return end;
}

/* The block's alignment: the largest of the arrays'. */
static size_t soa_block_align(size_t n, const size_t aligns[]) {
    size_t align = FA_CACHE_LINE;
    for (size_t k = 0; k < n; k++)
        align = soa_align(aligns[k]) > align ? soa_align(aligns[k]) : align;
    return align;
}

/* FA_OK when every argument is usable; else reported. */
static fa_error soa_check(fa_arena *ar, size_t n, const size_t sizes[], const size_t aligns[], void *out[]) {
    if (alloc_of(ar) == NULL)
        return null_handle("fa_soa_alloc");
    if (n != 0 && (sizes == NULL || aligns == NULL || out == NULL))
        return fa__report(sink_of(ar), FA_ERR_INVALID, 0, "fa_soa_alloc: NULL sizes, alignments or output");
    for (size_t k = 0; k < n; k++)
        if (!fa__is_pow2(aligns[k]))
            return fa__report(sink_of(ar), FA_ERR_INVALID, 0,
                              "fa_soa_alloc: alignment %zu of array %zu is not a power of two", aligns[k], k);
    return FA_OK;
}

fa_error fa_soa_alloc(fa_arena *ar, size_t count, size_t n_arrays, const size_t sizes[], const size_t aligns[],
                      void *out[]) {
    fa_error e = soa_check(ar, n_arrays, sizes, aligns, out);
    if (e != FA_OK || n_arrays == 0)
        return e;
    size_t total = soa_place(count, n_arrays, sizes, aligns, NULL, NULL);
    if (total == SIZE_MAX)
        return fa__report(sink_of(ar), FA_ERR_NOMEM, SIZE_MAX,
                          "fa_soa_alloc: %zu arrays of %zu elements cannot be met", n_arrays, count);
    char *base = (char *)fa_arena_alloc_aligned(ar, total, soa_block_align(n_arrays, aligns));
    if (base == NULL)
        return fa_last_error();
    soa_place(count, n_arrays, sizes, aligns, base, out);
    return FA_OK;
}

/* ---- batches ----------------------------------------------------------------- */

fa_error fa_batch_run(fa_arena *ar, void *items, size_t count, size_t item_size, size_t batch, fa_batch_fn fn,
                      void *ctx) {
    if (alloc_of(ar) == NULL)
        return null_handle("fa_batch_run");
    if (fn == NULL || batch == 0 || (items == NULL && count != 0))
        return fa__report(sink_of(ar), FA_ERR_INVALID, 0,
                          "fa_batch_run: NULL callback, NULL items or a batch of 0");
    fa_mark m = fa_arena_mark(ar);
    if (m.fa__thread == NULL)
        return fa_last_error(); /* an empty mark: fa_arena_mark reported why (outside a frame) */
    size_t n;
    for (size_t first = 0; first < count; first += n) { /* first + n <= count: no wrap */
        n = count - first < batch ? count - first : batch;
        fa_error e = fn(ctx, ar, (char *)items + first * item_size, first, n);
        fa_error r = fa_arena_rewind(ar, m); /* the batch's scratch goes, whatever fn answered */
        if (e != FA_OK || r != FA_OK)
            return e != FA_OK ? e : r;
    }
    return FA_OK;
}
