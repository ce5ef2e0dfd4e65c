// SPDX-License-Identifier: MIT
// The public header compiled and used as C++17.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
extern "C" {
#include <cmocka.h> // cmocka 1.1 has no C++ linkage of its own
}

#include <cstdint>
#include <cstring>

#include "framealloc.h"

namespace {

struct alignas(64) Particle {
    float position[3];
    float velocity[3];
};

void frame_api_works_from_cxx(void **) {
    fa_config cfg;
    fa_config_init(&cfg);
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    Particle *one = fa_frame_new(a, Particle);
    Particle *many = fa_frame_new_array(a, Particle, 10);
    assert_int_equal(reinterpret_cast<std::uintptr_t>(one) % alignof(Particle), 0);
    assert_int_equal(reinterpret_cast<std::uintptr_t>(many) % alignof(Particle), 0);
    fa_mark m = fa_frame_mark(a);
    char *s = fa_frame_printf(a, "%s-%d", "cxx", 17);
    assert_string_equal(s, "cxx-17");
    assert_int_equal(fa_frame_rewind(a, m), FA_OK);
    assert_ptr_equal(fa_frame_strdup(a, "again"), s);
    int *zeroed = static_cast<int *>(fa_frame_calloc(a, 4, sizeof(int)));
    assert_int_equal(zeroed[3], 0);
    assert_null(fa_frame_alloc_aligned(a, 8, 3));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_non_null(std::strstr(fa_strerror(FA_ERR_INVALID), "invalid"));
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_api_works_from_cxx),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
