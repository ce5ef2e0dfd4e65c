/* Chunks and the allocator's shared chunk cache: the sizes of the growth
 * curve, and the cache that lets steady-state frames run without a backend
 * call.
 * Floor: structures (docs/internals.md), the lowest file there. It stands on
 * backend.c and calls nothing above it: no thread, instance, attribution or
 * API file.
 * Invariants:
 * - cache_bytes is the sum of the cached chunks' sizes (headers included).
 * - The cache lock is never held across a backend call: what goes to the
 *   backend is taken out under it and given back after.
 * - A cached chunk serves only a request of more than half its size, so a
 *   thread never keeps a chunk of the next size up, or a dedicated one,
 *   that another request will want next frame. */
#include "chunk.h"

#include "backend.h"

void fa__chunks_init(struct fa_chunk_source *src, const fa_config *cfg, struct fa_meter *meter) {
    src->meter = meter;
    src->backend = cfg->backend;
    src->first = cfg->frame_chunk_first;
    src->max = cfg->frame_chunk_max;
    src->growth = cfg->frame_chunk_growth;
    src->align = cfg->frame_chunk_align;
    src->cache_limit = cfg->chunk_cache_limit;
    pthread_mutex_init(&src->lock, NULL);
    src->cache = NULL;
    src->cache_bytes = 0;
}

void fa__chunks_fini(struct fa_chunk_source *src) {
    fa__chunk_trim(src);
    pthread_mutex_destroy(&src->lock);
}

size_t fa__chunk_normal_size(const struct fa_chunk_source *src, uint32_t index) {
    size_t size = src->first;
    for (uint32_t i = 0; i < index && size < src->max; i++)
        size = size > src->max / src->growth ? src->max : size * src->growth;
    return size < src->max ? size : src->max;
}

/* A cached chunk serves a request of more than half its size: a request
 * must not take (and a thread then keep) a chunk of the next size up, or a
 * large dedicated one, that another request will want again next frame. */
static int fits(const struct fa_chunk *c, size_t size) {
    return c->size >= size && c->size / 2 < size;
}

static struct fa_chunk *take_cached(struct fa_chunk_source *src, size_t size) {
    struct fa_chunk **best = NULL;
    for (struct fa_chunk **at = &src->cache; *at != NULL; at = &(*at)->next)
        if (fits(*at, size) && (best == NULL || (*at)->size < (*best)->size))
            best = at;
    if (best == NULL)
        return NULL;
    struct fa_chunk *c = *best;
    *best = c->next;
    src->cache_bytes -= c->size;
    return c;
}

struct fa_chunk *fa__chunk_take(struct fa_chunk_source *src, size_t size) {
    pthread_mutex_lock(&src->lock);
    struct fa_chunk *c = take_cached(src, size);
    pthread_mutex_unlock(&src->lock);
    if (c != NULL)
        return c;
    uint8_t from_system;
    c = fa__backend_take(&src->backend, src->meter, size, src->align, &from_system);
    if (c == NULL)
        return NULL;
    c->size = size;
    c->from_system = from_system;
    return c;
}

/* Caller holds the lock. */
static void push_list(struct fa_chunk_source *src, struct fa_chunk *list) {
    while (list != NULL) {
        struct fa_chunk *next = list->next;
        list->next = src->cache;
        src->cache = list;
        src->cache_bytes += list->size;
        list = next;
    }
}

void fa__chunk_stash(struct fa_chunk_source *src, struct fa_chunk *list) {
    pthread_mutex_lock(&src->lock);
    push_list(src, list);
    pthread_mutex_unlock(&src->lock);
}

struct fa_chunk *fa__chunk_excess(struct fa_chunk_source *src) {
    struct fa_chunk *excess = NULL;
    pthread_mutex_lock(&src->lock);
    while (src->cache_bytes > src->cache_limit) {
        struct fa_chunk *c = src->cache;
        src->cache = c->next;
        src->cache_bytes -= c->size;
        c->next = excess;
        excess = c;
    }
    pthread_mutex_unlock(&src->lock);
    return excess;
}

void fa__chunk_give(struct fa_chunk_source *src, struct fa_chunk *list) {
    fa__chunk_stash(src, list);
    fa__chunk_free_list(src, fa__chunk_excess(src));
}

void fa__chunk_trim(struct fa_chunk_source *src) {
    pthread_mutex_lock(&src->lock);
    struct fa_chunk *all = src->cache;
    src->cache = NULL;
    src->cache_bytes = 0;
    pthread_mutex_unlock(&src->lock);
    fa__chunk_free_list(src, all);
}

void fa__chunk_free_list(const struct fa_chunk_source *src, struct fa_chunk *list) {
    while (list != NULL) {
        struct fa_chunk *next = list->next;
        fa__backend_give(&src->backend, src->meter, list, list->size, src->align, list->from_system);
        list = next;
    }
}
