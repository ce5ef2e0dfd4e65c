/* SPDX-License-Identifier: MIT */
/* Lua 5.4 on framealloc: scripting VMs whose memory lives in the pools and
 * the heap path, each under its own tag path and hard budget.
 *
 * The lua_Alloc (fa_lua_alloc) maps Lua's one memory function onto
 * fa_pool_realloc and fa_pool_free (docs/pools.md, "Growing, shrinking and
 * sizing"): blocks up to 4096 B come from the size-class pools, larger ones
 * (big tables, long strings) from the heap path, and fa_pool_free frees
 * both. Every call from the host into a VM pushes the VM's tag path
 * ("lua/vm0"; "lua/worker<i>" with --threads) so that everything the VM
 * allocates is charged to it, and a hard budget on that path caps the VM.
 *
 * The host runs frames (fa_begin_frame / fa_end_frame). Each frame it calls
 * three scripts, defined once as Lua source embedded below: table churn,
 * string concatenation and a small class-like object system. Each returns a
 * checksum that the host computes again in C (with frame scratch). Halfway
 * through, a script hoards memory in a global table until the budget stops
 * it: lua_pcall returns LUA_ERRMEM with "not enough memory", the host drops
 * the hoard, the VM runs a small script, and the frame loop carries on.
 * With --threads N, N threads each run the same loop on a VM of their own,
 * all on one allocator (a VM's pool blocks are freed on its own thread).
 *
 * Self-checks, each a failure (exit 1): a checksum that differs from the
 * host's; a call that fails other than the hoarding one; the hoarding one
 * not failing with LUA_ERRMEM and Lua's message; the VM not running a
 * script after it; Lua's own byte count (lua_gc LUA_GCCOUNT) differing from
 * the bytes the lua_Alloc saw; after lua_close, live pool or heap bytes
 * under the VM's path, seen by its own thread and, after the joins, by the
 * main thread; allocations charged to the path other than the lua_Alloc's
 * new blocks; no budget refusal, or refusals that the budget, the events
 * and the lua_Alloc count differently; any error event other than
 * FA_ERR_BUDGET. A library without budgets or statistics (FA_MINIMAL)
 * skips the hoarding script and the statistics checks.
 *
 * --bench runs the same scripts on a lua_Alloc over glibc's realloc and on
 * fa_lua_alloc, in the same run, and prints ns per script run (the median
 * of 5 rounds) and the ratio. Figures only: nothing is asserted on time.
 *
 * Usage: engine_lua [--threads N] [--frames F] [--quick] [--bench]
 */
#define _POSIX_C_SOURCE 200809L

#include <framealloc.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 16             /* a budget per VM's path, and up to 31 paths have one */
#define VM_BUDGET ((size_t)1 << 20) /* hard, per VM: 10x what the scripts peak at (90 KiB) */
#define FRAMES 60
#define QUICK_FRAMES 8
#define PRINT_EVERY 20
#define BENCH_ROUNDS 5
#define BENCH_BLOCKS 10
#define BENCH_BLOCK_RUNS 20

/* ---- the scripts ---------------------------------------------------------- */

/* Each chunk defines global functions the host calls every frame. Integer
 * arithmetic only, so that the C host can compute the same results. */
static const char CHURN_LUA[] = /* tables built and dropped: array, hash and nested parts */
    "function churn(n, seed)\n"
    "  local sum = 0\n"
    "  for i = 1, n do\n"
    "    local t = {i, seed, i * seed, name = 'item', pos = {x = i, y = -i}}\n"
    "    local u = {}\n"
    "    for k = 1, 8 do u[k] = t[1] + k end\n" /* grows 1, 2, 4, 8: reallocs */
    "    sum = (sum + t[3] + u[8] + t.pos.x - t.pos.y) % 1000000007\n"
    "  end\n"
    "  return sum\n"
    "end\n";

static const char STRINGS_LUA[] = /* concatenation: every '..' makes a new string */
    "function strings(n, seed)\n"
    "  local parts, s = {}, ''\n"
    "  for i = 1, n do\n"
    "    s = s .. ((i * seed) % 97) .. ','\n"
    "    if #s > 200 then parts[#parts + 1] = s; s = '' end\n"
    "  end\n"
    "  parts[#parts + 1] = s\n"
    "  local all = table.concat(parts, ';')\n"
    "  local h = 2166136261\n" /* FNV-1a, 32 bits */
    "  for k = 1, #all do h = ((h ~ all:byte(k)) * 16777619) & 0xffffffff end\n"
    "  return #all, h\n"
    "end\n";

static const char OBJECTS_LUA[] = /* classes as metatables, one level of inheritance */
    "local Object = {}\n"
    "Object.__index = Object\n"
    "function Object:extend()\n"
    "  local cls = setmetatable({}, self)\n"
    "  cls.__index = cls\n"
    "  return cls\n"
    "end\n"
    "function Object:new(...)\n"
    "  local o = setmetatable({}, self)\n"
    "  o:init(...)\n"
    "  return o\n"
    "end\n"
    "local Particle = Object:extend()\n"
    "function Particle:init(x, v) self.x, self.v = x, v end\n"
    "function Particle:step()\n"
    "  self.x = self.x + self.v\n"
    "  if self.x > 1000 then self.x = self.x - 1000 end\n"
    "end\n"
    "function Particle:energy() return self.v * self.v end\n"
    "local Heavy = Particle:extend()\n"
    "function Heavy:init(x, v, m) Particle.init(self, x, v); self.m = m end\n"
    "function Heavy:energy() return self.m * Particle.energy(self) end\n"
    "function objects(n, steps, seed)\n"
    "  local list = {}\n"
    "  for i = 1, n do\n"
    "    local v = (i * seed) % 13 + 1\n"
    "    list[i] = i % 3 == 0 and Heavy:new(i, v, i % 5 + 1) or Particle:new(i, v)\n"
    "  end\n"
    "  for _ = 1, steps do\n"
    "    for i = 1, n do list[i]:step() end\n"
    "  end\n"
    "  local sum = 0\n"
    "  for i = 1, n do sum = sum + list[i].x * 7 + list[i]:energy() end\n"
    "  return sum\n"
    "end\n";

static const char HOARD_LUA[] = /* a leak: runs until an allocation fails */
    "function hoard_memory(most)\n" /* a bound the budget must stop it well before */
    "  hoard = {}\n"
    "  for i = 1, most do\n"
    "    hoard[i] = {id = i, name = 'entry ' .. i}\n"
    "  end\n"
    "end\n"
    "function tiny(n)\n" /* what must still run after the leak was stopped */
    "  local t = {}\n"
    "  for i = 1, n do t[i] = i * i end\n"
    "  return #t + t[n]\n"
    "end\n";

static const char *const SCRIPTS[] = {CHURN_LUA, STRINGS_LUA, OBJECTS_LUA, HOARD_LUA};
#define SCRIPT_COUNT (sizeof SCRIPTS / sizeof SCRIPTS[0])

/* One frame's work: the same sizes every frame, the seed changes. */
#define CHURN_N 200
#define STRINGS_N 300
#define OBJECTS_N 100
#define OBJECTS_STEPS 10
#define TINY_N 10
#define FRAME_SCRIPTS 3 /* churn, strings, objects */

/* ---- the same work in C: the expected results ---------------------------- */

struct results {
    lua_Integer churn, strings[2], objects; /* strings: the length and the hash */
};

static lua_Integer expect_churn(lua_Integer n, lua_Integer seed) {
    lua_Integer sum = 0;
    for (lua_Integer i = 1; i <= n; i++)
        sum = (sum + i * seed + (i + 8) + i - (-i)) % 1000000007;
    return sum;
}

/* The joined string is built in frame scratch: it lives until the frame
 * ends, which is as long as the host needs it. Returns 0 without memory. */
static int expect_strings(fa_alloc *a, lua_Integer n, lua_Integer seed, struct results *out) {
    size_t cap = (size_t)n * 4 + 1; /* "96," at most, then ';' now and then */
    char *all = (char *)fa_frame_alloc(a, cap);
    if (all == NULL)
        return 0;
    size_t length = 0, part = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        int k = snprintf(all + length, cap - length, "%lld,", (long long)(i * seed % 97));
        length += (size_t)k;
        part += (size_t)k;
        if (part > 200) { /* the part ends; table.concat puts ';' before the next */
            all[length++] = ';';
            part = 0;
        }
    }
    uint64_t h = 2166136261u;
    for (size_t k = 0; k < length; k++)
        h = ((h ^ (unsigned char)all[k]) * 16777619u) & 0xffffffffu;
    out->strings[0] = (lua_Integer)length;
    out->strings[1] = (lua_Integer)h;
    return 1;
}

static lua_Integer expect_objects(lua_Integer n, lua_Integer steps, lua_Integer seed) {
    lua_Integer sum = 0;
    for (lua_Integer i = 1; i <= n; i++) { /* each particle moves on its own */
        lua_Integer x = i, v = i * seed % 13 + 1, m = i % 3 == 0 ? i % 5 + 1 : 1;
        for (lua_Integer s = 0; s < steps; s++) {
            x += v;
            if (x > 1000)
                x -= 1000;
        }
        sum += x * 7 + m * v * v;
    }
    return sum;
}

static int expect_frame(fa_alloc *a, lua_Integer seed, struct results *out) {
    out->churn = expect_churn(CHURN_N, seed);
    out->objects = expect_objects(OBJECTS_N, OBJECTS_STEPS, seed);
    return expect_strings(a, STRINGS_N, seed, out);
}

/* ---- the lua_Alloc ---------------------------------------------------------- */

/* What one VM's allocator saw, counted in Lua's sizes: `bytes` must equal
 * Lua's own count (lua_gc LUA_GCCOUNT). Each VM runs on one thread, so
 * plain counters do. */
struct vm_memory {
    fa_alloc *a;
    uint64_t  allocs, reallocs, moves, frees, refusals, kept_shrinks, bad_frees;
    size_t    bytes, peak;
};

static void note_size(struct vm_memory *m, size_t old_size, size_t new_size) {
    m->bytes += new_size - old_size; /* wraps back for a shrink: size_t arithmetic */
    if (m->bytes > m->peak)
        m->peak = m->bytes;
}

static void note_free(struct vm_memory *m, size_t old_size) {
    m->frees++;
    note_size(m, old_size, 0);
}

/* A block from an allocation (was 0: ptr was NULL) or a resize of the block
 * at address `was` into p; addresses as integers, since the old one may be
 * freed by then. */
static void note_block(struct vm_memory *m, uintptr_t was, const void *p, size_t old_size, size_t new_size) {
    m->allocs += was == 0;
    m->reallocs += was != 0;
    m->moves += was != 0 && (uintptr_t)p != was; /* a new block: the library counts an allocation */
    note_size(m, old_size, new_size);
}

/* Lua's contract: nsize 0 frees and returns NULL; ptr NULL allocates, and
 * osize is then the kind of object (LUA_TSTRING, ...), not a size; NULL
 * for nsize > 0 means "no memory", upon which Lua collects garbage and asks
 * once more, then raises LUA_ERRMEM. */
static void *fa_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    struct vm_memory *m = (struct vm_memory *)ud;
    if (ptr == NULL)
        osize = 0;
    if (nsize == 0) {
        /* Not fa_pool_realloc(ptr, 0): that hands back a fresh zero-size
         * block, where Lua expects nothing. */
        if (ptr != NULL) {
            m->bad_frees += fa_pool_free(m->a, ptr) != FA_OK;
            note_free(m, osize);
        }
        return NULL;
    }
    /* A new block takes the inline pool path; a resize the out-of-line one,
     * which settles the block's owner and size class first. */
    uintptr_t was = (uintptr_t)ptr;
    void *p = ptr == NULL ? fa_pool_alloc(m->a, nsize) : fa_pool_realloc(m->a, ptr, nsize);
    if (p != NULL) {
        note_block(m, was, p, osize, nsize);
        return p;
    }
    if (ptr != NULL && nsize <= osize) {
        /* A shrink into a smaller class needs a new block, which the budget
         * may refuse; the old block is big enough, so a shrink never fails
         * (Lua shrinks during collections too). */
        m->kept_shrinks++;
        note_size(m, osize, nsize);
        return ptr;
    }
    m->refusals++;
    return NULL;
}

/* The reference: lauxlib's own allocator on glibc's malloc family, with
 * the same counting, so that --bench compares the memory calls alone. */
static void *libc_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    struct vm_memory *m = (struct vm_memory *)ud;
    if (ptr == NULL)
        osize = 0;
    if (nsize == 0) {
        if (ptr != NULL)
            note_free(m, osize);
        free(ptr);
        return NULL;
    }
    uintptr_t was = (uintptr_t)ptr;
    void *p = realloc(ptr, nsize);
    if (p != NULL)
        note_block(m, was, p, osize, nsize);
    else
        m->refusals++;
    return p;
}

/* ---- one VM under its own tag path ------------------------------------------ */

struct vm {
    lua_State       *L;
    fa_alloc        *a;        /* NULL: a VM on glibc, no tags (--bench) */
    const char      *name;     /* the last name of its path: "lua/<name>" */
    struct vm_memory mem;
    uint64_t         tag_errors;
    char             error[128]; /* the last call's error message */
};

/* Tags are per thread and per allocator: the VM's path goes on the calling
 * thread's stack for the length of each call into the VM, so that every
 * allocation Lua makes in it is charged to the VM, and never the host's. */
static void vm_enter(struct vm *v) {
    if (v->a != NULL)
        v->tag_errors += (fa_tag_push(v->a, "lua") != FA_OK) + (fa_tag_push(v->a, v->name) != FA_OK);
}

static void vm_leave(struct vm *v) {
    if (v->a != NULL)
        v->tag_errors += (fa_tag_pop(v->a) != FA_OK) + (fa_tag_pop(v->a) != FA_OK);
}

/* Run in protected mode, so that a memory error while the VM is made is a
 * status, not a panic. */
static int load_scripts(lua_State *L) {
    luaL_openlibs(L);
    for (size_t i = 0; i < SCRIPT_COUNT; i++)
        if (luaL_loadstring(L, SCRIPTS[i]) != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK)
            return lua_error(L);
    return 0;
}

static int vm_open(struct vm *v, fa_alloc *a, const char *name) {
    *v = (struct vm){.a = a, .name = name, .mem = {.a = a}};
    vm_enter(v);
    v->L = lua_newstate(a != NULL ? fa_lua_alloc : libc_lua_alloc, &v->mem);
    int status = LUA_ERRMEM;
    if (v->L != NULL) {
        lua_pushcfunction(v->L, load_scripts);
        status = lua_pcall(v->L, 0, 0, 0);
        if (status != LUA_OK) {
            fprintf(stderr, "engine_lua: lua/%s: %s\n", name, lua_tostring(v->L, -1));
            lua_pop(v->L, 1);
        }
    }
    vm_leave(v);
    return status == LUA_OK;
}

static void vm_close(struct vm *v) {
    vm_enter(v); /* the frees credit the VM's path whatever is pushed; pushed, they stay inline */
    lua_close(v->L);
    vm_leave(v);
    v->L = NULL;
}

/* Calls the global function fn with integer arguments and reads its
 * integer results into out; the stack is left as it was. On an error its
 * message is kept in v->error (the error object itself may be collected
 * once popped). */
static int vm_call(struct vm *v, const char *fn, const lua_Integer *args, int nargs, lua_Integer *out,
                   int nresults) {
    vm_enter(v);
    lua_getglobal(v->L, fn);
    for (int i = 0; i < nargs; i++)
        lua_pushinteger(v->L, args[i]);
    int status = lua_pcall(v->L, nargs, nresults, 0);
    vm_leave(v); /* reading and popping below allocate nothing */
    if (status != LUA_OK) {
        const char *message = lua_tostring(v->L, -1);
        snprintf(v->error, sizeof v->error, "%s", message != NULL ? message : "(not a string)");
        lua_pop(v->L, 1);
        return status;
    }
    for (int i = 0; i < nresults; i++)
        out[i] = lua_tointeger(v->L, i - nresults);
    lua_pop(v->L, nresults);
    return LUA_OK;
}

/* The frame's three scripts; 0 when a call failed (its error printed). */
static int vm_run_frame(struct vm *v, lua_Integer seed, struct results *out) {
    lua_Integer churn[] = {CHURN_N, seed}, strings[] = {STRINGS_N, seed},
                objects[] = {OBJECTS_N, OBJECTS_STEPS, seed};
    int status = vm_call(v, "churn", churn, 2, &out->churn, 1);
    if (status == LUA_OK)
        status = vm_call(v, "strings", strings, 2, out->strings, 2);
    if (status == LUA_OK)
        status = vm_call(v, "objects", objects, 3, &out->objects, 1);
    if (status != LUA_OK)
        fprintf(stderr, "engine_lua: lua/%s: status %d: %s\n", v->name, status, v->error);
    return status == LUA_OK;
}

/* Lua's count of its bytes against what the lua_Alloc saw. */
static int vm_count_agrees(struct vm *v) {
    size_t lua_bytes = (size_t)lua_gc(v->L, LUA_GCCOUNT) * 1024 + (size_t)lua_gc(v->L, LUA_GCCOUNTB);
    return lua_bytes == v->mem.bytes;
}

/* ---- events ------------------------------------------------------------------- */

static _Atomic uint64_t events_by_code[FA_ERR_CORRUPT + 2]; /* the last: unknown codes */
static atomic_flag      refusal_shown = ATOMIC_FLAG_INIT;

static void on_event(void *user, const fa_event *ev) {
    (void)user;
    unsigned code = (unsigned)ev->error <= FA_ERR_CORRUPT ? (unsigned)ev->error : FA_ERR_CORRUPT + 1;
    atomic_fetch_add(&events_by_code[code], 1);
    /* Refusals are expected: the first one is shown, to show what one says. */
    if (ev->error != FA_ERR_BUDGET || !atomic_flag_test_and_set(&refusal_shown))
        printf("engine_lua: %s event: %s\n", ev->error == FA_ERR_BUDGET ? "expected" : "UNEXPECTED", ev->message);
}

/* ---- the statistics of a VM's path ------------------------------------------ */

/* A snapshot in the calling thread's frame scratch (about 16 KiB): the
 * host reads it and forgets it. NULL without statistics or a frame. */
static const fa_stats *snapshot(fa_alloc *a) {
    fa_stats *st = (fa_stats *)fa_frame_calloc(a, 1, sizeof *st);
    if (st == NULL || fa_stats_get(a, st) != FA_OK)
        return NULL;
    return st;
}

static const fa_tag_stats *path_stats(const fa_stats *st, const char *path) {
    for (uint64_t i = 0; st != NULL && i < st->tag_count; i++)
        if (strcmp(st->tags[i].path, path) == 0)
            return &st->tags[i];
    return NULL;
}

static uint64_t live_bytes(const fa_tag_stats *t) {
    return t->pool.live_bytes + t->heap.live_bytes;
}

/* ---- one host: a frame loop over one VM (the main thread, or a worker) ----- */

struct options {
    unsigned threads; /* 0: the VM on the main thread */
    uint64_t frames;
    int      full;    /* the library has budgets and statistics */
};

struct checks {
    uint64_t frames, runs, wrong, failed_calls, count_errors;
    int      hoard_errmem, hoard_message, recovered;
    uint64_t live_after_close;  /* the path's pool + heap live bytes after lua_close */
    uint64_t peak_live;         /* the same at the hoard's failure: the path's peak */
    uint64_t usage_after_drop;  /* the budget's usage once the host dropped the hoard */
    uint64_t refusals;          /* the budget's refusals */
    uint64_t library_allocs;    /* pool + heap allocations charged to the path: lua_Alloc's new blocks */
};

struct host {
    fa_alloc             *a;
    unsigned              index;
    char                  name[16]; /* "vm0", "worker3" */
    char                  path[24]; /* "lua/" name */
    const struct options *opt;
    struct vm             vm;
    struct checks         c;
    pthread_t             thread;
};

static void host_init(struct host *h, fa_alloc *a, unsigned index, const struct options *opt) {
    *h = (struct host){.a = a, .index = index, .opt = opt};
    snprintf(h->name, sizeof h->name, opt->threads ? "worker%u" : "vm%u", index);
    snprintf(h->path, sizeof h->path, "lua/%s", h->name);
}

static void run_scripts(struct host *h, uint64_t frame) {
    lua_Integer seed = (lua_Integer)(frame * 31 + h->index + 1);
    struct results got, want;
    h->c.runs += FRAME_SCRIPTS;
    if (!vm_run_frame(&h->vm, seed, &got)) {
        h->c.failed_calls++;
        return;
    }
    if (!expect_frame(h->a, seed, &want) || memcmp(&got, &want, sizeof got) != 0)
        h->c.wrong++;
    h->c.count_errors += !vm_count_agrees(&h->vm);
}

/* The leak, stopped by the budget; then the host's recovery: drop what the
 * script hoarded, collect, and check that the VM still runs a script. */
static void run_hoard(struct host *h) {
    struct vm *v = &h->vm;
    /* An entry takes some 180 bytes: a VM that no budget stops ends with
     * about 20 times its budget, and a failed check, not the machine's
     * memory gone. */
    lua_Integer most = (lua_Integer)(VM_BUDGET / 8);
    int status = vm_call(v, "hoard_memory", &most, 1, NULL, 0);
    h->c.hoard_errmem = status == LUA_ERRMEM;
    h->c.hoard_message = status != LUA_OK && strcmp(v->error, "not enough memory") == 0;
    const fa_tag_stats *t = path_stats(snapshot(h->a), h->path); /* the path at its fullest */
    h->c.peak_live = t != NULL ? live_bytes(t) : 0;

    vm_enter(v);
    lua_pushnil(v->L);
    lua_setglobal(v->L, "hoard");
    lua_gc(v->L, LUA_GCCOLLECT);
    vm_leave(v);
    t = path_stats(snapshot(h->a), h->path);
    h->c.usage_after_drop = t != NULL ? t->budget.usage : 0;

    lua_Integer n = TINY_N, result = 0;
    h->c.recovered = vm_call(v, "tiny", &n, 1, &result, 1) == LUA_OK && result == TINY_N + TINY_N * TINY_N;
}

/* The host's status line, formatted in frame scratch. */
static void print_status(struct host *h, uint64_t frame, const char *event) {
    const struct vm_memory *m = &h->vm.mem;
    char *line = fa_frame_printf(h->a,
                                 "%-11s frame %3" PRIu64 ": %" PRIu64 " script runs, %" PRIu64
                                 " wrong; Lua holds %6zu B (peak %7zu B), %" PRIu64 " refused%s",
                                 h->path, frame, h->c.runs, h->c.wrong, m->bytes, m->peak, m->refusals, event);
    if (line != NULL)
        puts(line);
}

static int host_frame(struct host *h, uint64_t frame) {
    if (fa_begin_frame(h->a) != FA_OK)
        return 0; /* reported */
    run_scripts(h, frame);
    int hoard_frame = h->opt->full && frame == (h->opt->frames + 1) / 2;
    if (hoard_frame)
        run_hoard(h);
    if (frame == 1 || frame % PRINT_EVERY == 0 || frame == h->opt->frames || hoard_frame)
        print_status(h, frame, hoard_frame ? "  <- after the hoarding script" : "");
    h->c.frames++;
    return fa_end_frame(h->a) == FA_OK;
}

/* After lua_close the VM's path must hold nothing: checked by the thread
 * that ran the VM (its own counts are exact), in a frame of its own. */
static void host_close(struct host *h) {
    vm_close(&h->vm);
    if (!h->opt->full || fa_begin_frame(h->a) != FA_OK)
        return;
    const fa_tag_stats *t = path_stats(snapshot(h->a), h->path);
    h->c.live_after_close = t != NULL ? live_bytes(t) : UINT64_MAX;
    h->c.refusals = t != NULL ? t->budget.refusals : 0;
    h->c.library_allocs = t != NULL ? t->pool.allocations + t->heap.allocations : 0;
    fa_end_frame(h->a);
}

static void *host_run(void *arg) {
    struct host *h = (struct host *)arg;
    if (!vm_open(&h->vm, h->a, h->name))
        return NULL; /* no frames: a failure */
    for (uint64_t f = 1; f <= h->opt->frames; f++)
        if (!host_frame(h, f))
            break;
    host_close(h);
    return NULL;
}

static int host_ok(const struct host *h) {
    const struct checks *c = &h->c;
    int ok = c->frames == h->opt->frames && c->wrong == 0 && c->failed_calls == 0 && c->count_errors == 0 &&
             h->vm.tag_errors == 0 && h->vm.mem.bad_frees == 0 && h->vm.mem.bytes == 0;
    if (h->opt->full)
        ok = ok && c->hoard_errmem && c->hoard_message && c->recovered && c->live_after_close == 0 &&
             c->refusals > 0 && c->refusals == h->vm.mem.refusals + h->vm.mem.kept_shrinks &&
             c->usage_after_drop < VM_BUDGET / 2 &&
             c->library_allocs == h->vm.mem.allocs + h->vm.mem.moves;
    return ok;
}

static void print_host(const struct host *h) {
    const struct checks *c = &h->c;
    const struct vm_memory *m = &h->vm.mem;
    printf("%-11s %" PRIu64 " frames, %" PRIu64 " script runs: %" PRIu64 " wrong, %" PRIu64
           " failed; lua_Alloc: %" PRIu64 " allocs, %" PRIu64 " reallocs (%" PRIu64 " moved), %" PRIu64
           " frees, %" PRIu64 " refused, %" PRIu64 " shrinks kept\n",
           h->path, c->frames, c->runs, c->wrong, c->failed_calls, m->allocs, m->reallocs, m->moves, m->frees,
           m->refusals, m->kept_shrinks);
    if (!h->opt->full)
        return;
    printf("%-11s hoard: %s \"%s\" at %" PRIu64 " KiB live (Lua's count %zu KiB) under a %zu KiB budget, "
           "%" PRIu64 " KiB once dropped, then tiny() %s; the path: %" PRIu64 " allocations, %" PRIu64
           " refusals, %" PRIu64 " B live after lua_close\n",
           h->path, c->hoard_errmem ? "LUA_ERRMEM" : "NOT LUA_ERRMEM", c->hoard_message ? "not enough memory" : "?",
           c->peak_live >> 10, m->peak >> 10, VM_BUDGET >> 10, c->usage_after_drop >> 10,
           c->recovered ? "ran" : "FAILED", c->library_allocs, c->refusals, c->live_after_close);
}

/* ---- the run: one VM on the main thread, or one per worker ------------------ */

static double seconds_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* Budgets go in before any VM allocates ("set budgets before the
 * allocations they govern"), from the main thread for every worker. */
static int set_budgets(fa_alloc *a, struct host *hosts, unsigned count) {
    for (unsigned i = 0; i < count; i++)
        if (fa_budget_set(a, hosts[i].path, 0, VM_BUDGET) != FA_OK)
            return 0;
    return 1;
}

/* After the joins, the main thread's view, from what each worker published
 * as it exited: every VM's path must be empty there too. */
static uint64_t live_seen_by_main(fa_alloc *a, const struct host *hosts, unsigned count) {
    if (fa_begin_frame(a) != FA_OK)
        return UINT64_MAX;
    const fa_stats *st = snapshot(a);
    uint64_t live = 0;
    for (unsigned i = 0; i < count; i++) {
        const fa_tag_stats *t = path_stats(st, hosts[i].path);
        live += t != NULL ? live_bytes(t) : 0;
    }
    fa_end_frame(a);
    return st != NULL ? live : UINT64_MAX;
}

/* The budgets' refusals go to *refusals. */
static int run_hosts(fa_alloc *a, const struct options *opt, uint64_t *refusals) {
    static struct host hosts[MAX_THREADS];
    unsigned count = opt->threads ? opt->threads : 1;
    for (unsigned i = 0; i < count; i++)
        host_init(&hosts[i], a, i, opt);
    if (opt->full && !set_budgets(a, hosts, count))
        return 0; /* reported */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (opt->threads == 0)
        host_run(&hosts[0]);
    for (unsigned i = 0; opt->threads && i < count; i++)
        if (pthread_create(&hosts[i].thread, NULL, host_run, &hosts[i]) != 0)
            return 0;
    for (unsigned i = 0; opt->threads && i < count; i++)
        pthread_join(hosts[i].thread, NULL);
    double seconds = seconds_since(&t0);

    uint64_t live = opt->full ? live_seen_by_main(a, hosts, count) : 0;
    int ok = live == 0;
    for (unsigned i = 0; i < count; i++) {
        print_host(&hosts[i]);
        ok = ok && host_ok(&hosts[i]);
        *refusals += hosts[i].c.refusals;
    }
    printf("engine_lua: %u VM%s x %" PRIu64 " frames in %.3f s; the VMs' paths seen from the main thread: "
           "%" PRIu64 " B live\n", count, count > 1 ? "s" : "", opt->frames, seconds, live);
    return ok;
}

/* No error events but the budgets' refusals: one event for each. */
static int events_ok(uint64_t budget_refusals) {
    uint64_t others = 0;
    for (unsigned code = 0; code < sizeof events_by_code / sizeof events_by_code[0]; code++)
        if (code != FA_ERR_BUDGET)
            others += atomic_load(&events_by_code[code]);
    uint64_t refusals = atomic_load(&events_by_code[FA_ERR_BUDGET]);
    printf("engine_lua: events: %" PRIu64 " FA_ERR_BUDGET refusals, %" PRIu64 " others\n", refusals, others);
    return others == 0 && refusals == budget_refusals;
}

/* ---- --bench: the same scripts on glibc and on framealloc -------------------- */

enum { BENCH_CHURN, BENCH_STRINGS, BENCH_OBJECTS, BENCH_FRAME, BENCH_CASES };
static const char *const BENCH_NAMES[BENCH_CASES] = {"churn", "strings", "objects", "all three"};

static void bench_case(struct vm *v, int which, lua_Integer seed) {
    lua_Integer churn[] = {CHURN_N, seed}, strings[] = {STRINGS_N, seed},
                objects[] = {OBJECTS_N, OBJECTS_STEPS, seed};
    struct results r;
    int ok = which == BENCH_CHURN     ? vm_call(v, "churn", churn, 2, &r.churn, 1) == LUA_OK
             : which == BENCH_STRINGS ? vm_call(v, "strings", strings, 2, r.strings, 2) == LUA_OK
             : which == BENCH_OBJECTS ? vm_call(v, "objects", objects, 3, &r.objects, 1) == LUA_OK
                                      : vm_run_frame(v, seed, &r);
    if (!ok)
        fprintf(stderr, "engine_lua: bench: %s failed: %s\n", BENCH_NAMES[which], v->error);
}

static uint64_t memory_calls(const struct vm_memory *m) {
    return m->allocs + m->reallocs + m->frees;
}

/* Seconds for runs of one case, seeds first, first + 1, ... */
static double time_runs(struct vm *v, int which, int first, int runs) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < runs; i++)
        bench_case(v, which, first + i);
    return seconds_since(&t0);
}

/* One round: a fresh VM on each allocator ([0] glibc, [1] framealloc);
 * each case warmed, then timed in short blocks that alternate between the
 * two VMs, so that a load that comes and goes on the machine weighs on
 * both alike. ns per run of each case, and the lua_Alloc calls per run. */
static int bench_round(fa_alloc *a, int round, double ns[2][BENCH_CASES], double calls[BENCH_CASES]) {
    struct vm vms[2];
    int opened = vm_open(&vms[0], NULL, "bench");
    if (!opened || !vm_open(&vms[1], a, "bench")) {
        if (opened)
            vm_close(&vms[0]);
        return 0;
    }
    for (int which = 0; which < BENCH_CASES; which++) {
        double seconds[2] = {0, 0};
        for (int k = 0; k < 2; k++)
            time_runs(&vms[k], which, 1, BENCH_BLOCK_RUNS);
        uint64_t calls0 = memory_calls(&vms[1].mem);
        for (int block = 0; block < BENCH_BLOCKS; block++)
            for (int k = 0; k < 2; k++) {
                int j = (block + round + k) % 2; /* who goes first alternates */
                seconds[j] += time_runs(&vms[j], which, block * BENCH_BLOCK_RUNS + 1, BENCH_BLOCK_RUNS);
            }
        for (int k = 0; k < 2; k++)
            ns[k][which] = seconds[k] * 1e9 / (BENCH_BLOCKS * BENCH_BLOCK_RUNS);
        calls[which] = (double)(memory_calls(&vms[1].mem) - calls0) / (BENCH_BLOCKS * BENCH_BLOCK_RUNS);
    }
    vm_close(&vms[0]);
    vm_close(&vms[1]);
    return 1;
}

static int compare_doubles(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *values, size_t count) {
    qsort(values, count, sizeof *values, compare_doubles);
    return values[count / 2];
}

static int run_bench(fa_alloc *a, int full) {
    double ns[2][BENCH_CASES][BENCH_ROUNDS]; /* [glibc, framealloc] */
    double calls[BENCH_CASES];
    if (full && fa_budget_set(a, "lua/bench", 0, VM_BUDGET) != FA_OK)
        return 0;
    for (int round = 0; round < BENCH_ROUNDS; round++) {
        double one[2][BENCH_CASES];
        if (!bench_round(a, round, one, calls))
            return 0;
        for (int k = 0; k < 2; k++)
            for (int which = 0; which < BENCH_CASES; which++)
                ns[k][which][round] = one[k][which];
    }
    printf("engine_lua bench: ns per script run, median of %d rounds (fresh VMs) of %d x %d runs each, "
           "alternating\n", BENCH_ROUNDS, BENCH_BLOCKS, BENCH_BLOCK_RUNS);
    printf("| script | lua_Alloc calls / run | glibc realloc | framealloc (tag + budget) | ratio |\n"
           "|---|---:|---:|---:|---:|\n");
    for (int which = 0; which < BENCH_CASES; which++) {
        double libc = median(ns[0][which], BENCH_ROUNDS), fa = median(ns[1][which], BENCH_ROUNDS);
        printf("| %s | %.0f | %.0f | %.0f | %.2f |\n", BENCH_NAMES[which], calls[which], libc, fa, fa / libc);
    }
    return 1;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage_exit(const char *program) {
    fprintf(stderr, "usage: %s [--threads N] [--frames F] [--quick] [--bench]\n", program);
    fprintf(stderr, "  --threads N  N threads, a VM each, 1 to %d (default: one VM on the main thread)\n",
            MAX_THREADS);
    fprintf(stderr, "  --frames F   frames to run (default %d; --quick: %d)\n", FRAMES, QUICK_FRAMES);
    fprintf(stderr, "  --bench      glibc's realloc against framealloc, ns per script run\n");
    exit(2);
}

static unsigned long parse_count(const char *text, unsigned long max, const char *program) {
    char *end;
    if (text == NULL || *text < '0' || *text > '9')
        usage_exit(program);
    unsigned long value = strtoul(text, &end, 10);
    if (*end != '\0' || value == 0 || value > max)
        usage_exit(program);
    return value;
}

int main(int argc, char **argv) {
    struct options opt = {0, FRAMES, 0};
    int bench = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0)
            opt.threads = (unsigned)parse_count(i + 1 < argc ? argv[++i] : NULL, MAX_THREADS, argv[0]);
        else if (strcmp(argv[i], "--frames") == 0)
            opt.frames = parse_count(i + 1 < argc ? argv[++i] : NULL, 1000000, argv[0]);
        else if (strcmp(argv[i], "--quick") == 0)
            opt.frames = QUICK_FRAMES;
        else if (strcmp(argv[i], "--bench") == 0)
            bench = 1;
        else
            usage_exit(argv[0]);
    }

    fa_config cfg;
    fa_config_init(&cfg);
    cfg.on_event = on_event;
    /* A minimal library has neither budgets nor statistics: nothing would
     * stop the hoarding script, and nothing would count the paths. */
    opt.full = (cfg.disable & (FA_DISABLE_STATS | FA_DISABLE_TAGS | FA_DISABLE_BUDGETS)) == 0;
    fa_alloc *a = fa_create(&cfg);
    if (a == NULL) {
        fprintf(stderr, "engine_lua: fa_create: %s\n", fa_strerror(fa_last_error()));
        return 1;
    }
    if (bench) {
        int ok = run_bench(a, opt.full);
        fa_destroy(a);
        return ok ? 0 : 1;
    }
    printf("engine_lua: %s, %" PRIu64 " frames, a %zu KiB hard budget per VM%s\n",
           opt.threads ? "one Lua VM per worker thread" : "one Lua VM on the main thread", opt.frames,
           VM_BUDGET >> 10, opt.full ? "" : " (not in this library: no budgets, no statistics)");
    uint64_t refusals = 0;
    int ok = run_hosts(a, &opt, &refusals);
    ok = events_ok(refusals) && ok;
    fa_destroy(a);
    printf("engine_lua: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
