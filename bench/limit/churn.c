/* churn.c — the soft-limit workload: a live heap of a fixed size whose
 * parts are replaced at random until a fixed amount has been allocated.
 * bench/limit/churn.go is the same algorithm in Go, step for step (same
 * random sequence, same sizes, same graph), so the three collectors do the
 * same work.
 *
 * Built four times from this file: against cgc (default); with
 * -DCHURN_BOEHM against the Boehm collector (GC_MALLOC), with its defaults
 * or, adding -DBOEHM_NO_INTERIOR, with GC_set_all_interior_pointers(0) (its
 * default adds one byte to every object); with -DCHURN_MALLOC against glibc
 * malloc, freeing each dropped item explicitly — no collector at all, the
 * floor that shows what the mutator work alone costs.
 *
 *   churn [--live-mib N] [--alloc-mib N | --alloc-gib N] [--seed N]
 *         [--touch all|ends]
 *
 * The heap: a table of slots; each occupied slot holds an item, a chain of
 * 1..4 nodes (scanned, 32 bytes: next, blob, words, seed); each node owns a
 * blob (pointer-free, 16 B .. 64 KiB, three quarters of them under 512 B)
 * filled with words derived from the node's seed. A step picks a random
 * slot, verifies and drops the item there, and, while the live total is
 * under the target, puts a new item in it. The table has about twice as
 * many slots as items fit in the target, so the live total settles at the
 * target. Sizes are counted as requested (32 per node + the blob).
 *
 * Every blob is zeroed as soon as it is allocated, in every variant: Go's
 * make() zeroes, and cgc_malloc_atomic, GC_MALLOC_ATOMIC and malloc do not,
 * so without it the C programs would skip work the Go program must do.
 *
 * --touch says how much of each blob the program writes and verifies:
 * `all` (the default) every word, `ends` the first and the last word only.
 * With `all` the run is dominated by memory bandwidth: writing and reading
 * back 4 GiB takes glibc malloc/free, with no collector at all, 0.56-0.69x
 * of Go's time under the limit, so no collector can be measured below that
 * floor. `ends` is the allocation-bound shape of the classic GC benchmarks
 * (binary-trees, GCBench): what is measured is the allocator and the
 * collector. Both are the same graph, sizes and random sequence.
 *
 * What the program waits: the monotonic clock is read once per step of the
 * main loop (~19 ns, against microseconds per step: 4 GiB is about 1.4 M
 * steps, ~27 ms of clock reads in every implementation), and the longest time
 * between two consecutive steps, and the number of steps that took over 1
 * and over 10 ms, are reported (gap_max_ms, gaps_1ms, gaps_10ms); a
 * collection shows up whole in the step whose allocation triggered it.
 *
 * Prints one line at exit:
 *   RESULT impl=cgc live_mib=.. alloc_mib=.. wall_s=.. cpu_s=.. maxrss_mib=..
 *          checks=.. gap_max_ms=.. gaps_1ms=.. gaps_10ms=.. collections=..
 *          [collector's own numbers]
 * Exit status: 0 done, 2 bad usage, 3 a corrupted (or, with --touch ends,
 * unzeroed) object, 4 the allocator
 * returned NULL (the Boehm collector under GC_MAXIMUM_HEAP_SIZE does).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#if defined(CHURN_MALLOC)
#define IMPL "malloc"
#define alloc_scanned(n) malloc(n)
#define alloc_atomic(n) malloc(n)
#elif defined(CHURN_BOEHM)
#include <gc.h>
#ifdef BOEHM_NO_INTERIOR
#define IMPL "boehm-noint"
#else
#define IMPL "boehm"
#endif
#define alloc_scanned(n) GC_MALLOC(n)
#define alloc_atomic(n) GC_MALLOC_ATOMIC(n)
#else
#include "cgc.h"
#define IMPL "cgc"
#define alloc_scanned(n) cgc_malloc(n)
#define alloc_atomic(n) cgc_malloc_atomic(n)
#endif

typedef struct node {
    struct node *next;
    uint64_t *blob;
    uint64_t words;
    uint64_t seed;
} node;

/* The average item, for sizing the table: blobs average
 * 3/4 * 149 + 3/16 * 2880 + 1/16 * 28672 ≈ 2444 bytes (each range's mean is
 * 1.5 x the mean of its powers of two), 2.5 nodes per item. */
#define MEAN_ITEM_BYTES (5 * (2444 + 32) / 2)

/* Multiplier of the fill pattern: word j of a blob is (seed + j) * K. */
#define FILL_K 0x9E3779B97F4A7C15ull

/* --touch ends: only words 0 and words-1 of a blob are written and checked. */
static int touch_ends;

static uint64_t rng_state;

/* xorshift64*: the generator churn.go reproduces bit for bit. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* A blob size: an exponent uniform within the range's powers of two, then a
 * size uniform within [2^e, 2^(e+1)), rounded up to 16 bytes. Integer-only
 * so C and Go draw the same sizes. */
static uint64_t blob_size(void)
{
    uint64_t r = rnd(), lo, n;
    switch (r % 16) {
    case 0: lo = 13; n = 3; break;                        /* 8 .. 64 KiB, 1/16 */
    case 1: case 2: case 3: lo = 9; n = 4; break;         /* 512 B .. 8 KiB, 3/16 */
    default: lo = 4; n = 5; break;                        /* 16 .. 512 B, 3/4 */
    }
    uint64_t e = lo + (r >> 8) % n;
    uint64_t size = (1ull << e) + (r >> 16) % (1ull << e);
    return (size + 15) & ~15ull;
}

static void die_null(uint64_t allocated)
{
    printf("RESULT impl=%s status=alloc-failed alloc_mib=%" PRIu64 "\n", IMPL, allocated >> 20);
    fprintf(stderr, "churn: the allocator returned NULL after %" PRIu64 " MiB\n", allocated >> 20);
    exit(4);
}

/* Builds one item; adds its bytes to *bytes. */
static node *make_item(uint64_t *bytes, uint64_t allocated)
{
    unsigned k = 1 + (unsigned)(rnd() % 4);
    node *head = NULL;
    for (unsigned i = 0; i < k; i++) {
        node *n = alloc_scanned(sizeof(node));
        if (!n)
            die_null(allocated);
        uint64_t size = blob_size();
        n->words = size / 8;
        n->seed = rnd();
        n->blob = alloc_atomic(size);
        if (!n->blob)
            die_null(allocated);
        memset(n->blob, 0, size);
        /* Keep the compiler from merging the zeroing into the writes below. */
        __asm__ volatile("" : : "r"(n->blob) : "memory");
        if (touch_ends) {
            n->blob[0] = n->seed * FILL_K;
            n->blob[n->words - 1] = (n->seed + n->words - 1) * FILL_K;
        } else {
            for (uint64_t j = 0; j < n->words; j++)
                n->blob[j] = (n->seed + j) * FILL_K;
        }
        n->next = head;
        head = n;
        *bytes += sizeof(node) + size;
    }
    return head;
}

/* Checks every written word of an item; returns its bytes, exits 3 on a mismatch. */
static uint64_t verify_item(const node *n)
{
    uint64_t bytes = 0;
    for (; n; n = n->next) {
        /* ends: word 0, then straight to the last word */
        uint64_t step = touch_ends && n->words > 1 ? n->words - 1 : 1;
        for (uint64_t j = 0; j < n->words; j += step) {
            if (n->blob[j] != (n->seed + j) * FILL_K) {
                fprintf(stderr, "churn: corrupted blob %p word %" PRIu64 "\n", (void *)n->blob, j);
                exit(3);
            }
        }
        /* ends: a word never written must still be zero (zeroed at
         * allocation, as Go's make does): checks the zeroing is done. */
        if (touch_ends && n->words > 2 && n->blob[n->words / 2] != 0) {
            fprintf(stderr, "churn: blob %p word %" PRIu64 " not zeroed\n", (void *)n->blob, n->words / 2);
            exit(3);
        }
        bytes += sizeof(node) + n->words * 8;
    }
    return bytes;
}

/* Frees a dropped item where nothing collects it (the malloc floor). */
static void drop_item(node *n)
{
#ifdef CHURN_MALLOC
    while (n) {
        node *next = n->next;
        free(n->blob);
        free(n);
        n = next;
    }
#else
    (void)n;
#endif
}

static double seconds(const struct timeval *t) { return (double)t->tv_sec + (double)t->tv_usec / 1e6; }

/* Monotonic time in ns. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The collector's own numbers for the RESULT line. */
static void print_collector(void)
{
#if defined(CHURN_MALLOC)
    printf(" collections=0");
#elif defined(CHURN_BOEHM)
    printf(" collections=%lu heap_mib=%.1f", (unsigned long)GC_get_gc_no(), (double)GC_get_heap_size() / 1048576);
#else
    cgc_memstats m;
    cgc_read_memstats(&m);
    printf(" collections=%u sys_mib=%.1f heap_released_mib=%.1f retained_mib=%.1f heap_alloc_mib=%.1f"
           " next_gc_mib=%.1f mem_limit=%" PRId64 " gc_percent=%d gc_cpu_fraction=%.3f gc_limiter_cycles=%" PRIu64
           " pause_total_ms=%.1f",
           m.num_gc, (double)m.sys / 1048576, (double)m.heap_released / 1048576,
           (double)(m.sys - m.heap_released) / 1048576, (double)m.heap_alloc / 1048576,
           (double)m.next_gc / 1048576, m.mem_limit, m.gc_percent, m.gc_cpu_fraction,
           m.gc_limiter_cycles, (double)m.pause_total_ns / 1e6);
#endif
}

/* The largest retained memory seen at the samples (cgc: sys - heap_released). */
#if !defined(CHURN_BOEHM) && !defined(CHURN_MALLOC)
#define CHURN_CGC 1
static uint64_t retained_max;
#endif
static void sample_retained(void)
{
#ifdef CHURN_CGC
    cgc_memstats m;
    cgc_read_memstats(&m);
    if (m.sys - m.heap_released > retained_max)
        retained_max = m.sys - m.heap_released;
#endif
}

int main(int argc, char **argv)
{
    uint64_t live_mib = 60, alloc_mib = 4096, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && strcmp(a, "--live-mib") == 0)
            live_mib = strtoull(v, NULL, 10), i++;
        else if (v && strcmp(a, "--alloc-mib") == 0)
            alloc_mib = strtoull(v, NULL, 10), i++;
        else if (v && strcmp(a, "--alloc-gib") == 0)
            alloc_mib = strtoull(v, NULL, 10) << 10, i++;
        else if (v && strcmp(a, "--seed") == 0)
            seed = strtoull(v, NULL, 10), i++;
        else if (v && strcmp(a, "--touch") == 0 && (strcmp(v, "all") == 0 || strcmp(v, "ends") == 0))
            touch_ends = strcmp(v, "ends") == 0, i++;
        else {
            fprintf(stderr, "usage: churn [--live-mib N] [--alloc-mib N | --alloc-gib N] [--seed N] [--touch all|ends]\n");
            return 2;
        }
    }
#if defined(CHURN_BOEHM)
#ifdef BOEHM_NO_INTERIOR
    GC_set_all_interior_pointers(0);   /* before GC_INIT */
#endif
    GC_INIT();
#endif
    rng_state = seed * 0x2545F4914F6CDD1Dull + 1;
    const uint64_t target = live_mib << 20, budget = alloc_mib << 20;
    const uint64_t nslots = 2 * target / MEAN_ITEM_BYTES + 64;
    node **slots = alloc_scanned(nslots * sizeof(node *));
#ifdef CHURN_MALLOC
    if (slots)
        memset(slots, 0, nslots * sizeof(node *));
#endif
    if (!slots)
        die_null(0);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t live = 0, allocated = 0, checks = 0, next_sample = 0;
    uint64_t last = now_ns(), gap_max = 0, gaps_1ms = 0, gaps_10ms = 0;
    while (allocated < budget) {
        uint64_t now = now_ns(), gap = now - last;
        last = now;
        if (gap > gap_max)
            gap_max = gap;
        gaps_1ms += gap > 1000000u;
        gaps_10ms += gap > 10000000u;
        uint64_t i = rnd() % nslots;
        if (slots[i]) {
            live -= verify_item(slots[i]);
            drop_item(slots[i]);
            slots[i] = NULL;
            checks++;
        }
        if (live < target) {
            uint64_t bytes = 0;
            slots[i] = make_item(&bytes, allocated);
            live += bytes;
            allocated += bytes;
        }
        if (allocated >= next_sample) {
            sample_retained();
            next_sample += 16 << 20;
        }
    }
    for (uint64_t i = 0; i < nslots; i++)
        if (slots[i])
            verify_item(slots[i]), checks++;
    clock_gettime(CLOCK_MONOTONIC, &t1);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("RESULT impl=%s status=ok live_mib=%.1f alloc_mib=%" PRIu64 " wall_s=%.3f cpu_s=%.3f maxrss_mib=%.1f checks=%" PRIu64
           " gap_max_ms=%.3f gaps_1ms=%" PRIu64 " gaps_10ms=%" PRIu64,
           IMPL, (double)live / 1048576, allocated >> 20,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           seconds(&ru.ru_utime) + seconds(&ru.ru_stime), (double)ru.ru_maxrss / 1024, checks,
           (double)gap_max / 1e6, gaps_1ms, gaps_10ms);
    print_collector();
#ifdef CHURN_CGC
    printf(" retained_max_mib=%.1f", (double)retained_max / 1048576);
#endif
    printf("\n");
    return 0;
}
