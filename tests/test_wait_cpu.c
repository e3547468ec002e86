/* test_wait_cpu — threads waiting for a concurrent mark they outran are
 * not counted as more collection CPU than the machine has (src/waits.c).
 *
 * NTHREADS threads allocate garbage beside a live tree. The test hook that
 * runs on the collector's thread after a cycle's first stop holds the
 * collector until every thread has waited at the backstop (at most 10 s),
 * and then for HOLD_NS more, for HELD cycles in a row. cgc used to charge
 * each waiting thread's wall time as collection CPU: six threads waiting
 * 300 ms beside an idle collector counted 1.8 CPU-seconds in 0.3 s of a
 * two-CPU machine, and the collector's share (gc_cpu_fraction, gctrace's
 * percentage, /gc/cpu) read well over 100%.
 *   Checked: the threads did wait (the path was taken), no object of the
 * tree was lost, and gc_cpu_fraction is at most 1. Stop-the-world mode
 * has no backstop wait: the test says so and checks the tree only.
 */
#include "cgc.h"
#include "check.h"
#include "idtree.h"
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define NTHREADS 6
#define HELD 3
#define HOLD_NS 300000000LL
#define DEPTH 16

static idtree *tree;
static _Atomic int holds_left, stop;
static _Atomic uint64_t waits_at_hold;
static _Atomic long held_with_all_waiting;

/* On the collector's thread, world running, after the first stop. */
static void hold(void)
{
    if (cgc__self || atomic_load(&holds_left) <= 0)
        return;
    atomic_fetch_sub(&holds_left, 1);
    uint64_t w0 = atomic_load(&waits_at_hold);
    int64_t t0 = idtree_now_ns();
    /* Until every thread has come to the backstop in this cycle. */
    while (atomic_load(&cgc__gc.backstop_waits) - w0 < NTHREADS && idtree_now_ns() - t0 < 10000000000LL) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&cgc__gc.backstop_waits) - w0 >= NTHREADS)
        atomic_fetch_add(&held_with_all_waiting, 1);
    int64_t t1 = idtree_now_ns();
    while (idtree_now_ns() - t1 < HOLD_NS) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&waits_at_hold, atomic_load(&cgc__gc.backstop_waits));
}

static void *churn(void *arg)
{
    (void)arg;
    volatile void *sink;
    for (long i = 0; i < 200000000L && !atomic_load(&stop); i++)
        sink = cgc_malloc(64);
    (void)sink;
    return NULL;
}

int main(void)
{
    uint64_t id = 0;
    tree = idtree_build(DEPTH, &id);
    cgc_collect();
    /* Small cycles: the backstop is near. */
    cgc_set_gc_percent(25);
    atomic_store(&waits_at_hold, atomic_load(&cgc__gc.backstop_waits));
    atomic_store(&holds_left, HELD);
    atomic_store(&cgc__mark_test_hook_start, hold);
    uint64_t conc0 = atomic_load(&cgc__gc.concurrent_cycles);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&th[i], NULL, churn, NULL) == 0, "pthread_create");
    /* Until the held cycles are over (or, in stop-the-world mode, a few
     * cycles went by), then a cycle more. */
    uint32_t n0 = atomic_load(&cgc__gc.num_gc);
    int64_t t0 = idtree_now_ns();
    for (;;) {
        uint32_t n = atomic_load(&cgc__gc.num_gc);
        if (atomic_load(&holds_left) == 0 && n >= n0 + HELD + 1)
            break;
        if (!cgc__concurrent_mode() && n >= n0 + HELD + 1)
            break;
        if (idtree_now_ns() - t0 > 60000000000LL)
            break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&cgc__mark_test_hook_start, NULL);

    cgc_memstats ms;
    cgc_read_memstats(&ms);
    long bad = 0;
    idtree_verify(tree, DEPTH, 0, &bad);
    CHECK(bad == 0, "%ld tree nodes lost or corrupt", bad);
    if (atomic_load(&cgc__gc.concurrent_cycles) == conc0) {
        printf("no concurrent cycle (stop-the-world mode): waits not tested\n");
        return check_done();
    }
    long full = atomic_load(&held_with_all_waiting);
    printf("%d cycles held, %ld with all %d threads waiting at the backstop; gc_cpu_fraction %.3f\n", HELD,
           full, NTHREADS, ms.gc_cpu_fraction);
    CHECK(atomic_load(&holds_left) == 0, "the hook did not hold %d cycles", HELD);
    CHECK(full >= 1, "no held cycle had every thread waiting at the backstop");
    CHECK(ms.gc_cpu_fraction <= 1.0, "collection counted %.0f%% of the CPU the machine has",
          ms.gc_cpu_fraction * 100);
    return check_done();
}
