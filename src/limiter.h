/* limiter.h — the GC CPU limiter (SPEC §4): a leaky bucket in CPU-nanoseconds
 * that caps collection at 50% of the process's available CPU over about one
 * second. When it is full, the collector lets the heap overshoot the goal
 * instead of collecting again. Pure state machine: time is an input. */
#ifndef CGC_LIMITER_H
#define CGC_LIMITER_H

#include <stdint.h>

typedef struct cgc__limiter {
    int      ncpu;             /* CPUs the process may use */
    int64_t  capacity_ns;      /* bucket size: 0.5 s of CPU per available CPU */
    int64_t  fill_ns;          /* current fill, 0 .. capacity_ns */
    int64_t  last_ns;          /* monotonic time of the last update */
    int      enabled;          /* 1 while the bucket is full */
    uint64_t enabled_episodes; /* times it went from off to on */
} cgc__limiter;

void cgc__limiter_init(cgc__limiter *l, int ncpu, int64_t now_ns);
/* Accounts the interval since the last update: gc_cpu_ns of it was spent
 * collecting (a stop-the-world pause of d counts d * ncpu), the rest of
 * ncpu * (now - last) was the program's. Updates `enabled`. */
void cgc__limiter_update(cgc__limiter *l, int64_t now_ns, int64_t gc_cpu_ns);
/* Updates with no GC work, then returns `enabled`. */
int  cgc__limiter_limiting(cgc__limiter *l, int64_t now_ns);

#endif
