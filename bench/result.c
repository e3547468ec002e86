/* result.c — clocks, peak RSS, the pause record and the gap record behind
 * the RESULT line (see result.h). */
#include "result.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

unsigned bench__allocs;

static struct timespec t_start;
static uint64_t *pauses;      /* every pause seen, ns */
static size_t npauses;

/* The gap record: every gap is counted in a histogram of quarter-octave
 * buckets (each bucket 1.19-1.25x wider than the one below it), so a
 * percentile costs nothing to keep and is exact to within a bucket; the
 * largest gap and the counts above 1 and 10 ms are exact. */
#define GAP_BUCKETS 256
static uint64_t gap_hist[GAP_BUCKETS];
static uint64_t gap_count, gap_max, gaps_1ms, gaps_10ms;
static uint64_t last_tick_ns;
static unsigned ticks_to_poll;

/* What happened before bench_steady(), the start-up (churn's fill of its
 * table, while the live heap grows to its size): the worst gap and the
 * longest pause, kept apart from the steady state's record. */
static int steady;
static uint64_t fill_gap_max, fill_pause_max;

#if defined(USE_CGC) || defined(USE_BOEHM)
static size_t cap_pauses;

/* Append one pause (ns) to the record. */
static void add_pause(uint64_t ns)
{
    if (npauses == cap_pauses) {
        cap_pauses = cap_pauses ? 2 * cap_pauses : 1024;
        pauses = realloc(pauses, cap_pauses * sizeof *pauses);
        if (!pauses)
            abort();
    }
    pauses[npauses++] = ns;
}
#endif

/* Monotonic time in ns. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bucket of a gap of ns: values 0..7 have their own bucket; above, the
 * octave (highest set bit) times 4 plus the next two bits. */
static unsigned gap_bucket(uint64_t ns)
{
    if (ns < 8)
        return (unsigned)ns;
    unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
    return (msb << 2) | (unsigned)((ns >> (msb - 2)) & 3);
}

/* The largest gap (ns) that falls in bucket b: the bucket's upper bound. */
static uint64_t gap_bucket_top(unsigned b)
{
    if (b < 8)
        return b;
    unsigned msb = b >> 2, sub = b & 3;
    return ((uint64_t)(5 + sub) << (msb - 2)) - 1;
}

static void bench_poll(void);

#if defined(USE_CGC)
static uint32_t seen_gc;      /* cycles whose pause is already recorded */
static uint64_t lost_gc;      /* cycles that fell out of the ring unseen */
static uint32_t gc0;          /* cycles before the benchmark started */
static uint64_t conc_gc0;     /* concurrent cycles before it started */
static double assist_ms0;     /* mark assist time before it started */

/* cgc's count of cycles that marked concurrently and its mark assist time
 * so far (ms), from one snapshot of its metrics. */
static void read_conc(uint64_t *conc_gcs, double *assist_ms)
{
    cgc_metric_sample m[2] = {{.name = "/gc/cycles/concurrent:gc-cycles"},
                              {.name = "/gc/mark/assist:seconds"}};
    cgc_metrics_read(m, 2);
    *conc_gcs = m[0].kind == CGC_METRIC_UINT64 ? m[0].value.u64 : 0;
    *assist_ms = m[1].kind == CGC_METRIC_FLOAT64 ? m[1].value.f64 * 1e3 : 0.0;
}
#elif defined(USE_BOEHM)
static uint64_t stop_ns;
/* Boehm tells us when it stops and restarts the world: the pause is the
 * time between the two (marking and, by default, sweeping happen inside). */
static void on_gc_event(GC_EventType e)
{
    if (e == GC_EVENT_PRE_STOP_WORLD)
        stop_ns = now_ns();
    else if (e == GC_EVENT_POST_START_WORLD && stop_ns) {
        add_pause(now_ns() - stop_ns);
        stop_ns = 0;
    }
}
#endif

/* Initialise the collector under test and start the wall clock. */
void bench_start(void)
{
#if defined(USE_BOEHM)
#if defined(BOEHM_NO_INTERIOR)
    /* Only pointers to an object's first byte keep it alive: no extra
     * byte per object. Must precede GC_INIT. */
    GC_set_all_interior_pointers(0);
#endif
    GC_INIT();
    /* libgc 8.2 starts its parallel markers only when the client creates
     * its first thread (gc.h, GC_parallel), so a single-threaded benchmark
     * would mark on one core while cgc and Go use every core. Start them,
     * as gc.h suggests for single-threaded clients; GC_MARKERS=1 in the
     * environment still gives the one-marker collector. */
    GC_start_mark_threads();
    GC_set_on_collection_event(on_gc_event);
#elif defined(USE_CGC)
    cgc_memstats ms;
    cgc_read_memstats(&ms);   /* also initialises the library */
    seen_gc = gc0 = ms.num_gc;
    read_conc(&conc_gc0, &assist_ms0);
#endif
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    last_tick_ns = (uint64_t)t_start.tv_sec * 1000000000u + (uint64_t)t_start.tv_nsec;
}

/* Called every BENCH_GAP_EVERY allocations: record the gap since the last
 * call; every BENCH_POLL_EVERY allocations, poll the pause record too. */
void bench_tick(void)
{
    bench__allocs = 0;
    uint64_t now = now_ns(), gap = now - last_tick_ns;
    last_tick_ns = now;
    gap_hist[gap_bucket(gap)]++;
    gap_count++;
    if (gap > gap_max)
        gap_max = gap;
    gaps_1ms += gap > 1000000u;
    gaps_10ms += gap > 10000000u;
    if (++ticks_to_poll >= BENCH_POLL_EVERY / BENCH_GAP_EVERY) {
        ticks_to_poll = 0;
        bench_poll();
    }
}

/* The steady state begins: everything recorded so far (gaps, pauses) was
 * the start-up; keep its worst gap and longest pause apart, and start the
 * record again, so that the RESULT line's gap and pause fields describe
 * the loop at the benchmark's live heap, not the heap's growth to it. */
void bench_steady(void)
{
    bench_poll();
    uint64_t now = now_ns(), gap = now - last_tick_ns;
    fill_gap_max = gap > gap_max ? gap : gap_max;
    for (size_t k = 0; k < npauses; k++)
        if (pauses[k] > fill_pause_max)
            fill_pause_max = pauses[k];
    npauses = 0;
    memset(gap_hist, 0, sizeof gap_hist);
    gap_count = gap_max = gaps_1ms = gaps_10ms = 0;
    last_tick_ns = now;
    bench__allocs = 0;
    steady = 1;
}

/* The gap (ms) with at least q of all gaps at or below it, to within a
 * bucket (the bucket's upper bound, capped by the largest gap). */
static double gap_pct_ms(double q)
{
    if (gap_count == 0)
        return 0.0;
    uint64_t rank = (uint64_t)(q * (double)gap_count + 0.999999), seen = 0;
    if (rank < 1)
        rank = 1;
    for (unsigned b = 0; b < GAP_BUCKETS; b++) {
        seen += gap_hist[b];
        if (seen >= rank) {
            uint64_t top = gap_bucket_top(b);
            return (double)(top < gap_max ? top : gap_max) / 1e6;
        }
    }
    return (double)gap_max / 1e6;
}

/* cgc: copy the pauses of the cycles completed since the last poll out of
 * the 256-entry ring. Cycle k (1-based) is stored at pause_ns[(k-1) % 256],
 * so the most recent, k = num_gc, is at (num_gc + 255) % 256 as cgc.h says. */
static void bench_poll(void)
{
#if defined(USE_CGC)
    static cgc_memstats ms;
    cgc_read_memstats(&ms);
    uint32_t n = ms.num_gc;
    if (n - seen_gc > 256) {
        lost_gc += n - seen_gc - 256;
        seen_gc = n - 256;
    }
    for (uint32_t k = seen_gc; k < n; k++)
        add_pause(ms.pause_ns[k % 256]);
    seen_gc = n;
#endif
}

/* qsort comparator for uint64_t. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted pauses, in ms: the smallest pause
 * with at least q of all pauses at or below it, i.e. index ceil(q*n) - 1. */
static double pct_ms(double q)
{
    if (npauses == 0)
        return 0.0;
    size_t rank = (size_t)(q * (double)npauses + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > npauses)
        rank = npauses;
    return (double)pauses[rank - 1] / 1e6;
}

/* Stop the clocks and print the RESULT line. */
void bench_finish(const char *bench)
{
    struct timespec t_end;
    clock_gettime(CLOCK_MONOTONIC, &t_end);
    double wall = (double)(t_end.tv_sec - t_start.tv_sec) +
                  (double)(t_end.tv_nsec - t_start.tv_nsec) / 1e9;
    uint64_t gcs = 0;
#if defined(USE_CGC)
    /* Which cycles marked concurrently (CGC_DEBUG=gcconcurrent=1 asks for
     * it; without a dirty-page tracker cgc stops the world instead) and
     * how long allocation waited for a mark it outran. A cycle is counted
     * concurrent at its final stop and done a little later (after its
     * disarm and the sweeper's wake-up): one in between when these are
     * read is in the first count and not in the second, whichever is
     * read first (one run of 16 reported 868 concurrent cycles of 867).
     * It is left out of both: the cycles reported are the ones done. */
    uint64_t conc_gcs = 0;
    double assist_ms = 0.0;
    read_conc(&conc_gcs, &assist_ms);
    conc_gcs -= conc_gc0;
    assist_ms -= assist_ms0;
    bench_poll();
    gcs = seen_gc - gc0;
    if (conc_gcs > gcs)
        conc_gcs = gcs;
    if (lost_gc)
        fprintf(stderr, "warning: %llu pauses fell out of cgc's ring unseen\n",
                (unsigned long long)lost_gc);
#elif defined(USE_BOEHM)
    gcs = GC_get_gc_no();
#endif
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (npauses && pauses)   /* (pauses stays NULL under malloc) */
        qsort(pauses, npauses, sizeof *pauses, cmp_u64);
    printf("RESULT bench=%s impl=%s wall_s=%.3f cpu_s=%.3f maxrss_kb=%ld gcs=%llu "
           "pause_p50_ms=%.3f pause_p99_ms=%.3f pause_max_ms=%.3f "
           "gap_max_ms=%.3f gap_p999_ms=%.3f gaps_1ms=%llu gaps_10ms=%llu gap_every=%d",
           bench, BENCH_IMPL, wall, cpu, ru.ru_maxrss, (unsigned long long)gcs,
           pct_ms(0.50), pct_ms(0.99), npauses ? (double)pauses[npauses - 1] / 1e6 : 0.0,
           (double)gap_max / 1e6, gap_pct_ms(0.999), (unsigned long long)gaps_1ms,
           (unsigned long long)gaps_10ms, BENCH_GAP_EVERY);
    if (steady)
        printf(" fill_gap_max_ms=%.3f fill_pause_max_ms=%.3f", (double)fill_gap_max / 1e6,
               (double)fill_pause_max / 1e6);
#if defined(USE_CGC)
    printf(" conc_gcs=%llu assist_ms=%.3f", (unsigned long long)conc_gcs, assist_ms);
#endif
    printf("\n");
    fflush(stdout);
}
