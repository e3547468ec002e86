/* limiter.h — the GC CPU limiter (SPEC §4; Go's mgclimit.go): a leaky bucket
 * in CPU-nanoseconds that caps collection at 50% of the process's available
 * CPU over about one second. When it is full, the collector lets the heap
 * overshoot the goal instead of collecting again (and counts it in
 * gc_limiter_cycles). Pure state machine: time is an input, so tests drive
 * it with simulated clocks (tests/test_limiter_sim.c).
 *
 * Locking: owned by the core (cgc__gc.limiter), touched under pacer_lock. */
#ifndef CGC_LIMITER_H
#define CGC_LIMITER_H

#include <stdint.h>

/* Bucket size per available CPU: a quarter of a CPU-second (limiter.c says
 * why a quarter of Go's). At 100% GC the bucket fills in 0.25 s of wall time. */
#define CGC__LIMITER_CAPACITY_PER_CPU_NS ((int64_t)250000000)

typedef struct cgc__limiter {
    int      ncpu;             /* CPUs the process may use (>= 1) */
    int64_t  capacity_ns;      /* bucket size: CAPACITY_PER_CPU_NS * ncpu */
    int64_t  fill_ns;          /* current fill, >= 0; above capacity_ns only by
                                  the debt of the last pause (limiter.c) */
    int64_t  last_ns;          /* monotonic time of the last update */
    int      enabled;          /* 1 while fill_ns >= capacity_ns */
    uint64_t enabled_episodes; /* times it went from off to on */
    int64_t  enabled_ns;       /* time of the last off->on transition (0: never) */
} cgc__limiter;

void cgc__limiter_init(cgc__limiter *l, int ncpu, int64_t now_ns);
/* Accounts the interval since the last update: gc_cpu_ns of it was spent
 * collecting (a stop-the-world pause of d counts d * ncpu; background sweep
 * and scavenge CPU counts as it is), the rest of ncpu * (now - last) was the
 * program's. Updates `enabled`. Time that goes backwards counts as zero. */
void cgc__limiter_update(cgc__limiter *l, int64_t now_ns, int64_t gc_cpu_ns);
/* Updates with no GC work, then returns `enabled`. Called when the heap
 * reaches the goal: if it returns 1, skip the collection. */
int  cgc__limiter_limiting(cgc__limiter *l, int64_t now_ns);
/* Adds GC work reported after the fact (a background pass, a pause that
 * such a report overtook): fill += 2 * gc - interval, exactly (limiter.c). */
void cgc__limiter_add_background(cgc__limiter *l, int64_t now_ns, int64_t gc_cpu_ns);
/* CPU the process left idle while its threads waited for the collector,
 * reported after the fact: neither collection nor program time, so
 * fill += idle - interval, exactly (limiter.c). */
void cgc__limiter_add_idle(cgc__limiter *l, int64_t now_ns, int64_t idle_ns);
/* While limiting: the heap_live at which to ask again — 1/32 more heap,
 * at least 1 MiB (saturating), so the checks cost nothing next to the
 * allocation between them and the heap overshoots by at most ~3% per look. */
uint64_t cgc__limiter_next_check(uint64_t heap_live);

#endif
