/* pacer.c — the heap goal: min(proportional goal, limit goal) (SPEC §4).
 *
 * Proportional goal (GOGC): after a mark found `marked` live bytes, the
 * program may allocate gc_percent% of that before the next collection:
 *     prop = marked * (1 + gc_percent/100),  at least 4 MiB * gc_percent/100
 * (the floor keeps tiny heaps from collecting constantly).
 *
 * Limit goal: the limit counts all mapped memory, `mapped`. Of that, only
 * heap objects grow with allocation; the rest ("non-heap": metadata and the
 * unused parts of in-use spans) is roughly fixed over a cycle, and free pages
 * can be reused. So the heap may reach
 *     limit - nonheap,   nonheap = mapped - heap_free - heap_alloc
 * If mapped already exceeds the limit, the overage is taken off as well so
 * the next cycle brings the total back under it. A headroom of 5% (at least
 * 2 MiB) absorbs pacing error and fragmentation. Go uses 3% and 1 MiB; cgc
 * takes more because the limit is most often set to the container's own
 * limit (CGC_GC=off, CGC_MEMLIMIT=limits.memory), and the container also
 * charges what the limit does not count — code, libc, thread stacks, page
 * tables — a few MiB for a C program (measured: 3-4 MiB of resident memory
 * beyond cgc's own at a 128 MiB limit), which 3% did not cover. The
 * goal never drops below the marked heap: below that, collecting cannot
 * help, and the CPU limiter decides how often to try.
 *
 * cgc stops the world to mark, so no trigger runway is needed: it collects
 * when heap_live reaches the goal.
 */
#include "pacer.h"

#include <string.h>

#define PACER_MIN_HEAP ((uint64_t)4 << 20)
#define HEADROOM_PERCENT 5
#define HEADROOM_MIN ((uint64_t)2 << 20)

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

/* a * (100 + pct) / 100 without overflow (saturating). */
static uint64_t grow_by_percent(uint64_t a, int pct)
{
    uint64_t extra = a / 100 * (uint64_t)pct + a % 100 * (uint64_t)pct / 100;
    return a > UINT64_MAX - extra ? UINT64_MAX : a + extra;
}

static uint64_t proportional_goal(const cgc__pacer *p)
{
    if (p->gc_percent < 0)
        return UINT64_MAX;
    uint64_t goal = grow_by_percent(p->heap_marked, p->gc_percent);
    uint64_t floor = PACER_MIN_HEAP / 100 * (uint64_t)p->gc_percent;
    return goal < floor ? floor : goal;
}

static uint64_t limit_goal(const cgc__pacer *p, const cgc__mem_state *m)
{
    if (p->mem_limit == INT64_MAX)
        return UINT64_MAX;
    uint64_t limit = (uint64_t)p->mem_limit;
    uint64_t used = m->heap_free + m->heap_alloc;
    uint64_t nonheap = m->mapped > used ? m->mapped - used : 0;
    uint64_t overage = m->mapped > limit ? m->mapped - limit : 0;
    if (nonheap + overage >= limit)
        return p->heap_marked;
    uint64_t goal = limit - nonheap - overage;
    uint64_t headroom = goal / 100 * HEADROOM_PERCENT;
    if (headroom < HEADROOM_MIN)
        headroom = HEADROOM_MIN;
    goal = goal > headroom ? goal - headroom : 0;
    return goal < p->heap_marked ? p->heap_marked : goal;
}

uint64_t cgc__pacer_update(cgc__pacer *p, const cgc__mem_state *m)
{
    p->prop_goal = proportional_goal(p);
    p->limit_goal = limit_goal(p, m);
    p->goal = p->prop_goal < p->limit_goal ? p->prop_goal : p->limit_goal;
    return p->goal;
}
