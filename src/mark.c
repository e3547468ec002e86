/* mark.c — the mark phase: conservative scanning, mark stacks, parallel
 * markers.
 *
 * Invariant while marking (the world is stopped): an object whose mark bit
 * is set is either scanned already, or has an entry on some mark stack or
 * shared packet, or its entry was dropped on overflow and `overflowed` is
 * set. After the markers finish, if anything overflowed we rescan every
 * marked object (which restores the invariant without needing the dropped
 * entries) and drain again, until no stack overflows. So a mark stack that
 * cannot grow costs time, never correctness.
 *
 * Mark bytes, not bits: a marker sets a byte with a plain store. Two
 * markers that reach the same object at the same moment may both see it
 * unmarked and both scan it — harmless, it is only done twice (and its bytes
 * counted twice in marked_bytes, a pacing input, not an accounting one). A
 * bit would need an atomic read-modify-write per object; measured on
 * binary-trees with two markers, `lock bts` took half of the mark time.
 *
 * Conservative test for a word v: range check against the heap bounds, then
 * the span of v (cgc__span_of, O(1)); a small span gives the slot index by a
 * multiply; the slot's state byte must say "allocated, unmarked" — a pointer
 * into a free slot or free span marks nothing. Interior pointers count. The
 * span fields read here share its first cache line, and the state byte
 * holds both the alloc and the mark bit, so a new pointer costs two misses
 * at most before the object itself, which is prefetched.
 *
 * Parallel marking: each marker drains its own stack. A marker that runs
 * out of work raises `want_work`; busy markers then donate half of their
 * stack as a packet to a shared list. Termination: a marker that finds the
 * shared list empty becomes idle; the last one to become idle with the list
 * empty ends the phase (no busy marker is left to create work).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct entry {
    uintptr_t lo, hi;
} entry;

#define PACKET_ENTRIES 256
#define CHUNK_BYTES (64 * 1024)     /* large ranges are scanned in pieces so they can be shared */
#define SHARE_MIN 4                 /* donate only when holding more than this */
#define PREFETCH 16                 /* objects in flight between pop and scan */

typedef struct packet {
    struct packet *next;
    size_t n;
    entry e[PACKET_ENTRIES];
} packet;

/* The two stages of the candidate pipeline (see scan). */
#define PIPE 8
typedef struct candidate {
    uintptr_t  v;
    cgc__span *s;
} candidate;
typedef struct slot_ref {
    cgc__span *s;
    uint32_t   idx;
} slot_ref;

typedef struct __attribute__((aligned(128))) marker {
    entry   *stack;
    size_t   n, cap;
    candidate c1[PIPE];       /* stage 1: span header being fetched */
    slot_ref  c2[PIPE];       /* stage 2: slot byte being fetched */
    unsigned  c1h, c1n, c2h, c2n;
    bool     overflowed;
    uint64_t marked_bytes, marked_objects, scanned_bytes;
    int64_t  cpu_ns;
    pthread_t thread;
    int      id;
} marker;

#define MAX_MARKERS 256
/* Marker state lives in metadata, not in our bss: the pipelines hold
 * pointers into the heap, and bss is scanned as a root. */
static marker *markers;
static int nmarkers = 1;
static int helpers_started;
static size_t stack_limit = (size_t)1 << 24;   /* entries per marker: 256 MiB */

static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t phase_cv = PTHREAD_COND_INITIALIZER;
static packet *work;          /* shared packets */
static packet *packet_pool;   /* recycled packets */
static int idle;              /* markers waiting for work */
static bool done;
static _Atomic int want_work;
static unsigned phase;        /* bumped to start the helpers */
static int helpers_finished;

void cgc__mark_set_stack_limit(size_t entries)
{
    stack_limit = entries < 4 ? 4 : entries;
}

int cgc__mark_nmarkers(void)
{
    return nmarkers;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}


/* ---- mark byte arrays -------------------------------------------------- */

/* Small spans get nelems mark bytes from free lists by power-of-two size
 * (64 .. 512 bytes), carved from metadata and recycled when spans die. */
static pthread_mutex_t marks_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *marks_free[4];   /* 64, 128, 256, 512 */

static int marks_class(uint32_t nelems)
{
    int c = 0;
    while ((64u << c) < nelems)
        c++;
    return c;
}

uint8_t *cgc__marks_alloc(uint32_t nelems)
{
    int c = marks_class(nelems);
    pthread_mutex_lock(&marks_lock);
    uint8_t *p = marks_free[c];
    if (p)
        marks_free[c] = *(uint8_t **)p;
    pthread_mutex_unlock(&marks_lock);
    if (!p)
        return cgc__meta_alloc(64u << c, &cgc__mem.gc_sys);
    memset(p, 0, 64u << c);
    return p;
}

void cgc__marks_release(uint8_t *p, uint32_t nelems)
{
    int c = marks_class(nelems);
    pthread_mutex_lock(&marks_lock);
    *(uint8_t **)p = marks_free[c];
    marks_free[c] = p;
    pthread_mutex_unlock(&marks_lock);
}

/* ---- mark stacks ------------------------------------------------------- */

/* Doubles a marker's stack; false if the limit or the OS says no. */
static bool grow(marker *m)
{
    size_t cap = m->cap ? m->cap * 2 : 4096;
    if (cap > stack_limit)
        cap = stack_limit;
    if (cap <= m->cap)
        return false;
    entry *v = cgc__os_map(cap * sizeof(entry));
    if (!v)
        return false;
    if (m->n)
        memcpy(v, m->stack, m->n * sizeof(entry));
    if (m->stack) {
        cgc__os_unmap(m->stack, m->cap * sizeof(entry));
        atomic_fetch_sub(&cgc__mem.gc_sys, m->cap * sizeof(entry));
    }
    atomic_fetch_add(&cgc__mem.gc_sys, cap * sizeof(entry));
    m->stack = v;
    m->cap = cap;
    return true;
}

static inline void push(marker *m, uintptr_t lo, uintptr_t hi)
{
    if (UNLIKELY(m->n == m->cap) && !grow(m)) {
        m->overflowed = true;   /* the object stays marked; rescanned later */
        return;
    }
    m->stack[m->n].lo = lo;
    m->stack[m->n].hi = hi;
    m->n++;
}

/* ---- the conservative test -------------------------------------------- */

/* Stage 2 done: the slot byte is (hopefully) in cache. Marks the object
 * if it is allocated and not marked yet, and queues it for scanning. */
static inline void mark_slot(marker *m, cgc__span *s, uint32_t idx)
{
    if (s->marks[idx] != CGC_SLOT_ALLOCATED)
        return;   /* free, or marked already */
    s->marks[idx] = CGC_SLOT_ALLOCATED | CGC_SLOT_MARKED;
    m->marked_bytes += s->elemsize;
    m->marked_objects++;
    if (s->kind != CGC_KIND_ATOMIC) {
        uintptr_t base = s->start + (uintptr_t)idx * s->elemsize;
        push(m, base, base + s->elemsize);
    }
}

static inline void stage2_pop(marker *m)
{
    slot_ref r = m->c2[m->c2h];
    m->c2h = (m->c2h + 1) % PIPE;
    m->c2n--;
    mark_slot(m, r.s, r.idx);
}

/* The slot of span s that v points into, or -1 (unused tail, free span). */
static inline int64_t slot_of(const cgc__span *s, uintptr_t v)
{
    if (LIKELY(s->state == CGC_SPAN_SMALL)) {
        uint32_t idx = cgc__span_index(s, v);
        return idx < s->nelems ? (int64_t)idx : -1;
    }
    return s->state == CGC_SPAN_LARGE ? 0 : -1;
}

/* Stage 1 done: the span header is (hopefully) in cache. Finds the slot v
 * points into and starts fetching its state byte. */
static inline void stage1_pop(marker *m)
{
    candidate c = m->c1[m->c1h];
    m->c1h = (m->c1h + 1) % PIPE;
    m->c1n--;
    cgc__span *s = c.s;
    int64_t i = slot_of(s, c.v);
    if (i < 0)
        return;
    uint32_t idx = (uint32_t)i;
    __builtin_prefetch(&s->marks[idx], 1);
    if (m->c2n == PIPE)
        stage2_pop(m);
    m->c2[(m->c2h + m->c2n) % PIPE] = (slot_ref){s, idx};
    m->c2n++;
}

/* A word that points into a span: start fetching the span's header. */
static inline void candidate_push(marker *m, uintptr_t v, cgc__span *s)
{
    __builtin_prefetch(s);
    if (m->c1n == PIPE)
        stage1_pop(m);
    m->c1[(m->c1h + m->c1n) % PIPE] = (candidate){v, s};
    m->c1n++;
}

/* Empties the pipeline (which may push objects on the stack). */
static void flush_pipeline(marker *m)
{
    while (m->c1n)
        stage1_pop(m);
    while (m->c2n)
        stage2_pop(m);
}

/* Scans the words of [lo, hi). Each word that points into the heap goes
 * through a two-stage pipeline: the span header is prefetched when the
 * word is found and read PIPE candidates later; then the slot's state byte
 * is prefetched and read PIPE candidates later still. Marking a new object
 * costs two cache misses before its contents (span header, state byte);
 * the pipeline overlaps them with the work on other candidates instead of
 * stalling on each (measured: the three misses were 80% of marking time).
 * Neighbouring pointers tend to point into the same span, so the last span
 * found is remembered and the page-map walk skipped when v falls in it. */
static void scan(marker *m, uintptr_t lo, uintptr_t hi, bool atomic_bits)
{
    const uintptr_t hlo = cgc__heap_lo(), hlen = cgc__heap_hi - hlo;
    cgc__span *last = NULL;
    uintptr_t last_start = 0, last_len = 0;
    m->scanned_bytes += hi - lo;
    for (uintptr_t p = lo; p + sizeof(uintptr_t) <= hi; p += sizeof(uintptr_t)) {
        uintptr_t v = *(const uintptr_t *)p;
        if (LIKELY(v - hlo >= hlen))
            continue;
        if (v - last_start < last_len) {
            /* Same span as the last pointer: its header is in cache, and
             * objects allocated together (trees, lists) are usually marked
             * in allocation order, so the slot byte is close too. Going
             * straight to it keeps depth-first order, which the pipeline
             * would scramble (measured: binary-trees marked 2x slower). */
            int64_t i = slot_of(last, v);
            if (i >= 0)
                mark_slot(m, last, (uint32_t)i);
            continue;
        }
        cgc__span *s = cgc__span_of(v);
        if (!s)
            continue;
        last = s;
        last_start = s->start;
        last_len = (uintptr_t)s->npages << CGC_PAGE_SHIFT;
        candidate_push(m, v, s);
    }
}

/* ---- sharing ----------------------------------------------------------- */

static packet *packet_get(void)
{
    packet *p = packet_pool;
    if (p) {
        packet_pool = p->next;
    } else {
        p = cgc__meta_alloc(sizeof *p, &cgc__mem.gc_sys);
        if (!p)
            return NULL;
    }
    p->n = 0;
    p->next = NULL;
    return p;
}

/* Moves up to half of m's stack (the oldest entries: they tend to lead to
 * the largest unexplored subgraphs) into a shared packet. */
static void donate(marker *m)
{
    pthread_mutex_lock(&work_lock);
    packet *p = packet_get();
    if (p) {
        size_t k = m->n / 2;
        if (k > PACKET_ENTRIES)
            k = PACKET_ENTRIES;
        memcpy(p->e, m->stack, k * sizeof(entry));
        memmove(m->stack, m->stack + k, (m->n - k) * sizeof(entry));
        m->n -= k;
        p->n = k;
        p->next = work;
        work = p;
        atomic_store(&want_work, 0);
        pthread_cond_signal(&work_cv);
    }
    pthread_mutex_unlock(&work_lock);
}

/* Moves the first shared packet's entries into m's stack; work_lock held.
 * Entries are never dropped here: a packet may hold root ranges, which the
 * overflow recovery (it rescans marked objects) could not bring back, so an
 * entry that does not fit is scanned on the spot. */
static void take(marker *m, bool atomic_bits)
{
    packet *p = work;
    work = p->next;
    for (size_t i = 0; i < p->n; i++) {
        if (m->n < m->cap || grow(m))
            m->stack[m->n++] = p->e[i];
        else
            scan(m, p->e[i].lo, p->e[i].hi, atomic_bits);   /* no room: scan it now */
    }
    p->next = packet_pool;
    packet_pool = p;
}

/* Drains m's stack. Popped ranges wait in a small FIFO after a prefetch of
 * their first line, so the cache miss of the object is overlapped with the
 * scanning of the ones before it (a plain depth-first pop would touch each
 * object right after its pointer was found, and stall on every one). */
static void drain(marker *m, bool atomic_bits)
{
    entry ring[PREFETCH];
    unsigned head = 0, count = 0, tick = 0;
    for (;;) {
        if (m->n && count < PREFETCH) {
            entry e = m->stack[--m->n];
            if (e.hi - e.lo > CHUNK_BYTES) {
                push(m, e.lo + CHUNK_BYTES, e.hi);   /* cannot fail: a slot was just freed */
                e.hi = e.lo + CHUNK_BYTES;
            }
            for (uintptr_t l = e.lo; l < e.hi && l < e.lo + 256; l += 64)
                __builtin_prefetch((const void *)l);
            ring[(head + count) % PREFETCH] = e;
            count++;
            continue;
        }
        if (!count) {
            if (!m->c1n && !m->c2n)
                break;
            flush_pipeline(m);   /* may push more work */
            continue;
        }
        entry e = ring[head];
        head = (head + 1) % PREFETCH;
        count--;
        scan(m, e.lo, e.hi, atomic_bits);
        if (atomic_bits && (++tick & 15) == 0 && m->n > SHARE_MIN && atomic_load(&want_work))
            donate(m);
    }
}

/* One marker's whole part of the phase. */
static void mark_loop(marker *m)
{
    bool par = nmarkers > 1;
    int64_t c0 = cgc__thread_cpu_ns();
    for (;;) {
        drain(m, par);
        pthread_mutex_lock(&work_lock);
        if (work) {
            take(m, par);
            pthread_mutex_unlock(&work_lock);
            continue;
        }
        idle++;
        if (idle == nmarkers) {
            done = true;
            pthread_cond_broadcast(&work_cv);
            pthread_mutex_unlock(&work_lock);
            break;
        }
        atomic_store(&want_work, 1);
        /* Spin a little before sleeping: work usually arrives within
         * microseconds, and a futex sleep and wake-up per donation cost
         * more than the donated work is worth. */
        pthread_mutex_unlock(&work_lock);
        for (int spin = 0; spin < 4000 && !__atomic_load_n(&work, __ATOMIC_ACQUIRE) &&
                           !__atomic_load_n(&done, __ATOMIC_ACQUIRE); spin++)
            cpu_relax();
        pthread_mutex_lock(&work_lock);
        while (!work && !done)
            pthread_cond_wait(&work_cv, &work_lock);
        if (done) {
            pthread_mutex_unlock(&work_lock);
            break;
        }
        idle--;
        take(m, par);
        pthread_mutex_unlock(&work_lock);
    }
    m->cpu_ns += cgc__thread_cpu_ns() - c0;
}

static void *helper_main(void *arg)
{
    marker *m = arg;
    cgc__block_signals();
    unsigned seen = 0;
    for (;;) {
        pthread_mutex_lock(&work_lock);
        while (phase == seen)
            pthread_cond_wait(&phase_cv, &work_lock);
        seen = phase;
        pthread_mutex_unlock(&work_lock);
        mark_loop(m);
        pthread_mutex_lock(&work_lock);
        helpers_finished++;
        pthread_cond_broadcast(&phase_cv);
        pthread_mutex_unlock(&work_lock);
    }
    return NULL;
}

void cgc__mark_init(int n)
{
    if (n < 1)
        n = 1;
    if (n > MAX_MARKERS)
        n = MAX_MARKERS;
    /* Each marker on its own cache lines: they are written constantly. */
    uint8_t *raw = cgc__meta_alloc(sizeof(marker) * (size_t)n + 128, &cgc__mem.gc_sys);
    markers = raw ? (marker *)(((uintptr_t)raw + 127) & ~(uintptr_t)127) : NULL;
    if (!markers)
        cgc__fatal("out of memory for %d markers' state", n);
    nmarkers = n;
    for (int i = 0; i < n; i++)
        markers[i].id = i;
}

/* Starts the helper markers; called with the world running, because thread
 * creation may take locks (malloc's) that a stopped thread could hold. */
void cgc__mark_prepare(void)
{
    if (helpers_started)
        return;
    helpers_started = 1;
    for (int i = 1; i < nmarkers; i++) {
        if (pthread_create(&markers[i].thread, NULL, helper_main, &markers[i]) != 0) {
            nmarkers = i;   /* fewer markers is slower, not wrong */
            break;
        }
    }
}

/* ---- roots and the phase ----------------------------------------------- */

/* Queues [lo, hi) as shared work, in chunks, straight into packets (never
 * onto a mark stack, which may drop entries). If no packet can be had, the
 * range is scanned at once: what that marks is recoverable. */
static void queue_range(uintptr_t lo, uintptr_t hi, void *arg)
{
    marker *m = arg;
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    for (; lo < hi; lo += CHUNK_BYTES) {
        uintptr_t end = hi - lo > CHUNK_BYTES ? lo + CHUNK_BYTES : hi;
        if (!work || work->n == PACKET_ENTRIES) {
            packet *p = packet_get();
            if (!p) {
                scan(m, lo, end, false);
                continue;
            }
            p->next = work;
            work = p;
        }
        work->e[work->n].lo = lo;
        work->e[work->n].hi = end;
        work->n++;
    }
}

/* Uncollectable objects are roots: mark and queue every allocated one. */
static void mark_uncollectable(cgc__span *s, void *arg)
{
    marker *m = arg;
    if (s->kind != CGC_KIND_UNCOLLECTABLE)
        return;
    for (uint32_t i = 0; i < s->nelems; i++) {
        mark_slot(m, s, i);
    }
}

/* Overflow recovery: scan every marked object of a scanned kind. */
static void rescan_marked(cgc__span *s, void *arg)
{
    marker *m = arg;
    if (s->kind == CGC_KIND_ATOMIC)
        return;
    for (uint32_t i = 0; i < s->nelems; i++) {
        if (s->marks[i] & CGC_SLOT_MARKED) {
            uintptr_t base = s->start + (uintptr_t)i * s->elemsize;
            scan(m, base, base + s->elemsize, false);
            drain(m, false);
        }
    }
}

void __attribute__((noinline)) cgc__mark(cgc__mark_result *out)
{
    marker *m0 = &markers[0];
    for (int i = 0; i < nmarkers; i++) {
        markers[i].n = 0;
        markers[i].overflowed = false;
        markers[i].marked_bytes = markers[i].marked_objects = markers[i].scanned_bytes = 0;
        markers[i].cpu_ns = 0;
    }
    int64_t c0 = cgc__thread_cpu_ns();

    /* Roots: the stacks of stopped threads, our own stack (registers
     * spilled by __builtin_unwind_init), data/bss, registered ranges. */
    __builtin_unwind_init();
    volatile uintptr_t here = 0;
    cgc__thread *me = cgc__self;
    for (cgc__thread *t = cgc__threads; t; t = t->next) {
        uintptr_t lo = t == me ? (uintptr_t)&here : t->stack_lo;
        if (lo < t->stack_hi)
            queue_range(lo, t->stack_hi, m0);
    }
    cgc__roots_foreach(queue_range, m0);
    cgc__heap_foreach_inuse(mark_uncollectable, m0);
    m0->cpu_ns += cgc__thread_cpu_ns() - c0;

    /* The parallel phase. */
    pthread_mutex_lock(&work_lock);
    idle = 0;
    done = false;
    atomic_store(&want_work, 0);
    helpers_finished = 0;
    if (nmarkers > 1) {
        phase++;
        pthread_cond_broadcast(&phase_cv);
    }
    pthread_mutex_unlock(&work_lock);
    mark_loop(m0);
    if (nmarkers > 1) {
        pthread_mutex_lock(&work_lock);
        while (helpers_finished < nmarkers - 1)
            pthread_cond_wait(&phase_cv, &work_lock);
        pthread_mutex_unlock(&work_lock);
    }

    /* Overflow recovery, single-threaded: rare, and each pass marks at
     * least one more level of the graph, so it ends. */
    int overflows = 0;
    for (;;) {
        bool any = false;
        for (int i = 0; i < nmarkers; i++) {
            any |= markers[i].overflowed;
            markers[i].overflowed = false;
            markers[i].n = 0;
        }
        if (!any)
            break;
        overflows++;
        int64_t r0 = cgc__thread_cpu_ns();
        cgc__heap_foreach_inuse(rescan_marked, m0);
        m0->cpu_ns += cgc__thread_cpu_ns() - r0;
    }

    memset(out, 0, sizeof *out);
    for (int i = 0; i < nmarkers; i++) {
        out->marked_bytes += markers[i].marked_bytes;
        out->marked_objects += markers[i].marked_objects;
        out->scanned_bytes += markers[i].scanned_bytes;
        out->cpu_ns += markers[i].cpu_ns;
    }
    out->overflows = overflows;
    (void)here;
}
