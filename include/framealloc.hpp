// SPDX-License-Identifier: MIT
/*
 * framealloc.hpp — C++17 adapters over the C API of framealloc.h.
 *
 * Header-only, namespace fa, docs/cpp.md is the guide:
 *   fa::frame_resource, fa::pool_resource   std::pmr::memory_resource
 *   fa::frame_allocator<T>, fa::pool_allocator<T>   STL allocators
 *   fa::frame_scope, fa::mark_scope, fa::tag_scope   RAII begin/end, mark/rewind, push/pop
 *   fa::make_frame<T>, fa::make_frame_unique<T>   objects in frame memory
 *
 * Exceptions: the C functions never throw. The only exception this header
 * throws is std::bad_alloc, from an allocation that returned NULL (as the
 * standard requires of memory resources and allocators); the C event and
 * fa_last_error() still say why. Built with -fno-exceptions it aborts there.
 *
 * Lifetimes: frame memory is released at the thread's frame end (or a
 * rewind past it) without running any destructor. A container or object in
 * frame memory must be destroyed, or abandoned, before then.
 */
#ifndef FRAMEALLOC_HPP
#define FRAMEALLOC_HPP

#include <cstddef>
#include <cstdlib>
#include <limits>
#include <memory>
#include <memory_resource>
#include <new>
#include <type_traits>
#include <utility>

#include "framealloc.h"

namespace fa {

namespace detail {

[[noreturn]] inline void throw_bad_alloc() {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    throw std::bad_alloc();
#else
    std::abort(); /* no exceptions: an allocator cannot return NULL either */
#endif
}

/* The largest pool class; above it fa_pool_alloc takes the heap path. */
constexpr std::size_t pool_max = std::size_t{8} << (FA_POOL_CLASS_COUNT - 1);

/* A long-lived block of bytes aligned to align, or NULL. fa_pool_alloc (the
 * inline path) where its alignment suffices: every block is aligned to its
 * class size, at least 8 and at least the largest power of two <= bytes, up
 * to 4096 B, and to 64 on the heap path above; anything else goes through
 * fa_realloc_aligned, which picks the pools or the heap path itself. */
inline void *pool_allocate(fa_alloc *a, std::size_t bytes, std::size_t align) noexcept {
    bool class_suffices = align <= 8 || (bytes <= pool_max ? align <= bytes : align <= 64);
    return class_suffices ? fa_pool_alloc(a, bytes) : fa_realloc_aligned(a, nullptr, bytes, align);
}

/* n objects of size bytes, or 0 when that overflows (no allocation is that large). */
constexpr std::size_t array_bytes(std::size_t n, std::size_t size) noexcept {
    return n > std::numeric_limits<std::size_t>::max() / size ? 0 : n * size;
}

template <class Derived> bool same_resource(const Derived *self, const std::pmr::memory_resource &other) noexcept {
    if (self == &other)
        return true;
#if defined(__GXX_RTTI) || defined(_CPPRTTI) || defined(__cpp_rtti)
    auto *o = dynamic_cast<const Derived *>(&other);
    return o != nullptr && o->get() == self->get();
#else
    return false; /* without RTTI the kind of `other` is unknown: only itself is equal */
#endif
}

} // namespace detail

/* ---- memory resources ---------------------------------------------------- */

/* Frame memory of the calling thread (fa_frame_alloc_aligned): valid until
 * that thread's frame end. Allocating outside a frame throws. deallocate is
 * a no-op: the frame end releases everything at once, so a pmr container's
 * frees and regrowths leave their old blocks in the frame until then. */
class frame_resource final : public std::pmr::memory_resource {
public:
    explicit frame_resource(fa_alloc *a) noexcept : a_(a) {}
    fa_alloc *get() const noexcept { return a_; }

private:
    void *do_allocate(std::size_t bytes, std::size_t align) override {
        void *p = fa_frame_alloc_aligned(a_, bytes, align);
        if (p == nullptr)
            detail::throw_bad_alloc();
        return p;
    }
    void do_deallocate(void *, std::size_t, std::size_t) noexcept override {}
    /* Two frame resources over one allocator are interchangeable: neither frees. */
    bool do_is_equal(const std::pmr::memory_resource &other) const noexcept override {
        return detail::same_resource(this, other);
    }

    fa_alloc *a_;
};

/* Pool blocks (the heap path above 4096 B or for alignments the classes do
 * not give): live until deallocated, from and to any thread, no frame needed. */
class pool_resource final : public std::pmr::memory_resource {
public:
    explicit pool_resource(fa_alloc *a) noexcept : a_(a) {}
    fa_alloc *get() const noexcept { return a_; }

private:
    void *do_allocate(std::size_t bytes, std::size_t align) override {
        void *p = detail::pool_allocate(a_, bytes, align);
        if (p == nullptr)
            detail::throw_bad_alloc();
        return p;
    }
    /* fa_pool_free takes pool and heap blocks alike; a bad pointer is
     * reported through the allocator's event callback, never thrown. */
    void do_deallocate(void *p, std::size_t, std::size_t) noexcept override { (void)fa_pool_free(a_, p); }
    bool do_is_equal(const std::pmr::memory_resource &other) const noexcept override {
        return detail::same_resource(this, other);
    }

    fa_alloc *a_;
};

/* ---- STL allocators ------------------------------------------------------ */
/* Stateful allocators holding the fa_alloc *; two compare equal when they
 * hold the same one (then either frees what the other allocated).
 * Propagation: a move assignment and a swap take the allocator along with
 * the memory (O(1), noexcept, and a swap of unequal allocators is never
 * undefined); a copy assignment keeps the destination's allocator, so the
 * copy lands where the destination lives. */

namespace detail {
/* What the two allocators share: the allocator they hold, the traits and
 * the comparisons. Self is the allocator template (for rebind). */
template <template <class> class Self, class T> class allocator_base {
public:
    using value_type = T;
    using propagate_on_container_copy_assignment = std::false_type;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;
    template <class U> struct rebind {
        using other = Self<U>;
    };

    explicit allocator_base(fa_alloc *a) noexcept : a_(a) {}
    fa_alloc *get() const noexcept { return a_; }

    template <class U> friend bool operator==(const Self<T> &x, const Self<U> &y) noexcept {
        return x.get() == y.get();
    }
    template <class U> friend bool operator!=(const Self<T> &x, const Self<U> &y) noexcept {
        return x.get() != y.get();
    }

protected:
    fa_alloc *a_;
};
} // namespace detail

/* Frame memory of the calling thread; deallocate is a no-op (see
 * frame_resource). The type says "frame": a container of it must not
 * outlive the frame. */
template <class T> class frame_allocator : public detail::allocator_base<frame_allocator, T> {
    using base = detail::allocator_base<frame_allocator, T>;

public:
    using base::base;
    template <class U> frame_allocator(const frame_allocator<U> &other) noexcept : base(other.get()) {}

    T *allocate(std::size_t n) {
        /* fa_frame_array checks n * sizeof(T) for overflow itself */
        void *p = fa_frame_array(this->a_, n, sizeof(T), alignof(T));
        if (p == nullptr)
            detail::throw_bad_alloc();
        return static_cast<T *>(p);
    }
    void deallocate(T *, std::size_t) noexcept {}
};

/* Pool blocks (as pool_resource): a container of it may live any time. */
template <class T> class pool_allocator : public detail::allocator_base<pool_allocator, T> {
    using base = detail::allocator_base<pool_allocator, T>;

public:
    using base::base;
    template <class U> pool_allocator(const pool_allocator<U> &other) noexcept : base(other.get()) {}

    T *allocate(std::size_t n) {
        std::size_t bytes = detail::array_bytes(n, sizeof(T));
        void *p = bytes != 0 || n == 0 ? detail::pool_allocate(this->a_, bytes, alignof(T)) : nullptr;
        if (p == nullptr)
            detail::throw_bad_alloc();
        return static_cast<T *>(p);
    }
    void deallocate(T *p, std::size_t) noexcept { (void)fa_pool_free(this->a_, p); }
};

/* ---- RAII scopes --------------------------------------------------------- */
/* Each does its C call in the constructor and undoes it in the destructor,
 * on the same thread (frames, marks and tags are per thread). None throws:
 * a failed call (reported by the C library as usual) leaves the scope
 * inactive, ok() false and status() the error, and nothing to undo. The
 * undo can be done early (end, rewind, pop); the destructor then does
 * nothing. Not copyable; a move hands the undo over and leaves the source
 * inactive; no move assignment (it would have to undo out of order). Name
 * the scope: `fa::frame_scope(a);` is a temporary that ends at once. */

/* fa_begin_frame ... fa_end_frame. */
class frame_scope {
public:
    explicit frame_scope(fa_alloc *a) noexcept : status_(fa_begin_frame(a)) {
        if (status_ == FA_OK)
            a_ = a;
    }
    ~frame_scope() { (void)end(); }
    frame_scope(frame_scope &&other) noexcept : a_(std::exchange(other.a_, nullptr)), status_(other.status_) {}
    frame_scope(const frame_scope &) = delete;
    frame_scope &operator=(const frame_scope &) = delete;
    frame_scope &operator=(frame_scope &&) = delete;

    bool ok() const noexcept { return a_ != nullptr; }
    fa_error status() const noexcept { return status_; }
    /* Ends the frame now (FA_OK when there is nothing to end). */
    fa_error end() noexcept { return a_ != nullptr ? fa_end_frame(std::exchange(a_, nullptr)) : FA_OK; }

private:
    fa_alloc *a_ = nullptr; /* the frame to end; NULL: inactive */
    fa_error status_;
};

/* A mark of the calling thread's frame, rewound to at the scope's end: all
 * frame memory allocated within is released (no destructors run). From the
 * allocator (fa_frame_mark) or from the thread's arena handle (fa_arena_mark). */
class mark_scope {
public:
    explicit mark_scope(fa_alloc *a) noexcept : a_(a), mark_(fa_frame_mark(a)) { settle(); }
    explicit mark_scope(fa_arena *ar) noexcept : ar_(ar), mark_(fa_arena_mark(ar)) { settle(); }
    ~mark_scope() { (void)rewind(); }
    mark_scope(mark_scope &&other) noexcept
        : a_(std::exchange(other.a_, nullptr)), ar_(std::exchange(other.ar_, nullptr)), mark_(other.mark_),
          status_(other.status_) {}
    mark_scope(const mark_scope &) = delete;
    mark_scope &operator=(const mark_scope &) = delete;
    mark_scope &operator=(mark_scope &&) = delete;

    bool ok() const noexcept { return a_ != nullptr || ar_ != nullptr; }
    fa_error status() const noexcept { return status_; }
    const fa_mark &mark() const noexcept { return mark_; }
    /* Rewinds now (FA_OK when inactive). */
    fa_error rewind() noexcept {
        if (a_ != nullptr)
            return fa_frame_rewind(std::exchange(a_, nullptr), mark_);
        if (ar_ != nullptr)
            return fa_arena_rewind(std::exchange(ar_, nullptr), mark_);
        return FA_OK;
    }

private:
    /* A failed mark (outside a frame, NULL) is empty: all zero, which the
     * header's one look at a private field tells; the C call has reported
     * it, and an inactive scope spares the destructor a second report. */
    void settle() noexcept {
        if (mark_.fa__thread == nullptr) {
            a_ = nullptr;
            ar_ = nullptr;
            status_ = fa_last_error();
        }
    }

    fa_alloc *a_ = nullptr; /* at most one of the two is set: the one to rewind */
    fa_arena *ar_ = nullptr;
    fa_mark mark_;
    fa_error status_ = FA_OK;
};

/* fa_tag_push ... fa_tag_pop: every frame, pool and heap allocation of the
 * calling thread in between is charged to the tag path. */
class tag_scope {
public:
    tag_scope(fa_alloc *a, const char *name) noexcept : status_(fa_tag_push(a, name)) {
        if (status_ == FA_OK)
            a_ = a;
    }
    ~tag_scope() { (void)pop(); }
    tag_scope(tag_scope &&other) noexcept : a_(std::exchange(other.a_, nullptr)), status_(other.status_) {}
    tag_scope(const tag_scope &) = delete;
    tag_scope &operator=(const tag_scope &) = delete;
    tag_scope &operator=(tag_scope &&) = delete;

    bool ok() const noexcept { return a_ != nullptr; }
    fa_error status() const noexcept { return status_; }
    /* Pops now (FA_OK when inactive). */
    fa_error pop() noexcept { return a_ != nullptr ? fa_tag_pop(std::exchange(a_, nullptr)) : FA_OK; }

private:
    fa_alloc *a_ = nullptr;
    fa_error status_;
};

/* ---- objects in frame memory --------------------------------------------- */

/* A T constructed in the calling thread's frame memory, aligned for it
 * (alignas(64) and beyond work). Its destructor never runs by itself: the
 * frame end releases the memory only. Fine for trivially destructible types;
 * for others call p->~T() before the frame ends, or use make_frame_unique.
 * Throws std::bad_alloc outside a frame or when out of memory; an exception
 * from T's constructor propagates (its memory stays in the frame). */
template <class T, class... Args> T *make_frame(fa_alloc *a, Args &&...args) {
    void *p = fa_frame_alloc_aligned(a, sizeof(T), alignof(T));
    if (p == nullptr)
        detail::throw_bad_alloc();
    return ::new (p) T(std::forward<Args>(args)...);
}

/* Runs the destructor only: the memory is the frame's. */
struct frame_delete {
    template <class T> void operator()(T *p) const noexcept { p->~T(); }
};

/* A make_frame object whose destructor runs when the pointer goes: it must
 * go before the frame ends (after that it would destroy released memory). */
template <class T> using frame_unique_ptr = std::unique_ptr<T, frame_delete>;

template <class T, class... Args> frame_unique_ptr<T> make_frame_unique(fa_alloc *a, Args &&...args) {
    return frame_unique_ptr<T>(make_frame<T>(a, std::forward<Args>(args)...));
}

} // namespace fa

#endif /* FRAMEALLOC_HPP */
