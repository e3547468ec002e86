/* markbench.c — the cost of one full mark, without the mutator: a tool for
 * working on the collector core on a noisy machine.
 *
 * Builds a heap, then forces `reps` collections (cgc_collect) and reports
 * each pause's minimum and median. The minimum of many repetitions is the
 * figure least disturbed by other load on the machine.
 *
 *   markbench churn LOG2 STEPS REPS  the churn benchmark's heap (2^LOG2
 *                                    records) after STEPS random replacements
 *                                    (scattered, as in steady state)
 *   markbench tree DEPTH REPS        one binary tree of 16-byte nodes
 *
 * cgc only (it reads cgc's pause record). CGC_MARKERS sets the markers. */
#include "cgc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define bench_alloc cgc_malloc
#define bench_alloc_atomic cgc_malloc_atomic
#include "churn_record.h"

typedef struct node {
    struct node *left, *right;
} node;

static node *make(int depth)
{
    node *n = cgc_malloc(sizeof *n);
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    }
    return n;
}

static long count(const node *n)
{
    return n ? 1 + count(n->left) + count(n->right) : 0;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static cgc_memstats ms;

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: markbench churn LOG2 STEPS REPS | tree DEPTH REPS\n");
        return 2;
    }
    int reps;
    volatile uintptr_t keep;   /* the structure's root, on the stack */
    long check = 0;
    if (!strcmp(argv[1], "churn") && argc >= 5) {
        size_t n = (size_t)1 << atoi(argv[2]);
        long steps = atol(argv[3]);
        reps = atoi(argv[4]);
        record **table = cgc_malloc(n * sizeof *table);
        for (size_t i = 0; i < n; i++)
            table[i] = make_record(i);
        for (long s = 0; s < steps; s++)
            table[rng() & (n - 1)] = make_record(n + (uint64_t)s);
        keep = (uintptr_t)table;
        for (size_t i = 0; i < n; i++)
            check += table[i]->size;
    } else if (!strcmp(argv[1], "tree") && argc >= 4) {
        reps = atoi(argv[3]);
        node *t = make(atoi(argv[2]));
        keep = (uintptr_t)t;
        check = count(t);
    } else {
        fprintf(stderr, "markbench: bad arguments\n");
        return 2;
    }
    if (reps < 1 || reps > 256)
        reps = 9;
    cgc_collect();   /* settle: the garbage of the build is gone */
    uint64_t *p = malloc(sizeof *p * (size_t)reps);
    for (int r = 0; r < reps; r++) {
        cgc_collect();
        cgc_read_memstats(&ms);
        p[r] = ms.pause_ns[(ms.num_gc + 255) % 256];
    }
    qsort(p, (size_t)reps, sizeof *p, cmp);
    cgc_read_memstats(&ms);
    printf("markbench %s check=%ld heap_alloc=%.1fMB pause_min_ms=%.3f pause_med_ms=%.3f\n", argv[1], check,
           ms.heap_alloc / 1e6, p[0] / 1e6, p[reps / 2] / 1e6);
    (void)keep;
    return 0;
}
