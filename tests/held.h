/* held.h — for the tests that hold a concurrent cycle in a test hook
 * (test_assist, test_large_backstop): when their allocation loop may stop. */
#ifndef CGC_TEST_HELD_H
#define CGC_TEST_HELD_H

#include "internal.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t n0;           /* cycles completed when the loop began */
    uint32_t n_released;   /* the cycle count the held cycle ends at; 0: not yet released */
} held_loop;

static inline void held_loop_start(held_loop *h)
{
    h->n0 = atomic_load(&cgc__gc.num_gc);
    h->n_released = 0;
}

/* True once the held cycle has ended (the hook released it, and the
 * cycle count moved past the one it was released in), or, in
 * stop-the-world mode (no cycle is ever held), after three cycles. */
static inline bool held_loop_done(held_loop *h, bool released)
{
    uint32_t n = atomic_load(&cgc__gc.num_gc);
    if (released && !h->n_released)
        h->n_released = n + 1;   /* the held cycle ends no earlier */
    if (h->n_released && n >= h->n_released)
        return true;
    return !cgc__concurrent_mode() && n >= h->n0 + 3;
}

#endif
