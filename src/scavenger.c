/* scavenger.c — how much free memory to keep, how much to release at once,
 * and how fast the background scavenger works (SPEC §4, after Go's
 * mgcscavenge.go).
 *
 * "Retained" is what the limit counts: mapped = sys - heap_released (heap
 * pages in use, free heap pages still resident, metadata). The scavenger
 * releases free pages until mapped is at most
 *     min(1.10 * heap_goal + nonheap,  0.95 * limit)
 * — the limit term only while the limit can be met (heap_goal + nonheap
 * <= 0.95 * limit; see cgc__scavenge_retain_target)
 * The heap will grow back to its goal before the next collection, so pages
 * released below the goal would only be faulted back in (a page fault and a
 * zeroing each); 10% above the goal leaves room for the unused tails of
 * in-use spans and for the goal itself moving up a little between cycles
 * (Go's retainExtraPercent). 95% of the limit (Go's reduceExtraPercent)
 * keeps the total clear of the limit so the allocation path rarely has to
 * release pages synchronously; it sits at or just under the pacer's own
 * limit goal (limit minus 5% headroom), so right after a collection the
 * free pages the heap will not reach are returned.
 *
 * Burst size: at most 64 pages of 8 KiB (512 KiB) per burst. The release
 * holds the page heap's lock, so a burst must be short: madvise(DONTNEED)
 * costs a system call and a TLB shootdown per call plus ~0.5-8 us per page
 * (measured on the 2-CPU development VM, noisy), i.e. ~0.05-0.5 ms for a
 * burst — small next to a mark. Smaller bursts pay the per-call cost more
 * often (a 64 KiB call measured 10-100x more per page there).
 *
 * Pacing: a burst that took `worked` ns of the thread's CPU is followed by
 *     sleep = worked * (1/f - 1)
 * so that worked / (worked + sleep) = f = 1% of one CPU (Go's
 * scavengePercent). The sleep is at least 1 ms (no busy turn-around for a
 * trivially short burst) and at most 100 ms (the idle wake-up period; the
 * core also wakes the thread after each collection, when the goal moves).
 * With a 512 KiB burst, the budget is kept exactly for bursts of up to
 * 100 ms / 99 ~ 1 ms, i.e. up to ~16 us per page.
 */
#include "scavenger.h"

#include <string.h>

uint64_t cgc__scavenge_retain_target(uint64_t heap_goal, uint64_t nonheap, int64_t mem_limit)
{
    uint64_t target = UINT64_MAX;
    if (heap_goal != UINT64_MAX) {
        uint64_t extra = heap_goal / 100 * CGC__SCAVENGE_RETAIN_EXTRA_PERCENT +
                         heap_goal % 100 * CGC__SCAVENGE_RETAIN_EXTRA_PERCENT / 100;
        uint64_t g = heap_goal > UINT64_MAX - extra ? UINT64_MAX : heap_goal + extra;
        target = g > UINT64_MAX - nonheap ? UINT64_MAX : g + nonheap;
    }
    if (mem_limit >= 0 && mem_limit != INT64_MAX) {
        uint64_t l = (uint64_t)mem_limit / 100 * CGC__SCAVENGE_LIMIT_PERCENT +
                     (uint64_t)mem_limit % 100 * CGC__SCAVENGE_LIMIT_PERCENT / 100;
        /* Only while the limit can be met: the goal plus metadata fits
         * under it. When it cannot (the live heap alone is over the limit,
         * and the goal is floored at it), the heap grows back past any such
         * target before every collection, and releasing to it gave back a
         * page for every page allocated: with a limit at half the live heap
         * the scavenger released 240 MiB in 4 s, and madvise's TLB
         * shootdowns plus the ~10 us refaults cost the program as much CPU
         * as the collector. Then the proportional target applies. */
        uint64_t need = heap_goal > UINT64_MAX - nonheap ? UINT64_MAX : heap_goal + nonheap;
        if (l < target && (heap_goal == UINT64_MAX || need <= l))
            target = l;
    }
    return target;
}

void cgc__scavenger_init(cgc__scavenger *s)
{
    memset(s, 0, sizeof *s);
    s->cpu_fraction = 0.01;
    s->min_sleep_ns = 1000000;      /* 1 ms */
    s->max_sleep_ns = 100000000;    /* 100 ms: idle wake-up period */
}

int64_t cgc__scavenger_sleep_ns(const cgc__scavenger *s, int64_t worked_ns)
{
    double f = s->cpu_fraction > 0 && s->cpu_fraction < 1 ? s->cpu_fraction : 0.01;
    if (worked_ns < 0)
        worked_ns = 0;
    double want = (double)worked_ns * (1 / f - 1);
    int64_t sleep = want >= (double)s->max_sleep_ns ? s->max_sleep_ns : (int64_t)want;
    if (sleep < s->min_sleep_ns)
        sleep = s->min_sleep_ns;
    if (sleep > s->max_sleep_ns)
        sleep = s->max_sleep_ns;
    return sleep;
}

uint64_t cgc__scavenger_burst_bytes(uint64_t excess)
{
    return excess < CGC__SCAVENGE_BURST_BYTES ? excess : CGC__SCAVENGE_BURST_BYTES;
}

uint64_t cgc__scavenger_excess(uint64_t mapped, uint64_t target)
{
    return mapped > target ? mapped - target : 0;
}

void cgc__scavenger_account(cgc__scavenger *s, uint64_t released, int64_t worked_ns)
{
    s->released_total += released;
    if (worked_ns > 0)
        s->work_ns_total += worked_ns;
    if (released)
        s->bursts++;
}
