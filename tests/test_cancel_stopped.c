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

static void *reader(void *arg)
{
    (void)arg;
    CHECK(cgc_malloc(16) != NULL, "the reader allocates (registered)");
    atomic_store(&reader_tid, (pid_t)syscall(SYS_gettid));
    char c;
    pthread_cleanup_push(cleanup, NULL);
    for (;;)
        (void)!read(pipefd[0], &c, 1);   /* nothing is written: cancelled here */
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

int main(void)
{
    alarm(120);
    for (int i = 0; i < 150000; i++) {
        node *n = cgc_malloc(sizeof *n);
        CHECK(n != NULL, "allocation");
        n->next = atomic_load(&live);
        atomic_store(&live, n);
    }
    int good = 0;
    for (int round = 0; round < 400 && good < 5; round++) {
        CHECK(pipe2(pipefd, O_CLOEXEC) == 0, "pipe");
        atomic_store(&reader_tid, 0);
        atomic_store(&cleanup_ran, 0);
        atomic_store(&cleanup_in_stop, 0);
        atomic_store(&armed, 0);
        atomic_store(&sent_in_stop, 0);
        atomic_store(&collected, 0);
        CHECK(pthread_create(&target, NULL, reader, NULL) == 0, "reader");
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
        CHECK(r == PTHREAD_CANCELED, "round %d: the reader was cancelled", round);
        CHECK(atomic_load(&cleanup_ran), "round %d: its cleanup handler ran", round);
        CHECK(!atomic_load(&cleanup_in_stop),
              "round %d: the cancelled thread ran its cleanup handler while the world was stopped", round);
        good += atomic_load(&sent_in_stop);
        close(pipefd[0]);
        close(pipefd[1]);
    }
    CHECK(good >= 1, "no round of 400 had its cancellation sent during a stop");
    size_t n = 0;
    for (node *p = atomic_load(&live); p; p = p->next)
        n++;
    CHECK(n == 150000, "the live list is whole (%zu nodes)", n);
    printf("ok: %d cancellations sent during a stop, none acted before the restart\n", good);
    return 0;
}
