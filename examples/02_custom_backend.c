/* SPDX-License-Identifier: MIT */
/* A custom memory source: a staging region of 8 MiB (think of memory the GPU
 * can read) that takes the frame chunks it can, sends larger requests to the
 * system (FA_BACKEND_FALLBACK) and refuses once its budget of requests is
 * spent (FA_BACKEND_FAIL), which the allocator reports as FA_ERR_NOMEM.
 * Every call is logged, so the output shows which path each request took. */
#include <stdio.h>
#include <string.h>

#include <framealloc.h>

#define REGION_SIZE ((size_t)8 << 20)
#define LARGEST ((size_t)1 << 20) /* bigger requests are the system's */
#define REQUEST_BUDGET 4          /* then the source refuses */

/* The staging region hands out memory from the front and takes it back in
 * any order; a real one would keep a free list, here fa_source_fixed does
 * that for us, and this backend decides who serves what. */
struct staging {
    fa_backend region; /* fa_source_fixed over `memory` */
    int        requests;
    int        served, fell_back, refused;
    _Alignas(64) unsigned char memory[REGION_SIZE];
};

static fa_backend_result staging_allocate(void *ctx, size_t size, size_t align, void **out) {
    struct staging *s = ctx;
    if (++s->requests > REQUEST_BUDGET) {
        s->refused++;
        printf("  backend: %8zu bytes -> FAIL (budget of %d requests spent)\n", size, REQUEST_BUDGET);
        return FA_BACKEND_FAIL;
    }
    if (size > LARGEST) {
        s->fell_back++;
        printf("  backend: %8zu bytes -> FALLBACK (the system serves it)\n", size);
        return FA_BACKEND_FALLBACK;
    }
    fa_backend_result r = s->region.allocate(s->region.ctx, size, align, out);
    s->served += r == FA_BACKEND_OK;
    printf("  backend: %8zu bytes -> %s\n", size, r == FA_BACKEND_OK ? "OK from the staging region" : "FAIL (region full)");
    return r;
}

/* Only what this backend served comes back here: the library gives
 * FALLBACK memory back to the system itself. */
static void staging_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    struct staging *s = ctx;
    s->region.deallocate(s->region.ctx, ptr, size, align);
}

static void log_event(void *user, const fa_event *ev) {
    (void)user;
    printf("  event:   %s: %s\n", fa_strerror(ev->error), ev->message);
}

static struct staging staging;

int main(void) {
    if (fa_source_fixed(&staging.region, staging.memory, REGION_SIZE) != FA_OK)
        return 1;
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = (fa_backend){&staging, staging_allocate, staging_deallocate};
    cfg.on_event = log_event;
    fa_alloc *fa = fa_create(&cfg);
    if (fa == NULL)
        return 1;

    puts("frame 1: small allocations grow the arena 64 KiB, 128 KiB, 256 KiB ...");
    fa_begin_frame(fa);
    for (int i = 0; i < 400; i++)
        fa_frame_alloc(fa, 1000);
    puts("frame 1: a 3 MiB upload buffer is too large for the region");
    void *upload = fa_frame_alloc(fa, (size_t)3 << 20);
    puts("frame 1: and more requests than the budget allows");
    void *late = fa_frame_alloc(fa, (size_t)2 << 20);
    fa_end_frame(fa);

    printf("summary: %d served by the region, %d by the system, %d refused; upload %s, late %s\n",
           staging.served, staging.fell_back, staging.refused, upload ? "ok" : "NULL", late ? "ok" : "NULL");
    fa_destroy(fa);
    fa_source_info info;
    fa_source_info_get(&staging.region, &info);
    printf("after fa_destroy: %zu bytes of the region in use\n", info.in_use);
    fa_source_destroy(&staging.region);
    return upload != NULL && late == NULL && info.in_use == 0 ? 0 : 1;
}
