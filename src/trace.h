/* SPDX-License-Identifier: MIT */
/* The trace's part of fa_destroy. */
#ifndef FA_TRACE_H
#define FA_TRACE_H

#include "instance.h"

/* Finishes a trace still running and frees the trace object. */
void fa__trace_destroy(fa_alloc *a);

#endif
