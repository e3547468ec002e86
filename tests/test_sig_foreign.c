/* test_sig_foreign — a suspend signal cgc did not send (threads.c).
 *
 * `kill -PWR pid` from outside, while a collection has stopped the other
 * threads, can only land on the collecting thread (the stopped ones block
 * it in their handler): that thread used to park itself and the process
 * hung. A sibling process sends SIGPWR to this one as fast as it can while
 * three registered threads allocate and the main thread collects 300
 * times. The program's own SIGPWR handler, installed before cgc
 * initialised, must receive those signals; cgc must not stop on them.
 * Then the same without a handler of the program's: the signals are
 * ignored (SIGPWR's default action would end the process). */
#define _GNU_SOURCE
#define CGC_THREADS
#include "cgc.h"
#include "check.h"
#include "churn.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static _Atomic int stop, forwarded, bad;

static void program_handler(int sig, siginfo_t *info, void *uc)
{
    (void)sig, (void)uc;
    if (info->si_code == SI_USER)
        atomic_fetch_add(&forwarded, 1);
}

/* Before cgc's constructor (default priority): the program's handler is
 * the one cgc finds, as for a program that installs it early. */
__attribute__((constructor(101))) static void install_early(void)
{
    if (getenv("SIG_FOREIGN_NO_HANDLER"))
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = program_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGPWR, &sa, NULL);
}

static void *worker(void *arg)
{
    churn_until((long)(intptr_t)arg, &stop, &bad);
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    alarm(120);   /* a collector parked by a foreign signal hangs: SIGALRM fails the test */
    int with_handler = getenv("SIG_FOREIGN_NO_HANDLER") == NULL;
    pid_t me = getpid();
    pid_t sender = fork();
    CHECK(sender >= 0, "fork");
    if (sender == 0) {
        for (;;) {
            if (kill(me, SIGPWR) != 0)
                _exit(0);
            usleep(20);
        }
    }
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(i * 1000000)) == 0, "thread");
    for (int i = 0; i < 300; i++)
        cgc_collect();
    kill(sender, SIGKILL);
    waitpid(sender, NULL, 0);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK(atomic_load(&bad) == 0, "lists intact");
    if (with_handler) {
        CHECK(atomic_load(&forwarded) > 0, "the program's handler got the foreign signals (%d)",
              atomic_load(&forwarded));
        printf("sig_foreign: 300 collections under a SIGPWR storm, %d forwarded to the program\n",
               atomic_load(&forwarded));
        fflush(stdout);
        /* Again with no handler of the program's: ignored, not fatal. */
        pid_t c = fork();
        if (c == 0) {
            setenv("SIG_FOREIGN_NO_HANDLER", "1", 1);
            execv("/proc/self/exe", argv);
            _exit(99);
        }
        CHECK(check_child_ok(c, "without a handler"), "without a program handler: ignored, not fatal");
    } else {
        printf("sig_foreign: without a program handler, 300 collections and still alive\n");
    }
    return check_done();
}
