/* pacer.h — when to collect: heap goal = min(proportional goal, limit goal)
 * (SPEC §4). A pure state machine: it sees only the numbers it is fed, so
 * tests can drive hundreds of simulated cycles (tests/test_pacer_sim.c). */
#ifndef CGC_PACER_H
#define CGC_PACER_H

#include <stdint.h>

/* The memory picture the limit goal is computed from, in bytes. */
typedef struct cgc__mem_state {
    uint64_t mapped;      /* everything the limit counts: sys - heap_released */
    uint64_t heap_free;   /* free heap pages not yet released to the OS */
    uint64_t heap_alloc;  /* bytes in allocated objects (incl. unswept dead ones) */
} cgc__mem_state;

typedef struct cgc__pacer {
    /* knobs (set by cgc_set_gc_percent / cgc_set_memory_limit) */
    int      gc_percent;    /* < 0: proportional pacing off */
    int64_t  mem_limit;     /* bytes; INT64_MAX = none */
    /* input from the last completed mark */
    uint64_t heap_marked;   /* bytes of live objects found */
    /* outputs */
    uint64_t prop_goal;     /* UINT64_MAX when proportional pacing is off */
    uint64_t limit_goal;    /* UINT64_MAX when there is no limit */
    uint64_t goal;          /* min of the two: collect when heap_live reaches it */
} cgc__pacer;

void     cgc__pacer_init(cgc__pacer *p, int gc_percent, int64_t mem_limit);
/* Records the result of a mark phase (live bytes). Does not recompute. */
void     cgc__pacer_end_cycle(cgc__pacer *p, uint64_t heap_marked);
/* Recomputes prop_goal, limit_goal and goal from the knobs, the last mark
 * and the current memory picture; returns goal. */
uint64_t cgc__pacer_update(cgc__pacer *p, const cgc__mem_state *m);

#endif
