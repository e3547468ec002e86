/* pacer.h — when to collect: heap goal = min(proportional goal, limit goal)
 * (SPEC §4; Go's mgcpacer.go). A pure state machine: it sees only the
 * numbers it is fed, so tests drive hundreds of simulated cycles through it
 * (tests/test_pacer_sim.c, tests/sim/sim.h). The formulas are derived in
 * src/pacer.c and docs/pacing.md.
 *
 * Locking: the struct is owned by the core (cgc__gc.pacer) and touched only
 * under pacer_lock; nothing here locks or reads a clock. */
#ifndef CGC_PACER_H
#define CGC_PACER_H

#include <stdint.h>

/* The proportional goal never drops below this × gc_percent/100 (Go's
 * heapMinimum), so a tiny heap does not collect every few kilobytes. */
#define CGC__PACER_MIN_HEAP ((uint64_t)4 << 20)
/* The limit goal keeps this share of itself (at least HEADROOM_MIN) free
 * for pacing error, fragmentation growth and what the container charges
 * that the limit does not count (pacer.c says why 5% rather than Go's 3%). */
#define CGC__PACER_HEADROOM_PERCENT 5
#define CGC__PACER_HEADROOM_MIN ((uint64_t)2 << 20)

/* The memory picture the limit goal is computed from, in bytes. */
typedef struct cgc__mem_state {
    uint64_t mapped;      /* everything the limit counts: sys - heap_released */
    uint64_t heap_free;   /* free heap pages not yet released to the OS */
    uint64_t heap_alloc;  /* bytes in allocated objects (incl. unswept dead ones);
                             between cycles the core passes heap_live */
    uint64_t outside;     /* how far the container's hard-limit guard brings the
                             bound below the soft limit (collect.c, effective_limit):
                             taken off the limit */
} cgc__mem_state;

typedef struct cgc__pacer {
    /* knobs (set by cgc_set_gc_percent / cgc_set_memory_limit) */
    int      gc_percent;    /* < 0: proportional pacing off (GOGC=off) */
    int64_t  mem_limit;     /* bytes; INT64_MAX (or any negative) = none; 0 allowed */
    /* input from the last completed mark */
    uint64_t heap_marked;   /* bytes of live objects found */
    /* outputs of the last cgc__pacer_update */
    uint64_t prop_goal;     /* UINT64_MAX when proportional pacing is off */
    uint64_t limit_goal;    /* UINT64_MAX when there is no limit */
    uint64_t goal;          /* min of the two: collect when heap_live reaches it;
                               UINT64_MAX = never (GOGC=off, no limit) */
    uint64_t nonheap;       /* mapped - heap_free - heap_alloc at that update */
} cgc__pacer;

void     cgc__pacer_init(cgc__pacer *p, int gc_percent, int64_t mem_limit);
/* Records the result of a mark phase (live bytes). Does not recompute. */
void     cgc__pacer_end_cycle(cgc__pacer *p, uint64_t heap_marked);
/* Recomputes prop_goal, limit_goal and goal from the knobs, the last mark
 * and the current memory picture; returns goal. Call it after each mark and
 * whenever mapped memory may have grown (a span taken from the page heap):
 * the limit goal depends on memory outside heap objects, which grows with
 * the heap. */
uint64_t cgc__pacer_update(cgc__pacer *p, const cgc__mem_state *m);

/* The two halves, exposed for tests and for the docs' tables. */
uint64_t cgc__pacer_proportional_goal(uint64_t heap_marked, int gc_percent);
uint64_t cgc__pacer_limit_goal(uint64_t heap_marked, int64_t mem_limit, const cgc__mem_state *m);

#endif
