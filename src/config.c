/* SPDX-License-Identifier: MIT */
/* Configuration: fa_config_init's defaults, and the checks docs/errors.md
 * lists for a caller's config, which fa_create resolves once.
 * Floor: instance (docs/internals.md). It calls nothing above it: no
 * attribution or API file. It reads backend.h (the system backend) and
 * slabmap.h (the slab sizes a config may ask for).
 * Invariant: fa_create keeps a config only once every default is filled in
 * and every check passed. On a size or version mismatch the result holds
 * only the defaults: the caller's fields, callback included, are not
 * trusted. */
#include <stdio.h>
#include <string.h>

#include "config.h"

#include "backend.h"
#include "platform.h"
#include "slabmap.h" /* the slab sizes a config may ask for */

#define KIB ((size_t)1024)
#define MIB (KIB * 1024)
#define MIN_CHUNK (4 * KIB)

void fa_config_init(fa_config *cfg) {
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    cfg->version = FA_CONFIG_VERSION;
    cfg->frame_chunk_first = 64 * KIB;
    cfg->frame_chunk_max = 1 * MIB;
    cfg->frame_chunk_growth = 2;
    cfg->frame_chunk_align = 64;
    cfg->chunk_cache_limit = 32 * MIB;
    cfg->chunk_cache_frames = 60; /* a second at 60 frames a second */
    cfg->max_tags = FA_TAG_MAX;
    cfg->max_budgets = 31;
    cfg->max_tag_depth = FA_TAG_DEPTH;
    cfg->slab_size = 64 * KIB;
    cfg->slab_reserve = 1 * MIB;
    cfg->backend = fa_backend_system();
    cfg->history_frames = 120;
    cfg->frames_in_flight = 1;
    cfg->disable = FA_MINIMAL ? FA_DISABLE_ALL : 0; /* a minimal build has nothing to turn on */
}

static fa_error invalid(char *why, size_t n, const char *reason) {
    snprintf(why, n, "fa_create: %s", reason);
    return FA_ERR_INVALID;
}

/* fa_config as version 1 had it: its fields end before chunk_cache_frames,
 * its size is that rounded up to the struct's alignment. */
#define V1_FIELDS offsetof(fa_config, chunk_cache_frames)
#define V1_SIZE ((V1_FIELDS + _Alignof(fa_config) - 1) & ~(_Alignof(fa_config) - 1))

/* The bytes of fields the caller's struct has (0 for a size or version the
 * library does not know): a zero size is its version's, a zero version
 * this header's. */
static size_t caller_fields(const fa_config *in) {
    if (in->version > FA_CONFIG_VERSION)
        return 0;
    int v1 = in->version == 1;
    if (in->size != 0 && in->size != (v1 ? V1_SIZE : sizeof *in))
        return 0;
    return v1 ? V1_FIELDS : sizeof *in;
}

fa_error fa__config_resolve(const fa_config *in, fa_config *out, char *why, size_t n) {
    fa_config_init(out);
    if (in == NULL)
        return FA_OK;
    if (in->version > FA_CONFIG_VERSION)
        return invalid(why, n, "config version is newer than this library");
    size_t fields = caller_fields(in);
    if (fields == 0)
        return invalid(why, n, "config size does not match this library's fa_config");
    const fa_config defaults = *out;
    memcpy(out, in, fields); /* an older caller's: the newer fields keep their defaults */
    out->size = defaults.size;
    out->version = defaults.version;
#define DEFAULT_IF_ZERO(field)            \
    do {                                  \
        if (out->field == 0)              \
            out->field = defaults.field;  \
    } while (0)
    DEFAULT_IF_ZERO(frame_chunk_first);
    DEFAULT_IF_ZERO(frame_chunk_max);
    DEFAULT_IF_ZERO(frame_chunk_growth);
    DEFAULT_IF_ZERO(chunk_cache_limit);
    DEFAULT_IF_ZERO(chunk_cache_frames);
    DEFAULT_IF_ZERO(max_tags);
    DEFAULT_IF_ZERO(max_budgets);
    DEFAULT_IF_ZERO(max_tag_depth);
    DEFAULT_IF_ZERO(frame_chunk_align);
    DEFAULT_IF_ZERO(slab_size);
    DEFAULT_IF_ZERO(slab_reserve);
    DEFAULT_IF_ZERO(history_frames);
    DEFAULT_IF_ZERO(frames_in_flight);
#undef DEFAULT_IF_ZERO
    if ((out->backend.allocate == NULL) != (out->backend.deallocate == NULL))
        return invalid(why, n, "backend needs both allocate and deallocate");
    if (out->backend.allocate == NULL)
        out->backend = defaults.backend;
    out->disable |= defaults.disable;
    if (out->disable & ~FA_DISABLE_ALL)
        return invalid(why, n, "disable has bits other than FA_DISABLE_*");
    if ((out->frame_budget_soft | out->frame_budget_hard) != 0 && (out->disable & FA_DISABLE_BUDGETS))
        return invalid(why, n, "a frame budget is set but budgets are disabled");
    if (out->frame_budget_hard != 0 && out->frame_budget_soft > out->frame_budget_hard)
        return invalid(why, n, "frame_budget_soft is above frame_budget_hard");
    if (out->frame_chunk_first < MIN_CHUNK)
        return invalid(why, n, "frame_chunk_first is below 4 KiB");
    if (out->frame_chunk_max < out->frame_chunk_first)
        return invalid(why, n, "frame_chunk_max is below frame_chunk_first");
    if (out->frame_chunk_max > SIZE_MAX / 4)
        return invalid(why, n, "frame_chunk_max is too large");
    if (!fa__is_pow2(out->frame_chunk_align) || out->frame_chunk_align < 64 || out->frame_chunk_align > out->frame_chunk_max)
        return invalid(why, n, "frame_chunk_align is not a power of two from 64 to frame_chunk_max");
    if (!fa__is_pow2(out->slab_size) || out->slab_size < FA__SLAB_MIN || out->slab_size > FA__SLAB_MAX)
        return invalid(why, n, "slab_size is not a power of two from 64 KiB to 1 MiB");
    if (out->frames_in_flight > FA_FRAMES_IN_FLIGHT_MAX)
        return invalid(why, n, "frames_in_flight is above FA_FRAMES_IN_FLIGHT_MAX");
    if ((unsigned)out->frame_mode > FA_FRAMES_SHARED)
        return invalid(why, n, "frame_mode is not FA_FRAMES_PER_THREAD or FA_FRAMES_SHARED");
    if (out->max_tags > FA_TAG_PATHS_MAX)
        return invalid(why, n, "max_tags is above FA_TAG_PATHS_MAX");
    if (out->max_budgets > FA_BUDGET_MAX)
        return invalid(why, n, "max_budgets is above FA_BUDGET_MAX");
    if (out->max_tag_depth > FA_TAG_DEPTH_MAX)
        return invalid(why, n, "max_tag_depth is above FA_TAG_DEPTH_MAX");
    if ((unsigned)out->debug > FA_DEBUG_MALLOC)
        return invalid(why, n, "debug is not one of FA_DEBUG_OFF, _GUARD, _TRACE, _MALLOC");
    return FA_OK;
}

int fa__debug_from_env(const char *value, fa_debug *level) {
    static const char *const names[] = {"off", "guard", "trace", "malloc"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(value, names[i]) == 0) {
            *level = (fa_debug)i;
            return 1;
        }
    return 0;
}
