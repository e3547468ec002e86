/* test_assist — mark assists (src/assist.c, docs/pacing.md "Concurrent
 * mark"): during a concurrent mark, the thread that allocates marks in
 * proportion to what it allocates, so the mark keeps up with the heap even
 * when the collector's markers get no CPU.
 *
 * A tree of 2^18 objects is live. A cycle is started by allocation, and
 * the test hook that runs on the collector's thread after the first stop
 * holds the collector (and so every background marker) until the mark's
 * scan work has covered three quarters of the tree, at most 20 s. Only the
 * allocating thread can do that work, through its assists:
 *   - the hook must be released by the scan work, not by its timeout;
 *   - /gc/mark/assist:seconds grows;
 *   - the tree is intact after that cycle and two more (every id and
 *     magic word checked): what the assists took from the shared work and
 *     gave back was all marked.
 * Without assists the allocating thread only waits at the backstop, the
 * hook times out, and the first check fails.
 * In stop-the-world mode (no tracker, or CGC_DEBUG=gcstoptheworld=1) no
 * cycle has a concurrent phase: the test says so and checks the tree only.
 * Part 0 (part_growth, below): no wait for a cycle before its mark.
 */
#include "cgc.h"
#include "check.h"
#include "held.h"
#include "idtree.h"
#include "internal.h"

#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#define DEPTH 18
static idtree *tree;
static _Atomic int armed, released, timed_out;
static _Atomic uint64_t scan_at_release;
static uint64_t target;

/* On the collector's thread (not registered), world running, after the
 * first stop: no background marker runs while this waits. */
static void hold_markers(void)
{
    if (cgc__self || !atomic_exchange(&armed, 0))
        return;
    int64_t t0 = idtree_now_ns();
    while (atomic_load(&cgc__mark_scan_work) < target) {
        if (idtree_now_ns() - t0 > 20 * (int64_t)1000000000) {
            atomic_store(&timed_out, 1);
            break;
        }
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&scan_at_release, atomic_load(&cgc__mark_scan_work));
    atomic_store(&released, 1);
}

static double assist_seconds(void)
{
    cgc_metric_sample m = {.name = "/gc/mark/assist:seconds"};
    cgc_metrics_read(&m, 1);
    return m.value.f64;
}

/* Part 0: a heap that grows. The first thing a concurrent cycle does is
 * set the backstop from its goal; until the collector's thread did, the
 * last cycle's backstop was in force, below the heap whenever the heap
 * grew, and every cycle of the growth made the allocating thread wait for
 * its whole length before its mark had even started. */
typedef struct cell {
    struct cell *next;
    uint64_t pad[3];
} cell;
static cell *list;

static void part_growth(void)
{
    uint64_t w0 = atomic_load(&cgc__gc.backstop_waits_premark);
    uint64_t c0 = atomic_load(&cgc__gc.num_gc);
    for (long i = 0; i < (48L << 20) / (long)sizeof(cell); i++) {
        cell *c = cgc_malloc(sizeof *c);
        if (!c) {
            fprintf(stderr, "no memory\n");
            exit(1);
        }
        c->next = list;
        list = c;
    }
    uint64_t waits = atomic_load(&cgc__gc.backstop_waits_premark) - w0;
    uint64_t cycles = atomic_load(&cgc__gc.num_gc) - c0;
    printf("growth to 48 MiB: %llu cycles, %llu waits at the backstop before a mark\n",
           (unsigned long long)cycles, (unsigned long long)waits);
    /* With the backstop left at the last cycle's, every cycle of a growing
     * heap began with such a wait (5 of 5, 3 runs of 3). On a loaded
     * machine the collector thread can be late to start a mark now and
     * then (1-2 waits, 6 runs of 15 with two copies running; 2 of 4
     * cycles once beside two CPU hogs): at most half the cycles is what
     * the fix guarantees, not none. */
    CHECK(waits <= 1 || waits * 2 <= cycles, "%llu of %llu cycles began with an allocation waiting for the "
          "whole cycle before its mark started", (unsigned long long)waits, (unsigned long long)cycles);
    list = NULL;
    cgc_collect();
}

int main(void)
{
    part_growth();
    uint64_t id = 0;
    tree = idtree_build(DEPTH, &id);
    uint64_t tree_bytes = id * sizeof(idtree);
    target = tree_bytes / 4 * 3;
    cgc_collect();
    cgc_collect();
    long bad = 0;
    idtree_verify(tree, DEPTH, 0, &bad);
    CHECK(bad == 0, "%ld tree nodes corrupt before the test", bad);

    double a0 = assist_seconds();
    uint64_t conc0 = atomic_load(&cgc__gc.concurrent_cycles);
    atomic_store(&cgc__mark_test_hook_start, hold_markers);
    atomic_store(&armed, 1);
    /* Allocate garbage until the held cycle has ended (or, in
     * stop-the-world mode, a few cycles went by). */
    held_loop h;
    held_loop_start(&h);
    volatile void *sink;
    for (long i = 0; i < 400000000L; i++) {
        sink = cgc_malloc(64);
        if ((i & 1023) == 0 && held_loop_done(&h, atomic_load(&released)))
            break;
    }
    (void)sink;
    atomic_store(&armed, 0);
    atomic_store(&cgc__mark_test_hook_start, NULL);

    if (atomic_load(&cgc__gc.concurrent_cycles) == conc0) {
        printf("no concurrent cycle (stop-the-world mode): assists not tested\n");
    } else {
        CHECK(atomic_load(&released), "the hook never ran in a concurrent cycle");
        CHECK(!atomic_load(&timed_out),
              "the markers were held and the allocating thread did not mark: %llu of %llu bytes scanned in 20 s",
              (unsigned long long)atomic_load(&scan_at_release), (unsigned long long)target);
        double a1 = assist_seconds();
        CHECK(a1 > a0, "/gc/mark/assist:seconds did not grow (%.6f -> %.6f)", a0, a1);
        printf("assists: %llu bytes scanned while the markers were held (tree %llu bytes), "
               "assist time %.3f ms\n",
               (unsigned long long)atomic_load(&scan_at_release), (unsigned long long)tree_bytes,
               (a1 - a0) * 1e3);
    }
    cgc_collect();
    cgc_collect();
    bad = 0;
    idtree_verify(tree, DEPTH, 0, &bad);
    CHECK(bad == 0, "%ld tree nodes corrupt after the assisted cycle", bad);
    return check_done();
}
