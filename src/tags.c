/* SPDX-License-Identifier: MIT */
/* The tag API: fa_tag_push and fa_tag_pop, over each thread's attribution.
 * Floor: API (docs/internals.md). It calls no other API file.
 * Invariant: a push makes everything that can fail (the path's id, its
 * pools, room for its span and its pop's) before the tag stack changes, so
 * a refused push changes nothing and a pop never fails for memory. */
#include <string.h>

#include "attribution.h"

fa_error fa_tag_push(fa_alloc *a, const char *name) {
    if (a == NULL)
        return fa__null_alloc("fa_tag_push");
    size_t length = name != NULL ? strlen(name) : 0;
    if (name == NULL || !fa__tag_name_ok(name, length))
        return fa__report(&a->sink, FA_ERR_INVALID, 0,
                          "fa_tag_push: a name is 1 to %d bytes with no '/' and no control character",
                          FA_TAG_NAME_MAX);
    struct fa_thread *th = fa__attach(a, 0, "fa_tag_push");
    if (th == NULL)
        return FA_ERR_NOMEM;
    struct fa_charge *c = &th->charge;
    if (c->depth == a->cfg.max_tag_depth)
        return fa__report_at(&a->sink, fa__attr_path(a, th), FA_ERR_STATE, 0,
                             "fa_tag_push: %u tags are pushed already (cfg.max_tag_depth; pop some first)",
                             a->cfg.max_tag_depth);
    int id = FA__TAG_ROOT;
    if (fa__tags_on(a)) {
        id = fa__tag_child(&a->ledger->tags, c->tag, name, length);
        const char *parent = fa__tag(&a->ledger->tags, c->tag)->path;
        if (id == FA__TAG_FULL) /* the root's path is "": its children have no '/' before them */
            return fa__report_at(&a->sink, fa__attr_path(a, th), FA_ERR_NOMEM, 0,
                                 "fa_tag_push: the tag table is full: no room for path %s%s%s (%u paths at "
                                 "most: cfg.max_tags)", parent, *parent != '\0' ? "/" : "", name, a->cfg.max_tags);
        if (id < 0)
            return fa__report_at(&a->sink, fa__attr_path(a, th), FA_ERR_NOMEM, 0,
                                 "fa_tag_push: no memory for the name of path %s%s%s", parent,
                                 *parent != '\0' ? "/" : "", name);
    }
    if (fa__attr_prepare(th, (uint32_t)id) != FA_OK)
        return fa__report_at(&a->sink, fa__attr_path(a, th), FA_ERR_NOMEM, 0,
                             "fa_tag_push: no memory for the pools or frame spans of path %s",
                             fa__tag(&a->ledger->tags, (uint32_t)id)->path);
    c->stack[c->depth++] = (uint32_t)id;
    fa__attr_switch(a, th, (uint32_t)id);
    return FA_OK;
}

fa_error fa_tag_pop(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_tag_pop");
    struct fa_thread *th = fa__thread_find(&a->threads);
    if (th == NULL || th->charge.depth == 0)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_tag_pop: no tag is pushed on this thread");
    struct fa_charge *c = &th->charge;
    c->depth--;
    fa__attr_switch(a, th, c->depth != 0 ? c->stack[c->depth - 1] : FA__TAG_ROOT); /* prepared at its push */
    return FA_OK;
}
