/* finalize.c — finalizers, cleanups and weak pointers (SPEC §9), with Go's
 * semantics; user documentation in docs/finalizers.md.
 *
 * Records. Each registration is one record: a finalizer (at most one per
 * object), a cleanup (any number) or a weak handle (at most one). Records
 * live in slabs of metadata and are found by object address through a hash
 * table (fin_lock). A record names its object hidden (~obj, never a heap
 * address), so registering does not keep the object alive; but each
 * slab's array of strong words is scanned as a root (cgc__finalize_roots,
 * from roots.c), so what a record holds there stays alive: a finalizer's or
 * cleanup's arg, a weak record's handle, and a queued finalizer's object
 * (set when it is queued, kept until it has run).
 *
 * The cycle (world stopped, after the mark, before sweeping starts — so
 * nothing queued can be swept):
 *   1. weak records whose object is unmarked: the handle is cleared (it
 *      reads NULL from now on) and the record dropped. Before step 2, which
 *      marks such objects again for their finalizers.
 *   2. finalizers whose object is unmarked: mark everything each one's
 *      words reach (not the object itself). An object reached that way is
 *      reachable from another unreachable finalizable object and waits: if
 *      A points to B, A's finalizer runs first and B's in a later cycle,
 *      once A is gone; objects in a cycle reach each other and are never
 *      finalized (nor is an object that points to itself). Those still
 *      unmarked are ready: marked (they stay allocated while the finalizer
 *      runs), moved to the run queue with obj in the clear.
 *   3. cleanups whose object is still unmarked (unreachable even from a
 *      pending finalizer, so it cannot come back): queued; the object is
 *      swept as usual.
 * The finalizer thread (registered, started when something is first
 * queued, again after fork) or cgc_run_finalizers pops records one at a
 * time and calls them with no lock held: a finalizer may allocate, call any
 * cgc function, or take long; the collector never waits for it.
 *
 * Weak reads and the mark. cgc_weak_get reads the handle inside a cgc
 * section, and the clearing (step 1) runs with the world stopped, which a
 * thread in a cgc section holds off. So a reader either returns before the
 * pause, holding obj in a register or on its stack (a root of that pause:
 * obj is marked, not cleared), or starts after it and reads NULL. A
 * concurrent mark must keep that: a weak read during the concurrent phase
 * may return an object the mark has not reached yet, and the program may
 * then store it anywhere. Either the read shades it (marks it grey, at the
 * hook marked WEAK-SHADE below), or the termination re-scans every root
 * and every page written since the mark began before it clears anything;
 * in both cases the clearing stays in the stop-the-world termination,
 * after the last grey object is scanned, and reads stay in cgc sections so
 * that none straddles it.
 *
 * Locks: fin_lock is taken by program threads only inside a cgc section
 * (never stopped holding it), and by the collector in the pause, after
 * heap_lock. Nothing allocates from the heap under it. The finalizer thread
 * sleeps on a semaphore outside any lock or section.
 */
#include "internal.h"

#include <errno.h>
#include <semaphore.h>
#include <stdio.h>

/* A weak handle: a collected object (atomic kind, so the pointer inside
 * it keeps nothing alive), cleared by the collector. */
struct cgc_weak {
    _Atomic uintptr_t obj;
    uintptr_t unused;
};

enum rec_type { REC_FREE = 0, REC_FINALIZER, REC_CLEANUP, REC_WEAK };
enum rec_state { ST_NONE = 0, ST_REGISTERED, ST_QUEUED };

/* What a record keeps alive, apart from the record (below): the slabs'
 * arrays of these are the roots, so a collection scans 16 bytes a record,
 * not the whole record (1,000,000 finalizers: 9 ms of a 35 ms pause were
 * the scan of 64-byte records). */
typedef struct strong {
    void     *arg;               /* finalizer, cleanup: its argument; weak: the handle */
    uintptr_t obj;               /* a queued finalizer's object, until it runs */
} strong;

typedef struct rec rec;
struct rec {
    uintptr_t hidden;            /* ~obj while registered (in the table), else 0 */
    union {
        cgc_finalizer fin;
        void (*cleanup)(void *);
    } fn;
    rec      *next;              /* bucket chain, run queue or free list */
    rec      *pending;           /* in the pause: unmarked finalizable objects */
    uint32_t  index;             /* position in the slabs: cleanup ids, its strong words */
    uint32_t  gen;               /* bumped when freed: a stale cleanup id does nothing */
    uint8_t   type, state;
    uint8_t   mode;              /* finalizer: CGC__FIN_* (internal.h) */
};

/* A slab: SLAB_RECS strong pairs, then SLAB_RECS records. */
#define SLAB_RECS 512
#define SLAB_STRONG_BYTES (SLAB_RECS * sizeof(strong))
#define SLAB_BYTES (SLAB_STRONG_BYTES + SLAB_RECS * sizeof(rec))
#define MAX_SLABS ((size_t)1 << 16)   /* 32 M records */

static pthread_mutex_t fin_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t **slabs;        /* directory: MAX_SLABS entries, mapped on first use */
static _Atomic size_t nslabs;
static rec *free_recs;
static rec **buckets;          /* hash by object address */
static size_t bucket_bits;
static _Atomic size_t ntable;  /* registered records (the table) */
static rec *queue_head, *queue_tail;
static _Atomic size_t nqueued;
static _Atomic uint64_t fin_queued, fin_run, cl_queued, cl_run;
static size_t nregistered[4];  /* registered records by type (a pause skips what has none) */

static rec *slab_recs(size_t k)
{
    return (rec *)(slabs[k] + SLAB_STRONG_BYTES);
}

static rec *rec_at(uint32_t index)
{
    return &slab_recs(index / SLAB_RECS)[index % SLAB_RECS];
}

static strong *strong_of(const rec *r)
{
    return &((strong *)slabs[r->index / SLAB_RECS])[r->index % SLAB_RECS];
}

_Atomic int cgc__finalizer_held;
static sem_t work_sem;         /* one post per cycle that queued something */
static int thread_started;     /* under gc_lock (cgc__finalize_cycle_end) */

/* ---- records and the table (fin_lock held) ----------------------------- */

static size_t bucket_of(uintptr_t obj)
{
    return (size_t)(((obj >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - bucket_bits));
}

static rec *rec_alloc(void)
{
    if (!free_recs) {
        size_t n = atomic_load(&nslabs);
        if (!slabs) {
            slabs = cgc__os_map(MAX_SLABS * sizeof *slabs);
            if (!slabs)
                return NULL;
        }
        if (n == MAX_SLABS)
            return NULL;
        uint8_t *slab = cgc__os_map(SLAB_BYTES);
        if (!slab)
            return NULL;
        atomic_fetch_add(&cgc__mem.other_sys, SLAB_BYTES);
        slabs[n] = slab;
        rec *s = slab_recs(n);
        for (size_t i = SLAB_RECS; i-- > 0;) {
            s[i].index = (uint32_t)(n * SLAB_RECS + i);
            s[i].next = free_recs;
            free_recs = &s[i];
        }
        atomic_store(&nslabs, n + 1);
    }
    rec *r = free_recs;
    free_recs = r->next;
    r->next = NULL;
    return r;
}

static void rec_free(rec *r)
{
    uint32_t gen = r->gen + 1, index = r->index;
    memset(strong_of(r), 0, sizeof(strong));
    memset(r, 0, sizeof *r);
    r->gen = gen;
    r->index = index;
    r->next = free_recs;
    free_recs = r;
}

/* Doubles the table when it holds more records than buckets; a failed
 * mapping keeps the old one (longer chains, still correct). */
static void table_grow(void)
{
    size_t bits = buckets ? bucket_bits + 1 : 8;
    rec **nb = cgc__os_map(((size_t)1 << bits) * sizeof *nb);
    if (!nb)
        return;
    rec **old = buckets;
    size_t oldn = old ? (size_t)1 << bucket_bits : 0;
    buckets = nb;
    bucket_bits = bits;
    for (size_t b = 0; b < oldn; b++) {
        for (rec *r = old[b], *next; r; r = next) {
            next = r->next;
            rec **head = &buckets[bucket_of(~r->hidden)];
            r->next = *head;
            *head = r;
        }
    }
    if (old) {
        cgc__os_unmap(old, oldn * sizeof *old);
        atomic_fetch_sub(&cgc__mem.other_sys, oldn * sizeof *old);
    }
    atomic_fetch_add(&cgc__mem.other_sys, ((size_t)1 << bits) * sizeof *nb);
}

static bool table_insert(rec *r, uintptr_t obj)
{
    if (!buckets || atomic_load(&ntable) >= ((size_t)1 << bucket_bits))
        table_grow();
    if (!buckets)
        return false;
    r->hidden = ~obj;
    r->state = ST_REGISTERED;
    rec **head = &buckets[bucket_of(obj)];
    r->next = *head;
    *head = r;
    atomic_fetch_add(&ntable, 1);
    nregistered[r->type]++;
    return true;
}

static rec *table_find(uintptr_t obj, int type)
{
    if (!buckets)
        return NULL;
    for (rec *r = buckets[bucket_of(obj)]; r; r = r->next)
        if (r->hidden == ~obj && r->type == type)
            return r;
    return NULL;
}

static void table_unlink(rec *r)
{
    for (rec **pp = &buckets[bucket_of(~r->hidden)]; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            r->next = NULL;
            r->hidden = 0;
            r->state = ST_NONE;
            atomic_fetch_sub(&ntable, 1);
            nregistered[r->type]--;
            return;
        }
    }
}

static void enqueue(rec *r)
{
    r->state = ST_QUEUED;
    r->next = NULL;
    if (queue_tail)
        queue_tail->next = r;
    else
        queue_head = r;
    queue_tail = r;
    atomic_fetch_add(&nqueued, 1);
}

/* ---- the public calls ---------------------------------------------------- */

/* The caller, registered (the lock below is taken in a cgc section, and a
 * thread that holds pointers must be registered anyway); NULL if it could
 * not be. */
static cgc__thread *caller(void)
{
    cgc__ensure_init();
    cgc__thread *t = cgc__self;
    if (!t && !(t = cgc__register_current(0)))
        errno = ENOMEM;
    return t;
}

static bool valid_object(const void *obj, const char *fn)
{
    if (obj && cgc_base(obj) == obj)
        return true;
    errno = EINVAL;
    cgc__warn("%s(%p): not the start of an object allocated by cgc", fn, obj);
    return false;
}

CGC_API int cgc_set_finalizer(void *obj, cgc_finalizer fn, void *arg)
{
    return cgc__finalizer_set(obj, fn, arg, CGC__FIN_ORDERED, NULL, NULL);
}

int cgc__finalizer_set(void *obj, cgc_finalizer fn, void *arg, int mode,
                       cgc_finalizer *ofn, void **oarg)
{
    if (ofn)
        *ofn = NULL;
    if (oarg)
        *oarg = NULL;
    cgc__thread *t = caller();
    if (!t)
        return -1;
    if (!valid_object(obj, "cgc_set_finalizer"))
        return -1;
    int rc = 0;
    cgc__enter(t);
    pthread_mutex_lock(&fin_lock);
    rec *r = table_find((uintptr_t)obj, REC_FINALIZER);
    if (r) {
        if (ofn)
            *ofn = r->fn.fin;
        if (oarg)
            *oarg = strong_of(r)->arg;
    }
    if (!fn) {
        if (r) {
            table_unlink(r);
            rec_free(r);
        }
    } else if (r) {
        r->fn.fin = fn;   /* replaces the one set */
        r->mode = (uint8_t)mode;
        strong_of(r)->arg = arg;
    } else if ((r = rec_alloc())) {
        r->type = REC_FINALIZER;
        r->mode = (uint8_t)mode;
        r->fn.fin = fn;
        strong_of(r)->arg = arg;
        if (!table_insert(r, (uintptr_t)obj)) {
            rec_free(r);
            rc = -1;
        }
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&fin_lock);
    cgc__leave(t);
    if (rc)
        errno = ENOMEM;
    return rc;
}

CGC_API cgc_cleanup cgc_add_cleanup(void *obj, void (*fn)(void *arg), void *arg)
{
    cgc_cleanup c = {0};
    cgc__thread *t = caller();
    if (!t)
        return c;
    if (!valid_object(obj, "cgc_add_cleanup"))
        return c;
    if (!fn) {
        errno = EINVAL;
        cgc__warn("cgc_add_cleanup(%p): no function", obj);
        return c;
    }
    cgc__enter(t);
    pthread_mutex_lock(&fin_lock);
    rec *r = rec_alloc();
    if (r) {
        r->type = REC_CLEANUP;
        r->fn.cleanup = fn;
        strong_of(r)->arg = arg;
        if (table_insert(r, (uintptr_t)obj)) {
            c.id = (uint64_t)r->gen << 32 | ((uint64_t)r->index + 1);
        } else {
            rec_free(r);
        }
    }
    pthread_mutex_unlock(&fin_lock);
    cgc__leave(t);
    if (!c.id)
        errno = ENOMEM;
    return c;
}

CGC_API void cgc_cleanup_stop(cgc_cleanup c)
{
    if (!c.id)
        return;
    cgc__thread *t = caller();
    if (!t)
        return;
    uint32_t index = (uint32_t)c.id - 1, gen = (uint32_t)(c.id >> 32);
    cgc__enter(t);
    pthread_mutex_lock(&fin_lock);
    if ((uint32_t)c.id != 0 && index / SLAB_RECS < atomic_load(&nslabs)) {
        rec *r = rec_at(index);
        /* Queued or run already (or the id is stale): nothing to stop. */
        if (r->type == REC_CLEANUP && r->state == ST_REGISTERED && r->gen == gen) {
            table_unlink(r);
            rec_free(r);
        }
    }
    pthread_mutex_unlock(&fin_lock);
    cgc__leave(t);
}

CGC_API cgc_weak *cgc_weak_make(void *obj)
{
    cgc__thread *t = caller();
    if (!t)
        return NULL;
    if (!valid_object(obj, "cgc_weak_make"))
        return NULL;
    cgc__enter(t);
    pthread_mutex_lock(&fin_lock);
    rec *r = table_find((uintptr_t)obj, REC_WEAK);
    cgc_weak *w = r ? strong_of(r)->arg : NULL;
    pthread_mutex_unlock(&fin_lock);
    cgc__leave(t);
    if (w)
        return w;
    /* Allocated outside the lock (allocation may collect). Another thread
     * may make one for obj meanwhile: the first in the table wins, and this
     * one is garbage. */
    cgc_weak *fresh = cgc_malloc_atomic(sizeof *fresh);
    if (!fresh)
        return NULL;
    atomic_store(&fresh->obj, (uintptr_t)obj);
    fresh->unused = 0;
    cgc__enter(t);
    pthread_mutex_lock(&fin_lock);
    r = table_find((uintptr_t)obj, REC_WEAK);
    if (r) {
        w = strong_of(r)->arg;
    } else if ((r = rec_alloc())) {
        r->type = REC_WEAK;
        strong_of(r)->arg = fresh;
        if (table_insert(r, (uintptr_t)obj))
            w = fresh;
        else
            rec_free(r);
    }
    pthread_mutex_unlock(&fin_lock);
    cgc__leave(t);
    if (!w)
        errno = ENOMEM;
    return w;
}

CGC_API void *cgc_weak_get(const cgc_weak *w)
{
    if (!w)
        return NULL;
    if (!valid_object(w, "cgc_weak_get"))
        return NULL;
    cgc__thread *t = caller();
    if (!t)
        return NULL;
    cgc__enter(t);
    void *p = (void *)atomic_load_explicit(&((cgc_weak *)w)->obj, memory_order_acquire);
    /* WEAK-SHADE: a concurrent mark shades p here (see the top of the file). */
    cgc__leave(t);
    return p;
}

/* Runs the queued records one at a time until the queue is empty; returns
 * how many ran. The caller is registered. */
static size_t run_queued(cgc__thread *t)
{
    size_t n = 0;
    for (;;) {
        /* The object and argument stay alive while fn runs: this frame's
         * volatile slots are on a registered thread's stack (a root). They
         * are copied out of the record, and the record freed, inside one
         * section: no collection sees the record gone and the copies not
         * made. */
        void *volatile obj = NULL;
        void *volatile arg = NULL;
        cgc_finalizer fin = NULL;
        void (*cleanup)(void *) = NULL;
        cgc__enter(t);
        pthread_mutex_lock(&fin_lock);
        rec *r = queue_head;
        if (r) {
            queue_head = r->next;
            if (!queue_head)
                queue_tail = NULL;
            atomic_fetch_sub(&nqueued, 1);
            obj = (void *)strong_of(r)->obj;
            arg = strong_of(r)->arg;
            if (r->type == REC_FINALIZER)
                fin = r->fn.fin;
            else
                cleanup = r->fn.cleanup;
            rec_free(r);
        }
        pthread_mutex_unlock(&fin_lock);
        cgc__leave(t);
        if (!r)
            return n;
        if (fin) {
            fin(obj, arg);
            atomic_fetch_add(&fin_run, 1);
        } else {
            cleanup(arg);
            atomic_fetch_add(&cl_run, 1);
        }
        obj = arg = NULL;
        n++;
    }
}

/* Queues every registered finalizer, its object reachable or not (libgc's
 * GC_finalize_all, through compat/); returns how many. They run as any
 * queued finalizer does (cgc_run_finalizers or the finalizer thread). */
size_t cgc__finalize_all(void)
{
    cgc__thread *t = caller();
    if (!t)
        return 0;
    size_t n = 0;
    cgc__enter(t);
    pthread_mutex_lock(&fin_lock);
    size_t ns = atomic_load(&nslabs);
    for (size_t k = 0; k < ns && nregistered[REC_FINALIZER]; k++) {
        for (rec *r = slab_recs(k), *end = r + SLAB_RECS; r < end; r++) {
            if (r->state != ST_REGISTERED || r->type != REC_FINALIZER)
                continue;
            uintptr_t obj = ~r->hidden;
            table_unlink(r);
            strong_of(r)->obj = obj;   /* in the clear: a root until it has run */
            enqueue(r);
            atomic_fetch_add(&fin_queued, 1);
            n++;
        }
    }
    pthread_mutex_unlock(&fin_lock);
    cgc__leave(t);
    return n;
}

CGC_API void cgc_run_finalizers(void)
{
    cgc__thread *t = caller();
    if (t && atomic_load(&nqueued))
        run_queued(t);
}

/* ---- the finalizer thread ------------------------------------------------ */

/* Overwrites the dead stack below the caller: the finalizers that just ran
 * left the addresses of their objects there, and the frames of sem_wait
 * and of the suspend handler do not cover all of it, so without this the
 * last objects a finalizer touched stayed alive until the next finalizer
 * ran (a conservative root). */
/* It runs only on the finalizer thread, which cgc creates with the default
 * (8 MiB) stack, so the 16 KiB frame the core's -Wframe-larger-than guards
 * against on program threads is allowed here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wframe-larger-than="
static void __attribute__((noinline, no_sanitize("address"))) scrub_stack(void)
{
    volatile char buf[16384];
    memset((char *)buf, 0, sizeof buf);
    __asm__ volatile("" ::"r"(buf) : "memory");
}
#pragma GCC diagnostic pop

/* Zeroes the vector registers. A thread that has collected (a finalizer
 * that allocates may run a cycle as marker 0) keeps heap words in them:
 * the mark's word filter loads four at a time into ymm registers, and
 * glibc's memcpy moves mark-stack entries through ymm16-31 on AVX-512
 * machines. Every later stop of the idle thread saves them in the signal
 * frame, which is scanned as part of its stack: measured, 1 object in
 * ~10 runs of test_finalize_threads (120,000 finalizers) stayed alive for
 * good, and with it its finalizer. All vector registers are caller-saved
 * in the x86-64 ABI, so zeroing them between two calls loses nothing. */
#if defined(__x86_64__)
/* What both ways of zeroing the 16 registers every x86-64 CPU has clobber. */
#define XMM0_15 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

__attribute__((target("avx"))) static void zero_avx(void)
{
    __asm__ volatile("vzeroall" ::: XMM0_15);
}

__attribute__((target("avx512f"))) static void zero_avx512_upper(void)
{
    __asm__ volatile("vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
                     "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
                     "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
                     "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
                     "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
                     "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
                     "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
                     "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31"
                     ::: "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
                     "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

static void __attribute__((noinline)) zero_vector_registers(void)
{
    if (__builtin_cpu_supports("avx")) {
        zero_avx();
        if (__builtin_cpu_supports("avx512f"))
            zero_avx512_upper();
    } else {
        __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
                         "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
                         "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm8, %%xmm8\n\t"
                         "pxor %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
                         "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\tpxor %%xmm14, %%xmm14\n\t"
                         "pxor %%xmm15, %%xmm15"
                         ::: XMM0_15);
    }
}
#else
static void zero_vector_registers(void)
{
}
#endif

static void *finalizer_main(void *unused)
{
    (void)unused;
    /* A new thread starts with its creator's vector registers, and this
     * one is created by the thread that just collected, as marker 0: they
     * hold the last heap words it scanned. Held by compat/ (libgc runs
     * finalizers in program threads), it never runs a finalizer and so
     * never zeroed them below; saved in its signal frame at every stop,
     * they kept whatever object later came to lie at those addresses for
     * good (compat_marking: 12 of 16 finalizable objects never finalized,
     * the words of a range GC_add_roots had scanned, 2 runs in 1500 beside
     * a loaded test_stress). */
    zero_vector_registers();
    cgc__name_thread("cgc-finalizer");
    cgc__block_signals_but_stw();
    cgc__thread *t = cgc__register_current(1);
    if (!t) {
        cgc__warn("finalizer thread: cannot register; finalizers run only in cgc_run_finalizers");
        return NULL;
    }
    for (;;) {
        while (sem_wait(&work_sem) != 0)
            ;   /* EINTR: the suspend signal */
        if (!atomic_load(&cgc__finalizer_held) && run_queued(t)) {
            scrub_stack();
            zero_vector_registers();
        }
    }
    return NULL;
}

/* After a cycle, with the world running and gc_lock held (so one thread at
 * a time starts the finalizer thread, and fork cannot come in between). */
void cgc__finalize_cycle_end(void)
{
    if (!atomic_load(&nqueued))
        return;
    if (!thread_started) {
        sem_init(&work_sem, 0, 0);
        pthread_t th;
        if (pthread_create(&th, NULL, finalizer_main, NULL) != 0) {
            static int warned;   /* tried again every cycle, said once */
            if (!warned++)
                cgc__warn("cannot start the finalizer thread; until it starts, finalizers run only in "
                          "cgc_run_finalizers");
            return;
        }
        pthread_detach(th);
        thread_started = 1;
    }
    sem_post(&work_sem);
}

/* fork: the child has no finalizer thread; the next cycle that finds
 * something queued starts one (what was queued in the parent runs there
 * too, as the parent's copy does in the parent). */
void cgc__finalize_fork(int stage)
{
    cgc__fork_mutex(&fin_lock, stage);
    if (stage == CGC_FORK_CHILD)
        thread_started = 0;
}

/* ---- the collector's part (world stopped) ------------------------------- */

void cgc__finalize_roots(cgc__range_fn fn, void *arg)
{
    size_t n = atomic_load(&nslabs);
    for (size_t i = 0; i < n; i++)
        fn((uintptr_t)slabs[i], (uintptr_t)slabs[i] + SLAB_STRONG_BYTES, arg);
}

/* The steps at the top of the file; returns the bytes marked. Records are
 * visited in slab order, not through the hash table: the slabs are read
 * front to back, and records registered one after another usually name
 * objects allocated one after another, so the mark lookups go through the
 * heap in order too (through the buckets, 1,000,000 live finalizable
 * objects added 194 ms to a 7 ms pause). */
static _Atomic(cgc__pause_hook) pause_hook;

void cgc__set_pause_hook(cgc__pause_hook fn)
{
    atomic_store(&pause_hook, fn);
}

static uint64_t finalize_mark(void);

uint64_t cgc__finalize_mark(void)
{
    cgc__pause_hook h = atomic_load(&pause_hook);
    if (h)
        h(0);
    uint64_t bytes = finalize_mark();
    if (h)
        h(1);
    return bytes;
}

/* Queues the ready finalizers of list (linked through pending); fin_lock
 * held. Returns the bytes it marked. */
static uint64_t queue_ready(rec *list)
{
    uint64_t bytes = 0;
    for (rec *r = list, *next; r; r = next) {
        next = r->pending;
        r->pending = NULL;
        uintptr_t obj = ~r->hidden;
        if (r->mode == CGC__FIN_NO_ORDER)
            bytes += cgc__mark_children(obj);
        bytes += cgc__mark_object(obj);
        table_unlink(r);
        strong_of(r)->obj = obj;   /* in the clear: a root until it has run */
        enqueue(r);
        atomic_fetch_add(&fin_queued, 1);
    }
    return bytes;
}

static uint64_t finalize_mark(void)
{
    if (!atomic_load(&ntable))
        return 0;
    uint64_t bytes = 0;
    rec *pending = NULL;   /* finalizable objects found unmarked */
    pthread_mutex_lock(&fin_lock);
    size_t ns = atomic_load(&nslabs);
    /* 1. Weak handles of unmarked objects are cleared; the finalizable
     *    unmarked objects are listed. (Each pass over the slabs only if
     *    there is something of its kind.) */
    for (size_t k = 0; k < ns && (nregistered[REC_WEAK] || nregistered[REC_FINALIZER]); k++) {
        for (rec *r = slab_recs(k), *end = r + SLAB_RECS; r < end; r++) {
            if (r->state != ST_REGISTERED || r->type == REC_CLEANUP || cgc__mark_is_marked(~r->hidden))
                continue;
            if (r->type == REC_WEAK) {
                atomic_store_explicit(&((cgc_weak *)strong_of(r)->arg)->obj, 0, memory_order_release);
                table_unlink(r);
                rec_free(r);
            } else {
                r->pending = pending;
                pending = r;
            }
        }
    }
    /* 2. What they reach is marked (a no_order object's words are not
     *    followed, an ignore_self object's pointers into itself are not);
     *    those still unmarked are ready. Readiness is decided for all
     *    before the ready ones' words are marked (a no_order one's only
     *    now, so that they stay allocated while the finalizer runs). */
    for (rec *r = pending; r; r = r->pending) {
        if (cgc__mark_is_marked(~r->hidden) || r->mode == CGC__FIN_NO_ORDER)
            continue;
        bytes += r->mode == CGC__FIN_IGNORE_SELF ? cgc__mark_children_ignore_self(~r->hidden)
                                                 : cgc__mark_children(~r->hidden);
    }
    rec *ready = NULL, *unreachable = NULL;
    for (rec *r = pending, *next; r; r = next) {
        next = r->pending;
        r->pending = NULL;
        if (cgc__mark_is_marked(~r->hidden))
            continue;   /* reached from another: a later cycle */
        rec **list = r->mode == CGC__FIN_UNREACHABLE ? &unreachable : &ready;
        r->pending = *list;
        *list = r;
    }
    bytes += queue_ready(ready);
    /* Unreachable-mode objects are decided last: the ready no_order
     * objects' words are marked now, and one of those objects' finalizers
     * could still bring back what they reach. */
    ready = NULL;
    for (rec *r = unreachable, *next; r; r = next) {
        next = r->pending;
        r->pending = NULL;
        if (cgc__mark_is_marked(~r->hidden))
            continue;
        r->pending = ready;
        ready = r;
    }
    bytes += queue_ready(ready);
    /* 3. Cleanups of objects still unmarked. */
    for (size_t k = 0; k < ns && nregistered[REC_CLEANUP]; k++) {
        for (rec *r = slab_recs(k), *end = r + SLAB_RECS; r < end; r++) {
            if (r->state != ST_REGISTERED || r->type != REC_CLEANUP || cgc__mark_is_marked(~r->hidden))
                continue;
            table_unlink(r);
            enqueue(r);
            atomic_fetch_add(&cl_queued, 1);
        }
    }
    pthread_mutex_unlock(&fin_lock);
    return bytes;
}

/* cgc_free(obj): its finalizer and cleanups will never run (the memory is
 * about to be reused by another object), its weak handle reads NULL. */
void cgc__finalize_forget(void *obj)
{
    if (!atomic_load(&ntable))
        return;
    pthread_mutex_lock(&fin_lock);
    if (buckets) {
        rec **pp = &buckets[bucket_of((uintptr_t)obj)];
        while (*pp) {
            rec *r = *pp;
            if (r->hidden != ~(uintptr_t)obj) {
                pp = &r->next;
                continue;
            }
            *pp = r->next;
            atomic_fetch_sub(&ntable, 1);
            nregistered[r->type]--;
            if (r->type == REC_WEAK)
                atomic_store(&((cgc_weak *)strong_of(r)->arg)->obj, 0);
            rec_free(r);
        }
    }
    pthread_mutex_unlock(&fin_lock);
}

void cgc__finalize_counts(uint64_t *fq, uint64_t *fr, uint64_t *cq, uint64_t *cr)
{
    *fq = atomic_load(&fin_queued);
    *fr = atomic_load(&fin_run);
    *cq = atomic_load(&cl_queued);
    *cr = atomic_load(&cl_run);
}
