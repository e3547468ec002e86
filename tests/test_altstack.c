/* test_altstack — a thread that runs on an alternate signal stack while
 * collections happen (threads.c, cgc__record_stack).
 *
 * The worker sets up sigaltstack and a SA_ONSTACK handler for SIGUSR1, then
 * raise()s it: the handler allocates, and holds one list only in its own
 * frames (on the alternate stack), while another list is held only by the
 * worker's frame below raise() on its own stack. The handler keeps
 * allocating until the main thread has collected 100 times, and collects
 * itself now and then (the collector's own stack on an alternate stack).
 * The stop used to take the alternate stack's address as the low end of
 * the thread's own stack and scan [there, top of the thread stack):
 * terabytes. Both lists must survive, the collections must finish, and
 * the thread's own stack must have been scanned from where the handler
 * interrupted it (found in the kernel's signal frame), not as a whole. */
#define _GNU_SOURCE
#define CGC_THREADS
#include "cgc.h"
#include "check.h"
#include "churn.h"
#include "internal.h"   /* the thread's recorded stack ranges */

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

static _Atomic int in_handler, done_collecting;
static _Atomic int quiet_asked, quiet;   /* the worker's own collections: stopped */
static _Atomic int bad_alt, bad_normal;
static _Atomic uintptr_t normal_list;   /* hidden: not a root */

static cgc__thread *_Atomic worker_thread;
static char *alt_base;
static size_t alt_size;

static void __attribute__((noinline)) on_alt(int sig)
{
    (void)sig;
    cell *mine = churn_build(500000, 3000);   /* only in this handler's frames */
    atomic_store(&worker_thread, cgc__self);
    atomic_store(&in_handler, 1);
    for (unsigned n = 0; !atomic_load(&done_collecting); n++) {
        for (int i = 0; i < 200; i++)
            (void)cgc_malloc(48);   /* garbage; stops come in the middle of these */
        if (n % 64 == 0 && !atomic_load(&quiet_asked))
            cgc_collect();   /* this thread collecting, on its alternate stack */
        if (atomic_load(&quiet_asked))
            atomic_store(&quiet, 1);   /* none of its own collections is under way, or will be */
        if (!churn_intact(unhide(atomic_load(&normal_list)), 100000, 3000))
            atomic_fetch_add(&bad_normal, 1);
    }
    if (!churn_intact(mine, 500000, 3000))
        atomic_fetch_add(&bad_alt, 1);
}

static void *worker(void *arg)
{
    (void)arg;
    size_t sz = 256 * 1024;
    void *alt = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    alt_base = alt;
    alt_size = sz;
    stack_t ss = {.ss_sp = alt, .ss_size = sz, .ss_flags = 0};
    if (alt == MAP_FAILED || sigaltstack(&ss, NULL) != 0) {
        atomic_fetch_add(&bad_alt, 1000);
        atomic_store(&in_handler, 1);
        return NULL;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alt;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    cell *l = churn_build(100000, 3000);   /* only in this frame, below raise() */
    atomic_store(&normal_list, hide(l));
    raise(SIGUSR1);
    if (!churn_intact(l, 100000, 3000))
        atomic_fetch_add(&bad_normal, 1);
    atomic_store(&normal_list, 0);
    return NULL;
}

int main(void)
{
    alarm(120);   /* a collection that scans terabytes never ends */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "worker");
    while (!atomic_load(&in_handler))
        sched_yield();
    cgc_memstats m0, m1;
    cgc_read_memstats(&m0);
    for (int i = 0; i < 100; i++)
        cgc_collect();
    /* The ranges the last of these stops recorded for the worker: its own
     * collections, which record them again, stopped first. */
    atomic_store(&quiet_asked, 1);
    while (!atomic_load(&quiet))
        sched_yield();
    cgc_collect();
    cgc_read_memstats(&m1);
    cgc__thread *w = atomic_load(&worker_thread);
    uintptr_t own = w ? w->stack_hi - w->stack_lo : 0;
    int alt_in = w && w->alt_lo >= (uintptr_t)alt_base && w->alt_hi == (uintptr_t)alt_base + alt_size;
#if defined(__x86_64__) || defined(__aarch64__)
    CHECK(own > 0 && own < 256 * 1024, "own stack scanned from the interrupted stack pointer (%lu bytes)",
          (unsigned long)own);
#endif
    CHECK(alt_in, "the used part of the alternate stack was scanned");
    atomic_store(&done_collecting, 1);
    pthread_join(t, NULL);
    CHECK(m1.num_gc - m0.num_gc >= 100, "100 collections while the worker was on its alternate stack");
    CHECK(atomic_load(&bad_alt) == 0, "the list held only on the alternate stack survived");
    CHECK(atomic_load(&bad_normal) == 0, "the list held only below the handler on the thread's stack survived");
    printf("altstack: 100 collections with a thread inside a SA_ONSTACK handler; its own stack "
           "scanned over %lu bytes, its alternate stack over %lu\n",
           (unsigned long)own, w ? (unsigned long)(w->alt_hi - w->alt_lo) : 0ul);
    return check_done();
}
