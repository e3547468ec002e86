/* threads.c — registered threads and stopping the world with signals.
 *
 * Protocol. The collector holds thread_lock, bumps `world_epoch` to an odd
 * value ("stopped") and sends the suspend signal to every other registered
 * thread. The handler saves the registers on the thread's own stack (the
 * kernel's signal frame holds them, and __builtin_unwind_init spills the
 * callee-saved ones), records the lowest live stack address, acknowledges on
 * a semaphore and waits in sigsuspend until `world_epoch` moves on. The
 * collector waits for every acknowledgement, so when stop_world returns no
 * registered thread runs mutator code. start_world bumps the epoch again and
 * sends the restart signal; a thread woken for any other reason sees the
 * epoch unchanged and waits again. Comparing epochs (not a flag) means a
 * thread still leaving its handler when the next stop begins sees a newer
 * epoch, leaves, and takes the next suspend signal normally.
 *
 * A thread inside cgc (allocating, freeing, registering roots) has in_cgc
 * set; the handler then only records the request and returns. The thread
 * suspends itself when it leaves the section (cgc__leave), so it never
 * stops half-way through an allocation or while holding an allocator lock.
 *
 * Signals are delivered with SA_RESTART, so system calls the program was in
 * are restarted, and a thread blocked in one still runs the handler.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__thread cgc__thread *cgc__self __attribute__((tls_model("initial-exec")));
pthread_mutex_t cgc__thread_lock = PTHREAD_MUTEX_INITIALIZER;
cgc__thread *cgc__threads;
_Atomic uint64_t cgc__dead_nmalloc, cgc__dead_bytes_malloc;

static int sig_suspend = 0, sig_restart = 0;
static _Atomic unsigned world_epoch;  /* odd: stopped */
static sem_t ack_sem;
static pthread_key_t exit_key;
static cgc__thread *thread_free_list;

CGC_API int cgc_set_thread_signals(int suspend_signal, int restart_signal)
{
    if (atomic_load(&cgc__initialized) || suspend_signal == restart_signal ||
        suspend_signal <= 0 || restart_signal <= 0 || suspend_signal > SIGRTMAX ||
        restart_signal > SIGRTMAX)
        return -1;
    sig_suspend = suspend_signal;
    sig_restart = restart_signal;
    return 0;
}

/* The signals in use once the library has initialised (0 before). */
void cgc__thread_signals(int *suspend_signal, int *restart_signal)
{
    *suspend_signal = sig_suspend;
    *restart_signal = sig_restart;
}

/* Parks the calling thread until the world restarts. Runs in the signal
 * handler or, for a deferred request, at the end of a cgc section. */
static void __attribute__((noinline)) park(cgc__thread *t)
{
    sigset_t block, old, wait;
    sigemptyset(&block);
    sigaddset(&block, sig_restart);
    pthread_sigmask(SIG_BLOCK, &block, &old);

    __builtin_unwind_init();   /* spill callee-saved registers into this frame */
    volatile uintptr_t marker = 0;
    t->stack_lo = (uintptr_t)&marker;
    unsigned epoch = atomic_load(&world_epoch);
    atomic_store(&t->stopped_epoch, epoch);
    sem_post(&ack_sem);

    sigfillset(&wait);
    sigdelset(&wait, sig_restart);
    while (atomic_load(&world_epoch) == epoch)
        sigsuspend(&wait);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    (void)marker;
}

static void suspend_handler(int sig, siginfo_t *info, void *uctx)
{
    int saved = errno;
    cgc__thread *t = cgc__self;
    if (t && (atomic_load(&world_epoch) & 1)) {
        if (t->in_cgc)
            t->suspend_pending = 1;
        else
            park(t);
    }
    errno = saved;
}

static void restart_handler(int sig)
{
}

/* cgc's own threads (markers, sweeper, scavenger) are never registered and
 * take no signals: process-directed signals go to the program's threads. */
void cgc__block_signals(void)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

/* cgc's registered threads (the finalizer thread): every asynchronous
 * signal blocked but the two that stop and restart it, so the program's
 * own signals go to its own threads. */
void cgc__block_signals_but_stw(void)
{
    sigset_t s;
    sigfillset(&s);
    sigdelset(&s, sig_suspend);
    sigdelset(&s, sig_restart);
    sigdelset(&s, SIGSEGV);
    sigdelset(&s, SIGBUS);
    sigdelset(&s, SIGFPE);
    sigdelset(&s, SIGILL);
    pthread_sigmask(SIG_SETMASK, &s, NULL);
}

void cgc__suspend_self(void)
{
    cgc__thread *t = cgc__self;
    t->suspend_pending = 0;
    if (atomic_load(&world_epoch) & 1)
        park(t);
}

/* The stack of the calling thread: [lo, hi). */
static void stack_bounds(uintptr_t *hi)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &addr, &size);
        pthread_attr_destroy(&attr);
        *hi = (uintptr_t)addr + size;
    } else {
        /* Fall back to a bound just above the current frame: pointers in
         * frames that are older than this call are then not seen. */
        *hi = (uintptr_t)__builtin_frame_address(0) + 4096;
    }
}

static void on_thread_exit(void *arg)
{
    if (cgc__self)
        cgc_unregister_thread();
}

void cgc__threads_init(void)
{
    if (!sig_suspend) {
        sig_suspend = cgc__cfg.sig_suspend ? cgc__cfg.sig_suspend : SIGPWR;
        sig_restart = cgc__cfg.sig_restart ? cgc__cfg.sig_restart : SIGXCPU;
    }
    sem_init(&ack_sem, 0, 0);
    pthread_key_create(&exit_key, on_thread_exit);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = suspend_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);   /* nothing interrupts the handler */
    sigdelset(&sa.sa_mask, SIGSEGV);
    sigdelset(&sa.sa_mask, SIGBUS);
    if (sigaction(sig_suspend, &sa, NULL) != 0)
        cgc__fatal("cannot install the suspend signal handler (signal %d)", sig_suspend);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = restart_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig_restart, &sa, NULL) != 0)
        cgc__fatal("cannot install the restart signal handler (signal %d)", sig_restart);
}

/* Adds the calling thread to the registry (thread_lock taken here). */
cgc__thread *cgc__register_current(int created_by_cgc)
{
    if (cgc__self)
        return cgc__self;
    pthread_mutex_lock(&cgc__thread_lock);
    cgc__thread *t = thread_free_list;
    if (t)
        thread_free_list = t->next;
    else
        t = cgc__meta_alloc(sizeof *t, &cgc__mem.mcache_sys);
    if (!t) {
        pthread_mutex_unlock(&cgc__thread_lock);
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->pthread = pthread_self();
    t->created_by_cgc = created_by_cgc;
    stack_bounds(&t->stack_hi);
    t->next = cgc__threads;
    cgc__threads = t;
    atomic_fetch_add(&cgc__mem.mcache_inuse, sizeof *t);
    cgc__self = t;
    pthread_mutex_unlock(&cgc__thread_lock);
    pthread_setspecific(exit_key, t);
    return t;
}

CGC_API int cgc_register_thread(void)
{
    cgc__ensure_init();
    return cgc__register_current(0) ? 0 : -1;
}

CGC_API int cgc_unregister_thread(void)
{
    cgc__thread *t = cgc__self;
    if (!t)
        return -1;
    /* Holding thread_lock, no collection can stop the world, so the cache
     * can be handed back without entering a cgc section. */
    pthread_mutex_lock(&cgc__thread_lock);
    cgc__tcache_flush(t);
    atomic_fetch_add(&cgc__dead_nmalloc, t->tc.nmalloc);
    atomic_fetch_add(&cgc__dead_bytes_malloc, t->tc.bytes_malloc);
    for (cgc__thread **pp = &cgc__threads; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->next = thread_free_list;
    thread_free_list = t;
    atomic_fetch_sub(&cgc__mem.mcache_inuse, sizeof *t);
    cgc__self = NULL;
    pthread_mutex_unlock(&cgc__thread_lock);
    pthread_setspecific(exit_key, NULL);
    return 0;
}


void cgc__stop_world(void)
{
    unsigned e = atomic_fetch_add(&world_epoch, 1) + 1;   /* now odd */
    int sent = 0;
    cgc__thread *me = cgc__self;
    for (cgc__thread *t = cgc__threads; t; t = t->next) {
        if (t == me)
            continue;
        if (pthread_kill(t->pthread, sig_suspend) == 0)
            sent++;
        else
            t->stack_lo = t->stack_hi;   /* gone without unregistering: nothing to scan */
    }
    for (int i = 0; i < sent; i++)
        while (sem_wait(&ack_sem) != 0 && errno == EINTR)
            ;
    (void)e;
}

void cgc__start_world(void)
{
    atomic_fetch_add(&world_epoch, 1);   /* even: running */
    cgc__thread *me = cgc__self;
    for (cgc__thread *t = cgc__threads; t; t = t->next)
        if (t != me)
            pthread_kill(t->pthread, sig_restart);
}

/* ---- fork ---------------------------------------------------------------- */

/* PREPARE stops the world (fork.c holds thread_lock): every other
 * registered thread parks outside any cgc section, holding no cgc lock.
 * PARENT restarts it. CHILD: only the forking thread exists; the others'
 * registry entries go (their caches back to the central lists, their
 * allocation counts kept, as when a thread unregisters), the world is
 * running again without signals to threads that are gone. */
void cgc__threads_fork(int stage)
{
    switch (stage) {
    case CGC_FORK_PREPARE:
        cgc__stop_world();
        break;
    case CGC_FORK_PARENT:
        cgc__start_world();
        break;
    case CGC_FORK_CHILD: {
        atomic_fetch_add(&world_epoch, 1);   /* even: running */
        sem_init(&ack_sem, 0, 0);
        cgc__thread *me = cgc__self, **pp = &cgc__threads;
        while (*pp) {
            cgc__thread *t = *pp;
            if (t == me) {
                pp = &t->next;
                continue;
            }
            *pp = t->next;
            cgc__tcache_flush(t);
            atomic_fetch_add(&cgc__dead_nmalloc, t->tc.nmalloc);
            atomic_fetch_add(&cgc__dead_bytes_malloc, t->tc.bytes_malloc);
            t->next = thread_free_list;
            thread_free_list = t;
            atomic_fetch_sub(&cgc__mem.mcache_inuse, sizeof *t);
        }
        if (me) {
            me->pthread = pthread_self();
            me->suspend_pending = 0;
        }
        break;
    }
    }
}

/* ---- cgc's own threads ------------------------------------------------- */

int cgc__start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    if (cgc__fault(CGC_FAULT_THREAD))   /* tests: fault.c */
        return EAGAIN;
    return pthread_create(t, NULL, fn, arg);
}

/* ---- cgc_pthread_create ------------------------------------------------ */

typedef struct start_info {
    void *(*fn)(void *);
    void *arg;
    bool ok;              /* the new thread is registered */
    sem_t registered;
} start_info;

static void *thread_start(void *p)
{
    start_info *si = p;
    void *(*fn)(void *) = si->fn;
    void *arg = si->arg;
    /* Unregistered, the thread's stack would not be scanned, and what only
     * it refers to would be freed under it: if registration fails (no
     * memory for its record), fn does not run and the creation fails. */
    bool ok = si->ok = cgc__register_current(1) != NULL;
    /* The parent waits until we are registered: until then `arg` may be
     * reachable only from the parent's stack and from si, which is not
     * scanned memory. */
    sem_post(&si->registered);
    if (!ok)
        return NULL;
    return fn(arg);   /* exit_key's destructor unregisters, also on pthread_exit */
}

CGC_API int cgc_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                               void *(*fn)(void *), void *arg)
{
    cgc__ensure_init();
    start_info si = {.fn = fn, .arg = arg};
    sem_init(&si.registered, 0, 0);
    int rc = pthread_create(t, attr, thread_start, &si);
    if (rc == 0)
        while (sem_wait(&si.registered) != 0 && errno == EINTR)
            ;
    sem_destroy(&si.registered);
    if (rc == 0 && !si.ok) {
        int detached = PTHREAD_CREATE_JOINABLE;
        if (attr)
            pthread_attr_getdetachstate(attr, &detached);
        if (detached == PTHREAD_CREATE_JOINABLE)
            pthread_join(*t, NULL);
        rc = EAGAIN;
    }
    return rc;
}
