/* suspend.c — libgc's GC_suspend_thread, GC_resume_thread and
 * GC_is_thread_suspended: one registered thread held until resumed, while
 * collections go on without it.
 *
 * The suspender sends the target a signal of this layer's own (SIGRTMIN+6
 * unless CGC_SIG_THREAD_SUSPEND names another). In the target, the handler
 * enters cgc_do_blocking and waits there for the resume: a collection then
 * claims the thread instead of signalling it and scans its stack from the
 * handler's frame up, which takes in the signal frame and so the registers
 * of the code it interrupted. A target inside a cgc section (holding
 * cgc's locks, or allocating) must not wait there: its handler only says
 * so, and the suspender sends the signal again a millisecond later, until
 * the target is caught outside one. Each try holds gc_lock, so the target
 * is not inside a collection either. cgc's own stop handler blocks every
 * signal, so this one never runs inside a stop. GC_suspend_thread returns
 * once the target waits; GC_resume_thread wakes it.
 *
 * A thread may suspend itself (it waits until another thread resumes it),
 * as in libgc. The target must not block the signal (libgc's targets must
 * not block its suspend signal either).
 */
#include "compat.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* States of a slot (one per thread ever suspended, reused). */
enum { S_FREE = 0, S_REQUESTED, S_BUSY, S_SUSPENDED, S_RESUMED };

#define MAX_SUSPENDED 64

typedef struct slot {
    _Atomic pid_t tid;       /* the target; 0: free */
    _Atomic int   state;     /* futex word */
} slot;

static slot slots[MAX_SUSPENDED];
static pthread_mutex_t suspend_lock = PTHREAD_MUTEX_INITIALIZER;   /* suspenders and resumers */
static int suspend_sig;
static pthread_once_t sig_once = PTHREAD_ONCE_INIT;

static long futex(_Atomic int *w, int op, int val)
{
    return syscall(SYS_futex, (int *)w, op, val, NULL, NULL, 0);
}

static slot *slot_of(pid_t tid)
{
    for (int i = 0; i < MAX_SUSPENDED; i++)
        if (atomic_load(&slots[i].tid) == tid)
            return &slots[i];
    return NULL;
}

static void *wait_resumed(void *arg)
{
    slot *s = arg;
    while (atomic_load(&s->state) == S_SUSPENDED)
        futex(&s->state, FUTEX_WAIT_PRIVATE, S_SUSPENDED);
    return NULL;
}

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
    (void)sig;
    (void)uctx;
    if (info->si_code != SI_TKILL || info->si_pid != getpid())
        return;   /* not ours */
    int saved = errno;
    slot *s = slot_of((pid_t)syscall(SYS_gettid));
    cgc__thread *t = cgc__self;
    if (s && atomic_load(&s->state) == S_REQUESTED) {
        if (!t || t->in_cgc || t->suspend_pending) {
            /* Inside cgc, or just leaving a section with a stop's signal
             * deferred (it parks on the way out: waiting here instead
             * would leave that stop waiting), or unknown to cgc: not here. */
            atomic_store(&s->state, S_BUSY);
            futex(&s->state, FUTEX_WAKE_PRIVATE, INT_MAX);
        } else {
            atomic_store(&s->state, S_SUSPENDED);
            futex(&s->state, FUTEX_WAKE_PRIVATE, INT_MAX);
            cgc_do_blocking(wait_resumed, s);
            atomic_store(&s->tid, 0);   /* resumed: the slot is free again */
        }
    }
    errno = saved;
}

static void install(void)
{
    const char *v = getenv("CGC_SIG_THREAD_SUSPEND");
    suspend_sig = v && *v ? atoi(v) : SIGRTMIN + 6;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);   /* cgc's stop signals stay deliverable while it waits */
    if (suspend_sig <= 0 || suspend_sig >= NSIG || sigaction(suspend_sig, &sa, NULL) != 0)
        suspend_sig = 0;
}

/* The target's cgc thread (registered), or NULL. */
static pid_t tid_of(pthread_t th)
{
    pid_t tid = 0;
    pthread_mutex_lock(&cgc__thread_lock);
    for (cgc__thread *t = cgc__threads; t; t = t->next)
        if (!t->gone && pthread_equal(t->pthread, th))
            tid = t->tid;
    pthread_mutex_unlock(&cgc__thread_lock);
    return tid;
}

static void nap_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

GCAPI void GC_suspend_thread(void *thread)
{
    pthread_t th = (pthread_t)thread;
    pthread_once(&sig_once, install);
    if (!suspend_sig)
        compat_unsupported("GC_suspend_thread", "cannot install the handler of CGC_SIG_THREAD_SUSPEND");
    compat_sync();
    pid_t tid = tid_of(th);
    if (!tid)
        return;   /* libgc: a thread it does not know is ignored */
    slot *s;
    for (;;) {
        pthread_mutex_lock(&suspend_lock);
        s = slot_of(tid);
        if (!s)
            break;
        int st = atomic_load(&s->state);
        pthread_mutex_unlock(&suspend_lock);
        if (st != S_RESUMED)
            return;   /* already suspended (or being suspended) */
        nap_ms(1);    /* resumed, not yet out of its wait: the slot frees soon */
    }
    s = slot_of(0);
    if (!s) {
        pthread_mutex_unlock(&suspend_lock);
        compat_unsupported("GC_suspend_thread", "more than 64 threads suspended at once");
    }
    atomic_store(&s->state, S_REQUESTED);
    atomic_store(&s->tid, tid);
    pthread_mutex_unlock(&suspend_lock);
    if (pthread_equal(th, pthread_self())) {
        atomic_store(&s->state, S_SUSPENDED);
        cgc_do_blocking(wait_resumed, s);
        atomic_store(&s->tid, 0);
        return;
    }
    /* Each try holds gc_lock, as libgc's suspender holds its lock: the
     * target is then not inside a collection (which runs outside cgc
     * sections, gc_lock held), where waiting would stop every other
     * collection, nor registering a thread or leaving (thread_lock). Released between tries: a thread waiting for gc_lock
     * inside a section says busy, and must get it to move on. */
    int held = compat_alloc_lock_suspend();
    for (;;) {
        pthread_mutex_lock(&cgc__gc_lock);
        pthread_mutex_lock(&cgc__thread_lock);   /* nor registering or leaving */
        if (syscall(SYS_tgkill, getpid(), tid, suspend_sig) != 0) {
            pthread_mutex_unlock(&cgc__thread_lock);
            pthread_mutex_unlock(&cgc__gc_lock);
            atomic_store(&s->tid, 0);   /* it exited */
            break;
        }
        while (atomic_load(&s->state) == S_REQUESTED)
            futex(&s->state, FUTEX_WAIT_PRIVATE, S_REQUESTED);
        pthread_mutex_unlock(&cgc__thread_lock);
        pthread_mutex_unlock(&cgc__gc_lock);
        if (atomic_load(&s->state) == S_SUSPENDED)
            break;
        pthread_mutex_lock(&suspend_lock);
        if (atomic_load(&s->state) == S_RESUMED) {   /* resumed before it was caught */
            atomic_store(&s->tid, 0);
            pthread_mutex_unlock(&suspend_lock);
            break;
        }
        atomic_store(&s->state, S_REQUESTED);   /* it was inside cgc: again in a moment */
        pthread_mutex_unlock(&suspend_lock);
        nap_ms(1);
    }
    compat_alloc_lock_resume(held);
}

/* Wakes a suspended thread (its handler frees the slot once out of its
 * wait). Resuming one still being caught makes GC_suspend_thread give up. */
GCAPI void GC_resume_thread(void *thread)
{
    pid_t tid = tid_of((pthread_t)thread);
    if (!tid)
        return;
    pthread_mutex_lock(&suspend_lock);
    slot *s = slot_of(tid);
    if (s && atomic_load(&s->state) != S_RESUMED) {
        atomic_store(&s->state, S_RESUMED);
        futex(&s->state, FUTEX_WAKE_PRIVATE, INT_MAX);
    }
    pthread_mutex_unlock(&suspend_lock);
}

GCAPI int GC_is_thread_suspended(void *thread)
{
    pid_t tid = tid_of((pthread_t)thread);
    if (!tid)
        return 0;
    slot *s = slot_of(tid);
    return s && atomic_load(&s->state) == S_SUSPENDED;
}
