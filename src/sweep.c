/* sweep.c — reclaiming unmarked objects, lazily and in the background, so
 * that the cost is not in the pause.
 *
 * At the end of a mark (world stopped) cgc__sweep_start_cycle only moves
 * every in-use span onto "unswept" lists: O(number of span classes). Then a
 * span is swept by whoever needs it first: an allocating thread that wants a
 * span of that class (alloc.c), the background sweeper thread, cgc_free, or
 * the next collection (which must finish sweeping before it marks again,
 * because the mark bits are reused).
 *
 * Sweeping a small span is a few word operations: the mark bits become the
 * alloc bits (an unmarked object is free), the mark bits are cleared. Free
 * memory is never touched: it is zeroed when it is allocated again.
 * Uncollectable spans keep their alloc bits.
 */
#include "internal.h"

#include <stdlib.h>

_Atomic uint32_t cgc__sweepgen = 2;
_Atomic uint64_t cgc__swept_nfree, cgc__swept_bytes_freed;
pthread_mutex_t cgc__sweeper_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv = PTHREAD_COND_INITIALIZER;
static unsigned wake_gen;
static int sweeper_started;
_Atomic int cgc__sweeper_held;

static uint32_t popcount_bits(const uint64_t *bits, uint32_t nelems)
{
    uint32_t n = 0;
    for (uint32_t w = 0; w < (nelems + 63) / 64; w++)
        n += (uint32_t)__builtin_popcountll(bits[w]);
    return n;
}

/* Packs the mark bits of n (<= 64) slot bytes into a bitmap word: eight
 * bytes at a time, gathering bit 1 of each byte with a shift and a multiply
 * (0x0102040810204080 moves byte i's low bit to bit 56 + i). */
static uint64_t marks_to_bits(const uint8_t *m, uint32_t n)
{
    uint64_t bits = 0;
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, m + i, 8);
        bits |= ((((x >> 1) & 0x0101010101010101ull) * 0x0102040810204080ull) >> 56) << i;
    }
    for (; i < n; i++)
        bits |= (uint64_t)((m[i] >> 1) & 1) << i;
    return bits;
}

static bool sweep_span(cgc__span *s);

/* Sweeping done by the program's own threads (lazily, on the allocation
 * path, in reclaim, after cgc_collect) is collection work too, and with
 * collections back to back it is a large part of it: every cycle makes the
 * whole heap unswept. It is timed here (the monotonic clock is a vDSO call)
 * and reported to the limiter and gc_cpu_fraction by the core
 * (cgc__gc_fold_mutator_sweep). Left out, a limit at half the live heap
 * held collection to 41% of the CPU by its own count while getrusage
 * showed 58-60%. The collecting thread and the sweeper thread are timed by
 * their own CPU clocks instead. */
_Atomic int64_t cgc__mutator_sweep_ns;
__thread int cgc__collecting;

bool cgc__sweep_span(cgc__span *s)
{
    if (!cgc__self || cgc__collecting)
        return sweep_span(s);
    int64_t t0 = cgc__now_ns();
    bool freed = sweep_span(s);
    atomic_fetch_add_explicit(&cgc__mutator_sweep_ns, cgc__now_ns() - t0, memory_order_relaxed);
    return freed;
}

static bool sweep_span(cgc__span *s)
{
    s->sweepgen = atomic_load(&cgc__sweepgen);
    if (s->state == CGC_SPAN_LARGE) {
        if (s->marks[0] & CGC_SLOT_MARKED) {
            s->marks[0] = CGC_SLOT_ALLOCATED;
            return false;
        }
        atomic_fetch_add(&cgc__swept_nfree, 1);
        atomic_fetch_add(&cgc__swept_bytes_freed, s->elemsize);
        cgc__heap_free_span(s);
        return true;
    }
    uint32_t words = (s->nelems + 63) / 64;
    uint32_t before = popcount_bits(s->allocbits, s->nelems);
    if (s->kind != CGC_KIND_UNCOLLECTABLE) {
#ifdef CGC_DEBUG_BUILD
        /* Poison what is being freed, so a wrongly freed object shows up as
         * corrupted contents in the tests rather than as silent sharing. */
        for (uint32_t i = 0; i < s->nelems; i++)
            if (cgc__bit(s->allocbits, i) && !(s->marks[i] & CGC_SLOT_MARKED))
                memset((void *)(s->start + (uintptr_t)i * s->elemsize), 0xdb, s->elemsize);
#endif
        /* The marked objects are exactly the allocated ones now. */
        for (uint32_t w = 0; w < words; w++)
            s->allocbits[w] = marks_to_bits(s->marks + w * 64,
                                            s->nelems - w * 64 < 64 ? s->nelems - w * 64 : 64);
    }
    /* Slot bytes start the next cycle as "allocated, unmarked" or free. */
    for (uint32_t i = 0; i < s->nelems; i += 8) {
        uint64_t x = cgc__bits_to_bytes8(s->allocbits[i >> 6] >> (i & 63));
        memcpy(s->marks + i, &x, 8);
    }
    uint32_t after = popcount_bits(s->allocbits, s->nelems);
    uint32_t freed = before - after;
    if (freed) {
        atomic_fetch_add(&cgc__swept_nfree, freed);
        atomic_fetch_add(&cgc__swept_bytes_freed, (uint64_t)freed * s->elemsize);
        s->needzero = 1;
    }
    s->nfree = s->nelems - after;
    if (after == 0) {
        cgc__heap_free_span(s);
        return true;
    }
    return false;
}

/* Sweeps one unswept span of central c and files it; c->lock held.
 * Returns false if there was none. *pages_freed (if not NULL) gets the
 * pages it gave back to the page heap (0 unless it was entirely free). */
static bool sweep_one_pages(cgc__central *c, size_t *pages_freed)
{
    cgc__span *s = cgc__unswept_first(c);
    if (!s)
        return false;
    cgc__unswept_remove(c, s);
    size_t npages = s->npages;   /* s is recycled once freed */
    if (cgc__sweep_span(s)) {
        if (pages_freed)
            *pages_freed = npages;
        return true;
    }
    if (pages_freed)
        *pages_freed = 0;
    cgc__span_list_push(s->nfree ? &c->partial : &c->full, s);
    return true;
}

static bool sweep_one(cgc__central *c)
{
    return sweep_one_pages(c, NULL);
}

static bool sweep_one_large_pages(size_t *pages_freed)
{
    pthread_mutex_lock(&cgc__large_lock);
    cgc__span *s = cgc__large_unswept;
    if (!s) {
        pthread_mutex_unlock(&cgc__large_lock);
        return false;
    }
    cgc__span_list_remove(&cgc__large_unswept, s);
    size_t npages = s->npages;
    bool freed = cgc__sweep_span(s);
    if (!freed)
        cgc__span_list_push(&cgc__large_swept, s);
    pthread_mutex_unlock(&cgc__large_lock);
    if (pages_freed)
        *pages_freed = freed ? npages : 0;
    return true;
}

static bool sweep_one_large(void)
{
    return sweep_one_large_pages(NULL);
}

/* Before the page heap hands out npages more (Go's mheap.reclaim): sweep
 * until npages have come back to it or nothing is left unswept, so that
 * memory the last cycle found dead is reused before the heap grows.
 * Without it, allocation outran the background sweeper whenever the
 * sweeper got little CPU (a loaded machine): dead large objects and
 * wholly-dead spans of other classes sat unswept while new spans were
 * mapped, and with a soft limit at 90% of a cgroup's the process was
 * OOM-killed in 1 run of 3 at load 7. Large spans first (one sweep can
 * give back many pages), then the classes round-robin from a moving start
 * so that no class is always swept first. In a cgc section or not; takes
 * the same locks as an allocating thread. */
void cgc__sweep_reclaim(size_t npages)
{
    static _Atomic unsigned next_class;
    /* The sweepgen in which a pass found nothing unswept. Nothing makes new
     * unswept spans until the next cycle starts (and moves sweepgen), so
     * until then every span allocation can skip the walk over all the
     * centrals (2% of the soft-limit churn's CPU). */
    static _Atomic uint32_t drained_gen = 1;
    uint32_t gen = atomic_load_explicit(&cgc__sweepgen, memory_order_acquire);
    if (atomic_load_explicit(&drained_gen, memory_order_relaxed) == gen)
        return;
    size_t got = 0, pages;
    bool saw = cgc__large_unswept != NULL;
    while (got < npages && cgc__large_unswept && sweep_one_large_pages(&pages))
        got += pages;
    int n = cgc__nclasses * CGC_NKINDS;
    unsigned start = atomic_fetch_add(&next_class, 1);
    int k = 0;
    for (; k < n && got < npages; k++) {
        cgc__central *c = &cgc__centrals[(start + (unsigned)k) % (unsigned)n];
        if (!cgc__unswept_first(c))
            continue;
        saw = true;
        pthread_mutex_lock(&c->lock);
        while (got < npages && sweep_one_pages(c, &pages))
            got += pages;
        pthread_mutex_unlock(&c->lock);
    }
    if (k == n && !saw)
        atomic_store_explicit(&drained_gen, gen, memory_order_relaxed);
}

/* Sweeps everything still unswept. The caller is not in a cgc section (it
 * may be the collector before stopping the world); the locks it takes are
 * the ones allocating threads take, so they can go on meanwhile. */
void cgc__sweep_finish(void)
{
    /* Each lock is held inside a cgc section: a registered thread (here
     * cgc_collect's caller, finishing the sweep after its cycle) must never
     * be stopped holding an allocator lock — the next collection's pause
     * takes the central locks to flush caches, and fork.c takes them after
     * stopping the world. test_fork's debug build hung exactly there. */
    /* No unlocked "nothing unswept" skip: a sweeper (the background one, or
     * another thread's lazy sweep) takes a span off the unswept list and
     * sweeps it under c->lock, so the list can look empty while a span is
     * half swept. Taking the lock waits that sweep out; without it
     * cgc_collect returned with one span's dead objects still allocated
     * (test_uncollectable's debug build, 1 run in 20). */
    int n = cgc__nclasses * CGC_NKINDS;
    for (int i = 0; i < n; i++) {
        cgc__central *c = &cgc__centrals[i];
        cgc__thread *self = cgc__enter_self();
        pthread_mutex_lock(&c->lock);
        while (sweep_one(c))
            ;
        pthread_mutex_unlock(&c->lock);
        cgc__leave_self(self);
    }
    for (;;) {
        cgc__thread *self = cgc__enter_self();
        bool did = sweep_one_large();
        cgc__leave_self(self);
        if (!did)
            break;
    }
}

/* World stopped: every in-use span needs sweeping before it is used again.
 * The unswept lists are empty here (the collector finished the previous
 * sweep before stopping the world, and nothing makes new unswept spans), so
 * the swept lists simply become the unswept ones: O(classes), not O(spans). */
void cgc__sweep_start_cycle(void)
{
#ifdef CGC_DEBUG_BUILD
    /* A mark that missed a root must not be swept (roots.c): a caller that
     * forgot to ask stops here in the tests that make tables fail. */
    if (!cgc__roots_complete())
        cgc__fatal("a sweep started after a mark that could not record every root");
#endif
    atomic_fetch_add(&cgc__sweepgen, 2);
    int n = cgc__nclasses * CGC_NKINDS;
    for (int i = 0; i < n; i++) {
        cgc__central *c = &cgc__centrals[i];
        c->unswept[0] = c->partial;
        c->unswept[1] = c->full;
        c->partial = c->full = NULL;
    }
    cgc__large_unswept = cgc__large_swept;
    cgc__large_swept = NULL;
}

/* ---- the background sweeper -------------------------------------------- */

static void *sweeper_main(void *arg)
{
    cgc__name_thread("cgc-sweeper");
    cgc__block_signals();
    unsigned seen = 0;
    for (;;) {
        pthread_mutex_lock(&wake_lock);
        while (wake_gen == seen)
            pthread_cond_wait(&wake_cv, &wake_lock);
        seen = wake_gen;
        pthread_mutex_unlock(&wake_lock);
        if (atomic_load_explicit(&cgc__sweeper_held, memory_order_relaxed))
            continue;   /* tests: the sweeper is starved */

        int64_t c0 = cgc__thread_cpu_ns();
        int n = cgc__nclasses * CGC_NKINDS;
        /* One span at a time under sweeper_lock, so a collection that wants
         * to start waits for at most one span's sweep. */
        for (int i = 0; i < n; i++) {
            cgc__central *c = &cgc__centrals[i];
            for (;;) {
                if (!cgc__unswept_first(c))
                    break;
                pthread_mutex_lock(&cgc__sweeper_lock);
                pthread_mutex_lock(&c->lock);
                bool did = sweep_one(c);
                pthread_mutex_unlock(&c->lock);
                pthread_mutex_unlock(&cgc__sweeper_lock);
                if (!did)
                    break;
            }
        }
        for (;;) {
            pthread_mutex_lock(&cgc__sweeper_lock);
            bool did = sweep_one_large();
            pthread_mutex_unlock(&cgc__sweeper_lock);
            if (!did)
                break;
        }
        /* Sweeping freed pages; if the total is over the limit, they go
         * back to the OS now rather than at the scavenger's pace. */
        cgc__release_over_limit();
        cgc__gc_cpu_background(cgc__thread_cpu_ns() - c0);
    }
    return NULL;
}

/* fork: the sweeper waits on wake_cv; in the child it does not exist and
 * is started again by the next collection. */
void cgc__sweep_fork(int stage)
{
    cgc__fork_mutex(&wake_lock, stage);
    if (stage == CGC_FORK_CHILD) {
        pthread_cond_init(&wake_cv, NULL);
        sweeper_started = 0;
    }
}

void cgc__sweeper_start(void)
{
    if (sweeper_started)
        return;
    pthread_t t;
    if (cgc__start_thread(&t, sweeper_main, NULL) == 0) {
        pthread_detach(t);
        sweeper_started = 1;
    }
}

/* In a cgc section, like every lock a registered thread takes: it must
 * never be stopped holding one (fork.c stops the world, then takes them). */
void cgc__sweeper_wake(void)
{
    cgc__thread *self = cgc__enter_self();
    pthread_mutex_lock(&wake_lock);
    wake_gen++;
    pthread_cond_signal(&wake_cv);
    pthread_mutex_unlock(&wake_lock);
    cgc__leave_self(self);
}
