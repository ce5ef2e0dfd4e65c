/* SPDX-License-Identifier: MIT */
/* Two drivers of the fuzz engine (engine.h) in one program:
 *   fuzz_driver replay FILE|DIR...   every input of the checked-in corpus
 *   fuzz_driver random SEED RUNS [MAX_LEN] [SAVE_DIR]
 *                                    seeded random inputs; a diverging one is
 *                                    saved to SAVE_DIR (to add to the corpus)
 *   fuzz_driver trace FILE           one input, every call printed
 * Exits 1 when any input diverged; prints what it ran. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine.h"
#include "helpers.h"

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz: cannot read %s\n", path);
        return 1;
    }
    static uint8_t data[1 << 20];
    size_t size = fread(data, 1, sizeof data, f);
    fclose(f);
    int diverged = fuzz_run(data, size);
    if (diverged)
        fprintf(stderr, "fuzz: %s diverged (replay it with: fuzz_driver trace %s)\n", path, path);
    return diverged;
}

static int is_dir(const char *path) {
    struct stat s;
    return stat(path, &s) == 0 && S_ISDIR(s.st_mode);
}

static int name_order(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The files of a directory in name order, so that a replay is the same
 * sequence everywhere. */
static int replay_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL)
        return run_file(dir);
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char **grown = (char **)realloc(names, (n + 1) * sizeof *names);
        if (grown == NULL)
            break;
        names = grown;
        size_t length = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = (char *)malloc(length);
        snprintf(names[n++], length, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_order);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        failed |= run_file(names[i]);
        free(names[i]);
    }
    free(names);
    if (n == 0) {
        fprintf(stderr, "fuzz: no inputs in %s\n", dir);
        return 1;
    }
    return failed;
}

static void save(const char *dir, uint64_t seed, unsigned long run, const uint8_t *data, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%llu-run-%lu", dir, (unsigned long long)seed, run);
    FILE *f = fopen(path, "wb");
    if (f != NULL) {
        fwrite(data, 1, size, f);
        fclose(f);
        fprintf(stderr, "fuzz: saved the input as %s\n", path);
    }
}

static int random_runs(uint64_t seed, unsigned long runs, size_t max_len, const char *save_dir) {
    static uint8_t data[1 << 16];
    if (max_len == 0 || max_len > sizeof data)
        max_len = sizeof data;
    struct rng rng = {seed * 0x9e3779b97f4a7c15ull + 1}; /* not rng_seeded: the recorded runs used this */
    int failed = 0;
    for (unsigned long r = 0; r < runs; r++) {
        size_t size = 1 + rng_below(&rng, max_len);
        for (size_t i = 0; i < size; i++)
            data[i] = (uint8_t)(rng_next(&rng) >> 56);
        if (fuzz_run(data, size)) {
            failed = 1;
            fprintf(stderr, "fuzz: seed %llu, run %lu diverged\n", (unsigned long long)seed, r);
            if (save_dir != NULL)
                save(save_dir, seed, r, data, size);
        }
    }
    return failed;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s replay FILE|DIR... | random SEED RUNS [MAX_LEN] [SAVE_DIR] | trace FILE\n",
                argv[0]);
        return 2;
    }
    int failed = 0;
    if (strcmp(argv[1], "replay") == 0) {
        for (int i = 2; i < argc; i++)
            failed |= is_dir(argv[i]) ? replay_dir(argv[i]) : run_file(argv[i]);
    } else if (strcmp(argv[1], "random") == 0 && argc >= 4) {
        failed = random_runs(strtoull(argv[2], NULL, 0), strtoul(argv[3], NULL, 0),
                             argc > 4 ? strtoul(argv[4], NULL, 0) : 0, argc > 5 ? argv[5] : NULL);
    } else if (strcmp(argv[1], "trace") == 0) {
        fuzz_set_trace(getenv("FUZZ_TRACE") != NULL ? 2 : 1);
        failed = run_file(argv[2]);
    } else {
        fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
        return 2;
    }
    const struct fuzz_totals *t = fuzz_totals();
    printf("fuzz: %llu inputs, %llu operations, %llu divergences\n", (unsigned long long)t->runs,
           (unsigned long long)t->ops, (unsigned long long)t->divergences);
    return failed;
}
