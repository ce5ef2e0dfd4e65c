/* SPDX-License-Identifier: MIT */
/* glibc's own malloc family, found in libc.so.6 itself. Debian's
 * libmimalloc.so exports malloc, realloc, free, posix_memalign and
 * malloc_usable_size, and so replaces them process-wide in any program
 * linked to it: a benchmark that links mimalloc reaches glibc only here.
 * Also a framealloc memory source on it (the system source of a program
 * that does not link mimalloc). */
#ifndef BENCH_LIBC_H
#define BENCH_LIBC_H

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "framealloc.h"

static struct {
    void *(*malloc)(size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    size_t (*usable)(void *);
    int (*memalign)(void **, size_t, size_t);
} libc;

/* 1 when every function was found. */
static int find_libc(void) {
    void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return 0;
    void *f[5] = {dlsym(h, "malloc"), dlsym(h, "realloc"), dlsym(h, "free"), dlsym(h, "malloc_usable_size"),
                  dlsym(h, "posix_memalign")};
    for (int i = 0; i < 5; i++)
        if (f[i] == NULL)
            return 0;
    /* object to function pointers: POSIX guarantees it, ISO C has no cast for it */
    memcpy(&libc.malloc, &f[0], sizeof f[0]);
    memcpy(&libc.realloc, &f[1], sizeof f[1]);
    memcpy(&libc.free, &f[2], sizeof f[2]);
    memcpy(&libc.usable, &f[3], sizeof f[3]);
    memcpy(&libc.memalign, &f[4], sizeof f[4]);
    return 1;
}

static inline fa_backend_result libc_allocate(void *ctx, size_t size, size_t align, void **out) {
    (void)ctx;
    if (align < sizeof(void *))
        align = sizeof(void *);
    return libc.memalign(out, align, size) == 0 ? FA_BACKEND_OK : FA_BACKEND_FAIL;
}

static inline void libc_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    (void)ctx, (void)size, (void)align;
    libc.free(ptr);
}

/* An allocator on glibc's own memory (defaults otherwise); NULL, said on
 * stderr for program, when glibc's functions cannot be found. */
static inline fa_alloc *fa_create_on_libc(const char *program) {
    if (!find_libc()) {
        fprintf(stderr, "%s: glibc's malloc family not found in libc.so.6\n", program);
        return NULL;
    }
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = (fa_backend){NULL, libc_allocate, libc_deallocate};
    return fa_create(&cfg);
}

#endif
