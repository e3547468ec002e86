/* fault.h — fault injection for tests: make the system calls cgc depends on
 * fail on purpose (fault.c). Used by os.c, threads.c and cgroup.c; needs
 * nothing else of the core, so the configuration fuzzer links it alone. */
#ifndef CGC_FAULT_H
#define CGC_FAULT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum cgc__fault_site {
    CGC_FAULT_MMAP = 0,     /* a new mapping (heap arena, metadata, mark stack) */
    CGC_FAULT_MADVISE,      /* releasing or populating pages */
    CGC_FAULT_THREAD,       /* starting one of cgc's own threads */
    CGC_FAULT_CGROUP,       /* opening a cgroup or /proc file */
    CGC_FAULT_UFFD,         /* the dirty-page tracker's userfaultfd and PAGEMAP_SCAN calls (dirty.c) */
    CGC_FAULT_NSITES
} cgc__fault_site;

/* True if this call at `site` must fail. One relaxed load when off. */
bool cgc__fault(cgc__fault_site site);
/* Every site fails with probability percent/100, drawn from a generator
 * seeded with seed (percent 0: off). */
void cgc__fault_set(unsigned percent, uint64_t seed);
/* "<percent>/<seed>": percent 0..100, seed a decimal uint64. 0 or -1. */
int cgc__fault_parse(const char *s, unsigned *percent, uint64_t *seed);
/* Faults injected so far at a site. */
uint64_t cgc__fault_count(cgc__fault_site site);
/* Testing: after n more successful mappings every mapping fails, until
 * called again with -1. */
void cgc__fault_mmap_after(long n);

#endif
