/* SPDX-License-Identifier: MIT */
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

static void *read_detail(void *out) {
    *(const char **)out = fa_last_error_detail();
    return NULL;
}

/* A program without a callback still reads the cause: the last error's
 * line, per thread, left by successes and by warnings. */
static void detail_names_the_cause_without_a_callback(void **state) {
    (void)state;
    const char *other = NULL;
    pthread_t t;
    pthread_create(&t, NULL, read_detail, &other);
    pthread_join(t, NULL);
    assert_string_equal(other, ""); /* before any error */
    fa_alloc *a = fa_create(NULL);
    assert_non_null(a);
    assert_int_equal(fa_tag_pop(a), FA_ERR_STATE);
    assert_string_equal(fa_last_error_detail(), "fa_tag_pop: no tag is pushed on this thread");
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_string_equal(fa_last_error_detail(), "fa_tag_pop: no tag is pushed on this thread");
    assert_int_equal(fa_begin_frame(a), FA_ERR_STATE);
    assert_string_equal(fa_last_error_detail(),
                        "fa_begin_frame: already in a frame (frames do not nest; use fa_frame_mark)");
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
    assert_int_equal(fa_trim(NULL), FA_ERR_INVALID);
    assert_string_equal(fa_last_error_detail(), "fa_trim: NULL allocator");
}

/* The detail a callback reads stays the line it was given even when the
 * callback fails a call of its own. */
struct nested {
    fa_alloc *a;
    int       inside;
    char      seen[256];
};

static void fail_inside(void *user, const fa_event *ev) {
    struct nested *n = (struct nested *)user;
    if (n->inside++ != 0)
        return;
    fa_tag_pop(n->a); /* fails: FA_ERR_STATE, another message */
    assert_null(fa_frame_alloc_aligned(n->a, 8, 3));
    snprintf(n->seen, sizeof n->seen, "%s", ev->message);
}

static void a_failing_callback_leaves_its_line_alone(void **state) {
    (void)state;
    struct nested n = {0};
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.on_event = fail_inside;
    cfg.event_user = &n;
    n.a = fa_create(&cfg);
    assert_int_equal(fa_end_frame(n.a), FA_ERR_STATE);
    assert_string_equal(n.seen, "fa_end_frame: not in a frame on this thread (call fa_begin_frame)");
    assert_string_equal(fa_last_error_detail(), /* the callback's own last failure */
                        "fa_frame_alloc: not in a frame on this thread (call fa_begin_frame)");
    fa_destroy(n.a);
}

static void version_matches_the_header(void **state) {
    (void)state;
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", FA_VERSION_MAJOR, FA_VERSION_MINOR, FA_VERSION_PATCH);
    assert_string_equal(fa_version(), expected);
    assert_int_equal(FA_VERSION, FA_VERSION_MAJOR * 10000 + FA_VERSION_MINOR * 100 + FA_VERSION_PATCH);
#if FA_VERSION < 100
#error "FA_VERSION must be usable in #if"
#endif
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
        cmocka_unit_test(detail_names_the_cause_without_a_callback),
        cmocka_unit_test(a_failing_callback_leaves_its_line_alone),
        cmocka_unit_test(version_matches_the_header),
        cmocka_unit_test(abort_only_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
