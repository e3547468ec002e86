/* idtree.h — a complete binary tree of collected nodes for the tests that
 * must show a mark lost nothing (test_assist, test_wait_cpu): each node
 * carries its preorder id and a magic word, and idtree_verify walks the
 * tree checking both. */
#ifndef CGC_TEST_IDTREE_H
#define CGC_TEST_IDTREE_H

#include "cgc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define IDTREE_MAGIC 0xa551a551a551a551ull

typedef struct idtree {
    struct idtree *l, *r;
    uint64_t id;
    uint64_t magic;
} idtree;

/* 2^(depth+1) - 1 nodes, ids from *id on in preorder; exits when out of
 * memory (the tests size their heaps). */
static inline idtree *idtree_build(int depth, uint64_t *id)
{
    idtree *n = cgc_malloc(sizeof *n);
    if (!n) {
        fprintf(stderr, "no memory\n");
        exit(1);
    }
    n->id = (*id)++;
    n->magic = IDTREE_MAGIC;
    if (depth > 0) {
        n->l = idtree_build(depth - 1, id);
        n->r = idtree_build(depth - 1, id);
    }
    return n;
}

/* Counts in *bad the subtrees whose root is missing or wrong (a lost
 * subtree counts once); returns the id expected after n's subtree. */
static inline uint64_t idtree_verify(const idtree *n, int depth, uint64_t id, long *bad)
{
    if (!n || n->magic != IDTREE_MAGIC || n->id != id) {
        (*bad)++;
        return id + ((uint64_t)2 << depth) - 1;
    }
    id++;
    if (depth > 0) {
        id = idtree_verify(n->l, depth - 1, id, bad);
        id = idtree_verify(n->r, depth - 1, id, bad);
    }
    return id;
}

static inline int64_t idtree_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
