/* test_gctrace_stderr_lock: with gctrace on, the CPU limiter's line does
 * not deadlock a collection.
 *
 * When the limiter holds a cycle back, the thread that asked for it prints
 * "gc limiter: ..." to stderr. It used to print inside its cgc section
 * with the pacer lock held: if another registered thread held stderr's
 * stdio lock (it was writing a line of its own) and a third thread started
 * a collection, the collector stopped the writer (lock still held) and
 * waited for the printer to leave its section, and the printer waited for
 * the stopped writer's lock: the program hung. The limiter's state is set
 * directly (internal.h) so the line is printed whatever the CPU use; the
 * writer holds the lock with flockfile. */
#include "check.h"
#include "internal.h"
#include "stderr_held.h"

static void *limited(void *arg)
{
    (void)arg;
    cgc__maybe_collect();   /* held back: prints the limiter's line */
    return NULL;
}

int main(void)
{
    cgc_free(cgc_malloc(16));   /* initialised */
    cgc__cfg.gctrace = 1;
    /* The limiter full and the heap past its trigger, under its
     * proportional goal: the next automatic cycle is held back. */
    cgc__pacer_lock();
    cgc__gc.limiter.fill_ns = INT64_MAX / 4;
    cgc__gc.limiter.enabled = 1;
    cgc__gc.pacer.prop_goal = UINT64_MAX;
    cgc__gc.limited_this_cycle = 0;
    atomic_store(&cgc__gc.trigger, 0);
    cgc__pacer_unlock();

    held_start("the collection waits for the limiter's printer, which waits for stderr's lock "
               "held by a stopped thread");
    uint64_t held0 = atomic_load(&cgc__gc.gc_limiter_cycles);
    pthread_t l;
    CHECK(cgc_pthread_create(&l, NULL, limited, NULL) == 0, "limited thread");
    /* The collection starts once the cycle is held back (counted in the
     * section, just before the line): the printer is then in its section
     * or, fixed, about to print outside it. */
    int64_t deadline = held_now_ms() + 30000;
    while (atomic_load(&cgc__gc.gc_limiter_cycles) == held0 && held_now_ms() < deadline)
        held_pause_ms(1);
    CHECK(atomic_load(&cgc__gc.gc_limiter_cycles) != held0, "the cycle was not held back in 30 s");
    held_collect();
    pthread_join(l, NULL);
    held_end();
    return check_done();
}
