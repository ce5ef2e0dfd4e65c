// SPDX-License-Identifier: MIT
// The C++17 adapters of framealloc.hpp: memory resources under pmr
// containers, STL allocators, the RAII scopes, make_frame, std::bad_alloc on
// failure, and every byte back at the end.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
extern "C" {
#include <cmocka.h> // cmocka 1.1 has no C++ linkage of its own
}

#include <atomic>
#include <cstdint>
#include <cstring>
#include <list>
#include <memory_resource>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "framealloc.hpp"

namespace {

// A backend that counts what it hands out (every byte must be back after
// fa_destroy) and refuses everything while `fail` is set.
struct counting {
    fa_backend inner = fa_backend_system();
    std::atomic<long> bytes_out{0};
    std::atomic<bool> fail{false};
};

fa_backend_result counting_allocate(void *ctx, size_t size, size_t align, void **out) {
    auto *c = static_cast<counting *>(ctx);
    if (c->fail.load())
        return FA_BACKEND_FAIL;
    fa_backend_result r = c->inner.allocate(c->inner.ctx, size, align, out);
    if (r == FA_BACKEND_OK)
        c->bytes_out += static_cast<long>(size);
    return r;
}

void counting_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    auto *c = static_cast<counting *>(ctx);
    c->bytes_out -= static_cast<long>(size);
    c->inner.deallocate(c->inner.ctx, ptr, size, align);
}

void count_event(void *user, const fa_event *ev) {
    if (ev->error != FA_OK)
        ++*static_cast<int *>(user);
}

// One allocator per test over the counting backend; errors counted.
struct fixture {
    counting c;
    int errors = 0;
    fa_alloc *a = nullptr;
};

int setup(void **state) {
    auto *f = new fixture;
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = fa_backend{&f->c, counting_allocate, counting_deallocate};
    cfg.on_event = count_event;
    cfg.event_user = &f->errors;
    f->a = fa_create(&cfg);
    *state = f;
    return f->a != nullptr ? 0 : -1;
}

// No leaks: no live pool or heap bytes before the end (where statistics are
// kept), and every backend byte back after it. No error the test did not
// expect (a test that provokes some resets the count).
int teardown(void **state) {
    auto *f = static_cast<fixture *>(*state);
#if !FA_MINIMAL
    fa_stats s{};
    assert_int_equal(fa_stats_get(f->a, &s), FA_OK);
    assert_int_equal(s.pool.live_bytes, 0);
    assert_int_equal(s.heap.live_bytes, 0);
#endif
    fa_destroy(f->a);
    assert_int_equal(f->c.bytes_out.load(), 0);
    assert_int_equal(f->errors, 0);
    delete f;
    return 0;
}

fa_alloc *alloc_of(void **state) {
    return static_cast<fixture *>(*state)->a;
}

size_t frame_bytes(fa_alloc *a) {
    fa_frame_info info;
    assert_int_equal(fa_frame_info_get(a, &info), FA_OK);
    return info.bytes;
}

bool aligned(const void *p, size_t align) {
    return reinterpret_cast<std::uintptr_t>(p) % align == 0;
}

const char *long_text = "a string well past any small-string buffer, so that it allocates";

void pmr_containers_on_frame_resource(void **state) {
    fa_alloc *a = alloc_of(state);
    fa::frame_scope frame(a);
    assert_true(frame.ok());
    fa::frame_resource res(a);
    size_t before = frame_bytes(a);
    {
        std::pmr::vector<int> v(&res);
        for (int i = 0; i < 1000; i++)
            v.push_back(i);
        std::pmr::unordered_map<int, std::pmr::string> m(&res);
        for (int i = 0; i < 300; i++)
            m.emplace(i, std::pmr::string(long_text, &res));
        std::pmr::string s(long_text, &res);
        s += s;
        assert_int_equal(v[999], 999);
        assert_string_equal(m.at(299).c_str(), long_text);
        assert_int_equal(s.size(), 2 * std::strlen(long_text));
        // the elements live in this frame
        assert_non_null(fa_transfer_make(a, v.data(), v.size() * sizeof(int)).ptr);
        assert_non_null(fa_transfer_make(a, s.data(), s.size()).ptr);
        assert_true(frame_bytes(a) >= before + 1000 * sizeof(int) + 300 * std::strlen(long_text));
    }
    // deallocate is a no-op: the bytes stay until the frame ends
    assert_true(frame_bytes(a) >= before + 1000 * sizeof(int));
    void *p = res.allocate(200, 256);
    assert_true(aligned(p, 256));
    res.deallocate(p, 200, 256);
    // equality: same allocator and kind
    fa::frame_resource same(a);
    fa::pool_resource pool(a);
    assert_true(res.is_equal(same));
    assert_false(res.is_equal(pool));
    assert_false(res.is_equal(*std::pmr::new_delete_resource()));
}

void pmr_containers_on_pool_resource(void **state) {
    fa_alloc *a = alloc_of(state);
    fa::pool_resource res(a); // no frame needed
    {
        std::pmr::vector<int> v(&res);
        for (int i = 0; i < 5000; i++) // grows through the classes onto the heap path
            v.push_back(i);
        std::pmr::unordered_map<int, std::pmr::string> m(&res);
        for (int i = 0; i < 300; i++)
            m.emplace(i, std::pmr::string(long_text, &res));
        m.erase(7);
        std::pmr::string s(long_text, &res);
        assert_int_equal(v[4999], 4999);
        assert_string_equal(m.at(299).c_str(), long_text);
        assert_true(fa_usable_size(a, v.data()) >= v.capacity() * sizeof(int));
        assert_true(fa_usable_size(a, s.data()) >= s.size());
#if !FA_MINIMAL
        fa_stats st{};
        assert_int_equal(fa_stats_get(a, &st), FA_OK);
        assert_true(st.pool.live_bytes > 0);
        assert_true(st.heap.live_bytes >= v.capacity() * sizeof(int));
#endif
    }
    // alignments the classes give and those they do not, below and above 4096 B
    const size_t cases[][2] = {{1, 1}, {24, 8}, {64, 64}, {100, 128}, {8, 4096}, {5000, 64}, {5000, 256}, {3, 65536}};
    for (const auto &c : cases) {
        void *p = res.allocate(c[0], c[1]);
        assert_true(aligned(p, c[1]));
        assert_true(fa_usable_size(a, p) >= c[0]);
        std::memset(p, 0x5a, c[0]);
        res.deallocate(p, c[0], c[1]);
    }
    fa::pool_resource same(a);
    assert_true(res.is_equal(same));
    fa_alloc *other = fa_create(nullptr);
    fa::pool_resource elsewhere(other);
    assert_false(res.is_equal(elsewhere));
    fa_destroy(other);
}

struct alignas(64) Particle {
    float position[3];
    int id;
    explicit Particle(int i) : position{}, id(i) {}
};

void stl_allocators(void **state) {
    fa_alloc *a = alloc_of(state);
    {
        std::vector<Particle, fa::pool_allocator<Particle>> ps{fa::pool_allocator<Particle>(a)};
        for (int i = 0; i < 100; i++) // 6400 B at the end: the heap path, aligned to 64
            ps.emplace_back(i);
        for (const Particle &p : ps)
            assert_true(aligned(&p, alignof(Particle)));
        assert_int_equal(ps[99].id, 99);
        auto moved = std::move(ps); // the allocator travels with the memory
        assert_true(moved.get_allocator().get() == a);
        assert_int_equal(moved.size(), 100);
    }
    fa::frame_scope frame(a);
    size_t before = frame_bytes(a);
    {
        // a list rebinds its allocator to its node type
        std::list<int, fa::frame_allocator<int>> l{fa::frame_allocator<int>(a)};
        for (int i = 0; i < 100; i++)
            l.push_back(i);
        assert_int_equal(l.back(), 99);
        assert_true(frame_bytes(a) >= before + 100 * sizeof(int));
    }
    // rebound and converted copies compare equal; other allocators do not
    fa::frame_allocator<int> fi(a);
    fa::frame_allocator<double> fd(fi);
    assert_true(fi == fd);
    assert_true(fd.get() == a);
    assert_true(fa::pool_allocator<int>(a) != fa::pool_allocator<int>(nullptr));
    using traits = std::allocator_traits<fa::pool_allocator<int>>;
    static_assert(std::is_same_v<traits::rebind_alloc<long>, fa::pool_allocator<long>>);
    static_assert(traits::propagate_on_container_move_assignment::value);
    static_assert(traits::propagate_on_container_swap::value);
    static_assert(!traits::propagate_on_container_copy_assignment::value);
    static_assert(!traits::is_always_equal::value);
}

void frame_scope_begins_and_ends(void **state) {
    auto *f = static_cast<fixture *>(*state);
    fa_alloc *a = f->a;
    fa_frame_info info;
    {
        fa::frame_scope frame(a);
        assert_true(frame.ok());
        assert_int_equal(frame.status(), FA_OK);
        fa_frame_info_get(a, &info);
        assert_true(info.in_frame);
        {
            fa::frame_scope nested(a); // frames do not nest: inactive, the outer one untouched
            assert_false(nested.ok());
            assert_int_equal(nested.status(), FA_ERR_STATE);
        }
        assert_int_equal(f->errors, 1);
        f->errors = 0;
        fa_frame_info_get(a, &info);
        assert_true(info.in_frame);
        fa::frame_scope moved(std::move(frame)); // the end goes with it
        assert_false(frame.ok());
        assert_true(moved.ok());
    }
    fa_frame_info_get(a, &info);
    assert_false(info.in_frame);
    fa::frame_scope early(a);
    assert_int_equal(early.end(), FA_OK);
    assert_int_equal(early.end(), FA_OK); // once only
    fa_frame_info_get(a, &info);
    assert_false(info.in_frame);
    assert_int_equal(info.frame, 2);
}

void mark_scope_rewinds(void **state) {
    auto *f = static_cast<fixture *>(*state);
    fa_alloc *a = f->a;
    {
        fa::mark_scope outside(a); // outside a frame: one error (the mark's), inactive
        assert_false(outside.ok());
        assert_int_equal(outside.status(), FA_ERR_STATE);
    }
    assert_int_equal(f->errors, 1);
    f->errors = 0;

    fa::frame_scope frame(a);
    assert_non_null(fa_frame_alloc(a, 100));
    size_t before = frame_bytes(a);
    void *first;
    {
        fa::mark_scope m(a);
        assert_true(m.ok());
        first = fa_frame_alloc(a, 64);
        fa::frame_resource res(a);
        std::pmr::vector<int> v(20000, 1, &res); // past the first chunk (64 KiB)
        assert_true(frame_bytes(a) > before + 80000);
    }
    assert_int_equal(frame_bytes(a), before); // the bytes went back
    assert_ptr_equal(fa_frame_alloc(a, 64), first);

    // through the arena handle, rewound early, then moved
    fa_arena *ar = fa_arena_get(a);
    assert_non_null(ar);
    before = frame_bytes(a);
    fa::mark_scope m(ar);
    assert_true(m.ok());
    assert_non_null(fa_arena_alloc(ar, 4096));
    fa::mark_scope moved(std::move(m));
    assert_false(m.ok());
    assert_int_equal(moved.rewind(), FA_OK);
    assert_false(moved.ok());
    assert_int_equal(frame_bytes(a), before);
}

void tag_scope_charges_the_tag(void **state) {
#if FA_MINIMAL
    (void)state;
    skip(); // no tags or statistics in a minimal build
#else
    fa_alloc *a = alloc_of(state);
    fa::pool_resource res(a);
    {
        fa::tag_scope ai(a, "ai");
        assert_true(ai.ok());
        fa::tag_scope path(a, "path");
        std::pmr::vector<char> v(3000, 'x', &res);
        fa_stats s{};
        assert_int_equal(fa_stats_get(a, &s), FA_OK);
        const fa_tag_stats *tag = nullptr;
        for (uint64_t i = 0; i < s.tag_count; i++)
            if (std::strcmp(s.tags[i].path, "ai/path") == 0)
                tag = &s.tags[i];
        assert_non_null(tag);
        // the 4096 B class; at a debug level, guards may take it onto the heap path
        assert_true(tag->pool.live_bytes + tag->heap.live_bytes >= 3000);
        assert_int_equal(s.tags[0].pool.live_bytes + s.tags[0].heap.live_bytes, 0); // the root: nothing
    }
    // popped: charged to the root again
    void *p = res.allocate(100, 8);
    fa_stats s{};
    fa_stats_get(a, &s);
    assert_true(s.tags[0].pool.live_bytes + s.tags[0].heap.live_bytes >= 100);
    res.deallocate(p, 100, 8);
    assert_int_equal(fa_tag_pop(a), FA_ERR_STATE); // both popped
    static_cast<fixture *>(*state)->errors = 0;
#endif
}

int destroyed;

struct Tracked {
    alignas(64) double value;
    const char *name;
    Tracked(double v, const char *n) : value(v), name(n) {}
    ~Tracked() { destroyed++; }
};

void make_frame_constructs(void **state) {
    fa_alloc *a = alloc_of(state);
    fa::frame_scope frame(a);
    destroyed = 0;
    Tracked *t = fa::make_frame<Tracked>(a, 2.5, "probe");
    assert_true(aligned(t, 64));
    assert_true(t->value == 2.5);
    assert_string_equal(t->name, "probe");
    Particle *p = fa::make_frame<Particle>(a, 7);
    assert_true(aligned(p, 64));
    assert_int_equal(p->id, 7);
    {
        fa::frame_unique_ptr<Tracked> u = fa::make_frame_unique<Tracked>(a, 1.0, "unique");
        assert_true(aligned(u.get(), 64));
    }
    assert_int_equal(destroyed, 1); // the unique one only: t is never destroyed
    t->~Tracked();
    assert_int_equal(destroyed, 2);
}

void failures_throw_bad_alloc(void **state) {
    auto *f = static_cast<fixture *>(*state);
    fa_alloc *a = f->a;
    int thrown = 0;
    // frame memory outside a frame: NULL from C, std::bad_alloc here
    fa::frame_resource fres(a);
    try {
        std::pmr::vector<int> v(10, 0, &fres);
    } catch (const std::bad_alloc &) {
        thrown++;
    }
    try {
        std::list<int, fa::frame_allocator<int>> l{fa::frame_allocator<int>(a)};
        l.push_back(1);
    } catch (const std::bad_alloc &) {
        thrown++;
    }
    try {
        (void)fa::make_frame<Particle>(a, 1);
    } catch (const std::bad_alloc &) {
        thrown++;
    }
    // a count whose bytes overflow size_t
    try {
        (void)fa::pool_allocator<Particle>(a).allocate(SIZE_MAX / 8);
    } catch (const std::bad_alloc &) {
        thrown++;
    }
    assert_int_equal(thrown, 4);
    assert_int_equal(f->errors, 3); // the three C calls reported theirs
    f->errors = 0;

    // the memory source refuses: a pool block past the heap path
    fa::pool_resource pres(a);
    f->c.fail = true;
    try {
        std::pmr::vector<char> v(&pres);
        v.reserve(1 << 20);
    } catch (const std::bad_alloc &) {
        thrown++;
    }
    f->c.fail = false;
    assert_int_equal(thrown, 5);
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
#if !FA_MINIMAL
    // a hard global budget
    assert_int_equal(fa_budget_set(a, nullptr, 0, 256 * 1024), FA_OK);
    {
        std::pmr::vector<int> small(1000, 1, &pres); // under the budget
        try {
            std::pmr::vector<int> big(&pres);
            big.reserve(1 << 20);
        } catch (const std::bad_alloc &) {
            thrown++;
        }
        assert_int_equal(small[999], 1);
    }
    assert_int_equal(thrown, 6);
    assert_int_equal(fa_last_error(), FA_ERR_BUDGET);
    assert_int_equal(fa_budget_set(a, nullptr, 0, 0), FA_OK);
#endif
    f->errors = 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pmr_containers_on_frame_resource, setup, teardown),
        cmocka_unit_test_setup_teardown(pmr_containers_on_pool_resource, setup, teardown),
        cmocka_unit_test_setup_teardown(stl_allocators, setup, teardown),
        cmocka_unit_test_setup_teardown(frame_scope_begins_and_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(mark_scope_rewinds, setup, teardown),
        cmocka_unit_test_setup_teardown(tag_scope_charges_the_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(make_frame_constructs, setup, teardown),
        cmocka_unit_test_setup_teardown(failures_throw_bad_alloc, setup, teardown),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
