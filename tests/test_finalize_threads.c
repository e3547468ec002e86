/* test_finalize_threads.c — finalizers, cleanups and weak pointers with
 * many threads allocating (and so collecting) at once:
 *   - stress: every finalizer and cleanup of 4 threads' objects (chains of
 *     three finalizable objects, some with cleanups, some freed early) runs
 *     exactly once, with its own object intact, while cgc_run_finalizers
 *     and the finalizer thread both run them;
 *   - weak handles read through hundreds of collections: a live object's
 *     handle always reads it (intact), a dropped one's reads it or NULL and,
 *     once NULL, stays NULL;
 *   - cgc_weak_make of one object from every thread at once: one handle.
 * Usage: test_finalize_threads [THREADS [OBJECTS_PER_THREAD]] */
#include "cgc.h"
#include "internal.h"
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

typedef struct obj {
    struct obj *next;
    uint64_t id;
    uint64_t check;   /* ~id: a freed-and-reused or poisoned object shows */
} obj;

static int nthreads = 4;
static int per_thread = 30000;
static _Atomic uint8_t *fin_count, *cl_count;   /* malloc'd, by id */
static _Atomic int bad_object, stopped_ran;
static uintptr_t *addr_of;   /* hidden address by id: what a failure reports */
static _Atomic uint64_t busy_allocs;

static void fin(void *o, void *arg)
{
    obj *p = o;
    uint64_t id = (uint64_t)(uintptr_t)arg - 1;
    if (p->id != id || p->check != ~id)
        atomic_store(&bad_object, 1);
    atomic_fetch_add(&fin_count[id], 1);
    if (id % 64 == 0) {
        /* Finalizers may allocate and call cgc. */
        obj *x = cgc_malloc(sizeof *x);
        cgc_weak_make(x);
        atomic_fetch_add(&busy_allocs, 1);
    }
}

static void cleanup(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg - 1;
    atomic_fetch_add(&cl_count[id], 1);
}

static void stopped_cleanup(void *arg)
{
    atomic_store(&stopped_ran, 1);
}

static obj *make(uint64_t id)
{
    obj *p = cgc_malloc(sizeof *p);
    p->id = id;
    p->check = ~id;
    return p;
}

/* Objects id = base .. base + per_thread - 1, in chains of three (A -> B
 * -> C, all finalizable); every 5th gets a cleanup too, every 7th a cleanup
 * that is stopped, and every 11th chain is freed at once (its records go,
 * its finalizers never run: marked as run so the count check holds). */
static void *stress_thread(void *arg)
{
    uint64_t base = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i + 3 <= per_thread; i += 3) {
        obj *c[3];
        for (int k = 2; k >= 0; k--) {
            uint64_t id = base + (uint64_t)i + (uint64_t)k;
            c[k] = make(id);
            addr_of[id] = hide(c[k]);
            c[k]->next = k < 2 ? c[k + 1] : NULL;
            cgc_set_finalizer(c[k], fin, (void *)(uintptr_t)(id + 1));
            if (id % 5 == 0)
                cgc_add_cleanup(c[k], cleanup, (void *)(uintptr_t)(id + 1));
            else
                atomic_store(&cl_count[id], 1);   /* none to run */
            if (id % 7 == 0)
                cgc_cleanup_stop(cgc_add_cleanup(c[k], stopped_cleanup, NULL));
        }
        if ((i / 3) % 11 == 0) {
            for (int k = 0; k < 3; k++) {
                uint64_t id = c[k]->id;
                cgc_free(c[k]);
                atomic_store(&fin_count[id], 1);
                atomic_store(&cl_count[id], 1);
            }
        }
        /* Some garbage between chains, so that collections come often. */
        for (int g = 0; g < 8; g++)
            cgc_malloc(64);
    }
    return NULL;
}

static uint64_t not_once(_Atomic uint8_t *count, uint64_t n, uint64_t *twice)
{
    uint64_t missing = 0;
    *twice = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t v = atomic_load(&count[i]);
        missing += v == 0;
        *twice += v > 1;
    }
    return missing;
}

static void test_stress(void)
{
    uint64_t n = (uint64_t)nthreads * (uint64_t)per_thread;
    fin_count = calloc(n, 1);
    cl_count = calloc(n, 1);
    addr_of = calloc(n, sizeof *addr_of);
    for (uint64_t i = (uint64_t)(per_thread / 3) * 3; i < (uint64_t)per_thread; i++)
        for (int t = 0; t < nthreads; t++) {   /* ids no chain covers */
            fin_count[(uint64_t)t * (uint64_t)per_thread + i] = 1;
            cl_count[(uint64_t)t * (uint64_t)per_thread + i] = 1;
        }
    pthread_t th[64];
    for (int t = 0; t < nthreads; t++)
        cgc_pthread_create(&th[t], NULL, stress_thread, (void *)(uintptr_t)((uint64_t)t * (uint64_t)per_thread));
    /* Meanwhile this thread runs queued finalizers too (with the
     * finalizer thread: each must still run once). */
    for (int i = 0; i < 200; i++) {
        cgc_run_finalizers();
        for (int g = 0; g < 100; g++)
            cgc_malloc(64);
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    uint64_t fmiss = n, cmiss = n, ftwice = 0, ctwice = 0;
    for (int i = 0; i < 300; i++) {
        clear_stack();
        cgc_collect();
        cgc_run_finalizers();
        fmiss = not_once(fin_count, n, &ftwice);
        cmiss = not_once(cl_count, n, &ctwice);
        if (fmiss == 0 && cmiss == 0)
            break;
    }
    /* One may still be running on the finalizer thread: wait for it (at
     * most 30 s), not for more cycles. */
    static cgc_memstats q;
    for (int ms = 0; ms < 30000 && (fmiss || cmiss); ms++) {
        cgc_read_memstats(&q);
        if (q.finalizers_queued + q.cleanups_queued == q.finalizers_run + q.cleanups_run)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        fmiss = not_once(fin_count, n, &ftwice);
        cmiss = not_once(cl_count, n, &ctwice);
    }
    fmiss = not_once(fin_count, n, &ftwice);
    cmiss = not_once(cl_count, n, &ctwice);
    for (uint64_t i = 0; i < n && fmiss; i++)
        if (!atomic_load(&fin_count[i]))
            fprintf(stderr, "finalizer of %llu (thread %llu, chain position %llu, cleanup %d) did not run\n",
                    (unsigned long long)i, (unsigned long long)(i / (uint64_t)per_thread),
                    (unsigned long long)(i % (uint64_t)per_thread % 3), (int)atomic_load(&cl_count[i])),
            fprintf(stderr, "  object %p: %s\n", unhide(addr_of[i]),
                    cgc_base(unhide(addr_of[i])) == unhide(addr_of[i]) && ((obj *)unhide(addr_of[i]))->id == i ? "still allocated" : "freed");
    CHECK(fmiss == 0, "every finalizer ran (%llu of %llu did not)", (unsigned long long)fmiss, (unsigned long long)n);
    CHECK(cmiss == 0, "every cleanup ran (%llu did not)", (unsigned long long)cmiss);
    CHECK(ftwice == 0 && ctwice == 0, "none twice (%llu finalizers, %llu cleanups)", (unsigned long long)ftwice,
          (unsigned long long)ctwice);
    CHECK(!atomic_load(&bad_object), "each finalizer got its own object, intact");
    CHECK(!atomic_load(&stopped_ran), "no stopped cleanup ran");
    CHECK(atomic_load(&busy_allocs) > 0, "finalizers allocated");
    cgc_memstats m;
    cgc_read_memstats(&m);
    CHECK(m.finalizers_queued == m.finalizers_run, "queued = run once all ran (%llu, %llu)",
          (unsigned long long)m.finalizers_queued, (unsigned long long)m.finalizers_run);
    free(addr_of);
    free((void *)fin_count);
    free((void *)cl_count);
}

/* ---- weak handles under collection -------------------------------------- */

#define WEAK_OBJS 256
static _Atomic int weak_bad, weak_revived;
static _Atomic uint64_t weak_cleared;

static void *weak_thread(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + 1;
    cgc_weak **h = cgc_malloc(WEAK_OBJS * sizeof *h);   /* handles: reachable */
    obj **live = cgc_malloc(WEAK_OBJS / 2 * sizeof *live);
    uintptr_t *dropped = malloc(WEAK_OBJS / 2 * sizeof *dropped);   /* hidden addresses */
    uint8_t *gone = calloc(WEAK_OBJS / 2, 1);
    for (int i = 0; i < WEAK_OBJS; i++) {
        obj *p = make((uint64_t)i);
        h[i] = cgc_weak_make(p);
        if (i % 2 == 0)
            live[i / 2] = p;
        else
            dropped[i / 2] = hide(p);
    }
    for (int round = 0; round < 400; round++) {
        for (int g = 0; g < 200; g++)
            cgc_malloc(32 + (check_rng(&rng) & 255));
        if (round % 25 == 24)
            cgc_collect();   /* besides the ones the allocation starts */
        for (int i = 0; i < WEAK_OBJS; i++) {
            obj *p = cgc_weak_get(h[i]);
            if (i % 2 == 0) {
                if (p != live[i / 2] || p->id != (uint64_t)i || p->check != ~(uint64_t)i)
                    atomic_store(&weak_bad, 1);
            } else if (p == NULL) {
                gone[i / 2] = 1;
            } else if (gone[i / 2]) {
                atomic_store(&weak_revived, 1);
            } else if ((uintptr_t)p != (uintptr_t)unhide(dropped[i / 2]) || p->id != (uint64_t)i ||
                       p->check != ~(uint64_t)i) {
                atomic_store(&weak_bad, 1);
            }
            p = NULL;
        }
    }
    uint64_t n = 0;
    for (int i = 0; i < WEAK_OBJS / 2; i++)
        n += gone[i];
    atomic_fetch_add(&weak_cleared, n);
    free(dropped);
    free(gone);
    return NULL;
}

static void test_weak_threads(void)
{
    pthread_t th[64];
    cgc_memstats m0, m1;
    cgc_read_memstats(&m0);
    for (int t = 0; t < nthreads; t++)
        cgc_pthread_create(&th[t], NULL, weak_thread, (void *)(uintptr_t)(t + 1));
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    cgc_read_memstats(&m1);
    CHECK(m1.num_gc - m0.num_gc >= 20, "many collections ran meanwhile (%u)", m1.num_gc - m0.num_gc);
    CHECK(!atomic_load(&weak_bad), "a weak handle read its own object, intact, or NULL: never anything else");
    CHECK(!atomic_load(&weak_revived), "once NULL, a handle stays NULL");
    uint64_t total = (uint64_t)nthreads * WEAK_OBJS / 2;
    CHECK(atomic_load(&weak_cleared) * 2 >= total, "dropped objects' handles were cleared (%llu of %llu)",
          (unsigned long long)atomic_load(&weak_cleared), (unsigned long long)total);
}

/* ---- one object, every thread making its handle -------------------------- */

static obj *shared;
static cgc_weak *made[64];
static pthread_barrier_t barrier;

static void *make_thread(void *arg)
{
    int t = (int)(uintptr_t)arg;
    pthread_barrier_wait(&barrier);
    made[t] = cgc_weak_make(shared);
    return NULL;
}

static void test_make_race(void)
{
    int same = 1;
    for (int round = 0; round < 50; round++) {
        shared = make(1);
        pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
        pthread_t th[64];
        for (int t = 0; t < nthreads; t++)
            cgc_pthread_create(&th[t], NULL, make_thread, (void *)(uintptr_t)t);
        for (int t = 0; t < nthreads; t++)
            pthread_join(th[t], NULL);
        pthread_barrier_destroy(&barrier);
        for (int t = 0; t < nthreads; t++)
            same &= made[t] == made[0] && made[t] != NULL;
        same &= cgc_weak_make(shared) == made[0];
    }
    CHECK(same, "threads making a handle for one object at once all get the same one");
    memset(made, 0, sizeof made);
    shared = NULL;
}

static void *pin;

int main(int argc, char **argv)
{
    if (argc > 1)
        nthreads = atoi(argv[1]);
    if (argc > 2)
        per_thread = atoi(argv[2]);
    if (nthreads < 2)
        nthreads = 2;
    if (nthreads > 64)
        nthreads = 64;
    pin = cgc_malloc(16);   /* the arena's first slot (see test_finalize.c) */
    test_make_race();
    test_weak_threads();
    test_stress();
    return check_done();
}
