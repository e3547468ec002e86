/* result.c — clocks, peak RSS and the pause record behind the RESULT line
 * (see result.h). */
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

#if defined(USE_BOEHM)
/* Monotonic time in ns. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

#if defined(USE_CGC)
static uint32_t seen_gc;      /* cycles whose pause is already recorded */
static uint64_t lost_gc;      /* cycles that fell out of the ring unseen */
static uint32_t gc0;          /* cycles before the benchmark started */
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
#endif
    clock_gettime(CLOCK_MONOTONIC, &t_start);
}

/* cgc: copy the pauses of the cycles completed since the last poll out of
 * the 256-entry ring. Cycle k (1-based) is stored at pause_ns[(k-1) % 256],
 * so the most recent, k = num_gc, is at (num_gc + 255) % 256 as cgc.h says. */
void bench_poll(void)
{
#if defined(USE_CGC)
    static cgc_memstats ms;
    bench__allocs = 0;
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
    bench_poll();
    gcs = seen_gc - gc0;
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
    if (npauses)
        qsort(pauses, npauses, sizeof *pauses, cmp_u64);
    printf("RESULT bench=%s impl=%s wall_s=%.3f cpu_s=%.3f maxrss_kb=%ld gcs=%llu "
           "pause_p50_ms=%.3f pause_p99_ms=%.3f pause_max_ms=%.3f\n",
           bench, BENCH_IMPL, wall, cpu, ru.ru_maxrss, (unsigned long long)gcs,
           pct_ms(0.50), pct_ms(0.99), npauses ? (double)pauses[npauses - 1] / 1e6 : 0.0);
    fflush(stdout);
}
