/* test_sigwait_block — the "block every signal in main, sigwait in one
 * thread" pattern (sigmask.c, threads.c).
 *
 * main blocks all signals before it creates threads, so every thread
 * inherits the full mask; one thread takes SIGUSR1/SIGTERM with sigwait on
 * a full set, another polls with sigtimedwait. A registered thread that
 * blocked the suspend signal used to hang every collection, and a sigwait
 * on a full set could take the collector's signals. Here 200 collections
 * must finish while workers allocate, the waiting threads must get the
 * program's signals (and never cgc's), and sigtimedwait must not fail with
 * EINTR because of a collection. SIGALRM (the watchdog) is taken by the
 * sigwait thread, which then fails the test. */
#define _GNU_SOURCE
#define CGC_THREADS
#include "cgc.h"
#include "check.h"
#include "churn.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static _Atomic int stop, bad, usr1, foreign_taken, eintr, usr2;

static void *worker(void *arg)
{
    churn_until((long)(intptr_t)arg, &stop, &bad);
    return NULL;
}

static void *waiter(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        int sig = 0;
        if (sigwait(&all, &sig) != 0)
            continue;
        if (sig == SIGALRM) {
            fprintf(stderr, "FAIL: watchdog: collections hung\n");
            _exit(1);
        }
        if (sig == SIGUSR1)
            atomic_fetch_add(&usr1, 1);
        else if (sig == SIGTERM)
            return NULL;
        else if (sig == SIGPWR || sig == SIGXCPU)
            atomic_fetch_add(&foreign_taken, 1);
    }
}

static void *poller(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    sigaddset(&s, SIGPWR);
    sigaddset(&s, SIGXCPU);
    cell *mine = cgc_malloc(sizeof *mine);
    mine->v = 4242;
    while (!atomic_load(&stop)) {
        struct timespec ts = {0, 20 * 1000000};
        siginfo_t info;
        int rc = sigtimedwait(&s, &info, &ts);
        if (rc < 0 && errno == EINTR)
            atomic_fetch_add(&eintr, 1);
        else if (rc == SIGUSR2)
            atomic_fetch_add(&usr2, 1);
        else if (rc == SIGPWR || rc == SIGXCPU)
            atomic_fetch_add(&foreign_taken, 1);
    }
    if (mine->v != 4242)
        atomic_fetch_add(&bad, 1);
    return NULL;
}

int main(void)
{
    sigset_t all;
    sigfillset(&all);
    CHECK(pthread_sigmask(SIG_BLOCK, &all, NULL) == 0, "block all");
    pthread_t w[3], sw, pl;
    CHECK(pthread_create(&sw, NULL, waiter, NULL) == 0, "waiter");
    CHECK(pthread_create(&pl, NULL, poller, NULL) == 0, "poller");
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&w[i], NULL, worker, (void *)(intptr_t)(i * 1000000)) == 0, "worker");
    alarm(120);
    for (int i = 0; i < 200; i++) {
        cgc_collect();
        if (i % 20 == 0) {
            /* One of each pending at a time: a second sent before the
             * first was taken merges with it (standard signals do not
             * queue), which counted 9 of 10 now and then. Each is waited
             * for, up to 10 s (collections go on in the workers). */
            int u1 = atomic_load(&usr1), u2 = atomic_load(&usr2);
            kill(getpid(), SIGUSR1);
            pthread_kill(pl, SIGUSR2);
            for (int k = 0; k < 10000 && (atomic_load(&usr1) == u1 || atomic_load(&usr2) == u2); k++)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
    }
    alarm(0);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(w[i], NULL);
    pthread_join(pl, NULL);
    kill(getpid(), SIGTERM);
    pthread_join(sw, NULL);
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    CHECK(sigismember(&now, SIGINT) && !sigismember(&now, SIGPWR) && !sigismember(&now, SIGXCPU),
          "the program's signals stay blocked, cgc's do not");
    CHECK(atomic_load(&bad) == 0, "lists intact");
    CHECK(atomic_load(&usr1) == 10, "sigwait got the program's SIGUSR1 (%d of 10)", atomic_load(&usr1));
    CHECK(atomic_load(&usr2) == 10, "sigtimedwait got SIGUSR2 (%d of 10)", atomic_load(&usr2));
    CHECK(atomic_load(&foreign_taken) == 0, "sigwait never took cgc's signals (%d)", atomic_load(&foreign_taken));
    CHECK(atomic_load(&eintr) == 0, "sigtimedwait never failed with EINTR (%d)", atomic_load(&eintr));
    printf("sigwait_block: 200 collections with every signal blocked in main, sigwait in a thread\n");
    return check_done();
}
