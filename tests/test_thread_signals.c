/* test_thread_signals — cgc_set_thread_signals after the library has
 * initialised (threads.c). Built twice: against the static library, and
 * against the shared one (tests/threads.cmake), whose constructor
 * initialises cgc before main, where the call used to always fail.
 *
 * From main with no other thread registered the change works: SIGUSR1 and
 * SIGUSR2 get cgc's handlers, SIGPWR and SIGXCPU get back their default
 * dispositions, and collections with four threads stop them through the
 * new signals. With other threads registered it fails and changes
 * nothing; bad arguments fail. */
#define _GNU_SOURCE
#define CGC_THREADS
#include "cgc.h"
#include "check.h"
#include "churn.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

static _Atomic int stop, bad, ready;

static void *worker(void *arg)
{
    atomic_fetch_add(&ready, 1);
    churn_until((long)(intptr_t)arg, &stop, &bad);
    return NULL;
}

static int is_default(int sig)
{
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL;
}

static void run_threads(int collections)
{
    pthread_t t[4];
    atomic_store(&stop, 0);
    atomic_store(&ready, 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(i * 1000000)) == 0, "thread");
    while (atomic_load(&ready) < 4)
        sched_yield();
    /* Registered threads now: no change. */
    CHECK(cgc_set_thread_signals(SIGPWR, SIGXCPU) == -1, "refused while other threads are registered");
    for (int i = 0; i < collections; i++)
        cgc_collect();
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}

int main(void)
{
    alarm(120);
    CHECK(cgc_set_thread_signals(SIGUSR1, SIGUSR1) == -1, "equal signals refused");
    CHECK(cgc_set_thread_signals(SIGKILL, SIGUSR2) == -1, "SIGKILL refused");
    CHECK(cgc_set_thread_signals(SIGUSR1, SIGSEGV) == -1, "SIGSEGV refused");
    CHECK(cgc_set_thread_signals(SIGUSR1, 0) == -1, "0 refused");
    CHECK(!is_default(SIGPWR), "SIGPWR is cgc's at start");

    CHECK(cgc_set_thread_signals(SIGUSR1, SIGUSR2) == 0, "changed after initialisation, from main");
    CHECK(is_default(SIGPWR) && is_default(SIGXCPU), "SIGPWR and SIGXCPU got their dispositions back");
    CHECK(!is_default(SIGUSR1) && !is_default(SIGUSR2), "SIGUSR1 and SIGUSR2 are cgc's");
    run_threads(100);
    CHECK(!is_default(SIGUSR1), "still SIGUSR1 after the refused change");

    /* Swapping onto one of the current signals keeps the saved disposition. */
    CHECK(cgc_set_thread_signals(SIGUSR2, SIGRTMIN + 3) == 0, "changed again");
    CHECK(is_default(SIGUSR1) && !is_default(SIGUSR2), "SIGUSR1 given back, SIGUSR2 kept");
    run_threads(50);
    CHECK(cgc_set_thread_signals(SIGPWR, SIGXCPU) == 0, "back to the defaults");
    CHECK(is_default(SIGUSR2) && is_default(SIGRTMIN + 3), "SIGUSR2 and SIGRTMIN+3 given back");
    run_threads(50);
    CHECK(atomic_load(&bad) == 0, "lists intact");
    printf("thread_signals: changed three times after initialisation, 200 collections\n");
    return check_done();
}
