/* SPDX-License-Identifier: MIT */
/* What the frame API (frame.c) offers the helpers above it: the end of a
 * shared frame by any thread, and a thread catching up with it. */
#ifndef FA_FRAME_H
#define FA_FRAME_H

#include "instance.h"

/* FA_FRAMES_SHARED: ends the instance's open frame (FA_ERR_STATE, not
 * reported, when none is open) and sends every thread's next frame
 * allocation to its slow path, which sees the end. */
fa_error fa__frame_shared_end(fa_alloc *a);
/* FA_FRAMES_SHARED: the calling thread's part closed once its frame has
 * ended (kept in flight or released). FA_OK otherwise, and under
 * per-thread frames. */
fa_error fa__frame_sync(fa_alloc *a);

#endif
