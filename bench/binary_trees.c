/* binary_trees.c — the Computer Language Benchmarks Game's binary-trees:
 * one stretch tree of depth max+1, one long-lived tree of depth max, and
 * 2^(max-d+4) short-lived trees of each depth d = 4, 6, ..., max, each built
 * bottom-up and checked (node count) before it becomes garbage.
 *
 * Usage: binary-trees [max_depth]   (default 21; at least 6)
 * The output lines are identical for every variant; the last line is
 * RESULT (result.h). */
#include "result.h"

#include <stdio.h>

typedef struct node {
    struct node *left, *right;
} node;

/* Build a perfect tree of the given depth, children first. */
static node *make(int depth)
{
    node *n = bench_alloc(sizeof *n);
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

/* Count the nodes (the benchmark's "check"): touches every node. */
static long check(const node *n)
{
    return 1 + (n->left ? check(n->left) + check(n->right) : 0);
}

/* Free a tree by hand (malloc variant only). */
static void release(node *n)
{
    if (n->left) {
        release(n->left);
        release(n->right);
    }
    bench_free(n);
}

/* Drop a tree: freed by hand under malloc, left to the collector otherwise. */
static void drop(node *n)
{
    if (BENCH_MANUAL)
        release(n);
}

int main(int argc, char **argv)
{
    int max = argc > 1 ? atoi(argv[1]) : 21;
    if (max < 6)
        max = 6;
    bench_start();

    node *stretch = make(max + 1);
    printf("stretch tree of depth %d\t check: %ld\n", max + 1, check(stretch));
    drop(stretch);

    node *long_lived = make(max);
    for (int d = 4; d <= max; d += 2) {
        long iters = 1L << (max - d + 4);
        long sum = 0;
        for (long i = 0; i < iters; i++) {
            node *t = make(d);
            sum += check(t);
            drop(t);
        }
        printf("%ld\t trees of depth %d\t check: %ld\n", iters, d, sum);
    }
    printf("long lived tree of depth %d\t check: %ld\n", max, check(long_lived));
    drop(long_lived);

    bench_finish("binary-trees");
    return 0;
}
