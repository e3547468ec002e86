/* churn.h — linked lists that threads build and check while other threads
 * collect: the load of the thread and signal tests. A list survives a
 * collection only if every stack, register and frame that holds it was
 * scanned, so a broken list is a live object freed. */
#ifndef CGC_TEST_CHURN_H
#define CGC_TEST_CHURN_H

#include <stdatomic.h>
#include <stdint.h>

#include "cgc.h"

typedef struct cell {
    struct cell *next;
    long v;
} cell;

/* A list of n cells holding seed .. seed + n - 1, the last one first. */
static cell *__attribute__((unused)) churn_build(long seed, int n)
{
    cell *h = NULL;
    for (int i = 0; i < n; i++) {
        cell *c = cgc_malloc(sizeof *c);
        c->next = h;
        c->v = seed + i;
        h = c;
    }
    return h;
}

/* Whether c is exactly the list churn_build(seed, n) made. */
static int __attribute__((unused)) churn_intact(const cell *c, long seed, int n)
{
    for (int i = n - 1; i >= 0; i--, c = c->next)
        if (!c || c->v != seed + i)
            return 0;
    return c == NULL;
}

/* Builds and checks lists of 2000 cells until *stop is set, counting each
 * broken one in *bad: a thread that allocates as fast as it can, so that
 * stops come in the middle of its allocations. */
static void __attribute__((unused)) churn_until(long seed, _Atomic int *stop, _Atomic int *bad)
{
    while (!atomic_load(stop))
        if (!churn_intact(churn_build(seed, 2000), seed, 2000))
            atomic_fetch_add(bad, 1);
}

#endif
