/* alloc.c — the allocation paths: thread caches, central span lists,
 * large objects, explicit free, and the OOM path.
 *
 * Fast path (no lock, no atomic): the thread's cached span for the size
 * class has a free slot. Slots are found from the span's alloc bits, 64 at a
 * time through alloc_cache (the inverted bitmap word, shifted so bit 0 is
 * freeindex): one count-trailing-zeros per allocation. While a span is
 * cached, slots below freeindex are allocated even though their alloc bits
 * are not set yet; cgc__uncache_span sets them ("materialises") when the
 * span leaves the cache.
 *
 * The whole fast path runs inside a cgc section (cgc__enter/leave), so a
 * stop-the-world request waits until the slot is taken and zeroed; the
 * collector then finds caches consistent and can flush them.
 *
 * Pacing input: when a cache takes a span, all its free slots count as
 * allocated (heap_live += nfree * size), one atomic add per span rather than
 * per object; the unused rest is given back when the span leaves the cache.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

cgc__central cgc__centrals[CGC_MAX_CLASSES * CGC_NKINDS];
pthread_mutex_t cgc__large_lock = PTHREAD_MUTEX_INITIALIZER;
cgc__span *cgc__large_swept, *cgc__large_unswept;
size_t cgc__large_uncollectable;
static _Atomic(cgc_oom_handler) oom_handler;

void cgc__alloc_init(void)
{
    for (int i = 0; i < CGC_MAX_CLASSES * CGC_NKINDS; i++)
        pthread_mutex_init(&cgc__centrals[i].lock, NULL);
}

/* ---- span lists (doubly linked, NULL-terminated) ----------------------- */

void cgc__span_list_push(cgc__span **head, cgc__span *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
}

void cgc__unswept_remove(cgc__central *c, cgc__span *s)
{
    cgc__span_list_remove(c->unswept[1] == s ? &c->unswept[1] : &c->unswept[0], s);
}

void cgc__span_list_remove(cgc__span **head, cgc__span *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

/* ---- slots ------------------------------------------------------------- */

/* Bits past nelems are cleared: a set bit is always a slot of the span, so
 * take_slot need not compare the index with nelems. */
static inline void load_cache(cgc__span *s)
{
    uint32_t fi = s->freeindex, left = s->nelems - fi;
    if (fi >= s->nelems) {
        s->alloc_cache = 0;
        return;
    }
    uint64_t c = ~s->allocbits[fi >> 6] >> (fi & 63);
    if (left < 64)
        c &= ((uint64_t)1 << left) - 1;
    s->alloc_cache = c;
}

/* Takes the next free slot of a cached span into *out; false if full. */
static inline bool take_slot(cgc__span *s, uint32_t *out)
{
    for (;;) {
        uint64_t c = s->alloc_cache;
        if (LIKELY(c)) {
            unsigned b = (unsigned)__builtin_ctzll(c);
            uint32_t idx = s->freeindex + b;   /* < nelems: see load_cache */
            uint32_t nf = idx + 1;
            s->freeindex = nf;
            if ((nf & 63) == 0)
                load_cache(s);   /* crossed into the next bitmap word */
            else
                s->alloc_cache = c >> (b + 1);
            *out = idx;
            return true;
        }
        /* The rest of this word is allocated: move to the next word. */
        uint32_t nf = (s->freeindex + 64) & ~63u;
        if (nf >= s->nelems)
            break;
        s->freeindex = nf;
        load_cache(s);
    }
    s->freeindex = s->nelems;
    s->alloc_cache = 0;
    return false;
}

/* Whether slot idx holds an object. For a span another thread caches, the
 * cache state is read before the alloc bits: cgc__uncache_span writes them
 * in the opposite order, so a reader never misses an object in between. */
static inline bool slot_allocated(const cgc__span *s, uint32_t idx)
{
    uint8_t cached = __atomic_load_n(&s->cached, __ATOMIC_ACQUIRE);
    uint32_t fi = __atomic_load_n(&s->freeindex, __ATOMIC_ACQUIRE);
    if (cached && idx < fi)
        return true;
    return (__atomic_load_n(&s->allocbits[idx >> 6], __ATOMIC_ACQUIRE) >> (idx & 63)) & 1;
}

/* Sets the alloc bits of slots [0, n). */
static void set_alloc_prefix(cgc__span *s, uint32_t n)
{
    uint32_t w = 0;
    for (; (w + 1) * 64 <= n; w++)
        s->allocbits[w] = ~(uint64_t)0;
    if (n & 63)
        s->allocbits[w] |= ((uint64_t)1 << (n & 63)) - 1;
}

/* Makes the slot state bytes agree with the alloc bits again. */
static void sync_slot_bytes(cgc__span *s)
{
    for (uint32_t i = 0; i < s->nelems; i += 8) {
        uint64_t x;
        memcpy(&x, s->marks + i, 8);
        x = (x & ~0x0101010101010101ull) | cgc__bits_to_bytes8(s->allocbits[i >> 6] >> (i & 63));
        memcpy(s->marks + i, &x, 8);
    }
}

/* During a concurrent mark (cgc__marking): the slots the cache handed out
 * (alloc bit 0 -> 1) become allocated and marked — black — and no other
 * slot byte is written. Markers set mark bits in the same array with
 * plain byte stores; sync_slot_bytes' read-modify-write of eight bytes
 * could undo one (a marked object swept while live). A slot handed out
 * here was free when the span was cached, so no marker writes its byte:
 * caches are flushed in the first stop, before cgc__marking is set, and
 * cgc_free is deferred while it is. */
static void uncache_black(cgc__span *s)
{
    uint32_t fi = s->freeindex, words = (s->nelems + 63) / 64;
    uint64_t black = 0;
    for (uint32_t w = 0; w < words; w++) {
        uint32_t lo = w * 64;
        uint64_t prefix = fi >= lo + 64 ? ~(uint64_t)0 : fi > lo ? ((uint64_t)1 << (fi - lo)) - 1 : 0;
        uint64_t fresh = prefix & ~s->allocbits[w];
        s->allocbits[w] |= prefix;
        black += (uint64_t)__builtin_popcountll(fresh);
        for (; fresh; fresh &= fresh - 1)
            __atomic_store_n(&s->marks[lo + (uint32_t)__builtin_ctzll(fresh)],
                             CGC_SLOT_ALLOCATED | CGC_SLOT_MARKED, __ATOMIC_RELAXED);
    }
    if (black)
        atomic_fetch_add_explicit(&cgc__mark_black_bytes, black * s->elemsize, memory_order_relaxed);
}

void cgc__uncache_span(cgc__span *s)
{
    if (UNLIKELY(atomic_load_explicit(&cgc__marking, memory_order_relaxed))) {
        uncache_black(s);
    } else {
        set_alloc_prefix(s, s->freeindex);
        sync_slot_bytes(s);
    }
    uint32_t used = 0;
    for (uint32_t w = 0; w < (s->nelems + 63) / 64; w++)
        used += (uint32_t)__builtin_popcountll(s->allocbits[w]);
    s->nfree = s->nelems - used;
    __atomic_store_n(&s->cached, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&s->freeindex, 0, __ATOMIC_RELEASE);
    s->alloc_cache = 0;
}

static cgc__central *central_of(const cgc__span *s)
{
    return &cgc__centrals[s->sizeclass * CGC_NKINDS + s->kind];
}

/* Files a span that leaves a cache into its central lists. */
static void file_uncached(cgc__span *s)
{
    cgc__central *c = central_of(s);
    pthread_mutex_lock(&c->lock);
    cgc__uncache_span(s);
    cgc__span_list_push(s->nfree ? &c->partial : &c->full, s);
    pthread_mutex_unlock(&c->lock);
}

/* heap_live -= bytes, not below 0. A compare-and-swap: a load and a store
 * lost the adds of other threads' allocations in between (cgc_free and a
 * thread unregistering run while others allocate), and the trigger then
 * came late by what they had allocated. */
static void live_sub(uint64_t bytes)
{
    uint64_t live = atomic_load(&cgc__gc.heap_live);
    while (!atomic_compare_exchange_weak(&cgc__gc.heap_live, &live, live > bytes ? live - bytes : 0))
        ;
}

void cgc__tcache_flush(cgc__thread *t)
{
    for (int i = 0; i < CGC_MAX_CLASSES * 2; i++) {
        cgc__span *s = t->tc.spans[i];
        if (!s)
            continue;
        t->tc.spans[i] = NULL;
        file_uncached(s);
        /* Slots granted to the cache but never used are not live. */
        live_sub((uint64_t)s->nfree * s->elemsize);
    }
}

/* A fresh span for class cls and kind from the page heap (only from its
 * resident free pages if resident_only), or NULL. */
static cgc__span *new_span(int cls, int kind, bool resident_only)
{
    const cgc__sizeclass *sc = &cgc__classes[cls];
    bool zeroed;
    cgc__sweep_reclaim(sc->npages);
    /* slots are zeroed as handed out */
    cgc__span *s = cgc__heap_alloc_span_from(sc->npages, kind == CGC_KIND_ATOMIC, false, &zeroed, resident_only);
    if (!s)
        return NULL;
    /* carve left it LARGE with an unallocated inline slot byte: a
     * concurrent marker that finds it now marks nothing. SMALL is stored
     * last, once everything a marker reads after it is the new span's. */
    s->kind = (uint8_t)kind;
    s->sizeclass = (uint8_t)cls;
    s->elemsize = sc->size;
    s->nelems = sc->nelems;
    s->divmul = sc->divmul;
    s->needzero = !zeroed;
    s->nfree = sc->nelems;
    s->sweepgen = atomic_load(&cgc__sweepgen);
    memset(s->allocbits, 0, sizeof s->allocbits);
    uint8_t *marks = cgc__marks_alloc(sc->nelems);
    if (!marks) {
        cgc__heap_free_span(s);   /* still LARGE: no mark bytes to give back */
        return NULL;
    }
    s->marks = marks;
    __atomic_store_n(&s->state, CGC_SPAN_SMALL, __ATOMIC_RELEASE);
    return s;
}

/* A swept span of class cls/kind with a free slot, from the central lists
 * (sweeping unswept spans on the way) or new. Caller is in a cgc section. */
/* Takes a span with a free slot off c's lists (sweeping unswept ones on
 * the way), or NULL; c->lock held. */
static cgc__span *central_pick_locked(cgc__central *c)
{
    cgc__span *s = c->partial;
    if (s) {
        cgc__span_list_remove(&c->partial, s);
        return s;
    }
    while ((s = cgc__unswept_first(c)) != NULL) {
        cgc__unswept_remove(c, s);
        if (cgc__sweep_span(s))
            continue;           /* entirely free: went back to the page heap */
        if (s->nfree)
            return s;
        cgc__span_list_push(&c->full, s);
    }
    return NULL;
}

/* During a concurrent mark (cgc__marking), a cache refills from a free
 * span of the page heap rather than from a partial one, when the page
 * heap has resident free pages for it. The pages the program then writes
 * by allocating hold only objects allocated in this mark, not old marked
 * ones: a pre-cleaning round or the final stop that finds such a page
 * written rescans what was allocated there (allocated black: it must be
 * rescanned, docs/concurrent.md), not the old objects around the free
 * slots of a partial span as well, and the same allocation writes fewer
 * pages (each a write fault and a re-protection). Only from resident free
 * pages (heap_free is a hint; new_span is asked for resident pages only):
 * taking new pages from the OS whenever no free span was left doubled
 * churn's peak RSS (the partial spans' free slots then wait idle through
 * every mark), and faulting released pages back in raised
 * compat_real_w3m_conc's peak over libgc's. So it applies when whole
 * spans died (binary-trees: often; churn: seldom, and no measurable
 * change). docs/concurrent.md "Fresh spans", "Pre-cleaning, measured". */
_Atomic uint64_t cgc__fresh_refills;

static bool refill_fresh(int cls)
{
    if (!atomic_load_explicit(&cgc__marking, memory_order_relaxed))
        return false;
    uint64_t bytes = (uint64_t)cgc__classes[cls].npages * CGC_PAGE_SIZE;
    return atomic_load_explicit(&cgc__mem.heap_free, memory_order_relaxed) >= bytes;
}

/* A span for this thread's cache: marked cached before c->lock is dropped,
 * so cgc_free from another thread never sees it off every list yet not
 * cached (it would unlink it from a list it is not on). */
static cgc__span *central_get(int cls, int kind)
{
    cgc__central *c = &cgc__centrals[cls * CGC_NKINDS + kind];
    bool fresh = refill_fresh(cls);
    cgc__span *s = NULL;
    for (;;) {
        if (!fresh) {
            pthread_mutex_lock(&c->lock);
            s = central_pick_locked(c);
            if (s)
                s->cached = 1;
            pthread_mutex_unlock(&c->lock);
            if (s)
                return s;
        }
        s = new_span(cls, kind, fresh);   /* on no list: nobody can free into it yet */
        if (s)
            s->cached = 1;
        if (s && fresh)
            atomic_fetch_add_explicit(&cgc__fresh_refills, 1, memory_order_relaxed);
        cgc__pacer_heap_grew();
        if (s || !fresh)
            return s;
        fresh = false;   /* no free span fits after all: a partial one */
    }
}

/* ---- the paths ---------------------------------------------------------- */

static void *alloc_slow(size_t n, int kind);

/* Zeroes a slot. Small slots (the common case) are cleared with inline
 * 16-byte stores instead of a call to memset. */
static inline void zero_slot(void *p, uint64_t size)
{
    if (size <= 64) {
        /* Slot sizes are multiples of 16: 16, 32, 48 or 64 bytes here. */
        uint64_t *w = p;
        w[0] = 0;
        w[1] = 0;
        if (size > 16) {
            w[2] = 0;
            w[3] = 0;
            if (size > 32) {
                w[4] = 0;
                w[5] = 0;
                if (size > 48) {
                    w[6] = 0;
                    w[7] = 0;
                }
            }
        }
    } else {
        memset(p, 0, size);
    }
}

/* The end of a fast allocation that left its section with a stop request
 * pending: parks until the world restarts and returns p. Out of line and
 * reached by a tail call, so the fast path saves no registers. */
static void *__attribute__((noinline)) leave_pending(cgc__thread *t, void *p)
{
    (void)t;
    cgc__suspend_self();
    return p;
}

/* The end of a fast allocation of a slot above 64 bytes that needs
 * zeroing (memset is a call: kept out of the fast path's frame). */
static void *__attribute__((noinline)) finish_memset(cgc__thread *t, void *p, uint64_t size)
{
    memset(p, 0, size);
    t->tc.nmalloc++;
    t->tc.bytes_malloc += size;
    cgc__leave(t);
    return p;
}

static void *__attribute__((noinline)) leave_slow(cgc__thread *t, size_t n, int kind)
{
    cgc__leave(t);
    return alloc_slow(n, kind);
}

/* cgc__enter and the first half of cgc__leave as one instruction each on
 * x86-64 (a volatile ++ is a load, an add and a store). One instruction is
 * atomic with respect to the suspend signal on this thread, which is all
 * in_cgc needs; the "memory" clobber orders it like the signal fences. */
static inline void fast_enter(cgc__thread *t)
{
#if defined(__x86_64__)
    __asm__ volatile("addl $1, %0" : "+m"(t->in_cgc) : : "memory");
#else
    cgc__enter(t);
#endif
}

/* Leaves the section; true if a stop request is pending and this was the
 * outermost section (the caller must then park: leave_pending). */
static inline bool fast_leave_pending(cgc__thread *t)
{
#if defined(__x86_64__)
    __asm__ volatile("subl $1, %0" : "+m"(t->in_cgc) : : "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
    t->in_cgc--;
    atomic_signal_fence(memory_order_seq_cst);
#endif
    return UNLIKELY(t->suspend_pending) && t->in_cgc == 0;
}

static inline void *alloc_fast(size_t n, int kind)
{
    cgc__thread *t = cgc__self;
    if (LIKELY(t != NULL && kind != CGC_KIND_UNCOLLECTABLE)) {
        int cls;
        if (LIKELY(n <= 1024))
            cls = cgc__class_small[(n + 15) >> 4];
        else if (n <= CGC_MAX_SMALL)
            cls = cgc__class_big[(n + 127) >> 7];
        else
            return alloc_slow(n, kind);
        int i = cls * 2 + (kind == CGC_KIND_ATOMIC);
        fast_enter(t);
        cgc__span *s = t->tc.spans[i];
        uint32_t idx;
        if (LIKELY(s != NULL)) {
            if (LIKELY(take_slot(s, &idx))) {
                uint64_t size = s->elemsize;
                void *p = (void *)(s->start + (uintptr_t)idx * size);
                if (s->needzero && kind == CGC_KIND_NORMAL) {
                    if (size > 64)
                        return finish_memset(t, p, size);
                    zero_slot(p, size);
                }
                t->tc.nmalloc++;
                t->tc.bytes_malloc += size;
                /* cgc__leave, with the rare suspension out of line. */
                if (fast_leave_pending(t))
                    return leave_pending(t, p);
                return p;
            }
        }
        return leave_slow(t, n, kind);
    }
    return alloc_slow(n, kind);
}

/* Refills the cache for (cls, kind) and takes a slot. In a cgc section.
 * *grew tells whether heap_live moved (the caller checks the trigger). */
static void *small_refill(cgc__thread *t, int cls, int kind)
{
    int i = cls * 2 + (kind == CGC_KIND_ATOMIC);
    cgc__span *old = t->tc.spans[i];
    if (old) {
        t->tc.spans[i] = NULL;
        file_uncached(old);
    }
    cgc__span *s = central_get(cls, kind);
    if (!s)
        return NULL;
    s->cached = 1;
    s->freeindex = 0;
    load_cache(s);
    atomic_fetch_add(&cgc__gc.heap_live, (uint64_t)s->nfree * s->elemsize);
    t->tc.spans[i] = s;
    uint32_t idx = 0;
    take_slot(s, &idx);   /* cannot fail: the span has a free slot */
    void *p = (void *)(s->start + (uintptr_t)idx * s->elemsize);
    if (s->needzero && kind == CGC_KIND_NORMAL)
        memset(p, 0, s->elemsize);
    t->tc.nmalloc++;
    t->tc.bytes_malloc += s->elemsize;
    return p;
}

/* Uncollectable and callback-marked objects: never cached, alloc bits
 * always exact. */
static void *uncached_alloc(cgc__thread *t, int cls, int kind)
{
    cgc__central *c = &cgc__centrals[cls * CGC_NKINDS + kind];
    /* The span stays under c->lock from being picked to being filed back,
     * so a concurrent cgc_free never finds it off the lists. */
    pthread_mutex_lock(&c->lock);
    cgc__span *s = central_pick_locked(c);
    if (!s) {
        pthread_mutex_unlock(&c->lock);
        s = new_span(cls, kind, false);   /* holds no object yet: invisible to cgc_free */
        cgc__pacer_heap_grew();
        if (!s)
            return NULL;
        pthread_mutex_lock(&c->lock);
    }
    uint32_t idx = 0;
    while (cgc__bit(s->allocbits, idx))
        idx++;
    s->allocbits[idx >> 6] |= (uint64_t)1 << (idx & 63);
    if (atomic_load_explicit(&cgc__marking, memory_order_relaxed)) {   /* black */
        __atomic_store_n(&s->marks[idx], CGC_SLOT_ALLOCATED | CGC_SLOT_MARKED, __ATOMIC_RELAXED);
        atomic_fetch_add_explicit(&cgc__mark_black_bytes, s->elemsize, memory_order_relaxed);
    } else {
        s->marks[idx] = CGC_SLOT_ALLOCATED;
    }
    s->nfree--;
    cgc__span_list_push(s->nfree ? &c->partial : &c->full, s);
    pthread_mutex_unlock(&c->lock);
    void *p = (void *)(s->start + (uintptr_t)idx * s->elemsize);
    memset(p, 0, s->elemsize);
    atomic_fetch_add(&cgc__gc.heap_live, s->elemsize);
    t->tc.nmalloc++;
    t->tc.bytes_malloc += s->elemsize;
    return p;
}

static void *large_alloc(size_t n, int kind)
{
    /* n <= CGC_MAX_OBJECT (alloc_slow): no overflow rounding up, and the
     * page count fits a span's 32 bits. */
    size_t npages = (n + CGC_PAGE_SIZE - 1) >> CGC_PAGE_SHIFT;
    bool zeroed;
    cgc__sweep_reclaim(npages);
    cgc__span *s = cgc__heap_alloc_span(npages, kind == CGC_KIND_ATOMIC, kind != CGC_KIND_ATOMIC, &zeroed);
    if (!s)
        return NULL;
    /* Already LARGE (carve) with an unallocated slot byte; the byte is
     * stored last, so a concurrent marker never sees the object with the
     * old descriptor's size. During a concurrent mark it is born black. */
    s->kind = (uint8_t)kind;
    s->elemsize = (uint64_t)npages * CGC_PAGE_SIZE;
    s->nelems = 1;
    s->divmul = 0;
    s->allocbits[0] = 1;
    s->marks = s->mark_inline;
    s->sweepgen = atomic_load(&cgc__sweepgen);
    bool black = atomic_load_explicit(&cgc__marking, memory_order_relaxed) != 0;
    __atomic_store_n(&s->mark_inline[0], CGC_SLOT_ALLOCATED | (black ? CGC_SLOT_MARKED : 0), __ATOMIC_RELEASE);
    if (black)
        atomic_fetch_add_explicit(&cgc__mark_black_bytes, s->elemsize, memory_order_relaxed);
    pthread_mutex_lock(&cgc__large_lock);
    cgc__span_list_push(&cgc__large_swept, s);
    cgc__large_uncollectable += kind == CGC_KIND_UNCOLLECTABLE;
    pthread_mutex_unlock(&cgc__large_lock);
    atomic_fetch_add(&cgc__gc.heap_live, s->elemsize);
    atomic_fetch_add(&cgc__gc.large_nmalloc, 1);
    atomic_fetch_add(&cgc__gc.large_bytes_malloc, s->elemsize);
    cgc__pacer_heap_grew();
    return (void *)s->start;
}

/* One attempt at an allocation of any size and kind, in a cgc section. */
static void *alloc_once(cgc__thread *t, size_t n, int kind)
{
    cgc__enter(t);
    void *p;
    if (n > CGC_MAX_SMALL)
        p = large_alloc(n, kind);
    else if (kind == CGC_KIND_UNCOLLECTABLE || kind == CGC_KIND_PROC)
        p = uncached_alloc(t, cgc__size_to_class(n), kind);
    else
        p = small_refill(t, cgc__size_to_class(n), kind);
    cgc__leave(t);
    return p;
}

/* Whether this thread is running the OOM handler (alloc_slow). */
static __thread bool in_oom_handler __attribute__((tls_model("initial-exec")));

static void *alloc_slow(size_t n, int kind)
{
    cgc__ensure_init();
    cgc__thread *t = cgc__self;
    if (!t && !(t = cgc__register_current(0))) {
        errno = ENOMEM;
        return NULL;
    }
    /* Sizes no heap can hold fail at once: no collection, no release of
     * free pages, no OOM handler (nothing it frees could make the request
     * fit). See CGC_MAX_OBJECT. */
    if (UNLIKELY(n > CGC_MAX_OBJECT)) {
        errno = ENOMEM;
        return NULL;
    }
    if (n > CGC_MAX_SMALL)
        cgc__before_large(n);
    void *p = alloc_once(t, n, kind);
    if (LIKELY(p != NULL)) {
        uint64_t live = atomic_load(&cgc__gc.heap_live);
        /* During a concurrent mark, whatever the trigger: the assists. */
        if (live >= atomic_load(&cgc__gc.trigger) || atomic_load_explicit(&cgc__marking, memory_order_relaxed))
            cgc__maybe_collect();   /* p is on our stack: it survives */
        else if (live >= atomic_load(&cgc__gc.prewake))
            cgc__mark_prewake();
        return p;
    }
    /* The OS refused memory: collect and give back every free page, retry;
     * then let the program's handler free something, retry; then NULL. */
    cgc__collect_internal(true);
    cgc__sweep_finish();
    cgc__heap_release(UINT64_MAX);
    if ((p = alloc_once(t, n, kind)) != NULL)
        return p;
    /* Not again from inside the handler on this thread: a handler that
     * allocates (to log, to build a message) and fails recursed into
     * itself, a full collection and release at every level, until the
     * stack overflowed (tests/test_oom_reentry.c). Its allocation fails. */
    cgc_oom_handler h = atomic_load(&oom_handler);
    if (h && !in_oom_handler) {
        in_oom_handler = true;
        h(n);
        in_oom_handler = false;
        if ((p = alloc_once(t, n, kind)) != NULL)
            return p;
    }
    errno = ENOMEM;
    return NULL;
}

/* ---- public allocation API --------------------------------------------- */

CGC_API void *cgc_malloc(size_t n)
{
    return alloc_fast(n, CGC_KIND_NORMAL);
}

CGC_API void *cgc_malloc_atomic(size_t n)
{
    return alloc_fast(n, CGC_KIND_ATOMIC);
}

CGC_API void *cgc_malloc_uncollectable(size_t n)
{
    return alloc_slow(n, CGC_KIND_UNCOLLECTABLE);
}

/* Objects marked by callback (compat/kinds.c): few, so they take the
 * central path of uncollectable objects instead of a thread cache. */
void *cgc__malloc_proc(size_t n)
{
    return alloc_slow(n, CGC_KIND_PROC);
}

CGC_API void *cgc_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc_fast(total, CGC_KIND_NORMAL);
}

CGC_API char *cgc_strdup(const char *s)
{
    size_t n = strlen(s);
    char *d = alloc_fast(n + 1, CGC_KIND_ATOMIC);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

CGC_API char *cgc_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = alloc_fast(len + 1, CGC_KIND_ATOMIC);
    if (d) {
        memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}

CGC_API cgc_oom_handler cgc_set_oom_handler(cgc_oom_handler h)
{
    return atomic_exchange(&oom_handler, h);
}

/* ---- queries ------------------------------------------------------------ */

/* The allocated object containing p: its span and slot, or NULL. */
static cgc__span *object_of(const void *p, uint32_t *idx_out)
{
    cgc__span *s = cgc__span_of((uintptr_t)p);
    if (!s)
        return NULL;
    uint32_t idx;
    if (s->state == CGC_SPAN_SMALL) {
        idx = cgc__span_index(s, (uintptr_t)p);
        if (idx >= s->nelems)
            return NULL;
    } else if (s->state == CGC_SPAN_LARGE) {
        idx = 0;
    } else {
        return NULL;
    }
    if (!slot_allocated(s, idx))
        return NULL;
    *idx_out = idx;
    return s;
}

CGC_API void *cgc_base(const void *p)
{
    uint32_t idx;
    cgc__span *s = object_of(p, &idx);
    return s ? (void *)(s->start + (uintptr_t)idx * s->elemsize) : NULL;
}

CGC_API size_t cgc_size(const void *p)
{
    uint32_t idx;
    cgc__span *s = object_of(p, &idx);
    return s ? (size_t)s->elemsize : 0;
}

/* ---- explicit free ------------------------------------------------------ */

/* Counts an explicit free. heap_live (the pacer's input) drops too, except
 * for a slot freed into the thread's own cache: that slot stays granted to
 * the cache and is handed out again without being counted again. */
static void count_explicit_free(uint64_t bytes, bool adjust_live)
{
    atomic_fetch_add(&cgc__gc.explicit_nfree, 1);
    atomic_fetch_add(&cgc__gc.explicit_bytes_freed, bytes);
    if (!adjust_live)
        return;
    live_sub(bytes);
}

static void free_large(cgc__span *s)
{
    pthread_mutex_lock(&cgc__large_lock);
    bool unswept = s->sweepgen != atomic_load(&cgc__sweepgen);
    cgc__span_list_remove(unswept ? &cgc__large_unswept : &cgc__large_swept, s);
    cgc__large_uncollectable -= s->kind == CGC_KIND_UNCOLLECTABLE;
    pthread_mutex_unlock(&cgc__large_lock);
    count_explicit_free(s->elemsize, true);
    cgc__heap_free_span(s);
}

/* Frees slot idx of a span this thread caches: the slot is handed out again
 * by the cache's next allocation. */
static void free_in_own_cache(cgc__span *s, uint32_t idx)
{
    set_alloc_prefix(s, s->freeindex);
    s->allocbits[idx >> 6] &= ~((uint64_t)1 << (idx & 63));
    if (idx < s->freeindex) {
        /* Release: another thread's slot_allocated that reads the lowered
         * freeindex must also see the alloc bits set just above for the
         * slots between idx and the old freeindex (it then looks at them,
         * not at freeindex). A plain store left the compiler free to move
         * it before them, and cgc_base of a live object could say "not
         * allocated" (cgc_free of it: "not an object", ignored). */
        __atomic_store_n(&s->freeindex, idx, __ATOMIC_RELEASE);
        load_cache(s);
    }
    s->needzero = 1;
}

/* Frees slot idx of a span in the central lists. */
static bool free_in_central(cgc__span *s, uint32_t idx)
{
    cgc__central *c = central_of(s);
    pthread_mutex_lock(&c->lock);
    if (s->cached) {   /* another thread took it meanwhile */
        pthread_mutex_unlock(&c->lock);
        return false;
    }
    if (s->sweepgen != atomic_load(&cgc__sweepgen)) {
        cgc__unswept_remove(c, s);
        bool gone = cgc__sweep_span(s);
        if (gone || !cgc__bit(s->allocbits, idx)) {
            /* The collector found it unreachable already. If the whole
             * span went back to the page heap, s is not ours any more:
             * heap_lock was dropped, and another thread may already have
             * carved a new span with this descriptor (state SMALL again),
             * so s->state cannot tell; sweep_span's result does. */
            if (!gone)
                cgc__span_list_push(s->nfree ? &c->partial : &c->full, s);
            pthread_mutex_unlock(&c->lock);
            return false;
        }
        cgc__span_list_push(s->nfree ? &c->partial : &c->full, s);
    }
    if (!cgc__bit(s->allocbits, idx)) {
        pthread_mutex_unlock(&c->lock);
        return false;
    }
    cgc__span_list_remove(s->nfree ? &c->partial : &c->full, s);
    s->allocbits[idx >> 6] &= ~((uint64_t)1 << (idx & 63));
    s->marks[idx] = 0;
    s->nfree++;
    s->needzero = 1;
    if (s->nfree == s->nelems)
        cgc__heap_free_span(s);
    else
        cgc__span_list_push(&c->partial, s);
    pthread_mutex_unlock(&c->lock);
    return true;
}

/* ---- cgc_free during a concurrent mark ---------------------------------- */

/* Freeing while markers run would race with them: a slot freed as a marker
 * marks it would come back allocated at the sweep, and a span given back
 * to the page heap would have its mark bytes recycled under a marker. So
 * cgc_free only records the object (cgc__marking is read inside the cgc
 * section, which no stop can split), the final stop marks it as a root
 * (it stays allocated through the sweep), and the collector frees it once
 * the world runs again. The table is metadata (not scanned otherwise),
 * grown by doubling; if it cannot grow the object is left to the
 * collector. */
static pthread_mutex_t deferred_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *deferred;
static size_t ndeferred, deferred_cap;

static void defer_free(void *p)
{
    pthread_mutex_lock(&deferred_lock);
    if (ndeferred == deferred_cap) {
        size_t cap = deferred_cap ? deferred_cap * 2 : 512;
        uintptr_t *v = cgc__meta_alloc(cap * sizeof *v, &cgc__mem.other_sys);
        if (!v) {
            pthread_mutex_unlock(&deferred_lock);
            return;
        }
        if (ndeferred)
            memcpy(v, deferred, ndeferred * sizeof *v);
        deferred = v;   /* the old table is metadata: not given back */
        deferred_cap = cap;
    }
    deferred[ndeferred++] = (uintptr_t)p;
    pthread_mutex_unlock(&deferred_lock);
}

/* World stopped (no thread holds deferred_lock). */
void cgc__free_deferred_roots(cgc__range_fn fn, void *arg)
{
    if (ndeferred)
        fn((uintptr_t)deferred, (uintptr_t)(deferred + ndeferred), arg);
}

static void free_now(cgc__thread *t, void *p);

/* The collector, world running, cgc__marking clear: frees what was
 * recorded. One at a time under the lock (no thread adds any more). */
void cgc__free_deferred_run(void)
{
    for (;;) {
        cgc__thread *t = cgc__enter_self();
        pthread_mutex_lock(&deferred_lock);
        void *p = ndeferred ? (void *)deferred[--ndeferred] : NULL;
        if (p)
            deferred[ndeferred] = 0;
        pthread_mutex_unlock(&deferred_lock);
        if (!p) {
            cgc__leave_self(t);
            return;
        }
        free_now(t, p);
        cgc__leave_self(t);
    }
}

void cgc__alloc_fork(int stage)
{
    cgc__fork_mutex(&deferred_lock, stage);
}

CGC_API void cgc_free(void *p)
{
    if (!p)
        return;
    cgc__ensure_init();
    cgc__thread *t = cgc__self;
    if (!t && !(t = cgc__register_current(0)))
        return;
    cgc__enter(t);
    if (UNLIKELY(atomic_load_explicit(&cgc__marking, memory_order_relaxed))) {
        defer_free(p);
        cgc__leave(t);
        return;
    }
    free_now(t, p);
    cgc__leave(t);
}

/* In a cgc section (t: the caller, NULL for the collector's own thread). */
static void free_now(cgc__thread *t, void *p)
{
    uint32_t idx;
    cgc__span *s = object_of(p, &idx);
    if (!s || (uintptr_t)p != s->start + (uintptr_t)idx * s->elemsize) {
        /* No stdio in a cgc section (docs/DEVELOPING.md): leave it for the
         * message, and enter again for the caller's leave. */
        if (t)
            cgc__leave(t);
        cgc__warn("cgc_free(%p): %s; ignored", p,
                  s ? "not the start of an object" : "not an object allocated by cgc (or already free)");
        if (t)
            cgc__enter(t);
        return;
    }
    cgc__finalize_forget(p);   /* its records must not follow the next object here */
    uint64_t size = s->elemsize;
    if (s->state == CGC_SPAN_LARGE) {
        free_large(s);
    } else if (s->cached) {
        int i = s->sizeclass * 2 + (s->kind == CGC_KIND_ATOMIC);
        if (t && t->tc.spans[i] == s) {
            free_in_own_cache(s, idx);
            count_explicit_free(size, false);
        }
        /* Cached by another thread: left for the next collection. */
    } else if (free_in_central(s, idx)) {
        count_explicit_free(size, true);
    }
}

CGC_API void *cgc_realloc(void *p, size_t n)
{
    if (!p)
        return cgc_malloc(n);
    if (n == 0) {
        cgc_free(p);
        return NULL;
    }
    uint32_t idx;
    cgc__span *s = object_of(p, &idx);
    if (!s || (uintptr_t)p != s->start + (uintptr_t)idx * s->elemsize) {
        cgc__warn("cgc_realloc(%p): not an object allocated by cgc; returning NULL", p);
        errno = EINVAL;
        return NULL;
    }
    size_t old = (size_t)s->elemsize;
    int kind = s->kind;
    /* Same size class (or a large object shrinking by less than half): keep it. */
    if (n <= old && (old <= CGC_MAX_SMALL ? cgc__classes[cgc__size_to_class(n)].size == old
                                          : n > old / 2))
        return p;
    void *q = kind == CGC_KIND_UNCOLLECTABLE || kind == CGC_KIND_PROC ? alloc_slow(n, kind) : alloc_fast(n, kind);
    if (!q)
        return NULL;   /* p is untouched, as realloc promises */
    memcpy(q, p, n < old ? n : old);
    cgc_free(p);
    return q;
}

/* ---- debug checks --------------------------------------------------------- */

static void fail(const char *what, const cgc__span *s)
{
    fprintf(stderr, "cgc: span invariant: %s (span %p, class %u, kind %u)\n", what,
            (void *)s->start, s->sizeclass, s->kind);
    abort();
}

/* Every span on a central list is a swept, uncached small span of that
 * list's class and kind; partial spans have a free slot, full ones none;
 * nfree agrees with the alloc bits; marked slots are allocated. */
void cgc__check_spans(void)
{
    uint32_t gen = atomic_load(&cgc__sweepgen);
    for (int c = 0; c < cgc__nclasses; c++) {
        for (int k = 0; k < CGC_NKINDS; k++) {
            cgc__central *cen = &cgc__centrals[c * CGC_NKINDS + k];
            cgc__span *lists[4] = {cen->partial, cen->full, cen->unswept[0], cen->unswept[1]};
            for (int l = 0; l < 4; l++) {
                for (cgc__span *s = lists[l]; s; s = s->next) {
                    if (s->state != CGC_SPAN_SMALL || s->sizeclass != c || s->kind != k)
                        fail("span on the wrong central list", s);
                    if (s->cached)
                        fail("cached span on a central list", s);
                    if (l < 2 && s->sweepgen != gen)
                        fail("unswept span on a swept list", s);
                    uint32_t used = 0;
                    for (uint32_t w = 0; w < (s->nelems + 63) / 64; w++)
                        used += (uint32_t)__builtin_popcountll(s->allocbits[w]);
                    if (l < 2 && used + s->nfree != s->nelems)
                        fail("nfree disagrees with the alloc bits", s);
                    if (l == 0 && s->nfree == 0)
                        fail("partial span without a free slot", s);
                    if (l == 1 && s->nfree != 0)
                        fail("full span with a free slot", s);
                    for (uint32_t i = 0; i < s->nelems; i++) {
                        if ((s->marks[i] & CGC_SLOT_ALLOCATED) != cgc__bit(s->allocbits, i))
                            fail("slot byte disagrees with the alloc bit", s);
                        if ((s->marks[i] & CGC_SLOT_MARKED) && !cgc__bit(s->allocbits, i))
                            fail("marked slot not allocated", s);
                    }
                }
            }
        }
    }
    for (cgc__thread *t = cgc__threads; t; t = t->next)
        for (int i = 0; i < CGC_MAX_CLASSES * 2; i++)
            if (t->tc.spans[i])
                fail("thread cache not flushed", t->tc.spans[i]);
}
