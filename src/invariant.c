/* The one place a failed internal check ends up (invariant.h). */
#include "invariant.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void fa__assert_fail(const char *condition, const char *file, int line, const char *fn) {
    fprintf(stderr, "framealloc: internal check failed: %s (%s:%d, %s)\n", condition, file, line, fn);
    abort();
}
