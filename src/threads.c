/* threads.c — registered threads and stopping the world with signals.
 *
 * Protocol. The collector holds thread_lock, bumps `world_epoch` to an odd
 * value ("stopped") and sends the suspend signal to every other registered
 * thread (tgkill on the thread id it recorded: a thread that exited without
 * unregistering answers ESRCH instead of undefined behaviour). The handler
 * saves the registers on the thread's own stack (the kernel's signal frame
 * holds them, and __builtin_unwind_init spills the callee-saved ones),
 * records the stack to scan, acknowledges on a semaphore and waits in
 * rt_sigsuspend until `world_epoch` moves on. The collector waits for every
 * acknowledgement, so when stop_world returns no registered thread runs
 * mutator code. start_world bumps the epoch again and sends the restart
 * signal to the threads it stopped; a thread woken for any other reason
 * sees the epoch unchanged and waits again. A thread acknowledges an epoch
 * at most once, so a stray signal never counts as a second answer.
 *
 * A thread inside cgc (allocating, freeing, registering roots) has in_cgc
 * set; the handler then only records the request and returns. The thread
 * suspends itself when it leaves the section (cgc__leave), so it never
 * stops half-way through an allocation or while holding an allocator lock.
 *
 * Only signals cgc sent act: si_code SI_TKILL from this process, while a
 * stop (or fork.c's drain) wants an answer from this thread. Anything else
 * with the suspend or restart signal number — `kill -PWR pid` from outside,
 * a raise() of the program's own outside a collection — goes to the
 * handler the program had installed before cgc, or is ignored if it had
 * none (the default action of SIGPWR and SIGXCPU would end the process).
 * The collecting thread never parks.
 *
 * The signals interrupt system calls. SA_RESTART restarts only those the
 * kernel restarts (read, write, wait on most files); sleep, nanosleep,
 * poll, epoll_wait, select, sigtimedwait and the like fail with EINTR when
 * a collection stops the thread, as with Go's and the Boehm collector's
 * signals (docs/threads.md). cgc_do_blocking runs a function without
 * signals: the collector scans the stack the thread left above it instead.
 *
 * A thread on an alternate signal stack (inside a SA_ONSTACK handler) is
 * scanned in two parts: the used part of the alternate stack, and its own
 * stack from the stack pointer the kernel saved when the handler was
 * entered (found in that handler's signal frame, at the top of the
 * alternate stack).
 *
 * A thread that does not answer within 10 s gets one warning line naming
 * it and its blocked signals (/proc/self/task/TID/status); the collector
 * keeps waiting.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

__thread cgc__thread *cgc__self __attribute__((tls_model("initial-exec")));
pthread_mutex_t cgc__thread_lock = PTHREAD_MUTEX_INITIALIZER;
cgc__thread *cgc__threads;
_Atomic uint64_t cgc__dead_nmalloc, cgc__dead_bytes_malloc;

static int sig_suspend = 0, sig_restart = 0;
static struct sigaction prev_suspend, prev_restart;   /* the program's, before cgc */
static _Atomic unsigned world_epoch;  /* odd: stopped */
static _Atomic unsigned drain_gen;    /* fork.c's drains, counted */
static _Atomic int draining;
static cgc__thread *_Atomic stopper;  /* the thread stopping the world or draining */
static pid_t self_pid;
static _Atomic unsigned acks;   /* answers to the current stop or drain */
static _Atomic int restops;     /* threads that let the current stop pass (program sections) */
static pthread_key_t exit_key;
static cgc__thread *thread_free_list;

#define STOP_WARN_NS (10 * 1000000000ll)

/* cgc_do_blocking states (cgc__thread.blocking): low 2 bits the state,
 * the epoch of the stop that claimed the thread above them. */
enum { BLK_RUNNING = 0, BLK_BLOCKING = 1, BLK_DRAINED = 2, BLK_CLAIMED = 3 };

/* cgc__thread.restop (sections around the program's code, below). */
enum { RESTOP_NONE = 0, RESTOP_ASKED = 1, RESTOP_SENT = 2 };

static int raw_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    return (int)syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8);
}

static long futex(_Atomic unsigned *addr, int op, unsigned val)
{
    return syscall(SYS_futex, (unsigned *)addr, op, val, NULL, NULL, 0);
}

/* One answer to a stop or a drain (async-signal-safe). */
static void ack(void)
{
    atomic_fetch_add(&acks, 1);
    futex(&acks, FUTEX_WAKE_PRIVATE, 1);
}

void cgc__thread_signals(int *suspend, int *restart)
{
    *suspend = sig_suspend;
    *restart = sig_restart;
}

/* ---- stacks ------------------------------------------------------------ */

/* The stack pointer of an interrupted context; 0 where not known. */
static inline CGC_NO_ASAN uintptr_t context_sp(const ucontext_t *uc)
{
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__i386__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_ESP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.sp;
#elif defined(__riscv)
    return (uintptr_t)uc->uc_mcontext.__gregs[REG_SP];
#elif defined(__powerpc64__)
    return (uintptr_t)uc->uc_mcontext.gp_regs[1];
#else
    (void)uc;
    return 0;
#endif
}

/* Bytes below the stack pointer that a leaf function may use (the ABI's red zone). */
#if defined(__x86_64__)
#define RED_ZONE 128
#elif defined(__powerpc64__)
#define RED_ZONE 288
#else
#define RED_ZONE 0
#endif

/* The stack pointer the thread had on its own stack when it entered the
 * handler now running on the alternate stack [lo, hi): the kernel wrote
 * that handler's ucontext (with uc_stack = the alternate stack's sp and
 * size) at the top of the alternate stack. Every candidate frame whose
 * saved pointer lies in the thread's own stack counts, and the lowest
 * wins: a wrong guess can only scan more. 0 if none is found. */
/* CGC_NO_ASAN: it reads other frames' words of the alternate stack. */
static CGC_NO_ASAN uintptr_t interrupted_sp(const cgc__thread *t, uintptr_t lo, uintptr_t hi,
                                            const stack_t *ss)
{
    uintptr_t best = 0;
    size_t off = offsetof(ucontext_t, uc_stack);
    for (uintptr_t p = (lo + 7) & ~(uintptr_t)7; p + sizeof(ucontext_t) - off <= hi; p += 8) {
        const stack_t *cand = (const stack_t *)p;
        if (cand->ss_sp != ss->ss_sp || cand->ss_size != ss->ss_size)
            continue;
        uintptr_t sp = context_sp((const ucontext_t *)(p - off));
        if (sp > t->stack_base && sp <= t->stack_hi && (!best || sp < best))
            best = sp;
    }
    return best;
}

/* The lowest mapped page of [base, hi) where the mapped part is the top of
 * the range (a stack): a binary search with mincore, which fails with
 * ENOMEM on unmapped pages. For the fallback that scans a whole stack. */
static uintptr_t lowest_mapped(uintptr_t base, uintptr_t hi)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (base + pg - 1) & ~(pg - 1), top = hi & ~(pg - 1);
    unsigned char v;
    while (lo < top) {
        uintptr_t mid = lo + ((top - lo) / pg / 2) * pg;
        if (mincore((void *)mid, pg, &v) == 0)
            top = mid;
        else
            lo = mid + pg;
    }
    return top;
}

void cgc__record_stack(cgc__thread *t, uintptr_t here, uintptr_t *lo, uintptr_t *alt_lo,
                       uintptr_t *alt_hi)
{
    *alt_lo = *alt_hi = 0;
    if (here > t->stack_base && here < t->stack_hi) {
        *lo = here;
        return;
    }
    /* Not on its own stack: inside a handler on an alternate stack. */
    stack_t ss;
    if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE) &&
        here >= (uintptr_t)ss.ss_sp && here < (uintptr_t)ss.ss_sp + ss.ss_size) {
        *alt_lo = here;
        *alt_hi = (uintptr_t)ss.ss_sp + ss.ss_size;
        uintptr_t sp = interrupted_sp(t, here, *alt_hi, &ss);
        if (sp) {
            *lo = sp - RED_ZONE > t->stack_base ? sp - RED_ZONE : t->stack_base;
            return;
        }
    } else {
        /* A stack cgc cannot see the bounds of (SS_AUTODISARM hides the
         * alternate stack while its handler runs; a coroutine's stack):
         * the page in use. Said once, with write(2): this may run in a
         * signal handler. */
        static _Atomic int said;
        static const char msg[] =
            "cgc: a registered thread runs on a stack cgc does not know the bounds of (not its own, "
            "not its alternate signal stack): only the page in use there is scanned; register such "
            "stacks with cgc_add_roots\n";
        if (!atomic_exchange(&said, 1))
            (void)!write(2, msg, sizeof msg - 1);
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
        *alt_lo = here;
        *alt_hi = (here | (pg - 1)) + 1;
    }
    /* The interrupted stack pointer is unknown: the whole mapped stack. */
    *lo = lowest_mapped(t->stack_base, t->stack_hi);
}

/* ---- the signal handlers ---------------------------------------------- */

static void forward(const struct sigaction *prev, int sig, siginfo_t *info, void *uctx)
{
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction)
            prev->sa_sigaction(sig, info, uctx);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    }
}

static bool from_cgc(const siginfo_t *info)
{
    return info && info->si_code == SI_TKILL && info->si_pid == self_pid;
}

/* Whether a stop or drain is waiting for an answer from t. */
static bool stop_wants(const cgc__thread *t)
{
    unsigned e = atomic_load(&world_epoch);
    return (e & 1) && atomic_load(&t->stopped_epoch) != e && atomic_load(&stopper) != t;
}

static bool drain_wants(const cgc__thread *t)
{
    return atomic_load(&draining) && t->drain_acked != atomic_load(&drain_gen) &&
           atomic_load(&stopper) != t;
}

/* Every signal, the C library's own included: glibc's sigfillset leaves
 * out the two it reserves (SIGCANCEL and SIGSETXID). It matters for
 * cancellation: a thread stopped inside a cancellable system call (read,
 * nanosleep, a condition wait) runs with asynchronous cancellation, and
 * with SIGCANCEL open in the suspend handler's mask and in park's wait,
 * a pthread_cancel during the stop unwound the thread out of the handler:
 * parked, it ran its cleanup handlers and destructors while the collector
 * read its stack (test_cancel_stopped); not yet parked, its stop signal was
 * gone with the frame and the collection waited for it for ever
 * (test_thread_exit_conc, 3 Debug runs in 423). Blocked, the
 * cancellation acts when the handler has returned, back in the system
 * call, as it would have without the stop. */
static void fill_all(sigset_t *s)
{
    sigfillset(s);
    cgc__sigset_reserved(s, true);
}

/* Parks the calling thread until the world restarts. Runs in the signal
 * handler or, for a deferred request, at the end of a cgc section.
 * rt_sigsuspend as a raw system call: glibc's sigsuspend is a cancellation
 * point, and a thread must not start unwinding while the collector reads
 * its stack. */
static void __attribute__((noinline)) park(cgc__thread *t)
{
    sigset_t block, old, wait;
    sigemptyset(&block);
    sigaddset(&block, sig_restart);
    raw_sigmask(SIG_BLOCK, &block, &old);

    __builtin_unwind_init();   /* spill callee-saved registers into this frame */
    volatile uintptr_t marker = 0;
    cgc__record_stack(t, (uintptr_t)&marker, &t->stack_lo, &t->alt_lo, &t->alt_hi);
    unsigned epoch = atomic_load(&world_epoch);
    t->parks++;
    t->restarted = 0;
    atomic_store(&t->stopped_epoch, epoch);
    ack();

    /* Until the world runs again and this stop's restart signal has come:
     * consumed here, it cannot interrupt the program's next system call. */
    fill_all(&wait);
    sigdelset(&wait, sig_restart);
    while (atomic_load(&world_epoch) == epoch || !t->restarted)
        syscall(SYS_rt_sigsuspend, &wait, _NSIG / 8);
    raw_sigmask(SIG_SETMASK, &old, NULL);
    (void)marker;
}

/* Answers whatever is asked of t now: park for a stop, acknowledge a drain. */
static void respond(cgc__thread *t)
{
    if (stop_wants(t)) {
        park(t);
    } else if (drain_wants(t)) {
        t->drain_acked = atomic_load(&drain_gen);
        ack();
    }
}

static void suspend_handler(int sig, siginfo_t *info, void *uctx)
{
    int saved = errno;
    cgc__thread *t = cgc__self;
    if (t && from_cgc(info) && (stop_wants(t) || drain_wants(t))) {
        /* The stopper's signal, sent again after a program section let
         * the stop pass (below), has come: it is this one. */
        atomic_store_explicit(&t->restop, RESTOP_NONE, memory_order_relaxed);
        if (t->in_cgc) {
            t->suspend_pending = 1;
        } else {
            t->suspend_pending = 0;
            respond(t);
        }
    } else {
        forward(&prev_suspend, sig, info, uctx);
    }
    errno = saved;
}

static void restart_handler(int sig, siginfo_t *info, void *uctx)
{
    /* cgc's restart signal only has to end park's rt_sigsuspend. */
    cgc__thread *t = cgc__self;
    if (from_cgc(info) && t) {
        t->restarted = 1;
    } else {
        int saved = errno;
        forward(&prev_restart, sig, info, uctx);
        errno = saved;
    }
}

void cgc__name_thread(const char *name)
{
    /* prctl rather than pthread_setname_np: no error for a name over 15
     * characters (the kernel cuts it), and no /proc file to open. */
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

/* cgc's own threads (markers, sweeper, scavenger) are never registered and
 * take no signals: process-directed signals go to the program's threads. */
void cgc__block_signals(void)
{
    sigset_t all;
    sigfillset(&all);
    cgc__real_sigmask(SIG_BLOCK, &all, NULL);
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
    if (atomic_exchange(&t->restop, RESTOP_NONE) == RESTOP_SENT) {
        /* The stopper is signalling this thread again (program sections,
         * below): the stop is taken in the handler, when the signal
         * comes, never left to interrupt a later system call. */
        while (stop_wants(t))
            sched_yield();
        return;
    }
    respond(t);
}

/* ---- sections around the program's own code ----------------------------
 *
 * compat/'s GC_call_with_alloc_lock runs the program's function in a cgc
 * section: no stop while it runs, libgc's contract. Any other section takes
 * a stop that came meanwhile at its end (cgc__leave), but here that end is
 * where the program finishes what the lock protected, in the instructions
 * right after the call returns: Guile (vm.c, vm_expand_stack) moves a
 * thread's VM stack under the lock, then sets the VM's stack pointer, and
 * its thread objects' mark procedure reads both and madvises away the
 * stack below that pointer. Parked there, a thread showed the new stack
 * with the old pointer, and the procedure released hundreds of MB of live
 * memory, the heap and the stacks among it (compat_real_guile_conc). In
 * libgc the collection waits for the lock, and its stop signal reaches the
 * thread microseconds after the release, a random instruction later.
 *
 * So a stop that came during such a section is let pass at its end: the
 * thread runs on, and takes it at the first of (1) the stopper's signal,
 * sent again by wait_acks when it next looks (restops) — it lands wherever
 * the thread is by then, as libgc's would; (2) the end of its next cgc
 * section (suspend_pending stays set), its allocation fast path included;
 * (3) the start of its next program section, before the program's
 * function runs (cgc__enter_program), so a thread that spends its time in
 * such sections cannot keep the stop waiting. restop: RESTOP_ASKED, the
 * thread asks to be signalled again; RESTOP_SENT, the stopper took the
 * request and its signal is on the way (cgc__suspend_self then waits for
 * it); back to RESTOP_NONE when the signal is taken or the request
 * withdrawn. A fork's drain is answered at the end as usual (it parks
 * nothing). Tested by tests/compat/compat_alloc_lock.c. */
void cgc__enter_program(cgc__thread *t)
{
    if (t->suspend_pending && t->in_cgc == 0)
        cgc__suspend_self();
    cgc__enter(t);
}

void cgc__leave_program(cgc__thread *t)
{
    atomic_signal_fence(memory_order_seq_cst);
    t->in_cgc--;
    atomic_signal_fence(memory_order_seq_cst);
    if (!t->suspend_pending || t->in_cgc != 0)
        return;
    if (!stop_wants(t)) {
        cgc__suspend_self();   /* a drain's request: acknowledged here */
        return;
    }
    int none = RESTOP_NONE;
    atomic_compare_exchange_strong(&t->restop, &none, RESTOP_ASKED);
    atomic_fetch_add(&restops, 1);   /* no wake-up: see restop_signal */
}

/* The stopper, waiting for answers: signals again the threads that let
 * the stop pass. They did not wake it (a futex wake could hand it their
 * CPU at once, and its signal would then land right where the thread was
 * let go); it looks at every answer and every timeout of its wait. */
static void restop_signal(bool (*answered)(const cgc__thread *, unsigned), unsigned gen)
{
    if (!atomic_load_explicit(&restops, memory_order_relaxed) || !atomic_exchange(&restops, 0))
        return;
    for (cgc__thread *t = cgc__threads; t; t = t->next) {
        int asked = RESTOP_ASKED;
        if (t->signalled && !t->gone && !answered(t, gen) &&
            atomic_compare_exchange_strong(&t->restop, &asked, RESTOP_SENT))
            syscall(SYS_tgkill, self_pid, t->tid, sig_suspend);
    }
}

/* The stack of the calling thread: [*base, *hi). glibc's answer is wiped
 * before it is left as dead stack: its stackaddr is the top of the stack,
 * the address one past the stack's mapping, which is often the first object
 * of an arena (os.c places arenas next to other mappings, and a thread's
 * stack is a mapping of its own). Left there, it lay under the thread's
 * later frames (an unwritten slot, the red zone below a waiting system
 * call, which the kernel's signal frame skips) and was scanned whenever
 * the thread was stopped: that object stayed reachable for good
 * (test_stack_top; compat_api's finalizers, kept by the idle finalizer
 * thread's stack). */
_Atomic int cgc__stack_bounds_test_fail;

static unsigned hex_digit(char c)
{
    return c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 0;
}

/* The mapping of /proc/self/maps that holds addr, read with system calls
 * and a buffer on the stack: pthread_getattr_np has just failed, perhaps
 * for want of memory (it mallocs), so no malloc and no stdio here. Lines
 * are "lo-hi perms ...", in hex. */
static bool mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    if (atomic_load(&cgc__stack_bounds_test_fail) & 2)
        return false;
    int fd;
    do
        fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return false;
    char buf[512];
    uintptr_t a = 0, b = 0;
    int field = 0;   /* 0: lo, 1: hi, 2: the rest of the line */
    bool found = false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n && !found; i++) {
            char c = buf[i];
            if (c == '\n') {
                if (field == 2 && a <= addr && addr < b) {
                    *lo = a;
                    *hi = b;
                    found = true;
                }
                a = b = 0;
                field = 0;
            } else if (field == 0) {
                if (c == '-')
                    field = 1;
                else
                    a = a << 4 | hex_digit(c);
            } else if (field == 1) {
                if (c == ' ')
                    field = 2;
                else
                    b = b << 4 | hex_digit(c);
            }
        }
        if (found)
            break;
    }
    close(fd);
    return found;
}

/* The calling thread's stack: [*base, *hi). From pthread_getattr_np; if
 * that fails (it mallocs, and for the main thread reads /proc with stdio),
 * from the mapping that holds the current frame. If both fail, a guess
 * just above the current frame, which would miss pointers in older frames:
 * returns false, and the caller must not let a collection free anything
 * while the thread is registered with it (roots.c). */
static bool stack_bounds(uintptr_t *base, uintptr_t *hi)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    int fail = atomic_load(&cgc__stack_bounds_test_fail);
    if (!(fail & 1) && pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &addr, &size);
        pthread_attr_destroy(&attr);
        explicit_bzero(&attr, sizeof attr);
        *base = (uintptr_t)addr;
        *hi = (uintptr_t)addr + size;
        return true;
    }
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (mapping_of(here, base, hi)) {
        /* The main thread's stack mapping grows down on demand: its base
         * is the lowest it may reach (RLIMIT_STACK), as glibc reports it.
         * A thread's stack mapping is all there is (the guard page below
         * is a mapping of its own). */
        struct rlimit rl;
        if (getpid() == (pid_t)syscall(SYS_gettid) && getrlimit(RLIMIT_STACK, &rl) == 0 &&
            rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < *hi - (uintptr_t)4096 && *hi - rl.rlim_cur < *base)
            *base = *hi - rl.rlim_cur;
        return true;
    }
    *hi = here + 4096;
    *base = *hi - ((size_t)1 << 20);
    return false;
}

static void end_blocking(cgc__thread *t);
static void unblock_ours(void);

/* In AddressSanitizer's runtime (weak: NULL without it). */
extern void __asan_unpoison_memory_region(void const volatile *addr, size_t size) __attribute__((weak));

/* A thread that leaves cgc_do_blocking's fn by pthread_exit or
 * cancellation ends the blocking state on its way out (run_blocking); one
 * that left it otherwise (a longjmp) may still be in it here: a stop may
 * have claimed it, and its stack must not be read after it is gone. */
static void __attribute__((noinline)) on_thread_exit(void *arg)
{
    cgc__thread *t = cgc__self;
    if (!t)
        return;
    /* Cancellation unwinds frames without clearing AddressSanitizer's
     * poison on their locals; the calls below reuse that stack. */
    if (__asan_unpoison_memory_region) {
        uintptr_t here = (uintptr_t)__builtin_frame_address(0);   /* this frame and below */
        if (here > t->stack_base && here < t->stack_hi)
            __asan_unpoison_memory_region((void *)t->stack_base, here - t->stack_base);
    }
    /* A thread cancelled inside a system call may unwind from a signal
     * handler of the program's, with that handler's mask (which may block
     * every signal): it must still answer the stop a collection may send
     * while it waits for thread_lock below. */
    unblock_ours();
    if (atomic_load(&t->blocking) != BLK_RUNNING)
        end_blocking(t);
    cgc_unregister_thread();
}

static int install(int sig, void (*fn)(int, siginfo_t *, void *))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    fill_all(&sa.sa_mask);   /* nothing interrupts the handler, cancellation included */
    sigdelset(&sa.sa_mask, SIGSEGV);
    sigdelset(&sa.sa_mask, SIGBUS);
    return sigaction(sig, &sa, NULL);
}

/* The disposition the program has for sig, as cgc found it: if sig is one
 * cgc already handles, the one saved when cgc took it. */
static void program_action(int sig, struct sigaction *out)
{
    if (sig == sig_suspend)
        *out = prev_suspend;
    else if (sig == sig_restart)
        *out = prev_restart;
    else
        sigaction(sig, NULL, out);
}

/* Unblocks the two signals in the calling thread. */
static void unblock_ours(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig_suspend);
    sigaddset(&s, sig_restart);
    cgc__real_sigmask(SIG_UNBLOCK, &s, NULL);
}

void cgc__threads_init(void)
{
    if (!sig_suspend) {
        sig_suspend = cgc__cfg.sig_suspend ? cgc__cfg.sig_suspend : SIGPWR;
        sig_restart = cgc__cfg.sig_restart ? cgc__cfg.sig_restart : SIGXCPU;
    }
    self_pid = getpid();
    cgc__sigmask_init();
    pthread_key_create(&exit_key, on_thread_exit);
    sigaction(sig_suspend, NULL, &prev_suspend);
    sigaction(sig_restart, NULL, &prev_restart);
    if (install(sig_suspend, suspend_handler) != 0)
        cgc__fatal("cannot install the suspend signal handler (signal %d)", sig_suspend);
    if (install(sig_restart, restart_handler) != 0)
        cgc__fatal("cannot install the restart signal handler (signal %d)", sig_restart);
}

/* The rule CGC_SIG_SUSPEND follows (docs/configuration.md): not
 * uncatchable, not a fault that must stay one (the collector's own bugs
 * must still crash), not one of those glibc keeps for its threads. */
static bool usable_signal(int sig)
{
    if (sig <= 0 || sig > SIGRTMAX)
        return false;
    if (sig > SIGSYS && sig < SIGRTMIN)
        return false;
    return sig != SIGKILL && sig != SIGSTOP && sig != SIGSEGV && sig != SIGBUS;
}

/* Before initialisation it only records the choice. After it (a program
 * linked with the shared library is initialised by the library's
 * constructor, before main), the change is made while no other thread is
 * registered: the old signals get back the dispositions cgc found, the new
 * ones get cgc's handlers. No collection runs meanwhile (gc_lock). */
CGC_API int cgc_set_thread_signals(int suspend_signal, int restart_signal)
{
    if (suspend_signal == restart_signal || !usable_signal(suspend_signal) ||
        !usable_signal(restart_signal))
        return -1;
    if (!atomic_load(&cgc__initialized)) {
        sig_suspend = suspend_signal;
        sig_restart = restart_signal;
        return 0;
    }
    int rc = -1;
    cgc__thread *me = cgc__self;
    pthread_mutex_lock(&cgc__gc_lock);
    pthread_mutex_lock(&cgc__thread_lock);
    bool alone = true;
    for (cgc__thread *t = cgc__threads; t; t = t->next)
        alone &= t == me;
    if (alone) {
        struct sigaction ps, pr;
        program_action(suspend_signal, &ps);
        program_action(restart_signal, &pr);
        if (sig_suspend != suspend_signal && sig_suspend != restart_signal)
            sigaction(sig_suspend, &prev_suspend, NULL);
        if (sig_restart != suspend_signal && sig_restart != restart_signal)
            sigaction(sig_restart, &prev_restart, NULL);
        prev_suspend = ps;
        prev_restart = pr;
        sig_suspend = suspend_signal;
        sig_restart = restart_signal;
        if (install(sig_suspend, suspend_handler) != 0 || install(sig_restart, restart_handler) != 0)
            cgc__fatal("cannot install the thread signal handlers (signals %d, %d)", sig_suspend,
                       sig_restart);
        if (me)
            unblock_ours();
        rc = 0;
    }
    pthread_mutex_unlock(&cgc__thread_lock);
    pthread_mutex_unlock(&cgc__gc_lock);
    return rc;
}

/* Blocks every signal but the stop signals (a registered thread waiting
 * for thread_lock must still answer a stop), saving the old mask. */
static void block_program_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, sig_suspend);
    sigdelset(&all, sig_restart);
    cgc__real_sigmask(SIG_BLOCK, &all, old);
}

/* Tests: called by cgc__register_current after its first look at
 * cgc__self, before the program's signals are blocked (test_register_signal). */
void (*_Atomic cgc__register_test_hook)(void);

/* Adds the calling thread to the registry (thread_lock taken here). The
 * program's signals are blocked meanwhile: a handler that allocates would
 * otherwise register the thread again under the same lock. And cgc__self
 * is looked at again once they are: a handler that ran between the first
 * look and the mask registered the thread already, and a second entry for
 * it was signalled at every stop without ever answering (the thread parks
 * once per stop), so the first collection waited for it for ever. */
cgc__thread *cgc__register_current(int created_by_cgc)
{
    if (cgc__self)
        return cgc__self;
    void (*hook)(void) = atomic_load(&cgc__register_test_hook);
    if (hook)
        hook();
    sigset_t old;
    block_program_signals(&old);
    if (cgc__self) {
        cgc__real_sigmask(SIG_SETMASK, &old, NULL);
        return cgc__self;
    }
    /* No cancellation under thread_lock: stack_bounds may read
     * /proc/self/maps (pthread_getattr_np for the main thread, the
     * fallback), and open and read are cancellation points. A thread
     * cancelled there died holding thread_lock, and every collection after
     * it waited for that lock for ever (test_cancel_alloc). */
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    pthread_mutex_lock(&cgc__thread_lock);
    cgc__thread *t = thread_free_list;
    if (t)
        thread_free_list = t->next;
    else
        t = cgc__meta_alloc(sizeof *t, &cgc__mem.mcache_sys);
    if (t) {
        memset(t, 0, sizeof *t);
        t->pthread = pthread_self();
        t->tid = (pid_t)syscall(SYS_gettid);
        t->created_by_cgc = created_by_cgc;
        t->tp = cgc__tls_thread_pointer();
        if (!stack_bounds(&t->stack_base, &t->stack_hi)) {
            t->stack_unknown = 1;
            cgc__roots_lost(CGC_ROOTS_STACK);
        }
        t->next = cgc__threads;
        cgc__threads = t;
        atomic_fetch_add(&cgc__mem.mcache_inuse, sizeof *t);
        cgc__self = t;
    }
    pthread_mutex_unlock(&cgc__thread_lock);
    /* A registered thread never blocks the stop signals (sigmask.c keeps
     * it so): a mask inherited from an unregistered thread is cleared. */
    sigdelset(&old, sig_suspend);
    sigdelset(&old, sig_restart);
    cgc__real_sigmask(SIG_SETMASK, &old, NULL);
    if (t)
        pthread_setspecific(exit_key, t);
    static _Atomic int said;
    if (t && t->stack_unknown && !atomic_exchange(&said, 1))   /* out of the lock and the mask: stdio */
        cgc__warn("a thread registered without the bounds of its stack (pthread_getattr_np and "
                  "/proc/self/maps failed): until it unregisters, collections free nothing");
    pthread_setcancelstate(cancel, NULL);   /* after the warning too: a registration inside cgc_malloc */
    return t;
}

CGC_API int cgc_register_thread(void)
{
    cgc__ensure_init();
    return cgc__register_current(0) ? 0 : -1;
}

/* Off the list (thread_lock held) and onto the free list, its counts kept. */
static void drop(cgc__thread *t)
{
    if (t->stack_unknown)
        cgc__roots_regained(CGC_ROOTS_STACK);
    for (cgc__thread **pp = &cgc__threads; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    cgc__tcache_flush(t);
    atomic_fetch_add(&cgc__dead_nmalloc, t->tc.nmalloc);
    atomic_fetch_add(&cgc__dead_bytes_malloc, t->tc.bytes_malloc);
    t->next = thread_free_list;
    thread_free_list = t;
    atomic_fetch_sub(&cgc__mem.mcache_inuse, sizeof *t);
}

CGC_API int cgc_unregister_thread(void)
{
    cgc__thread *t = cgc__self;
    if (!t || t->in_cgc || atomic_load(&t->blocking) != BLK_RUNNING)
        return -1;   /* not registered, or called from inside cgc */
    /* Holding thread_lock, no collection can stop the world, so the cache
     * can be handed back without entering a cgc section. */
    sigset_t old;
    block_program_signals(&old);
    pthread_mutex_lock(&cgc__thread_lock);
    drop(t);
    cgc__self = NULL;
    pthread_mutex_unlock(&cgc__thread_lock);
    /* Before the mask is lifted: a handler that allocates as soon as it is
     * registers the thread again, and its exit_key must stay set. */
    pthread_setspecific(exit_key, NULL);
    cgc__real_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}

/* ---- stopping ---------------------------------------------------------- */

/* Takes a thread inside cgc_do_blocking for this stop (claim) instead of
 * signalling it; false if it is running. */
static bool claim_blocking(cgc__thread *t, uint64_t claim)
{
    uint64_t v = atomic_load(&t->blocking);
    while (v != BLK_RUNNING)
        if (atomic_compare_exchange_weak(&t->blocking, &v, claim))
            return true;
    return false;
}

/* One line for a thread that has not answered: which one, and why it
 * probably cannot (its blocked signals, from /proc). */
static void warn_unanswered(const cgc__thread *t, const char *what)
{
    char path[64], buf[2048], blk[32] = "?";
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)t->tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        char *p = strstr(buf, "SigBlk:");
        if (p && sscanf(p + 7, " %31s", blk) != 1)
            strcpy(blk, "?");
    }
    unsigned long long mask = strtoull(blk, NULL, 16);
    bool blocked = strcmp(blk, "?") != 0 && ((mask >> (sig_suspend - 1)) & 1);
    cgc__warn("thread %d has not answered the %s signal %d for 10 s (SigBlk %s): %s; still waiting",
              (int)t->tid, what, sig_suspend, blk,
              blocked ? "it blocks the signal (a mask cgc does not see: a handler's sa_mask, "
                        "ppoll/pselect/epoll_pwait, a raw system call), or runs a long handler"
                      : "it may be stopped (ptrace, SIGSTOP) or in an uninterruptible wait");
}

#define STOP_SPIN_NS 50000   /* wait_acks: the spin before sleeping */

/* Waits for n acknowledgements; after STOP_WARN_NS, one warning for each
 * signalled thread that has not answered (answered() says which have).
 * A thread can exit registered (a destructor of the program's allocated
 * after cgc's unregistered it) and take the signal while it dies: waiting
 * in growing slices, a thread that has not answered and no longer exists
 * (tgkill with signal 0: ESRCH) is marked gone and not waited for. */
static void wait_acks(int n, bool (*answered)(const cgc__thread *, unsigned), unsigned gen,
                      const char *what)
{
    /* A raw futex wait: not a cancellation point, and async-signal-safe
     * to post (ack). (cgc__collect_internal also disables cancellation
     * for the whole cycle.) */
    /* The first slice is short: a thread that let the stop pass at the
     * end of a program section is signalled again when it ends. */
    int64_t start = cgc__now_ns(), slice = 100000;
    bool warned = false;
    unsigned got;
    /* Spin a little first where another CPU can be answering. A thread
     * running the program takes the signal within tens of microseconds
     * and acknowledges it at once; sleeping on the futex added the
     * wake-up of this thread, in churn (64 MiB live, one program thread,
     * this 2-CPU VM) 60-100 us of each stop against 8-24 us spinning.
     * With one CPU the answer needs this thread off it. */
    if (cgc__cfg.ncpu > 1) {
        int64_t until = start + STOP_SPIN_NS;
        while (atomic_load(&acks) < (unsigned)n && cgc__now_ns() < until)
            for (int i = 0; i < 32; i++)
                cgc__cpu_relax();
    }
    while ((got = atomic_load(&acks)) < (unsigned)n) {
        restop_signal(answered, gen);
        struct timespec rel = {0, slice};
        long rc = syscall(SYS_futex, (unsigned *)&acks, FUTEX_WAIT_PRIVATE, got, &rel, NULL, 0);
        if (rc == 0 || errno != ETIMEDOUT)
            continue;
        if (slice < 64000000)
            slice *= 2;
        for (cgc__thread *t = cgc__threads; t; t = t->next) {
            if (!t->signalled || t->gone || answered(t, gen))
                continue;
            if (syscall(SYS_tgkill, self_pid, t->tid, 0) != 0 && errno == ESRCH && !answered(t, gen)) {
                t->gone = 1;
                t->signalled = 0;
                t->stack_lo = t->stack_hi;   /* its stack may be unmapped already */
                t->alt_lo = t->alt_hi = 0;
                n--;
            }
        }
        if (!warned && cgc__now_ns() - start >= STOP_WARN_NS) {
            warned = true;
            for (cgc__thread *t = cgc__threads; t; t = t->next)
                if (t->signalled && !t->gone && !answered(t, gen))
                    warn_unanswered(t, what);
        }
    }
}

static bool stop_answered(const cgc__thread *t, unsigned e)
{
    return atomic_load(&t->stopped_epoch) == e;
}

static bool drain_answered(const cgc__thread *t, unsigned g)
{
    return t->drain_acked == g;
}

/* The time the world has been stopped, in all (waits.c: a thread waiting
 * for the collector is not charged for a stop twice). */
static _Atomic int64_t stopped_ns;
static int64_t stop_t0;   /* thread_lock */

bool cgc__stop_requested(void)
{
    return atomic_load_explicit(&world_epoch, memory_order_relaxed) & 1;
}

int64_t cgc__stopped_ns(void)
{
    return atomic_load_explicit(&stopped_ns, memory_order_relaxed);
}

void cgc__stop_world(void)
{
    cgc__thread *me = cgc__self;
    stop_t0 = cgc__now_ns();
    atomic_store(&stopper, me);
    atomic_store(&acks, 0);
    unsigned e = atomic_fetch_add(&world_epoch, 1) + 1;   /* now odd */
    uint64_t claim = ((uint64_t)e << 2) | BLK_CLAIMED;
    int sent = 0;
    for (cgc__thread *t = cgc__threads; t; t = t->next) {
        t->signalled = 0;
        t->alt_lo = t->alt_hi = 0;
        if (t == me || t->gone)
            continue;
        /* signalled before the claim: run_blocking reads them in the
         * opposite order, so a thread entering cgc_do_blocking either is
         * claimed or knows a signal is on its way (and waits for it). */
        atomic_store(&t->signalled, 1);
        if (claim_blocking(t, claim)) {
            atomic_store(&t->signalled, 0);
            /* In cgc_do_blocking: its stack above the call, as it left it. */
            t->stack_lo = t->blk_lo;
            t->alt_lo = t->blk_alt_lo;
            t->alt_hi = t->blk_alt_hi;
        } else if (syscall(SYS_tgkill, self_pid, t->tid, sig_suspend) == 0) {
            sent++;
        } else {
            atomic_store(&t->signalled, 0);
            t->gone = 1;   /* exited without unregistering: nothing to scan */
            t->stack_lo = t->stack_hi;
        }
    }
    wait_acks(sent, stop_answered, e, "suspend");
}

/* The stop ends at the release, before the restart signals are sent, as
 * Go's pause ends before startTheWorld wakes anything: the first thread
 * woken may take this thread's CPU (a wake-up preempts the waker), and
 * reading the clock after the signals then counted the program's running
 * time until this thread ran again as a pause (2.4 ms once in churn's
 * first stop). A woken thread's own wake-up latency is not in the pause
 * either way; the program's gaps (bench/) include it. */
int64_t cgc__start_world(void)
{
    int64_t now = cgc__now_ns();
    atomic_fetch_add_explicit(&stopped_ns, now - stop_t0, memory_order_relaxed);
    atomic_fetch_add(&world_epoch, 1);   /* even: running */
    atomic_store(&stopper, NULL);
    /* Threads leaving cgc_do_blocking during the stop wait on the epoch. */
    futex(&world_epoch, FUTEX_WAKE_PRIVATE, INT_MAX);
    cgc__thread *next;
    for (cgc__thread *t = cgc__threads; t; t = next) {
        next = t->next;
        if (t->signalled)
            syscall(SYS_tgkill, self_pid, t->tid, sig_restart);
        t->signalled = 0;
        if (t->gone)
            drop(t);
    }
    return now;
}

/* ---- cgc_do_blocking --------------------------------------------------- */

/* Back from fn: if a stop claimed this thread meanwhile, it waits until
 * that stop is over before it may touch the heap again. */
static void end_blocking(cgc__thread *t)
{
    for (;;) {
        uint64_t v = atomic_load(&t->blocking);
        if ((v & 3) == BLK_CLAIMED) {
            unsigned e = (unsigned)(v >> 2);
            while (atomic_load(&world_epoch) == e)
                futex(&world_epoch, FUTEX_WAIT_PRIVATE, e);
        }
        if (atomic_compare_exchange_strong(&t->blocking, &v, BLK_RUNNING))
            return;
    }
}

/* Enters the blocking state, the stack to scan (blk_*) already recorded. */
static void begin_blocking(cgc__thread *t)
{
    atomic_store(&t->blocking, BLK_BLOCKING);
    /* A stop (or drain) that found this thread running a moment ago has
     * sent it the suspend signal, which may arrive only now: take it here
     * rather than inside fn, where it would interrupt fn's system call.
     * sched_yield enters the kernel, which delivers it on the way out. */
    while (atomic_load(&t->signalled) && (stop_wants(t) || drain_wants(t)))
        sched_yield();
}

/* fn left by cancellation or pthread_exit: the thread unwinds into the
 * frames above the call, which a stop that claimed it may be reading, and
 * runs the program's cleanup handlers there, which may use the heap. It
 * waits out that stop first, as a return from fn does; the handlers then
 * run as a running thread's code, stopped by signal like any other
 * (test_cancel_stopped). */
static void blocking_unwound(void *t)
{
    end_blocking(t);
}

static void *__attribute__((noinline)) run_blocking(cgc__thread *t, void *(*fn)(void *), void *arg)
{
    volatile uintptr_t marker = 0;
    cgc__record_stack(t, (uintptr_t)&marker, &t->blk_lo, &t->blk_alt_lo, &t->blk_alt_hi);
    begin_blocking(t);
    void *r;
    pthread_cleanup_push(blocking_unwound, t);
    r = fn(arg);
    pthread_cleanup_pop(0);
    end_blocking(t);
    (void)marker;
    return r;
}

CGC_API void *cgc_do_blocking(void *(*fn)(void *), void *arg)
{
    cgc__thread *t = cgc__self;
    if (!t || t->in_cgc || atomic_load(&t->blocking) != BLK_RUNNING)
        return fn(arg);   /* not registered, or nested: nothing to do */
    __builtin_unwind_init();          /* the caller's registers, into this frame */
    void *volatile keep = arg;        /* arg stays visible above fn's frames */
    void *r = run_blocking(t, fn, arg);
    __asm__ volatile("" : : "r"(keep) : "memory");
    return r;
}

/* Whether this thread is inside cgc_do_blocking (compat/ routes a libgc
 * program's heap calls made there through cgc__call_active). */
bool cgc__in_blocking(void)
{
    cgc__thread *t = cgc__self;
    return t && atomic_load_explicit(&t->blocking, memory_order_relaxed) != BLK_RUNNING;
}

/* fn may touch the heap again from inside cgc_do_blocking (libgc's
 * GC_call_with_gc_active, through compat/): the thread leaves the blocking
 * state (waiting out a stop that claimed it, as on the way out of
 * cgc_do_blocking), runs fn as a running thread, whose whole stack is
 * scanned, and enters the blocking state again with the stack to scan of
 * the cgc_do_blocking it is in (a cgc_do_blocking inside fn records its
 * own). Anything else: a plain call. */
void *cgc__call_active(void *(*fn)(void *), void *arg)
{
    cgc__thread *t = cgc__self;
    if (!t || t->in_cgc || atomic_load(&t->blocking) == BLK_RUNNING)
        return fn(arg);
    uintptr_t lo = t->blk_lo, alt_lo = t->blk_alt_lo, alt_hi = t->blk_alt_hi;
    end_blocking(t);
    void *r = fn(arg);
    t->blk_lo = lo;
    t->blk_alt_lo = alt_lo;
    t->blk_alt_hi = alt_hi;
    begin_blocking(t);
    return r;
}

/* ---- fork -------------------------------------------------------------- */

/* The drain (fork.c, before a fork; gc_lock and thread_lock held, the
 * gate raised): every other registered thread acknowledges once it is out
 * of any cgc section. Nobody parks: a thread may hold a lock of the C
 * library (inside malloc) that fork itself needs. After the drain a thread
 * can only be outside cgc, waiting at the gate, or in an allocation fast
 * path, which a flush in the child undoes safely (cgc__threads_fork). */
static void drain(void)
{
    cgc__thread *me = cgc__self;
    atomic_store(&stopper, me);
    atomic_store(&acks, 0);
    unsigned g = atomic_fetch_add(&drain_gen, 1) + 1;
    atomic_store(&draining, 1);
    int sent = 0;
    for (cgc__thread *t = cgc__threads; t; t = t->next) {
        t->signalled = 0;
        if (t == me || t->gone)
            continue;
        atomic_store(&t->signalled, 1);   /* before the claim, as in a stop */
        if (claim_blocking(t, BLK_DRAINED)) {
            atomic_store(&t->signalled, 0);
            continue;   /* it passes the gate when it next enters cgc */
        }
        if (syscall(SYS_tgkill, self_pid, t->tid, sig_suspend) == 0) {
            sent++;
        } else {
            atomic_store(&t->signalled, 0);
            t->gone = 1;
        }
    }
    wait_acks(sent, drain_answered, g, "fork's");
    atomic_store(&draining, 0);
    atomic_store(&stopper, NULL);
}

/* PREPARE drains (fork.c holds gc_lock and thread_lock). PARENT: nothing
 * left to undo. CHILD: only the forking thread exists; the others'
 * registry entries go (their caches back to the central lists, their
 * allocation counts kept, as when a thread unregisters). A vanished thread
 * may have been inside an allocation fast path, which writes only its own
 * cached span: freeindex only grows, and is stored before the slot is
 * returned, so the flush marks allocated every slot the thread handed out
 * (and at worst the one it was taking, which the next sweep frees). */
void cgc__threads_fork(int stage)
{
    switch (stage) {
    case CGC_FORK_PREPARE:
        drain();
        break;
    case CGC_FORK_PARENT:
        break;
    case CGC_FORK_CHILD: {
        self_pid = getpid();
        atomic_store(&acks, 0);
        atomic_store(&draining, 0);
        atomic_store(&stopper, NULL);
        cgc__thread *me = cgc__self, *next;
        for (cgc__thread *t = cgc__threads; t; t = next) {
            next = t->next;
            if (t != me)
                drop(t);
        }
        if (me) {
            me->pthread = pthread_self();
            me->tid = (pid_t)syscall(SYS_gettid);
            me->suspend_pending = 0;
            atomic_store(&me->restop, RESTOP_NONE);
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
