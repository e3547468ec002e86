/* test_cancel_stopped — a thread cancelled while a collection has it
 * stopped stays stopped until the world runs again.
 *
 * A registered thread waits in read(2) on a pipe: a cancellable system
 * call, during which glibc runs the thread with asynchronous cancellation.
 * A collection stops it there (the suspend handler parks it). A thread cgc
 * does not know, so never stopped, waits for the stop and calls
 * pthread_cancel on it. The cancellation must act only once the world has
 * been restarted: the thread's cleanup handler, program code, records
 * whether a stop was under way when it ran. glibc's sigfillset leaves its
 * cancellation signal out of a set, and the suspend handler's mask was
 * built with it: the signal interrupted the parked thread, which unwound
 * out of the handler, ran its cleanup handler and cgc's thread destructor
 * while the collector read its stack; or, coming just as the stop signal
 * was delivered, took that signal's frame with it, and the collection
 * waited for ever for an answer (threads.c, fill_all).
 *
 * The same with the read inside cgc_do_blocking, where a stop claims the
 * thread instead of signalling it and reads its stack above the call: a
 * cleanup handler pushed before cgc_do_blocking must not run until that
 * stop is over (it ran at once: threads.c, blocking_unwound).
 *
 * A round counts when its cancellation was sent during a stop (the live
 * heap makes a stop-the-world mark last milliseconds; a concurrent
 * cycle's stops are shorter): up to 400 rounds, until five have. */
#define _GNU_SOURCE
#define CGC_THREADS
#include "cgc.h"
#include "check.h"
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct node {
    struct node *next;
    uintptr_t pad[7];
} node;

static node *_Atomic live;   /* a global: a root */
static int pipefd[2];
static _Atomic pid_t reader_tid;
static _Atomic int cleanup_ran, cleanup_in_stop;

static void cleanup(void *arg)
{
    (void)arg;
    atomic_store(&cleanup_in_stop, cgc__stop_requested());
    atomic_store(&cleanup_ran, 1);
}

static void *read_forever(void *arg)
{
    (void)arg;
    char c;
    for (;;)
        (void)!read(pipefd[0], &c, 1);   /* nothing is written: cancelled here */
    return NULL;
}

static void *reader(void *blocking)
{
    CHECK(cgc_malloc(16) != NULL, "the reader allocates (registered)");
    atomic_store(&reader_tid, (pid_t)syscall(SYS_gettid));
    pthread_cleanup_push(cleanup, NULL);
    if (blocking)
        cgc_do_blocking(read_forever, NULL);
    else
        read_forever(NULL);
    pthread_cleanup_pop(0);
    return NULL;
}

/* Whether thread tid is blocked in read(2), from /proc. */
static bool in_read(pid_t tid)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    return atol(buf) == SYS_read && buf[0] != '-';
}

static pthread_t target;
static _Atomic int armed, collected, sent_in_stop;

/* Not registered (the real pthread_create, no allocation): not stopped.
 * A stop it did not see (it was not running then) leaves the round
 * without a cancellation during the stop; it cancels all the same. */
static void *canceller(void *arg)
{
    (void)arg;
    while (!atomic_load(&armed))
        sched_yield();
    while (!cgc__stop_requested() && !atomic_load(&collected))
        cgc__cpu_relax();
    pthread_cancel(target);
    atomic_store(&sent_in_stop, cgc__stop_requested());
    return NULL;
}

/* Rounds until five had their cancellation sent during a stop. */
static int rounds(bool blocking)
{
    const char *how = blocking ? "in cgc_do_blocking" : "signalled";
    int good = 0;
    for (int round = 0; round < 400 && good < 5; round++) {
        CHECK(pipe2(pipefd, O_CLOEXEC) == 0, "pipe");
        atomic_store(&reader_tid, 0);
        atomic_store(&cleanup_ran, 0);
        atomic_store(&cleanup_in_stop, 0);
        atomic_store(&armed, 0);
        atomic_store(&sent_in_stop, 0);
        atomic_store(&collected, 0);
        CHECK(pthread_create(&target, NULL, reader, (void *)blocking) == 0, "reader");
        pthread_t c;
#undef pthread_create
        CHECK(pthread_create(&c, NULL, canceller, NULL) == 0, "canceller");
#define pthread_create cgc_pthread_create
        while (!atomic_load(&reader_tid) || !in_read(atomic_load(&reader_tid)))
            sched_yield();
        atomic_store(&armed, 1);
        cgc_collect();
        atomic_store(&collected, 1);
        pthread_join(c, NULL);
        void *r;
        pthread_join(target, &r);
        CHECK(r == PTHREAD_CANCELED, "%s, round %d: the reader was cancelled", how, round);
        CHECK(atomic_load(&cleanup_ran), "%s, round %d: its cleanup handler ran", how, round);
        CHECK(!atomic_load(&cleanup_in_stop),
              "%s, round %d: the cancelled thread ran its cleanup handler while the world was stopped",
              how, round);
        good += atomic_load(&sent_in_stop);
        close(pipefd[0]);
        close(pipefd[1]);
    }
    CHECK(good >= 1, "%s: no round of 400 had its cancellation sent during a stop", how);
    return good;
}

int main(void)
{
    alarm(120);
    int made = 0;
    for (node *n; made < 150000 && (n = cgc_malloc(sizeof *n)) != NULL; made++) {
        n->next = atomic_load(&live);
        atomic_store(&live, n);
    }
    CHECK(made == 150000, "the live list allocated (%d nodes)", made);
    int sig = rounds(false), blk = rounds(true);
    size_t n = 0;
    for (node *p = atomic_load(&live); p; p = p->next)
        n++;
    CHECK(n == 150000, "the live list is whole (%zu nodes)", n);
    printf("%d + %d cancellations sent during a stop (signalled, in cgc_do_blocking)\n", sig, blk);
    return check_done();
}
