/* sigmask.c — the stop signals stay deliverable to registered threads.
 *
 * A common way to handle signals in a threaded program is to block them
 * all in main before creating threads and take them with sigwait in one
 * thread. A registered thread that blocks the suspend signal cannot be
 * stopped, and a collection would wait for it for ever; a sigwait on a
 * full set would swallow the collector's signals. So cgc defines the
 * mask and wait functions itself: for a registered thread, pthread_sigmask
 * and sigprocmask never block the suspend and restart signals (the rest of
 * the request is honoured, the old mask reported as the kernel has it),
 * sigsuspend never blocks them while it waits, and sigwait, sigwaitinfo
 * and sigtimedwait never take them (and, when a collection's signal
 * interrupted them, wait again instead of failing with EINTR).
 *
 * These definitions take the place of the C library's for the program and
 * for every library loaded after libcgc, linked statically (the program's
 * own references are resolved here when libcgc.a comes before libc, as it
 * always does) or as a shared library (libcgc.so precedes libc.so in the
 * lookup order). Calls inside the C library itself, and masks set in other
 * ways (a handler's sa_mask, ppoll, pselect, epoll_pwait, raw system
 * calls) are not seen: a collection that waits 10 s for such a thread says
 * so (threads.c). The real functions are found with dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*mask_fn)(int, const sigset_t *, sigset_t *);
typedef int (*suspend_fn)(const sigset_t *);
typedef int (*wait_fn)(const sigset_t *, int *);
typedef int (*waitinfo_fn)(const sigset_t *, siginfo_t *);
typedef int (*timedwait_fn)(const sigset_t *, siginfo_t *, const struct timespec *);

static _Atomic(mask_fn) real_pthread_sigmask, real_sigprocmask;
static _Atomic(suspend_fn) real_sigsuspend;
static _Atomic(wait_fn) real_sigwait;
static _Atomic(waitinfo_fn) real_sigwaitinfo;
static _Atomic(timedwait_fn) real_sigtimedwait;

/* The signals the C library reserves for itself (glibc: SIGCANCEL and
 * SIGSETXID, between the kernel's standard signals and SIGRTMIN), set in
 * or cleared from s. glibc's sigaddset and sigdelset refuse them (EINVAL,
 * the set unchanged), so the bits are written here; the kernel takes such
 * a set as it is. */
void cgc__sigset_reserved(sigset_t *s, bool on)
{
    unsigned long *w = (unsigned long *)s;
    for (int sig = SIGSYS + 1; sig < SIGRTMIN; sig++) {
        unsigned long bit = 1UL << ((sig - 1) % (8 * sizeof *w));
        if (on)
            w[(sig - 1) / (8 * sizeof *w)] |= bit;
        else
            w[(sig - 1) / (8 * sizeof *w)] &= ~bit;
    }
}

/* Without dlsym's answer: the system call, minus the two signals glibc
 * reserves for itself (as its pthread_sigmask does). */
static int syscall_mask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t copy;
    if (set) {
        copy = *set;
        cgc__sigset_reserved(&copy, false);
        set = &copy;
    }
    long rc = syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8);
    return rc < 0 ? errno : 0;
}

static void *next_symbol(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

void cgc__sigmask_init(void)
{
    void *p;
    if (!atomic_load(&real_pthread_sigmask))
        atomic_store(&real_pthread_sigmask, (p = next_symbol("pthread_sigmask")) ? (mask_fn)p : syscall_mask);
    if (!atomic_load(&real_sigprocmask))
        atomic_store(&real_sigprocmask, (mask_fn)next_symbol("sigprocmask"));
    if (!atomic_load(&real_sigsuspend))
        atomic_store(&real_sigsuspend, (suspend_fn)next_symbol("sigsuspend"));
    if (!atomic_load(&real_sigwait))
        atomic_store(&real_sigwait, (wait_fn)next_symbol("sigwait"));
    if (!atomic_load(&real_sigwaitinfo))
        atomic_store(&real_sigwaitinfo, (waitinfo_fn)next_symbol("sigwaitinfo"));
    if (!atomic_load(&real_sigtimedwait))
        atomic_store(&real_sigtimedwait, (timedwait_fn)next_symbol("sigtimedwait"));
}

int cgc__real_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    mask_fn f = atomic_load(&real_pthread_sigmask);
    if (!f) {
        cgc__sigmask_init();
        f = atomic_load(&real_pthread_sigmask);
    }
    return f(how, set, old);
}

/* set without the stop signals, in *copy, when the calling thread is
 * registered; else set itself. */
static const sigset_t *without_ours(const sigset_t *set, sigset_t *copy)
{
    if (!set || !cgc__self || !atomic_load(&cgc__initialized))
        return set;
    int s, r;
    cgc__thread_signals(&s, &r);
    *copy = *set;
    sigdelset(copy, s);
    sigdelset(copy, r);
    return copy;
}

CGC_API int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t copy;
    if (how != SIG_UNBLOCK)
        set = without_ours(set, &copy);
    return cgc__real_sigmask(how, set, old);
}

CGC_API int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t copy;
    if (how != SIG_UNBLOCK)
        set = without_ours(set, &copy);
    mask_fn f = atomic_load(&real_sigprocmask);
    if (f)
        return f(how, set, old);
    int rc = cgc__real_sigmask(how, set, old);
    if (rc) {
        errno = rc;
        return -1;
    }
    return 0;
}

CGC_API int sigsuspend(const sigset_t *mask)
{
    sigset_t copy;
    mask = without_ours(mask, &copy);
    suspend_fn f = atomic_load(&real_sigsuspend);
    if (f)
        return f(mask);
    return (int)syscall(SYS_rt_sigsuspend, mask, _NSIG / 8);
}

/* Parks of the calling thread so far: a wait that fails with EINTR after
 * the count moved was interrupted by a collection. */
static int parks_now(void)
{
    cgc__thread *t = cgc__self;
    return t ? t->parks : 0;
}

CGC_API int sigwait(const sigset_t *set, int *sig)
{
    sigset_t copy;
    set = without_ours(set, &copy);
    wait_fn f = atomic_load(&real_sigwait);
    if (f)
        return f(set, sig);   /* glibc's sigwait waits again after EINTR itself */
    siginfo_t info;
    int rc;
    while ((rc = (int)syscall(SYS_rt_sigtimedwait, set, &info, NULL, _NSIG / 8)) < 0 && errno == EINTR)
        ;
    if (rc < 0)
        return errno;
    *sig = rc;
    return 0;
}

CGC_API int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    sigset_t copy;
    set = without_ours(set, &copy);
    for (;;) {
        int p = parks_now(), rc;
        waitinfo_fn f = atomic_load(&real_sigwaitinfo);
        rc = f ? f(set, info) : (int)syscall(SYS_rt_sigtimedwait, set, info, NULL, _NSIG / 8);
        if (!(rc < 0 && errno == EINTR && parks_now() != p))
            return rc;
    }
}

CGC_API int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
    sigset_t copy;
    set = without_ours(set, &copy);
    struct timespec end, left;
    if (timeout) {
        clock_gettime(CLOCK_MONOTONIC, &end);
        end.tv_sec += timeout->tv_sec;
        end.tv_nsec += timeout->tv_nsec;
        if (end.tv_nsec >= 1000000000) {
            end.tv_sec++;
            end.tv_nsec -= 1000000000;
        }
        left = *timeout;
    }
    for (;;) {
        int p = parks_now(), rc;
        timedwait_fn f = atomic_load(&real_sigtimedwait);
        const struct timespec *to = timeout ? &left : NULL;
        rc = f ? f(set, info, to) : (int)syscall(SYS_rt_sigtimedwait, set, info, to, _NSIG / 8);
        if (!(rc < 0 && errno == EINTR && parks_now() != p))
            return rc;
        if (timeout) {
            /* What is left of the caller's timeout. */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            int64_t ns = (int64_t)(end.tv_sec - now.tv_sec) * 1000000000 + (end.tv_nsec - now.tv_nsec);
            if (ns < 0)
                ns = 0;
            left.tv_sec = ns / 1000000000;
            left.tv_nsec = ns % 1000000000;
        }
    }
}
