/* idnode.h — a collected node with a collected child, each carrying the
 * node's id and a magic word, for the tests that must show a mark lost
 * nothing held in tables of pointers (test_shadow_table, test_hot_reuse):
 * a node freed and reused, or overwritten with 0xdb by the Debug build's
 * sweep, fails idnode_ok. */
#ifndef CGC_TEST_IDNODE_H
#define CGC_TEST_IDNODE_H

#include "cgc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define IDNODE_MAGIC 0x5ad0775ad0775ad0ull

typedef struct child {
    uint64_t id, magic;
} child;

typedef struct node {
    uint64_t id;
    uint64_t magic;
    child *c;
    uint64_t pad;
} node;

static uint64_t idnode_next_id;

/* A new node and its child, with the next id. Exits when cgc has no
 * memory for them. */
static inline node *idnode_make(void)
{
    node *n = cgc_malloc(sizeof *n);
    child *c = cgc_malloc(sizeof *c);
    if (!n || !c) {
        fprintf(stderr, "no memory\n");
        exit(1);
    }
    n->id = c->id = ++idnode_next_id;
    n->magic = c->magic = IDNODE_MAGIC;
    n->c = c;
    return n;
}

/* Whether n is the intact node number id. */
static inline bool idnode_ok(const node *n, uint64_t id)
{
    return n && n->id == id && n->magic == IDNODE_MAGIC && n->c && n->c->id == id && n->c->magic == IDNODE_MAGIC;
}

#endif
