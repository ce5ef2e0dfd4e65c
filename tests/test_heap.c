/* SPDX-License-Identifier: MIT */
/* The heap path (src/heap.c over src/heap_table.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"

static void blocks_of_any_size_and_alignment(void **state) {
    struct fixture *f = fixture_of(state);
    size_t aligns[] = {1, 16, 64, 4096, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
        size_t size = 1000 * (i + 1) + 7;
        char *p = (char *)fa_heap_alloc(f->a, size, aligns[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % aligns[i], 0);
        memset(p, 9, size);
        assert_int_equal(fa_heap_free(f->a, p), FA_OK);
    }
    assert_int_equal(f->c.bytes_out, 0); /* straight back to the source */
}

static void many_blocks_grow_the_table(void **state) {
    struct fixture *f = fixture_of(state);
    enum { N = 5000 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = fa_heap_alloc(f->a, (size_t)(i % 97) + 1, 16);
        assert_non_null(p[i]);
    }
    for (int i = 0; i < N; i += 2)
        assert_int_equal(fa_heap_free(f->a, p[i]), FA_OK);
    for (int i = 1; i < N; i += 2)
        assert_int_equal(fa_heap_free(f->a, p[i]), FA_OK);
    assert_int_equal(f->c.bytes_out, 0);
    assert_int_equal(f->ev.count, 0);
}

static void bad_requests(void **state) {
    struct fixture *f = fixture_of(state);
    void *a = fa_heap_alloc(f->a, 0, 8);
    void *b = fa_heap_alloc(f->a, 0, 8);
    assert_non_null(a);
    assert_ptr_not_equal(a, b);
    assert_null(fa_heap_alloc(f->a, SIZE_MAX, 8));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    assert_null(fa_heap_alloc(f->a, 64, 0));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_null(fa_heap_alloc(f->a, 64, 24));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(f->ev.count, 3);
    assert_int_equal(fa_heap_free(f->a, NULL), FA_OK);
    assert_int_equal(fa_heap_free(f->a, a), FA_OK);
    assert_int_equal(fa_heap_free(f->a, b), FA_OK);
    assert_null(fa_heap_alloc(NULL, 8, 8));
    assert_int_equal(fa_heap_free(NULL, a), FA_ERR_INVALID);
}

static void bad_frees_are_refused_untouched(void **state) {
    struct fixture *f = fixture_of(state);
    void *p = fa_heap_alloc(f->a, 100000, 64);
    assert_int_equal(fa_heap_free(f->a, p), FA_OK);
    assert_int_equal(fa_heap_free(f->a, p), FA_ERR_DOUBLE_FREE);
    int on_stack;
    assert_int_equal(fa_heap_free(f->a, &on_stack), FA_ERR_FOREIGN);
    void *from_malloc = malloc(32);
    assert_int_equal(fa_heap_free(f->a, from_malloc), FA_ERR_FOREIGN);
    free(from_malloc);
    void *pool_block = fa_pool_alloc(f->a, 64);
    assert_int_equal(fa_heap_free(f->a, pool_block), FA_ERR_FOREIGN);
    assert_non_null(strstr(f->ev.message, "fa_pool_free"));
    assert_int_equal(fa_pool_free(f->a, pool_block), FA_OK);
    fa_alloc *other = fa_create(NULL);
    void *theirs = fa_heap_alloc(other, 64, 64);
    assert_int_equal(fa_heap_free(f->a, theirs), FA_ERR_FOREIGN);
    assert_int_equal(fa_heap_free(other, theirs), FA_OK);
    fa_destroy(other);
    assert_int_equal(f->ev.count, 5);
    assert_non_null(fa_heap_alloc(f->a, 10, 16)); /* still usable; destroy frees it */
}

static void fallback_blocks_go_back_to_the_system(void **state) {
    struct fixture *f = fixture_of(state);
    f->c.mode = ANSWER_FALLBACK;
    void *p = fa_heap_alloc(f->a, 5000, 256);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 256, 0);
    f->c.mode = ANSWER_OK;
    assert_int_equal(fa_heap_free(f->a, p), FA_OK);
    assert_int_equal(f->c.frees, 0);
    f->c.mode = ANSWER_FAIL;
    assert_null(fa_heap_alloc(f->a, 5000, 16));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    f->c.mode = ANSWER_OK;
}

static void *heap_worker(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    void *mine[64];
    long errors = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 64; i++)
            errors += (mine[i] = fa_heap_alloc(a, (size_t)(i + 1) * 100, 64)) == NULL;
        for (int i = 0; i < 64; i++)
            errors += fa_heap_free(a, mine[i]) != FA_OK;
    }
    return (void *)errors;
}

static void threads_share_the_heap_path(void **state) {
    struct fixture *f = fixture_of(state);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, heap_worker, f->a);
    for (int i = 0; i < 4; i++) {
        void *errors;
        pthread_join(t[i], &errors);
        assert_null(errors);
    }
    assert_int_equal(f->c.bytes_out, 0);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(blocks_of_any_size_and_alignment),
        FIXTURE_TEST(many_blocks_grow_the_table),
        FIXTURE_TEST(bad_requests),
        FIXTURE_TEST(bad_frees_are_refused_untouched),
        FIXTURE_TEST(fallback_blocks_go_back_to_the_system),
        FIXTURE_TEST(threads_share_the_heap_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
