/* SPDX-License-Identifier: MIT */
/* Uses the installed library the way a game would: one frame, one string;
 * and checks that the build flags it got match the library. */
#include <stdio.h>
#include <string.h>

#include <framealloc.h>

int main(void) {
    fa_alloc *a = fa_create(NULL);
    if (a == NULL || fa_begin_frame(a) != FA_OK)
        return 1;
    char *s = fa_frame_printf(a, "frame %llu", (unsigned long long)fa_frame_number(a));
    int ok = s != NULL && strcmp(s, "frame 1") == 0;
    fa_end_frame(a);
    fa_destroy(a);
    /* the flags carried the library's build mode: a minimal library turns
     * everything off by default */
    fa_config cfg;
    fa_config_init(&cfg);
    ok = ok && cfg.disable == (FA_MINIMAL ? FA_DISABLE_ALL : 0u);
    puts(ok ? "installed framealloc works" : "installed framealloc is broken");
    return ok ? 0 : 1;
}
