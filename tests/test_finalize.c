/* test_finalize.c — finalizers, cleanups and weak pointers (SPEC §9), one
 * thread at a time: ordering, resurrection, cycles, removal, cleanups,
 * weak clearing and identity, bad input, counters, cgc_run_finalizers,
 * the finalizer thread, fork.
 *
 * Objects meant to die are made in deep_call'd helpers and named in the
 * test's own frames only hidden (check.h), and dead stack is cleared
 * before each collection, so no stale word keeps them. Waits are bounded
 * by a number of collections, never by time alone. */
#include "cgc.h"
#include "internal.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

typedef struct node {
    struct node *next;
    struct node *other;
    uint64_t tag;
} node;

/* What finalizers saw: an event log (order), counts by tag. */
#define MAXLOG 64
static _Atomic int nlog;
static uint64_t logtag[MAXLOG];
static uint32_t lognum[MAXLOG];   /* num_gc when it ran */
static _Atomic int runs[64];
static pthread_t ran_on;
static _Atomic int weak_seen_null;  /* in fin_check_weak: the handle already read NULL */
static cgc_weak *saved_weak;        /* kept alive by this root */
static void *resurrected;           /* a root: a finalizer stores its object here */

static uint32_t num_gc(void)
{
    static __thread cgc_memstats m;
    cgc_read_memstats(&m);
    return m.num_gc;
}

static void fin_log(void *obj, void *arg)
{
    node *n = obj;
    int i = atomic_fetch_add(&nlog, 1);
    if (i < MAXLOG) {
        logtag[i] = n->tag;
        lognum[i] = num_gc();
    }
    atomic_fetch_add(&runs[(uintptr_t)arg % 64], 1);
    ran_on = pthread_self();
}

static void fin_resurrect(void *obj, void *arg)
{
    resurrected = obj;
    atomic_fetch_add(&runs[(uintptr_t)arg % 64], 1);
}

static void fin_check_weak(void *obj, void *arg)
{
    if (cgc_weak_get(saved_weak) == NULL)
        atomic_store(&weak_seen_null, 1);
    atomic_fetch_add(&runs[(uintptr_t)arg % 64], 1);
}

static void cleanup_count(void *arg)
{
    atomic_fetch_add(&runs[(uintptr_t)arg % 64], 1);
}

static void reset(void)
{
    atomic_store(&nlog, 0);
    for (int i = 0; i < 64; i++)
        atomic_store(&runs[i], 0);
}

/* One collection with dead stack cleared, then whatever is queued, here. */
static void cycle(void)
{
    clear_stack();
    cgc_collect();
    cgc_run_finalizers();
}

/* Finalizers or cleanups queued and not finished (one may be running on
 * the finalizer thread). */
static int in_flight(void)
{
    static cgc_memstats m;
    cgc_read_memstats(&m);
    return m.finalizers_queued + m.cleanups_queued > m.finalizers_run + m.cleanups_run;
}

/* Cycles until runs[slot] reaches want, at most `max` cycles; then, while
 * some finalizer is still running on the finalizer thread (a slow one, on
 * a loaded machine or under a sanitizer), waits for it, at most 30 s. */
static int cycle_until(int slot, int want, int max)
{
    for (int i = 0; i < max; i++) {
        if (atomic_load(&runs[slot]) >= want)
            return 1;
        cycle();
    }
    for (int ms = 0; ms < 30000 && atomic_load(&runs[slot]) < want && in_flight(); ms++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        cgc_run_finalizers();
    }
    return atomic_load(&runs[slot]) >= want;
}

static node *new_node(uint64_t tag)
{
    node *n = cgc_malloc(sizeof *n);
    n->tag = tag;
    return n;
}

/* ---- finalizers ---------------------------------------------------------- */

static uintptr_t make_one(uintptr_t slot)
{
    node *n = new_node(100);
    cgc_set_finalizer(n, fin_log, (void *)slot);
    return hide(n);
}

static void test_basic(void)
{
    reset();
    /* static: a big uninitialised local holds stale words of earlier
     * calls, among them addresses of objects meant to die. */
    static cgc_memstats m0, m1;
    cgc_read_memstats(&m0);
    deep_call(make_one, 1);
    CHECK(cycle_until(1, 1, 20), "a finalizer runs once its object is unreachable");
    for (int i = 0; i < 5; i++)
        cycle();
    CHECK(atomic_load(&runs[1]) == 1, "it runs exactly once (ran %d times)", atomic_load(&runs[1]));
    CHECK(logtag[0] == 100, "it gets its object, intact (tag %llu)", (unsigned long long)logtag[0]);
    cgc_read_memstats(&m1);
    CHECK(m1.finalizers_queued - m0.finalizers_queued == 1 && m1.finalizers_run - m0.finalizers_run == 1,
          "counted: queued +%llu, run +%llu", (unsigned long long)(m1.finalizers_queued - m0.finalizers_queued),
          (unsigned long long)(m1.finalizers_run - m0.finalizers_run));
}

/* A -> B -> C, each with a finalizer: A's runs first, then B's, then C's,
 * each in a later cycle than the one before. */
static uintptr_t make_chain(uintptr_t unused)
{
    node *a = new_node(1), *b = new_node(2), *c = new_node(3);
    a->next = b;
    b->next = c;
    cgc_set_finalizer(c, fin_log, (void *)2);
    cgc_set_finalizer(b, fin_log, (void *)2);
    cgc_set_finalizer(a, fin_log, (void *)2);
    return 0;
}

static void test_chain(void)
{
    reset();
    /* Only this thread runs them, after cgc_collect has counted the cycle
     * (the finalizer thread may start on what a cycle queued before the
     * cycle is counted). */
    atomic_store(&cgc__finalizer_held, 1);
    deep_call(make_chain, 0);
    CHECK(cycle_until(2, 3, 40), "all three of a chain run (%d did)", atomic_load(&runs[2]));
    atomic_store(&cgc__finalizer_held, 0);
    CHECK(logtag[0] == 1 && logtag[1] == 2 && logtag[2] == 3, "in order A, B, C (got %llu %llu %llu)",
          (unsigned long long)logtag[0], (unsigned long long)logtag[1], (unsigned long long)logtag[2]);
    CHECK(lognum[0] < lognum[1] && lognum[1] < lognum[2], "each after a later cycle (%u %u %u)",
          lognum[0], lognum[1], lognum[2]);
}

/* A -> B where only B has a finalizer, and A -> B where only A has one:
 * the finalizer's object keeps what it points to for the finalizer. */
static uintptr_t make_holder(uintptr_t unused)
{
    node *a = new_node(7), *b = new_node(8);
    memset(b, 0x5a, sizeof *b);
    a->next = b;
    cgc_set_finalizer(a, fin_resurrect, (void *)3);
    return 0;
}

/* Checks the resurrected object across collections; in its own frame,
 * which is gone (and cleared) before the object is dropped again. */
static uintptr_t check_resurrected(uintptr_t unused)
{
    node *a = resurrected;
    CHECK(a && a->tag == 7, "the resurrected object is intact");
    for (int i = 0; i < 6; i++) {
        /* Garbage so that swept slots would be reused (and poisoned in
         * debug builds) if a or what it points to had been freed. */
        for (int k = 0; k < 2000; k++)
            memset(cgc_malloc(sizeof(node)), 0xee, sizeof(node));
        cycle();
    }
    a = resurrected;
    uint8_t want[sizeof(node)];
    memset(want, 0x5a, sizeof want);
    CHECK(a->tag == 7 && memcmp(a->next, want, sizeof want) == 0,
          "after 6 more cycles it and what it points to are still intact");
    CHECK(cgc_base(a) == a && cgc_base(a->next) == a->next, "both still allocated");
    CHECK(atomic_load(&runs[3]) == 1, "not finalized again (%d runs)", atomic_load(&runs[3]));
    /* Finalizable again once re-armed. */
    cgc_set_finalizer(a, fin_log, (void *)4);
    return 0;
}

static void test_resurrection(void)
{
    reset();
    resurrected = NULL;
    deep_call(make_holder, 0);
    CHECK(cycle_until(3, 1, 20), "the resurrecting finalizer ran");
    deep_call(check_resurrected, 0);
    resurrected = NULL;
    CHECK(cycle_until(4, 1, 20), "a re-armed finalizer runs after it is dropped again");
}

/* A <-> B, both with finalizers; C points to itself. Never finalized. */
static uintptr_t make_cycle(uintptr_t unused)
{
    node *a = new_node(11), *b = new_node(12), *c = new_node(13);
    a->next = b;
    b->next = a;
    c->next = c;
    cgc_set_finalizer(a, fin_log, (void *)5);
    cgc_set_finalizer(b, fin_log, (void *)5);
    cgc_set_finalizer(c, fin_log, (void *)5);
    node *d = new_node(14);   /* control: no cycle */
    cgc_set_finalizer(d, fin_log, (void *)6);
    return 0;
}

static void test_cycle(void)
{
    reset();
    deep_call(make_cycle, 0);
    CHECK(cycle_until(6, 1, 20), "the control object is finalized");
    for (int i = 0; i < 5; i++)
        cycle();
    CHECK(atomic_load(&runs[5]) == 0, "a cycle of finalizers and a self-referent object are never finalized (%d ran)",
          atomic_load(&runs[5]));
}

static uintptr_t make_removed(uintptr_t unused)
{
    node *a = new_node(21), *b = new_node(22);
    cgc_set_finalizer(a, fin_log, (void *)7);
    CHECK(cgc_set_finalizer(a, NULL, NULL) == 0, "removing returns 0");
    cgc_set_finalizer(b, fin_log, (void *)7);
    cgc_set_finalizer(b, fin_log, (void *)8);   /* replaces */
    return 0;
}

static void test_remove(void)
{
    reset();
    deep_call(make_removed, 0);
    CHECK(cycle_until(8, 1, 20), "a replaced finalizer runs with its new argument");
    for (int i = 0; i < 4; i++)
        cycle();
    CHECK(atomic_load(&runs[7]) == 0, "a removed or replaced finalizer never runs (%d ran)", atomic_load(&runs[7]));
}

/* ---- cleanups ------------------------------------------------------------ */

static uintptr_t make_cleanups(uintptr_t out)
{
    uintptr_t *h = (uintptr_t *)out;
    node *a = new_node(31), *b = new_node(32);
    a->next = b;
    b->next = a;   /* a cycle: fine for cleanups */
    CHECK(cgc_add_cleanup(a, cleanup_count, (void *)9).id != 0, "add_cleanup gives a handle");
    cgc_add_cleanup(a, cleanup_count, (void *)9);   /* any number per object */
    cgc_add_cleanup(b, cleanup_count, (void *)9);
    cgc_cleanup c = cgc_add_cleanup(b, cleanup_count, (void *)10);
    cgc_cleanup_stop(c);
    cgc_cleanup_stop(c);   /* twice: nothing */
    h[0] = hide(a);
    h[1] = hide(b);
    return 0;
}

static void test_cleanups(void)
{
    reset();
    uintptr_t h[2];
    static cgc_memstats m0, m1;
    cgc_read_memstats(&m0);
    deep_call(make_cleanups, (uintptr_t)h);
    CHECK(cycle_until(9, 3, 20), "all three cleanups of a cycle run (%d did)", atomic_load(&runs[9]));
    for (int i = 0; i < 3; i++)
        cycle();
    CHECK(atomic_load(&runs[9]) == 3, "each once (%d)", atomic_load(&runs[9]));
    CHECK(atomic_load(&runs[10]) == 0, "a stopped cleanup never runs");
    CHECK(cgc_base(unhide(h[0])) == NULL && cgc_base(unhide(h[1])) == NULL,
          "a cleanup does not keep its object: both are freed");
    cgc_read_memstats(&m1);
    CHECK(m1.cleanups_queued - m0.cleanups_queued == 3 && m1.cleanups_run - m0.cleanups_run == 3,
          "counted: queued +%llu, run +%llu", (unsigned long long)(m1.cleanups_queued - m0.cleanups_queued),
          (unsigned long long)(m1.cleanups_run - m0.cleanups_run));
}

/* Object with a finalizer and a cleanup: the finalizer first; the cleanup
 * only once the object is gone for good (after a later cycle). */
static uintptr_t make_both(uintptr_t unused)
{
    node *a = new_node(41);
    cgc_set_finalizer(a, fin_log, (void *)11);
    cgc_add_cleanup(a, cleanup_count, (void *)12);
    return 0;
}

static void test_cleanup_after_finalizer(void)
{
    reset();
    deep_call(make_both, 0);
    CHECK(cycle_until(11, 1, 20), "the finalizer runs");
    CHECK(cycle_until(12, 1, 20), "then the cleanup");
    CHECK(lognum[0] < num_gc(), "the cleanup came in a later cycle");
}

/* ---- weak pointers ------------------------------------------------------- */

static uintptr_t make_weak(uintptr_t out)
{
    node *a = new_node(51);
    cgc_weak *w = cgc_weak_make(a);
    CHECK(w != NULL, "weak_make gives a handle");
    CHECK(cgc_weak_make(a) == w, "the same handle for the same object");
    CHECK(cgc_weak_get(w) == a, "get returns the object while it lives");
    node *b = new_node(52);
    CHECK(cgc_weak_make(b) != w, "another object, another handle");
    saved_weak = w;
    cgc_set_finalizer(a, fin_check_weak, (void *)13);
    return 0;
}

static void test_weak(void)
{
    reset();
    atomic_store(&weak_seen_null, 0);
    deep_call(make_weak, 0);
    CHECK(cycle_until(13, 1, 20), "the finalizer of a weakly referenced object runs");
    CHECK(atomic_load(&weak_seen_null), "the weak handle read NULL before its finalizer ran");
    CHECK(cgc_weak_get(saved_weak) == NULL, "and stays NULL");
    saved_weak = NULL;

    /* A live object: its handle survives collections and keeps answering. */
    node *live = new_node(53);
    cgc_weak *w = cgc_weak_make(live);
    uintptr_t hw = hide(w);
    w = NULL;
    for (int i = 0; i < 3; i++)
        cycle();
    w = unhide(hw);
    CHECK(cgc_weak_make(live) == w, "a live object's handle is kept (same handle after cycles)");
    CHECK(cgc_weak_get(w) == live, "and reads the object");
    cgc_free(live);
    CHECK(cgc_weak_get(w) == NULL, "cgc_free clears the handle");
}

/* ---- bad input ----------------------------------------------------------- */

static void nop_fin(void *o, void *a) {}
static void nop_cleanup(void *a) {}

static void test_einval(void)
{
    char *p = cgc_malloc(64);
    int local;
    void *m = malloc(32);
    void *bad[] = {NULL, p + 16, &local, m, (void *)16};
    for (int i = 0; i < 5; i++) {
        errno = 0;
        CHECK(cgc_set_finalizer(bad[i], nop_fin, NULL) == -1 && errno == EINVAL, "set_finalizer(bad %d): -1/EINVAL", i);
        errno = 0;
        CHECK(cgc_add_cleanup(bad[i], nop_cleanup, NULL).id == 0 && errno == EINVAL, "add_cleanup(bad %d): 0/EINVAL", i);
        errno = 0;
        CHECK(cgc_weak_make(bad[i]) == NULL && errno == EINVAL, "weak_make(bad %d): NULL/EINVAL", i);
    }
    errno = 0;
    CHECK(cgc_weak_get((cgc_weak *)&local) == NULL && errno == EINVAL, "weak_get(not a handle): NULL/EINVAL");
    CHECK(cgc_weak_get(NULL) == NULL, "weak_get(NULL): NULL");
    errno = 0;
    CHECK(cgc_add_cleanup(p, NULL, NULL).id == 0 && errno == EINVAL, "add_cleanup without a function: EINVAL");
    cgc_cleanup_stop((cgc_cleanup){0});
    cgc_cleanup_stop((cgc_cleanup){0x123456789abcull});
    cgc_cleanup_stop((cgc_cleanup){~0ull});
    CHECK(1, "cleanup_stop of zero and made-up handles does nothing");
    free(m);
    /* A freed object's finalizer is dropped with it: it must not fire for
     * the next object allocated in the same slot. */
    reset();
    node *f = new_node(61);
    cgc_set_finalizer(f, fin_log, (void *)14);
    cgc_add_cleanup(f, cleanup_count, (void *)14);
    cgc_free(f);
    f = NULL;
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 100; k++)
            new_node(0);
        cycle();
    }
    CHECK(atomic_load(&runs[14]) == 0, "cgc_free drops the object's finalizer and cleanups");
}

/* ---- counters by name ---------------------------------------------------- */

static void test_metrics(void)
{
    static cgc_memstats m, old;
    cgc_read_memstats(&m);
    CHECK(m.version == 2 && m.size == sizeof m, "memstats version 2, size %u", m.size);
    cgc_metric_sample s[4] = {{.name = "/gc/finalizers/queued:finalizers"},
                              {.name = "/gc/finalizers/executed:finalizers"},
                              {.name = "/gc/cleanups/queued:cleanups"},
                              {.name = "/gc/cleanups/executed:cleanups"}};
    cgc_metrics_read(s, 4);
    cgc_read_memstats(&m);
    for (int i = 0; i < 4; i++)
        CHECK(s[i].kind == CGC_METRIC_UINT64, "%s is a metric", s[i].name);
    CHECK(s[0].value.u64 == m.finalizers_queued && s[1].value.u64 == m.finalizers_run &&
          s[2].value.u64 == m.cleanups_queued && s[3].value.u64 == m.cleanups_run,
          "the metrics are the memstats counters");
    CHECK(m.finalizers_queued >= m.finalizers_run && m.finalizers_run >= 10, "counts add up (%llu queued, %llu run)",
          (unsigned long long)m.finalizers_queued, (unsigned long long)m.finalizers_run);
    /* An old caller's struct (version 1's size) gets no new field. */
    memset(&old, 0x77, sizeof old);
    size_t v1 = offsetof(cgc_memstats, finalizers_queued);
    cgc_read_memstats_sized(&old, v1);
    CHECK(old.size == v1 && old.finalizers_queued == 0x7777777777777777ull, "a version-1 struct is filled to its size");
}

/* ---- where finalizers run ------------------------------------------------ */

static void test_run_here(void)
{
    static cgc_memstats m;
    reset();
    atomic_store(&cgc__finalizer_held, 1);
    deep_call(make_one, 15);
    for (int i = 0; i < 20 && atomic_load(&runs[15]) == 0; i++) {
        clear_stack();
        cgc_collect();
        cgc_read_memstats(&m);
        if (m.finalizers_queued > m.finalizers_run)
            break;
    }
    cgc_run_finalizers();
    CHECK(atomic_load(&runs[15]) == 1, "cgc_run_finalizers runs the queued finalizer");
    CHECK(pthread_equal(ran_on, pthread_self()), "in the calling thread");
    atomic_store(&cgc__finalizer_held, 0);

    /* With nobody calling cgc_run_finalizers: the finalizer thread. */
    reset();
    deep_call(make_one, 16);
    int ok = 0;
    for (int i = 0; i < 2000 && !ok; i++) {
        if (i % 100 == 0) {
            clear_stack();
            cgc_collect();
        }
        ok = atomic_load(&runs[16]) == 1;
        struct timespec ts = {0, 5000000};
        if (!ok)
            nanosleep(&ts, NULL);   /* bounded wait: at most ~10 s */
    }
    CHECK(ok, "the finalizer thread runs it");
    CHECK(!pthread_equal(ran_on, pthread_self()), "on its own thread");
}

/* A finalizer that allocates, collects and sets finalizers. */
static void fin_busy(void *obj, void *arg)
{
    for (int i = 0; i < 100; i++)
        cgc_malloc(100);
    cgc_collect();
    node *n = new_node(71);
    cgc_set_finalizer(n, fin_log, (void *)18);
    cgc_weak_make(n);
    atomic_fetch_add(&runs[17], 1);
}

static uintptr_t make_busy(uintptr_t unused)
{
    cgc_set_finalizer(new_node(70), fin_busy, NULL);
    return 0;
}

static void test_finalizer_calls_cgc(void)
{
    reset();
    deep_call(make_busy, 0);
    CHECK(cycle_until(17, 1, 20), "a finalizer that allocates and collects runs");
    CHECK(cycle_until(18, 1, 20), "and the finalizer it set runs too");
}

/* ---- fork ------------------------------------------------------------------ */

static void test_fork(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* The finalizer thread is gone here: it must start again. */
        reset();
        deep_call(make_one, 19);
        for (int i = 0; i < 2000; i++) {
            if (i % 100 == 0) {
                clear_stack();
                cgc_collect();
            }
            if (atomic_load(&runs[19]) == 1)
                _exit(pthread_equal(ran_on, pthread_self()) ? 3 : 0);
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        _exit(2);
    }
    CHECK(check_child_ok(pid, "forked child"),
          "in a forked child the finalizer thread starts again and runs it (2: never ran, 3: not on its thread)");
}

/* The first object of an arena sits at the arena's base, an address that
 * other words in the process happen to hold (seen: two stale copies in
 * main's caller's frames), so it is never found unreachable. Pinned here
 * for the whole run, so no test object lands there. */
static void *pin;

int main(void)
{
    pin = cgc_malloc(16);
    test_basic();
    test_chain();
    test_resurrection();
    test_cycle();
    test_remove();
    test_cleanups();
    test_cleanup_after_finalizer();
    test_weak();
    test_einval();
    test_finalizer_calls_cgc();
    test_run_here();
    test_metrics();
    test_fork();
    return check_done();
}
