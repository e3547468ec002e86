/* test_do_blocking — cgc_do_blocking (threads.c).
 *
 * A registered thread sleeps 300 ms in nanosleep through cgc_do_blocking,
 * five times, while the main thread collects without pause. The collector
 * does not signal it, so nanosleep never fails with EINTR; its list, held
 * only in the frame that called cgc_do_blocking, survives; and collections
 * do happen while it sleeps (they do not wait for it). */
#define CGC_THREADS
#include "cgc.h"
#include "check.h"
#include "churn.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static _Atomic int stop, eintr, bad, in_sleep;
static _Atomic unsigned gcs_while_blocked;

static unsigned num_gc(void)
{
    cgc_memstats m;
    cgc_read_memstats(&m);
    return m.num_gc;
}

static void *sleep_300ms(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 300 * 1000000};
    atomic_store(&in_sleep, 1);
    int rc = nanosleep(&ts, NULL);
    atomic_store(&in_sleep, 0);
    return (void *)(intptr_t)(rc != 0 && errno == EINTR);
}

static void *sleeper(void *arg)
{
    (void)arg;
    cell *h = churn_build(0, 5000);
    for (int k = 0; k < 5; k++) {
        unsigned g0 = num_gc();
        if (cgc_do_blocking(sleep_300ms, NULL))
            atomic_fetch_add(&eintr, 1);
        atomic_fetch_add(&gcs_while_blocked, num_gc() - g0);
        if (!churn_intact(h, 0, 5000))
            atomic_fetch_add(&bad, 1);
    }
    atomic_store(&stop, 1);
    return NULL;
}

int main(void)
{
    alarm(120);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0, "sleeper");
    while (!atomic_load(&stop)) {
        for (int i = 0; i < 100; i++)
            (void)cgc_malloc(64);
        cgc_collect();
    }
    pthread_join(t, NULL);
    CHECK(atomic_load(&eintr) == 0, "nanosleep in cgc_do_blocking never failed with EINTR (%d of 5)",
          atomic_load(&eintr));
    CHECK(atomic_load(&bad) == 0, "the list held by the caller's frame survived");
    CHECK(atomic_load(&gcs_while_blocked) > 0, "collections ran while the thread slept (%u)",
          atomic_load(&gcs_while_blocked));
    printf("do_blocking: 5 x 300 ms asleep, %u collections meanwhile, no EINTR\n",
           atomic_load(&gcs_while_blocked));
    return check_done();
}
