/* scavenger.h — the policy for returning free pages to the OS (SPEC §4; Go's
 * mgcscavenge.go): how much memory to retain, how much to release in one
 * go, and how long the background scavenger sleeps to stay within ~1% of
 * one CPU. Pure functions and state; the thread that acts on them and the
 * release itself (madvise) live with the core (collect.c, pageheap.c).
 *
 * "Retained" memory is what the limit counts: mapped = sys - heap_released,
 * i.e. heap pages in use, free heap pages not yet returned, and metadata.
 * Only the free heap pages can be released; the scavenger's job is to bring
 * mapped down to the retain target by releasing them. */
#ifndef CGC_SCAVENGER_H
#define CGC_SCAVENGER_H

#include <stdint.h>

/* Memory kept above the heap goal, percent (Go's retainExtraPercent). */
#define CGC__SCAVENGE_RETAIN_EXTRA_PERCENT 10
/* With a limit, retained memory is kept under this percent of it (100 -
 * Go's reduceExtraPercent), so the allocation path rarely has to release
 * synchronously. */
#define CGC__SCAVENGE_LIMIT_PERCENT 95
/* One burst releases at most this much: 64 pages of 8 KiB. */
#define CGC__SCAVENGE_BURST_BYTES ((uint64_t)512 << 10)

/* Bytes of mapped memory (sys - heap_released) to keep at most:
 *     min(110% of heap_goal + nonheap, 95% of mem_limit)
 * nonheap is memory the limit counts that is not heap pages (metadata:
 * sys - heap_sys). UINT64_MAX (keep everything) when the goal is infinite
 * and there is no limit; INT64_MAX or a negative limit means none. */
uint64_t cgc__scavenge_retain_target(uint64_t heap_goal, uint64_t nonheap, int64_t mem_limit);

typedef struct cgc__scavenger {
    double   cpu_fraction;     /* budget, 0.01 = 1% of one CPU */
    int64_t  min_sleep_ns;     /* floor on sleep between bursts */
    int64_t  max_sleep_ns;     /* ceiling, and the idle wake-up period */
    uint64_t released_total;   /* bytes released by the background thread */
    int64_t  work_ns_total;    /* its CPU time spent releasing */
    uint64_t bursts;           /* bursts that released something */
} cgc__scavenger;

void    cgc__scavenger_init(cgc__scavenger *s);
/* Given that a burst of work took worked_ns, how long to sleep so the thread
 * uses about cpu_fraction of one CPU: worked * (1/f - 1), within
 * [min_sleep_ns, max_sleep_ns]. */
int64_t cgc__scavenger_sleep_ns(const cgc__scavenger *s, int64_t worked_ns);
/* Bytes to release in one burst: the excess over the target, at most
 * CGC__SCAVENGE_BURST_BYTES (so each burst, and the heap lock it holds, is
 * short). */
uint64_t cgc__scavenger_burst_bytes(uint64_t excess);
/* Bytes over the target (0 when at or under it). */
uint64_t cgc__scavenger_excess(uint64_t mapped, uint64_t target);
/* Records a burst: bytes released and the CPU time it took. */
void    cgc__scavenger_account(cgc__scavenger *s, uint64_t released, int64_t worked_ns);

#endif
