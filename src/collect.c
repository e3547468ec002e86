/* collect.c — one collection cycle, when to run it, the knobs, library
 * initialisation, and the background thread that returns memory.
 *
 * A cycle (stop-the-world mark, lazy sweep):
 *   1. with the world running: finish the previous cycle's sweep (the mark
 *      bits are about to be reused), start helper threads if needed;
 *   2. with the dynamic loader's list locked (roots.c), list the loaded
 *      objects' segments, stop the world; flush every thread cache back to
 *      the central lists;
 *   3. mark from the roots (parallel);
 *   4. make every in-use span "unswept", set heap_live to the marked bytes,
 *      recompute the goal; restart the world, release the loader's list.
 * Sweeping then happens on demand and in the background sweeper.
 *
 * The trigger: heap_live (marked bytes + slots granted to caches since) is
 * compared with the goal when a cache takes a span or a large object is
 * allocated, never per object. The collector is stop-the-world, so it needs
 * no runway: it collects when heap_live reaches the goal (trigger == goal).
 */
#include "internal.h"
#include "cgroup.h"
#include "dirty.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

cgc__gc_state cgc__gc = {.pacer_lock = PTHREAD_MUTEX_INITIALIZER};
cgc__config cgc__cfg;
_Atomic int cgc__initialized;

pthread_mutex_t cgc__gc_lock = PTHREAD_MUTEX_INITIALIZER;
/* A cycle whose whole mark, stopped, would be shorter than this marks
 * stopped in concurrent mode too (mark_short). */
#define STOPPED_MARK_MAX_NS 500000

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static _Atomic int64_t mem_limit = INT64_MAX;   /* mirror of pacer.mem_limit for lock-free reads */
static _Atomic uint64_t outside_proc;            /* see measure_outside */
static _Atomic uint64_t outside_cg = UINT64_MAX; /* UINT64_MAX: not measured */
static _Atomic int64_t outside_measured_ns;
static _Atomic int64_t outside_interval_ns = 10000000;
static pthread_mutex_t measure_lock = PTHREAD_MUTEX_INITIALIZER;   /* one measure_outside at a time */
/* The container's memory limit H the hard-limit guard works against (-1:
 * none), re-read with the soft limit by the follower (background_main):
 * read once at start-up, an in-place resize left the guard at the old H
 * while the soft limit moved (a 160 -> 320 MiB resize kept a 131 MB goal). */
static _Atomic int64_t container_limit = -1;
static int following;   /* the background thread re-reads the container's limit */
static pthread_mutex_t bg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bg_cv = PTHREAD_COND_INITIALIZER;
static bool bg_kicked;   /* under bg_lock: a cycle ended since the thread last looked */
static _Atomic int bg_started;   /* the init, a collection and cgc_set_memory_limit may race to start it */
static _Atomic int start_line_due;   /* gctrace's first line, not said yet */


int64_t cgc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cgc__unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cgc__thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- initialisation ---------------------------------------------------- */

/* In AddressSanitizer's runtime (weak: NULL when the program has none):
 * the calling thread's fake stack, NULL unless detect_stack_use_after_return
 * is on. Then the locals of instrumented frames live in ASan's own mappings,
 * which the collector does not scan: an object whose only reference is in
 * such a local is freed while in use (docs/DEVELOPING.md). Said once, at
 * start, rather than failing in ways that look like heap corruption. */
extern void *__asan_get_current_fake_stack(void) __attribute__((weak));

static void warn_asan_fake_stack(void)
{
    if (__asan_get_current_fake_stack && __asan_get_current_fake_stack())
        cgc__warn("AddressSanitizer's detect_stack_use_after_return is on: objects referenced "
                  "only from locals of code compiled with it may be freed while in use; run with "
                  "ASAN_OPTIONS=detect_stack_use_after_return=0");
}

static void init(void)
{
    warn_asan_fake_stack();
    cgc__config_load(&cgc__cfg);
    cgc__sizeclass_init();
    cgc__alloc_init();
    cgc__threads_init();
    cgc__mark_init(cgc__cfg.markers);
    cgc__dirty_init();
    cgc__dirty_set_skip(cgc__heap_unwatched_run);   /* pointer-free arenas: never watched */
    cgc__heap_sides_mode = cgc__concurrent_mode();
    cgc__gc.start_mono_ns = cgc__now_ns();
    cgc__pacer_init(&cgc__gc.pacer, cgc__cfg.gc_percent, cgc__cfg.memlimit);
    cgc__limiter_init(&cgc__gc.limiter, cgc__cfg.ncpu > 0 ? cgc__cfg.ncpu : 1, cgc__gc.start_mono_ns);
    cgc__scavenger_init(&cgc__gc.scav);
    atomic_store(&mem_limit, cgc__cfg.memlimit);
    atomic_store(&container_limit, cgc__cfg.container_limit);
    cgc__pacer_recompute();
    cgc__fork_init();
    atomic_store(&cgc__initialized, 1);
    cgc__register_current(0);
    /* CGC_FAULTS (debug builds), from here on: a failure while starting is fatal by design. */
    cgc__fault_set(cgc__cfg.fault_percent, cgc__cfg.fault_seed);
    cgc__follower_start();
    atomic_store(&start_line_due, cgc__cfg.gctrace != 0);
}

void cgc__ensure_init(void)
{
    if (LIKELY(atomic_load_explicit(&cgc__initialized, memory_order_acquire)))
        return;
    pthread_once(&init_once, init);
    /* Said out of pthread_once: a SIGPIPE handler that leaves by longjmp
     * (cgc__say_line) would leave the once in progress for ever. */
    if (atomic_exchange(&start_line_due, 0)) {
        /* In concurrent mode, which cycles mark concurrently (mark_short). */
        char which[64] = "";
        if (cgc__concurrent_mode() && cgc__cfg.gcconcurrent >= 1)
            snprintf(which, sizeof which, "; every cycle: CGC_DEBUG=gcconcurrent=%d", cgc__cfg.gcconcurrent);
        else if (cgc__concurrent_mode())
            snprintf(which, sizeof which, "; a mark under %.1f ms stops the world", STOPPED_MARK_MAX_NS / 1e6);
        cgc__say("cgc: %s; GC percent %s%d, %d marker%s; mark: %s (%s%s)\n", cgc__cfg.limit_reason,
                 cgc__cfg.gc_percent < 0 ? "off " : "", cgc__cfg.gc_percent,
                 cgc__cfg.markers, cgc__cfg.markers == 1 ? "" : "s",
                 cgc__concurrent_mode() ? "concurrent" : "stop-the-world", cgc__dirty_why(), which);
    }
}

/* The library initialises when it is loaded, on the thread that loads it
 * (the main thread for a program linked with it), which it registers. */
__attribute__((constructor)) static void cgc__constructor(void)
{
    cgc__ensure_init();
}

/* ---- memory outside cgc's count --------------------------------------- */

/* Reads the whole (small) file into buf; returns its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t len = read(fd, buf, n - 1);
    close(fd);
    if (len >= 0)
        buf[len] = 0;
    return len;
}

/* cgc's memory outside the heap's pages: span descriptors, mark bytes and
 * stacks, thread caches, other metadata. */
static uint64_t nonheap_bytes(void)
{
    uint64_t sys = cgc__sys_bytes(), heap_sys = atomic_load(&cgc__mem.heap_sys);
    return sys > heap_sys ? sys - heap_sys : 0;
}

static void settle(_Atomic uint64_t *v, uint64_t now)
{
    uint64_t prev = atomic_load(v);
    if (now < prev && prev != UINT64_MAX)
        now = prev - (prev - now) / 64;
    atomic_store(v, now);
}

/* Memory the process holds outside cgc's count: the program's malloc and
 * mmap, thread stacks, other allocators' arenas. The soft limit does not
 * count it (SPEC §4: it counts cgc's memory, as GOMEMLIMIT counts what Go's
 * runtime holds); the container does. With a soft limit equal to the
 * container's (CGC_GC=off, CGC_MEMLIMIT=limits.memory), a C service with
 * 3 MiB of such memory was OOM-killed at 38-76 MiB limits while cgc held its
 * own total at 95-97% of the limit. So it is measured, and the hard-limit
 * guard (hard_room) subtracts it from the container's limit:
 *
 *     outside_proc = anonymous resident memory - cgc's resident memory
 *     outside_cg   = the cgroup's charge - cgc's resident memory
 *
 * Anonymous: statm's resident less its shared pages. Shared-library pages
 * are resident but charged to whichever cgroup first read them (14 MiB of
 * them in the demo service, with the cgroup's mapped_file at 0); counting
 * them made the bound 14 MiB tighter than asked. cgc's resident memory: the
 * heap's resident pages (mincore, cgc__heap_resident_bytes) plus metadata.
 * Not sys - heap_released: that also counts pages handed out but never
 * written, which in the demo service reached 16 MiB (cgc's total 46.8 MiB
 * with the cgroup's usage at 30.9) and so hid the outside memory entirely:
 * the service was killed before its first collection.
 *
 * The cgroup's charge (cgc__cgroup_charged: usage less inactive page cache)
 * also sees what statm cannot: kernel memory charged to the cgroup (page
 * tables, socket buffers, thread kernel stacks) and other processes of the
 * same container; the guard uses it when it can be read.
 *
 * Cost: three system calls for statm, two files of the cgroup, and a
 * page-table walk for mincore (~1 us per MiB of heap). Measured at most
 * every 10 ms, and never more often than 50x the last measurement's
 * duration (<= 2% of one CPU for any heap size). measure_lock held. */
static void measure_locked(int64_t now)
{
    char buf[128];
    if (read_small("/proc/self/statm", buf, sizeof buf) <= 0)
        return;
    unsigned long long size = 0, resident = 0, shared = 0;
    if (sscanf(buf, "%llu %llu %llu", &size, &resident, &shared) != 3)
        return;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t anon = (resident > shared ? resident - shared : 0) * page;
    uint64_t heap_res = cgc__heap_resident_bytes();
    uint64_t ours = heap_res == UINT64_MAX ? cgc__mapped_bytes() : heap_res + nonheap_bytes();
    /* Both rise at once and fall slowly (1/64 of the difference per
     * measurement, ~0.6 s at the 10 ms rate): connections come and go in
     * bursts shorter than that, and the next burst needs the room again. */
    settle(&outside_proc, anon > ours ? anon - ours : 0);
    int64_t charged = atomic_load(&container_limit) >= 0
                          ? cgc__cgroup_charged(cgc__cfg.cgroup_dir, cgc__cfg.cgroup_version)
                          : -1;
    settle(&outside_cg, charged < 0 ? UINT64_MAX : (uint64_t)charged > ours ? (uint64_t)charged - ours : 0);
    int64_t took = cgc__now_ns() - now;
    atomic_store(&outside_interval_ns, took * 50 > 10000000 ? took * 50 : 10000000);
}

static void measure_outside(void)
{
    int64_t now = cgc__now_ns();
    if (now - atomic_load(&outside_measured_ns) < atomic_load(&outside_interval_ns))
        return;
    /* Another thread measuring now would give the same answer; the lock
     * also serialises cgc__cgroup_charged's static buffers. */
    if (pthread_mutex_trylock(&measure_lock) != 0)
        return;
    /* The files are read with open and read, cancellation points, and an
     * allocating thread measures here inside a cgc section
     * (cgc__pacer_heap_grew): cancelled there, it died with measure_lock
     * held, so nothing was measured again, and registered, in_cgc set
     * (test_cancel_alloc). No allocation is a cancellation point. */
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    atomic_store(&outside_measured_ns, now);
    measure_locked(now);
    pthread_setcancelstate(cancel, NULL);
    pthread_mutex_unlock(&measure_lock);
}

/* What the hard-limit guard subtracts from the container's limit: the
 * cgroup's charge beyond cgc's memory, or this process's where the cgroup's
 * files cannot be read. */
static int64_t guard_outside(void)
{
    uint64_t cg = atomic_load(&outside_cg);
    return cg == UINT64_MAX ? (int64_t)atomic_load(&outside_proc) : (int64_t)cg;
}

/* The hard-limit guard's bound on cgc's own memory, INT64_MAX when there is
 * none:
 *
 *     H - margin - guard_outside()
 *
 * It applies whenever a soft limit is in force (any CGC_MEMLIMIT but off,
 * or a cgc_set_memory_limit below INT64_MAX) and the process is in a memory
 * cgroup with a hard limit H; it follows H (background_main). It bounds
 * everything the cgroup is charged for (other processes of the container,
 * kernel memory, the program's malloc) with a margin: cgc never plans to
 * fill the last 1/16 of H (at least 2 MiB). The kernel charges what no
 * measurement here sees in time — dirty page cache it cannot drop at once,
 * a burst of connections between two measurements — and at H a miss is an
 * OOM kill. In the demo (soft limit = cgroup limit = 36-43 MiB, CGC_GC=off)
 * the service ran at 97-100% of H and was killed in a third of the runs;
 * keeping 1/32 of H free, in 2 of 11; with 1/16, in none of 8. That is the
 * 5-10% of headroom Go's GC guide advises when GOMEMLIMIT is set near a
 * hard limit. CGC_MEMLIMIT=off turns it off with the soft limit: off is
 * Go's behaviour without GOMEMLIMIT (SPEC §4). */
static int64_t hard_room_for(int64_t hard, int64_t soft, int64_t outside)
{
    if (hard <= 0 || soft == INT64_MAX)
        return INT64_MAX;
    int64_t margin = hard / 16 > ((int64_t)2 << 20) ? hard / 16 : (int64_t)2 << 20;
    int64_t room = hard - margin - outside;
    return room > 0 ? room : 0;
}

static int64_t hard_room(void)
{
    return hard_room_for(atomic_load(&container_limit), atomic_load(&mem_limit), guard_outside());
}

/* The limit every check (goal, scavenger target, release on growth) works
 * against, INT64_MAX when there is none:
 *
 *     min(soft limit, hard_room())
 *
 * Both bound cgc's own memory (sys - heap_released). The soft limit is not
 * reduced by the program's malloc: that made a program with more malloc'd
 * memory than its soft limit collect continuously (an effective limit of 0),
 * and docs that advised lowering the limit by the malloc share subtracted it
 * twice. A soft limit well below H (cgc's default is 90% of it) leaves the
 * first term the smaller; the guard binds when the container fills up. */
static int64_t effective_limit(void)
{
    int64_t limit = atomic_load(&mem_limit);
    int64_t room = hard_room();
    return room < limit ? room : limit;
}

/* Whether n more bytes of objects would take cgc past the guard's bound:
 * what free heap pages cannot hold is mapped anew. */
static bool over_hard_room_by(uint64_t n)
{
    int64_t room = hard_room();
    if (room == INT64_MAX)
        return false;
    uint64_t free = atomic_load(&cgc__mem.heap_free);
    return cgc__mapped_bytes() + (n > free ? n - free : 0) >= (uint64_t)room;
}

/* Past the hard limit's room the CPU limiter gives way: it exists so that a
 * soft limit set too low costs throughput instead of the program, and at a
 * container's hard limit the alternative is the OOM killer. On a loaded
 * machine a pause's wall time (counted on every CPU) makes collection look
 * more expensive than it is, the limiter engaged at 2 cycles with the heap
 * at the soft limit, and the demo's default configuration overshot into
 * the cgroup's limit and was killed. */
static bool over_hard_room(void)
{
    return over_hard_room_by(0);
}

/* ---- pacing ------------------------------------------------------------- */

/* pacer_lock is also taken by the collector while the world is stopped, so
 * a registered thread must never be stopped holding it: it holds it only
 * inside a cgc section. */
void cgc__pacer_lock(void)
{
    cgc__enter_self();
    pthread_mutex_lock(&cgc__gc.pacer_lock);
}

void cgc__pacer_unlock(void)
{
    pthread_mutex_unlock(&cgc__gc.pacer_lock);
    cgc__leave_self(cgc__self);
}

/* Whether cycles mark concurrently: a dirty-page tracker works (dirty.c),
 * and neither CGC_DEBUG=gcstoptheworld=1 nor gcconcurrent=0 was asked for
 * (then the tracker's mode is NONE). Some cycles of this mode stop the
 * world all the same: a heap whose whole mark is short (mark_short), a
 * memory limit that leaves too little room (room_too_small), a tracker
 * that fails to arm. */
bool cgc__concurrent_mode(void)
{
    return cgc__cfg.gcconcurrent != 0 && cgc__dirty_mode_now() != CGC__DIRTY_NONE;
}

static uint64_t mark_alloc_bytes;   /* heap_live growth during the last concurrent mark */
static bool mark_outrun;            /* an allocation waited at the last concurrent cycle's backstop */
static uint64_t backstop_waits_at_start;   /* backstop_waits as the current concurrent cycle started */


/* The trigger runway of a concurrent cycle: the program keeps allocating
 * while the mark runs, so the cycle starts before the goal, early enough
 * that the mark ends near it (Go's trigger, docs/pacing.md "Concurrent
 * mark"). The runway is what the program allocated during the last
 * concurrent mark (as if it had not assisted: conc_finish), plus a quarter
 * for the error of that guess and 1/16 of the room for a mark that grows
 * with the heap; before any concurrent mark has been measured, a third of
 * the room. It never takes more than a twentieth of the room (goal - marked)
 * when the proportional goal sets the goal, nor more than 3/10 (Go's bound:
 * its trigger is at least 70% of the way to the goal) when the memory
 * limit does, or when an allocation waited at the last cycle's backstop
 * (the program outran the mark: a slow mark, a loaded machine, a build
 * with AddressSanitizer, where test_shadow_table's program waited through
 * every round with a tenth). The assists make up for a runway that is too
 * short, and a longer one runs more cycles: the guess above runs ahead of
 * the marks (with 3/10, churn's marks ended at 130 MB of a 140 MB goal,
 * every cycle), and the room a mark leaves unused is allocation its cycle
 * does without. Measured, 3 runs each, alternating, quiet machine: churn 19
 * 10000000, 25 cycles and 1.93-2.03 s with a tenth against 32 and
 * 2.19-2.34 s with 3/10 (stop-the-world: 23); binary-trees 19, 134-136 and
 * 2.08-2.18 s against 169 and 2.48-2.65 s (125); the marks now end at the
 * goal, and churn's peak RSS is 172 MB against 157 (stop-the-world 160,
 * its heap at the same goal). 7/8 of the room had run more cycles still
 * (churn 19 5000000 at load 16: 20-21 against 17-18 with 3/10). Once
 * assists had become cheaper (7253611: no copying of their stacks back,
 * no spinning while no marker shares), a twentieth beat a tenth: churn 19
 * 10000000, 5 rounds alternating, 1.39 s median and 23-24 cycles against
 * 1.46 s and 25 (stop-the-world 1.23 s, 23); binary-trees 21, 3 rounds,
 * 8.30 s and 147-148 cycles against 8.82 s and 155-160 (stop-the-world
 * 7.62 s, 143); churn 22 6000000 (512 MiB), 6 cycles against 7 as
 * stop-the-world, 1.36-1.61 s against 1.86-2.01. A fortieth ran 23 cycles
 * in churn but 8.8 s in binary-trees: there the assists took over. Under
 * the memory limit the longer bound stays: there the backstop is only
 * 1/16 of the room past the goal, and the limit must hold.
 *   Past the goal while a mark runs, allocation is held back
 * (cgc__gc.throttle, wait_for_mark): at the goal plus 1/16 of the room
 * when the memory limit sets the goal (the limit must hold), a quarter of
 * the room later when the proportional goal does (Go lets the heap
 * overshoot while assists catch up; a wait is a pause of the waiting
 * thread). pacer_lock held. */
static uint64_t runway_for(uint64_t goal, uint64_t marked)
{
    uint64_t room = goal - marked;
    uint64_t ran = mark_alloc_bytes;
    uint64_t runway = ran ? ran + ran / 4 + room / 16 : room / 3;
    bool limited = goal < cgc__gc.pacer.prop_goal;
    uint64_t cap = limited || mark_outrun ? room / 10 * 3 : room / 20;
    return runway < cap ? runway : cap;
}

/* Whether the next cycle, in concurrent mode, marks with the world stopped
 * all the same: when the memory limit sets the goal and leaves too little
 * room for a concurrent mark. A concurrent cycle lets the program allocate
 * its room less what it allocates during the mark: those objects are
 * allocated black and stay to the next cycle, whose marked base they
 * raise. With R the program's allocation during a mark (mark_alloc_bytes)
 * and room the goal less the marked heap, a concurrent cycle runs
 * room / (room - R) times as many cycles as stop-the-world for the same
 * allocation, each a mark that costs more CPU (docs/concurrent.md), and
 * under the limit the program cannot run ahead either: past 1/16 of the
 * room it waits for the mark, which is slower than a stop-the-world one.
 * So where the runway the mark wants (R and a quarter) is more than the
 * limit's bound of 3/10 of the room, or the last cycle's program waited at
 * the backstop, the cycle stops the world: bench/limit's soft90 ran 153
 * concurrent cycles in 1.6x the wall time of stop-the-world's 96.
 * Measured again only by a concurrent cycle, R is taken down by an eighth
 * at each cycle that stops the world for it, so that a program that has
 * slowed down gets concurrent cycles back. Not under the proportional
 * goal, whose backstop is a quarter of the room past it: there the
 * program's assists make the mark keep up (docs/pacing.md), nor with
 * CGC_DEBUG=gcconcurrent=2. pacer_lock held. */
static _Atomic bool next_stw_room;  /* the next cycle marks with the world stopped for room_too_small */
static _Atomic bool next_stw_short; /* ... for mark_short */

static bool room_too_small(uint64_t goal, uint64_t marked)
{
    if (cgc__cfg.gcconcurrent >= 2 || goal == UINT64_MAX || goal >= cgc__gc.pacer.prop_goal)
        return false;
    if (goal <= marked)
        return true;
    uint64_t room = goal - marked, want = mark_alloc_bytes + mark_alloc_bytes / 4;
    return mark_outrun || want > room / 10 * 3;
}

/* Whether the next cycle, in concurrent mode, marks with the world stopped
 * all the same because a concurrent cycle would not make its pause much
 * shorter. A concurrent cycle stops the world twice, and each stop scans
 * the roots (globals and stacks) and flushes the caches; the second also
 * rescans the pages written. It costs more besides: the tracker armed and
 * disarmed, a write fault per page written during the mark, the mark run
 * with the program (rescans, one marker), a trigger runway and objects
 * allocated black that raise the peak, the concurrent mark's own working
 * memory at the heap's peak (marker 0 holds what the roots reach through
 * the concurrent phase), the page heap's pointer-free side (alloc.c).
 * Measured on Guile under compat_real_guile (2-7 MB collections, 1 MB of
 * globals, 5 runs each), every cycle concurrent against every cycle
 * stopped: stopped time per 2 MB cycle 0.85 ms against 0.6 for the whole
 * mark; 0.41 s wall against 0.31; peak RSS 20.7 MB against 20.0 (libgc
 * 20.1), 0.6 MB of it the mark's working memory (gc_sys). So a cycle
 * marks concurrently only when its whole mark, stopped, would take
 * longer than STOPPED_MARK_MAX_NS and than three times a concurrent
 * cycle's stopped time: the whole mark predicted from the heap marked
 * last and the roots at the rate stopped marks ran at (stw_ns_per_byte),
 * a concurrent cycle's stops from the last few (conc_stop_ns) or, before
 * one ran, as two scans of the roots at that rate. With a first bound of
 * 1 ms alone, Guile's last collections (5 MB, 2.5-4 ms stopped, 1.4-3 ms
 * stopped when concurrent) marked concurrently and its peak RSS stayed
 * 0.7 MB above; with a factor of 2, runs went back and forth between the
 * modes on those. The bound of 1 ms let churn's second cycle (7 MB,
 * predicted 0.84 ms) stop for 1.3 ms, where its concurrent cycles stop
 * for 0.3-0.6: at 0.5 ms its longest stop at start-up is 0.6-1.1 ms
 * (3 runs) against 1.2-2.0. A large heap's pause is then its concurrent
 * cycle's; a small heap's, at most about max(0.5 ms, 3x that). Not with
 * CGC_DEBUG=gcconcurrent=1 or 2 (every cycle concurrent: the tests of the
 * concurrent mark on small heaps). pacer_lock held. */
static double stw_ns_per_byte;         /* 0: no stopped mark measured yet (then 2 GB/s) */
static uint64_t last_root_bytes;       /* the last cycle's globals and stacks */
static double conc_stop_ns;            /* a concurrent cycle's stopped time (both stops), mean of the last few */

static bool mark_short(uint64_t marked)
{
    if (cgc__cfg.gcconcurrent >= 1)
        return false;
    double rate = stw_ns_per_byte ? stw_ns_per_byte : 0.5;
    double conc = conc_stop_ns ? conc_stop_ns : 2 * (double)last_root_bytes * rate;
    double bound = conc * 3 > STOPPED_MARK_MAX_NS ? conc * 3 : STOPPED_MARK_MAX_NS;
    return (double)(marked + last_root_bytes) * rate < bound;
}

/* A stopped mark's rate, from a cycle that marked `bytes` (heap and roots)
 * in mark_ns: the first one as it is, then the mean of the last few, so
 * that one mark slowed by the machine does not hand the next cycles to
 * the other mode. Marks of less than 1 MiB are left out: their time is
 * mostly fixed costs, not a rate (a heap of a few KiB and 0.2 MiB of
 * roots took 0.02-2.8 ms to mark on a loaded machine, test_mark_mode:
 * waking the helpers). pacer_lock held. */
static void measure_stopped_mark(uint64_t bytes, int64_t mark_ns)
{
    if (bytes < (1u << 20) || mark_ns <= 0)
        return;
    double r = (double)mark_ns / (double)bytes;
    stw_ns_per_byte = stw_ns_per_byte ? (stw_ns_per_byte * 3 + r) / 4 : r;
}

/* Sets the trigger, and the point 1/16 of the runway before it (from the
 * last cycle's marked bytes) where the helper markers are woken so they
 * are running when the cycle starts (mark.c, cgc__mark_prewake). t is a
 * goal (the runway is taken off it in concurrent mode) unless `exact`. */
static void set_trigger_at(uint64_t t, bool exact)
{
    uint64_t marked = cgc__gc.last_marked;
    bool conc = cgc__concurrent_mode();
    if (conc) {
        bool room = room_too_small(exact ? cgc__gc.heap_goal : t, marked);
        bool short_mark = mark_short(marked);
        atomic_store(&next_stw_room, room);
        atomic_store(&next_stw_short, short_mark);
        conc = !room && !short_mark;
        if (conc)   /* from now on, pointer-free spans on their own side */
            atomic_store_explicit(&cgc__heap_sides, true, memory_order_relaxed);
    }
    if (!exact && conc && t != UINT64_MAX && t > marked)
        t -= runway_for(t, marked);
    /* Concurrent: the helpers do not take part in the concurrent phase
     * (the background budget), so they are woken before the final stop
     * instead, when it needs them (collect_cycle). */
    atomic_store(&cgc__gc.prewake, conc ? UINT64_MAX : t > marked ? t - (t - marked) / 16 : t);
    atomic_store(&cgc__gc.trigger, t);
}

static void set_trigger(uint64_t t)
{
    set_trigger_at(t, false);
}

/* Whether the next cycle, in concurrent mode, marks with the world stopped
 * (set_trigger_at decided it). */
static bool next_stw(void)
{
    return atomic_load(&next_stw_room) || atomic_load(&next_stw_short);
}

/* Where proportional pacing alone would start a cycle: its goal, less the
 * runway in concurrent mode (but for a cycle the trigger was set to mark
 * stopped as mark_short: decided there, not again here, where the rates
 * the last cycle measured since could answer otherwise, and a trigger
 * below this point let the limiter hold back a collection no memory limit
 * asked for: test_limiter_scope under ASan). Below it, it is the memory limit that asks
 * for a cycle (the CPU limiter may hold it back). pacer_lock held. */
static uint64_t prop_trigger(void)
{
    uint64_t g = cgc__gc.pacer.prop_goal, marked = cgc__gc.last_marked;
    if (!cgc__concurrent_mode() || atomic_load(&next_stw_short) || g == UINT64_MAX || g <= marked)
        return g;
    return g - runway_for(g, marked);
}

/* Recomputes goal and trigger from the pacer's knobs and the current memory
 * picture. heap_alloc is approximated by heap_live between cycles. */
static void recompute_locked(uint64_t heap_alloc)
{
    cgc__mem_state m = {
        .mapped = cgc__mapped_bytes(),
        .heap_free = atomic_load(&cgc__mem.heap_free),
        .heap_alloc = heap_alloc,
        .outside = atomic_load(&mem_limit) == INT64_MAX ? 0 : (uint64_t)(atomic_load(&mem_limit) - effective_limit()),
    };
    uint64_t goal = cgc__pacer_update(&cgc__gc.pacer, &m);
    cgc__gc.heap_goal = goal;
    set_trigger(goal);
}

/* The limit goal depends on memory outside heap objects (metadata, the
 * unused parts of spans), which grows with the heap; Go recomputes it every
 * time it looks at the goal. We do it whenever a span comes from the page
 * heap (that is when mapped memory changes), and only with a limit set. */
void cgc__pacer_heap_grew(void)
{
    if (atomic_load(&mem_limit) != INT64_MAX) {
        /* The outside memory grows too (a burst of connections brings
         * threads, stacks, their allocators' arenas): measured only at
         * collections, it was stale exactly when the heap filled up from
         * an idle start, and the demo service was OOM-killed under a soft
         * limit equal to its cgroup's before its first collection. The
         * measurement is rate-limited (measure_outside). */
        measure_outside();
        cgc__pacer_recompute();
    }
}

void cgc__pacer_recompute(void)
{
    cgc__pacer_lock();
    recompute_locked(atomic_load(&cgc__gc.heap_live));
    cgc__pacer_unlock();
}

/* While the CPU limiter is on, memory is not released synchronously (Go's
 * allocSpan does the same): the heap is over the limit because collection
 * already takes half the CPU, and every page given back here is faulted in
 * again by the next span allocation — on this kind of machine ~10 us a page,
 * plus the madvise's TLB shootdown on every CPU. With a limit at half the
 * live heap that refault cycle alone cost more CPU than the mutator. The
 * background scavenger still works within its budget, and the first look
 * after the limiter turns off releases what is over. A plain read: a stale
 * value only moves one release by one span. */
static bool limiter_on(void)
{
    return __atomic_load_n(&cgc__gc.limiter.enabled, __ATOMIC_RELAXED) != 0 && !over_hard_room();
}

/* The total the allocation path and the sweeper release down to: the
 * effective limit, but never below what the heap will grow back to before
 * the next collection (the goal, plus metadata). When the live heap alone
 * is over the limit, the goal sits at the live heap, and pages released
 * below it are faulted straight back in: with a limit at half the live
 * heap that release-and-refault cycle took a third of the CPU (madvise's
 * TLB shootdowns and ~10 us page faults) between the limiter's episodes. */
static uint64_t release_floor(int64_t limit)
{
    uint64_t need = cgc__gc.heap_goal + nonheap_bytes();
    uint64_t lim = (uint64_t)(limit > 0 ? limit : 0);
    return need > lim ? need : lim;
}

void cgc__limit_before_grow(uint64_t bytes)
{
    int64_t limit = effective_limit();
    if (limit == INT64_MAX || limiter_on())
        return;
    uint64_t mapped = cgc__mapped_bytes(), floor = release_floor(limit);
    if (mapped + bytes > floor)
        cgc__heap_release_locked(mapped + bytes - floor);
}

void cgc__gc_cpu_background(int64_t ns)
{
    cgc__pacer_lock();
    cgc__gc.gc_cpu_ns_total += ns;
    cgc__limiter_add_background(&cgc__gc.limiter, cgc__now_ns(), ns);
    cgc__pacer_unlock();
}

void cgc__gc_idle_background(int64_t ns)
{
    cgc__pacer_lock();
    cgc__limiter_add_idle(&cgc__gc.limiter, cgc__now_ns(), ns);
    cgc__pacer_unlock();
}

void cgc__release_over_limit(void)
{
    int64_t limit = effective_limit();
    if (limit == INT64_MAX || limiter_on())
        return;
    uint64_t mapped = cgc__mapped_bytes(), floor = release_floor(limit);
    uint64_t target = floor == (uint64_t)limit ? floor / 100 * 95 : floor;
    if (mapped > floor)
        cgc__heap_release(mapped - target);
}

/* Reports the program threads' sweeping (sweep.c), their mark assists
 * (assist.c) and the helper markers' wait for a pre-woken cycle (mark.c)
 * as collection work; pacer lock held. */
static void fold_unreported_work(int64_t now)
{
    int64_t ns = atomic_exchange_explicit(&cgc__mutator_sweep_ns, 0, memory_order_relaxed) +
                 atomic_exchange_explicit(&cgc__mark_spin_ns, 0, memory_order_relaxed) +
                 atomic_exchange_explicit(&cgc__assist_unreported_ns, 0, memory_order_relaxed);
    if (ns <= 0)
        return;
    cgc__gc.gc_cpu_ns_total += ns;
    cgc__limiter_add_background(&cgc__gc.limiter, now, ns);
}

_Atomic int cgc__collect_held;
void (*_Atomic cgc__mark_test_hook)(void);
void (*_Atomic cgc__mark_test_hook_start)(void);
void (*_Atomic cgc__mark_test_hook_final)(void);
void (*_Atomic cgc__mark_test_hook_copied)(void);

/* ---- the concurrent cycle's thread ------------------------------------- */

/* In concurrent mode an automatic cycle runs on a thread of its own (the
 * "collector"), not on the allocating thread that reached the trigger: the
 * concurrent mark takes as long as a stop-the-world mark did, and on the
 * allocating thread it would be the same gap in the program's work. The
 * collector is not registered (no stop reaches it), blocks every signal,
 * and runs cgc__collect_internal like any thread. */
static pthread_mutex_t worker_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_cv = PTHREAD_COND_INITIALIZER;   /* a cycle is wanted */
static _Atomic int worker_wanted;
static _Atomic int worker_started;
static _Atomic int cycle_active;   /* a concurrent cycle was asked for and has not ended */

static void *worker_main(void *arg)
{
    (void)arg;
    cgc__name_thread("cgc-collector");
    cgc__block_signals();
    for (;;) {
        pthread_mutex_lock(&worker_lock);
        while (!atomic_load(&worker_wanted))
            pthread_cond_wait(&worker_cv, &worker_lock);
        atomic_store(&worker_wanted, 0);
        pthread_mutex_unlock(&worker_lock);
        cgc__collect_internal(false);
    }
    return NULL;
}

/* Asks the collector thread for a cycle; false if it cannot be started
 * (then the caller collects itself, as in stop-the-world mode). Caller not
 * in a cgc section. */
static void set_throttle(void);

static bool request_cycle(void)
{
    /* cgc's other threads are created here, by a program thread, when no
     * cycle holds the collection lock, rather than by the collector: a
     * thread that glibc's malloc has not seen gets an arena of its own
     * (64 MiB of address space) at its first pthread_create (the new
     * thread's TLS is calloc'd), and test_rlimit_as lost one of its three
     * arenas to it. */
    if (pthread_mutex_trylock(&cgc__gc_lock) == 0) {
        cgc__mark_prepare();
        cgc__sweeper_start();
        cgc__background_start();
        pthread_mutex_unlock(&cgc__gc_lock);
    }
    if (!atomic_load(&worker_started) && atomic_exchange(&worker_started, 1) == 0) {
        pthread_t t;
        if (cgc__start_thread(&t, worker_main, NULL) != 0) {
            atomic_store(&worker_started, 0);
            return false;
        }
        pthread_detach(t);
    }
    if (atomic_load(&worker_wanted))
        return true;
    /* From here to the cycle's end, allocation is throttled (the collector
     * thread may take a while to wake and finish the last sweep), by the
     * backstop of this cycle's goal: the last cycle's, still in place
     * until the collector sets it, was below the heap whenever the heap
     * was growing (churn filling its table: waits of 5-30 ms for the
     * whole cycle, before its mark had even started). */
    set_throttle();
    atomic_store(&cycle_active, 1);
    cgc__thread *self = cgc__enter_self();
    pthread_mutex_lock(&worker_lock);
    atomic_store(&worker_wanted, 1);
    pthread_cond_signal(&worker_cv);
    pthread_mutex_unlock(&worker_lock);
    cgc__leave_self(self);
    return true;
}

/* Bumped at the end of every cycle; waiters sleep on it with a futex.
 * Not a condition variable: glibc's broadcast waits for earlier waiters to
 * leave the wait, and a waiter parked by a stop-the-world (in its signal
 * handler, inside the wait) left the broadcasting collector waiting for
 * the next stop's end, which waited for a thread blocked on that
 * collector's lock. */
static _Atomic unsigned cycle_seq;

static void cycle_ended(void)
{
    atomic_fetch_add(&cycle_seq, 1);
    syscall(SYS_futex, (unsigned *)&cycle_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* The allocating thread outran the mark (heap_live past cgc__gc.throttle,
 * or the container's room is used up): it waits until the cycle ends, in
 * slices, looking again at each (the cycle may have been held back, or
 * the trigger moved). Not in a cgc section: the final stop signals this
 * thread like any other, and the wait is interrupted and resumed. The time
 * is counted as assist time (/metrics).
 *   While it waits and a mark is under way, the thread marks, sleeping
 * WAIT_POLL_NS between tries that found no work. Each try marks until
 * what it took is done, not for a slice of the clock: the thread waits for
 * the mark anyway, and a slice ended with its stack handed back to the
 * shared list in packets, which are kept for good (test_mark_large_meta:
 * a waiter gave back 65k entries, 1 MiB of packets, in 6 runs of 8 with
 * another process running).
 * It used to sleep through the mark, so a program stopped at the backstop
 * gave the mark nothing while the collector's marker was not running: on
 * a loaded machine test_assist's allocating thread slept 20 s at the
 * backstop beside a held marker, with the tree's marking waiting on the
 * shared list (2 runs of 15 with two CPU hogs). */
#define WAIT_POLL_NS 200000
static void wait_for_mark(void)
{
    int64_t t0 = cgc__now_ns(), c0 = cgc__thread_cpu_ns();
    cgc__wait_begin();
    atomic_fetch_add_explicit(&cgc__gc.backstop_waits, 1, memory_order_relaxed);
    if (!atomic_load_explicit(&cgc__marking, memory_order_relaxed))
        atomic_fetch_add_explicit(&cgc__gc.backstop_waits_premark, 1, memory_order_relaxed);
    uint32_t n0 = atomic_load(&cgc__gc.num_gc);
    cgc__thread *self = cgc__self;
    for (;;) {
        unsigned seq = atomic_load(&cycle_seq);
        if (atomic_load(&cgc__gc.num_gc) != n0 ||
            !(atomic_load(&cycle_active) || atomic_load(&worker_wanted)) || cgc__now_ns() - t0 > 10000000000ll)
            break;
        bool marking = self && atomic_load_explicit(&cgc__marking, memory_order_acquire);
        if (marking) {
            cgc__enter(self);
            uint64_t scanned = cgc__mark_assist((uint64_t)1 << 40, 0);
            cgc__leave(self);
            if (scanned)
                continue;
        }
        struct timespec rel = {0, marking ? WAIT_POLL_NS : 5000000};
        syscall(SYS_futex, (unsigned *)&cycle_seq, FUTEX_WAIT_PRIVATE, seq, &rel, NULL, 0);
        cgc__wait_look();
    }
    int64_t waited = cgc__now_ns() - t0;
    atomic_fetch_add(&cgc__gc.assist_ns, waited);
    atomic_fetch_add_explicit(&cgc__assist_cycle_ns, waited, memory_order_relaxed);
    /* Collection work for the CPU limiter, as Go counts its assists: the
     * thread's own marking here, and the CPU the process left unused while
     * it waited (waits.c). Without the second a limit below the live heap
     * (test_gctrace's spiral) held every allocation for a whole cycle,
     * 400,000 cycles, while the collector's own CPU stayed under half the
     * machine and the limiter never engaged. Not the wait's wall time:
     * four threads waiting beside two busy markers read as 158% of the
     * CPU (waits.c). */
    cgc__wait_end();
    int64_t own = cgc__thread_cpu_ns() - c0;
    atomic_fetch_add_explicit(&cgc__assist_cycle_cpu_ns, own, memory_order_relaxed);
    cgc__gc_cpu_background(own);
}

/* Whether a heap of live bytes and n more would be past where allocation
 * waits for a concurrent mark: the backstop (cgc__gc.throttle), or cgc's
 * memory past the hard-limit guard's bound. */
static bool past_backstop(uint64_t live, uint64_t n)
{
    return live + n >= __atomic_load_n(&cgc__gc.throttle, __ATOMIC_RELAXED) || over_hard_room_by(n);
}

/* The backstop, asked before a large allocation rather than after it.
 * Every allocation is checked against the backstop once it has been made
 * (cgc__maybe_collect), so each thread may pass it by one object; for a
 * small object that is nothing, for a large one it is its size. During a
 * concurrent mark nothing is reclaimed and a freed object stays until the
 * cycle ends (a realloc keeps both buffers), so at the container's limit
 * those overshoots are what the hard-limit guard's margin must absorb:
 * the demo service's report threads grow their output buffers by
 * doubling (cgc_realloc to 2 and 4 MiB), and with its soft limit equal to
 * its cgroup's (34 MiB) it was OOM-killed in its first concurrent cycle,
 * 0.13 s after its start, in the copy into a fresh 2 MiB buffer (2 runs
 * of 39; stop-the-world, which collects at the goal, 5% below the guard's
 * bound, none of 38). Waiting before the allocation when it would pass the
 * backstop or the guard's bound keeps a large object's pages out of the
 * cgroup until the cycle has freed what it can: none of 55 since
 * (test_large_backstop). */
void cgc__before_large(uint64_t n)
{
    if (atomic_load(&cycle_active) && past_backstop(atomic_load(&cgc__gc.heap_live), n))
        wait_for_mark();
}

void cgc__maybe_collect(void)
{
    uint64_t live = atomic_load(&cgc__gc.heap_live);
    if (atomic_load(&cycle_active)) {
        /* A concurrent mark runs: the allocation goes on, paying for
         * itself with mark assists, and waits only when it outran the
         * mark all the same (the backstop). */
        if (cgc__self && atomic_load_explicit(&cgc__marking, memory_order_relaxed)) {
            cgc__assist(cgc__self);
            live = atomic_load(&cgc__gc.heap_live);
        }
        if (past_backstop(live, 0))
            wait_for_mark();
        return;
    }
    if (live < atomic_load(&cgc__gc.trigger) || atomic_load(&cgc__collect_held))
        return;
    cgc__pacer_lock();
    int64_t now = cgc__now_ns();
    fold_unreported_work(now);
    /* Held back only while the heap is under the proportional goal, that
     * is while it is the memory limit that asks for this collection: the
     * limiter exists for the limit's death spiral (SPEC §4). Proportional
     * pacing bounds its own cost (each cycle is paid for by gc_percent% of
     * the live heap in new allocation), and Go's limiter never stops a
     * cycle from starting either — it only lets the heap grow while one
     * runs. Before, one pause stalled 300 ms by the scheduler on a loaded
     * machine counted 600 ms on two CPUs, filled the bucket, and a program
     * with no binding limit grew from 1 MiB to 1.4 GiB while the debt was
     * paid back (test_api, 1 Debug run in 50 at load 10). */
    uint64_t ptrig = prop_trigger();
    if (live < ptrig && cgc__limiter_limiting(&cgc__gc.limiter, now) &&
        !over_hard_room()) {
        /* Collection already takes half the CPU: let the heap overshoot
         * rather than spiral. Look again after 1/32 more growth. */
        bool say = false;
        uint64_t goal = cgc__gc.heap_goal;
        uint32_t num = atomic_load(&cgc__gc.num_gc) + 1;
        if (!cgc__gc.limited_this_cycle) {
            cgc__gc.limited_this_cycle = 1;
            atomic_fetch_add(&cgc__gc.gc_limiter_cycles, 1);
            atomic_store(&cgc__gc.limiter_last_enabled_cycle, num);
            say = cgc__cfg.gctrace != 0;
        }
        uint64_t next = cgc__limiter_next_check(live);
        set_trigger_at(next < ptrig ? next : ptrig, true);
        cgc__pacer_unlock();
        /* Its own line, not a suffix: tools that read Go's gctrace anchor
         * "gc N @..." lines at both ends. Printed out of the cgc section:
         * stdio takes stderr's lock, which a thread stopped by another
         * collection may hold, and a thread in a section is waited for by
         * that stop (tests/test_gctrace_stderr_lock.c). With nothing of
         * cgc's held: a closed stderr pipe runs the program's SIGPIPE
         * handler here (cgc__say_line). */
        if (say)
            cgc__say("gc limiter: gc %u held back: collection above 50%% of the CPU; heap %llu MB, goal %llu MB\n",
                 num, (unsigned long long)(live >> 20), (unsigned long long)(goal >> 20));
        return;
    }
    cgc__pacer_unlock();
    if (cgc__concurrent_mode() && !next_stw() && request_cycle()) {
        if (past_backstop(live, 0))
            wait_for_mark();
        return;
    }
    cgc__collect_internal(false);
}

/* ---- the cycle ---------------------------------------------------------- */

static void flush_all_caches(void)
{
    for (cgc__thread *t = cgc__threads; t; t = t->next)
        cgc__tcache_flush(t);
}

/* The stop-the-world part of a cycle, with thread_lock held; run by
 * cgc__roots_hold once the loaded objects are listed. */
typedef struct cycle_pause {
    cgc__cycle_trace *tr;
    cgc__mark_result res;
    int64_t t0, t1, t2, t3;
    uint64_t stacks;
    /* concurrent cycles: the final stop began at c0 (t0, t1: the first
     * stop); heap_live after the first stop's flush and the growth since;
     * every marker takes part in the final stop */
    int64_t c0;
    uint64_t live_start, mark_alloc;
    bool all;
    bool keep_all;   /* a root could not be recorded: nothing freed (roots.c) */
    bool stopped;    /* the whole mark ran with the world stopped (run_pause) */
    int64_t check_ns;   /* debug builds: the invariant checks in the stop */
    int64_t s0, s1;     /* when the first (or only) stop and the final stop had the world stopped */
} cycle_pause;

/* A cycle that could not see every root (roots.c): every object is kept
 * and counted as live, heap bytes at the stop. */
static void keep_everything(cycle_pause *p, uint64_t heap)
{
    memset(&p->res, 0, sizeof p->res);
    p->res.marked_bytes = heap;
}

static void end_of_mark(cycle_pause *p);

/* The start of every stop: the world stopped (from *t; by *stopped), the
 * thread caches flushed, heap_lock taken; returns the bytes allocated and
 * not freed. */
static uint64_t stop_and_count(int64_t *t, int64_t *stopped)
{
    *t = cgc__now_ns();
    cgc__stop_world();
    *stopped = cgc__now_ns();
    /* A thread stopped while growing its TLS vector: this stop cannot see
     * every root, and cgc__roots_complete says so (tls.c). */
    cgc__tls_check();
    flush_all_caches();
    pthread_mutex_lock(&cgc__heap_lock);
    uint64_t nmalloc, bytes_malloc, nfree, bytes_freed;
    cgc__totals(&nmalloc, &bytes_malloc, &nfree, &bytes_freed);
    return bytes_malloc - bytes_freed;
}

static void run_pause(void *arg)
{
    cycle_pause *p = arg;
    p->tr->heap_before = stop_and_count(&p->t0, &p->s0);
    p->t1 = cgc__now_ns();

    /* A root could not be recorded (roots.c): a mark from the others would
     * free what only it refers to. Nothing is marked, finalized or swept;
     * every object is kept and counted as live. */
    p->keep_all = !cgc__roots_complete();
    p->stopped = !p->keep_all;
    if (p->keep_all)
        keep_everything(p, p->tr->heap_before);
    else
        cgc__mark(&p->res);
    end_of_mark(p);
    p->t3 = cgc__start_world();
}

/* The end of a stop that finished marking (heap_lock held, world
 * stopped): finalization, the sweep's start, the pacer. A cycle that keeps
 * everything (keep_all) neither finalizes nor sweeps. */
static void end_of_mark(cycle_pause *p)
{
    /* Weak handles, finalizers and cleanups, before sweeping can start:
     * what a queued finalizer needs is marked here (finalize.c). */
    if (!p->keep_all)
        p->res.marked_bytes += cgc__finalize_mark();
    p->t2 = cgc__now_ns();
    atomic_fetch_add(&cgc__gc.mark_overflows, (uint64_t)p->res.overflows);

#ifdef CGC_DEBUG_BUILD
    int64_t c0 = cgc__now_ns();
    cgc__heap_check_invariants();
    cgc__check_spans();
    p->check_ns = cgc__now_ns() - c0;
#endif
    if (!p->keep_all)
        cgc__sweep_start_cycle();
    /* The objects allocated black count in the heap now, but not in the
     * base of the next goal: most are garbage that this mark could not
     * see die (a churn's whole allocation during the mark), and counting
     * them grew the goal, and the next mark's black share, cycle after
     * cycle (test_limiter_scope: 3.6x the live heap, bound 3x). */
    atomic_store(&cgc__gc.heap_live, p->res.marked_bytes + p->res.black_bytes);
    uint64_t stacks = 0;
    for (cgc__thread *t = cgc__threads; t; t = t->next) {   /* as cgc__mark recorded them */
        if (t->stack_hi > t->stack_lo)
            stacks += t->stack_hi - t->stack_lo;
        if (t->alt_hi > t->alt_lo)
            stacks += t->alt_hi - t->alt_lo;
    }
    p->stacks = stacks;
    pthread_mutex_lock(&cgc__gc.pacer_lock);
    /* The roots and the stopped mark's rate, before the next cycle's mode
     * is chosen (recompute_locked: mark_short). */
    last_root_bytes = cgc__roots_globals_bytes() + stacks;
    if (p->stopped)
        measure_stopped_mark(p->res.marked_bytes + last_root_bytes, p->t2 - p->t1);
    cgc__gc.last_marked = p->res.marked_bytes;
    cgc__pacer_end_cycle(&cgc__gc.pacer, p->res.marked_bytes);
    recompute_locked(p->tr->heap_before);
    p->tr->goal = cgc__gc.heap_goal;
    pthread_mutex_unlock(&cgc__gc.pacer_lock);
    pthread_mutex_unlock(&cgc__heap_lock);
}

/* ---- a concurrent cycle's two stops (docs/concurrent.md) ---------------- */

/* The first stop: caches flushed while objects are still allocated white
 * (what they hold was written before the tracker was armed, and only a
 * scan can find it), then allocation turns black and the roots are
 * scanned. */
static void conc_start(void *arg)
{
    cycle_pause *p = arg;
    p->tr->heap_before = stop_and_count(&p->t0, &p->s0);
    /* A root that could not be recorded: no concurrent mark starts; this
     * stop is the whole cycle, and keeps everything (as run_pause). */
    p->keep_all = !cgc__roots_complete();
    if (p->keep_all) {
        keep_everything(p, p->tr->heap_before);
        p->tr->heap_after = p->tr->heap_before;
        end_of_mark(p);
        p->t1 = p->c0 = p->t3 = cgc__start_world();
        return;
    }
    atomic_store(&cgc__marking, 1);
    cgc__mark_start();
    pthread_mutex_unlock(&cgc__heap_lock);
    p->t1 = cgc__start_world();
}

/* The final stop: caches flushed (what they handed out becomes black),
 * the roots and written pages again, the mark completed; then as in a
 * stop-the-world cycle. */
static void conc_finish(void *arg)
{
    cycle_pause *p = arg;
    p->tr->heap_after = stop_and_count(&p->c0, &p->s1);
    uint64_t live = atomic_load(&cgc__gc.heap_live);
    p->mark_alloc = live > p->live_start ? live - p->live_start : 0;
    /* What the program would have allocated had it not assisted (or
     * waited): the growth over the part of the cycle it spent on its own
     * work. A runway of the assisted growth alone shrinks as the assists
     * slow the program, which makes them stronger, and the program ends
     * up doing the whole mark (docs/pacing.md "Concurrent mark"). At most
     * 4x the growth. */
    int64_t dur = p->c0 - p->tr->start_ns;
    int64_t assisted = atomic_load_explicit(&cgc__assist_cycle_ns, memory_order_relaxed);
    if (dur > 0 && assisted > 0) {
        int64_t own = dur - assisted > dur / 4 ? dur - assisted : dur / 4;
        p->mark_alloc = (uint64_t)((double)p->mark_alloc * (double)dur / (double)own);
    }
    uint64_t ran = mark_alloc_bytes;   /* pacer_lock: no mutator holds it now */
    mark_alloc_bytes = p->mark_alloc > ran ? p->mark_alloc : (ran * 3 + p->mark_alloc) / 4;
    mark_outrun = atomic_load(&cgc__gc.backstop_waits) != backstop_waits_at_start;
    /* A root lost since the first stop (a table that could not grow, a
     * thread whose stack is unknown): what the mark found is not all that
     * is live. Its marks are undone and the cycle keeps everything. */
    p->keep_all = !cgc__roots_complete();
    if (p->keep_all) {
        cgc__mark_abandon();
        keep_everything(p, p->tr->heap_after);
    } else {
        cgc__mark_finish(&p->res, p->all);
    }
    atomic_store(&cgc__marking, 0);
    end_of_mark(p);
    p->t3 = cgc__start_world();
}

/* Where allocation waits for the mark (wait_for_mark), set as a
 * concurrent cycle starts: the goal plus a quarter of the room (goal -
 * marked) when the proportional goal sets the goal, 1/16 of it when the
 * memory limit does. Not from the heap at the start: when the CPU limiter
 * had let the heap pass the goal, that ratcheted the bound up by the slack
 * at every cycle (test_reclaim: 4.9x the live heap, bound 2.5x). */
static uint64_t last_scan_work;   /* bytes the last concurrent mark scanned (assist.c); under gc_lock */

static void set_throttle(void)
{
    cgc__pacer_lock();
    uint64_t goal = cgc__gc.heap_goal, marked = cgc__gc.last_marked;
    uint64_t t = UINT64_MAX;
    if (goal != UINT64_MAX) {
        uint64_t room = goal > marked ? goal - marked : 0;
        bool limited = goal < cgc__gc.pacer.prop_goal;
        t = goal + (limited ? room / 16 : room / 4);
    }
    __atomic_store_n(&cgc__gc.throttle, t, __ATOMIC_RELAXED);
    /* The assists' expected work: what the last concurrent mark scanned,
     * or before one was measured, the live heap. */
    cgc__assist_cycle_start(last_scan_work ? last_scan_work : marked, goal, t);
    cgc__pacer_unlock();
}

/* Pre-cleaning rounds at most, and the dirty set (pages) small enough to
 * leave to the final stop (512 KiB of 4 KiB pages). It was 512 pages when
 * the counts included pointer-free pages, which cost nothing to rescan;
 * counted without them (4595808), churn's rounds stopped at 175-371 pages
 * where they had gone on, and its final stops grew (4 runs each: mean
 * 0.43 ms, p90 0.56, against 0.36 and 0.42). At 128 pages, and the bar
 * below at 64: mean 0.33, p90 0.40, against 0.33 and 0.42. */
#define PRECLEAN_MAX 8
#define PRECLEAN_DONE 128
/* A last round above this many pages (256 KiB; 512 KiB when the counts
 * included pointer-free pages, above) has the final stop mark
 * with every marker, woken ahead of it. A written page costs far more
 * than its 4 KiB: every marked object overlapping it is scanned whole,
 * and a table of pointers costs a lookup per word. Measured in churn
 * (64 MiB live): 1,400-3,000 pages left 5-8 MB to scan, 2.6-3.3 ms on
 * one marker while the other CPU sat idle in the stop. With both, four
 * runs each on a quiet machine: final stop mean 1.7-2.5 ms (one marker
 * 2.9-3.0), longest 2.3-4.0 ms (4.0-4.7). */
#define PRECLEAN_ALL 64

/* Whether pre-cleaning has done what it can: the round just done (n
 * pages) did not take a quarter off the set of the round before (last).
 * The set then sits near its floor — the pages the program writes during
 * one round (churn: its table of pointers, 1024 pages written in any
 * millisecond, and what it allocates meanwhile) — and another round costs
 * a rescan as large as the one it saves the final stop: measured, churn's
 * rounds went 10k, 5k, 2.5k, 2k, 1.5k, 2k pages, up to 8 rounds, and the
 * final stop found ~2k pages whatever the count. The bar was half; since
 * a round compares a copied table instead of rescanning it, rounds are
 * cheap enough that a quarter pays (churn 19 10000000, 5 runs each,
 * alternating, 135 cycles: final stop mean 0.63 ms, p99 0.99, against
 * 0.77 and 1.20; churn 22 6000000, 12 cycles: mean 2.4 ms against 3.3;
 * wall time within the noise). A set that grew is not given up on
 * before the third round: an arena mapped during the mark reads as
 * written until a round protects it. */
static bool preclean_converged(int round, long n, long last)
{
    if (round == 0)
        return false;
    if (n >= last)
        return round >= 2;
    return n > last / 4 * 3;
}

/* line: the cycle's gctrace line, written by the caller once it holds
 * nothing (left empty when gctrace is off or no cycle ran). */
static void collect_cycle(bool forced, char *line, size_t line_n)
{
    cgc__ensure_init();
    uint32_t n0 = atomic_load(&cgc__gc.num_gc);
    pthread_mutex_lock(&cgc__gc_lock);
    if (!forced && (atomic_load(&cgc__gc.num_gc) != n0 ||
                    atomic_load(&cgc__gc.heap_live) < atomic_load(&cgc__gc.trigger))) {
        pthread_mutex_unlock(&cgc__gc_lock);   /* another thread just collected */
        atomic_store(&cycle_active, 0);
        cycle_ended();
        return;
    }
    /* Everything this thread does for the cycle before the world stops
     * (sweeping what the last cycle left, starting helpers, reading
     * statm) is collection work, counted as GC CPU below: by the wall
     * clock, as the pause is and as the program's threads' sweeping is.
     * It was this thread's CPU time, and the limiter takes the rest of
     * the interval for the program's: on a loaded machine, where that
     * phase's wall time is several times its CPU time, the difference
     * drained the bucket at every cycle. With a limit below the live heap
     * (test_gctrace's spiral, one marker, load 10-20) the collector then
     * ran at every allocation, 330,000 cycles in 100 s, and the limiter
     * never engaged. One thread busy for w of wall is w of the CPUs the
     * limiter counts, whatever the scheduler gave it meanwhile. */
    int64_t pre0 = cgc__now_ns();
    cgc__collecting = 1;
    cgc__mark_prepare();
    cgc__sweeper_start();
    cgc__background_start();
    if (atomic_load(&mem_limit) != INT64_MAX)
        measure_outside();   /* the goal computed in this cycle uses it */

    cgc__cycle_trace tr = {.forced = forced};
    tr.start_ns = cgc__now_ns();
    pthread_mutex_lock(&cgc__sweeper_lock);
    /* Sweeping what the last cycle left is collection work done on this
     * thread. When collections come back to back — a limit below the live
     * heap — it is most of the cost (every cycle sweeps the whole heap), and
     * leaving it out let the collector take 64-68% of the CPU. */
    cgc__sweep_finish();
    int64_t pre_ns = cgc__now_ns() - pre0;
    cycle_pause p = {.tr = &tr};
    /* Concurrent: the tracker is armed before anything is scanned, so
     * every write after an object's scan is seen (docs/concurrent.md). */
    bool fallback = cgc__concurrent_mode() && next_stw();
    bool fallback_room = cgc__concurrent_mode() && atomic_load(&next_stw_room);
    bool conc = cgc__concurrent_mode() && !fallback && cgc__dirty_arm() == 0;
    /* The hot objects' copies, before anything is scanned (mark.c,
     * push_large): the first round then compares them instead of scanning
     * them again whole. */
    if (conc) {
        cgc__mark_hot_copy();
        void (*copied_hook)(void) = atomic_load(&cgc__mark_test_hook_copied);
        if (copied_hook)
            copied_hook();
    }
    /* The tracker's buffer of page addresses, dead now, lies where the
     * stops' frames will be; words they leave unwritten are scanned with
     * this thread's stack (the object at the start of each page was kept
     * alive: test_finalize's chain never ran). */
    if (conc && cgc__self)
        cgc__scrub_stack_below(2);
    int64_t conc_cpu = 0, conc_ns = 0;
    if (!conc) {
        pthread_mutex_lock(&cgc__thread_lock);
        /* The pause runs with the list of loaded objects fixed (roots.c): a
         * library cannot be unloaded under the mark, nor loaded unseen. */
        cgc__roots_hold(run_pause, &p);
        pthread_mutex_unlock(&cgc__thread_lock);
    } else {
        /* The runway must also cover the time from the trigger to the
         * first stop (the collector thread waking, the last sweep
         * finishing): the growth is measured from the trigger. */
        p.live_start = atomic_load(&cgc__gc.trigger);
        backstop_waits_at_start = atomic_load(&cgc__gc.backstop_waits);
        set_throttle();
        atomic_store(&cycle_active, 1);
        /* Each stop inside cgc__roots_hold, as a stop-the-world pause; the
         * concurrent phase reads only the heap (and the mark stacks), so
         * the program may load and unload libraries meanwhile. */
        pthread_mutex_lock(&cgc__thread_lock);
        cgc__roots_hold(conc_start, &p);
        pthread_mutex_unlock(&cgc__thread_lock);
    }
    if (conc && !p.keep_all) {
        int64_t b0 = cgc__now_ns(), cpu0 = cgc__thread_cpu_ns();
        void (*start_hook)(void) = atomic_load(&cgc__mark_test_hook_start);
        if (start_hook)
            start_hook();
        cgc__mark_concurrent();
        void (*hook)(void) = atomic_load(&cgc__mark_test_hook);
        if (hook)
            hook();
        /* Pre-cleaning: while the set of written pages shrinks, rescan it
         * with the world running, so the final stop rescans only what
         * was written during the last round. Bounded: past PRECLEAN_MAX
         * rounds (or with the tracker failing) the final stop marks the
         * rest, however much it is. */
        long last = -1;
        for (int round = 0; round < PRECLEAN_MAX; round++) {
            long n = cgc__mark_preclean();
            if (n < 0 || n <= PRECLEAN_DONE || preclean_converged(round, n, last)) {
                last = n;
                break;
            }
            last = n;
        }
        /* The objects left unprotected through the rounds (written all
         * over, mark.c cgc__mark_shadows_release) are protected now, so
         * the final stop sees only what is written to them from here. */
        if (last >= 0 && cgc__mark_preclean_seal() < 0)
            last = -1;
        p.all = last < 0 || last > PRECLEAN_ALL;
        if (p.all)
            cgc__mark_prewake_final();   /* spinning by the time the world is stopped */
        conc_cpu = cgc__thread_cpu_ns() - cpu0;
        conc_ns = cgc__now_ns() - b0;
        void (*final_hook)(void) = atomic_load(&cgc__mark_test_hook_final);
        if (final_hook)
            final_hook();
        /* When the collector is a program thread (cgc_collect, an
         * allocation that failed), the concurrent phase and pre-cleaning
         * ran deeper than the final stop's frames will: a stale word they
         * leave there kept an unreachable object alive for ever
         * (test_finalize: a chain of finalizers never ran). */
        if (cgc__self)
            cgc__scrub_stack_below(2);
        pthread_mutex_lock(&cgc__thread_lock);
        cgc__roots_hold(conc_finish, &p);
        pthread_mutex_unlock(&cgc__thread_lock);
        atomic_fetch_add(&cgc__gc.concurrent_cycles, 1);
        if (!p.keep_all)
            last_scan_work = p.res.scan_work;
    }
    if (conc) {
        cgc__dirty_disarm();
        cgc__mark_shadows_release();
    }
    cgc__mark_trim();   /* the mark's own memory, world running */
    int64_t t0 = p.t0, t1 = p.t1, t2 = p.t2, t3 = p.t3;
    cgc__mark_result res = p.res;
    uint64_t stacks = p.stacks;
    pthread_mutex_unlock(&cgc__sweeper_lock);
    cgc__sweeper_wake();
    if (conc)
        cgc__free_deferred_run();   /* world running, cgc__marking clear */

    /* Stopped time only: both stops of a concurrent cycle. */
    uint64_t pause = conc ? (uint64_t)((t1 - t0) + (t3 - p.c0)) : (uint64_t)(t3 - t0);
    int ncpu = cgc__cfg.ncpu > 0 ? cgc__cfg.ncpu : 1;
    uint32_t num = atomic_fetch_add(&cgc__gc.num_gc, 1) + 1;
    if (forced)
        atomic_fetch_add(&cgc__gc.num_forced_gc, 1);
    cgc__pacer_lock();
    cgc__stats_record_pause(pause, (uint64_t)cgc__unix_ns());
    cgc__collecting = 0;
    fold_unreported_work(t3);
    int64_t work = (int64_t)pause * ncpu + pre_ns + conc_cpu;
    cgc__gc.gc_cpu_ns_total += work;
    /* The limiter sees this cycle's work: the pause on every CPU and what
     * this thread did before it. The background threads report their own
     * work when they do it (cgc__gc_cpu_background): folded into the next
     * cycle's figure it fell in an interval too short to hold it and was
     * clipped, which let collection take 65% of the CPU.
     *   An automatic cycle's work is added in full, like a background
     * pass's: the sweeper and scavenger are not stopped by the pause and
     * may report in the middle of it, moving the limiter's clock past t0,
     * after which the pause no longer fits "the interval since the last
     * update" and clipping it to that interval lost up to the whole pause
     * (with the machine loaded, GC then took 77% of the CPU). A forced
     * cycle (cgc_collect, or an allocation that failed) goes through the
     * capped update, so that repeated forced cycles cannot build a debt
     * that stops automatic collection for long (limiter.c). */
    if (forced)
        cgc__limiter_update(&cgc__gc.limiter, t3, work);
    else
        cgc__limiter_add_background(&cgc__gc.limiter, t3, work);
    cgc__gc.limited_this_cycle = 0;
    /* mark_short: the work of the stops, not the time the world took to
     * stop (twice here, once in a stopped mark, and what a loaded machine
     * stretches most: with two busy loops beside it, a 64 MiB heap whose
     * stops took 20 ms to reach was then marked stopped, test_mark_mode),
     * nor a debug build's checks in them. */
    if (conc && !p.keep_all) {
        double stop = (double)((t1 - p.s0) + (t3 - p.s1) - p.check_ns);
        conc_stop_ns = conc_stop_ns ? (conc_stop_ns * 3 + stop) / 4 : stop;
    }
    if (fallback_room) {   /* room_too_small: let a later cycle measure again */
        mark_alloc_bytes -= mark_alloc_bytes / 8;
        mark_outrun = false;
    }
    cgc__pacer_unlock();

    tr.num = num;
    if (conc) {   /* Go's meaning: first stop + concurrent mark + final stop */
        tr.stw_ns = t1 - t0;
        tr.mark_ns = conc_ns;
        tr.term_ns = t3 - p.c0;
        tr.assist_ns = atomic_load_explicit(&cgc__assist_cycle_cpu_ns, memory_order_relaxed);
    } else {
        tr.stw_ns = t1 - t0;
        tr.mark_ns = t2 - t1;
        tr.term_ns = t3 - t2;
        tr.heap_after = tr.heap_before;   /* stop-the-world: nothing allocated during the cycle */
    }
    tr.mark_cpu_ns = res.cpu_ns;
    tr.heap_marked = res.marked_bytes + res.black_bytes;
    tr.globals_bytes = cgc__roots_globals_bytes();
    tr.stacks_bytes = stacks;
    tr.markers = cgc__mark_nmarkers();
    if (cgc__cfg.gctrace)
        cgc__gctrace_format(&tr, line, line_n);
    cgc__finalize_cycle_end();   /* world running: wake (or start) the finalizer thread */
    atomic_store(&cycle_active, 0);
    pthread_mutex_unlock(&cgc__gc_lock);
    cycle_ended();

    /* Wake the scavenger: the goal moved. In a cgc section: a registered
     * thread must never be stopped holding a cgc lock (fork.c drains
     * the registered threads and then takes bg_lock). */
    cgc__thread *self = cgc__enter_self();
    pthread_mutex_lock(&bg_lock);
    bg_kicked = true;
    pthread_cond_signal(&bg_cv);
    pthread_mutex_unlock(&bg_lock);
    cgc__leave_self(self);
}

/* ---- public knobs ------------------------------------------------------- */

/* No cancellation inside a cycle: it waits on condition variables and
 * reads files (cancellation points) while holding gc_lock and thread_lock
 * with the world stopped; a thread cancelled there left every other
 * thread parked for ever (test_thread_exit: pthread_cancel of a thread
 * that was allocating). A pending cancellation acts at the thread's next
 * cancellation point after the cycle. */
void cgc__collect_internal(bool forced)
{
    char line[512] = "";
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    collect_cycle(forced, line, sizeof line);
    pthread_setcancelstate(cancel, NULL);
    /* What the cycle has to say, said last, with no lock, no section and
     * cancellation as the program set it. Writing to stderr is where a
     * closed pipe raises SIGPIPE in this thread, and the program's handler
     * may allocate, collect or longjmp out (Neko's does, to throw "Broken
     * pipe"). Said under gc_lock, a handler that collected waited for
     * gc_lock, held by its own thread, and one that left by longjmp left
     * gc_lock held: the program's next collection hung
     * (tests/test_gctrace_sigpipe.c). */
    cgc__roots_say_lost();
    if (line[0])
        cgc__say_line(line);
}

CGC_API void cgc_collect(void)
{
    cgc__collect_internal(true);
    cgc__sweep_finish();   /* as runtime.GC: the cycle is complete when we return */
    cgc__pacer_recompute();
}

CGC_API void cgc_free_os_memory(void)
{
    cgc_collect();
    cgc__heap_release(UINT64_MAX);
}

CGC_API int cgc_set_gc_percent(int percent)
{
    cgc__ensure_init();
    cgc__pacer_lock();
    int old = cgc__gc.pacer.gc_percent;
    cgc__gc.pacer.gc_percent = percent < 0 ? -1 : percent;
    recompute_locked(atomic_load(&cgc__gc.heap_live));
    cgc__pacer_unlock();
    cgc__maybe_collect();
    return old;
}

/* Releases free memory down to the scavenger's retain target now. */
static uint64_t release_to_target(void)
{
    uint64_t mapped = cgc__mapped_bytes();
    uint64_t target = cgc__scavenge_retain_target(cgc__gc.heap_goal, nonheap_bytes(), effective_limit());
    return mapped > target ? cgc__heap_release(mapped - target) : 0;
}

/* The guard's bound moved (a resize of the container): a new goal, and
 * when it went down, a collection if the heap is now over it and the
 * release of what is over. */
static void guard_moved(bool down)
{
    measure_outside();
    cgc__pacer_recompute();
    if (down) {
        cgc__maybe_collect();
        release_to_target();
    }
}

/* Sets the limit; the container follower and the public call share it. */
static int64_t set_memory_limit(int64_t limit)
{
    cgc__ensure_init();
    if (limit < 0)
        return atomic_load(&mem_limit);
    cgc__pacer_lock();
    int64_t old = cgc__gc.pacer.mem_limit;
    cgc__gc.pacer.mem_limit = limit;
    atomic_store(&mem_limit, limit);
    recompute_locked(atomic_load(&cgc__gc.heap_live));
    cgc__pacer_unlock();
    if (limit < old) {
        cgc__maybe_collect();
        release_to_target();
    }
    return old;
}

/* A limit the program sets wins over the container: from then on the
 * background thread stops following the container's limit (as Go: an
 * explicit debug.SetMemoryLimit replaces GOMEMLIMIT for good). */
CGC_API int64_t cgc_set_memory_limit(int64_t limit)
{
    if (limit >= 0)
        __atomic_store_n(&cgc__cfg.memlimit_follow, 0, __ATOMIC_RELAXED);
    int64_t old = set_memory_limit(limit);
    cgc__follower_start();   /* a limit set in a container brings the guard, which follows it */
    return old;
}

/* ---- the background thread: scavenger and container limit follower ----- */

/* Re-reads the container's limit: the guard follows it, and so does the
 * soft limit for N% and auto (unless the program has set its own). */
static void follow_container(void)
{
    int64_t soft;
    int64_t hard = cgc__config_refresh_container(&cgc__cfg, &soft);
    int64_t old_hard = hard == -2 ? atomic_load(&container_limit) : atomic_exchange(&container_limit, hard);
    if (hard == -2)
        hard = old_hard;   /* unreadable now: keep what we had */
    bool soft_moves = __atomic_load_n(&cgc__cfg.memlimit_follow, __ATOMIC_RELAXED) && soft >= 0 &&
                      soft != atomic_load(&mem_limit);
    if (hard == old_hard && !soft_moves)
        return;
    int64_t old_soft = atomic_load(&mem_limit);
    if (soft_moves)
        set_memory_limit(soft);   /* recomputes the goal with the new guard too */
    else
        guard_moved(hard < old_hard);
    if (cgc__cfg.gctrace)
        fprintf(stderr, "cgc: container limit changed: %lld -> %lld bytes; memory limit %lld -> %lld bytes\n",
                (long long)old_hard, (long long)hard, (long long)old_soft, (long long)atomic_load(&mem_limit));
}

/* One pass of the scavenger: measures what the heap should keep mapped
 * and releases a burst of what is beyond it. Returns how long to wait
 * before the next pass (its pacing: docs/pacing.md). */
static int64_t scavenge_pass(void)
{
    uint64_t mapped = cgc__mapped_bytes();
    uint64_t nonheap = nonheap_bytes();
    if (atomic_load(&mem_limit) != INT64_MAX)
        measure_outside();
    uint64_t target = cgc__scavenge_retain_target(cgc__gc.heap_goal, nonheap, effective_limit());
    if (mapped <= target)
        return cgc__gc.scav.max_sleep_ns;
    int64_t c0 = cgc__thread_cpu_ns();
    uint64_t done = cgc__heap_release(cgc__scavenger_burst_bytes(mapped - target));
    int64_t worked = cgc__thread_cpu_ns() - c0;
    pthread_mutex_lock(&cgc__gc.pacer_lock);
    cgc__gc.scav.released_total += done;
    pthread_mutex_unlock(&cgc__gc.pacer_lock);
    cgc__gc_cpu_background(worked);
    if (!done)
        return cgc__gc.scav.max_sleep_ns;
    if (cgc__cfg.scavtrace)
        fprintf(stderr, "scav: released %llu KiB, retained %llu KiB, target %llu KiB, %lld us work\n",
                (unsigned long long)(done >> 10), (unsigned long long)(cgc__mapped_bytes() >> 10),
                (unsigned long long)(target >> 10), (long long)(worked / 1000));
    return cgc__scavenger_sleep_ns(&cgc__gc.scav, worked);
}

/* Tests: while paused, the background thread releases nothing; a pass
 * under way when the pause is asked for has ended when
 * cgc__scavenger_pause returns (test_huge_alloc counts what other paths
 * release, and a pass of the scavenger in between failed it in CI). A
 * flag each way, not a lock held across the pass: the pass takes the
 * allocator's locks, which fork's prepare takes before this file's. */
static _Atomic bool scav_paused, scav_busy;

void cgc__scavenger_pause(bool pause)
{
    atomic_store(&scav_paused, pause);
    while (pause && atomic_load(&scav_busy))
        sched_yield();
}

/* A pass of the scavenger, unless a test has paused it. */
static int64_t scavenge_step(void)
{
    atomic_store(&scav_busy, true);
    int64_t wait = atomic_load(&scav_paused) ? cgc__gc.scav.max_sleep_ns : scavenge_pass();
    atomic_store(&scav_busy, false);
    return wait;
}

/* How often the container's limit is looked at. The full walk (the
 * process's cgroup, the mounts, every level up) once a second; between
 * walks, the one file that held the smallest limit, every 100 ms, so that
 * an in-place resize of the container (the common case: its own limit
 * moved) is followed within 0.1 s rather than 1 s. A lowered limit the
 * kernel accepted by reclaiming page cache leaves the heap little room,
 * and the service goes on allocating until the soft limit follows. Each
 * look is one open and read of a cgroup file, some microseconds. */
#define FOLLOW_WALK_NS  1000000000
#define FOLLOW_WATCH_NS 100000000

static void *background_main(void *arg)
{
    cgc__name_thread("cgc-background");
    cgc__block_signals();
    int64_t now = cgc__now_ns();
    int64_t next_walk = now + FOLLOW_WALK_NS, next_watch = now + FOLLOW_WATCH_NS, next_scavenge = now;
    int64_t watched = -3;   /* the watched file's last value; -3: none yet */
    for (;;) {
        now = cgc__now_ns();
        bool follow = __atomic_load_n(&following, __ATOMIC_RELAXED);
        if (follow && now >= next_watch) {
            next_watch = now + FOLLOW_WATCH_NS;
            int64_t v = cgc__cgroup_limit_in(cgc__cfg.cgroup_dir, cgc__cfg.cgroup_version);
            if (v != watched && watched != -3)
                next_walk = now;   /* it moved: walk now (another level may still be smaller) */
            watched = v;
        }
        if (follow && now >= next_walk) {
            next_walk = now + FOLLOW_WALK_NS;
            follow_container();
        }
        if (now >= next_scavenge)
            next_scavenge = now + scavenge_step();
        int64_t wake = next_scavenge;
        if (follow) {
            if (next_watch < wake)
                wake = next_watch;
            if (next_walk < wake)
                wake = next_walk;
        }
        int64_t wait_ns = wake - cgc__now_ns();
        if (wait_ns < 1000000)
            wait_ns = 1000000;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + wait_ns;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_mutex_lock(&bg_lock);
        while (!bg_kicked && pthread_cond_timedwait(&bg_cv, &bg_lock, &ts) == 0)
            ;
        if (bg_kicked)
            next_scavenge = 0;   /* a cycle ended: the goal moved, look now */
        bg_kicked = false;
        pthread_mutex_unlock(&bg_lock);
    }
    return NULL;
}

/* fork: the background thread waits on bg_cv under bg_lock; in the child
 * it does not exist, so its lock and condition start afresh and it is
 * started again (the container follower must go on following). */
void cgc__collect_fork(int stage)
{
    cgc__fork_mutex(&bg_lock, stage);
    cgc__fork_mutex(&measure_lock, stage);
    cgc__fork_mutex(&worker_lock, stage);
    if (stage == CGC_FORK_CHILD) {
        pthread_cond_init(&bg_cv, NULL);
        bg_kicked = false;
        atomic_store(&bg_started, 0);
        atomic_store(&scav_busy, false);   /* a pass the parent's thread was in */
        /* The collector thread is gone too; no cycle is under way (the
         * forking thread holds gc_lock, so the fork waited for the end of
         * any concurrent mark). */
        pthread_cond_init(&worker_cv, NULL);
        atomic_store(&worker_started, 0);
        atomic_store(&worker_wanted, 0);
        atomic_store(&cycle_active, 0);
    }
}

/* The background thread starts at load time only to follow a container's
 * limit: with a soft limit in force in a memory cgroup with a limit. Else
 * it starts with the first collection (for the scavenger), so a program
 * with no container limit is still single-threaded after cgc's
 * initialisation (unshare(CLONE_NEWUSER) requires that). */
void cgc__follower_start(void)
{
    if (atomic_load(&container_limit) < 0 || atomic_load(&mem_limit) == INT64_MAX)
        return;
    __atomic_store_n(&following, 1, __ATOMIC_RELAXED);
    cgc__background_start();
}

void cgc__limit_bounds(cgc__limit_bounds_t *b)
{
    /* One reading of each, so that effective = min(soft, guard) holds in
     * what is reported even while a measurement moves them. */
    int64_t soft = atomic_load(&mem_limit);
    b->container_limit = atomic_load(&container_limit);
    b->guard_outside = guard_outside();
    b->guard_limit = hard_room_for(b->container_limit, soft, b->guard_outside);
    if (b->guard_limit == INT64_MAX)
        b->guard_outside = 0;
    b->outside_process = atomic_load(&outside_proc);
    b->effective_limit = b->guard_limit < soft ? b->guard_limit : soft;
}

void cgc__background_start(void)
{
    if (atomic_exchange(&bg_started, 1))
        return;
    pthread_t t;
    if (cgc__start_thread(&t, background_main, NULL) == 0)
        pthread_detach(t);
    else
        atomic_store(&bg_started, 0);   /* tried again at the next cycle */
}
