/* limiter.c — the GC CPU limiter (SPEC §4): a leaky bucket of CPU time.
 *
 * Over an interval of wall time w with ncpu CPUs available, the process had
 * ncpu * w of CPU; g of it went to collection (a stop-the-world pause of d
 * counts d * ncpu: nothing else could run). The bucket fills by g - (total -
 * g) = 2g - total, which is positive only while collection takes more than
 * half of the available CPU, and drains otherwise. It is clamped to
 * [0, capacity] with capacity = half a CPU-second per CPU, so an idle
 * stretch cannot be banked against a later spike. A full bucket means "more
 * than half the CPU for about a second": at 100% GC it fills in 0.5 s, at
 * 75% in 1 s, at 60% in 2.5 s. (Go's bucket holds a whole CPU-second per P;
 * half reacts twice as fast, which a stop-the-world collector, whose pauses
 * take every CPU at once, needs.) While it is full the collector lets the
 * heap overshoot instead of collecting again; it switches off again once
 * the bucket has drained below 90% (hysteresis, so it does not flap on every
 * check).
 */
#include "limiter.h"

#include <string.h>

void cgc__limiter_init(cgc__limiter *l, int ncpu, int64_t now_ns)
{
    memset(l, 0, sizeof *l);
    l->ncpu = ncpu > 0 ? ncpu : 1;
    l->capacity_ns = (int64_t)500000000 * l->ncpu;
    l->last_ns = now_ns;
}

void cgc__limiter_update(cgc__limiter *l, int64_t now_ns, int64_t gc_cpu_ns)
{
    int64_t wall = now_ns - l->last_ns;
    if (wall < 0)
        wall = 0;
    l->last_ns = now_ns;
    int64_t total = wall * l->ncpu;
    if (gc_cpu_ns > total)
        gc_cpu_ns = total;   /* the pause is part of the interval */
    l->fill_ns += 2 * gc_cpu_ns - total;
    if (l->fill_ns < 0)
        l->fill_ns = 0;
    if (l->fill_ns > l->capacity_ns)
        l->fill_ns = l->capacity_ns;
    if (!l->enabled && l->fill_ns >= l->capacity_ns) {
        l->enabled = 1;
        l->enabled_episodes++;
    } else if (l->enabled && l->fill_ns < l->capacity_ns / 10 * 9) {
        l->enabled = 0;
    }
}

int cgc__limiter_limiting(cgc__limiter *l, int64_t now_ns)
{
    cgc__limiter_update(l, now_ns, 0);
    return l->enabled;
}
