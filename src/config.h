/* SPDX-License-Identifier: MIT */
/* Configuration: checking a caller's fa_config and filling in its defaults
 * (fa_config_init is the public half). Stands below the instance, which
 * keeps the resolved config. */
#ifndef FA_CONFIG_H
#define FA_CONFIG_H

#include <stddef.h>

#include "framealloc.h"

/* Checks a caller's config and fills every default into *out; on failure
 * returns the error and a one-line reason in why. When the struct's size or
 * version does not match, *out holds only the defaults (its fields cannot be
 * trusted, the callback included). */
fa_error fa__config_resolve(const fa_config *in, fa_config *out, char *why, size_t why_size);
/* A FRAMEALLOC_DEBUG value ("off", "guard", "trace", "malloc") into *level; 0 when it
 * is none of them. */
int fa__debug_from_env(const char *value, fa_debug *level);

#endif
