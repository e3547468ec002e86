/* test_mark_parallel — marking with several markers finds every live
 * object. Two markers (CGC_MARKERS=2, whatever the machine has) mark a
 * 4 MiB pointer table (a large object: its chunks are shared between the
 * markers as soon as it is met), a tree of 16-byte nodes (pushed with their
 * span, work handed over by donation) and a long list; every record, node
 * and cell must still be allocated (cgc_base) and hold its contents after
 * collections interleaved with garbage of the same sizes, and the garbage
 * must be reclaimed. */
#include "cgc.h"
#include "check.h"
#include "internal.h"

#include <unistd.h>

#define NREC ((size_t)1 << 19)   /* 4 MiB of pointers */

typedef struct rec {
    uint64_t tag, inv;
} rec;

typedef struct node {
    struct node *left, *right;
} node;

typedef struct cell {
    struct cell *next;
    uint64_t tag;
} cell;

static node *make(int depth)
{
    node *n = cgc_malloc(sizeof *n);
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    }
    return n;
}

/* Nodes of the tree that are still allocated objects. */
static long count(const node *n)
{
    if (!n)
        return 0;
    return (cgc_base(n) == n) + count(n->left) + count(n->right);
}

static void __attribute__((noinline)) churn(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        rec *r = cgc_malloc(sizeof *r);
        r->tag = r->inv = 0xdeadbeef;   /* would overwrite a freed record */
        cell *c = cgc_malloc(sizeof *c);
        c->tag = 0xdeadbeef;
    }
}

static uintptr_t __attribute__((noinline)) garbage(uintptr_t unused)
{
    (void)unused;
    return hide(cgc_malloc(sizeof(rec)));
}

int main(int argc, char **argv)
{
    /* The configuration is read when the library initialises, in its
     * constructor, before main: a setenv here came too late, and the test
     * had two markers only on a machine with exactly two usable CPUs (with
     * one — CGC_MARKERS=1, taskset, a CPU quota — or four it failed). So
     * the test runs itself again with the variable set. */
    if (argc > 0 && !check_rerun_with("CGC_MARKERS", "2", argv))
        return 1;
    rec **table = cgc_malloc(NREC * sizeof *table);
    CHECK(cgc__mark_nmarkers() == 2, "two markers (%d)", cgc__mark_nmarkers());
    for (size_t i = 0; i < NREC; i++) {
        rec *r = cgc_malloc(sizeof *r);
        r->tag = i;
        r->inv = ~(uint64_t)i;
        table[i] = r;
    }
    node *tree = make(16);
    cell *list = NULL;
    for (uint64_t i = 0; i < 200000; i++) {
        cell *c = cgc_malloc(sizeof *c);
        c->next = list;
        c->tag = i;
        list = c;
    }
    for (int round = 0; round < 4; round++) {
        cgc_collect();
        churn(300000);
    }
    size_t lost = 0, wrong = 0;
    for (size_t i = 0; i < NREC; i++) {
        lost += cgc_base(table[i]) != table[i];
        wrong += table[i]->tag != i || table[i]->inv != ~(uint64_t)i;
    }
    CHECK(lost == 0 && wrong == 0, "table records live and intact (%zu freed, %zu overwritten)", lost, wrong);
    long nodes = count(tree);
    CHECK(nodes == (1L << 17) - 1, "tree intact (%ld of %ld nodes allocated)", nodes, (1L << 17) - 1);
    uint64_t n = 0, bad = 0;
    for (cell *c = list; c; c = c->next, n++)
        bad += c->tag != 199999 - n || cgc_base(c) != c;
    CHECK(n == 200000 && bad == 0, "list intact (%llu cells, %llu wrong)", (unsigned long long)n,
          (unsigned long long)bad);
    uintptr_t g = deep_call(garbage, 0);
    clear_stack();
    cgc_collect();
    CHECK(cgc_base(unhide(g)) == NULL, "garbage reclaimed with two markers");
    return check_done();
}
