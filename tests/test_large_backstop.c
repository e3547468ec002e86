/* test_large_backstop — during a concurrent mark, a large allocation that
 * would take the heap past the backstop waits for the mark before it
 * takes its pages (collect.c, cgc__before_large), rather than after.
 *
 * Every allocation is checked against the backstop once made; a thread
 * past it waits for the cycle's end. For a small object the overshoot is
 * nothing, for a large one it is its size, and during a concurrent mark
 * nothing is reclaimed: the demo service, growing its output buffers to
 * 2 MiB by doubling under a soft limit equal to its cgroup's, was
 * OOM-killed in its first concurrent cycle.
 *
 * The memory limit sets the goal (GC percent off). A tree of 2^18 nodes is
 * live; the program then allocates 4 MiB objects of garbage. The test hook
 * on the collector's thread holds the cycle after its first stop until the
 * allocating thread waits at the backstop (at most 20 s), and records the
 * heap and the backstop at that moment:
 *   - the thread must wait (the hook is released by the wait, not by its
 *     timeout);
 *   - it waits with the heap below the backstop: no large object was
 *     allocated past it (without the check before the allocation, the
 *     thread waited with its last 4 MiB already past the backstop);
 *   - and the heap is within one object of the backstop: the wait was for
 *     this allocation, not an earlier one;
 *   - the tree is intact after the cycle and two more.
 * In stop-the-world mode no cycle has a concurrent phase: the test says
 * so and checks the tree only. */
#include "cgc.h"
#include "check.h"
#include "held.h"
#include "idtree.h"
#include "internal.h"

#include <stdatomic.h>
#include <time.h>

#define DEPTH 18
#define BIG ((size_t)4 << 20)
#define MIB ((uint64_t)1 << 20)

static _Atomic int armed, released, timed_out;
static _Atomic uint64_t waits0, live_at_wait, throttle_at_wait;

/* On the collector's thread (not registered), world running, after the
 * first stop: the cycle cannot end while this waits. */
static void hold_cycle(void)
{
    if (cgc__self || !atomic_exchange(&armed, 0))
        return;
    int64_t t0 = idtree_now_ns();
    while (atomic_load(&cgc__gc.backstop_waits) == atomic_load(&waits0)) {
        if (idtree_now_ns() - t0 > 20 * (int64_t)1000000000) {
            atomic_store(&timed_out, 1);
            break;
        }
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    /* The allocating thread is inside its wait: the heap stands still. */
    atomic_store(&live_at_wait, atomic_load(&cgc__gc.heap_live));
    atomic_store(&throttle_at_wait, __atomic_load_n(&cgc__gc.throttle, __ATOMIC_RELAXED));
    atomic_store(&released, 1);
}

int main(void)
{
    cgc_set_gc_percent(-1);
    cgc_set_memory_limit((int64_t)(96 * MIB));
    uint64_t id = 0;
    idtree *tree = idtree_build(DEPTH, &id);
    cgc_collect();
    cgc_collect();
    long bad = 0;
    idtree_verify(tree, DEPTH, 0, &bad);
    CHECK(bad == 0, "%ld tree nodes corrupt before the test", bad);

    uint64_t conc0 = atomic_load(&cgc__gc.concurrent_cycles);
    atomic_store(&waits0, atomic_load(&cgc__gc.backstop_waits));
    atomic_store(&cgc__mark_test_hook_start, hold_cycle);
    atomic_store(&armed, 1);
    held_loop h;
    held_loop_start(&h);
    volatile char *sink;
    for (long i = 0; i < 100000; i++) {
        sink = cgc_malloc_atomic(BIG);
        CHECK(sink != NULL, "a 4 MiB allocation failed");
        if (!sink)
            break;
        sink[0] = 1;
        if (held_loop_done(&h, atomic_load(&released)))
            break;
    }
    atomic_store(&armed, 0);
    atomic_store(&cgc__mark_test_hook_start, NULL);

    if (atomic_load(&cgc__gc.concurrent_cycles) == conc0) {
        printf("no concurrent cycle (stop-the-world mode): the backstop not tested\n");
    } else {
        CHECK(atomic_load(&released), "the hook never ran in a concurrent cycle");
        CHECK(!atomic_load(&timed_out), "the allocating thread never waited at the backstop in 20 s");
        uint64_t live = atomic_load(&live_at_wait), t = atomic_load(&throttle_at_wait);
        printf("waited at the backstop with the heap at %.1f MiB, backstop %.1f MiB\n",
               (double)live / (double)MIB, (double)t / (double)MIB);
        CHECK(live < t, "a large object was allocated past the backstop: heap %llu, backstop %llu",
              (unsigned long long)live, (unsigned long long)t);
        CHECK(live + BIG >= t, "the wait came early: heap %llu + %zu below the backstop %llu",
              (unsigned long long)live, BIG, (unsigned long long)t);
    }
    cgc_collect();
    cgc_collect();
    bad = 0;
    idtree_verify(tree, DEPTH, 0, &bad);
    CHECK(bad == 0, "%ld tree nodes corrupt after the held cycle", bad);
    return check_done();
}
