/* gcbench.c — the shape of Ellis, Kovac and Boehm's GCBench:
 *   - a stretch tree of depth max+2, built and dropped (sizes the heap);
 *   - a long-lived tree of depth max, built top-down (parent first, then
 *     children filled in), and a long-lived pointer-free array of 500000
 *     doubles; both must survive every collection;
 *   - for each depth d = 4, 6, ..., max: N(d) trees built top-down and N(d)
 *     built bottom-up (children first), each dropped at once, where
 *     N(d) = 2 * size(max+2) / size(d) and size(d) = 2^(d+1) - 1 nodes, so
 *     every depth allocates the same number of nodes (twice the stretch tree).
 * Usage: gcbench [max_depth]   (default 16, as GCBench; at least 4)
 * The timing lines of the original are left out so that every variant
 * prints the same text before its RESULT line. */
#include "result.h"

#include <stdio.h>
#include <time.h>

#define ARRAY_SIZE 500000
#define MIN_DEPTH 4

typedef struct gnode {
    struct gnode *left, *right;
    int i, j;
} gnode;

/* Nodes in a perfect tree of the given depth: 2^(depth+1) - 1. */
static long tree_size(int depth)
{
    return (1L << (depth + 1)) - 1;
}

/* A fresh node with no children. */
static gnode *new_node(gnode *l, gnode *r)
{
    gnode *n = bench_alloc(sizeof *n);
    n->left = l;
    n->right = r;
    n->i = n->j = 0;
    return n;
}

/* Top-down: give an existing node two children, then fill them in. */
static void populate(int depth, gnode *n)
{
    if (depth <= 0)
        return;
    depth--;
    n->left = new_node(NULL, NULL);
    n->right = new_node(NULL, NULL);
    populate(depth, n->left);
    populate(depth, n->right);
}

/* Bottom-up: children first, then the parent that points at them. */
static gnode *make_tree(int depth)
{
    if (depth <= 0)
        return new_node(NULL, NULL);
    gnode *l = make_tree(depth - 1);
    return new_node(l, make_tree(depth - 1));
}

/* Free a tree by hand (malloc variant only). */
static void release(gnode *n)
{
    if (!n)
        return;
    release(n->left);
    release(n->right);
    bench_free(n);
}

/* Drop a tree: freed by hand under malloc, left to the collector otherwise. */
static void drop(gnode *n)
{
    if (BENCH_MANUAL)
        release(n);
}

/* Count the nodes of a tree. */
static long count(const gnode *n)
{
    return n ? 1 + count(n->left) + count(n->right) : 0;
}

/* Milliseconds on the monotonic clock. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Build and drop N(depth) trees each way. GCBench's per-depth times go to
 * stderr, so stdout stays identical across the variants (run.sh compares
 * it). */
static void time_construction(int depth, int stretch_depth)
{
    long iters = 2 * tree_size(stretch_depth) / tree_size(depth);
    printf("Creating %ld trees of depth %d\n", iters, depth);
    double t0 = now_ms();
    long nodes = 0;
    for (long i = 0; i < iters; i++) {
        gnode *t = new_node(NULL, NULL);
        populate(depth, t);
        nodes += t->left != NULL;   /* touch it so the work cannot be optimised away */
        drop(t);
    }
    printf("\tTop down construction: %ld trees\n", nodes);
    double t1 = now_ms();
    nodes = 0;
    for (long i = 0; i < iters; i++) {
        gnode *t = make_tree(depth);
        nodes += t->right != NULL;
        drop(t);
    }
    printf("\tBottom up construction: %ld trees\n", nodes);
    fprintf(stderr, "gcbench-%s depth %d: top down %.1f ms, bottom up %.1f ms\n",
            BENCH_IMPL, depth, t1 - t0, now_ms() - t1);
}

int main(int argc, char **argv)
{
    int max = argc > 1 ? atoi(argv[1]) : 16;
    if (max < MIN_DEPTH)
        max = MIN_DEPTH;
    int stretch_depth = max + 2;
    bench_start();

    printf("Garbage Collector Test\n");
    printf(" Stretching memory with a binary tree of depth %d\n", stretch_depth);
    gnode *stretch = make_tree(stretch_depth);
    drop(stretch);

    printf(" Creating a long-lived binary tree of depth %d\n", max);
    gnode *long_lived = new_node(NULL, NULL);
    populate(max, long_lived);

    printf(" Creating a long-lived array of %d doubles\n", ARRAY_SIZE);
    double *array = bench_alloc_atomic(ARRAY_SIZE * sizeof *array);
    for (int i = 0; i < ARRAY_SIZE / 2; i++)
        array[i] = 1.0 / i;
    for (int i = ARRAY_SIZE / 2; i < ARRAY_SIZE; i++)
        array[i] = 0.0;

    for (int d = MIN_DEPTH; d <= max; d += 2)
        time_construction(d, stretch_depth);

    long n = count(long_lived);
    if (n != tree_size(max) || array[1000] != 1.0 / 1000) {
        printf("Failed: long-lived tree has %ld nodes, array[1000] = %g\n", n, array[1000]);
        return 1;
    }
    printf(" Long-lived tree (%ld nodes) and array survived\n", n);
    drop(long_lived);
    bench_free(array);

    bench_finish("gcbench");
    return 0;
}
