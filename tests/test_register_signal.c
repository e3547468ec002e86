/* test_register_signal — a thread registering while a signal handler of
 * the program registers it too (threads.c, cgc__register_current).
 *
 * A thread cgc does not know registers on its first allocation or on
 * cgc_register_thread. If a handler that allocates runs on that thread
 * after cgc has looked at cgc__self and before it blocks the program's
 * signals, the handler registers the thread; the interrupted registration
 * used to add a second entry for the same thread. Every stop then signalled
 * the thread twice, it parked once, and the collection waited for the
 * second answer for ever (test_thread_exit, whose handler allocates while
 * its thread registers in a loop, hung this way).
 *
 * The window is a few instructions wide, so a test hook
 * (cgc__register_test_hook) raises the signal exactly there. The thread
 * must be in the registry once, a collection must end while it is
 * registered, and once it has unregistered it must be there no more. A
 * collection that waits for ever is ended by the alarm. */
#define _GNU_SOURCE
#include "check.h"
#include "internal.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

static _Atomic int raised, handled;
static sem_t registered, collected;
static _Atomic int entries_registered = -1, entries_after = -1;

static void allocating_handler(int sig)
{
    (void)sig;
    (void)cgc_malloc(32);   /* registers the thread */
    atomic_fetch_add(&handled, 1);
}

/* Between cgc__register_current's first look at cgc__self and its mask,
 * once (the handler's own registration passes here too). */
static void raise_in_window(void)
{
    if (!atomic_exchange(&raised, 1))
        raise(SIGUSR1);
}

/* Entries of the registry for thread tid. */
static int entries_for(pid_t tid)
{
    int n = 0;
    pthread_mutex_lock(&cgc__thread_lock);
    for (cgc__thread *t = cgc__threads; t; t = t->next)
        n += t->tid == tid;
    pthread_mutex_unlock(&cgc__thread_lock);
    return n;
}

static void *registering(void *arg)
{
    (void)arg;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    atomic_store(&cgc__register_test_hook, raise_in_window);
    int rc = cgc_register_thread();
    atomic_store(&cgc__register_test_hook, NULL);
    atomic_store(&entries_registered, entries_for(tid));
    sem_post(&registered);
    /* Registered while the main thread collects: it must answer the stop
     * (sem_wait is interrupted by the signal and resumed). */
    while (sem_wait(&collected) != 0)
        ;
    if (rc != 0 || cgc_unregister_thread() != 0)
        return (void *)1;
    atomic_store(&entries_after, entries_for(tid));
    return NULL;
}

int main(void)
{
    alarm(120);
    cgc_collect();   /* initialised, with the main thread registered */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = allocating_handler;
    sigaction(SIGUSR1, &sa, NULL);
    sem_init(&registered, 0, 0);
    sem_init(&collected, 0, 0);

    pthread_t t;
    CHECK(pthread_create(&t, NULL, registering, NULL) == 0, "thread");
    while (sem_wait(&registered) != 0)
        ;
    CHECK(atomic_load(&raised) == 1 && atomic_load(&handled) == 1,
          "the handler ran inside the registration (raised %d, handled %d)", atomic_load(&raised),
          atomic_load(&handled));
    int n = atomic_load(&entries_registered);
    CHECK(n == 1, "the thread is in the registry once, not %d times", n);
    /* With two entries the stop waits for ever (only the alarm would end
     * it): not tried then, the failure is already counted. */
    if (n == 1) {
        cgc_collect();
        CHECK(1, "a collection ended while the thread was registered");
    }
    sem_post(&collected);
    void *rv;
    pthread_join(t, &rv);
    CHECK(rv == NULL, "registered and unregistered");
    CHECK(atomic_load(&entries_after) == 0, "no entry left once it unregistered (%d)",
          atomic_load(&entries_after));
    return check_done();
}
