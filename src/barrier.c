/* SPDX-License-Identifier: MIT */
/* The frame barrier: `parties` threads meet at a frame's end, reusable
 * round after round. Under FA_FRAMES_SHARED the last to arrive ends the
 * instance's frame, and each thread resets its own part as it leaves.
 * Floor: helpers (docs/internals.md). It stands on the public API and the
 * frame API's shared end (frame.h).
 * Invariants: `round` counts the rounds completed; a thread waits until
 * it moves past the one it arrived in, so that a wake-up is never lost and
 * a fast thread's next arrival cannot be counted in the round it left. */

#include "frame.h"
#include "os.h"

struct fa_barrier {
    fa_alloc       *a;
    fa__mutex lock;
    fa__cond  all_in;
    unsigned        parties;
    unsigned        waiting; /* arrived in this round */
    uint64_t        round;
};

fa_barrier *fa_barrier_create(fa_alloc *a, unsigned parties) {
    if (a == NULL) {
        fa__null_alloc("fa_barrier_create");
        return NULL;
    }
    if (parties == 0) {
        fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_barrier_create: no parties");
        return NULL;
    }
    fa_barrier *b = (fa_barrier *)fa_pool_alloc(a, sizeof *b);
    if (b == NULL)
        return NULL; /* reported */
    *b = (fa_barrier){.a = a, .parties = parties};
    if (fa__mutex_init(&b->lock) != 0 || fa__cond_init(&b->all_in) != 0) {
        fa_pool_free(a, b);
        fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_barrier_create: the system has no room for a mutex");
        return NULL;
    }
    return b;
}

fa_error fa_barrier_wait(fa_barrier *b) {
    if (b == NULL)
        return fa__report(NULL, FA_ERR_INVALID, 0, "fa_barrier_wait: NULL barrier");
    fa__mutex_lock(&b->lock);
    uint64_t round = b->round;
    if (++b->waiting == b->parties) {
        b->waiting = 0;
        b->round++;
        if (fa__shared(b->a))
            fa__frame_shared_end(b->a); /* before anyone leaves: each one sees the end */
        fa__cond_broadcast(&b->all_in);
    }
    while (b->round == round)
        fa__cond_wait(&b->all_in, &b->lock);
    fa__mutex_unlock(&b->lock);
    return fa__frame_sync(b->a);
}

void fa_barrier_destroy(fa_barrier *b) {
    if (b == NULL)
        return;
    fa__cond_destroy(&b->all_in);
    fa__mutex_destroy(&b->lock);
    fa_pool_free(b->a, b);
}
