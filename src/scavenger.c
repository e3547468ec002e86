/* scavenger.c — how much free memory to keep, and how fast the background
 * scavenger works (SPEC §4, after Go's mgcscavenge.go).
 *
 * "Retained" is what the limit counts: mapped = sys - heap_released. The
 * scavenger keeps it under
 *     min(1.10 * heap_goal + nonheap,  0.95 * limit)
 * 10% above the goal leaves room for the heap to reach its goal without
 * faulting pages back in; 95% of the limit keeps the total clear of the limit
 * so the allocation path rarely has to release synchronously.
 *
 * Pacing: a burst of work that took `worked` ns is followed by a sleep of
 * worked * (1 - f) / f, so the thread uses a fraction f (1%) of one CPU.
 * Bursts release at most 64 pages (512 KiB): one madvise of that size takes
 * tens of microseconds, short enough to hold the heap lock.
 */
#include "scavenger.h"

#include <string.h>

#define BURST_BYTES ((uint64_t)512 << 10)

uint64_t cgc__scavenge_retain_target(uint64_t heap_goal, uint64_t nonheap, int64_t mem_limit)
{
    uint64_t target = UINT64_MAX;
    if (heap_goal != UINT64_MAX) {
        uint64_t g = heap_goal + heap_goal / 10;
        target = g < heap_goal || g + nonheap < g ? UINT64_MAX : g + nonheap;
    }
    if (mem_limit >= 0 && mem_limit != INT64_MAX) {
        uint64_t l = (uint64_t)mem_limit / 100 * 95;
        if (l < target)
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
    int64_t sleep = (int64_t)((double)worked_ns * (1 - f) / f);
    if (sleep < s->min_sleep_ns)
        sleep = s->min_sleep_ns;
    if (sleep > s->max_sleep_ns)
        sleep = s->max_sleep_ns;
    return sleep;
}

uint64_t cgc__scavenger_burst_bytes(uint64_t excess)
{
    return excess < BURST_BYTES ? excess : BURST_BYTES;
}
