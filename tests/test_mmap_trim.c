/* SPDX-License-Identifier: MIT */
/* Resident memory drops after fa_trim on the mmap source. Reads RSS from
 * /proc/self/statm, so it runs in the plain build only (docs/reliability.md):
 * sanitizers and valgrind change what is resident. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <unistd.h>

#include "helpers.h"

#define MIB ((size_t)1 << 20)

static size_t resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static void trim_gives_pages_back(void **state) {
    (void)state;
    fa_backend source;
    assert_int_equal(fa_source_mmap(&source, (size_t)1 << 30, FA_HUGE_NONE), FA_OK);
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = source;
    cfg.slab_reserve = 1;
    fa_alloc *a = fa_create(&cfg);
    enum { BLOCKS = 100000 };
    static void *blocks[BLOCKS];
    size_t before = resident_bytes();

    for (int i = 0; i < BLOCKS; i++) /* 50 MiB of pool blocks */
        memset(blocks[i] = fa_pool_alloc(a, 512), 2, 512);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    for (int i = 0; i < 64; i++) /* and 64 MiB of frame memory */
        memset(fa_frame_alloc(a, MIB - 4096), 1, MIB - 4096);
    size_t peak = resident_bytes();
    assert_true(peak >= before + 100 * MIB);
    assert_int_equal(fa_end_frame(a), FA_OK); /* chunks beyond the cache limit go back now */

    for (int i = 0; i < BLOCKS; i++)
        assert_int_equal(fa_pool_free(a, blocks[i]), FA_OK);
    assert_int_equal(fa_trim(a), FA_OK);
    size_t after = resident_bytes();
    fa_source_info info;
    fa_source_info_get(&source, &info);
    /* left: the chunk the thread keeps between frames, and the pool cache */
    assert_true(info.in_use <= 2 * MIB);
    assert_true(after <= before + 8 * MIB);
    fa_destroy(a);
    fa_source_destroy(&source);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trim_gives_pages_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
