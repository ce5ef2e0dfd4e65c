// SPDX-License-Identifier: MIT
// The installed C++ header, used as a C++17 program would: a frame scope, a
// pmr vector in frame memory, a vector on the pools.
#include <cstdio>
#include <memory_resource>
#include <vector>

#include <framealloc.hpp>

int main() {
    fa_alloc *a = fa_create(nullptr);
    if (a == nullptr)
        return 1;
    bool ok;
    {
        fa::frame_scope frame(a);
        fa::frame_resource res(a);
        std::pmr::vector<int> v(&res);
        std::vector<int, fa::pool_allocator<int>> w{fa::pool_allocator<int>(a)};
        for (int i = 0; i < 1000; i++) {
            v.push_back(i);
            w.push_back(i);
        }
        ok = frame.ok() && v[999] == 999 && w[999] == 999;
    }
    fa_destroy(a);
    std::puts(ok ? "installed framealloc.hpp works" : "installed framealloc.hpp is broken");
    return ok ? 0 : 1;
}
