/* Errors and events (src/event.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static void every_code_has_its_own_message(void **state) {
    (void)state;
    const char *seen[FA_ERR_CORRUPT + 1];
    for (int e = FA_OK; e <= FA_ERR_CORRUPT; e++) {
        seen[e] = fa_strerror((fa_error)e);
        assert_non_null(seen[e]);
        assert_null(strchr(seen[e], '\n'));
        for (int prev = FA_OK; prev < e; prev++)
            assert_string_not_equal(seen[prev], seen[e]);
    }
    assert_string_equal(fa_strerror((fa_error)99), "unknown fa_error value");
    assert_string_equal(fa_strerror((fa_error)-1), "unknown fa_error value");
}

static void last_error_is_sticky_and_per_thread(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    assert_int_equal(fa_end_frame(a), FA_ERR_STATE);
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    assert_int_equal(fa_begin_frame(a), FA_OK); /* a success does not clear it */
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    assert_null(fa_frame_alloc_aligned(a, 8, 3));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
}

static void *read_last_error(void *out) {
    *(fa_error *)out = fa_last_error();
    return NULL;
}

static void another_thread_has_its_own_last_error(void **state) {
    (void)state;
    assert_int_equal(fa_begin_frame(NULL), FA_ERR_INVALID);
    fa_error other = FA_ERR_CORRUPT;
    pthread_t t;
    pthread_create(&t, NULL, read_last_error, &other);
    pthread_join(t, NULL);
    assert_int_equal(other, FA_OK);
}

static void events_carry_code_size_and_one_line(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    fa_alloc *a = fa_create(&cfg);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_null(fa_frame_alloc(a, SIZE_MAX));
    assert_int_equal(ev.count, 1);
    assert_int_equal(ev.last, FA_ERR_NOMEM);
    assert_true(ev.last_size == SIZE_MAX);
    assert_null(strchr(ev.message, '\n'));
    assert_non_null(strstr(ev.message, "fa_frame_alloc"));
    fa_end_frame(a);
    fa_destroy(a);
}

static void abort_only_when_asked(void **state) {
    (void)state;
    if (getenv("FA_NO_DEATH_TESTS") != NULL)
        skip(); /* death tests run in the plain build only (docs/reliability.md) */
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.abort_on_error = 1;
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        fa_alloc *a = fa_create(&cfg);
        if (a != NULL)
            fa_end_frame(a); /* FA_ERR_STATE: must abort */
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);

    fa_alloc *a = fa_create(NULL); /* the default never aborts */
    assert_int_equal(fa_end_frame(a), FA_ERR_STATE);
    fa_destroy(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_its_own_message),
        cmocka_unit_test(last_error_is_sticky_and_per_thread),
        cmocka_unit_test(another_thread_has_its_own_last_error),
        cmocka_unit_test(events_carry_code_size_and_one_line),
        cmocka_unit_test(abort_only_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
