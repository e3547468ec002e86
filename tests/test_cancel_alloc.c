/* test_cancel_alloc — an allocation is not a cancellation point.
 *
 * With a memory limit in force, an allocation that takes memory from the
 * page heap measures the memory outside cgc's count now and then
 * (collect.c, measure_outside): it reads /proc and cgroup files, with open
 * and read, which are cancellation points, inside a cgc section and
 * holding the measurement's lock. A thread with a cancellation pending
 * was cancelled there: it died holding that lock (no measurement was made
 * again for the rest of the process) and still registered, its section
 * never left.
 *
 * The thread here gets its cancellation while it has cancellation
 * disabled, then allocates 1 MiB objects (each a new span from the page
 * heap, so each passes the measurement) for 300 ms of wall time, longer
 * than the measurement's minimum interval (10 ms), and only then reaches
 * pthread_testcancel. It must be cancelled there, not inside cgc_malloc,
 * and leave no registry entry behind. */
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

static void *worker(void *arg)
{
    (void)arg;
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    atomic_store(&worker_tid, (pid_t)syscall(SYS_gettid));
    sem_post(&ready);
    while (sem_wait(&go) != 0)
        ;
    /* The cancellation is pending now; the next cancellation point acts. */
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
    int64_t t0 = cgc__now_ns();
    while (cgc__now_ns() - t0 < 300000000) {
        if (cgc_malloc(1 << 20))
            atomic_fetch_add(&allocations, 1);
    }
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

int main(void)
{
    alarm(120);
    cgc_set_memory_limit((int64_t)256 << 20);
    sem_init(&ready, 0, 0);
    sem_init(&go, 0, 0);
    pthread_t t;
    CHECK(cgc_pthread_create(&t, NULL, worker, NULL) == 0, "thread");
    while (sem_wait(&ready) != 0)
        ;
    CHECK(pthread_cancel(t) == 0, "cancel");
    sem_post(&go);
    void *rv;
    pthread_join(t, &rv);
    CHECK(rv == PTHREAD_CANCELED, "the thread was cancelled");
    CHECK(atomic_load(&reached_testcancel) == 1,
          "cancelled at pthread_testcancel, not inside cgc_malloc (after %d allocations)",
          atomic_load(&allocations));
    CHECK(atomic_load(&allocations) > 0, "it allocated");
    CHECK(entries_for(atomic_load(&worker_tid)) == 0, "it unregistered as it exited");
    /* The heap still works: the collector and the next thread. */
    cgc_collect();
    CHECK(cgc_malloc(1 << 20) != NULL, "allocation after");
    return check_done();
}
