/* tests/sim/sim.h — a deterministic simulator of a program running on cgc's
 * stop-the-world collector, driven by the real controllers (src/pacer.c,
 * src/limiter.c, src/scavenger.c) exactly as the core drives them
 * (src/collect.c). It is the cgc counterpart of Go's mgcpacer_test.go: no
 * real heap, no real clock, so hundreds of cycles of a scenario run in
 * milliseconds and always give the same numbers.
 *
 * The model, per scenario (struct sim_scenario, filled from a table):
 *   - the program: `threads` threads, each allocating `alloc_rate` bytes per
 *     second it runs (at most ncpu run at once); its live heap at time t is
 *     live + ramp*t, plus `spike` during [spike_from, spike_to);
 *   - the heap: heap_alloc grows with allocation; in-use spans hold
 *     heap_alloc * (1 + frag) (unused slots and span tails); free pages are
 *     reused first, then released pages (faulted back in), then new pages;
 *     metadata = meta + meta_per_heap * heap_sys (heap pages ever mapped);
 *     mapped = metadata + in-use + free (what the limit counts);
 *   - the core's pacing: every SIM_STEP_BYTES of allocation (a span for a
 *     thread cache) the goal is recomputed when a limit is set (the core
 *     does so whenever a span comes from the page heap) and compared with
 *     heap_alloc; at the goal, the limiter is asked; if it is limiting the
 *     heap overshoots to cgc__limiter_next_check(), else the world stops;
 *   - a collection: marked = min(live(t), heap_alloc); the pause is
 *     SIM_PAUSE_FIXED_NS + marked / (scan_rate * ncpu) (one marker per CPU)
 *     and counts pause * ncpu of GC CPU; sweeping is instant (spans of dead
 *     objects become free pages); the goal is recomputed; the limiter is
 *     updated with the pause CPU plus the scavenger's CPU since the last
 *     cycle; if mapped is over the limit, free pages are released down to
 *     95% of it (the core's cgc__release_over_limit after sweeping);
 *   - the background scavenger: woken after each collection, it releases
 *     cgc__scavenger_burst_bytes() of free pages while mapped is above
 *     cgc__scavenge_retain_target(), each burst costing SIM_MADV_CALL_NS +
 *     SIM_MADV_PAGE_NS per 8 KiB page of CPU, then sleeps
 *     cgc__scavenger_sleep_ns(); with nothing to do it sleeps max_sleep_ns;
 *   - a limit change at limit2_at: as cgc_set_memory_limit, recompute, and
 *     if the limit went down, collect if the heap is over the new goal and
 *     release down to the retain target at once.
 * Results are sampled every SIM_SAMPLE_NS and every cycle is recorded, so
 * the tests can ask for maxima and CPU fractions over windows of time.
 *
 * What is left out, on purpose: page-heap fragmentation of free pages (all
 * free pages are interchangeable), sweep cost (cgc sweeps lazily, outside
 * the pause), and scheduling noise. Each test says which of its bands
 * depend on the model's constants.
 */
#ifndef CGC_TEST_SIM_H
#define CGC_TEST_SIM_H

#include "limiter.h"
#include "pacer.h"
#include "scavenger.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_KIB ((uint64_t)1 << 10)
#define SIM_MIB ((uint64_t)1 << 20)
#define SIM_NS_PER_S 1000000000LL
/* Allocation between two looks at the goal: cgc looks when a thread cache
 * takes a span; 64 KiB is a typical span refill. */
#define SIM_STEP_BYTES (64 * SIM_KIB)
/* Fixed part of a pause: stopping and restarting the world, flushing the
 * thread caches, the roots (measured pauses of tiny heaps are ~0.05 ms). */
#define SIM_PAUSE_FIXED_NS 50000
/* madvise(DONTNEED) cost model: per call and per 8 KiB page (the middle of
 * what the development VM measured, see src/scavenger.c). */
#define SIM_MADV_CALL_NS 5000
#define SIM_MADV_PAGE_NS 1000
#define SIM_PAGE ((uint64_t)8 << 10)
#define SIM_SAMPLE_NS 10000000LL   /* 10 ms */

typedef struct sim_scenario {
    const char *name;
    int      gc_percent;     /* < 0: off */
    int64_t  limit;          /* bytes; INT64_MAX: none */
    double   limit2_at;      /* s; 0: the limit never changes */
    int64_t  limit2;         /* the limit from limit2_at on */
    uint64_t live;           /* live heap, bytes */
    double   ramp;           /* live heap growth, bytes per second */
    uint64_t spike;          /* extra live bytes during [spike_from, spike_to) */
    double   spike_from, spike_to;
    double   alloc_rate;     /* bytes per second of running, per thread */
    int      threads;        /* mutator threads (0 = ncpu) */
    double   scan_rate;      /* bytes one CPU marks per second */
    int      ncpu;
    double   frag;           /* unused bytes of in-use spans per allocated byte */
    uint64_t meta;           /* fixed metadata bytes */
    double   meta_per_heap;  /* metadata bytes per byte of heap pages mapped */
    double   duration;       /* simulated seconds */
    int      no_limiter;     /* ablation: collect whenever the goal is reached */
} sim_scenario;

typedef struct sim_sample {
    int64_t  t_ns;
    uint64_t mapped, goal, heap_alloc, retain_target, allocated;
    int64_t  gc_cpu_ns;      /* cumulative pause CPU (pause * ncpu) */
    int64_t  scav_cpu_ns;    /* cumulative background scavenger CPU */
    int      limiting;
} sim_sample;

typedef struct sim_cycle {
    int64_t  start_ns, pause_ns;
    uint64_t heap_before, marked, goal, mapped_before, mapped_after;
} sim_cycle;

typedef struct sim_result {
    sim_scenario sc;              /* the scenario as run, defaults filled in */
    sim_sample *samples;
    int         nsamples;
    sim_cycle  *cycles;
    int         ncycles, cycles_cap;
    uint64_t    limited_cycles;   /* cycles in which the limiter skipped a collection */
    uint64_t    episodes;         /* limiter off->on transitions */
    int64_t     first_enabled_ns; /* -1: never */
    uint64_t    allocated;        /* bytes the program allocated */
    uint64_t    released;         /* bytes the background scavenger released */
    uint64_t    bursts;
    int64_t     scav_cpu_ns;
} sim_result;

typedef struct sim_world {
    const sim_scenario *sc;
    sim_result *r;
    int64_t  now, end, next_sample;
    int64_t  limit;
    int      limit_changed;
    uint64_t alloc, inuse, free, released_pages, heap_sys;
    cgc__pacer pacer;
    cgc__limiter limiter;
    cgc__scavenger scav;
    uint64_t trigger;
    int      limited_this_cycle;
    int64_t  scav_next, scav_cpu_pending, gc_cpu_total, scav_cpu_total;
} sim_world;

/* Metadata bytes: fixed part plus a share of the heap pages ever mapped. */
/* The scenario of a table with this name; a test naming one that does not
 * exist is a broken test, so it stops. */
static inline const sim_scenario *sim_find(const sim_scenario *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    fprintf(stderr, "no scenario %s\n", name);
    abort();
}

static inline uint64_t sim_meta(const sim_world *w)
{
    return w->sc->meta + (uint64_t)(w->sc->meta_per_heap * (double)w->heap_sys);
}

/* What the limit counts: metadata, in-use spans, free resident pages. */
static inline uint64_t sim_mapped(const sim_world *w)
{
    return sim_meta(w) + w->inuse + w->free;
}

/* The program's live heap at the current time. */
static inline uint64_t sim_live(const sim_world *w)
{
    double t = (double)w->now / SIM_NS_PER_S;
    double live = (double)w->sc->live + w->sc->ramp * t;
    if (w->sc->spike && t >= w->sc->spike_from && t < w->sc->spike_to)
        live += (double)w->sc->spike;
    return live > 0 ? (uint64_t)live : 0;
}

/* Recomputes the goal from the current picture, as recompute_locked. */
static inline void sim_recompute(sim_world *w)
{
    cgc__mem_state m = {.mapped = sim_mapped(w), .heap_free = w->free, .heap_alloc = w->alloc};
    w->trigger = cgc__pacer_update(&w->pacer, &m);
}

/* Returns up to `bytes` free pages to the OS. */
static inline uint64_t sim_release(sim_world *w, uint64_t bytes)
{
    uint64_t n = bytes < w->free ? bytes : w->free;
    w->free -= n;
    w->released_pages += n;
    return n;
}

/* Makes the in-use spans cover heap_alloc * (1 + frag): free pages first,
 * then released ones (faulted back in), then new ones. */
static inline void sim_grow(sim_world *w)
{
    uint64_t want = w->alloc + (uint64_t)(w->sc->frag * (double)w->alloc);
    if (want <= w->inuse)
        return;
    uint64_t need = want - w->inuse;
    uint64_t take = need < w->free ? need : w->free;
    w->free -= take;
    need -= take;
    uint64_t back = need < w->released_pages ? need : w->released_pages;
    w->released_pages -= back;
    need -= back;
    w->heap_sys += need;
    w->inuse = want;
}

/* Records the state at every sample time up to now. */
static inline void sim_sample_now(sim_world *w)
{
    sim_result *r = w->r;
    while (w->next_sample <= w->now && w->next_sample <= w->end) {
        sim_sample *s = &r->samples[r->nsamples++];
        s->t_ns = w->next_sample;
        s->mapped = sim_mapped(w);
        s->goal = w->pacer.goal;
        s->heap_alloc = w->alloc;
        s->retain_target = cgc__scavenge_retain_target(w->pacer.goal, sim_meta(w), w->limit);
        s->allocated = r->allocated;
        s->gc_cpu_ns = w->gc_cpu_total;
        s->scav_cpu_ns = w->scav_cpu_total;
        s->limiting = w->limiter.enabled;
        w->next_sample += SIM_SAMPLE_NS;
    }
}

/* One stop-the-world collection, as cgc__collect_internal. */
static inline void sim_collect(sim_world *w)
{
    const sim_scenario *sc = w->sc;
    sim_cycle c = {.start_ns = w->now, .heap_before = w->alloc, .mapped_before = sim_mapped(w)};
    uint64_t live = sim_live(w);
    c.marked = live < w->alloc ? live : w->alloc;
    c.pause_ns = SIM_PAUSE_FIXED_NS +
                 (int64_t)((double)c.marked / (sc->scan_rate * sc->ncpu) * SIM_NS_PER_S);
    w->now += c.pause_ns;
    int64_t pause_cpu = c.pause_ns * sc->ncpu;
    w->gc_cpu_total += pause_cpu;
    /* sweep: the spans of dead objects become free pages */
    w->alloc = c.marked;
    uint64_t inuse = c.marked + (uint64_t)(sc->frag * (double)c.marked);
    if (inuse < w->inuse) {
        w->free += w->inuse - inuse;
        w->inuse = inuse;
    }
    cgc__pacer_end_cycle(&w->pacer, c.marked);
    sim_recompute(w);
    c.goal = w->pacer.goal;
    cgc__limiter_update(&w->limiter, w->now, pause_cpu + w->scav_cpu_pending);
    w->scav_cpu_pending = 0;
    w->limited_this_cycle = 0;
    if (w->limit != INT64_MAX && sim_mapped(w) > (uint64_t)w->limit) {
        uint64_t target = (uint64_t)w->limit / 100 * 95;
        uint64_t mapped = sim_mapped(w);
        sim_release(w, mapped > target ? mapped - target : 0);
    }
    c.mapped_after = sim_mapped(w);
    w->scav_next = w->now;   /* the core wakes the scavenger */
    sim_result *r = w->r;
    if (r->ncycles == r->cycles_cap) {
        r->cycles_cap = r->cycles_cap ? 2 * r->cycles_cap : 256;
        r->cycles = realloc(r->cycles, (size_t)r->cycles_cap * sizeof *r->cycles);
        if (!r->cycles)
            abort();
    }
    r->cycles[r->ncycles++] = c;
}

/* The heap reached the trigger: collect, or overshoot if limited
 * (cgc__maybe_collect). */
static inline void sim_maybe_collect(sim_world *w)
{
    if (w->alloc < w->trigger)
        return;
    if (!w->sc->no_limiter && cgc__limiter_limiting(&w->limiter, w->now)) {
        if (!w->limited_this_cycle) {
            w->limited_this_cycle = 1;
            w->r->limited_cycles++;
        }
        w->trigger = cgc__limiter_next_check(w->alloc);
        return;
    }
    sim_collect(w);
}

/* One wake-up of the background scavenger (background_main). */
static inline void sim_scavenge(sim_world *w)
{
    uint64_t target = cgc__scavenge_retain_target(w->pacer.goal, sim_meta(w), w->limit);
    uint64_t excess = cgc__scavenger_excess(sim_mapped(w), target);
    int64_t sleep = w->scav.max_sleep_ns;
    int64_t worked = 0;
    if (excess) {
        uint64_t done = sim_release(w, cgc__scavenger_burst_bytes(excess));
        if (done) {
            worked = SIM_MADV_CALL_NS + (int64_t)((done + SIM_PAGE - 1) / SIM_PAGE) * SIM_MADV_PAGE_NS;
            cgc__scavenger_account(&w->scav, done, worked);
            w->scav_cpu_pending += worked;
            w->scav_cpu_total += worked;
            sleep = cgc__scavenger_sleep_ns(&w->scav, worked);
        }
    }
    w->scav_next += worked + sleep;
}

/* As cgc_set_memory_limit(new) at the current time. */
static inline void sim_set_limit(sim_world *w, int64_t limit)
{
    int64_t old = w->limit;
    w->limit = limit;
    w->pacer.mem_limit = limit;
    sim_recompute(w);
    if (limit < old) {
        sim_maybe_collect(w);
        uint64_t target = cgc__scavenge_retain_target(w->pacer.goal, sim_meta(w), w->limit);
        sim_release(w, cgc__scavenger_excess(sim_mapped(w), target));
    }
}

/* Fills in the fields a scenario row leaves at zero: 64 MB/s per thread,
 * 250 MB/s marked per CPU, 4 CPUs, 8% span fragmentation, 2 MiB + 2% of
 * the heap of metadata, 20 simulated seconds. (Rows state only what makes
 * them different; gc_percent and limit are always stated.) */
static inline sim_scenario sim_defaults(sim_scenario s)
{
    if (s.alloc_rate == 0)
        s.alloc_rate = 64e6;
    if (s.scan_rate == 0)
        s.scan_rate = 250e6;
    if (s.ncpu == 0)
        s.ncpu = 4;
    if (s.frag == 0)
        s.frag = 0.08;
    if (s.meta == 0)
        s.meta = 2 * SIM_MIB;
    if (s.meta_per_heap == 0)
        s.meta_per_heap = 0.02;
    if (s.duration == 0)
        s.duration = 20;
    return s;
}

/* Runs a scenario to its end; free the result with sim_free. */
static inline sim_result sim_run(const sim_scenario *row)
{
    sim_result r;
    memset(&r, 0, sizeof r);
    r.sc = sim_defaults(*row);
    const sim_scenario *sc = &r.sc;
    r.first_enabled_ns = -1;
    sim_world w;
    memset(&w, 0, sizeof w);
    w.sc = sc;
    w.r = &r;
    w.end = (int64_t)(sc->duration * SIM_NS_PER_S);
    w.limit = sc->limit;
    r.samples = calloc((size_t)(w.end / SIM_SAMPLE_NS + 2), sizeof *r.samples);
    if (!r.samples)
        abort();
    cgc__pacer_init(&w.pacer, sc->gc_percent, sc->limit);
    cgc__limiter_init(&w.limiter, sc->ncpu, 0);
    cgc__scavenger_init(&w.scav);
    w.heap_sys = 0;
    sim_recompute(&w);
    int threads = sc->threads > 0 ? sc->threads : sc->ncpu;
    int running = threads < sc->ncpu ? threads : sc->ncpu;
    double rate = sc->alloc_rate * running;   /* bytes per second */
    int64_t step_ns = (int64_t)((double)SIM_STEP_BYTES / rate * SIM_NS_PER_S);
    if (step_ns < 1)
        step_ns = 1;
    sim_sample_now(&w);
    while (w.now < w.end) {
        if (sc->limit2_at > 0 && !w.limit_changed && w.now >= (int64_t)(sc->limit2_at * SIM_NS_PER_S)) {
            w.limit_changed = 1;
            sim_set_limit(&w, sc->limit2);
        }
        while (w.scav_next <= w.now)
            sim_scavenge(&w);
        w.now += step_ns;
        w.alloc += SIM_STEP_BYTES;
        r.allocated += SIM_STEP_BYTES;
        uint64_t before = sim_mapped(&w);
        sim_grow(&w);
        if (w.limit != INT64_MAX && sim_mapped(&w) != before)
            sim_recompute(&w);   /* cgc__pacer_heap_grew */
        sim_maybe_collect(&w);
        if (w.limiter.enabled_episodes && r.first_enabled_ns < 0)
            r.first_enabled_ns = w.limiter.enabled_ns;
        sim_sample_now(&w);
    }
    r.episodes = w.limiter.enabled_episodes;
    r.released = w.scav.released_total;
    r.bursts = w.scav.bursts;
    r.scav_cpu_ns = w.scav_cpu_total;
    return r;
}

static inline void sim_free(sim_result *r)
{
    free(r->samples);
    free(r->cycles);
    memset(r, 0, sizeof *r);
}

/* ---- questions about a result, over windows of simulated time --------- */

/* Index of the sample at time t seconds (clamped to the run). */
static inline int sim_at(const sim_result *r, double t)
{
    int i = (int)(t * SIM_NS_PER_S / SIM_SAMPLE_NS + 0.5);
    if (i < 0)
        i = 0;
    if (i >= r->nsamples)
        i = r->nsamples - 1;
    return i;
}

/* Share of the available CPU (ncpu * wall) spent on GC — pauses plus the
 * background scavenger, what the limiter sees — between t0 and t1. */
static inline double sim_gc_fraction(const sim_result *r, double t0, double t1)
{
    const sim_sample *a = &r->samples[sim_at(r, t0)], *b = &r->samples[sim_at(r, t1)];
    double cpu = (double)(b->gc_cpu_ns - a->gc_cpu_ns) + (double)(b->scav_cpu_ns - a->scav_cpu_ns);
    return cpu / ((double)(b->t_ns - a->t_ns) * r->sc.ncpu);
}

/* Background scavenger CPU as a share of one CPU between t0 and t1. */
static inline double sim_scav_fraction(const sim_result *r, double t0, double t1)
{
    const sim_sample *a = &r->samples[sim_at(r, t0)], *b = &r->samples[sim_at(r, t1)];
    return (double)(b->scav_cpu_ns - a->scav_cpu_ns) / (double)(b->t_ns - a->t_ns);
}

/* The program's progress between t0 and t1 as a share of what it would
 * have allocated with no collector at all. */
static inline double sim_progress(const sim_result *r, double t0, double t1)
{
    const sim_sample *a = &r->samples[sim_at(r, t0)], *b = &r->samples[sim_at(r, t1)];
    int threads = r->sc.threads > 0 ? r->sc.threads : r->sc.ncpu;
    int running = threads < r->sc.ncpu ? threads : r->sc.ncpu;
    double ideal = r->sc.alloc_rate * running * (double)(b->t_ns - a->t_ns) / SIM_NS_PER_S;
    return (double)(b->allocated - a->allocated) / ideal;
}

/* Largest sampled mapped memory in [t0, t1]. Samples are 10 ms apart; the
 * per-cycle records (mapped_before) catch the peaks between them. */
static inline uint64_t sim_max_mapped(const sim_result *r, double t0, double t1)
{
    uint64_t m = 0;
    for (int i = sim_at(r, t0); i <= sim_at(r, t1); i++)
        if (r->samples[i].mapped > m)
            m = r->samples[i].mapped;
    for (int i = 0; i < r->ncycles; i++) {
        double t = (double)r->cycles[i].start_ns / SIM_NS_PER_S;
        if (t >= t0 && t <= t1 && r->cycles[i].mapped_before > m)
            m = r->cycles[i].mapped_before;
    }
    return m;
}

/* Collections that started in [t0, t1). */
static inline int sim_cycles_between(const sim_result *r, double t0, double t1)
{
    int n = 0;
    for (int i = 0; i < r->ncycles; i++) {
        double t = (double)r->cycles[i].start_ns / SIM_NS_PER_S;
        n += t >= t0 && t < t1;
    }
    return n;
}

/* One summary line, for the test's log and for docs/pacing.md. */
static inline void sim_report(const sim_result *r, double t0, double t1)
{
    const sim_sample *e = &r->samples[sim_at(r, t1)];
    printf("%-34s cycles %5d  gc %5.1f%%  progress %5.1f%%  max mapped %7.1f MiB  "
           "end: mapped %7.1f goal %7.1f MiB  limiter %llu ep / %llu cyc  scav %.2f%% CPU\n",
           r->sc.name, sim_cycles_between(r, t0, t1), 100 * sim_gc_fraction(r, t0, t1),
           100 * sim_progress(r, t0, t1), (double)sim_max_mapped(r, t0, t1) / SIM_MIB,
           (double)e->mapped / SIM_MIB,
           e->goal == UINT64_MAX ? -1.0 : (double)e->goal / SIM_MIB,
           (unsigned long long)r->episodes, (unsigned long long)r->limited_cycles,
           100 * sim_scav_fraction(r, t0, t1));
}

#endif
