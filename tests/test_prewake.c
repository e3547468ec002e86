/* test_prewake — the helper markers are woken ahead of a cycle (mark.c,
 * cgc__mark_prewake), and waking them costs a bounded amount of CPU: a
 * program that allocates to just short of the trigger and then goes idle
 * must not keep a helper spinning. Checks: allocating past the pre-wake
 * point makes a helper spin (its spin time is reported); over the 300 ms
 * that follow, with the program idle, the process uses less than 60 ms of
 * CPU (the spin stops after 5 ms); the spin is counted as collection CPU at
 * the next cycle (it is not lost from gc_cpu_fraction's numerator). */
#include "check.h"
#include "internal.h"

#include <time.h>

static int64_t process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    /* Two markers whatever the machine has: the configuration is read in
     * the library's constructor, so the test runs itself again with it. */
    if (argc > 0 && !check_rerun_with("CGC_MARKERS", "2", argv))
        return 1;
    CHECK(cgc__mark_nmarkers() == 2, "two markers (%d)", cgc__mark_nmarkers());
    /* A live structure, then a collection: the helpers exist from now on
     * and the trigger is set from what was marked. */
    enum { N = 20000 };
    void **keep = cgc_malloc(N * sizeof *keep);
    for (int i = 0; i < N; i++)
        keep[i] = cgc_malloc(64);
    cgc_collect();
    uint64_t trigger = atomic_load(&cgc__gc.trigger), prewake = atomic_load(&cgc__gc.prewake);
    CHECK(prewake < trigger, "the pre-wake point %llu is before the trigger %llu",
          (unsigned long long)prewake, (unsigned long long)trigger);
    int64_t spun0 = atomic_load(&cgc__mark_spin_ns);
    uint32_t gcs0 = atomic_load(&cgc__gc.num_gc);
    /* Garbage up to halfway between the pre-wake point and the trigger. */
    uint64_t target = prewake + (trigger - prewake) / 2;
    while (atomic_load(&cgc__gc.heap_live) < target)
        (void)cgc_malloc(256);
    CHECK(atomic_load(&cgc__gc.num_gc) == gcs0, "no cycle yet (%u)", atomic_load(&cgc__gc.num_gc) - gcs0);
    /* Idle: a spinning helper would show here. */
    int64_t c0 = process_cpu_ns();
    usleep(300000);
    int64_t used = process_cpu_ns() - c0;
    int64_t spun = atomic_load(&cgc__mark_spin_ns) - spun0;
    CHECK(spun > 0, "a helper was woken and waited for the cycle (%lld ns)", (long long)spun);
    CHECK(used < 60000000, "idle process used %lld ms of CPU in 300 ms", (long long)(used / 1000000));
    /* The next cycle reports the spin as collection work. */
    cgc_collect();
    CHECK(atomic_load(&cgc__mark_spin_ns) == 0, "the spin was folded into the cycle's accounting");
    keep[0] = NULL;   /* keep stays reachable until here */
    return check_done();
}
