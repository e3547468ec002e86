/* limit_workload.h — the in-process churn and the resident-memory probes
 * the soft-limit tests share (test_limit_rss.c, test_limit_spiral.c).
 *
 * A heap is a table of slots, each holding a pointer-free blob of 16 B ..
 * 64 KiB (mostly small, as in bench/limit/churn.c) whose words derive from
 * a seed kept in the blob's first word. Replacing a slot verifies the old
 * blob and allocates a new one; the live total stays at the target because
 * a slot is refilled only while the total is under it. */
#ifndef CGC_TEST_LIMIT_WORKLOAD_H
#define CGC_TEST_LIMIT_WORKLOAD_H

#define _GNU_SOURCE
#include "cgc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB ((uint64_t)1 << 20)
#define FILL_K 0x9E3779B97F4A7C15ull

typedef struct heap {
    uint64_t **slots;   /* cgc_malloc'd: the table is itself collected and scanned */
    uint64_t nslots;
    uint64_t live;      /* bytes in occupied slots (as requested) */
    uint64_t target;    /* bytes to keep live */
    uint64_t allocated; /* bytes allocated so far */
    uint64_t rng;
    int corrupt;        /* blobs that failed verification */
    int manual_free;    /* 2: cgc_malloc_atomic + cgc_free, nothing left to
                           a collection (a reference run on cgc's allocator) */
    int use_malloc;     /* 1: libc malloc/free instead of cgc (a reference
                           run of the same mutator work with no collector) */
} heap;

/* xorshift64*: deterministic sizes and contents. */
static inline uint64_t heap_rnd(heap *h)
{
    h->rng ^= h->rng >> 12;
    h->rng ^= h->rng << 25;
    h->rng ^= h->rng >> 27;
    return h->rng * 2685821657736338717ull;
}

/* A blob size as churn.c draws it: 3/4 in 16..512 B, 3/16 in 512 B..8 KiB,
 * 1/16 in 8..64 KiB; mean about 2.4 KiB. */
static inline uint64_t heap_blob_size(heap *h)
{
    uint64_t r = heap_rnd(h), lo, n;
    switch (r % 16) {
    case 0: lo = 13; n = 3; break;
    case 1: case 2: case 3: lo = 9; n = 4; break;
    default: lo = 4; n = 5; break;
    }
    uint64_t e = lo + (r >> 8) % n;
    uint64_t size = (1ull << e) + (r >> 16) % (1ull << e);
    return (size + 15) & ~15ull;
}

/* Sets up a heap that keeps `target` bytes live (allocates only the table). */
static inline void heap_init(heap *h, uint64_t target, uint64_t seed, int use_malloc)
{
    memset(h, 0, sizeof *h);
    h->target = target;
    h->use_malloc = use_malloc;
    h->nslots = 2 * target / 2444 + 64;
    h->slots = use_malloc ? calloc(h->nslots, sizeof(uint64_t *)) : cgc_malloc(h->nslots * sizeof(uint64_t *));
    h->rng = seed * 0x2545F4914F6CDD1Dull + 1;
}

/* Word 0 holds the size in words and word 1 the seed; the rest is the
 * pattern. Returns the blob's bytes. */
static inline uint64_t heap_verify(heap *h, const uint64_t *b)
{
    uint64_t words = b[0], seed = b[1];
    for (uint64_t j = 2; j < words; j++)
        if (b[j] != (seed + j) * FILL_K) {
            h->corrupt++;
            break;
        }
    return words * 8;
}

/* One step: verify and drop a random slot's blob; refill it while the live
 * total is under the target. */
static inline void heap_step(heap *h)
{
    uint64_t i = heap_rnd(h) % h->nslots;
    if (h->slots[i]) {
        h->live -= heap_verify(h, h->slots[i]);
        if (h->use_malloc)
            free(h->slots[i]);
        else if (h->manual_free)
            cgc_free(h->slots[i]);
        h->slots[i] = NULL;
    }
    if (h->live < h->target) {
        uint64_t size = heap_blob_size(h), words = size / 8, seed = heap_rnd(h);
        uint64_t *b = h->use_malloc ? malloc(size) : cgc_malloc_atomic(size);
        if (!b) {
            fprintf(stderr, "FATAL: allocating %llu bytes returned NULL\n", (unsigned long long)size);
            exit(1);
        }
        b[0] = words;
        b[1] = seed;
        for (uint64_t j = 2; j < words; j++)
            b[j] = (seed + j) * FILL_K;
        h->slots[i] = b;
        h->live += size;
        h->allocated += size;
    }
}

/* Runs steps until `bytes` more have been allocated. */
static inline void heap_churn(heap *h, uint64_t bytes)
{
    uint64_t until = h->allocated + bytes;
    while (h->allocated < until)
        heap_step(h);
}

/* Fills the heap up to its target. */
static inline void heap_fill(heap *h)
{
    while (h->live < h->target)
        heap_step(h);
}

/* Verifies every live blob; returns the number that failed. */
static inline int heap_verify_all(heap *h)
{
    for (uint64_t i = 0; i < h->nslots; i++)
        if (h->slots[i])
            heap_verify(h, h->slots[i]);
    return h->corrupt;
}

/* A field of /proc/self/status in bytes (VmRSS, VmHWM); 0 if missing. */
static inline uint64_t proc_status_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    uint64_t kb = 0;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtoull(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb * 1024;
}

/* Resets the kernel's high-water mark VmHWM to the current RSS; 0 if done. */
static inline int reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "we");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Memory the limit counts (SPEC §4): sys - heap_released. */
static inline uint64_t counted_bytes(void)
{
    cgc_memstats m;
    cgc_read_memstats(&m);
    return m.sys - m.heap_released;
}

static inline double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline double mib(uint64_t b) { return (double)b / (double)MIB; }

#endif
