/* SPDX-License-Identifier: MIT */
/* The README's quick start, built with the project so it cannot rot. */
#include <framealloc.h>

typedef struct { float normal[3], depth; int a, b; } Contact;

int main(void) {
    fa_alloc *fa = fa_create(NULL);                 /* defaults: system memory */
    for (int frame = 0; frame < 3; frame++) {
        fa_begin_frame(fa);                         /* per thread */
        Contact *contacts = fa_frame_new_array(fa, Contact, 512);
        char *title = fa_frame_printf(fa, "frame %d", frame);
        fa_mark scratch = fa_frame_mark(fa);        /* temporary work ... */
        float *tmp = fa_frame_array(fa, 4096, sizeof(float), 64);
        fa_frame_rewind(fa, scratch);               /* ... released at once */
        if (!contacts || !title || !tmp)
            return 1;                               /* fa_last_error() says why */
        fa_end_frame(fa);                           /* everything above is gone */
    }
    fa_destroy(fa);
    return 0;
}
