/* limiter.c — the GC CPU limiter (SPEC §4, after Go's mgclimit.go): a leaky
 * bucket of CPU time.
 *
 * Over an interval of wall time w with ncpu CPUs available, the process had
 *     total = ncpu * w
 * of CPU; g of it went to collection (a stop-the-world pause of d counts
 * d * ncpu: nothing else could run; background sweep and scavenge CPU counts
 * as measured) and mutator = total - g was the program's. The bucket fills
 * by the GC time and drains by the mutator time:
 *     fill += g - mutator = 2g - total
 * which is positive only while collection takes more than half of the
 * available CPU. It never goes below 0, so an idle stretch cannot be banked
 * against a later spike, and its capacity is the only leeway GC gets over
 * 50%: once it is full, automatic collections stop until it drains.
 *
 * The debt of a pause. Go's limiter clips the fill at capacity, which is
 * right for Go, whose pauses are short and whose marking can be throttled
 * as it goes. A cgc pause is the whole mark and cannot be cut short: it
 * starts with the bucket just under capacity and may add more than the
 * bucket has left (a 100 ms pause on 4 CPUs adds 0.4 CPU-s; the bucket
 * holds 2). Clipping would forget that excess on every cycle: in the
 * simulation a heap pinned at its goal then got 67% GC on 4 CPUs and 79%
 * on 2 (longer pauses), not 50%. So the fill may exceed capacity by what
 * the interval being accounted added (the debt of one pause), and the
 * mutator pays it back before the next automatic collection. Automatic
 * cycles and background passes report through cgc__limiter_add_background
 * (uncapped: the exact step derived there); forced collections (cgc_collect,
 * which do not ask the limiter) go through cgc__limiter_update, capped at
 * capacity + this interval's GC time, so that they cannot pile up a debt
 * that would disable automatic collection for long.
 *   Summing over any stretch with T CPU-ns available and G of GC: with no
 * clipping, 2G - T = fill_end - fill_start - (what was clamped at 0)
 *                  <= capacity + one pause's CPU,
 * so G/T <= 1/2 + (capacity + one pause) / (2T): the bound the simulation
 * tests check (tests/test_limiter_sim.c).
 *
 * Capacity = a quarter of a CPU-second per CPU: a full bucket means "more
 * than half the CPU for about a second" — at 100% GC it fills in 0.25 s of
 * wall time, at 75% in 0.5 s, at 60% in 1.25 s; over a 10 s window GC gets
 * at most 51.25%. (It was half a CPU-second: the death-spiral test, a
 * limit at half the live heap for ~6 s, then measured 56% where the bound
 * 1/2 + capacity/2T allowed 54.7%; a quarter keeps a short program under
 * 55% too.)
 * Go's bucket holds a whole CPU-second per P; half reacts twice as fast,
 * which a stop-the-world collector, whose pauses take every CPU at once,
 * needs, and halves the excess a window can carry.
 *
 * While the bucket is full (fill >= capacity) the collector lets the heap
 * overshoot instead of collecting; as soon as the mutator has paid the debt
 * back below capacity, the next look at the goal may collect again. So once
 * engaged, pauses and mutator stretches of about the same length alternate
 * — 50% — and the heap overshoots by what the program allocates in one
 * pause's length of time. No hysteresis: an earlier version stayed on until
 * the bucket drained below 90%, which the simulation showed to be harmful
 * once pauses carry their debt — it groups the pauses into back-to-back
 * bursts of 0.05 s (limit 0, 2 MiB live heap: 90% GC over the worst 50 ms
 * window instead of 52%) and lets the heap overshoot by 0.05 s of
 * allocation (18 MiB mapped instead of 4.8 MiB), for the same 50% overall.
 * Flapping costs nothing: a look is a few arithmetic operations, made once
 * per 1/32 of heap growth.
 *
 * Idle CPU counts as mutator time (Go subtracts it): a program using one
 * thread on eight CPUs is limited by its pause time as a fraction of wall
 * time, which is what its latency sees anyway. The exception is CPU left
 * idle while the program's threads wait for a concurrent mark they outran:
 * that is taken out, as Go does (cgc__limiter_add_idle).
 */
#include "limiter.h"

#include <string.h>

void cgc__limiter_init(cgc__limiter *l, int ncpu, int64_t now_ns)
{
    memset(l, 0, sizeof *l);
    l->ncpu = ncpu > 0 ? ncpu : 1;
    l->capacity_ns = CGC__LIMITER_CAPACITY_PER_CPU_NS * l->ncpu;
    l->last_ns = now_ns;
}

/* a * b for non-negative a, b, saturating at INT64_MAX. */
static int64_t sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

void cgc__limiter_update(cgc__limiter *l, int64_t now_ns, int64_t gc_cpu_ns)
{
    int64_t wall = now_ns > l->last_ns ? now_ns - l->last_ns : 0;
    if (now_ns > l->last_ns)
        l->last_ns = now_ns;
    int64_t total = sat_mul(wall, l->ncpu);
    if (gc_cpu_ns < 0)
        gc_cpu_ns = 0;
    if (gc_cpu_ns > total)
        gc_cpu_ns = total;   /* the pause is part of the interval */
    int64_t mutator = total - gc_cpu_ns;
    /* fill += gc - mutator, clamped, without forming 2g - total (which could
     * overflow for absurd intervals). */
    if (gc_cpu_ns >= mutator) {
        /* ceiling: capacity plus this interval's GC (the debt of a pause that
         * started below capacity), never below the current fill */
        int64_t ceiling = gc_cpu_ns > INT64_MAX - l->capacity_ns ? INT64_MAX : l->capacity_ns + gc_cpu_ns;
        if (ceiling < l->fill_ns)
            ceiling = l->fill_ns;
        int64_t up = gc_cpu_ns - mutator;
        l->fill_ns = up >= ceiling - l->fill_ns ? ceiling : l->fill_ns + up;
    } else {
        int64_t down = mutator - gc_cpu_ns;
        l->fill_ns = down >= l->fill_ns ? 0 : l->fill_ns - down;
    }
    int full = l->fill_ns >= l->capacity_ns;
    if (full && !l->enabled) {
        l->enabled_episodes++;
        l->enabled_ns = now_ns;
    }
    l->enabled = full;
}

/* fill += add - (the CPU of the interval since the last update), clamped
 * to [0, INT64_MAX] without overflow; add >= 0. */
static void add_after(cgc__limiter *l, int64_t now_ns, int64_t add)
{
    int64_t wall = now_ns > l->last_ns ? now_ns - l->last_ns : 0;
    if (now_ns > l->last_ns)
        l->last_ns = now_ns;
    int64_t total = sat_mul(wall, l->ncpu);
    int64_t up = add > INT64_MAX - l->fill_ns ? INT64_MAX : l->fill_ns + add;
    l->fill_ns = up > total ? up - total : 0;
    int full = l->fill_ns >= l->capacity_ns;
    if (full && !l->enabled) {
        l->enabled_episodes++;
        l->enabled_ns = now_ns;
    }
    l->enabled = full;
}

/* Background collection work (a sweep or scavenge pass on its own thread,
 * or a pause that such a report may have overtaken) is reported when it
 * ends, after intervals that overlapped it were already counted as the
 * program's. Over all intervals the bucket is 2G - T (G collection CPU, T
 * available CPU), clamped at 0; a report of w adds w to G and the interval
 * since the last update, t, to T, so the exact step is
 *     fill += 2w - t
 * — the work counts once as collection and once more for the mutator time
 * it had been mistaken for. An earlier version added min(w, t) as this
 * interval's GC and the rest once: it lost the rest's second half, and with
 * the sweeper reporting after every cycle (a limit below the live heap, a
 * loaded machine) the collector took 61-77% of the CPU while the bucket
 * read "half". No ceiling: the work is done, and the debt is paid back by
 * the mutator before the next automatic collection. */
void cgc__limiter_add_background(cgc__limiter *l, int64_t now_ns, int64_t gc_cpu_ns)
{
    int64_t w = gc_cpu_ns > 0 ? gc_cpu_ns : 0;
    add_after(l, now_ns, w > INT64_MAX / 2 ? INT64_MAX : 2 * w);
}

/* Idle CPU reported after the fact: CPU the process left unused while its
 * threads waited for the collector (waits.c). Go takes idle time out of
 * the total (mgclimit.go, the idle time pool): it is neither the
 * collector's nor the program's. Intervals already accounted counted it as
 * the program's, so the exact step, with T gaining the interval t and the
 * mutator time M = T - G - I losing i, is
 *     fill += i - t
 * A program that does nothing but wait for its collector then reads as
 * 100% collection, whatever share of the machine the markers use. */
void cgc__limiter_add_idle(cgc__limiter *l, int64_t now_ns, int64_t idle_ns)
{
    add_after(l, now_ns, idle_ns > 0 ? idle_ns : 0);
}

int cgc__limiter_limiting(cgc__limiter *l, int64_t now_ns)
{
    cgc__limiter_update(l, now_ns, 0);
    return l->enabled;
}

uint64_t cgc__limiter_next_check(uint64_t heap_live)
{
    uint64_t step = heap_live / 32;
    if (step < ((uint64_t)1 << 20))
        step = (uint64_t)1 << 20;
    return heap_live > UINT64_MAX - step ? UINT64_MAX : heap_live + step;
}
