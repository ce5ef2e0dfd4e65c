/* SPDX-License-Identifier: MIT */
/* Handles: the hot-loop form. An engine system keeps the calling thread's
 * frame arena and pool cache in its own struct, fetched once, and its inner
 * loops allocate through them (docs/internals.md, "Handles"). */
#include <stdio.h>

#include <framealloc.h>

typedef struct {
    float x, y, vx, vy;
} Particle;

typedef struct {
    fa_alloc *fa;
    fa_arena *arena; /* this thread's frame arena in fa */
    fa_cache *cache; /* and its pool cache */
} ParticleSystem;

static int update(ParticleSystem *ps, int count) {
    Particle **live = fa_arena_new_array(ps->arena, Particle *, (size_t)count);
    if (live == NULL)
        return 0;
    for (int i = 0; i < count; i++) {
        live[i] = fa_arena_new(ps->arena, Particle); /* gone at fa_end_frame */
        if (live[i] == NULL)
            return 0;
        live[i]->x = (float)i;
    }
    void *emitter = fa_cache_alloc(ps->cache, 96); /* lives until freed */
    return emitter != NULL && fa_cache_free(ps->cache, emitter) == FA_OK;
}

int main(void) {
    ParticleSystem ps = {fa_create(NULL), NULL, NULL};
    ps.arena = fa_arena_get(ps.fa);
    ps.cache = fa_cache_get(ps.fa);
    if (ps.arena == NULL || ps.cache == NULL)
        return 1;
    for (int frame = 0; frame < 3; frame++) {
        fa_begin_frame(ps.fa);
        if (!update(&ps, 1000)) {
            fprintf(stderr, "%s\n", fa_strerror(fa_last_error()));
            return 1;
        }
        fa_end_frame(ps.fa);
    }
    fa_destroy(ps.fa);
    return 0;
}
