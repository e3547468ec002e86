/* suspend.c — GC_suspend_thread / GC_resume_thread / GC_is_thread_suspended:
 * a suspended thread makes no progress, collections run meanwhile and keep
 * what only its stack holds, it goes on once resumed; a thread that is
 * mostly inside the collector (allocating) is caught too. Built against
 * cgc's headers and Debian's, on cgc's library, and on Debian's libgc
 * itself (tests/compat_world.cmake). */
#define GC_THREADS 1
#include <gc.h>
#include <gc/javaxfc.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "../check.h"

#define CHAIN 1000

static atomic_long progress;
static atomic_int stop_worker, chain_ok = 1;

static void nap_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

struct node {
    struct node *next;
    long value;
};

/* Holds a chain only on its stack (and registers), allocating all the
 * time, and checks the chain after every round. */
static void *worker(void *arg)
{
    (void)arg;
    struct node *head = NULL;
    for (long i = 0; i < CHAIN; i++) {
        struct node *n = GC_MALLOC(sizeof *n);
        n->next = head;
        n->value = i;
        head = n;
    }
    while (!atomic_load(&stop_worker)) {
        for (int k = 0; k < 100; k++)
            (void)GC_MALLOC(64);   /* garbage: mostly inside the collector */
        long expect = CHAIN - 1, count = 0;
        for (struct node *n = head; n; n = n->next, expect--, count++)
            if (n->value != expect)
                atomic_store(&chain_ok, 0);
        if (count != CHAIN)
            atomic_store(&chain_ok, 0);
        atomic_fetch_add(&progress, 1);
    }
    return NULL;
}

static void wait_progress(long from)
{
    for (int i = 0; i < 30000 && atomic_load(&progress) == from; i++)   /* 30 s at most */
        nap_ms(1);
}

int main(void)
{
    GC_INIT();
    pthread_t th;
    CHECK(pthread_create(&th, NULL, worker, NULL) == 0, "pthread_create");
    wait_progress(0);
    CHECK(!GC_is_thread_suspended((GC_SUSPEND_THREAD_ID)th), "not suspended at first");

    for (int round = 0; round < 20; round++) {
        GC_suspend_thread((GC_SUSPEND_THREAD_ID)th);
        int susp = GC_is_thread_suspended((GC_SUSPEND_THREAD_ID)th);
        long before = atomic_load(&progress);
        GC_gcollect();   /* its stack holds the chain */
        GC_gcollect();
        for (int i = 0; i < 20; i++)
            (void)GC_MALLOC(1024);
        if (round == 0)
            nap_ms(50);
        long during = atomic_load(&progress);
        GC_resume_thread((GC_SUSPEND_THREAD_ID)th);
        if (round == 0 || !susp || during != before) {
            CHECK(susp, "round %d: GC_is_thread_suspended says so", round);
            CHECK(during == before, "round %d: no progress while suspended (%ld -> %ld)", round, before, during);
        }
        wait_progress(during);
        CHECK(atomic_load(&progress) > during, "round %d: progress once resumed", round);
        CHECK(!GC_is_thread_suspended((GC_SUSPEND_THREAD_ID)th), "round %d: not suspended after resume", round);
    }
    atomic_store(&stop_worker, 1);
    pthread_join(th, NULL);
    CHECK(atomic_load(&chain_ok), "the chain only its stack held survived the collections");
    return check_done();
}
