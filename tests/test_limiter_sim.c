/* test_limiter_sim.c — the GC CPU limiter (src/limiter.c): the bucket's
 * arithmetic against hand-computed values, then scenarios in which the
 * collector would like to run all the time (live heap above the limit,
 * limit 0) on 2, 4 and 8 CPUs, run through the simulator (tests/sim/sim.h).
 *
 * What users rely on: when the limit cannot be met, collection takes about
 * half the CPU — never much more, and the program keeps running at about
 * half speed instead of stalling — and the limiter stays out of the way
 * while collection takes less than half. */
#include "check.h"
#include "sim/sim.h"

#define MiB SIM_MIB
#define MS 1000000LL
#define S 1000000000LL

/* ---- the bucket, by hand ------------------------------------------------ */

static void test_bucket(void)
{
    cgc__limiter l;
    cgc__limiter_init(&l, 4, 1000);
    CHECK(l.capacity_ns == 4 * CGC__LIMITER_CAPACITY_PER_CPU_NS, "capacity per CPU: %lld", (long long)l.capacity_ns);
    /* The arithmetic below is worked out for a 2 CPU-s bucket. */
    l.capacity_ns = 2 * S;
    /* 0.25 s of pure GC on 4 CPUs: +1 CPU-s */
    cgc__limiter_update(&l, 1000 + 250 * MS, 4 * 250 * MS);
    CHECK(l.fill_ns == 1 * S && !l.enabled, "fill after 0.25 s of GC: %lld", (long long)l.fill_ns);
    /* 0.1 s of pure mutator: -0.4 CPU-s */
    CHECK(!cgc__limiter_limiting(&l, 1000 + 350 * MS), "not limiting at half full");
    CHECK(l.fill_ns == 600 * MS, "drained to 0.6 CPU-s: %lld", (long long)l.fill_ns);
    /* exactly 50% GC over 1 s: no change */
    cgc__limiter_update(&l, 1000 + 1350 * MS, 2 * S);
    CHECK(l.fill_ns == 600 * MS, "50%% GC leaves the fill alone: %lld", (long long)l.fill_ns);
    /* 62.5% GC over 1 s: +1 CPU-s (2.5 - 1.5) */
    cgc__limiter_update(&l, 1000 + 2350 * MS, 2500 * MS);
    CHECK(l.fill_ns == 1600 * MS && !l.enabled, "62.5%% GC: %lld", (long long)l.fill_ns);
    /* 0.1 s of pure GC: +0.4 -> exactly full: on */
    cgc__limiter_update(&l, 1000 + 2450 * MS, 400 * MS);
    CHECK(l.fill_ns == 2 * S && l.enabled && l.enabled_episodes == 1, "full: on (%lld)", (long long)l.fill_ns);
    CHECK(l.enabled_ns == 1000 + 2450 * MS, "enabled time recorded");
    /* on while full: a look at the same instant changes nothing */
    CHECK(cgc__limiter_limiting(&l, 1000 + 2450 * MS), "still on while full");
    /* off as soon as it drains below capacity: 1 ms of mutator, -4 ms */
    CHECK(!cgc__limiter_limiting(&l, 1000 + 2451 * MS) && l.fill_ns == 2 * S - 4 * MS, "off below full");
    CHECK(l.enabled_episodes == 1, "one episode");
    /* a long idle stretch empties it, never below 0 */
    CHECK(!cgc__limiter_limiting(&l, 1000 + 100 * S) && l.fill_ns == 0, "clamped at 0");
    /* and refilling counts a second episode */
    cgc__limiter_update(&l, 1000 + 100 * S + 500 * MS, 4 * 500 * MS);
    CHECK(l.enabled && l.enabled_episodes == 2, "second episode");
}

/* The debt of a pause: a collection that starts just under capacity keeps
 * what it adds beyond it (limiter.c), so the mutator pays it back; forced
 * collections back to back cannot pile up more than one pause of debt. */
static void test_debt(void)
{
    cgc__limiter l;
    cgc__limiter_init(&l, 4, 0);
    l.capacity_ns = 2 * S;   /* the figures below are for a 2 CPU-s bucket */
    cgc__limiter_update(&l, 450 * MS, 4 * 450 * MS);   /* 1.8 CPU-s */
    CHECK(l.fill_ns == 1800 * MS && !l.enabled, "90%%");
    /* a 100 ms pause: +0.4 -> 2.2, over capacity by 0.2 */
    cgc__limiter_update(&l, 550 * MS, 400 * MS);
    CHECK(l.fill_ns == 2200 * MS && l.enabled, "debt kept: %lld", (long long)l.fill_ns);
    /* the mutator pays the 0.2 CPU-s back first: 50 ms on 4 CPUs */
    CHECK(cgc__limiter_limiting(&l, 580 * MS), "paying the debt back");
    CHECK(!cgc__limiter_limiting(&l, 601 * MS), "paid back after 0.05 s");
    /* ten forced 100 ms pauses back to back: at most capacity + one pause */
    int64_t t = 601 * MS;
    for (int i = 0; i < 10; i++) {
        t += 100 * MS;
        cgc__limiter_update(&l, t, 400 * MS);
    }
    CHECK(l.fill_ns == 2 * S + 400 * MS, "debt capped at one pause: %lld", (long long)l.fill_ns);
}

/* Inputs a caller might get wrong or a clock might produce. */
static void test_edges(void)
{
    cgc__limiter l;
    cgc__limiter_init(&l, 0, 0);
    CHECK(l.ncpu == 1 && l.capacity_ns == CGC__LIMITER_CAPACITY_PER_CPU_NS, "ncpu 0 -> 1");
    cgc__limiter_init(&l, -3, 0);
    CHECK(l.ncpu == 1, "negative ncpu -> 1");
    /* GC time larger than the interval: clamped to the interval */
    cgc__limiter_init(&l, 2, 0);
    cgc__limiter_update(&l, 100 * MS, 10 * S);
    CHECK(l.fill_ns == 200 * MS, "gc > total clamped: %lld", (long long)l.fill_ns);
    /* negative GC time counts as none */
    cgc__limiter_update(&l, 150 * MS, -5 * S);
    CHECK(l.fill_ns == 100 * MS, "negative gc: %lld", (long long)l.fill_ns);
    /* time going backwards: a zero interval, last_ns does not move back */
    cgc__limiter_update(&l, 50 * MS, 0);
    CHECK(l.fill_ns == 100 * MS && l.last_ns == 150 * MS, "clock went back");
    /* absurd intervals and CPU counts saturate instead of wrapping */
    cgc__limiter_init(&l, 1 << 20, 0);
    cgc__limiter_update(&l, INT64_MAX, INT64_MAX);
    CHECK(l.fill_ns >= l.capacity_ns && l.enabled, "INT64_MAX interval, all GC: %lld", (long long)l.fill_ns);
    cgc__limiter_update(&l, INT64_MAX, 0);
    CHECK(l.enabled, "zero interval changes nothing");
    cgc__limiter_init(&l, 1 << 20, INT64_MIN / 2);
    cgc__limiter_update(&l, INT64_MAX / 2, 0);
    CHECK(l.fill_ns == 0 && !l.enabled, "INT64 span, no GC");
    /* next check: 1/32 more, at least 1 MiB, saturating */
    CHECK(cgc__limiter_next_check(0) == MiB, "next check from 0");
    CHECK(cgc__limiter_next_check(64 * MiB) == 66 * MiB, "next check 64 MiB");
    CHECK(cgc__limiter_next_check(UINT64_MAX - 5) == UINT64_MAX, "next check saturates");
}

/* ---- scenarios ----------------------------------------------------------- */

/* Rows state what differs from sim_defaults (64 MB/s per thread, 4 CPUs,
 * 250 MB/s marked per CPU, 8% fragmentation, 2 MiB + 2% metadata, 20 s). */
static const sim_scenario scenarios[] = {
    {.name = "live 96 MiB > limit 64, ncpu 4", .gc_percent = 100, .limit = 64 * MiB, .live = 96 * MiB},
    {.name = "live 96 MiB > limit 64, ncpu 2", .gc_percent = 100, .limit = 64 * MiB, .live = 96 * MiB, .ncpu = 2},
    {.name = "live 96 MiB > limit 64, ncpu 8", .gc_percent = 100, .limit = 64 * MiB, .live = 96 * MiB, .ncpu = 8},
    {.name = "same, 1 thread on 8 CPUs", .gc_percent = 100, .limit = 64 * MiB, .live = 96 * MiB, .ncpu = 8,
     .threads = 1},
    {.name = "same, 32 threads on 8 CPUs", .gc_percent = 100, .limit = 64 * MiB, .live = 96 * MiB, .ncpu = 8,
     .threads = 32},
    {.name = "limit 0", .gc_percent = 100, .limit = 0, .live = 32 * MiB},
    {.name = "limit 0, GOGC=off", .gc_percent = -1, .limit = 0, .live = 32 * MiB},
    {.name = "limit 0, 2 MiB live (short pauses)", .gc_percent = 100, .limit = 0, .live = 2 * MiB},
    {.name = "GOGC=0, no limit", .gc_percent = 0, .limit = INT64_MAX, .live = 32 * MiB},
    {.name = "pauses > 0.5 s: 256 MiB, ncpu 2", .gc_percent = 100, .limit = 128 * MiB, .live = 256 * MiB,
     .ncpu = 2, .duration = 60},
    {.name = "no limiter (ablation)", .gc_percent = 100, .limit = 64 * MiB, .live = 96 * MiB, .no_limiter = 1},
    {.name = "binding limit, GC < 50%", .gc_percent = 100, .limit = 100 * MiB, .live = 64 * MiB},
};

static const sim_scenario *find(const char *name)
{
    return sim_find(scenarios, sizeof scenarios / sizeof *scenarios, name);
}

static double max_pause_s(const sim_result *r)
{
    int64_t m = 0;
    for (int i = 0; i < r->ncycles; i++)
        if (r->cycles[i].pause_ns > m)
            m = r->cycles[i].pause_ns;
    return (double)m / S;
}

/* The band for the GC share of CPU over a window of W seconds in which the
 * collector would collect continuously if allowed. From limiter.c, with T =
 * ncpu * W of CPU and G of GC (pauses and scavenger):
 *     |2G - T| <= fill range <= capacity + one pause * ncpu
 * as long as the bucket never empties in the window (it does not once the
 * limiter has engaged: the mutator runs only until it drains under
 * capacity, plus one check step), so
 *     |G/T - 1/2| <= (0.5 s + p) / (2W)
 * with p the longest pause. The simulator books a pause's CPU at its end and
 * samples every 10 ms, which can misplace one pause at each end of the
 * window: + 2p/W. The scavenger's CPU is in G as the limiter sees it. */
static double gc_band(const sim_result *r, double w)
{
    double p = max_pause_s(r);
    return (0.5 + p) / (2 * w) + 2 * p / w;
}

/* A live heap above the limit: the goal is pinned at the marked heap, so
 * the collector would run back to back. Checked:
 *  - the goal equals the marked heap once the heap is built (pacer.c);
 *  - the limiter engages, and not before 0.5 s (capacity / ncpu at 100%
 *    GC: it cannot fill faster) nor after 2 s (the heap reaches the limit
 *    goal ~58 MiB in < 0.3 s at >= 64 MB/s, then GC runs at > 95%, which
 *    fills the bucket in 0.5/(2*0.95-1) = 0.56 s, plus one pause <= 0.2 s);
 *  - the GC share from 10% of the run to its end (the limiter has engaged
 *    by then) is within gc_band() of 50%;
 *  - the program progresses at the complement (it allocates only while it
 *    runs; idle CPUs count as the program's, so progress = 1 - GC share
 *    also for 1 thread on 8 CPUs), within the same pause-placement error
 *    2p/W and 1% for the allocation steps;
 *  - the overshoot per cycle is bounded: the mutator runs while the bucket
 *    drains from at most capacity + one pause's debt (p * ncpu) back under
 *    capacity, i.e. for at most p of wall time, plus one check step (1/32
 *    of the heap, 1 MiB at least) and one allocation step, so
 *    heap_before - marked <= rate * p + live/32 + 1 MiB + 64 KiB.
 */
static void check_pinned(const char *name)
{
    sim_result r = sim_run(find(name));
    double t0 = r.sc.duration / 10, t1 = r.sc.duration, w = t1 - t0, p = max_pause_s(&r);
    sim_report(&r, t0, t1);
    double band = gc_band(&r, w), gc = sim_gc_fraction(&r, t0, t1), prog = sim_progress(&r, t0, t1);
    /* At 100% GC the bucket (capacity per CPU x ncpu) fills in capacity-
     * per-CPU seconds of wall time, never sooner; slower where GC takes
     * less than all the CPU or the first pauses are long: within 2 s. */
    CHECK(r.first_enabled_ns >= CGC__LIMITER_CAPACITY_PER_CPU_NS && r.first_enabled_ns <= 2 * S,
          "%s: limiter first on at %.3f s", name,
          (double)r.first_enabled_ns / S);
    CHECK(gc >= 0.5 - band && gc <= 0.5 + band, "%s: GC share %.4f outside 0.5 +- %.4f", name, gc, band);
    CHECK(prog >= 1 - gc - 2 * p / w - 0.01 && prog <= 1 - gc + 2 * p / w + 0.01, "%s: progress %.4f vs GC %.4f",
          name, prog, gc);
    CHECK(r.limited_cycles > 10, "%s: limiter skipped collections in only %llu cycles", name,
          (unsigned long long)r.limited_cycles);
    int threads = r.sc.threads > 0 ? r.sc.threads : r.sc.ncpu;
    double rate = r.sc.alloc_rate * (threads < r.sc.ncpu ? threads : r.sc.ncpu);
    double bound = rate * p + (double)r.sc.live / 32 + MiB + SIM_STEP_BYTES;
    int pinned = 0, over = 0, n = 0;
    for (int i = 1; i < r.ncycles; i++) {
        const sim_cycle *c = &r.cycles[i];
        if (c->start_ns < (int64_t)(t0 * S))
            continue;
        n++;
        pinned += c->goal == c->marked;
        over += (double)(c->heap_before - r.cycles[i - 1].marked) > bound;
    }
    CHECK(n > 10 && pinned == n, "%s: goal pinned at the marked heap in %d of %d cycles", name, pinned, n);
    CHECK(over == 0, "%s: %d cycles overshot more than %.1f MiB", name, over, bound / MiB);
    sim_free(&r);
}

/* The same situation on 2, 4 and 8 CPUs behaves the same in wall-clock
 * terms: the capacity scales with ncpu, so the first engagement time and
 * the GC share agree within the band (and the 0.5-2 s window above). */
static void check_ncpu(void)
{
    sim_result a = sim_run(find("live 96 MiB > limit 64, ncpu 2"));
    sim_result b = sim_run(find("live 96 MiB > limit 64, ncpu 8"));
    double fa = sim_gc_fraction(&a, 2, 20), fb = sim_gc_fraction(&b, 2, 20);
    double band = gc_band(&a, 18);
    CHECK(fa - fb <= band && fb - fa <= band, "GC share %.3f (2 CPUs) vs %.3f (8 CPUs)", fa, fb);
    sim_free(&a);
    sim_free(&b);
}

/* Limit 0: every goal is the marked heap; the collector runs as often as
 * the limiter lets it, so the GC share is 50% within gc_band(), the program
 * still gets the other half, and the heap stays within the overshoot bound
 * (mapped stays under twice the live heap here). GOGC=off changes nothing:
 * the limit alone pins the goal. */
static void check_limit0(const char *name)
{
    sim_result r = sim_run(find(name));
    sim_report(&r, 2, 20);
    double band = gc_band(&r, 18), gc = sim_gc_fraction(&r, 2, 20);
    CHECK(gc >= 0.5 - band && gc <= 0.5 + band, "%s: GC share %.4f outside 0.5 +- %.4f", name, gc, band);
    CHECK(sim_progress(&r, 2, 20) >= 0.5 - band, "%s: progress %.3f", name, sim_progress(&r, 2, 20));
    CHECK(sim_max_mapped(&r, 2, 20) < 2 * r.sc.live, "%s: mapped %.1f MiB", name,
          (double)sim_max_mapped(&r, 2, 20) / MiB);
    sim_free(&r);
}

/* Once engaged, the limiter interleaves pauses and mutator stretches finely
 * rather than in bursts: the fill stays within [capacity - one check step's
 * drain, capacity + one pause's debt], so over ANY window of W = 50 ms the
 * GC share is at most 1/2 + (p + s)/(2W), s the time of one check step
 * (1 MiB at 256 MB/s = 4 ms), plus the sampler's 2p/W: ~65% with 2 ms
 * pauses. (With a 90% hysteresis, as an earlier version had, pauses ran
 * back to back for 50 ms at a time: 90% over the worst 50 ms.) */
static void check_fine_grained(void)
{
    sim_result r = sim_run(find("limit 0, 2 MiB live (short pauses)"));
    sim_report(&r, 2, 20);
    double p = max_pause_s(&r), w = 0.05;
    double rate = r.sc.alloc_rate * r.sc.ncpu;
    double step = (double)cgc__limiter_next_check(r.sc.live) - (double)r.sc.live;
    double bound = 0.5 + (p + step / rate) / (2 * w) + 2 * p / w, worst = 0;
    for (double t = 2; t + w <= 20; t += 0.01) {
        double f = sim_gc_fraction(&r, t, t + w);
        if (f > worst)
            worst = f;
    }
    CHECK(worst <= bound, "short pauses: worst 50 ms window %.3f > %.3f", worst, bound);
    sim_free(&r);
}

/* The ablation shows the spiral the limiter exists for, and that the model
 * can show it: without it, each collection is followed by one allocation
 * step (64 KiB, 0.25 ms at 256 MB/s) before the next ~0.1 s pause, so the
 * GC share is over 99% and the program makes almost no progress. */
static void check_ablation(void)
{
    sim_result r = sim_run(find("no limiter (ablation)"));
    sim_report(&r, 2, 20);
    CHECK(sim_gc_fraction(&r, 2, 20) > 0.99, "ablation: GC share %.3f", sim_gc_fraction(&r, 2, 20));
    CHECK(sim_progress(&r, 2, 20) < 0.01, "ablation: progress %.3f", sim_progress(&r, 2, 20));
    sim_free(&r);
}

/* GOGC=0 without a limit also pins the goal at the marked heap (Go's
 * GOGC=0 means "collect continuously"): the limiter caps it the same way. */
static void check_gogc0(void)
{
    sim_result r = sim_run(find("GOGC=0, no limit"));
    sim_report(&r, 2, 20);
    double band = gc_band(&r, 18), gc = sim_gc_fraction(&r, 2, 20);
    CHECK(gc >= 0.5 - band && gc <= 0.5 + band, "GOGC=0: GC share %.4f", gc);
    sim_free(&r);
}

/* Under 50% the limiter must not interfere: a binding limit at which GC
 * takes ~44% (test_pacer_sim) never fills the bucket — the fill only grows
 * while GC takes more than half — so no episode and no skipped cycle. */
static void check_quiet(void)
{
    sim_result r = sim_run(find("binding limit, GC < 50%"));
    sim_report(&r, 2, 20);
    CHECK(sim_gc_fraction(&r, 2, 20) < 0.5, "quiet: GC share %.3f", sim_gc_fraction(&r, 2, 20));
    CHECK(r.episodes == 0 && r.limited_cycles == 0, "quiet: limiter engaged %llu times",
          (unsigned long long)r.episodes);
    sim_free(&r);
}

int main(void)
{
    test_bucket();
    test_debt();
    test_edges();
    check_pinned("live 96 MiB > limit 64, ncpu 4");
    check_pinned("live 96 MiB > limit 64, ncpu 2");
    check_pinned("live 96 MiB > limit 64, ncpu 8");
    check_pinned("same, 1 thread on 8 CPUs");
    check_pinned("same, 32 threads on 8 CPUs");
    check_pinned("pauses > 0.5 s: 256 MiB, ncpu 2");
    check_ncpu();
    check_limit0("limit 0");
    check_limit0("limit 0, GOGC=off");
    check_fine_grained();
    check_gogc0();
    check_ablation();
    check_quiet();
    return check_done();
}
