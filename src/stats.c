/* stats.c — memstats, metrics by name, the pause record, and the one place
 * that formats gctrace lines.
 *
 * Counting: each thread counts the objects and bytes it allocates in its
 * own cache (no atomics on the fast path); large objects, sweeping and
 * explicit frees count in global atomics. Totals are sums, so the identity
 * heap_alloc = total_alloc - freed bytes holds by construction, and
 * heap_alloc includes dead objects that are not swept yet, as in Go.
 */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void cgc__fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cgc: fatal: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* A warning is written wherever cgc notices something, some of them inside
 * the collector with its locks held (a stop waiting for a thread that does
 * not answer, the finalizer thread that cannot start). There the program's
 * SIGPIPE handler must not run (it may allocate, collect or longjmp: see
 * cgc__say_line), so the write holds SIGPIPE off: blocked meanwhile, and a
 * SIGPIPE this write raised is taken back before the mask is restored. A
 * warning lost to a closed stderr costs nothing; the program meets the
 * closed pipe at its own next write, with its own disposition. One
 * write(2), no stdio (whose lock a stopped thread may hold). */
static void write_held_off(const char *line)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    cgc__real_sigmask(SIG_BLOCK, &pipe_set, &old);
    bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    size_t n = strlen(line), off = 0;
    bool broken = false;
    while (off < n) {
        ssize_t w = write(2, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            broken = w < 0 && errno == EPIPE;
            break;
        }
        off += (size_t)w;
    }
    if (broken && !was_pending) {
        struct timespec zero = {0, 0};
        (void)syscall(SYS_rt_sigtimedwait, &pipe_set, NULL, &zero, _NSIG / 8);
    }
    cgc__real_sigmask(SIG_SETMASK, &old, NULL);
}

void cgc__warn(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof buf - 1 ? (size_t)n : sizeof buf - 2;
    buf[len] = '\n';
    buf[len + 1] = 0;
    char line[sizeof buf + 8];
    snprintf(line, sizeof line, "cgc: %s", buf);
    void (*hook)(const char *) = atomic_load(&cgc__warn_hook);
    if (hook)
        hook(line);
    else
        write_held_off(line);
}

void (*_Atomic cgc__warn_hook)(const char *line);

/* thread_lock held. */
void cgc__totals(uint64_t *nmalloc, uint64_t *bytes_malloc, uint64_t *nfree, uint64_t *bytes_freed)
{
    uint64_t n = atomic_load(&cgc__dead_nmalloc) + atomic_load(&cgc__gc.large_nmalloc);
    uint64_t b = atomic_load(&cgc__dead_bytes_malloc) + atomic_load(&cgc__gc.large_bytes_malloc);
    for (cgc__thread *t = cgc__threads; t; t = t->next) {
        n += __atomic_load_n(&t->tc.nmalloc, __ATOMIC_RELAXED);
        b += __atomic_load_n(&t->tc.bytes_malloc, __ATOMIC_RELAXED);
    }
    *nmalloc = n;
    *bytes_malloc = b;
    *nfree = atomic_load(&cgc__swept_nfree) + atomic_load(&cgc__gc.explicit_nfree);
    *bytes_freed = atomic_load(&cgc__swept_bytes_freed) + atomic_load(&cgc__gc.explicit_bytes_freed);
}

/* Pause histogram: bucket 0 is [0, 1.024 us); bucket i >= 1 is
 * [2^(9+i), 2^(10+i)) ns; the last bucket is open-ended. */
#define PAUSE_BUCKETS 34

static int pause_bucket(uint64_t ns)
{
    int b = 0;
    while (b < PAUSE_BUCKETS - 1 && ns >= ((uint64_t)1 << (10 + b)))
        b++;
    return b;
}

/* pacer_lock held. */
void cgc__stats_record_pause(uint64_t pause_ns, uint64_t end_unix_ns)
{
    uint32_t n = atomic_load(&cgc__gc.num_gc);   /* already counts this cycle */
    cgc__gc.pause_ns[(n + 255) % 256] = pause_ns;
    cgc__gc.pause_end[(n + 255) % 256] = end_unix_ns;
    cgc__gc.pause_total_ns += pause_ns;
    cgc__gc.last_gc_unix_ns = end_unix_ns;
    cgc__gc.pause_hist[pause_bucket(pause_ns)]++;
}

/* A consistent snapshot of everything memstats and metrics report. */
typedef struct snapshot {
    cgc_memstats ms;
    uint64_t heap_free, last_marked, limiter_last, gc_cpu_ns, pause_hist[PAUSE_BUCKETS];
    uint64_t stacks_scanned, globals;
    int markers;
} snapshot;

static void take_snapshot(snapshot *s)
{
    memset(s, 0, sizeof *s);
    cgc_memstats *m = &s->ms;
    uint64_t nmalloc, bytes_malloc, nfree, bytes_freed;
    /* The page heap's four counters change together under heap_lock
     * (pageheap.c), one atomic at a time: read one by one without it, a
     * span freed or released by another thread (the scavenger, woken by
     * every collection, or the sweeper) fell between two reads, and
     * heap_sys = heap_inuse + heap_idle failed in 919 of 2 million reads
     * with one thread churning (test_api checks it right after
     * cgc_collect). Held with thread_lock, as the collector takes them in
     * that order; a thread holding thread_lock cannot be stopped (the
     * collector needs it first), so no cgc section is needed. */
    pthread_mutex_lock(&cgc__thread_lock);
    pthread_mutex_lock(&cgc__heap_lock);
    cgc__totals(&nmalloc, &bytes_malloc, &nfree, &bytes_freed);
    m->heap_sys = atomic_load(&cgc__mem.heap_sys);
    m->heap_inuse = atomic_load(&cgc__mem.heap_inuse);
    m->heap_released = atomic_load(&cgc__mem.heap_released);
    s->heap_free = atomic_load(&cgc__mem.heap_free);
    pthread_mutex_unlock(&cgc__heap_lock);
    pthread_mutex_unlock(&cgc__thread_lock);
    m->total_alloc = bytes_malloc;
    m->mallocs = nmalloc;
    m->frees = nfree;
    m->heap_alloc = bytes_malloc - bytes_freed;
    m->alloc = m->heap_alloc;
    m->heap_objects = nmalloc - nfree;
    m->heap_idle = s->heap_free + m->heap_released;
    m->mspan_sys = atomic_load(&cgc__mem.mspan_sys);
    m->mspan_inuse = atomic_load(&cgc__mem.mspan_inuse);
    m->mcache_sys = atomic_load(&cgc__mem.mcache_sys);
    m->mcache_inuse = atomic_load(&cgc__mem.mcache_inuse);
    m->gc_sys = atomic_load(&cgc__mem.gc_sys);
    m->other_sys = atomic_load(&cgc__mem.other_sys);
    m->sys = m->heap_sys + m->mspan_sys + m->mcache_sys + m->gc_sys + m->other_sys;
    m->enable_gc = 1;
#ifdef CGC_DEBUG_BUILD
    m->debug_gc = 1;
#endif
    cgc__pacer_lock();
    m->next_gc = cgc__gc.heap_goal;
    m->last_gc = cgc__gc.last_gc_unix_ns;
    m->pause_total_ns = cgc__gc.pause_total_ns;
    memcpy(m->pause_ns, cgc__gc.pause_ns, sizeof m->pause_ns);
    memcpy(m->pause_end, cgc__gc.pause_end, sizeof m->pause_end);
    m->num_gc = atomic_load(&cgc__gc.num_gc);
    m->num_forced_gc = atomic_load(&cgc__gc.num_forced_gc);
    int ncpu = cgc__cfg.ncpu > 0 ? cgc__cfg.ncpu : 1;
    int64_t elapsed = cgc__now_ns() - cgc__gc.start_mono_ns;
    s->gc_cpu_ns = (uint64_t)cgc__gc.gc_cpu_ns_total;
    m->gc_cpu_fraction = elapsed > 0 ? (double)cgc__gc.gc_cpu_ns_total / ((double)elapsed * ncpu) : 0;
    m->mem_limit = cgc__gc.pacer.mem_limit;
    m->gc_percent = cgc__gc.pacer.gc_percent;
    s->last_marked = cgc__gc.last_marked;
    memcpy(s->pause_hist, cgc__gc.pause_hist, sizeof s->pause_hist);
    cgc__pacer_unlock();
    m->gc_limiter_cycles = atomic_load(&cgc__gc.gc_limiter_cycles);
    cgc__limit_bounds_t lb;
    cgc__limit_bounds(&lb);
    m->container_limit = lb.container_limit;
    m->guard_limit = lb.guard_limit;
    m->guard_outside = lb.guard_outside;
    m->outside_process = lb.outside_process;
    m->effective_limit = lb.effective_limit;
    cgc__finalize_counts(&m->finalizers_queued, &m->finalizers_run, &m->cleanups_queued, &m->cleanups_run);
    s->limiter_last = atomic_load(&cgc__gc.limiter_last_enabled_cycle);
    s->globals = cgc__roots_globals_bytes();
    s->markers = cgc__mark_nmarkers();
    m->version = CGC_MEMSTATS_VERSION;
}

CGC_API void cgc_read_memstats_sized(cgc_memstats *out, size_t size)
{
    cgc__ensure_init();
    snapshot s;
    take_snapshot(&s);
    if (size > sizeof s.ms)
        size = sizeof s.ms;
    s.ms.size = (uint32_t)size;
    memcpy(out, &s.ms, size);
}

/* ---- metrics by name ---------------------------------------------------- */

enum metric_id {
    M_TOTAL, M_RELEASED, M_FREE, M_OBJECTS, M_UNUSED, M_MSPAN_INUSE, M_MSPAN_FREE,
    M_MCACHE_INUSE, M_MCACHE_FREE, M_META_OTHER, M_GOAL, M_LIVE, M_GOGC, M_GOMEMLIMIT,
    M_LIMITER_LAST, M_LIMITER_CYCLES, M_CYCLES_TOTAL, M_CYCLES_FORCED, M_CYCLES_AUTO,
    M_ALLOCS_BYTES, M_ALLOCS_OBJECTS, M_FREES_BYTES, M_FREES_OBJECTS, M_HEAP_OBJECTS,
    M_PAUSES, M_GC_CPU, M_GLOBALS, M_MARKERS,
    M_FIN_QUEUED, M_FIN_RUN, M_CLEANUP_QUEUED, M_CLEANUP_RUN,
    M_CONC_CYCLES, M_DIRTY_PAGES, M_ASSIST, M_COUNT
};

static const cgc_metric_desc metrics[M_COUNT] = {
    [M_TOTAL] = {"/memory/classes/total:bytes", "All memory cgc has mapped read-write (= memstats sys, released pages included).", CGC_METRIC_UINT64, 0},
    [M_RELEASED] = {"/memory/classes/heap/released:bytes", "Free heap memory returned to the OS.", CGC_METRIC_UINT64, 0},
    [M_FREE] = {"/memory/classes/heap/free:bytes", "Free heap memory still resident, not yet returned to the OS.", CGC_METRIC_UINT64, 0},
    [M_OBJECTS] = {"/memory/classes/heap/objects:bytes", "Memory in heap objects, live or dead not yet swept.", CGC_METRIC_UINT64, 0},
    [M_UNUSED] = {"/memory/classes/heap/unused:bytes", "Memory in in-use spans not holding objects (fragmentation).", CGC_METRIC_UINT64, 0},
    [M_MSPAN_INUSE] = {"/memory/classes/metadata/mspan/inuse:bytes", "Span descriptors in use.", CGC_METRIC_UINT64, 0},
    [M_MSPAN_FREE] = {"/memory/classes/metadata/mspan/free:bytes", "Span descriptors mapped but unused.", CGC_METRIC_UINT64, 0},
    [M_MCACHE_INUSE] = {"/memory/classes/metadata/mcache/inuse:bytes", "Per-thread caches in use.", CGC_METRIC_UINT64, 0},
    [M_MCACHE_FREE] = {"/memory/classes/metadata/mcache/free:bytes", "Per-thread caches mapped but unused.", CGC_METRIC_UINT64, 0},
    [M_META_OTHER] = {"/memory/classes/metadata/other:bytes", "Page maps, bitmaps, mark stacks, root tables.", CGC_METRIC_UINT64, 0},
    [M_GOAL] = {"/gc/heap/goal:bytes", "Heap size at which the next collection starts.", CGC_METRIC_UINT64, 0},
    [M_LIVE] = {"/gc/heap/live:bytes", "Bytes of objects marked live by the last collection.", CGC_METRIC_UINT64, 0},
    [M_GOGC] = {"/gc/gogc:percent", "The GC percent (CGC_GC); -1 when off.", CGC_METRIC_FLOAT64, 0},
    [M_GOMEMLIMIT] = {"/gc/gomemlimit:bytes", "The soft memory limit (CGC_MEMLIMIT).", CGC_METRIC_UINT64, 0},
    [M_LIMITER_LAST] = {"/gc/limiter/last-enabled:gc-cycle", "The cycle in which the GC CPU limiter was last engaged (0: never).", CGC_METRIC_UINT64, 0},
    [M_LIMITER_CYCLES] = {"/cgc/gc/limiter/cycles:gc-cycles", "Cycles in which the GC CPU limiter held collection back.", CGC_METRIC_UINT64, 1},
    [M_CYCLES_TOTAL] = {"/gc/cycles/total:gc-cycles", "Completed collections.", CGC_METRIC_UINT64, 1},
    [M_CYCLES_FORCED] = {"/gc/cycles/forced:gc-cycles", "Collections forced by cgc_collect or the OOM path.", CGC_METRIC_UINT64, 1},
    [M_CYCLES_AUTO] = {"/gc/cycles/automatic:gc-cycles", "Collections started by the pacer.", CGC_METRIC_UINT64, 1},
    [M_ALLOCS_BYTES] = {"/gc/heap/allocs:bytes", "Cumulative bytes allocated.", CGC_METRIC_UINT64, 1},
    [M_ALLOCS_OBJECTS] = {"/gc/heap/allocs:objects", "Cumulative objects allocated.", CGC_METRIC_UINT64, 1},
    [M_FREES_BYTES] = {"/gc/heap/frees:bytes", "Cumulative bytes freed (swept or cgc_free).", CGC_METRIC_UINT64, 1},
    [M_FREES_OBJECTS] = {"/gc/heap/frees:objects", "Cumulative objects freed.", CGC_METRIC_UINT64, 1},
    [M_HEAP_OBJECTS] = {"/gc/heap/objects:objects", "Objects in the heap, live or not yet swept.", CGC_METRIC_UINT64, 0},
    [M_PAUSES] = {"/gc/pauses:seconds", "Distribution of stop-the-world pause times.", CGC_METRIC_HISTOGRAM, 1},
    [M_GC_CPU] = {"/cpu/classes/gc/total:cpu-seconds", "CPU time spent collecting: pauses times available CPUs, plus background sweeping and scavenging.", CGC_METRIC_FLOAT64, 1},
    [M_GLOBALS] = {"/gc/scan/globals:bytes", "Bytes of data/bss and registered roots scanned by the last collection.", CGC_METRIC_UINT64, 0},
    [M_MARKERS] = {"/cgc/gc/markers:threads", "Threads that mark in parallel (CGC_MARKERS).", CGC_METRIC_UINT64, 0},
    [M_FIN_QUEUED] = {"/gc/finalizers/queued:finalizers", "Finalizers queued to run (their object found unreachable).", CGC_METRIC_UINT64, 1},
    [M_FIN_RUN] = {"/gc/finalizers/executed:finalizers", "Finalizers that have run.", CGC_METRIC_UINT64, 1},
    [M_CLEANUP_QUEUED] = {"/gc/cleanups/queued:cleanups", "Cleanups queued to run (their object found unreachable).", CGC_METRIC_UINT64, 1},
    [M_CLEANUP_RUN] = {"/gc/cleanups/executed:cleanups", "Cleanups that have run.", CGC_METRIC_UINT64, 1},
    [M_CONC_CYCLES] = {"/gc/cycles/concurrent:gc-cycles", "Collections whose mark ran concurrently with the program (docs/concurrent.md).", CGC_METRIC_UINT64, 1},
    [M_DIRTY_PAGES] = {"/gc/scan/dirty:pages", "Pages written during concurrent marks whose marked objects were rescanned (pre-cleaning and final stops).", CGC_METRIC_UINT64, 1},
    [M_ASSIST] = {"/gc/mark/assist:seconds", "Time allocating threads spent marking for a concurrent mark (assists), or waiting for one they outran.", CGC_METRIC_FLOAT64, 1},
};

CGC_API size_t cgc_metrics_all(const cgc_metric_desc **out)
{
    *out = metrics;
    return M_COUNT;
}

static void fill(const snapshot *s, int id, cgc_metric_sample *out)
{
    const cgc_memstats *m = &s->ms;
    uint64_t v = 0;
    out->kind = metrics[id].kind;
    switch (id) {
    case M_TOTAL: v = m->sys; break;
    case M_RELEASED: v = m->heap_released; break;
    case M_FREE: v = s->heap_free; break;
    case M_OBJECTS: v = m->heap_alloc; break;
    case M_UNUSED: v = m->heap_inuse > m->heap_alloc ? m->heap_inuse - m->heap_alloc : 0; break;
    case M_MSPAN_INUSE: v = m->mspan_inuse; break;
    case M_MSPAN_FREE: v = m->mspan_sys - m->mspan_inuse; break;
    case M_MCACHE_INUSE: v = m->mcache_inuse; break;
    case M_MCACHE_FREE: v = m->mcache_sys - m->mcache_inuse; break;
    case M_META_OTHER: v = m->gc_sys + m->other_sys; break;
    case M_GOAL: v = m->next_gc; break;
    case M_LIVE: v = s->last_marked; break;
    case M_GOGC: out->value.f64 = m->gc_percent; return;
    case M_GOMEMLIMIT: v = (uint64_t)m->mem_limit; break;
    case M_LIMITER_LAST: v = s->limiter_last; break;
    case M_LIMITER_CYCLES: v = m->gc_limiter_cycles; break;
    case M_CYCLES_TOTAL: v = m->num_gc; break;
    case M_CYCLES_FORCED: v = m->num_forced_gc; break;
    case M_CYCLES_AUTO: v = m->num_gc - m->num_forced_gc; break;
    case M_ALLOCS_BYTES: v = m->total_alloc; break;
    case M_ALLOCS_OBJECTS: v = m->mallocs; break;
    case M_FREES_BYTES: v = m->total_alloc - m->heap_alloc; break;
    case M_FREES_OBJECTS: v = m->frees; break;
    case M_HEAP_OBJECTS: v = m->heap_objects; break;
    case M_GC_CPU: out->value.f64 = (double)s->gc_cpu_ns / 1e9; return;
    case M_GLOBALS: v = s->globals; break;
    case M_MARKERS: v = (uint64_t)s->markers; break;
    case M_FIN_QUEUED: v = m->finalizers_queued; break;
    case M_FIN_RUN: v = m->finalizers_run; break;
    case M_CLEANUP_QUEUED: v = m->cleanups_queued; break;
    case M_CLEANUP_RUN: v = m->cleanups_run; break;
    case M_CONC_CYCLES: v = atomic_load(&cgc__gc.concurrent_cycles); break;
    case M_DIRTY_PAGES: v = atomic_load(&cgc__gc.dirty_pages_rescanned); break;
    case M_ASSIST: out->value.f64 = (double)atomic_load(&cgc__gc.assist_ns) / 1e9; return;
    case M_PAUSES: {
        cgc_histogram *h = &out->value.hist;
        h->nbuckets = PAUSE_BUCKETS;
        h->bounds[0] = 0;
        for (int i = 1; i < PAUSE_BUCKETS; i++)
            h->bounds[i] = (double)((uint64_t)1 << (9 + i)) / 1e9;
        h->bounds[PAUSE_BUCKETS] = __builtin_inf();
        memcpy(h->counts, s->pause_hist, sizeof s->pause_hist);
        return;
    }
    }
    out->value.u64 = v;
}

CGC_API void cgc_metrics_read(cgc_metric_sample *samples, size_t n)
{
    cgc__ensure_init();
    snapshot s;
    take_snapshot(&s);
    for (size_t i = 0; i < n; i++) {
        samples[i].kind = CGC_METRIC_BAD;
        for (int id = 0; id < M_COUNT; id++) {
            if (samples[i].name && strcmp(samples[i].name, metrics[id].name) == 0) {
                fill(&s, id, &samples[i]);
                break;
            }
        }
    }
}

/* ---- gctrace ------------------------------------------------------------- */

/* Formats nanoseconds as milliseconds the way Go's gctrace does: whole
 * milliseconds from 10 ms up, otherwise two or three significant digits. */
static void fmt_ms(char *buf, size_t n, int64_t ns)
{
    if (ns >= 10000000) {
        snprintf(buf, n, "%lld", (long long)(ns / 1000000));
        return;
    }
    int64_t us = ns / 1000;
    if (us == 0) {
        snprintf(buf, n, "0");
        return;
    }
    int dec = 3;
    while (us >= 100) {
        us /= 10;
        dec--;
    }
    int64_t div = 1;
    for (int i = 0; i < dec; i++)
        div *= 10;
    if (dec == 0)
        snprintf(buf, n, "%lld", (long long)us);
    else
        snprintf(buf, n, "%lld.%0*lld", (long long)(us / div), dec, (long long)(us % div));
}

/* The line of cycle t, formatted while its collector still holds gc_lock
 * (the CPU total it reads is the one this cycle left); written later by
 * cgc__say_line, once the collector holds nothing. */
void cgc__gctrace_format(const cgc__cycle_trace *t, char *buf, size_t n)
{
    int ncpu = cgc__cfg.ncpu > 0 ? cgc__cfg.ncpu : 1;
    char a[24], b[24], c[24], ca[24], cas[24], cb[24], cc[24];
    fmt_ms(a, sizeof a, t->stw_ns);
    fmt_ms(b, sizeof b, t->mark_ns);
    fmt_ms(c, sizeof c, t->term_ns);
    fmt_ms(ca, sizeof ca, t->stw_ns * ncpu);
    fmt_ms(cas, sizeof cas, t->assist_ns);
    fmt_ms(cb, sizeof cb, t->mark_cpu_ns);
    fmt_ms(cc, sizeof cc, t->term_ns * ncpu);
    double since = (double)(t->start_ns - cgc__gc.start_mono_ns) / 1e9;
    int64_t elapsed = cgc__now_ns() - cgc__gc.start_mono_ns;
    int pct = elapsed > 0 ? (int)(100.0 * (double)cgc__gc.gc_cpu_ns_total / ((double)elapsed * ncpu)) : 0;
    snprintf(buf, n,
             "gc %llu @%.3fs %d%%: %s+%s+%s ms clock, %s+%s/%s/0+%s ms cpu, "
             "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, %d P%s\n",
             (unsigned long long)t->num, since, pct, a, b, c, ca, cas, cb, cc,
             (unsigned long long)(t->heap_before >> 20), (unsigned long long)(t->heap_after >> 20),
             (unsigned long long)(t->heap_marked >> 20),
             (unsigned long long)(t->goal == UINT64_MAX ? 0 : t->goal >> 20),
             (unsigned long long)(t->stacks_bytes >> 20), (unsigned long long)(t->globals_bytes >> 20),
             t->markers, t->forced ? " (forced)" : "");
}

/* A trace line to stderr with one write(2), not stdio. The write is where
 * a closed stderr pipe raises SIGPIPE on this thread, and the program's
 * disposition then applies: the default kills the program, SIG_IGN gives
 * EPIPE (ignored here), a handler runs. A handler may allocate, collect,
 * call exit or leave by longjmp (the Neko VM throws "Broken pipe" from
 * it): callers write only once they hold nothing of cgc's, no lock and
 * no section (tests/test_gctrace_sigpipe.c), and with no stdio lock
 * either, which a longjmp out of fprintf would leave held. */
void cgc__say_line(const char *line)
{
    size_t n = strlen(line), off = 0;
    while (off < n) {
        ssize_t w = write(2, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

void cgc__say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cgc__say_line(buf);
}
