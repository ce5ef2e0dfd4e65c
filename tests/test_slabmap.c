/* SPDX-License-Identifier: MIT */
/* The slab map (src/slabmap.c), white-box: lookups answer before any
 * allocator exists, a slab's pieces all point to it, addresses beyond user
 * space find no slab, and removed entries are empty again. Nothing is read
 * at the addresses: the map is the library's own record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "slabmap.h"

#define BASE ((uintptr_t)0x7f1234560000u) /* any FA__SLAB_MIN-aligned user address */

static void lookups_work_before_any_allocator(void **state) {
    (void)state;
    const struct fa__slab_entry *e = fa__slab_of(BASE);
    assert_null(e->slab);
    assert_null(e->rec);
}

static void every_piece_of_a_slab_points_to_it(void **state) {
    (void)state;
    int slab; /* stands for a descriptor: only its address is stored */
    fa__slabmap_acquire();
    struct fa__slab_entry *e = fa__slabmap_add(BASE, 2, &slab);
    assert_non_null(e);
    assert_ptr_equal(fa__slab_of(BASE + 100)->slab, &slab);
    assert_ptr_equal(fa__slab_of(BASE + FA__SLAB_MIN + 5)->slab, &slab);
    assert_null(fa__slab_of(BASE + 2 * FA__SLAB_MIN)->slab);
    assert_null(fa__slab_of(BASE - 1)->slab);
    fa__slabmap_remove(e, 2);
    assert_null(fa__slab_of(BASE + 100)->slab);
    fa__slabmap_release();
    assert_null(fa__slab_of(BASE)->slab); /* the last user out empties the map */
}

static void addresses_beyond_user_space_find_no_slab(void **state) {
    (void)state;
    assert_ptr_equal(fa__slab_of((uintptr_t)0xffff800000001000u), &fa__no_slab);
    int slab;
    fa__slabmap_acquire();
    assert_null(fa__slabmap_add((uintptr_t)1 << 48, 1, &slab)); /* the map cannot hold it */
    fa__slabmap_release();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookups_work_before_any_allocator),
        cmocka_unit_test(every_piece_of_a_slab_points_to_it),
        cmocka_unit_test(addresses_beyond_user_space_find_no_slab),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
