/* test_limit_rss.c — resident memory against a soft limit set in-process
 * with cgc_set_memory_limit (SPEC §4), no cgroups needed.
 *
 *   test_limit_rss steady   live heap 75% of a 128 MiB limit, 768 MiB of churn:
 *                           the memory the limit counts (sys - heap_released,
 *                           sampled every 4 MiB allocated) and the peak resident
 *                           memory above the start-up baseline (VmHWM, the
 *                           kernel's own high-water mark) stay at or under the
 *                           limit + TOLERANCE; and resident memory is within
 *                           TOLERANCE of what the limit counts (the accounting
 *                           is honest).
 *   test_limit_rss spike    live heap 16 MiB under a 128 MiB limit; a transient
 *                           96 MiB set is allocated (the total stays under the
 *                           limit + TOLERANCE), then dropped; while the program
 *                           keeps churning its 16 MiB, the heap memory retained
 *                           (heap_sys - heap_released) must fall back to the
 *                           scavenger's target, min(95% of the limit, 110% of
 *                           the heap goal) + TOLERANCE, and resident memory to
 *                           that target + cgc's metadata (sys - heap_sys) +
 *                           TOLERANCE, within SPIKE_DEADLINE_S, and the heap goal must come back
 *                           to the proportional goal of the live heap (under
 *                           GOAL_MAX = 2.5 x 16 MiB).
 *
 * SPIKE_DEADLINE_S is 8 s: release is paced by the background scavenger's
 * small CPU budget (as Go's is, at 1% of a CPU), which measured 3-4 s for
 * the ~80 MiB here on a loaded 2-CPU machine.
 *
 * TOLERANCE is 5% of the limit: the quantum of page release (a span is
 * released whole), metadata growth between samples, and the resident pages
 * the limit does not count that appear after the baseline (marker thread
 * stacks, libc's buffers). */
#include "check.h"
#include "limit/limit_workload.h"

#include <unistd.h>

#define LIMIT (128 * MIB)
#define TOLERANCE (LIMIT / 20)
#define SPIKE_DEADLINE_S 8.0
#define GOAL_MAX (40 * MIB)

/* Resident memory above what the process had before the workload. */
static uint64_t baseline;
static uint64_t rss_above_baseline(void)
{
    uint64_t r = proc_status_bytes("VmRSS");
    return r > baseline ? r - baseline : 0;
}
static uint64_t hwm_above_baseline(void)
{
    uint64_t r = proc_status_bytes("VmHWM");
    return r > baseline ? r - baseline : 0;
}

/* Starts cgc, measures the baseline resident memory and resets VmHWM. */
static void start(void)
{
    cgc_collect();   /* initialises the collector and its threads */
    baseline = proc_status_bytes("VmRSS");
    CHECK(baseline > 0, "VmRSS readable from /proc/self/status");
    CHECK(reset_hwm() == 0, "VmHWM reset through /proc/self/clear_refs");
}

/* steady: see the header. */
static void steady(void)
{
    start();
    cgc_set_memory_limit((int64_t)LIMIT);
    heap h;
    heap_init(&h, LIMIT * 3 / 4, 1, 0);
    uint64_t counted_max = 0, rss_max = 0;
    while (h.allocated < 768 * MIB) {
        heap_churn(&h, 4 * MIB);
        uint64_t c = counted_bytes(), r = rss_above_baseline();
        if (c > counted_max)
            counted_max = c;
        if (r > rss_max)
            rss_max = r;
    }
    uint64_t hwm = hwm_above_baseline();
    cgc_memstats m;
    cgc_read_memstats(&m);
    printf("steady: limit %.0f MiB, live %.1f MiB, %u collections; counted max %.1f MiB, "
           "RSS max %.1f MiB, VmHWM %.1f MiB above a %.1f MiB baseline; now counted %.1f, RSS %.1f MiB\n",
           mib(LIMIT), mib(h.live), m.num_gc, mib(counted_max), mib(rss_max), mib(hwm), mib(baseline),
           mib(m.sys - m.heap_released), mib(rss_above_baseline()));
    CHECK(heap_verify_all(&h) == 0, "%d blobs corrupted", h.corrupt);
    CHECK(m.mem_limit == (int64_t)LIMIT, "memstats mem_limit %lld", (long long)m.mem_limit);
    CHECK(m.num_gc > 0, "collections ran");
    CHECK(counted_max <= LIMIT + TOLERANCE, "sys - heap_released peaked at %.1f MiB > limit %.0f + %.1f MiB",
          mib(counted_max), mib(LIMIT), mib(TOLERANCE));
    CHECK(hwm <= LIMIT + TOLERANCE, "peak RSS (VmHWM) %.1f MiB above baseline > limit %.0f + %.1f MiB",
          mib(hwm), mib(LIMIT), mib(TOLERANCE));
    /* Honest accounting: what is resident (above the baseline) is what
     * the limit counts, give or take the tolerance, in both directions. */
    int64_t diff = (int64_t)rss_above_baseline() - (int64_t)(m.sys - m.heap_released);
    CHECK(diff <= (int64_t)TOLERANCE && -diff <= (int64_t)TOLERANCE,
          "RSS above baseline %.1f MiB differs from sys - heap_released %.1f MiB by more than %.1f MiB",
          mib(rss_above_baseline()), mib(m.sys - m.heap_released), mib(TOLERANCE));
}

/* Allocates the spike: `bytes` of 64 KiB blobs held by a table it returns
 * hidden, so nothing on the stack keeps the spike alive after the drop. */
static uintptr_t __attribute__((noinline)) make_spike(uintptr_t bytes)
{
    size_t n = bytes / (64 * 1024);
    void **t = cgc_malloc(n * sizeof(void *));
    for (size_t i = 0; i < n; i++) {
        t[i] = cgc_malloc_atomic(64 * 1024);
        memset(t[i], 0x5a, 64 * 1024);   /* make it resident */
    }
    return hide(t);
}

/* spike: see the header. */
static void spike(void)
{
    start();
    cgc_set_memory_limit((int64_t)LIMIT);
    heap h;
    heap_init(&h, 16 * MIB, 2, 0);
    heap_fill(&h);
    heap_churn(&h, 64 * MIB);
    uintptr_t held = deep_call(make_spike, 96 * MIB);
    uint64_t during = rss_above_baseline(), counted_during = counted_bytes();
    CHECK(counted_during <= LIMIT + TOLERANCE, "during the spike sys - heap_released %.1f MiB > limit + tolerance",
          mib(counted_during));
    CHECK(during >= 96 * MIB, "the spike is resident: %.1f MiB", mib(during));
    held = 0;   /* drop it */
    clear_stack();

    /* Recovered: the goal is back to the proportional goal of the live
     * heap (16 MiB + the slot table, doubled; GOAL_MAX leaves 25% for
     * floating garbage), and resident memory is at the scavenger's target
     * for that goal. A goal still inflated by the spike does not count. */
    double t0 = now_s(), t = 0, t_goal = -1;
    uint64_t rss = 0, target = 0, retained = 0, meta = 0;
    cgc_memstats m;
    for (;;) {
        heap_churn(&h, 1 * MIB);
        cgc_read_memstats(&m);
        double goal_target = 1.10 * (double)m.next_gc;
        target = (uint64_t)(goal_target < 0.95 * (double)LIMIT ? goal_target : 0.95 * (double)LIMIT);
        retained = m.heap_sys - m.heap_released;
        meta = m.sys - m.heap_sys;
        rss = rss_above_baseline();
        t = now_s() - t0;
        if (t_goal < 0 && m.next_gc <= GOAL_MAX)
            t_goal = t;
        if ((m.next_gc <= GOAL_MAX && retained <= target + TOLERANCE && rss <= target + meta + TOLERANCE) ||
            t > SPIKE_DEADLINE_S)
            break;
        /* Leave the background scavenger a moment of a CPU between polls. */
        usleep(2000);
    }
    printf("spike: %.1f MiB resident during the spike (counted %.1f); goal back after %.2f s; %.2f s after the drop: "
           "RSS %.1f MiB, heap retained %.1f MiB + metadata %.1f MiB, goal %.1f MiB, target %.1f MiB "
           "(+%.1f tolerance), %u collections\n",
           mib(during), mib(counted_during), t_goal, t, mib(rss), mib(retained), mib(meta), mib(m.next_gc),
           mib(target), mib(TOLERANCE), m.num_gc);
    CHECK(retained <= target + TOLERANCE, "heap retained %.1f MiB still above target %.1f + %.1f MiB after %.1f s",
          mib(retained), mib(target), mib(TOLERANCE), SPIKE_DEADLINE_S);
    CHECK(rss <= target + meta + TOLERANCE,
          "RSS %.1f MiB still above target %.1f + metadata %.1f + %.1f MiB after %.1f s",
          mib(rss), mib(target), mib(meta), mib(TOLERANCE), SPIKE_DEADLINE_S);
    CHECK(m.next_gc <= GOAL_MAX, "heap goal %.1f MiB did not come back under %.0f MiB within %.1f s",
          mib(m.next_gc), mib(GOAL_MAX), SPIKE_DEADLINE_S);
    CHECK(heap_verify_all(&h) == 0, "%d blobs corrupted", h.corrupt);
    (void)held;
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "steady") != 0 && strcmp(argv[1], "spike") != 0)) {
        fprintf(stderr, "usage: test_limit_rss steady|spike\n");
        return 2;
    }
    if (strcmp(argv[1], "steady") == 0)
        steady();
    else
        spike();
    return check_done();
}
