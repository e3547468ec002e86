/* test_cancel_alloc — an allocation is not a cancellation point (as malloc
 * is not): a thread with a cancellation pending is cancelled at its next
 * cancellation point outside cgc, never while cgc holds a lock for it.
 *
 * Two places inside an allocation read files, with open and read, which
 * are cancellation points:
 * - with a memory limit in force, an allocation that takes memory from
 *   the page heap measures the memory outside cgc's count now and then
 *   (collect.c, measure_outside), inside a cgc section and holding the
 *   measurement's lock. A thread cancelled there died holding that lock
 *   (no measurement was made again for the rest of the process) and still
 *   registered, its section never left;
 * - the first allocation of a thread cgc does not know registers it
 *   (threads.c, cgc__register_current), under thread_lock; where
 *   pthread_getattr_np cannot give the stack's bounds (the test makes it
 *   fail: cgc__stack_bounds_test_fail), they are read from
 *   /proc/self/maps. A thread cancelled there died holding thread_lock,
 *   and the next collection waited for it for ever.
 *
 * Each case: the thread gets its cancellation while it has cancellation
 * disabled, enables it, allocates, and only then reaches
 * pthread_testcancel. It must be cancelled there, not inside cgc_malloc,
 * and leave no registry entry behind; a collection must then end (a case
 * that already failed skips it: it would wait for ever). */
#define _GNU_SOURCE
#include "check.h"
#include "internal.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/syscall.h>

static sem_t ready, go;
static _Atomic int reached_testcancel, allocations;
static _Atomic pid_t worker_tid;

/* Waits, cancellation disabled, until the main thread has cancelled it. */
static void wait_for_cancel(void)
{
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    atomic_store(&worker_tid, (pid_t)syscall(SYS_gettid));
    sem_post(&ready);
    while (sem_wait(&go) != 0)
        ;
    /* The cancellation is pending now; the next cancellation point acts. */
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
}

/* Registered; allocates 1 MiB objects (each a new span from the page heap,
 * so each passes the measurement): at least 64, and for 300 ms of wall
 * time, longer than the measurement's minimum interval (10 ms). */
static void *measuring(void *arg)
{
    (void)arg;
    wait_for_cancel();
    int64_t t0 = cgc__now_ns();
    for (int i = 0; i < 64 || cgc__now_ns() - t0 < 300000000; i++) {
        if (cgc_malloc(1 << 20))
            atomic_fetch_add(&allocations, 1);
    }
    atomic_store(&reached_testcancel, 1);
    pthread_testcancel();
    return NULL;
}

/* Not registered: its first allocation registers it, with the stack's
 * bounds from /proc/self/maps. */
static void *registering(void *arg)
{
    (void)arg;
    wait_for_cancel();
    atomic_store(&cgc__stack_bounds_test_fail, 1);
    void *p = cgc_malloc(32);
    atomic_store(&cgc__stack_bounds_test_fail, 0);
    if (p)
        atomic_fetch_add(&allocations, 1);
    atomic_store(&reached_testcancel, 1);
    pthread_testcancel();
    return NULL;
}

static int entries_for(pid_t tid)
{
    int n = 0;
    pthread_mutex_lock(&cgc__thread_lock);
    for (cgc__thread *t = cgc__threads; t; t = t->next)
        n += t->tid == tid;
    pthread_mutex_unlock(&cgc__thread_lock);
    return n;
}

/* false if the thread died inside cgc (what it held may stop the rest). */
static bool run_case(const char *name, void *(*fn)(void *), bool registered)
{
    atomic_store(&reached_testcancel, 0);
    atomic_store(&allocations, 0);
    pthread_t t;
    int rc = registered ? cgc_pthread_create(&t, NULL, fn, NULL) : pthread_create(&t, NULL, fn, NULL);
    CHECK(rc == 0, "%s: thread", name);
    if (rc != 0)
        return false;
    while (sem_wait(&ready) != 0)
        ;
    CHECK(pthread_cancel(t) == 0, "%s: cancel", name);
    sem_post(&go);
    void *rv;
    pthread_join(t, &rv);
    bool ok = atomic_load(&reached_testcancel) == 1;
    CHECK(rv == PTHREAD_CANCELED, "%s: the thread was cancelled", name);
    CHECK(ok, "%s: cancelled at pthread_testcancel, not inside cgc_malloc (after %d allocations)", name,
          atomic_load(&allocations));
    CHECK(atomic_load(&allocations) > 0, "%s: it allocated", name);
    if (!ok)
        return false;   /* it may have died holding thread_lock: a collection would wait for ever */
    CHECK(entries_for(atomic_load(&worker_tid)) == 0, "%s: it unregistered as it exited", name);
    cgc_collect();
    CHECK(cgc_malloc(1 << 20) != NULL, "%s: collection and allocation after", name);
    return true;
}

int main(void)
{
    alarm(120);
    sem_init(&ready, 0, 0);
    sem_init(&go, 0, 0);
    if (run_case("registration reading /proc/self/maps", registering, false)) {
        cgc_set_memory_limit((int64_t)256 << 20);
        run_case("allocation measuring under a memory limit", measuring, true);
    }
    return check_done();
}
