/* test_thread_exit — registered threads leaving in the ways programs make
 * them leave (threads.c), while the main thread collects.
 *
 * - A thread whose own thread-specific destructor allocates after cgc's
 *   destructor unregistered it, on every destructor round, so it ends up
 *   exiting registered (joinable and detached). Its registry entry used to
 *   be signalled with pthread_kill after the thread was gone (undefined for
 *   a detached thread; a hang or a crash); now tgkill says ESRCH and the
 *   entry is dropped.
 * - pthread_cancel of a thread sleeping in cgc_do_blocking, and of one
 *   allocating with cancellation points in its loop.
 * - Registering twice, unregistering twice, allocating after unregistering.
 * - A thread that registers and unregisters in a loop while it receives a
 *   stream of signals whose handler allocates (while it registers and
 *   unregisters: see allocating_handler). */
#define _GNU_SOURCE
#define CGC_THREADS
#include "cgc.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

static pthread_key_t key;
static _Atomic int bad, stop;

static void destructor(void *v)
{
    /* Keeps itself set, so glibc calls it again on each round (up to
     * PTHREAD_DESTRUCTOR_ITERATIONS): the last allocation registers the
     * thread again after cgc's own destructor has run for the last time. */
    uintptr_t n = (uintptr_t)v;
    void *p = cgc_malloc(64);
    if (!p)
        atomic_fetch_add(&bad, 1);
    if (n < 16)
        pthread_setspecific(key, (void *)(n + 1));
}

static void *exits_registered(void *arg)
{
    (void)arg;
    pthread_setspecific(key, (void *)1);
    for (int i = 0; i < 1000; i++)
        (void)cgc_malloc(32);
    return NULL;
}

static void *sleep_long(void *arg)
{
    (void)arg;
    struct timespec ts = {100, 0};
    nanosleep(&ts, NULL);   /* a cancellation point */
    return NULL;
}

static void *blocking_sleeper(void *arg)
{
    long *keep = cgc_malloc(sizeof *keep);
    *keep = 99;
    atomic_store((_Atomic int *)arg, 1);
    cgc_do_blocking(sleep_long, NULL);
    return keep;
}

static void *allocating(void *arg)
{
    atomic_store((_Atomic int *)arg, 1);
    for (;;) {
        for (int i = 0; i < 100; i++)
            (void)cgc_malloc(48);
        pthread_testcancel();
    }
    return NULL;
}

/* The handler allocates only where the thread says it may: while it
 * registers and unregisters, which is what is tested (cgc holds the
 * program's signals back while it changes the registry). Not while the
 * thread is inside cgc_malloc, nor before register_loop runs or after it
 * returns: cgc's functions are not async-signal-safe (reference.md), and
 * neither is what the thread start of AddressSanitizer's runtime does (a
 * handler that allocated there registered the thread, and
 * pthread_getattr_np waited for the lock the interrupted call of its own
 * held: a hang, thread_lock held, 1 run in ~100 under ASan). */
static _Atomic int handled, skipped;
static __thread volatile sig_atomic_t may_allocate;

static void allocating_handler(int sig)
{
    (void)sig;
    if (!may_allocate) {
        atomic_fetch_add(&skipped, 1);
        return;
    }
    if (cgc_malloc(32) == NULL)
        atomic_fetch_add(&bad, 1);
    atomic_fetch_add(&handled, 1);
}

#undef pthread_create
static void *register_loop(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        may_allocate = 1;
        if (cgc_register_thread() != 0 || cgc_register_thread() != 0)
            atomic_fetch_add(&bad, 1);
        may_allocate = 0;
        (void)cgc_malloc(100);
        may_allocate = 1;
        /* (A handler's allocation may register the thread again at once:
         * no second unregistration is checked here.) */
        if (cgc_unregister_thread() != 0)
            atomic_fetch_add(&bad, 1);
        may_allocate = 0;
    }
    return NULL;
}

static void *twice(void *arg)
{
    (void)arg;
    int ok = cgc_register_thread() == 0 && cgc_register_thread() == 0 && cgc_malloc(10) &&
             cgc_unregister_thread() == 0 && cgc_unregister_thread() == -1 &&
             cgc_malloc(10) /* registers it again */ && cgc_unregister_thread() == 0;
    return ok ? NULL : (void *)1;
}
#define pthread_create cgc_pthread_create

static void *collector(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        cgc_collect();
    return NULL;
}

int main(void)
{
    alarm(120);
    CHECK(pthread_key_create(&key, destructor) == 0, "key");
    pthread_t c;
    CHECK(pthread_create(&c, NULL, collector, NULL) == 0, "collector");

    /* Threads that exit registered, joinable and detached. */
    for (int round = 0; round < 20; round++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        if (round % 2)
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        CHECK(pthread_create(&t, &attr, exits_registered, NULL) == 0, "thread");
        if (round % 2 == 0)
            pthread_join(t, NULL);
        pthread_attr_destroy(&attr);
    }
    for (int i = 0; i < 20; i++)
        cgc_collect();

    /* Cancelled in cgc_do_blocking, and while allocating. */
    for (int round = 0; round < 10; round++) {
        _Atomic int started = 0;
        pthread_t t;
        CHECK(pthread_create(&t, NULL, blocking_sleeper, (void *)&started) == 0, "sleeper");
        while (!atomic_load(&started))
            sched_yield();
        cgc_collect();
        pthread_cancel(t);
        void *r;
        pthread_join(t, &r);
        CHECK(r == PTHREAD_CANCELED, "cancelled in cgc_do_blocking (%p)", r);
        atomic_store(&started, 0);
        CHECK(pthread_create(&t, NULL, allocating, (void *)&started) == 0, "allocating");
        while (!atomic_load(&started))
            sched_yield();
        cgc_collect();
        pthread_cancel(t);
        pthread_join(t, &r);
        CHECK(r == PTHREAD_CANCELED, "cancelled while allocating");
    }

    /* Registering and unregistering under a stream of signals whose
     * handler allocates. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = allocating_handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t r;
#undef pthread_create
    CHECK(pthread_create(&r, NULL, register_loop, NULL) == 0, "register loop");
#define pthread_create cgc_pthread_create
    for (int i = 0; i < 2000 && pthread_kill(r, SIGUSR1) == 0; i++)
        sched_yield();
    pthread_join(r, NULL);
    void *tw;
#undef pthread_create
    CHECK(pthread_create(&r, NULL, twice, NULL) == 0 && pthread_join(r, &tw) == 0 && tw == NULL,
          "registering twice: 0; unregistering twice: 0 then -1; allocating registers again");
#define pthread_create cgc_pthread_create

    atomic_store(&stop, 1);
    pthread_join(c, NULL);
    for (int i = 0; i < 10; i++)
        cgc_collect();
    CHECK(atomic_load(&bad) == 0, "every registration, unregistration and allocation succeeded (%d bad)",
          atomic_load(&bad));
    printf("thread_exit: 20 threads exited registered, 20 cancelled, 2000 registrations under signals "
           "(%d handled with an allocation, %d without)\n",
           atomic_load(&handled), atomic_load(&skipped));
    return check_done();
}
