/* assist.c — mark assists: during a concurrent mark, a program thread that
 * allocates marks in proportion to what it allocates, so that the heap
 * does not outrun the mark (docs/pacing.md "Concurrent mark").
 *
 * The model is Go's: the mark has an expected amount of scan work W (the
 * bytes the last concurrent mark scanned, every phase), and the heap may
 * grow by the distance D from heap_live to the goal before it should end.
 * Each byte allocated then owes
 *
 *     ratio = (W - scanned so far) / D
 *
 * bytes of scanning, recomputed at every look (so the markers' progress
 * lowers it and an allocation burst raises it). A thread keeps its debt
 * in thread-local storage and looks at it when its cache takes a span
 * (cgc__maybe_collect), never on the allocation fast path; it pays in
 * chunks of at least ASSIST_MIN bytes (over-paying builds credit, so the
 * next few spans cost nothing) and at most ASSIST_NS of the clock, so no
 * single allocation waits long. Past the goal, D is the distance to the
 * backstop (the throttle, where allocation waits for the cycle's end, as
 * before assists), so the assists grow stronger as the heap nears it.
 *
 * Where a thread finds no work to take (the markers hold it all and do not
 * share within ASSIST_WAIT_NS, or the collector is between phases), it
 * does not block: it keeps its debt and tries again after ASSIST_BACKOFF_NS.
 * The heap overshoots the goal meanwhile, up to the backstop.
 *
 * Assist time (the thread's CPU time while assisting) is collection work:
 * counted in /gc/mark/assist:seconds, in gctrace's cpu triple (middle
 * term: assist/background/idle, as Go), and as GC CPU for the CPU limiter
 * (as Go counts its assists).
 */
#include "internal.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* At most this long per look (the clock, checked every batch of objects):
 * an allocation never waits longer for an assist. */
#define ASSIST_NS 100000
/* Pay at least this much scan work once in debt (Go's gcOverAssistWork):
 * fewer, larger chunks. */
#define ASSIST_MIN ((int64_t)64 << 10)
/* No work found: the next try after this long. */
#define ASSIST_BACKOFF_NS 200000
/* The distance to the goal (or backstop) is never taken below this: at
 * the goal the ratio is large but finite. */
#define ASSIST_MIN_DIST ((uint64_t)256 << 10)

/* This cycle's parameters, set by the collector as the cycle starts. */
static _Atomic uint64_t expected_work, goal_at, backstop_at;

/* Per thread (in its cgc__thread, so a registration starts afresh): the
 * debt in bytes of scan work (negative: credit), the allocation counter it
 * was last charged at, and the cycle it belongs to (cgc__gc.num_gc: a debt
 * does not carry over to the next cycle). The debt saturates at DEBT_MAX
 * either way: a thread owing more than that could never pay it within a
 * cycle anyway, and the sums below must not overflow. */
#define DEBT_MAX (INT64_MAX / 4)
static void debt_add(cgc__thread *t, int64_t d)
{
    int64_t v = t->assist_debt + d; /* both within ±DEBT_MAX: no overflow */
    t->assist_debt = v > DEBT_MAX ? DEBT_MAX : v < -DEBT_MAX ? -DEBT_MAX : v;
}

_Atomic int64_t cgc__assist_unreported_ns;
_Atomic int64_t cgc__assist_cycle_ns;
_Atomic int64_t cgc__assist_cycle_cpu_ns;

void cgc__assist_cycle_start(uint64_t expected, uint64_t goal, uint64_t backstop)
{
    atomic_store_explicit(&expected_work, expected, memory_order_relaxed);
    atomic_store_explicit(&goal_at, goal, memory_order_relaxed);
    atomic_store_explicit(&backstop_at, backstop, memory_order_relaxed);
    atomic_store_explicit(&cgc__assist_cycle_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&cgc__assist_cycle_cpu_ns, 0, memory_order_relaxed);
}

/* Bytes of scanning owed per byte allocated now. */
static double assist_ratio(void)
{
    uint64_t exp = atomic_load_explicit(&expected_work, memory_order_relaxed);
    uint64_t done = atomic_load_explicit(&cgc__mark_scan_work, memory_order_relaxed);
    /* Past the expected work the estimate was low: assume a sixteenth of
     * it is still to do rather than nothing. */
    uint64_t left = exp > done ? exp - done : 0;
    if (left < exp / 16)
        left = exp / 16;
    uint64_t live = atomic_load_explicit(&cgc__gc.heap_live, memory_order_relaxed);
    uint64_t goal = atomic_load_explicit(&goal_at, memory_order_relaxed);
    uint64_t back = atomic_load_explicit(&backstop_at, memory_order_relaxed);
    uint64_t dist = live < goal ? goal - live : live < back ? back - live : 0;
    if (dist < ASSIST_MIN_DIST)
        dist = ASSIST_MIN_DIST;
    return (double)left / (double)dist;
}

/* In debt past the goal with no work to take (the collector between
 * phases, its marker not sharing): Go parks such an assist until the
 * background has marked enough. Here the thread waits for work to appear
 * or the mark to end, for at most ASSIST_PARK_NS, trying again every
 * ASSIST_POLL_NS, out of any cgc section (a stop may come meanwhile). A
 * bounded wait per span taken (0.5 ms, so that with the assist before it
 * the program's gap stays under 1 ms): the heap then grows past the goal
 * by a span per half millisecond at most, instead of by the allocation rate, and
 * seldom reaches the backstop, where the wait is for the whole cycle
 * (churn 19: 14-29 ms at the backstop before). Counted as a backstop wait
 * is (by the clock). */
#define ASSIST_PARK_NS 500000
#define ASSIST_POLL_NS 50000
static void park(cgc__thread *t, int64_t t0)
{
    int64_t p0 = cgc__now_ns(), now = p0, c0 = cgc__thread_cpu_ns();
    cgc__wait_begin();
    while (now - t0 < ASSIST_PARK_NS && atomic_load_explicit(&cgc__marking, memory_order_relaxed)) {
        /* The system call, not glibc's nanosleep, a cancellation point:
         * an allocation is not one (test_cancel_alloc), and a thread
         * cancelled here would leave cgc__wait_begin's count raised for
         * good, every idle CPU counted as waiting from then on. */
        struct timespec ts = {0, ASSIST_POLL_NS};
        syscall(SYS_nanosleep, &ts, NULL);
        cgc__enter(t);
        int64_t debt = t->assist_debt;
        uint64_t scanned = cgc__mark_assist((uint64_t)(debt > ASSIST_MIN ? debt : ASSIST_MIN),
                                            cgc__now_ns() + ASSIST_NS);
        cgc__leave(t);
        now = cgc__now_ns();
        if (scanned) {
            debt_add(t, scanned > (uint64_t)DEBT_MAX ? -DEBT_MAX : -(int64_t)scanned);
            break;
        }
    }
    /* By the clock, as a backstop wait: the metric and the cycle's assist
     * time. The limiter gets the thread's own marking and, through
     * waits.c, the CPU left unused while it waited (the first try before
     * it was counted already). */
    int64_t took = now - p0;
    atomic_fetch_add_explicit(&cgc__gc.assist_ns, took, memory_order_relaxed);
    atomic_fetch_add_explicit(&cgc__assist_cycle_ns, took, memory_order_relaxed);
    int64_t own = cgc__thread_cpu_ns() - c0;
    atomic_fetch_add_explicit(&cgc__assist_unreported_ns, own, memory_order_relaxed);
    atomic_fetch_add_explicit(&cgc__assist_cycle_cpu_ns, own, memory_order_relaxed);
    cgc__wait_end();
}

void cgc__assist(cgc__thread *t)
{
    uint32_t cycle = atomic_load_explicit(&cgc__gc.num_gc, memory_order_relaxed);
    uint64_t allocated = __atomic_load_n(&t->tc.bytes_malloc, __ATOMIC_RELAXED);
    if (t->assist_cycle != cycle) {
        t->assist_cycle = cycle;
        t->assist_debt = 0;
        t->assist_charged_at = allocated;
        t->assist_retry_at = 0;
        return;
    }
    uint64_t grew = allocated - t->assist_charged_at;
    t->assist_charged_at = allocated;
    double owe = (double)grew * assist_ratio();
    debt_add(t, owe > (double)DEBT_MAX ? DEBT_MAX : (int64_t)owe);
    if (t->assist_debt <= 0)
        return;
    int64_t t0 = cgc__now_ns();
    if (t0 < t->assist_retry_at)
        return;
    int64_t want = t->assist_debt > ASSIST_MIN ? t->assist_debt : ASSIST_MIN;
    int64_t c0 = cgc__thread_cpu_ns();
    cgc__enter(t);
    uint64_t scanned = cgc__mark_assist((uint64_t)want, t0 + ASSIST_NS);
    cgc__leave(t);
    /* Counted in CPU time, not by the clock: on a loaded machine most of
     * an assist's wall time can be other processes' (measured at load 20:
     * 20 us of CPU per 330 us assist), and the CPU limiter and the runway
     * (collect.c) want the work the program gave the collector. */
    int64_t cpu = cgc__thread_cpu_ns() - c0;
    debt_add(t, scanned > (uint64_t)DEBT_MAX ? -DEBT_MAX : -(int64_t)scanned);
    atomic_fetch_add_explicit(&cgc__gc.assist_ns, cpu, memory_order_relaxed);
    atomic_fetch_add_explicit(&cgc__assist_unreported_ns, cpu, memory_order_relaxed);
    atomic_fetch_add_explicit(&cgc__assist_cycle_ns, cpu, memory_order_relaxed);
    atomic_fetch_add_explicit(&cgc__assist_cycle_cpu_ns, cpu, memory_order_relaxed);
    if (scanned)
        return;
    if (atomic_load_explicit(&cgc__gc.heap_live, memory_order_relaxed) >=
        atomic_load_explicit(&goal_at, memory_order_relaxed))
        park(t, t0);
    else
        t->assist_retry_at = cgc__now_ns() + ASSIST_BACKOFF_NS;
}
