/* result.h — what every C benchmark measures and how it reports it.
 *
 * One source file per benchmark is built three times: -DUSE_CGC (cgc),
 * -DUSE_BOEHM (the Boehm-Demers-Weiser collector) and neither (glibc
 * malloc/free). The allocation calls below are the only place the variants
 * differ; the benchmark decides where bench_free() goes (it is a no-op under
 * a collector, so the collector really has to find the garbage).
 *
 * Each run ends with one line that bench/run.sh parses:
 *   RESULT bench=B impl=I wall_s=W cpu_s=C maxrss_kb=K gcs=N
 *          pause_p50_ms=P pause_p99_ms=Q pause_max_ms=M
 *          gap_max_ms=G gap_p999_ms=H gaps_1ms=A gaps_10ms=B gap_every=E
 *          [fill_gap_max_ms=F fill_pause_max_ms=P] [conc_gcs=N assist_ms=S]
 * The pause_* fields are what each collector reports about itself; the
 * gap_* fields are what the program waited (see BENCH_GAP_EVERY). A
 * benchmark that calls bench_steady() (churn, after filling its table)
 * gets pause_* and gap_* for the steady state only, and the start-up's
 * worst gap and longest pause in fill_*. cgc adds conc_gcs (cycles whose
 * mark ran concurrently: CGC_DEBUG=gcconcurrent=1 and a dirty-page
 * tracker) and assist_ms (time allocation waited for a mark it outran).
 *
 * -DBOEHM_NO_INTERIOR (with -DUSE_BOEHM): the Boehm collector with
 * GC_set_all_interior_pointers(0), impl "boehm-noint". Its default (impl
 * "boehm") treats a pointer one past an object's end as pointing into it,
 * so it adds one byte to every object: a 16-byte node takes 32 bytes.
 */
#ifndef BENCH_RESULT_H
#define BENCH_RESULT_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(USE_CGC)
#include "cgc.h"
#define BENCH_IMPL "cgc"
#elif defined(USE_BOEHM) && defined(BOEHM_NO_INTERIOR)
#include <gc.h>
#define BENCH_IMPL "boehm-noint"
#elif defined(USE_BOEHM)
#include <gc.h>
#define BENCH_IMPL "boehm"
#else
#define BENCH_IMPL "malloc"
#endif

/* cgc keeps only the last 256 pauses, so the benchmark reads them every
 * BENCH_POLL_EVERY allocations. A cycle needs at least a few MiB of new
 * allocation (tens of thousands of objects), so 256 cycles can never fit
 * between two polls, and reading the stats this rarely costs nothing
 * measurable. */
#define BENCH_POLL_EVERY 4096

/* What the program waits: the monotonic clock is read every
 * BENCH_GAP_EVERY allocations, inside the benchmark's own loop, and the
 * time between two reads is one gap. A collection triggered by an
 * allocation shows up whole in the gap around it: the pause the collector
 * reports plus whatever the allocating thread does before and after the
 * stop (finishing the sweep, preparing the mark). Between collections a gap
 * is BENCH_GAP_EVERY ordinary allocations, a few microseconds. A clock read
 * costs ~19 ns here (vDSO, tsc); once per 64 allocations that is under 1%
 * of binary-trees' time per allocation (docs/benchmarks.md). The Go
 * programs do the same (bench/go/result.go). */
#ifndef BENCH_GAP_EVERY   /* -DBENCH_GAP_EVERY=N to measure the cost */
#define BENCH_GAP_EVERY 64
#endif
extern unsigned bench__allocs;

void bench_start(void);                /* initialise the collector, start the clocks */
void bench_tick(void);                 /* one gap sample; the pause poll every BENCH_POLL_EVERY */
void bench_steady(void);               /* start-up over: record the steady state from here */
void bench_finish(const char *bench);  /* print the RESULT line */

/* Allocate n bytes; `atomic`: they never hold pointers (not scanned by a
 * collector). A constant at every call site, so each wrapper below inlines
 * to one allocator call (and a memset for atomic objects).
 *
 * Zeroing, like for like: every collector's pointer-bearing allocation
 * (cgc_malloc, GC_MALLOC, Go's new/make) returns zeroed memory; for
 * pointer-free objects Go's make still zeroes while cgc_malloc_atomic,
 * GC_MALLOC_ATOMIC and malloc do not. So every C variant zeroes its atomic
 * objects here, as Go does. The malloc variant's pointer-bearing objects
 * are not zeroed: the programs write every field of them, and zeroing them
 * is a collector's requirement (a stale word would be taken for a pointer),
 * part of what a collector costs over malloc. */
static inline void *bench__alloc(size_t n, int atomic)
{
    if (++bench__allocs >= BENCH_GAP_EVERY)
        bench_tick();
#if defined(USE_CGC)
    void *p = atomic ? cgc_malloc_atomic(n) : cgc_malloc(n);
#elif defined(USE_BOEHM)
    void *p = atomic ? GC_MALLOC_ATOMIC(n) : GC_MALLOC(n);
#else
    void *p = malloc(n);
#endif
    if (!p)
        abort();
    if (atomic) {
        memset(p, 0, n);
        /* Keep the compiler from merging the zeroing into later writes. */
        __asm__ volatile("" : : "r"(p) : "memory");
    }
    return p;
}

/* Allocate n bytes that may hold pointers; the caller initialises them. */
static inline void *bench_alloc(size_t n)
{
    return bench__alloc(n, 0);
}

/* Allocate n bytes that never hold pointers (not scanned by a collector). */
static inline void *bench_alloc_atomic(size_t n)
{
    return bench__alloc(n, 1);
}

/* Release p explicitly where there is no collector; garbage otherwise. */
static inline void bench_free(void *p)
{
#if !defined(USE_CGC) && !defined(USE_BOEHM)
    free(p);
#else
    (void)p;
#endif
}

/* 1 when the variant frees memory by hand (the benchmark must then walk
 * dead structures to free them). */
#if !defined(USE_CGC) && !defined(USE_BOEHM)
#define BENCH_MANUAL 1
#else
#define BENCH_MANUAL 0
#endif

#endif /* BENCH_RESULT_H */
