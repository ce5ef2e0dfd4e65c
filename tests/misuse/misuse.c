/* SPDX-License-Identifier: MIT */
/* One program per misuse (docs/errors.md), in the manner of hardened_malloc's
 * suite: `misuse CASE` runs exactly that case in its own process, and
 * tests/misuse/CMakeLists.txt registers one ctest per row of the table at
 * the end of this file (it reads the MISUSE and BAD_REQUEST lines).
 *
 * Every case commits its misuse on a fresh allocator with a counting backend
 * and an event recorder, and asserts the exact result, the thread's last
 * error, and the exact event (code, size, tag, whole message) or that none
 * fired. The runner then checks that the allocator still works (a frame, a
 * frame allocation, a pool and a heap block) without a further event, and
 * that the backend got every byte back at fa_destroy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"

/* The expected messages spell sizes as the 64-bit library prints them. */
_Static_assert(SIZE_MAX == 18446744073709551615u, "the expected messages assume a 64-bit size_t");

#define HALF_PLUS_ONE (SIZE_MAX / 2 + 1)    /* a size that cannot be met (any above 2^55) */
#define QUARTER_PLUS_ONE (SIZE_MAX / 4 + 1) /* an alignment that cannot be met (any above 2^55) */
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define KERNEL_ADDRESS ((void *)(uintptr_t)0xffff800000000000u)

/* ---- the fixture ---------------------------------------------------------- */

struct fx {
    struct counting c;
    struct events   ev;
    fa_config       cfg;
    fa_alloc       *a;
    int             seen; /* events the case has accounted for */
};

static void fx_prepare(struct fx *f, uint32_t disable) {
    memset(f, 0, sizeof *f);
    f->cfg = test_config(&f->c, &f->ev);
    f->cfg.disable = disable;
}

static void fx_create(struct fx *f) {
    f->a = fa_create(&f->cfg);
    assert_non_null(f->a);
}

static void fx_open(struct fx *f) {
    fx_prepare(f, 0);
    fx_create(f);
}

/* Every event was one a case expected, and every byte went back. */
static void fx_close(struct fx *f) {
    fa_destroy(f->a);
    assert_int_equal(f->ev.count, f->seen);
    assert_int_equal(f->c.bytes_out, 0);
}

/* ---- what a misuse must produce ------------------------------------------- */

/* `last` (the thread's last error) is e, and exactly one event more has
 * arrived: code e, the request's size, the innermost tag path ("" for none)
 * and the whole message. */
static void expect_event(struct fx *f, int line, fa_error last, const char *tag, fa_error e, size_t size,
                         const char *fmt, ...) PRINTF_LIKE(7, 8);
static void expect_event(struct fx *f, int line, fa_error last, const char *tag, fa_error e, size_t size,
                         const char *fmt, ...) {
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    f->seen++;
    _assert_int_equal(last, e, __FILE__, line);
    _assert_int_equal(f->ev.count, f->seen, __FILE__, line);
    _assert_int_equal(f->ev.last, e, __FILE__, line);
    _assert_int_equal(f->ev.last_size, size, __FILE__, line);
    _assert_string_equal(f->ev.message, message, __FILE__, line);
    _assert_string_equal(f->ev.tag, tag, __FILE__, line);
    _assert_int_equal(f->ev.detail_differs, 0, __FILE__, line); /* without a callback: the same line */
}

/* The thread's last error is e and no event fired. */
static void expect_silent(struct fx *f, int line, fa_error e) {
    _assert_int_equal(fa_last_error(), e, __FILE__, line);
    _assert_int_equal(f->ev.count, f->seen, __FILE__, line);
}

#define EVENT(f, e, size, ...) expect_event(f, __LINE__, fa_last_error(), "", e, size, __VA_ARGS__)
#define EVENT_AT(f, tag, e, size, ...) expect_event(f, __LINE__, fa_last_error(), tag, e, size, __VA_ARGS__)
#define SILENT(f, e) expect_silent(f, __LINE__, e)

/* A call returning fa_error that fails with e and exactly this event. */
#define FAILS(f, call, e, size, ...)                                                                        \
    do {                                                                                                     \
        assert_int_equal((call), (e));                                                                       \
        EVENT(f, e, size, __VA_ARGS__);                                                                      \
    } while (0)

/* An allocation that returns NULL with e and exactly this event. */
#define REFUSES(f, call, e, size, ...)                                                                      \
    do {                                                                                                     \
        assert_null(call);                                                                                   \
        EVENT(f, e, size, __VA_ARGS__);                                                                      \
    } while (0)

/* A call given a NULL allocator: the documented failure value, last error
 * FA_ERR_INVALID, and no event anywhere (there is no allocator to send it to;
 * the live one's recorder must stay quiet). */
#define REJECTS_NULL(f, failed_as_documented)                                                               \
    do {                                                                                                     \
        assert_true(failed_as_documented);                                                                   \
        SILENT(f, FA_ERR_INVALID);                                                                           \
    } while (0)

static const char not_in_frame[] = "%s: not in a frame on this thread (call fa_begin_frame)";
static const char bad_name[] = "fa_tag_push: a name is 1 to 63 bytes with no '/' and no control character";
static const char bad_path[] = "fa_budget_set: a path is names of 1 to 63 bytes joined by '/', 16 deep at most";

static void begin(struct fx *f) {
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
}

static void end(struct fx *f) {
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static fa_frame_info frame_info(struct fx *f) {
    fa_frame_info info;
    assert_int_equal(fa_frame_info_get(f->a, &info), FA_OK);
    return info;
}

static size_t frame_bytes(struct fx *f) {
    return frame_info(f).bytes;
}

/* Two blocks of one class are distinct: a double free that slipped into the
 * cache would hand the same block out twice. */
static void expect_distinct_blocks(struct fx *f, size_t size) {
    void *p = fa_pool_alloc(f->a, size), *q = fa_pool_alloc(f->a, size);
    assert_non_null(p);
    assert_non_null(q);
    assert_ptr_not_equal(p, q);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    assert_int_equal(fa_pool_free(f->a, q), FA_OK);
}

/* After each case: the allocator serves every kind of memory, quietly. */
static void expect_usable(struct fx *f) {
    begin(f);
    void *frame = fa_frame_alloc(f->a, 100);
    assert_non_null(frame);
    memset(frame, 1, 100);
    end(f);
    void *block = fa_pool_alloc(f->a, 48);
    assert_non_null(block);
    memset(block, 2, 48);
    assert_int_equal(fa_pool_free(f->a, block), FA_OK);
    void *large = fa_heap_alloc(f->a, 100000, 4096);
    assert_non_null(large);
    memset(large, 3, 100000);
    assert_int_equal(fa_heap_free(f->a, large), FA_OK);
    assert_int_equal(f->ev.count, f->seen);
}

/* ---- other threads -------------------------------------------------------- */

/* A call made on a thread of its own; its result and that thread's last
 * error come back for the main thread to check (cmocka asserts only there). */
struct job {
    struct fx *f;
    fa_error (*work)(struct job *j);
    void    *block;
    fa_mark  mark;
    fa_error result;
    fa_error last;
};

static void *job_thread(void *arg) {
    struct job *j = (struct job *)arg;
    j->result = j->work(j);
    j->last = fa_last_error();
    return NULL;
}

static void run_job(struct job *j) {
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, job_thread, j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

/* The job failed with e and sent exactly this event (from its thread). */
#define JOB_EVENT(f, j, e, size, ...)                                                                       \
    do {                                                                                                     \
        assert_int_equal((j).result, (e));                                                                   \
        expect_event(f, __LINE__, (j).last, "", e, size, __VA_ARGS__);                                       \
    } while (0)

static fa_error free_block(struct job *j) {
    return fa_pool_free(j->f->a, j->block);
}

static fa_error rewind_in_own_frame(struct job *j) {
    fa_error e = fa_begin_frame(j->f->a);
    if (e != FA_OK)
        return e;
    e = fa_frame_rewind(j->f->a, j->mark);
    fa_error ended = fa_end_frame(j->f->a);
    return ended != FA_OK ? ended : e;
}

static fa_error frame_alloc_without_frame(struct job *j) {
    return fa_frame_alloc(j->f->a, 32) == NULL ? fa_last_error() : FA_OK;
}

/* ---- size 0 --------------------------------------------------------------- */

static void size_zero(struct fx *f) {
    begin(f);
    void *frame[] = {fa_frame_alloc(f->a, 0), fa_frame_alloc(f->a, 0), fa_frame_alloc_aligned(f->a, 0, 64),
                     fa_frame_calloc(f->a, 0, 8), fa_frame_calloc(f->a, 8, 0), fa_frame_array(f->a, 0, 8, 8)};
    void *pool[] = {fa_pool_alloc(f->a, 0), fa_pool_alloc(f->a, 0)};
    void *heap[] = {fa_heap_alloc(f->a, 0, 16), fa_heap_alloc(f->a, 0, 16)};
    void *all[] = {frame[0], frame[1], frame[2], frame[3], frame[4], frame[5], pool[0], pool[1], heap[0], heap[1]};
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        assert_non_null(all[i]);
        for (size_t k = 0; k < i; k++)
            assert_ptr_not_equal(all[i], all[k]);
    }
    SILENT(f, FA_OK);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(fa_pool_free(f->a, pool[i]), FA_OK);
        assert_int_equal(fa_heap_free(f->a, heap[i]), FA_OK);
    }
    end(f);
}

/* ---- sizes and alignments that cannot be met ------------------------------ */

/* The frame calls first: bad_request makes those in a frame. */
enum call { FRAME_ALLOC, FRAME_ALIGNED, FRAME_CALLOC, FRAME_ARRAY, POOL_ALLOC, POOL_CALLOC, HEAP_ALLOC };

/* A request that must fail: the call and its arguments, and what it gives. */
struct request {
    enum call   call;
    size_t      count, size, align; /* as the call takes them */
    fa_error    error;
    size_t      event_size;
    const char *message;
};

static void *issue(fa_alloc *a, const struct request *r) {
    switch (r->call) {
    case FRAME_ALLOC: return fa_frame_alloc(a, r->size);
    case FRAME_ALIGNED: return fa_frame_alloc_aligned(a, r->size, r->align);
    case FRAME_CALLOC: return fa_frame_calloc(a, r->count, r->size);
    case FRAME_ARRAY: return fa_frame_array(a, r->count, r->size, r->align);
    case POOL_ALLOC: return fa_pool_alloc(a, r->size);
    case POOL_CALLOC: return fa_pool_calloc(a, r->count, r->size);
    case HEAP_ALLOC: return fa_heap_alloc(a, r->size, r->align);
    }
    return NULL;
}

/* Frame requests are made in a frame, which goes on after the refusal. */
static void bad_request(struct fx *f, const struct request *r) {
    int in_frame = r->call < POOL_ALLOC;
    if (in_frame)
        begin(f);
    REFUSES(f, issue(f->a, r), r->error, r->event_size, "%s", r->message);
    if (in_frame)
        end(f);
}

/* ---- frames --------------------------------------------------------------- */

static void frame_alloc_before_begin(struct fx *f) {
    REFUSES(f, fa_frame_alloc(f->a, 16), FA_ERR_STATE, 16, not_in_frame, "fa_frame_alloc");
}

static void frame_alloc_after_end(struct fx *f) {
    begin(f);
    end(f);
    REFUSES(f, fa_frame_alloc_aligned(f->a, 40, 8), FA_ERR_STATE, 40, not_in_frame, "fa_frame_alloc");
}

static void frame_alloc_on_thread_without_frame(struct fx *f) {
    begin(f); /* this thread's frame is no other thread's */
    struct job j = {.f = f, .work = frame_alloc_without_frame};
    run_job(&j);
    JOB_EVENT(f, j, FA_ERR_STATE, 32, not_in_frame, "fa_frame_alloc");
    end(f);
}

static void nested_begin(struct fx *f) {
    begin(f);
    void *p = fa_frame_alloc(f->a, 64);
    assert_non_null(p);
    FAILS(f, fa_begin_frame(f->a), FA_ERR_STATE, 0,
          "fa_begin_frame: already in a frame (frames do not nest; use fa_frame_mark)");
    assert_int_equal(fa_frame_number(f->a), 1); /* the frame goes on, not a new one */
    assert_int_equal(frame_bytes(f), 64);
    memset(p, 0, 64);
    end(f);
    FAILS(f, fa_end_frame(f->a), FA_ERR_STATE, 0, not_in_frame, "fa_end_frame"); /* one frame was open */
}

static void end_without_begin(struct fx *f) {
    FAILS(f, fa_end_frame(f->a), FA_ERR_STATE, 0, not_in_frame, "fa_end_frame");
    assert_int_equal(fa_frame_number(f->a), 0);
}

static void end_frame_twice(struct fx *f) {
    begin(f);
    end(f);
    FAILS(f, fa_end_frame(f->a), FA_ERR_STATE, 0, not_in_frame, "fa_end_frame");
}

static void strdup_null(struct fx *f) {
    begin(f);
    REFUSES(f, fa_frame_strdup(f->a, NULL), FA_ERR_INVALID, 0, "fa_frame_strdup: NULL string");
    end(f);
}

/* Through a variable: a literal NULL format is a compile-time warning. */
static const char *const null_format = NULL;

static void printf_null(struct fx *f) {
    begin(f);
    REFUSES(f, fa_frame_printf(f->a, null_format), FA_ERR_INVALID, 0, "fa_frame_printf: NULL format");
    end(f);
}

/* A wide character the C locale cannot convert makes vsnprintf fail. */
static void printf_format_error(struct fx *f) {
    static const wchar_t unconvertible[] = {0x100, 0};
    begin(f);
    REFUSES(f, fa_frame_printf(f->a, "%ls", unconvertible), FA_ERR_INVALID, 0, "fa_frame_printf: format error");
    end(f);
}

static void frame_info_null_out(struct fx *f) {
    FAILS(f, fa_frame_info_get(f->a, NULL), FA_ERR_INVALID, 0, "fa_frame_info_get: NULL output");
}

/* ---- marks ---------------------------------------------------------------- */

static const char foreign_mark[] = "fa_frame_rewind: mark of another thread or allocator, or an empty mark";
static const char passed_mark[] = "fa_frame_rewind: mark is past the current position (already rewound over)";

/* The rewind is refused and the frame keeps every allocation it had. */
static void expect_rewind_refused(struct fx *f, fa_mark m, const char *message) {
    fa_frame_info before = frame_info(f);
    FAILS(f, fa_frame_rewind(f->a, m), FA_ERR_STATE, 0, "%s", message);
    fa_frame_info after = frame_info(f);
    assert_int_equal(after.bytes, before.bytes);
    assert_int_equal(after.allocations, before.allocations);
}

static void mark_outside_frame(struct fx *f) {
    fa_mark m = fa_frame_mark(f->a);
    EVENT(f, FA_ERR_STATE, 0, not_in_frame, "fa_frame_mark");
    begin(f);
    assert_non_null(fa_frame_alloc(f->a, 64));
    expect_rewind_refused(f, m, foreign_mark); /* the empty mark */
    end(f);
}

static void rewind_outside_frame(struct fx *f) {
    begin(f);
    fa_mark m = fa_frame_mark(f->a);
    end(f);
    FAILS(f, fa_frame_rewind(f->a, m), FA_ERR_STATE, 0, not_in_frame, "fa_frame_rewind");
}

static void mark_of_earlier_frame(struct fx *f) {
    begin(f);
    fa_mark m = fa_frame_mark(f->a);
    end(f);
    begin(f);
    assert_non_null(fa_frame_alloc(f->a, 64));
    expect_rewind_refused(f, m, "fa_frame_rewind: mark of an earlier frame");
    end(f);
}

static void mark_of_other_allocator(struct fx *f) {
    struct fx other;
    fx_open(&other);
    begin(&other);
    fa_mark m = fa_frame_mark(other.a);
    begin(f);
    assert_non_null(fa_frame_alloc(f->a, 64));
    expect_rewind_refused(f, m, foreign_mark);
    end(f);
    end(&other);
    fx_close(&other);
}

static void mark_rewound_on_other_thread(struct fx *f) {
    begin(f);
    struct job j = {.f = f, .work = rewind_in_own_frame, .mark = fa_frame_mark(f->a)};
    assert_non_null(fa_frame_alloc(f->a, 64));
    run_job(&j);
    JOB_EVENT(f, j, FA_ERR_STATE, 0, "%s", foreign_mark);
    assert_int_equal(frame_bytes(f), 64); /* nor did it touch this thread's frame */
    end(f);
}

static void mark_passed_by_rewind(struct fx *f) {
    begin(f);
    fa_mark first = fa_frame_mark(f->a);
    assert_non_null(fa_frame_alloc(f->a, 64));
    fa_mark second = fa_frame_mark(f->a);
    assert_non_null(fa_frame_alloc(f->a, 64));
    assert_int_equal(fa_frame_rewind(f->a, first), FA_OK);
    expect_rewind_refused(f, second, passed_mark);
    end(f);
}

/* The second mark lies in a chunk the first rewind gave back. */
static void mark_in_released_chunk(struct fx *f) {
    begin(f);
    assert_non_null(fa_frame_alloc(f->a, 64)); /* the first chunk, 64 KiB */
    fa_mark first = fa_frame_mark(f->a);
    assert_non_null(fa_frame_alloc(f->a, (size_t)60 << 10)); /* does not fit: the next chunk */
    fa_mark second = fa_frame_mark(f->a);
    assert_non_null(fa_frame_alloc(f->a, 64));
    assert_int_equal(fa_frame_rewind(f->a, first), FA_OK);
    expect_rewind_refused(f, second, passed_mark);
    end(f);
}

/* Between the marks, a request too large for a chunk got one of its own: the
 * second mark is past the first all the same. */
static void mark_past_dedicated_chunk(struct fx *f) {
    begin(f);
    assert_non_null(fa_frame_alloc(f->a, 64));
    fa_mark first = fa_frame_mark(f->a);
    assert_non_null(fa_frame_alloc(f->a, (size_t)256 << 10));
    fa_mark second = fa_frame_mark(f->a);
    assert_int_equal(fa_frame_rewind(f->a, first), FA_OK);
    expect_rewind_refused(f, second, passed_mark);
    end(f);
}

/* ---- double frees --------------------------------------------------------- */

static const char already_freed[] = "fa_pool_free: %p was already freed";

static void *pool_block(struct fx *f, size_t size) {
    void *p = fa_pool_alloc(f->a, size);
    assert_non_null(p);
    return p;
}

static void double_free_pool(struct fx *f) {
    void *p = pool_block(f, 64);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    FAILS(f, fa_pool_free(f->a, p), FA_ERR_DOUBLE_FREE, 0, already_freed, p);
    expect_distinct_blocks(f, 64);
}

static void double_free_pool_on_other_thread(struct fx *f) {
    void *p = pool_block(f, 64);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    struct job j = {.f = f, .work = free_block, .block = p};
    run_job(&j);
    JOB_EVENT(f, j, FA_ERR_DOUBLE_FREE, 0, already_freed, p);
    expect_distinct_blocks(f, 64);
}

/* Freed by another thread (remote), then freed again by each thread. */
static void double_free_pool_after_remote_free(struct fx *f) {
    void *p = pool_block(f, 64);
    struct job j = {.f = f, .work = free_block, .block = p};
    run_job(&j);
    assert_int_equal(j.result, FA_OK);
    FAILS(f, fa_pool_free(f->a, p), FA_ERR_DOUBLE_FREE, 0, already_freed, p);
    run_job(&j);
    JOB_EVENT(f, j, FA_ERR_DOUBLE_FREE, 0, already_freed, p);
    expect_distinct_blocks(f, 64);
}

/* Freed remotely, and taken back into the owner's cache at its next frame. */
static void double_free_pool_after_collect(struct fx *f) {
    void *p = pool_block(f, 64);
    struct job j = {.f = f, .work = free_block, .block = p};
    run_job(&j);
    assert_int_equal(j.result, FA_OK);
    begin(f); /* collects the blocks other threads freed */
    end(f);
    FAILS(f, fa_pool_free(f->a, p), FA_ERR_DOUBLE_FREE, 0, already_freed, p);
    expect_distinct_blocks(f, 64);
}

static void double_free_heap(struct fx *f) {
    void *p = fa_heap_alloc(f->a, 10000, 64);
    assert_non_null(p);
    assert_int_equal(fa_heap_free(f->a, p), FA_OK);
    FAILS(f, fa_heap_free(f->a, p), FA_ERR_DOUBLE_FREE, 0, "fa_heap_free: %p was already freed", p);
}

static void double_free_large_pool_block(struct fx *f) {
    void *p = pool_block(f, 5000); /* above the classes: the heap path */
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    FAILS(f, fa_pool_free(f->a, p), FA_ERR_DOUBLE_FREE, 0, already_freed, p);
}

/* A memory source that never hands out an address twice, so that a freed
 * heap block's address stays stale however many blocks follow. */
struct bump {
    unsigned char *base;
    size_t         size, used;
};

static fa_backend_result bump_allocate(void *ctx, size_t size, size_t align, void **out) {
    struct bump *b = (struct bump *)ctx;
    uintptr_t start = ((uintptr_t)b->base + b->used + align - 1) & ~(uintptr_t)(align - 1);
    size_t end = (size_t)(start - (uintptr_t)b->base) + size;
    if (end > b->size)
        return FA_BACKEND_FAIL;
    b->used = end;
    *out = (void *)start;
    return FA_BACKEND_OK;
}

static void bump_deallocate(void *ctx, void *p, size_t size, size_t align) {
    (void)ctx, (void)p, (void)size, (void)align; /* never reused */
}

/* The heap table keeps a freed block's tombstone until it is rebuilt (once
 * three quarters of it is used): then the block is simply not the
 * allocator's. */
static void double_free_heap_after_table_grows(struct fx *f) {
    static unsigned char memory[(size_t)4 << 20];
    struct bump bump = {memory, sizeof memory, 0};
    struct fx other;
    fx_prepare(&other, 0);
    other.c.inner = (fa_backend){&bump, bump_allocate, bump_deallocate};
    fx_create(&other);
    void *p = fa_heap_alloc(other.a, 64, 16);
    assert_non_null(p);
    assert_int_equal(fa_heap_free(other.a, p), FA_OK);
    FAILS(&other, fa_heap_free(other.a, p), FA_ERR_DOUBLE_FREE, 0, "fa_heap_free: %p was already freed", p);
    for (int i = 0; i < 64; i++) { /* tombstones until the table is rebuilt */
        void *q = fa_heap_alloc(other.a, 64, 16);
        assert_non_null(q);
        assert_int_equal(fa_heap_free(other.a, q), FA_OK);
    }
    FAILS(&other, fa_heap_free(other.a, p), FA_ERR_FOREIGN, 0, "fa_heap_free: %p is not a block of this allocator",
          p);
    fx_close(&other);
    assert_int_equal(f->ev.count, f->seen); /* the other allocator's events went to its own callback */
}

/* ---- foreign frees -------------------------------------------------------- */

static const char not_ours[] = "fa_pool_free: %p is not a block of this allocator";

/* Both frees refuse p; pool_message is fa_pool_free's (fa_heap_free always
 * says it is not a block of this allocator). */
static void expect_foreign(struct fx *f, void *p, const char *pool_message) {
    FAILS(f, fa_pool_free(f->a, p), FA_ERR_FOREIGN, 0, pool_message, p);
    FAILS(f, fa_heap_free(f->a, p), FA_ERR_FOREIGN, 0, "fa_heap_free: %p is not a block of this allocator", p);
}

static int all_bytes_are(const unsigned char *p, size_t n, unsigned char value) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != value)
            return 0;
    return 1;
}

static void foreign_malloc(struct fx *f) {
    unsigned char *p = (unsigned char *)malloc(64);
    assert_non_null(p);
    memset(p, 0x5a, 64);
    expect_foreign(f, p, not_ours);
    assert_true(all_bytes_are(p, 64, 0x5a));
    free(p);
}

static void foreign_stack(struct fx *f) {
    unsigned char local[64];
    memset(local, 0x5a, sizeof local);
    expect_foreign(f, local, not_ours);
    assert_true(all_bytes_are(local, sizeof local, 0x5a));
}

static void foreign_frame_pointer(struct fx *f) {
    begin(f);
    void *p = fa_frame_alloc(f->a, 64);
    assert_non_null(p);
    expect_foreign(f, p, not_ours);
    end(f);
}

static void foreign_other_pool_block(struct fx *f) {
    struct fx other;
    fx_open(&other);
    void *p = pool_block(&other, 64);
    expect_foreign(f, p, "fa_pool_free: %p is a block of another allocator");
    assert_int_equal(fa_pool_free(other.a, p), FA_OK); /* still its owner's */
    fx_close(&other);
}

static void foreign_other_heap_block(struct fx *f) {
    struct fx other;
    fx_open(&other);
    void *p = fa_heap_alloc(other.a, 10000, 64);
    assert_non_null(p);
    expect_foreign(f, p, not_ours);
    assert_int_equal(fa_heap_free(other.a, p), FA_OK);
    fx_close(&other);
}

static void foreign_heap_interior(struct fx *f) {
    char *p = (char *)fa_heap_alloc(f->a, 10000, 64);
    assert_non_null(p);
    expect_foreign(f, p + 64, not_ours);
    assert_int_equal(fa_heap_free(f->a, p), FA_OK);
}

static void foreign_kernel_address(struct fx *f) {
    expect_foreign(f, KERNEL_ADDRESS, not_ours);
}

static void foreign_address_one(struct fx *f) {
    expect_foreign(f, (void *)(uintptr_t)1, not_ours);
}

static void pool_free_interior(struct fx *f) {
    void *p = pool_block(f, 64), *inside = (char *)p + 8;
    FAILS(f, fa_pool_free(f->a, inside), FA_ERR_FOREIGN, 0, "fa_pool_free: %p points inside a block", inside);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK); /* the block itself is still live */
}

static void heap_free_of_pool_block(struct fx *f) {
    void *p = pool_block(f, 64);
    FAILS(f, fa_heap_free(f->a, p), FA_ERR_FOREIGN, 0, "fa_heap_free: %p is a pool block (use fa_pool_free)", p);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
}

static void free_null(struct fx *f) {
    assert_int_equal(fa_pool_free(f->a, NULL), FA_OK);
    assert_int_equal(fa_heap_free(f->a, NULL), FA_OK);
    SILENT(f, FA_OK);
}

/* ---- the memory source refusing ------------------------------------------- */

/* Each kind of memory asks the backend answering `mode`, fails cleanly, and
 * asks again once it answers OK. */
static void backend_answers(struct fx *f, enum counting_mode mode) {
    begin(f);
    atomic_store(&f->c.mode, mode);
    REFUSES(f, fa_frame_alloc(f->a, 100), FA_ERR_NOMEM, 100,
            "fa_frame_alloc: the memory source refused a chunk for 100 bytes");
    REFUSES(f, fa_pool_alloc(f->a, 64), FA_ERR_NOMEM, 64, "fa_pool_alloc: the memory source refused a slab");
    REFUSES(f, fa_pool_alloc(f->a, 5000), FA_ERR_NOMEM, 5000, "fa_pool_alloc: the memory source refused 5000 bytes");
    REFUSES(f, fa_heap_alloc(f->a, 10000, 64), FA_ERR_NOMEM, 10000,
            "fa_heap_alloc: the memory source refused 10000 bytes");
    atomic_store(&f->c.mode, ANSWER_OK);
    assert_non_null(fa_frame_alloc(f->a, 100));
    end(f);
}

static void backend_fails(struct fx *f) {
    backend_answers(f, ANSWER_FAIL);
}

static void backend_ok_with_null(struct fx *f) {
    backend_answers(f, ANSWER_OK_NULL);
}

static void backend_misaligned(struct fx *f) {
    backend_answers(f, ANSWER_MISALIGNED);
}

/* ---- NULL allocator ------------------------------------------------------- */

static char *vprintf_on(fa_alloc *a, const char *fmt, ...) PRINTF_LIKE(2, 3);
static char *vprintf_on(fa_alloc *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = fa_frame_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

/* A writer that counts its calls and answers `answer` (non-zero: refused). */
struct writer {
    int calls;
    int answer;
};

static int counted_write(void *user, const char *text, size_t length) {
    struct writer *w = (struct writer *)user;
    (void)text, (void)length;
    w->calls++;
    return w->answer;
}

/* A case that only makes one call with a NULL allocator. */
#define NULL_CASE(name, failed_as_documented)                                                               \
    static void name(struct fx *f) {                                                                         \
        REJECTS_NULL(f, failed_as_documented);                                                               \
    }

static unsigned char stack_block[64];

NULL_CASE(null_begin_frame, fa_begin_frame(NULL) == FA_ERR_INVALID)
NULL_CASE(null_end_frame, fa_end_frame(NULL) == FA_ERR_INVALID)
NULL_CASE(null_frame_number, fa_frame_number(NULL) == 0)
NULL_CASE(null_frame_alloc, fa_frame_alloc(NULL, 16) == NULL)
NULL_CASE(null_frame_alloc_aligned, fa_frame_alloc_aligned(NULL, 16, 64) == NULL)
NULL_CASE(null_frame_calloc, fa_frame_calloc(NULL, 4, 4) == NULL)
NULL_CASE(null_frame_array, fa_frame_array(NULL, 4, 4, 4) == NULL)
NULL_CASE(null_frame_new, fa_frame_new(NULL, double) == NULL && fa_frame_new_array(NULL, double, 3) == NULL)
NULL_CASE(null_frame_strdup, fa_frame_strdup(NULL, "x") == NULL)
NULL_CASE(null_frame_strdup_null_string, fa_frame_strdup(NULL, NULL) == NULL)
NULL_CASE(null_frame_printf, fa_frame_printf(NULL, "%d", 1) == NULL)
NULL_CASE(null_frame_vprintf, vprintf_on(NULL, "%d", 1) == NULL)
NULL_CASE(null_frame_info_get, fa_frame_info_get(NULL, &(fa_frame_info){0}) == FA_ERR_INVALID)
NULL_CASE(null_pool_alloc, fa_pool_alloc(NULL, 64) == NULL)
NULL_CASE(null_pool_alloc_large, fa_pool_alloc(NULL, 5000) == NULL)
NULL_CASE(null_pool_free, fa_pool_free(NULL, stack_block) == FA_ERR_INVALID)
NULL_CASE(null_heap_alloc, fa_heap_alloc(NULL, 64, 16) == NULL)
NULL_CASE(null_heap_free, fa_heap_free(NULL, stack_block) == FA_ERR_INVALID)
NULL_CASE(null_trim, fa_trim(NULL) == FA_ERR_INVALID)
NULL_CASE(null_tag_push, fa_tag_push(NULL, "ai") == FA_ERR_INVALID)
NULL_CASE(null_tag_pop, fa_tag_pop(NULL) == FA_ERR_INVALID)
NULL_CASE(null_budget_set, fa_budget_set(NULL, NULL, 0, 100) == FA_ERR_INVALID)
NULL_CASE(null_frame_budget_set, fa_frame_budget_set(NULL, 0, 100) == FA_ERR_INVALID)
NULL_CASE(null_stats_get, fa_stats_get(NULL, &(fa_stats){0}) == FA_ERR_INVALID)
NULL_CASE(null_history_get, fa_history_get(NULL, &(fa_frame_record){0}, 1) == 0)
NULL_CASE(null_history_summary_get, fa_history_summary_get(NULL, &(fa_history_summary){0}) == FA_ERR_INVALID)
NULL_CASE(null_write_json, fa_write_json(NULL, stdout) == FA_ERR_INVALID)

NULL_CASE(null_thread_metrics_get, fa_thread_metrics_get(NULL, NULL, 0) == 0)
NULL_CASE(null_tag_metrics_get, fa_tag_metrics_get(NULL, NULL, 0) == 0)
NULL_CASE(null_sites_get, fa_sites_get(NULL, NULL, 0, 0.0) == 0)
NULL_CASE(null_sites_reset, fa_sites_reset(NULL) == FA_ERR_INVALID)
NULL_CASE(null_bandwidth_record, fa_bandwidth_record(NULL, 1, 1) == FA_ERR_INVALID)
NULL_CASE(null_bandwidth_copy, fa_bandwidth_copy(NULL, stack_block, stack_block + 32, 16) == 0)
NULL_CASE(null_bandwidth_scan, fa_bandwidth_scan(NULL, stack_block, 16) == 0)
NULL_CASE(null_bandwidth_get, fa_bandwidth_get(NULL, &(uint64_t){0}, &(uint64_t){0}) == FA_ERR_INVALID)
NULL_CASE(null_trace_start, fa_trace_start(NULL, "trace.json") == FA_ERR_INVALID)
NULL_CASE(null_trace_stop, fa_trace_stop(NULL) == FA_ERR_INVALID)

static void null_write_json_to(struct fx *f) {
    struct writer w = {0, 0};
    REJECTS_NULL(f, fa_write_json_to(NULL, counted_write, &w) == FA_ERR_INVALID);
    assert_int_equal(w.calls, 0);
}

/* The empty mark is one no rewind accepts. */
static void null_frame_mark(struct fx *f) {
    fa_mark m = fa_frame_mark(NULL);
    SILENT(f, FA_ERR_INVALID);
    begin(f);
    expect_rewind_refused(f, m, foreign_mark);
    end(f);
}

static void null_frame_rewind(struct fx *f) {
    begin(f);
    fa_mark m = fa_frame_mark(f->a);
    assert_non_null(fa_frame_alloc(f->a, 64));
    REJECTS_NULL(f, fa_frame_rewind(NULL, m) == FA_ERR_INVALID);
    assert_int_equal(frame_bytes(f), 64);
    end(f);
}

static void null_destroy(struct fx *f) {
    fa_destroy(NULL);
    SILENT(f, FA_OK); /* like free(NULL): not even an error */
}

/* A NULL set is an empty one. */
static void null_numa_set(struct fx *f) {
    assert_int_equal(fa_numa_set_count(NULL), 0);
    assert_null(fa_numa_set_at(NULL, 0));
    assert_null(fa_numa_set_local(NULL));
    fa_numa_set_destroy(NULL);
    assert_int_equal(f->ev.count, f->seen);
}

/* ---- allocators: destroy, config ------------------------------------------ */

static void destroy_twice(struct fx *f) {
    struct fx other;
    fx_open(&other);
    assert_non_null(pool_block(&other, 64)); /* reclaimed by the destroy */
    fx_close(&other);
    fa_destroy(other.a);
    SILENT(f, FA_ERR_INVALID);
    assert_int_equal(other.ev.count, other.seen); /* nothing touched, nothing sent */
}

/* fa_create refuses cfg: NULL, FA_ERR_INVALID, and the event through the
 * config's callback (none for a layout it cannot trust: message NULL). */
static void expect_config_refused(struct fx *f, const fa_config *cfg, const char *message) {
    assert_null(fa_create(cfg));
    if (message == NULL)
        SILENT(f, FA_ERR_INVALID);
    else
        EVENT(f, FA_ERR_INVALID, 0, "fa_create: %s", message);
}

/* A case that changes the fixture's config (`change` acts on cfg) and
 * expects fa_create to refuse it. */
#define BAD_CONFIG(name, change, message)                                                                   \
    static void name(struct fx *f) {                                                                         \
        fa_config cfg = f->cfg;                                                                              \
        change;                                                                                              \
        expect_config_refused(f, &cfg, message);                                                             \
    }

static const char bad_chunk_align[] = "frame_chunk_align is not a power of two from 64 to frame_chunk_max";
static const char bad_slab_size[] = "slab_size is not a power of two from 64 KiB to 1 MiB";
static const char half_backend[] = "backend needs both allocate and deallocate";

BAD_CONFIG(config_size_mismatch, cfg.size = sizeof cfg + 8, NULL)
BAD_CONFIG(config_version_newer, cfg.version = FA_CONFIG_VERSION + 1, NULL)
BAD_CONFIG(config_backend_allocate_only, cfg.backend.deallocate = NULL, half_backend)
BAD_CONFIG(config_backend_deallocate_only, cfg.backend.allocate = NULL, half_backend)
BAD_CONFIG(config_chunk_first_below_4k, cfg.frame_chunk_first = 4095, "frame_chunk_first is below 4 KiB")
BAD_CONFIG(config_chunk_max_below_first, cfg.frame_chunk_first = cfg.frame_chunk_max * 2,
           "frame_chunk_max is below frame_chunk_first")
BAD_CONFIG(config_chunk_max_too_large, cfg.frame_chunk_max = QUARTER_PLUS_ONE, "frame_chunk_max is too large")
BAD_CONFIG(config_chunk_align_not_pow2, cfg.frame_chunk_align = 96, bad_chunk_align)
BAD_CONFIG(config_chunk_align_below_64, cfg.frame_chunk_align = 32, bad_chunk_align)
BAD_CONFIG(config_chunk_align_above_max, cfg.frame_chunk_align = cfg.frame_chunk_max * 2, bad_chunk_align)
BAD_CONFIG(config_slab_size_not_pow2, cfg.slab_size = (size_t)96 << 10, bad_slab_size)
BAD_CONFIG(config_slab_size_below_64k, cfg.slab_size = (size_t)32 << 10, bad_slab_size)
BAD_CONFIG(config_slab_size_above_1m, cfg.slab_size = (size_t)2 << 20, bad_slab_size)
BAD_CONFIG(config_unknown_disable_bits, cfg.disable = FA_DISABLE_ALL + 1, "disable has bits other than FA_DISABLE_*")
BAD_CONFIG(config_frame_budget_soft_above_hard, (cfg.frame_budget_soft = 2000, cfg.frame_budget_hard = 1000),
           "frame_budget_soft is above frame_budget_hard")
BAD_CONFIG(config_version_1_with_this_size, cfg.version = 1, NULL)
BAD_CONFIG(config_max_tags_too_large, cfg.max_tags = FA_TAG_PATHS_MAX + 1, "max_tags is above FA_TAG_PATHS_MAX")
BAD_CONFIG(config_max_budgets_too_large, cfg.max_budgets = FA_BUDGET_MAX + 1, "max_budgets is above FA_BUDGET_MAX")
BAD_CONFIG(config_max_tag_depth_too_large, cfg.max_tag_depth = FA_TAG_DEPTH_MAX + 1,
           "max_tag_depth is above FA_TAG_DEPTH_MAX")
BAD_CONFIG(config_frame_budget_while_disabled, (cfg.disable = FA_DISABLE_BUDGETS, cfg.frame_budget_hard = 1000),
           "a frame budget is set but budgets are disabled")

/* A set is made node by node; a node's fa_create reports through the config. */
static void numa_set_bad_config(struct fx *f) {
    fa_config cfg = f->cfg;
    cfg.frame_chunk_first = 4095;
    assert_null(fa_numa_set_create(&cfg, (size_t)1 << 20));
    EVENT(f, FA_ERR_INVALID, 0, "fa_create: frame_chunk_first is below 4 KiB");
}

/* More address space than the machine has: the source reports, quietly. */
#define UNRESERVABLE ((size_t)1 << 60)

static void numa_set_reservation_refused(struct fx *f) {
    assert_null(fa_numa_set_create(&f->cfg, UNRESERVABLE));
    SILENT(f, FA_ERR_NOMEM);
}

/* ---- memory sources ------------------------------------------------------- */

static int is_zero(const fa_backend *b) {
    static const fa_backend zero;
    return memcmp(b, &zero, sizeof zero) == 0;
}

/* A constructor that must make nothing: the code, the last error, *b still
 * all zero, and no event (there is no allocator to send it to). */
static void expect_nothing_made(struct fx *f, fa_error got, fa_error e, const fa_backend *b) {
    assert_int_equal(got, e);
    SILENT(f, e);
    assert_true(b == NULL || is_zero(b));
}

static void source_fixed_null_out(struct fx *f) {
    char buffer[4096];
    expect_nothing_made(f, fa_source_fixed(NULL, buffer, sizeof buffer), FA_ERR_INVALID, NULL);
}

static void source_fixed_null_buffer(struct fx *f) {
    fa_backend b = {0};
    expect_nothing_made(f, fa_source_fixed(&b, NULL, 4096), FA_ERR_INVALID, &b);
}

static void source_fixed_size_zero(struct fx *f) {
    char buffer[4096];
    fa_backend b = {0};
    expect_nothing_made(f, fa_source_fixed(&b, buffer, 0), FA_ERR_INVALID, &b);
}

static void source_fixed_one_byte(struct fx *f) {
    _Alignas(16) char buffer[16];
    fa_backend b = {0};
    expect_nothing_made(f, fa_source_fixed(&b, buffer, 1), FA_ERR_INVALID, &b);
}

/* 16 bytes that straddle a 16-byte boundary hold no aligned grain. */
static void source_fixed_no_aligned_grain(struct fx *f) {
    _Alignas(16) char buffer[32];
    fa_backend b = {0};
    expect_nothing_made(f, fa_source_fixed(&b, buffer + 1, 16), FA_ERR_INVALID, &b);
}

static void source_mmap_null_out(struct fx *f) {
    expect_nothing_made(f, fa_source_mmap(NULL, (size_t)1 << 20, FA_HUGE_NONE), FA_ERR_INVALID, NULL);
}

static void source_mmap_unknown_huge_mode(struct fx *f) {
    fa_backend b = {0};
    expect_nothing_made(f, fa_source_mmap(&b, (size_t)1 << 20, (fa_huge_pages)7), FA_ERR_INVALID, &b);
}

static void source_mmap_reservation_refused(struct fx *f) {
    fa_backend b = {0};
    expect_nothing_made(f, fa_source_mmap(&b, UNRESERVABLE, FA_HUGE_NONE), FA_ERR_NOMEM, &b);
}

static void source_numa_null_out(struct fx *f) {
    expect_nothing_made(f, fa_source_numa(NULL, 0, (size_t)1 << 20), FA_ERR_INVALID, NULL);
}

static void source_numa_negative_node(struct fx *f) {
    fa_backend b = {0};
    expect_nothing_made(f, fa_source_numa(&b, -1, (size_t)1 << 20), FA_ERR_INVALID, &b);
}

static void source_numa_reservation_refused(struct fx *f) {
    fa_backend b = {0};
    expect_nothing_made(f, fa_source_numa(&b, 0, UNRESERVABLE), FA_ERR_NOMEM, &b);
}

/* A node the machine does not have: a working source, bound to no node. */
static void source_numa_missing_node(struct fx *f) {
    fa_backend b = {0};
    assert_int_equal(fa_source_numa(&b, 1000, (size_t)1 << 20), FA_OK);
    fa_source_info info;
    assert_int_equal(fa_source_info_get(&b, &info), FA_OK);
    assert_int_equal(info.numa_node, -1);
    void *p = NULL;
    assert_int_equal(b.allocate(b.ctx, 4096, 64, &p), FA_BACKEND_OK);
    memset(p, 0, 4096);
    b.deallocate(b.ctx, p, 4096, 64);
    fa_source_destroy(&b);
    SILENT(f, FA_OK);
}

static void source_failing_null_out(struct fx *f) {
    expect_nothing_made(f, fa_source_failing(NULL, fa_backend_system(), FA_FAIL_NEVER, 0), FA_ERR_INVALID, NULL);
}

static void source_failing_bad_mode(struct fx *f) {
    fa_backend b = {0};
    expect_nothing_made(f, fa_source_failing(&b, fa_backend_system(), (fa_fail_mode)9, 1), FA_ERR_INVALID, &b);
}

static void source_failing_half_backend(struct fx *f) {
    fa_backend b = {0}, half = fa_backend_system();
    half.deallocate = NULL;
    expect_nothing_made(f, fa_source_failing(&b, half, FA_FAIL_NEVER, 0), FA_ERR_INVALID, &b);
}

static void source_info_of_own_backend(struct fx *f) {
    fa_source_info info;
    expect_nothing_made(f, fa_source_info_get(&f->cfg.backend, &info), FA_ERR_INVALID, NULL);
}

static void source_info_null(struct fx *f) {
    fa_source_info info;
    fa_backend system = fa_backend_system();
    assert_int_equal(fa_source_info_get(NULL, &info), FA_ERR_INVALID);
    expect_nothing_made(f, fa_source_info_get(&system, NULL), FA_ERR_INVALID, NULL);
}

static void source_failing_set_of_own_backend(struct fx *f) {
    expect_nothing_made(f, fa_source_failing_set(&f->cfg.backend, FA_FAIL_EVERY_NTH, 1), FA_ERR_INVALID, NULL);
}

/* A source of the library's, but not a failing one. */
static void source_failing_set_of_fixed_source(struct fx *f) {
    static char buffer[4096];
    fa_backend b = {0};
    assert_int_equal(fa_source_fixed(&b, buffer, sizeof buffer), FA_OK);
    expect_nothing_made(f, fa_source_failing_set(&b, FA_FAIL_EVERY_NTH, 1), FA_ERR_INVALID, NULL);
    fa_source_destroy(&b);
}

static void source_failing_set_bad_mode(struct fx *f) {
    fa_backend b = {0};
    assert_int_equal(fa_source_failing(&b, fa_backend_system(), FA_FAIL_NEVER, 0), FA_OK);
    expect_nothing_made(f, fa_source_failing_set(&b, (fa_fail_mode)9, 1), FA_ERR_INVALID, NULL);
    fa_source_destroy(&b);
}

/* Not the library's to release: left as they are. */
static void source_destroy_of_others(struct fx *f) {
    fa_backend system = fa_backend_system(), own = f->cfg.backend;
    fa_source_destroy(&system);
    fa_source_destroy(&own);
    fa_source_destroy(NULL);
    assert_true(system.allocate == fa_backend_system().allocate);
    assert_true(own.ctx == f->cfg.backend.ctx && own.allocate == f->cfg.backend.allocate);
    SILENT(f, FA_OK);
}

/* ---- tags ----------------------------------------------------------------- */

/* A name one byte over the limit, in room for FA_TAG_NAME_MAX + 2 bytes. */
static const char *name_over_max(char *room) {
    memset(room, 'x', FA_TAG_NAME_MAX + 1);
    room[FA_TAG_NAME_MAX + 1] = '\0';
    return room;
}

/* Nothing is pushed on this thread: a pop says so. */
static void expect_no_tag(struct fx *f) {
    FAILS(f, fa_tag_pop(f->a), FA_ERR_STATE, 0, "fa_tag_pop: no tag is pushed on this thread");
}

static void expect_bad_name(struct fx *f, const char *name) {
    FAILS(f, fa_tag_push(f->a, name), FA_ERR_INVALID, 0, bad_name);
    expect_no_tag(f);
}

static void tag_push_null(struct fx *f) {
    expect_bad_name(f, NULL);
}

static void tag_push_empty(struct fx *f) {
    expect_bad_name(f, "");
}

static void tag_push_too_long(struct fx *f) {
    char name[FA_TAG_NAME_MAX + 2];
    expect_bad_name(f, name_over_max(name));
}

static void tag_push_slash(struct fx *f) {
    expect_bad_name(f, "render/shadows");
}

static void tag_push_control_char(struct fx *f) {
    expect_bad_name(f, "tab\there");
}

static void tag_push_non_ascii(struct fx *f) {
    expect_bad_name(f, "caf\xc3\xa9");
}

static void tag_pop_without_push(struct fx *f) {
    expect_no_tag(f);
}

static void tag_push_17th(struct fx *f) {
    for (int i = 0; i < FA_TAG_DEPTH; i++)
        assert_int_equal(fa_tag_push(f->a, "a"), FA_OK);
    assert_int_equal(fa_tag_push(f->a, "b"), FA_ERR_STATE);
    /* with tags off (a minimal build) everything is at the root */
    EVENT_AT(f, FA_MINIMAL ? "" : "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", FA_ERR_STATE, 0,
             "fa_tag_push: 16 tags are pushed already (cfg.max_tag_depth; pop some first)");
    for (int i = 0; i < FA_TAG_DEPTH; i++)
        assert_int_equal(fa_tag_pop(f->a), FA_OK);
    expect_no_tag(f); /* the refused push left nothing behind */
}

/* Interns paths p1 .. p63 under the root: 64 with the root. */
static void fill_tag_paths(struct fx *f) {
    for (int i = 1; i < FA_TAG_MAX; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        assert_int_equal(fa_tag_push(f->a, name), FA_OK);
        assert_int_equal(fa_tag_pop(f->a), FA_OK);
    }
}

static void tag_push_65th_path(struct fx *f) {
    fill_tag_paths(f);
    FAILS(f, fa_tag_push(f->a, "p64"), FA_ERR_NOMEM, 0,
          "fa_tag_push: the tag table is full: no room for path p64 (64 paths at most: cfg.max_tags)");
    expect_no_tag(f);
    assert_int_equal(fa_tag_push(f->a, "p1"), FA_OK); /* known paths still push */
    void *p = pool_block(f, 64);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    assert_int_equal(fa_tag_pop(f->a), FA_OK);
}

/* ---- budgets -------------------------------------------------------------- */

static fa_stats *snapshot(struct fx *f) {
    fa_stats *st = stats_of(f->a);
    assert_non_null(st);
    return st;
}

static void budget_soft_above_hard(struct fx *f) {
    FAILS(f, fa_budget_set(f->a, NULL, 2000, 1000), FA_ERR_INVALID, 0,
          "fa_budget_set: soft limit 2000 is above hard limit 1000");
    fa_stats *st = snapshot(f);
    assert_int_equal(st->global_budget.soft, 0); /* nothing changed */
    assert_int_equal(st->global_budget.hard, 0);
    free(st);
}

static void frame_budget_soft_above_hard(struct fx *f) {
    FAILS(f, fa_frame_budget_set(f->a, 2000, 1000), FA_ERR_INVALID, 0,
          "fa_frame_budget_set: soft limit 2000 is above hard limit 1000");
    fa_stats *st = snapshot(f);
    assert_int_equal(st->frame_budget.soft, 0);
    assert_int_equal(st->frame_budget.hard, 0);
    free(st);
}

static void budget_bad_paths(struct fx *f) {
    char long_name[FA_TAG_NAME_MAX + 2];
    const char *const paths[] = {
        "a//b", "/a", "a/", "tab\there", "caf\xc3\xa9", name_over_max(long_name),
        "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", /* 17 deep */
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        FAILS(f, fa_budget_set(f->a, paths[i], 0, 100), FA_ERR_INVALID, 0, bad_path);
    fa_stats *st = snapshot(f);
    assert_int_equal(st->tag_count, 1); /* a bad path interns nothing */
    free(st);
}

static void budget_32nd_path(struct fx *f) {
    char path[8];
    for (int i = 1; i < 32; i++) {
        snprintf(path, sizeof path, "b%d", i);
        assert_int_equal(fa_budget_set(f->a, path, 0, 100000), FA_OK);
    }
    FAILS(f, fa_budget_set(f->a, "b32", 0, 100000), FA_ERR_NOMEM, 0,
          "fa_budget_set: the budget table is full: all 31 tag budgets are taken (cfg.max_budgets)");
    assert_int_equal(fa_budget_set(f->a, "b1", 0, 200000), FA_OK); /* existing ones still change */
}

static void budget_new_path_when_64_exist(struct fx *f) {
    fill_tag_paths(f);
    FAILS(f, fa_budget_set(f->a, "new", 0, 100), FA_ERR_NOMEM, 0,
          "fa_budget_set: the tag table is full: no room for another tag path (64 paths at most: "
          "cfg.max_tags)");
    assert_int_equal(fa_budget_set(f->a, "p1", 0, 100000), FA_OK);
}

static void budget_empty_path_is_global(struct fx *f) {
    assert_int_equal(fa_budget_set(f->a, "", 0, 123456), FA_OK);
    SILENT(f, FA_OK);
    fa_stats *st = snapshot(f);
    assert_int_equal(st->global_budget.hard, 123456);
    assert_int_equal(st->tag_count, 1);
    free(st);
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 0), FA_OK);
}

static void budget_set_budgets_off(struct fx *f) {
    FAILS(f, fa_budget_set(f->a, NULL, 0, 100), FA_ERR_STATE, 0,
          "fa_budget_set: budgets are off in this allocator's config");
}

static void frame_budget_set_budgets_off(struct fx *f) {
    FAILS(f, fa_frame_budget_set(f->a, 0, 100), FA_ERR_STATE, 0,
          "fa_frame_budget_set: budgets are off in this allocator's config");
}

static void budget_set_path_tags_off(struct fx *f) {
    FAILS(f, fa_budget_set(f->a, "ai", 0, 100), FA_ERR_STATE, 0,
          "fa_budget_set: tags are off in this allocator's config");
}

static void budget_hard_global(struct fx *f) {
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 10000), FA_OK);
    REFUSES(f, fa_heap_alloc(f->a, 20000, 64), FA_ERR_BUDGET, 20000,
            "fa_heap_alloc: budget (global) would pass its hard limit of 10000 bytes (20000 more asked)");
    fa_stats *st = snapshot(f);
    assert_int_equal(st->global_budget.refusals, 1);
    assert_int_equal(st->heap.allocations, 0); /* nothing else changed */
    free(st);
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 0), FA_OK);
}

static void budget_hard_tag(struct fx *f) {
    assert_int_equal(fa_budget_set(f->a, "ai", 0, 10000), FA_OK);
    assert_int_equal(fa_tag_push(f->a, "ai"), FA_OK);
    assert_null(fa_pool_alloc(f->a, 20000));
    EVENT_AT(f, "ai", FA_ERR_BUDGET, 20000,
             "fa_pool_alloc: budget ai would pass its hard limit of 10000 bytes (20000 more asked)");
    assert_int_equal(fa_tag_pop(f->a), FA_OK);
    assert_int_equal(fa_budget_set(f->a, "ai", 0, 0), FA_OK);
}

static void frame_budget_hard(struct fx *f) {
    assert_int_equal(fa_frame_budget_set(f->a, 0, 4096), FA_OK);
    begin(f);
    REFUSES(f, fa_frame_alloc(f->a, 8192), FA_ERR_BUDGET, 8192,
            "fa_frame_alloc: the frame budget's hard limit of 4096 bytes would be passed (0 used, 8192 more asked)");
    assert_non_null(fa_frame_alloc(f->a, 1024)); /* within it, still served */
    end(f);
    assert_int_equal(fa_frame_budget_set(f->a, 0, 0), FA_OK);
}

/* A warning: FA_OK, the allocation served, the last error not set; once
 * per crossing. */
static void budget_soft_crossing(struct fx *f) {
    assert_int_equal(fa_budget_set(f->a, NULL, 10000, 0), FA_OK);
    void *p = fa_heap_alloc(f->a, 20000, 64);
    assert_non_null(p);
    EVENT(f, FA_OK, 20000, "fa_heap_alloc: budget (global) crossed its soft limit of 10000 bytes");
    void *q = fa_heap_alloc(f->a, 20000, 64);
    assert_non_null(q);
    SILENT(f, FA_OK); /* still above: no second warning */
    assert_int_equal(fa_heap_free(f->a, p), FA_OK);
    assert_int_equal(fa_heap_free(f->a, q), FA_OK);
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 0), FA_OK);
}

static void frame_budget_soft_crossing(struct fx *f) {
    assert_int_equal(fa_frame_budget_set(f->a, 4096, 0), FA_OK);
    begin(f);
    assert_non_null(fa_frame_alloc(f->a, 8192));
    EVENT(f, FA_OK, 8192, "fa_frame_alloc: the frame budget crossed its soft limit of 4096 bytes");
    assert_non_null(fa_frame_alloc(f->a, 8192));
    SILENT(f, FA_OK); /* once per frame */
    end(f);
    assert_int_equal(fa_frame_budget_set(f->a, 0, 0), FA_OK);
}

/* ---- statistics, history, JSON -------------------------------------------- */

static void stats_null_out(struct fx *f) {
    FAILS(f, fa_stats_get(f->a, NULL), FA_ERR_INVALID, 0, "fa_stats_get: NULL output");
}

static void expect_stats_mismatch(struct fx *f, uint32_t size, uint32_t version) {
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    assert_non_null(st);
    st->size = size;
    st->version = version;
    FAILS(f, fa_stats_get(f->a, st), FA_ERR_INVALID, 0, "fa_stats_get: fa_stats size or version does not match");
    assert_int_equal(st->frame_number, 0); /* not filled */
    free(st);
}

static void stats_bad_size(struct fx *f) {
    expect_stats_mismatch(f, sizeof(fa_stats) - 4, 0); /* no version's size */
}

static void stats_newer_version(struct fx *f) {
    expect_stats_mismatch(f, 0, FA_STATS_VERSION + 1);
}

static void stats_version_1(struct fx *f) {
    expect_stats_mismatch(f, 0, 1); /* a layout this library does not serve */
}

static void stats_version_2_with_this_size(struct fx *f) {
    expect_stats_mismatch(f, sizeof(fa_stats), 2);
}

static void config_get_null_out(struct fx *f) {
    FAILS(f, fa_config_get(f->a, NULL), FA_ERR_INVALID, 0, "fa_config_get: NULL output");
}

static void null_config_get(struct fx *f) {
    fa_config cfg;
    REJECTS_NULL(f, fa_config_get(NULL, &cfg) == FA_ERR_INVALID);
}

static void tag_stats_null_out(struct fx *f) {
    assert_int_equal(fa_tag_stats_get(f->a, NULL, 0), 1); /* asks for the count only: fine */
    SILENT(f, FA_OK);
    assert_int_equal(fa_tag_stats_get(f->a, NULL, 2), 0);
    EVENT(f, FA_ERR_INVALID, 0, "fa_tag_stats_get: NULL output");
}

static void null_tag_stats_get(struct fx *f) {
    fa_tag_stats out[1];
    REJECTS_NULL(f, fa_tag_stats_get(NULL, out, 1) == 0);
}

static void tag_stats_off(struct fx *f) {
    fa_tag_stats out[1];
    assert_int_equal(fa_tag_stats_get(f->a, out, 1), 0);
    EVENT(f, FA_ERR_STATE, 0, "fa_tag_stats_get: statistics are off in this allocator's config");
}

/* No error yet on this thread: the detail is empty, not stale or NULL. */
static void detail_before_any_error(struct fx *f) {
    assert_string_equal(fa_last_error_detail(), "");
    SILENT(f, FA_OK);
}

/* A second allocator with small tables, reporting to the fixture's recorder. */
static void small_tables_fill(struct fx *f) {
    fa_config cfg = f->cfg;
    cfg.max_tags = 2;
    cfg.max_budgets = 1;
    cfg.max_tag_depth = 1;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    assert_int_equal(fa_budget_set(a, "one", 0, 1 << 20), FA_OK); /* the second path, its budget */
    assert_int_equal(fa_budget_set(a, "two", 0, 1 << 20), FA_ERR_NOMEM);
    EVENT(f, FA_ERR_NOMEM, 0, "fa_budget_set: the tag table is full: no room for another tag path (2 paths at "
                              "most: cfg.max_tags)");
    assert_int_equal(fa_budget_set(a, "one/two", 0, 1 << 20), FA_ERR_INVALID);
    EVENT(f, FA_ERR_INVALID, 0, "fa_budget_set: a path is names of 1 to 63 bytes joined by '/', 1 deep at most");
    assert_int_equal(fa_tag_push(a, "one"), FA_OK);
    assert_int_equal(fa_tag_push(a, "one"), FA_ERR_STATE);
    EVENT_AT(f, "one", FA_ERR_STATE, 0, "fa_tag_push: 1 tags are pushed already (cfg.max_tag_depth; pop some first)");
    assert_int_equal(fa_tag_pop(a), FA_OK);
    assert_int_equal(fa_tag_push(a, "other"), FA_ERR_NOMEM);
    EVENT(f, FA_ERR_NOMEM, 0, "fa_tag_push: the tag table is full: no room for path other (2 paths at most: "
                              "cfg.max_tags)");
    fa_destroy(a);

    cfg.max_tags = 3;
    a = fa_create(&cfg);
    assert_int_equal(fa_budget_set(a, "one", 0, 1 << 20), FA_OK);
    assert_int_equal(fa_budget_set(a, "two", 0, 1 << 20), FA_ERR_NOMEM);
    EVENT(f, FA_ERR_NOMEM, 0, "fa_budget_set: the budget table is full: all 1 tag budgets are taken "
                              "(cfg.max_budgets)");
    fa_destroy(a);
}

static void stats_off(struct fx *f) {
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    assert_non_null(st);
    FAILS(f, fa_stats_get(f->a, st), FA_ERR_STATE, 0, "fa_stats_get: statistics are off in this allocator's config");
    free(st);
}

/* The snapshot needs the statistics. */
static void write_json_stats_off(struct fx *f) {
    FAILS(f, fa_write_json(f->a, stdout), FA_ERR_STATE, 0,
          "fa_write_json_to: statistics are off in this allocator's config");
}

static void history_null_out(struct fx *f) {
    assert_int_equal(fa_history_get(f->a, NULL, 0), 0); /* asks for nothing: fine */
    SILENT(f, FA_OK);
    assert_int_equal(fa_history_get(f->a, NULL, 4), 0);
    EVENT(f, FA_ERR_INVALID, 0, "fa_history_get: NULL output");
}

static void history_summary_null_out(struct fx *f) {
    FAILS(f, fa_history_summary_get(f->a, NULL), FA_ERR_INVALID, 0, "fa_history_summary_get: NULL output");
}

static void write_json_null_stream(struct fx *f) {
    FAILS(f, fa_write_json(f->a, NULL), FA_ERR_INVALID, 0, "fa_write_json: NULL output");
}

static void write_json_to_null_writer(struct fx *f) {
    FAILS(f, fa_write_json_to(f->a, NULL, NULL), FA_ERR_INVALID, 0, "fa_write_json_to: NULL output");
}

static void write_json_writer_fails(struct fx *f) {
    struct writer w = {0, 1};
    FAILS(f, fa_write_json_to(f->a, counted_write, &w), FA_ERR_STATE, 0,
          "fa_write_json_to: the output refused the snapshot");
    assert_int_equal(w.calls, 1); /* no more is written */
}

/* /dev/full refuses every write: unbuffered, the first one fails; with a
 * buffer that holds the whole snapshot, only the flush at the end. */
static FILE *dev_full(int buffered) {
    static char buffer[1 << 20];
    FILE *out = fopen("/dev/full", "w");
    assert_non_null(out);
    assert_int_equal(setvbuf(out, buffered ? buffer : NULL, buffered ? _IOFBF : _IONBF, sizeof buffer), 0);
    return out;
}

static void write_json_stream_fails(struct fx *f) {
    FILE *out = dev_full(0);
    FAILS(f, fa_write_json(f->a, out), FA_ERR_STATE, 0, "fa_write_json_to: the output refused the snapshot");
    fclose(out);
}

static void write_json_stream_fails_on_flush(struct fx *f) {
    FILE *out = dev_full(1);
    FAILS(f, fa_write_json(f->a, out), FA_ERR_STATE, 0, "fa_write_json: the output refused the snapshot");
    fclose(out);
}

/* fa_strerror describes every code, and values that are none. */
static void strerror_unknown_value(struct fx *f) {
    for (int e = FA_OK; e <= FA_ERR_CORRUPT; e++)
        assert_string_not_equal(fa_strerror((fa_error)e), "unknown fa_error value");
    assert_string_equal(fa_strerror((fa_error)99), "unknown fa_error value");
    SILENT(f, FA_OK);
}

/* ---- threading (docs/threading.md) ----------------------------------------- */

BAD_CONFIG(config_frames_in_flight_above_max, cfg.frames_in_flight = FA_FRAMES_IN_FLIGHT_MAX + 1,
           "frames_in_flight is above FA_FRAMES_IN_FLIGHT_MAX")
BAD_CONFIG(config_frame_mode_unknown, cfg.frame_mode = (fa_frame_mode)2,
           "frame_mode is not FA_FRAMES_PER_THREAD or FA_FRAMES_SHARED")

/* A second allocator with shared frames, reporting to the fixture's recorder. */
static fa_alloc *shared_alloc(struct fx *f) {
    fa_config cfg = f->cfg;
    cfg.frame_mode = FA_FRAMES_SHARED;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    return a;
}

struct on_worker {
    fa_alloc *a;
    fa_error  got, last;
};

static void *begin_on_worker(void *arg) {
    struct on_worker *w = (struct on_worker *)arg;
    w->got = fa_begin_frame(w->a);
    w->last = fa_last_error();
    return NULL;
}

static void *end_on_worker(void *arg) {
    struct on_worker *w = (struct on_worker *)arg;
    w->got = fa_end_frame(w->a);
    w->last = fa_last_error();
    return NULL;
}

static void run_on_worker(void *(*fn)(void *), struct on_worker *w) {
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fn, w), 0);
    pthread_join(t, NULL);
}

static void shared_begin_on_another_thread(struct fx *f) {
    struct on_worker w = {shared_alloc(f), FA_OK, FA_OK};
    run_on_worker(begin_on_worker, &w);
    assert_int_equal(w.got, FA_ERR_STATE);
    expect_event(f, __LINE__, w.last, "", FA_ERR_STATE, 0,
                 "fa_begin_frame: frames are shared (FA_FRAMES_SHARED): only the creating thread begins them");
    fa_destroy(w.a);
}

static void shared_end_on_another_thread(struct fx *f) {
    struct on_worker w = {shared_alloc(f), FA_OK, FA_OK};
    assert_int_equal(fa_begin_frame(w.a), FA_OK);
    run_on_worker(end_on_worker, &w);
    assert_int_equal(w.got, FA_ERR_STATE);
    expect_event(f, __LINE__, w.last, "", FA_ERR_STATE, 0,
                 "fa_end_frame: frames are shared (FA_FRAMES_SHARED): only the creating thread ends them");
    assert_int_equal(fa_end_frame(w.a), FA_OK); /* the frame was still open */
    fa_destroy(w.a);
}

static void shared_end_with_none_open(struct fx *f) {
    fa_alloc *a = shared_alloc(f);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_int_equal(fa_end_frame(a), FA_OK);
    FAILS(f, fa_end_frame(a), FA_ERR_STATE, 0, "fa_end_frame: no frame is open");
    fa_destroy(a);
}

static void shared_begin_nested(struct fx *f) {
    fa_alloc *a = shared_alloc(f);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    FAILS(f, fa_begin_frame(a), FA_ERR_STATE, 0, "fa_begin_frame: already in a frame (frames do not nest)");
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
}

static void shared_frame_alloc_with_none_open(struct fx *f) {
    fa_alloc *a = shared_alloc(f);
    REFUSES(f, fa_frame_alloc(a, 24), FA_ERR_STATE, 24,
            "fa_frame_alloc: no shared frame is open (the creating thread calls fa_begin_frame)");
    fa_destroy(a);
}

static void rewind_to_a_frame_in_flight(struct fx *f) {
    fa_config cfg = f->cfg;
    cfg.frames_in_flight = 2;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    fa_mark m = fa_frame_mark(a);
    assert_non_null(fa_frame_alloc(a, 100));
    assert_int_equal(fa_end_frame(a), FA_OK);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    FAILS(f, fa_frame_rewind(a, m), FA_ERR_STATE, 0, "fa_frame_rewind: mark of an earlier frame");
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
}

static void transfer_outside_a_frame(struct fx *f) {
    int x = 0;
    fa_transfer t = fa_transfer_make(f->a, &x, sizeof x);
    assert_null(t.ptr);
    EVENT(f, FA_ERR_STATE, sizeof x, "fa_transfer_make: not in a frame on this thread");
}

static void transfer_of_foreign_memory(struct fx *f) {
    static int x;
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    fa_transfer t = fa_transfer_make(f->a, &x, sizeof x);
    assert_null(t.ptr);
    EVENT(f, FA_ERR_FOREIGN, sizeof x, "fa_transfer_make: %p (%zu bytes) is not this thread's memory of its current frame",
          (void *)&x, sizeof x);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void transfer_null(struct fx *f) {
    assert_int_equal(fa_transfer_alive(f->a, NULL), 0);
    EVENT(f, FA_ERR_INVALID, 0, "fa_transfer_alive: NULL transfer");
    assert_null(fa_transfer_get(f->a, NULL));
    EVENT(f, FA_ERR_INVALID, 0, "fa_transfer_get: NULL transfer");
}

static void transfer_get_dead(struct fx *f) {
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    fa_transfer t = fa_transfer_make(f->a, fa_frame_alloc(f->a, 32), 32);
    assert_non_null(t.ptr);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_int_equal(fa_transfer_alive(f->a, &t), 0);
    SILENT(f, FA_OK);
    REFUSES(f, fa_transfer_get(f->a, &t), FA_ERR_STATE, 32,
            "fa_transfer_get: the memory of thread %u's frame 1 is released (a dead transfer)", t.thread);
}

static void promote_foreign_memory(struct fx *f) {
    static char x[16];
    REFUSES(f, fa_frame_promote(f->a, x, sizeof x), FA_ERR_FOREIGN, sizeof x,
            "fa_frame_promote: %p (16 bytes) is not this thread's live frame memory", (void *)x);
}

static void promote_bad_alignment(struct fx *f) {
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    void *p = fa_frame_alloc(f->a, 16);
    REFUSES(f, fa_frame_promote_aligned(f->a, p, 16, 12), FA_ERR_INVALID, 16,
            "fa_frame_promote: alignment 12 is not a power of two");
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void deque_push_null(struct fx *f) {
    fa_deque *d = fa_deque_create(f->a, 0);
    assert_non_null(d);
    FAILS(f, fa_deque_push(d, NULL), FA_ERR_INVALID, 0, "fa_deque_push: NULL item (NULL means empty)");
    assert_int_equal(fa_deque_count(d), 0);
    fa_deque_destroy(d);
}

static void deque_null(struct fx *f) {
    int x = 0;
    assert_int_equal(fa_deque_push(NULL, &x), FA_ERR_INVALID);
    SILENT(f, FA_ERR_INVALID);
    assert_null(fa_deque_pop(NULL));
    assert_null(fa_deque_steal(NULL));
    assert_int_equal(fa_deque_count(NULL), 0);
    SILENT(f, FA_ERR_INVALID);
    fa_deque_destroy(NULL);
}

static void barrier_without_parties(struct fx *f) {
    REFUSES(f, fa_barrier_create(f->a, 0), FA_ERR_INVALID, 0, "fa_barrier_create: no parties");
    assert_int_equal(fa_barrier_wait(NULL), FA_ERR_INVALID);
    SILENT(f, FA_ERR_INVALID);
    fa_barrier_destroy(NULL);
}

/* ---- realloc and block sizes (issue #16) ---------------------------------- */

static const char not_a_block[] = "%s: %p is not a block of this allocator";
static const char freed_block[] = "%s: %p was already freed";

/* Every call that sizes or resizes a block refuses p with e before reading
 * it; the message is a format of the call's name and p. */
static void expect_resize_refused(struct fx *f, void *p, fa_error e, const char *message) {
    REFUSES(f, fa_pool_realloc(f->a, p, 100), e, 0, message, "fa_pool_realloc", p);
    REFUSES(f, fa_realloc_aligned(f->a, p, 100, 64), e, 0, message, "fa_realloc_aligned", p);
    assert_int_equal(fa_usable_size(f->a, p), 0);
    EVENT(f, e, 0, message, "fa_usable_size", p);
}

/* A 64-byte pool block of 0x5a bytes. */
static unsigned char *filled_block(struct fx *f) {
    unsigned char *p = (unsigned char *)pool_block(f, 64);
    memset(p, 0x5a, 64);
    return p;
}

/* A refused resize left filled_block's p as it was, and live. */
static void expect_block_kept(struct fx *f, unsigned char *p) {
    assert_true(all_bytes_are(p, 64, 0x5a));
    assert_int_equal(fa_usable_size(f->a, p), 64);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
}

static fa_arena *frame_arena(struct fx *f) {
    fa_arena *ar = fa_arena_get(f->a);
    assert_non_null(ar);
    return ar;
}

static void resize_foreign_malloc(struct fx *f) {
    unsigned char *p = (unsigned char *)malloc(64);
    assert_non_null(p);
    memset(p, 0x5a, 64);
    expect_resize_refused(f, p, FA_ERR_FOREIGN, not_a_block);
    assert_true(all_bytes_are(p, 64, 0x5a));
    free(p);
}

static void resize_foreign_frame_pointer(struct fx *f) {
    begin(f);
    void *p = fa_frame_alloc(f->a, 64);
    assert_non_null(p);
    expect_resize_refused(f, p, FA_ERR_FOREIGN, not_a_block);
    assert_int_equal(frame_bytes(f), 64);
    end(f);
}

static void resize_interior(struct fx *f) {
    unsigned char *p = filled_block(f);
    expect_resize_refused(f, p + 8, FA_ERR_FOREIGN, "%s: %p points inside a block");
    expect_block_kept(f, p);
}

static void resize_other_allocator_block(struct fx *f) {
    struct fx other;
    fx_open(&other);
    unsigned char *p = filled_block(&other);
    expect_resize_refused(f, p, FA_ERR_FOREIGN, "%s: %p is a block of another allocator");
    expect_block_kept(&other, p); /* still its owner's */
    fx_close(&other);
}

static void resize_freed_pool_block(struct fx *f) {
    void *p = pool_block(f, 64);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    expect_resize_refused(f, p, FA_ERR_DOUBLE_FREE, freed_block);
    expect_distinct_blocks(f, 64);
}

static void resize_freed_heap_block(struct fx *f) {
    void *p = fa_heap_alloc(f->a, 10000, 64);
    assert_non_null(p);
    assert_int_equal(fa_heap_free(f->a, p), FA_OK);
    expect_resize_refused(f, p, FA_ERR_DOUBLE_FREE, freed_block);
}

static void usable_size_null(struct fx *f) {
    assert_int_equal(fa_usable_size(f->a, NULL), 0);
    SILENT(f, FA_OK);
}

/* A shrink that would fit in place: the alignment is checked first. */
static void realloc_aligned_bad_alignment(struct fx *f) {
    unsigned char *p = filled_block(f);
    REFUSES(f, fa_realloc_aligned(f->a, p, 32, 12), FA_ERR_INVALID, 32,
            "fa_realloc_aligned: alignment 12 is not a power of two");
    expect_block_kept(f, p);
}

static void arena_realloc_bad_alignment(struct fx *f) {
    begin(f);
    fa_arena *ar = frame_arena(f);
    void *p = fa_arena_alloc(ar, 64);
    assert_non_null(p);
    REFUSES(f, fa_arena_realloc(ar, p, 64, 32, 12), FA_ERR_INVALID, 32,
            "fa_arena_realloc: alignment 12 is not a power of two");
    assert_int_equal(frame_bytes(f), 64);
    end(f);
}

static void realloc_source_refuses(struct fx *f) {
    unsigned char *p = filled_block(f);
    atomic_store(&f->c.mode, ANSWER_FAIL);
    REFUSES(f, fa_pool_realloc(f->a, p, 10000), FA_ERR_NOMEM, 10000,
            "fa_pool_realloc: the memory source refused 10000 bytes");
    atomic_store(&f->c.mode, ANSWER_OK);
    expect_block_kept(f, p);
}

static void realloc_budget_refuses(struct fx *f) {
    unsigned char *p = filled_block(f);
    assert_int_equal(fa_budget_set(f->a, NULL, 0, (size_t)1 << 20), FA_OK);
    REFUSES(f, fa_pool_realloc(f->a, p, (size_t)2 << 20), FA_ERR_BUDGET, (size_t)2 << 20,
            "fa_pool_realloc: budget (global) would pass its hard limit of 1048576 bytes (2097152 more asked)");
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 0), FA_OK);
    expect_block_kept(f, p);
}

/* Past the 64 KiB chunk: it must move, and the source refuses. */
static void frame_realloc_source_refuses(struct fx *f) {
    begin(f);
    unsigned char *p = (unsigned char *)fa_frame_alloc(f->a, 64);
    assert_non_null(p);
    memset(p, 0x5a, 64);
    atomic_store(&f->c.mode, ANSWER_FAIL);
    REFUSES(f, fa_frame_realloc(f->a, p, 64, 100000), FA_ERR_NOMEM, 100000,
            "fa_frame_realloc: the memory source refused a chunk for 100000 bytes");
    atomic_store(&f->c.mode, ANSWER_OK);
    assert_true(all_bytes_are(p, 64, 0x5a));
    assert_int_equal(frame_bytes(f), 64);
    end(f);
}

static void frame_realloc_outside_frame(struct fx *f) {
    REFUSES(f, fa_frame_realloc(f->a, NULL, 0, 32), FA_ERR_STATE, 32, not_in_frame, "fa_frame_realloc");
}

static void arena_realloc_outside_frame(struct fx *f) {
    REFUSES(f, fa_arena_realloc(frame_arena(f), NULL, 0, 32, 8), FA_ERR_STATE, 32, not_in_frame, "fa_arena_realloc");
}

NULL_CASE(null_arena_realloc, fa_arena_realloc(NULL, NULL, 0, 16, 8) == NULL)

static void null_arena_mark(struct fx *f) {
    fa_mark m = fa_arena_mark(NULL);
    SILENT(f, FA_ERR_INVALID);
    begin(f);
    expect_rewind_refused(f, m, foreign_mark); /* the empty mark */
    end(f);
}

static void null_arena_rewind(struct fx *f) {
    begin(f);
    fa_mark m = fa_arena_mark(frame_arena(f));
    assert_non_null(fa_frame_alloc(f->a, 64));
    REJECTS_NULL(f, fa_arena_rewind(NULL, m) == FA_ERR_INVALID);
    assert_int_equal(frame_bytes(f), 64);
    end(f);
}

/* ---- frame containers and layout helpers (issue #16) ---------------------- */

/* Every call refuses v quietly (NULL or not initialised, it names no
 * allocator). */
static void expect_vec_unusable(struct fx *f, fa_vec *v) {
    assert_null(fa_vec_at_of(v, int, 0));
    assert_int_equal(fa_vec_reserve(v, 8), FA_ERR_INVALID);
    assert_null(fa_vec_push(v));
    assert_int_equal(fa_vec_push_value(v, int, 1), FA_ERR_INVALID);
    assert_null(fa_vec_at(v, 0));
    assert_null(fa_vec_pop(v));
    assert_null(fa_vec_pop_of(v, int));
    assert_int_equal(fa_vec_clear(v), FA_ERR_INVALID);
    SILENT(f, FA_ERR_INVALID);
}

static void expect_map_unusable(struct fx *f, fa_map *m) {
    void *value = stack_block;
    assert_int_equal(fa_map_get(m, 1, &value), 0);
    assert_ptr_equal(value, stack_block);
    assert_int_equal(fa_map_put(m, 1, NULL), FA_ERR_INVALID);
    assert_int_equal(fa_map_remove(m, 1), 0);
    assert_int_equal(fa_map_clear(m), FA_ERR_INVALID);
    SILENT(f, FA_ERR_INVALID);
}

static void containers_null(struct fx *f) {
    expect_vec_unusable(f, NULL);
    expect_map_unusable(f, NULL);
}

/* All zero: what the library reads as never initialised. */
static void containers_uninitialised(struct fx *f) {
    fa_vec v;
    fa_map m;
    memset(&v, 0, sizeof v);
    memset(&m, 0, sizeof m);
    expect_vec_unusable(f, &v);
    expect_map_unusable(f, &m);
}

static fa_error count_batch(void *ctx, fa_arena *ar, void *items, size_t first, size_t n) {
    (void)ar, (void)items, (void)first, (void)n;
    ++*(int *)ctx;
    return FA_OK;
}

/* Two arrays for fa_soa_alloc, the output preset to stack_block. */
struct soa {
    size_t sizes[2], aligns[2];
    void  *out[2];
};

#define SOA(size0, size1, align0, align1) {{size0, size1}, {align0, align1}, {stack_block, stack_block}}

static void expect_soa_untouched(const struct soa *l) {
    assert_ptr_equal(l->out[0], stack_block);
    assert_ptr_equal(l->out[1], stack_block);
}

static void containers_null_arena(struct fx *f) {
    fa_vec v;
    fa_map m;
    struct soa l = SOA(4, 4, 4, 4);
    int items[4] = {0}, calls = 0;
    assert_int_equal(fa_vec_init(&v, NULL, 4, 4), FA_ERR_INVALID);
    assert_int_equal(fa_map_init(&m, NULL, 8), FA_ERR_INVALID);
    assert_int_equal(fa_soa_alloc(NULL, 4, 2, l.sizes, l.aligns, l.out), FA_ERR_INVALID);
    assert_int_equal(fa_batch_run(NULL, items, 4, sizeof items[0], 2, count_batch, &calls), FA_ERR_INVALID);
    SILENT(f, FA_ERR_INVALID);
    expect_soa_untouched(&l);
    assert_int_equal(calls, 0);
    expect_vec_unusable(f, &v); /* left uninitialised */
    expect_map_unusable(f, &m);
}

static void container_init_null(struct fx *f) {
    FAILS(f, fa_vec_init(NULL, frame_arena(f), 4, 4), FA_ERR_INVALID, 0, "fa_vec_init: NULL vector");
    FAILS(f, fa_map_init(NULL, frame_arena(f), 8), FA_ERR_INVALID, 8, "fa_map_init: NULL map");
}

static void vec_init_bad_layout(struct fx *f) {
    static const size_t layouts[][2] = {{0, 8}, {8, 0}, {12, 12}, {12, 8}}; /* size, alignment */
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        fa_vec v;
        FAILS(f, fa_vec_init(&v, frame_arena(f), layouts[i][0], layouts[i][1]), FA_ERR_INVALID, layouts[i][0],
              "fa_vec_init: element size %zu with alignment %zu (a size of whole alignments, not 0)", layouts[i][0],
              layouts[i][1]);
        expect_vec_unusable(f, &v);
    }
}

static const char wrong_type[] = "%s: a 2-byte element type for a vector of 4-byte elements";

static void vec_typed_wrong_size(struct fx *f) {
    fa_vec v;
    begin(f);
    assert_int_equal(fa_vec_init_of(&v, frame_arena(f), int32_t), FA_OK);
    assert_int_equal(fa_vec_push_value(&v, int32_t, 7), FA_OK);
    FAILS(f, fa_vec_push_value(&v, int16_t, 1), FA_ERR_INVALID, 2, wrong_type, "fa_vec_push");
    REFUSES(f, fa_vec_at_of(&v, int16_t, 0), FA_ERR_INVALID, 2, wrong_type, "fa_vec_at");
    REFUSES(f, fa_vec_pop_of(&v, int16_t), FA_ERR_INVALID, 2, wrong_type, "fa_vec_pop");
    assert_int_equal(v.count, 1);
    assert_int_equal(*fa_vec_at_of(&v, int32_t, 0), 7);
    end(f);
}

static void vec_pop_empty(struct fx *f) {
    fa_vec v;
    assert_int_equal(fa_vec_init(&v, frame_arena(f), 4, 4), FA_OK);
    assert_null(fa_vec_pop(&v));
    SILENT(f, FA_OK);
}

/* A request through the thread's frame arena, made twice: outside a frame
 * (FA_ERR_STATE), then in one whose memory source fails (FA_ERR_NOMEM: the
 * frame's first request takes a chunk); both reported for fn with the
 * request's size in bytes. */
typedef fa_error (*arena_request)(fa_arena *ar, void *state);

static void expect_refused_twice(struct fx *f, arena_request request, void *state, const char *fn, size_t size) {
    assert_int_equal(request(frame_arena(f), state), FA_ERR_STATE);
    EVENT(f, FA_ERR_STATE, size, not_in_frame, fn);
    begin(f);
    atomic_store(&f->c.mode, ANSWER_FAIL);
    assert_int_equal(request(frame_arena(f), state), FA_ERR_NOMEM);
    EVENT(f, FA_ERR_NOMEM, size, "%s: the memory source refused a chunk for %zu bytes", fn, size);
    atomic_store(&f->c.mode, ANSWER_OK);
    end(f);
}

static fa_error reserve_16k_elements(fa_arena *ar, void *v) {
    (void)ar; /* the vector's own */
    return fa_vec_reserve((fa_vec *)v, 16384);
}

static void vec_growth_refused(struct fx *f) {
    fa_vec v;
    assert_int_equal(fa_vec_init(&v, frame_arena(f), 8, 8), FA_OK);
    FAILS(f, fa_vec_reserve(&v, SIZE_MAX / 8), FA_ERR_NOMEM, SIZE_MAX,
          "fa_vec_reserve: 2305843009213693951 elements of 8 bytes cannot be met");
    REFUSES(f, fa_vec_push(&v), FA_ERR_STATE, 64, not_in_frame, "fa_arena_realloc"); /* no frame: 8 elements */
    expect_refused_twice(f, reserve_16k_elements, &v, "fa_arena_realloc", 16384 * 8);
    assert_null(v.data);
    assert_int_equal(v.capacity, 0);
    assert_int_equal(v.count, 0);
}

static const char map_full[] = "fa_map_put: the map is full (%zu keys)";

static void map_put_full(struct fx *f) {
    fa_map m, none;
    int x = 0;
    void *value = NULL;
    begin(f);
    assert_int_equal(fa_map_init(&m, frame_arena(f), 2), FA_OK);
    assert_int_equal(fa_map_put(&m, 1, NULL), FA_OK);
    assert_int_equal(fa_map_put(&m, 2, NULL), FA_OK);
    FAILS(f, fa_map_put(&m, 3, &x), FA_ERR_NOMEM, 0, map_full, (size_t)2);
    assert_int_equal(fa_map_get(&m, 3, NULL), 0);
    assert_int_equal(fa_map_put(&m, 1, &x), FA_OK); /* an update needs no room */
    assert_int_equal(fa_map_get(&m, 1, &value), 1);
    assert_ptr_equal(value, &x);
    assert_int_equal(m.count, 2);
    assert_int_equal(fa_map_init(&none, frame_arena(f), 0), FA_OK);
    FAILS(f, fa_map_put(&none, 1, &x), FA_ERR_NOMEM, 0, map_full, (size_t)0);
    end(f);
}

static fa_error map_of_4096(fa_arena *ar, void *m) {
    return fa_map_init((fa_map *)m, ar, 4096);
}

/* Each refusal leaves a valid map of capacity 0. */
static void map_init_refused(struct fx *f) {
    fa_map m;
    FAILS(f, fa_map_init(&m, frame_arena(f), SIZE_MAX / 8), FA_ERR_NOMEM, SIZE_MAX / 8,
          "fa_map_init: a capacity of 2305843009213693951 cannot be met");
    assert_int_equal(m.capacity, 0);
    expect_refused_twice(f, map_of_4096, &m, "fa_arena_alloc", 8192 * 17); /* 8192 slots of 17 bytes */
    assert_int_equal(m.capacity, 0);
    assert_int_equal(fa_map_clear(&m), FA_OK);
    FAILS(f, fa_map_put(&m, 1, NULL), FA_ERR_NOMEM, 0, map_full, (size_t)0);
}

static void map_missing_key(struct fx *f) {
    fa_map m;
    begin(f);
    assert_int_equal(fa_map_init(&m, frame_arena(f), 4), FA_OK);
    assert_int_equal(fa_map_put(&m, 1, NULL), FA_OK);
    assert_int_equal(fa_map_get(&m, 42, NULL), 0);
    assert_int_equal(fa_map_remove(&m, 42), 0);
    SILENT(f, FA_OK);
    assert_int_equal(m.count, 1);
    end(f);
}

static void soa_bad_arguments(struct fx *f) {
    static const char null_arrays[] = "fa_soa_alloc: NULL sizes, alignments or output";
    struct soa l = SOA(4, 8, 4, 12);
    begin(f);
    fa_arena *ar = frame_arena(f);
    FAILS(f, fa_soa_alloc(ar, 10, 2, NULL, l.aligns, l.out), FA_ERR_INVALID, 0, null_arrays);
    FAILS(f, fa_soa_alloc(ar, 10, 2, l.sizes, NULL, l.out), FA_ERR_INVALID, 0, null_arrays);
    FAILS(f, fa_soa_alloc(ar, 10, 2, l.sizes, l.aligns, NULL), FA_ERR_INVALID, 0, null_arrays);
    FAILS(f, fa_soa_alloc(ar, 10, 2, l.sizes, l.aligns, l.out), FA_ERR_INVALID, 0,
          "fa_soa_alloc: alignment 12 of array 1 is not a power of two");
    l.aligns[0] = 0;
    FAILS(f, fa_soa_alloc(ar, 10, 2, l.sizes, l.aligns, l.out), FA_ERR_INVALID, 0,
          "fa_soa_alloc: alignment 0 of array 0 is not a power of two");
    expect_soa_untouched(&l);
    assert_int_equal(frame_bytes(f), 0);
    end(f);
}

static void soa_layout_cannot_be_met(struct fx *f) {
    struct soa l = SOA(1, 8, 1, 8);
    begin(f);
    FAILS(f, fa_soa_alloc(frame_arena(f), SIZE_MAX / 4, 2, l.sizes, l.aligns, l.out), FA_ERR_NOMEM, SIZE_MAX,
          "fa_soa_alloc: 2 arrays of 4611686018427387903 elements cannot be met");
    expect_soa_untouched(&l);
    end(f);
}

static fa_error soa_of_100k(fa_arena *ar, void *l) {
    struct soa *s = (struct soa *)l;
    return fa_soa_alloc(ar, 100000, 2, s->sizes, s->aligns, s->out);
}

static void soa_refused(struct fx *f) {
    struct soa l = SOA(1, 1, 1, 1);
    expect_refused_twice(f, soa_of_100k, &l, "fa_arena_alloc", 100032 + 100000); /* the second on a cache line */
    expect_soa_untouched(&l);
}

static void batch_run_bad_arguments(struct fx *f) {
    static const char bad_batch[] = "fa_batch_run: NULL callback, NULL items or a batch of 0";
    int items[4] = {0}, calls = 0;
    begin(f);
    fa_arena *ar = frame_arena(f);
    FAILS(f, fa_batch_run(ar, items, 4, sizeof items[0], 2, NULL, &calls), FA_ERR_INVALID, 0, bad_batch);
    FAILS(f, fa_batch_run(ar, items, 4, sizeof items[0], 0, count_batch, &calls), FA_ERR_INVALID, 0, bad_batch);
    FAILS(f, fa_batch_run(ar, NULL, 4, sizeof items[0], 2, count_batch, &calls), FA_ERR_INVALID, 0, bad_batch);
    assert_int_equal(calls, 0);
    end(f);
}

/* The run takes its mark first: the refusal is fa_arena_mark's. */
static void batch_run_outside_frame(struct fx *f) {
    int items[4] = {0}, calls = 0;
    FAILS(f, fa_batch_run(frame_arena(f), items, 4, sizeof items[0], 2, count_batch, &calls), FA_ERR_STATE, 0,
          not_in_frame, "fa_arena_mark");
    assert_int_equal(calls, 0);
}

/* Takes scratch memory in each batch, and fails the second. */
static fa_error fail_second_batch(void *ctx, fa_arena *ar, void *items, size_t first, size_t n) {
    (void)items, (void)n;
    ++*(int *)ctx;
    if (fa_arena_alloc(ar, 256) == NULL)
        return fa_last_error();
    return first == 0 ? FA_OK : FA_ERR_STATE;
}

static void batch_run_callback_error(struct fx *f) {
    int items[6] = {0}, calls = 0;
    begin(f);
    assert_non_null(fa_frame_alloc(f->a, 64));
    assert_int_equal(fa_batch_run(frame_arena(f), items, 6, sizeof items[0], 2, fail_second_batch, &calls),
                     FA_ERR_STATE);
    SILENT(f, FA_OK); /* the callback's answer, not reported by the run */
    assert_int_equal(calls, 2); /* no batch after it */
    assert_int_equal(frame_bytes(f), 64); /* its scratch released */
    end(f);
}

/* ---- scratch arenas (issue #16) ------------------------------------------- */

static fa_arena *scratch_arena(struct fx *f, size_t capacity) {
    fa_arena *s = fa_arena_create(f->a, "level", capacity);
    assert_non_null(s);
    return s;
}

static void scratch_name_too_long(struct fx *f) {
    char name[FA_TAG_NAME_MAX + 2];
    REFUSES(f, fa_arena_create(f->a, name_over_max(name), 0), FA_ERR_INVALID, 0,
            "fa_arena_create: name is over 63 bytes");
}

/* ---- profiling -------------------------------------------------------------- */

static void metrics_null_output(struct fx *f) {
    assert_int_equal(fa_thread_metrics_get(f->a, NULL, 2), 0);
    EVENT(f, FA_ERR_INVALID, 0, "fa_thread_metrics_get: NULL output");
    assert_int_equal(fa_tag_metrics_get(f->a, NULL, 2), 0);
    EVENT(f, FA_ERR_INVALID, 0, "fa_tag_metrics_get: NULL output");
    begin(f);
    end(f);
    assert_int_equal(fa_thread_metrics_get(f->a, NULL, 0), 1); /* a count needs no room */
}

static void metrics_statistics_off(struct fx *f) {
    fa_destroy(f->a);
    fx_prepare(f, FA_DISABLE_ALL);
    fx_create(f);
    fa_tag_metrics t[2];
    assert_int_equal(fa_tag_metrics_get(f->a, t, 2), 0);
    EVENT(f, FA_ERR_STATE, 0, "fa_tag_metrics_get: statistics are off in this allocator's config");
}

static void sites_off(struct fx *f) {
    fa_site s[2];
    assert_int_equal(fa_sites_get(f->a, s, 2, 0.0), 0);
    EVENT(f, FA_ERR_STATE, 0, "fa_sites_get: sites are off (cfg.site_sample_bytes is 0)");
    FAILS(f, fa_sites_reset(f->a), FA_ERR_STATE, 0, "fa_sites_reset: sites are off (cfg.site_sample_bytes is 0)");
}

static void bandwidth_null_buffers(struct fx *f) {
    uint64_t read, written;
    assert_int_equal(fa_bandwidth_copy(f->a, NULL, stack_block, 8), 0);
    EVENT(f, FA_ERR_INVALID, 8, "fa_bandwidth_copy: NULL buffer");
    assert_int_equal(fa_bandwidth_scan(f->a, NULL, 8), 0);
    EVENT(f, FA_ERR_INVALID, 8, "fa_bandwidth_scan: NULL buffer");
    FAILS(f, fa_bandwidth_get(f->a, &read, NULL), FA_ERR_INVALID, 0, "fa_bandwidth_get: NULL output");
    assert_int_equal(fa_bandwidth_get(f->a, &read, &written), FA_OK);
    assert_int_equal(read + written, 0); /* nothing was counted */
}

static void trace_bad_path(struct fx *f) {
    FAILS(f, fa_trace_start(f->a, NULL), FA_ERR_INVALID, 0, "fa_trace_start: NULL path");
    FAILS(f, fa_trace_start(f->a, "/nonexistent/trace.json"), FA_ERR_INVALID, 0,
          "fa_trace_start: cannot open /nonexistent/trace.json for writing");
}

static void trace_started_twice(struct fx *f) {
    assert_int_equal(fa_trace_start(f->a, "/dev/null"), FA_OK);
    FAILS(f, fa_trace_start(f->a, "/dev/null"), FA_ERR_STATE, 0, "fa_trace_start: a trace is already running");
    assert_int_equal(fa_trace_stop(f->a), FA_OK);
}

static void trace_stopped_without_start(struct fx *f) {
    FAILS(f, fa_trace_stop(f->a), FA_ERR_STATE, 0, "fa_trace_stop: no trace is running");
}

static const char frame_arena_refused[] = "%s: a thread's frame arena (fa_arena_get) is reset by its frames";

static void scratch_reset_of_frame_arena(struct fx *f) {
    begin(f);
    fa_arena *ar = frame_arena(f);
    assert_non_null(fa_arena_alloc(ar, 64));
    FAILS(f, fa_arena_reset(ar), FA_ERR_INVALID, 0, frame_arena_refused, "fa_arena_reset");
    assert_int_equal(frame_bytes(f), 64);
    end(f);
}

static void scratch_destroy_of_frame_arena(struct fx *f) {
    begin(f);
    fa_arena *ar = frame_arena(f);
    assert_non_null(fa_arena_alloc(ar, 64));
    fa_arena_destroy(ar);
    EVENT(f, FA_ERR_INVALID, 0, frame_arena_refused, "fa_arena_destroy");
    assert_int_equal(frame_bytes(f), 64);
    assert_non_null(fa_arena_alloc(ar, 64)); /* still the thread's */
    end(f);
}

/* A refusal left s as it was: it still serves, after its last block (of
 * `size` bytes at `last`). */
static void expect_scratch_kept(fa_arena *s, const char *last, size_t size) {
    char *next = (char *)fa_arena_alloc(s, 16);
    assert_non_null(next);
    assert_true(next >= last + size);
    fa_arena_destroy(s);
}

static void scratch_capacity_exceeded(struct fx *f) {
    fa_arena *s = scratch_arena(f, 1024);
    char *p = (char *)fa_arena_alloc(s, 1000);
    assert_non_null(p);
    REFUSES(f, fa_arena_alloc(s, 100), FA_ERR_NOMEM, 100,
            "fa_arena_alloc: scratch arena \"level\" would pass its capacity of 1024 bytes");
    expect_scratch_kept(s, p, 1000); /* 16 bytes still fit */
}

static void scratch_source_refuses(struct fx *f) {
    fa_arena *s = scratch_arena(f, 0);
    char *p = (char *)fa_arena_alloc(s, 64);
    assert_non_null(p);
    atomic_store(&f->c.mode, ANSWER_FAIL);
    REFUSES(f, fa_arena_alloc(s, 100000), FA_ERR_NOMEM, 100000,
            "fa_arena_alloc: the memory source refused a chunk for 100000 bytes");
    atomic_store(&f->c.mode, ANSWER_OK);
    expect_scratch_kept(s, p, 64);
}

static void scratch_budget_refuses(struct fx *f) {
    fa_arena *s = scratch_arena(f, 0);
    char *p = (char *)fa_arena_alloc(s, 64);
    assert_non_null(p);
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 200000), FA_OK);
    REFUSES(f, fa_arena_alloc(s, 300000), FA_ERR_BUDGET, 300000,
            "fa_arena_alloc: budget (global) would pass its hard limit of 200000 bytes (300096 more asked)");
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 0), FA_OK);
    expect_scratch_kept(s, p, 64);
}

NULL_CASE(null_arena_create, fa_arena_create(NULL, "level", 0) == NULL)
NULL_CASE(null_arena_reset, fa_arena_reset(NULL) == FA_ERR_INVALID)

static const char other_or_reset[] = "fa_arena_rewind: mark of another arena, or from before a reset";

static void scratch_mark_of_other_arena(struct fx *f) {
    fa_arena *s = scratch_arena(f, 0), *t = scratch_arena(f, 0);
    assert_non_null(fa_arena_alloc(t, 64));
    fa_mark m = fa_arena_mark(t);
    char *p = (char *)fa_arena_alloc(s, 128);
    assert_non_null(p);
    FAILS(f, fa_arena_rewind(s, m), FA_ERR_STATE, 0, other_or_reset);
    fa_arena_destroy(t);
    expect_scratch_kept(s, p, 128);
}

/* The mark's position comes back after the reset: only the reset count
 * tells it is stale. */
static void scratch_mark_before_reset(struct fx *f) {
    fa_arena *s = scratch_arena(f, 0);
    assert_non_null(fa_arena_alloc(s, 64));
    fa_mark m = fa_arena_mark(s);
    assert_int_equal(fa_arena_reset(s), FA_OK);
    char *p = (char *)fa_arena_alloc(s, 128);
    assert_non_null(p);
    FAILS(f, fa_arena_rewind(s, m), FA_ERR_STATE, 0, other_or_reset);
    expect_scratch_kept(s, p, 128);
}

static void scratch_mark_passed(struct fx *f) {
    fa_arena *s = scratch_arena(f, 0);
    fa_mark first = fa_arena_mark(s);
    void *p = fa_arena_alloc(s, 64);
    assert_non_null(p);
    fa_mark second = fa_arena_mark(s);
    assert_non_null(fa_arena_alloc(s, 64));
    assert_int_equal(fa_arena_rewind(s, first), FA_OK);
    FAILS(f, fa_arena_rewind(s, second), FA_ERR_STATE, 0, "fa_arena_rewind: mark is past the current position");
    assert_ptr_equal(fa_arena_alloc(s, 64), p); /* still at the first mark */
    fa_arena_destroy(s);
}

/* ---- the table ------------------------------------------------------------ */

enum builds { ALL, FULL };                /* FULL: needs statistics, tags and budgets */
enum when { AFTER_CREATE, BEFORE_CREATE }; /* BEFORE: no allocator exists yet in the process */

struct misuse {
    const char          *name;
    void               (*run)(struct fx *f);
    enum builds          builds;
    enum when            when;
    uint32_t             disable; /* the allocator's cfg.disable */
    const struct request *request; /* for bad_request */
};

/* CMakeLists.txt registers each line that starts with MISUSE or BAD_REQUEST
 * (one line each: the name first, FULL on the line where it applies). */
#define MISUSE(name, builds) {#name, name, builds, AFTER_CREATE, 0, NULL}
#define MISUSE_AS(name, fn, builds, when, disable) {#name, fn, builds, when, disable, NULL}
#define BAD_REQUEST(name, ...) {#name, NULL, ALL, AFTER_CREATE, 0, &(const struct request){__VA_ARGS__}}

#define MAX "18446744073709551615"
#define HALF "9223372036854775808"
#define QUARTER "4611686018427387904"

static const struct misuse misuses[] = {
    MISUSE(size_zero, ALL),
    BAD_REQUEST(frame_alloc_size_max, FRAME_ALLOC, 1, SIZE_MAX, 0, FA_ERR_NOMEM, SIZE_MAX,
                "fa_frame_alloc: " MAX " bytes aligned to 1 cannot be met"),
    BAD_REQUEST(frame_alloc_size_half, FRAME_ALLOC, 1, HALF_PLUS_ONE, 0, FA_ERR_NOMEM, HALF_PLUS_ONE,
                "fa_frame_alloc: " HALF " bytes aligned to 16 cannot be met"),
    BAD_REQUEST(frame_aligned_size_max, FRAME_ALIGNED, 1, SIZE_MAX, 64, FA_ERR_NOMEM, SIZE_MAX,
                "fa_frame_alloc: " MAX " bytes aligned to 64 cannot be met"),
    BAD_REQUEST(frame_aligned_size_half, FRAME_ALIGNED, 1, HALF_PLUS_ONE, 8, FA_ERR_NOMEM, HALF_PLUS_ONE,
                "fa_frame_alloc: " HALF " bytes aligned to 8 cannot be met"),
    BAD_REQUEST(frame_calloc_size_max, FRAME_CALLOC, 1, SIZE_MAX, 0, FA_ERR_NOMEM, SIZE_MAX,
                "fa_frame_alloc: " MAX " bytes aligned to 1 cannot be met"),
    BAD_REQUEST(frame_calloc_size_half, FRAME_CALLOC, 2, SIZE_MAX / 4 + 1, 0, FA_ERR_NOMEM, HALF_PLUS_ONE,
                "fa_frame_alloc: " HALF " bytes aligned to 16 cannot be met"),
    BAD_REQUEST(frame_calloc_overflow, FRAME_CALLOC, 3, SIZE_MAX / 2, 0, FA_ERR_NOMEM, SIZE_MAX,
                "fa_frame_alloc: " MAX " bytes aligned to 1 cannot be met"),
    BAD_REQUEST(frame_array_size_half, FRAME_ARRAY, 1, HALF_PLUS_ONE, 8, FA_ERR_NOMEM, HALF_PLUS_ONE,
                "fa_frame_alloc: " HALF " bytes aligned to 8 cannot be met"),
    BAD_REQUEST(frame_array_overflow, FRAME_ARRAY, 3, SIZE_MAX / 2, 8, FA_ERR_NOMEM, SIZE_MAX,
                "fa_frame_alloc: " MAX " bytes aligned to 8 cannot be met"),
    BAD_REQUEST(pool_alloc_size_max, POOL_ALLOC, 1, SIZE_MAX, 0, FA_ERR_NOMEM, SIZE_MAX,
                "fa_pool_alloc: " MAX " bytes aligned to 64 cannot be met"),
    BAD_REQUEST(pool_alloc_size_half, POOL_ALLOC, 1, HALF_PLUS_ONE, 0, FA_ERR_NOMEM, HALF_PLUS_ONE,
                "fa_pool_alloc: " HALF " bytes aligned to 64 cannot be met"),
    BAD_REQUEST(heap_alloc_size_max, HEAP_ALLOC, 1, SIZE_MAX, 16, FA_ERR_NOMEM, SIZE_MAX,
                "fa_heap_alloc: " MAX " bytes aligned to 16 cannot be met"),
    BAD_REQUEST(heap_alloc_size_half, HEAP_ALLOC, 1, HALF_PLUS_ONE, 16, FA_ERR_NOMEM, HALF_PLUS_ONE,
                "fa_heap_alloc: " HALF " bytes aligned to 16 cannot be met"),
    BAD_REQUEST(frame_aligned_align_0, FRAME_ALIGNED, 1, 32, 0, FA_ERR_INVALID, 32,
                "fa_frame_alloc: alignment 0 is not a power of two"),
    BAD_REQUEST(frame_aligned_align_3, FRAME_ALIGNED, 1, 32, 3, FA_ERR_INVALID, 32,
                "fa_frame_alloc: alignment 3 is not a power of two"),
    BAD_REQUEST(frame_aligned_align_48, FRAME_ALIGNED, 1, 32, 48, FA_ERR_INVALID, 32,
                "fa_frame_alloc: alignment 48 is not a power of two"),
    BAD_REQUEST(frame_aligned_align_huge, FRAME_ALIGNED, 1, 32, QUARTER_PLUS_ONE, FA_ERR_NOMEM, 32,
                "fa_frame_alloc: 32 bytes aligned to " QUARTER " cannot be met"),
    BAD_REQUEST(frame_array_align_0, FRAME_ARRAY, 4, 8, 0, FA_ERR_INVALID, 32,
                "fa_frame_alloc: alignment 0 is not a power of two"),
    BAD_REQUEST(frame_array_align_3, FRAME_ARRAY, 4, 8, 3, FA_ERR_INVALID, 32,
                "fa_frame_alloc: alignment 3 is not a power of two"),
    BAD_REQUEST(frame_array_align_48, FRAME_ARRAY, 4, 8, 48, FA_ERR_INVALID, 32,
                "fa_frame_alloc: alignment 48 is not a power of two"),
    BAD_REQUEST(frame_array_align_huge, FRAME_ARRAY, 4, 8, QUARTER_PLUS_ONE, FA_ERR_NOMEM, 32,
                "fa_frame_alloc: 32 bytes aligned to " QUARTER " cannot be met"),
    BAD_REQUEST(frame_array_overflow_align_3, FRAME_ARRAY, 3, SIZE_MAX / 2, 3, FA_ERR_INVALID, SIZE_MAX,
                "fa_frame_alloc: alignment 3 is not a power of two"),
    BAD_REQUEST(heap_alloc_align_0, HEAP_ALLOC, 1, 32, 0, FA_ERR_INVALID, 32,
                "fa_heap_alloc: alignment 0 is not a power of two"),
    BAD_REQUEST(heap_alloc_align_3, HEAP_ALLOC, 1, 32, 3, FA_ERR_INVALID, 32,
                "fa_heap_alloc: alignment 3 is not a power of two"),
    BAD_REQUEST(heap_alloc_align_48, HEAP_ALLOC, 1, 32, 48, FA_ERR_INVALID, 32,
                "fa_heap_alloc: alignment 48 is not a power of two"),
    BAD_REQUEST(heap_alloc_align_huge, HEAP_ALLOC, 1, 32, QUARTER_PLUS_ONE, FA_ERR_NOMEM, 32,
                "fa_heap_alloc: 32 bytes aligned to " QUARTER " cannot be met"),
    MISUSE(frame_alloc_before_begin, ALL),
    MISUSE(frame_alloc_after_end, ALL),
    MISUSE(frame_alloc_on_thread_without_frame, ALL),
    MISUSE(nested_begin, ALL),
    MISUSE(end_without_begin, ALL),
    MISUSE(end_frame_twice, ALL),
    MISUSE(strdup_null, ALL),
    MISUSE(printf_null, ALL),
    MISUSE(printf_format_error, ALL),
    MISUSE(frame_info_null_out, ALL),
    MISUSE(mark_outside_frame, ALL),
    MISUSE(rewind_outside_frame, ALL),
    MISUSE(mark_of_earlier_frame, ALL),
    MISUSE(mark_of_other_allocator, ALL),
    MISUSE(mark_rewound_on_other_thread, ALL),
    MISUSE(mark_passed_by_rewind, ALL),
    MISUSE(mark_in_released_chunk, ALL),
    MISUSE(mark_past_dedicated_chunk, ALL),
    MISUSE(double_free_pool, ALL),
    MISUSE(double_free_pool_on_other_thread, ALL),
    MISUSE(double_free_pool_after_remote_free, ALL),
    MISUSE(double_free_pool_after_collect, ALL),
    MISUSE(double_free_heap, ALL),
    MISUSE(double_free_large_pool_block, ALL),
    MISUSE(double_free_heap_after_table_grows, ALL),
    MISUSE(foreign_malloc, ALL),
    MISUSE(foreign_stack, ALL),
    MISUSE(foreign_frame_pointer, ALL),
    MISUSE(foreign_other_pool_block, ALL),
    MISUSE(foreign_other_heap_block, ALL),
    MISUSE(foreign_heap_interior, ALL),
    MISUSE(foreign_kernel_address, ALL),
    MISUSE(foreign_address_one, ALL),
    MISUSE(pool_free_interior, ALL),
    MISUSE(heap_free_of_pool_block, ALL),
    MISUSE(free_null, ALL),
    MISUSE(backend_fails, ALL),
    MISUSE(backend_ok_with_null, ALL),
    MISUSE(backend_misaligned, ALL),
    MISUSE(null_begin_frame, ALL),
    MISUSE(null_end_frame, ALL),
    MISUSE(null_frame_number, ALL),
    MISUSE(null_frame_alloc, ALL),
    MISUSE(null_frame_alloc_aligned, ALL),
    MISUSE(null_frame_calloc, ALL),
    MISUSE(null_frame_array, ALL),
    MISUSE(null_frame_new, ALL),
    MISUSE(null_frame_strdup, ALL),
    MISUSE(null_frame_strdup_null_string, ALL),
    MISUSE(null_frame_printf, ALL),
    MISUSE(null_frame_vprintf, ALL),
    MISUSE(null_frame_mark, ALL),
    MISUSE(null_frame_rewind, ALL),
    MISUSE(null_frame_info_get, ALL),
    MISUSE(null_pool_alloc, ALL),
    MISUSE(null_pool_alloc_large, ALL),
    MISUSE(null_pool_free, ALL),
    MISUSE(null_heap_alloc, ALL),
    MISUSE(null_heap_free, ALL),
    MISUSE(null_trim, ALL),
    MISUSE(null_tag_push, ALL),
    MISUSE(null_tag_pop, ALL),
    MISUSE(null_budget_set, ALL),
    MISUSE(null_frame_budget_set, ALL),
    MISUSE(null_stats_get, ALL),
    MISUSE(null_history_get, ALL),
    MISUSE(null_history_summary_get, ALL),
    MISUSE(null_write_json, ALL),
    MISUSE(null_write_json_to, ALL),
    MISUSE(null_destroy, ALL),
    MISUSE(null_numa_set, ALL),
    MISUSE_AS(null_pool_free_before_any_create, null_pool_free, ALL, BEFORE_CREATE, 0),
    MISUSE_AS(null_pool_alloc_before_any_create, null_pool_alloc, ALL, BEFORE_CREATE, 0),
    MISUSE_AS(null_frame_alloc_before_any_create, null_frame_alloc, ALL, BEFORE_CREATE, 0),
    MISUSE_AS(null_frame_array_before_any_create, null_frame_array, ALL, BEFORE_CREATE, 0),
    MISUSE_AS(null_heap_free_before_any_create, null_heap_free, ALL, BEFORE_CREATE, 0),
    MISUSE(destroy_twice, ALL),
    MISUSE(config_size_mismatch, ALL),
    MISUSE(config_version_newer, ALL),
    MISUSE(config_backend_allocate_only, ALL),
    MISUSE(config_backend_deallocate_only, ALL),
    MISUSE(config_chunk_first_below_4k, ALL),
    MISUSE(config_chunk_max_below_first, ALL),
    MISUSE(config_chunk_max_too_large, ALL),
    MISUSE(config_chunk_align_not_pow2, ALL),
    MISUSE(config_chunk_align_below_64, ALL),
    MISUSE(config_chunk_align_above_max, ALL),
    MISUSE(config_slab_size_not_pow2, ALL),
    MISUSE(config_slab_size_below_64k, ALL),
    MISUSE(config_slab_size_above_1m, ALL),
    MISUSE(config_unknown_disable_bits, ALL),
    MISUSE(config_frame_budget_soft_above_hard, FULL),
    MISUSE(config_frame_budget_while_disabled, ALL),
    MISUSE(config_version_1_with_this_size, ALL),
    MISUSE(config_max_tags_too_large, ALL),
    MISUSE(config_max_budgets_too_large, ALL),
    MISUSE(config_max_tag_depth_too_large, ALL),
    MISUSE(numa_set_bad_config, ALL),
    MISUSE(numa_set_reservation_refused, ALL),
    MISUSE(source_fixed_null_out, ALL),
    MISUSE(source_fixed_null_buffer, ALL),
    MISUSE(source_fixed_size_zero, ALL),
    MISUSE(source_fixed_one_byte, ALL),
    MISUSE(source_fixed_no_aligned_grain, ALL),
    MISUSE(source_mmap_null_out, ALL),
    MISUSE(source_mmap_unknown_huge_mode, ALL),
    MISUSE(source_mmap_reservation_refused, ALL),
    MISUSE(source_numa_null_out, ALL),
    MISUSE(source_numa_negative_node, ALL),
    MISUSE(source_numa_reservation_refused, ALL),
    MISUSE(source_numa_missing_node, ALL),
    MISUSE(source_failing_null_out, ALL),
    MISUSE(source_failing_bad_mode, ALL),
    MISUSE(source_failing_half_backend, ALL),
    MISUSE(source_info_of_own_backend, ALL),
    MISUSE(source_info_null, ALL),
    MISUSE(source_failing_set_of_own_backend, ALL),
    MISUSE(source_failing_set_of_fixed_source, ALL),
    MISUSE(source_failing_set_bad_mode, ALL),
    MISUSE(source_destroy_of_others, ALL),
    MISUSE(tag_push_null, ALL),
    MISUSE(tag_push_empty, ALL),
    MISUSE(tag_push_too_long, ALL),
    MISUSE(tag_push_slash, ALL),
    MISUSE(tag_push_control_char, ALL),
    MISUSE(tag_push_non_ascii, ALL),
    MISUSE(tag_pop_without_push, ALL),
    MISUSE_AS(tag_pop_without_push_tags_off, tag_pop_without_push, ALL, AFTER_CREATE, FA_DISABLE_TAGS),
    MISUSE(tag_push_17th, ALL),
    MISUSE(tag_push_65th_path, FULL),
    MISUSE(budget_soft_above_hard, FULL),
    MISUSE(frame_budget_soft_above_hard, FULL),
    MISUSE(budget_bad_paths, FULL),
    MISUSE(budget_32nd_path, FULL),
    MISUSE(budget_new_path_when_64_exist, FULL),
    MISUSE(budget_empty_path_is_global, FULL),
    MISUSE_AS(budget_set_budgets_off, budget_set_budgets_off, ALL, AFTER_CREATE, FA_DISABLE_BUDGETS),
    MISUSE_AS(frame_budget_set_budgets_off, frame_budget_set_budgets_off, ALL, AFTER_CREATE, FA_DISABLE_BUDGETS),
    MISUSE_AS(budget_set_path_tags_off, budget_set_path_tags_off, FULL, AFTER_CREATE, FA_DISABLE_TAGS),
    MISUSE(budget_hard_global, FULL),
    MISUSE(budget_hard_tag, FULL),
    MISUSE(frame_budget_hard, FULL),
    MISUSE(budget_soft_crossing, FULL),
    MISUSE(frame_budget_soft_crossing, FULL),
    MISUSE(stats_null_out, ALL),
    MISUSE(stats_version_1, ALL),
    MISUSE(stats_version_2_with_this_size, ALL),
    MISUSE(config_get_null_out, ALL),
    MISUSE(null_config_get, ALL),
    MISUSE(tag_stats_null_out, FULL),
    MISUSE(null_tag_stats_get, ALL),
    MISUSE_AS(tag_stats_off, tag_stats_off, ALL, AFTER_CREATE, FA_DISABLE_STATS),
    MISUSE(detail_before_any_error, ALL),
    MISUSE(small_tables_fill, FULL),
    MISUSE(stats_bad_size, ALL),
    MISUSE(stats_newer_version, ALL),
    MISUSE_AS(stats_off, stats_off, ALL, AFTER_CREATE, FA_DISABLE_STATS),
    MISUSE_AS(write_json_stats_off, write_json_stats_off, ALL, AFTER_CREATE, FA_DISABLE_STATS),
    MISUSE(history_null_out, ALL),
    MISUSE(history_summary_null_out, ALL),
    MISUSE(write_json_null_stream, ALL),
    MISUSE(write_json_to_null_writer, ALL),
    MISUSE(write_json_writer_fails, FULL),
    MISUSE(write_json_stream_fails, FULL),
    MISUSE(write_json_stream_fails_on_flush, FULL),
    MISUSE(strerror_unknown_value, ALL),
    MISUSE(config_frames_in_flight_above_max, ALL),
    MISUSE(config_frame_mode_unknown, ALL),
    MISUSE(shared_begin_on_another_thread, ALL),
    MISUSE(shared_end_on_another_thread, ALL),
    MISUSE(shared_end_with_none_open, ALL),
    MISUSE(shared_begin_nested, ALL),
    MISUSE(shared_frame_alloc_with_none_open, ALL),
    MISUSE(rewind_to_a_frame_in_flight, ALL),
    MISUSE(transfer_outside_a_frame, ALL),
    MISUSE(transfer_of_foreign_memory, ALL),
    MISUSE(transfer_null, ALL),
    MISUSE(transfer_get_dead, ALL),
    MISUSE(promote_foreign_memory, ALL),
    MISUSE(promote_bad_alignment, ALL),
    MISUSE(deque_push_null, ALL),
    MISUSE(deque_null, ALL),
    MISUSE(barrier_without_parties, ALL),
    MISUSE(resize_foreign_malloc, ALL),
    MISUSE(resize_foreign_frame_pointer, ALL),
    MISUSE(resize_interior, ALL),
    MISUSE(resize_other_allocator_block, ALL),
    MISUSE(resize_freed_pool_block, ALL),
    MISUSE(resize_freed_heap_block, ALL),
    MISUSE(usable_size_null, ALL),
    MISUSE(realloc_aligned_bad_alignment, ALL),
    MISUSE(arena_realloc_bad_alignment, ALL),
    MISUSE(realloc_source_refuses, ALL),
    MISUSE(realloc_budget_refuses, FULL),
    MISUSE(frame_realloc_source_refuses, ALL),
    BAD_REQUEST(pool_calloc_overflow, POOL_CALLOC, 3, SIZE_MAX / 2, 0, FA_ERR_NOMEM, SIZE_MAX,
                "fa_pool_calloc: 3 x 9223372036854775807 bytes cannot be met"),
    MISUSE(frame_realloc_outside_frame, ALL),
    MISUSE(arena_realloc_outside_frame, ALL),
    MISUSE(null_arena_realloc, ALL),
    MISUSE(null_arena_mark, ALL),
    MISUSE(null_arena_rewind, ALL),
    MISUSE(containers_null, ALL),
    MISUSE(containers_uninitialised, ALL),
    MISUSE(containers_null_arena, ALL),
    MISUSE(container_init_null, ALL),
    MISUSE(vec_init_bad_layout, ALL),
    MISUSE(vec_typed_wrong_size, ALL),
    MISUSE(vec_pop_empty, ALL),
    MISUSE(vec_growth_refused, ALL),
    MISUSE(map_put_full, ALL),
    MISUSE(map_init_refused, ALL),
    MISUSE(map_missing_key, ALL),
    MISUSE(soa_bad_arguments, ALL),
    MISUSE(soa_layout_cannot_be_met, ALL),
    MISUSE(soa_refused, ALL),
    MISUSE(batch_run_bad_arguments, ALL),
    MISUSE(batch_run_outside_frame, ALL),
    MISUSE(batch_run_callback_error, ALL),
    MISUSE(scratch_name_too_long, ALL),
    MISUSE(scratch_reset_of_frame_arena, ALL),
    MISUSE(scratch_destroy_of_frame_arena, ALL),
    MISUSE(scratch_capacity_exceeded, ALL),
    MISUSE(scratch_source_refuses, ALL),
    MISUSE(scratch_budget_refuses, FULL),
    MISUSE(null_arena_create, ALL),
    MISUSE(null_arena_reset, ALL),
    MISUSE(scratch_mark_of_other_arena, ALL),
    MISUSE(scratch_mark_before_reset, ALL),
    MISUSE(scratch_mark_passed, ALL),
    MISUSE(null_thread_metrics_get, ALL),
    MISUSE(null_tag_metrics_get, ALL),
    MISUSE(null_sites_get, ALL),
    MISUSE(null_sites_reset, ALL),
    MISUSE(null_bandwidth_record, ALL),
    MISUSE(null_bandwidth_copy, ALL),
    MISUSE(null_bandwidth_scan, ALL),
    MISUSE(null_bandwidth_get, ALL),
    MISUSE(null_trace_start, ALL),
    MISUSE(null_trace_stop, ALL),
    MISUSE(metrics_null_output, FULL),
    MISUSE(metrics_statistics_off, ALL),
    MISUSE(sites_off, ALL),
    MISUSE(bandwidth_null_buffers, ALL),
    MISUSE(trace_bad_path, ALL),
    MISUSE(trace_started_twice, ALL),
    MISUSE(trace_stopped_without_start, ALL),
};

#define MISUSE_COUNT (sizeof misuses / sizeof misuses[0])

/* ---- the runner ----------------------------------------------------------- */

static void run_misuse(void **state) {
    const struct misuse *m = (const struct misuse *)*state;
    static struct fx f;
    fx_prepare(&f, m->disable);
    if (m->when == BEFORE_CREATE)
        m->run(&f);
    fx_create(&f);
    if (m->request != NULL)
        bad_request(&f, m->request);
    else if (m->when == AFTER_CREATE)
        m->run(&f);
    expect_usable(&f);
    fx_close(&f);
}

static const struct misuse *find(const char *name) {
    for (size_t i = 0; i < MISUSE_COUNT; i++)
        if (strcmp(misuses[i].name, name) == 0)
            return &misuses[i];
    return NULL;
}

/* `misuse CASE` runs one case; `misuse --count N` checks that CMake found all
 * N of them. */
int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--count") == 0) {
        if (strtoul(argv[2], NULL, 10) == MISUSE_COUNT)
            return 0;
        fprintf(stderr, "CMake registered %s cases; the table has %zu\n", argv[2], MISUSE_COUNT);
        return 1;
    }
    const struct misuse *m = argc == 2 ? find(argv[1]) : NULL;
    if (m == NULL) {
        fprintf(stderr, "usage: %s CASE (one of the %zu in tests/misuse/misuse.c)\n", argv[0], MISUSE_COUNT);
        return 2;
    }
    if (FA_MINIMAL && m->builds == FULL) {
        fprintf(stderr, "%s needs statistics, tags and budgets: not in a minimal build\n", m->name);
        return 2;
    }
    const struct CMUnitTest test[] = {{m->name, run_misuse, NULL, NULL, (void *)(uintptr_t)m}};
    return cmocka_run_group_tests_name("misuse", test, NULL, NULL);
}
