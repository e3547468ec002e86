/* scavenger.h — the policy for returning free pages to the OS (SPEC §4):
 * how much memory to retain, and how long the background scavenger sleeps to
 * stay within ~1% of one CPU. Pure functions and state; the thread that acts
 * on them and the page release itself live with the page heap. */
#ifndef CGC_SCAVENGER_H
#define CGC_SCAVENGER_H

#include <stdint.h>

/* Bytes of mapped memory (sys - heap_released) to keep at most:
 * min(110% of the heap goal + non-heap memory, 95% of the limit). */
uint64_t cgc__scavenge_retain_target(uint64_t heap_goal, uint64_t nonheap, int64_t mem_limit);

typedef struct cgc__scavenger {
    double   cpu_fraction;     /* budget, 0.01 = 1% of one CPU */
    int64_t  min_sleep_ns;     /* floor on sleep between bursts */
    int64_t  max_sleep_ns;     /* ceiling (idle wake-up period) */
    uint64_t released_total;   /* bytes released by the background thread */
} cgc__scavenger;

void    cgc__scavenger_init(cgc__scavenger *s);
/* Given that a burst of work took worked_ns, how long to sleep so the thread
 * uses about cpu_fraction of one CPU. */
int64_t cgc__scavenger_sleep_ns(const cgc__scavenger *s, int64_t worked_ns);
/* Bytes to release in one burst (bounded so each burst is short). */
uint64_t cgc__scavenger_burst_bytes(uint64_t excess);

#endif
