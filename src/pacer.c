/* pacer.c — the heap goal: min(proportional goal, limit goal) (SPEC §4,
 * after Go's mgcpacer.go; docs/pacing.md has the derivations with numbers).
 *
 * Proportional goal (GOGC): after a mark found `marked` live bytes, the
 * program may allocate gc_percent% of that before the next collection:
 *     prop = marked * (1 + gc_percent/100),  at least 4 MiB * gc_percent/100
 * The floor (Go's heapMinimum) keeps tiny heaps from collecting every few
 * kilobytes; it scales with gc_percent so GOGC=0 still means "always".
 * gc_percent < 0 (GOGC=off): prop = UINT64_MAX.
 *
 * Limit goal: the limit counts all mapped memory, `mapped`. Of that, only
 * heap objects grow with allocation; the rest ("non-heap": metadata and the
 * unused parts of in-use spans) is roughly fixed over a cycle, and free
 * pages are reused before new ones are mapped. So the heap may reach
 *     limit - nonheap,   nonheap = mapped - heap_free - heap_alloc
 * If mapped already exceeds the limit (a spike, a limit just lowered), the
 * overage is taken off as well, so that the next cycle brings the total
 * back under it rather than merely not growing it:
 *     goal = limit - (nonheap + overage) - headroom
 * Headroom: 5% of that (at least 2 MiB) absorbs what the formula assumes
 * away — non-heap memory that grows with the heap between recomputations
 * (span fragmentation, bitmaps), and the allocation between the heap
 * reaching the goal and the stop. Go uses 3% and 1 MiB (Go 1.21); cgc takes
 * more because the limit is most often set to the container's own limit
 * (CGC_GC=off, CGC_MEMLIMIT=limits.memory), and the container also charges
 * what the limit does not count — code, libc, thread stacks, page tables —
 * a few MiB for a C program (measured: 3-4 MiB of resident memory beyond
 * cgc's own at a 128 MiB limit), which 3% did not cover.
 *   If non-heap memory and overage alone reach the limit, no heap size
 * satisfies it: the goal is the marked heap. The goal never drops below the
 * marked heap either: a goal under the live heap would ask for a collection
 * that cannot free enough, so the collector collects continuously and the
 * CPU limiter (limiter.c) decides how often it may.
 *
 * No trigger: Go starts a concurrent mark before the goal so that it ends
 * near it (the "runway"). cgc stops the world to mark, so nothing is
 * allocated during the mark and it can simply collect when heap_live
 * reaches the goal.
 *
 * All arithmetic saturates: limits near INT64_MAX, gc_percent near INT_MAX
 * and heaps of any size give a goal of at most UINT64_MAX, never a wrapped
 * small number (a wrapped goal would mean a collection on every span).
 */
#include "pacer.h"

#include <string.h>

/* a + b, saturating at UINT64_MAX. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* a * b, saturating at UINT64_MAX. */
static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* a * pct / 100 rounded down, exact where a * pct fits in 64 bits and
 * saturating (never wrapping) where it does not. */
static uint64_t percent_of(uint64_t a, uint64_t pct)
{
    uint64_t r;
    if (!__builtin_mul_overflow(a, pct, &r))
        return r / 100;
    /* a/100*pct + (a%100)*pct/100: the first term may still overflow. */
    return sat_add(sat_mul(a / 100, pct), a % 100 * pct / 100);
}

void cgc__pacer_init(cgc__pacer *p, int gc_percent, int64_t mem_limit)
{
    memset(p, 0, sizeof *p);
    p->gc_percent = gc_percent < 0 ? -1 : gc_percent;
    p->mem_limit = mem_limit < 0 ? INT64_MAX : mem_limit;
    p->prop_goal = p->limit_goal = p->goal = UINT64_MAX;
}

void cgc__pacer_end_cycle(cgc__pacer *p, uint64_t heap_marked)
{
    p->heap_marked = heap_marked;
}

/* The GOGC goal: marked * (1 + pct/100), at least MIN_HEAP * pct/100. */
uint64_t cgc__pacer_proportional_goal(uint64_t heap_marked, int gc_percent)
{
    if (gc_percent < 0)
        return UINT64_MAX;
    uint64_t goal = sat_add(heap_marked, percent_of(heap_marked, (uint64_t)gc_percent));
    uint64_t floor = percent_of(CGC__PACER_MIN_HEAP, (uint64_t)gc_percent);
    return goal < floor ? floor : goal;
}

/* Memory the limit counts that is neither heap objects nor free heap pages. */
static uint64_t nonheap_of(const cgc__mem_state *m)
{
    uint64_t used = sat_add(m->heap_free, m->heap_alloc);
    return m->mapped > used ? m->mapped - used : 0;
}

/* The memory-limit goal (derivation at the top of the file). */
uint64_t cgc__pacer_limit_goal(uint64_t heap_marked, int64_t mem_limit, const cgc__mem_state *m)
{
    if (mem_limit < 0 || mem_limit == INT64_MAX)
        return UINT64_MAX;
    uint64_t limit = (uint64_t)mem_limit;
    /* The container's hard-limit guard may bound cgc's memory below the
     * soft limit (it leaves room for what else the container holds). */
    limit = m->outside < limit ? limit - m->outside : 0;
    uint64_t overage = m->mapped > limit ? m->mapped - limit : 0;
    uint64_t taken = sat_add(nonheap_of(m), overage);
    if (taken >= limit)
        return heap_marked;
    uint64_t goal = limit - taken;
    uint64_t headroom = percent_of(goal, CGC__PACER_HEADROOM_PERCENT);
    if (headroom < CGC__PACER_HEADROOM_MIN)
        headroom = CGC__PACER_HEADROOM_MIN;
    goal = goal > headroom ? goal - headroom : 0;
    return goal < heap_marked ? heap_marked : goal;
}

uint64_t cgc__pacer_update(cgc__pacer *p, const cgc__mem_state *m)
{
    p->nonheap = nonheap_of(m);
    p->prop_goal = cgc__pacer_proportional_goal(p->heap_marked, p->gc_percent);
    p->limit_goal = cgc__pacer_limit_goal(p->heap_marked, p->mem_limit, m);
    p->goal = p->prop_goal < p->limit_goal ? p->prop_goal : p->limit_goal;
    return p->goal;
}
