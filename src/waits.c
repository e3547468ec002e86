/* waits.c — the CPU the process leaves unused while its threads wait for
 * the collector, for the CPU limiter.
 *
 * A thread that outran a concurrent mark waits for it (collect.c,
 * wait_for_mark at the backstop; assist.c, park in debt past the goal).
 * Go counts time per P: a parked goroutine holds no P and costs nothing,
 * and a P left idle because every goroutine waits is taken out of the
 * limiter's total (mgclimit.go, the idle time pool), so that a program
 * doing nothing but waiting for its collector reads as 100% collection.
 *   cgc used to charge each waiting thread's wall time as collection CPU.
 * With more threads waiting than there are CPUs that is more CPU than the
 * machine has: the demo's service (four threads at the backstop beside two
 * busy markers, 35 MiB container) read 158% collection CPU in gctrace,
 * and the limiter held back 69 of 175 cycles, letting the heap pass its
 * goal each time.
 *   Now a waiting thread's own marking is charged as collection CPU (its
 * thread CPU time, by the caller), and the waits together report the CPU
 * the process left unused while at least one thread waited, as idle
 * (cgc__limiter_add_idle): over an interval dt,
 *
 *     idle = ncpu * (dt - stopped) - process CPU,   at least 0
 *
 * where stopped is the time the world was stopped within dt (the collector
 * charges a stop as pause * ncpu: not again; the CPU the markers used in
 * the stops is in "process CPU", so the figure errs low by it). Busy CPUs
 * are the markers' (their own work) or the program's other threads'. CPU
 * that other processes took counts as idle here, as it does for a Go
 * program whose goroutines all wait.
 *   One interval for all waiters: each look samples the process's clocks
 * under a lock and reports the time since the previous look, so N waiters
 * report it once, not N times. The process's CPU clock sums every thread
 * in the kernel (a cost that grows with the thread count), so it is read
 * when the first thread starts waiting, when the last one stops, and
 * otherwise at most once per LOOK_NS, however many threads wait. */
#include "internal.h"

#include <pthread.h>
#include <time.h>

#define LOOK_NS 1000000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int waiters;                           /* under lock */
static int64_t at_ns, at_cpu_ns, at_stopped;  /* the last look, under lock */

static int64_t process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* lock held: the unused CPU since the last look, if anyone waited. */
static int64_t look(void)
{
    int64_t now = cgc__now_ns(), cpu = process_cpu_ns(), stopped = cgc__stopped_ns();
    int64_t idle = 0;
    if (waiters > 0) {
        int ncpu = cgc__cfg.ncpu > 0 ? cgc__cfg.ncpu : 1;
        int64_t running = (now - at_ns) - (stopped - at_stopped);
        idle = (running > 0 ? running * ncpu : 0) - (cpu - at_cpu_ns);
        if (idle < 0)
            idle = 0;
    }
    at_ns = now;
    at_cpu_ns = cpu;
    at_stopped = stopped;
    return idle;
}

static void report(int64_t ns)
{
    if (ns > 0)
        cgc__gc_idle_background(ns);
}

void cgc__wait_begin(void)
{
    pthread_mutex_lock(&lock);
    if (waiters == 0)
        look();   /* the interval starts now: nothing before it was a wait */
    waiters++;
    pthread_mutex_unlock(&lock);
}

void cgc__wait_look(void)
{
    int64_t c = 0;
    pthread_mutex_lock(&lock);
    if (cgc__now_ns() - at_ns >= LOOK_NS)
        c = look();
    pthread_mutex_unlock(&lock);
    report(c);
}

void cgc__wait_end(void)
{
    int64_t c = 0;
    pthread_mutex_lock(&lock);
    if (waiters == 1 || cgc__now_ns() - at_ns >= LOOK_NS)
        c = look();
    waiters--;
    pthread_mutex_unlock(&lock);
    report(c);
}

/* A fork: the child has none of the parent's waiting threads. */
void cgc__waits_fork(int stage)
{
    if (stage == CGC_FORK_CHILD)
        waiters = 0;
    cgc__fork_mutex(&lock, stage);
}
