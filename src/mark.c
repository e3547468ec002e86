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
#include "dirty.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* A range to scan. An object of a small span is pushed as (start, span |
 * size | SPAN_TAG) instead of (start, end): when it is scanned its span
 * becomes the drainer's `last`, so pointers to objects allocated next to it
 * (a tree node's children, a list's next cell) take the same-span path
 * instead of the span lookup and pipeline. Its size travels in the entry
 * (bits 47-62, in 16-byte units: small objects are at most 32 KiB) so the
 * pop needs no read of the span header: by then it has usually left the
 * cache (a 64 KiB root chunk pushes 8192 entries before the first pop), and
 * that read was a tenth of the churn mark's samples. User-space addresses
 * (spans, objects) are below 2^47 on x86-64 and AArch64 (48-bit VA). */
typedef struct entry {
    uintptr_t lo, hi;
} entry;

#define SPAN_TAG ((uintptr_t)1 << 63)
#define SPAN_BITS 47
#define SPAN_MASK (((uintptr_t)1 << SPAN_BITS) - 1)

static inline bool entry_tagged(entry e)
{
    return (intptr_t)e.hi < 0;
}

static inline cgc__span *entry_span(entry e)
{
    return (cgc__span *)(e.hi & SPAN_MASK);
}

static inline uintptr_t entry_tag(const cgc__span *s)
{
    return SPAN_TAG | (uintptr_t)(s->elemsize >> 4) << SPAN_BITS | (uintptr_t)s;
}

/* An object of kind CGC_KIND_PROC is pushed as (start, span | SPAN_TAG)
 * with no size: its range is empty, and when it is popped the layer's
 * callback is called instead of a scan (proc_scan). A small object's size
 * is never 0, so no other entry looks like that. */
static inline uintptr_t entry_proc(const cgc__span *s)
{
    return SPAN_TAG | (uintptr_t)s;
}

/* The end of an entry's range. */
static inline uintptr_t entry_hi(entry e)
{
    return entry_tagged(e) ? e.lo + ((e.hi & ~SPAN_TAG) >> SPAN_BITS << 4) : e.hi;
}

#define PACKET_ENTRIES 255           /* a packet is 4 KiB: 16 bytes of header, 255 entries */
#define CHUNK_BYTES (64 * 1024)     /* large ranges are scanned in pieces so they can be shared */
#define SHARE_MIN 4                 /* donate only when holding more than this */
#define CHUNK_MIN 1024              /* an untagged range this long is a chunk (scan_chunk) */
/* The piece of a large range a mark assist scans at a time (drain_until
 * with a budget). A 64 KiB piece of a table of pointers pushed up to 8192
 * objects and used up the assist's budget (64 KiB) by itself: the assist
 * then copied them all back to the shared list (give_back), and the
 * background marker copied them in again (churn: 6.4 million entries a
 * run, through 1,000 of its 16,000 assists). In 4 KiB pieces it scans
 * the objects a piece found before the next piece, and what it gives back
 * is at most a piece's worth: 1.4 million entries, and half the assists,
 * each paying its debt with the objects rather than the table. */
#define ASSIST_PIECE (4 * 1024)
#define PREFETCH 16                 /* ranges per batch: popped and prefetched while the last batch is scanned */

typedef struct packet {
    struct packet *next;
    size_t n;
    entry e[PACKET_ENTRIES];
} packet;
_Static_assert(sizeof(packet) == 4096, "a packet is 4 KiB");

/* The candidate pipeline (see candidate_push): PIPE_SIZE entries, two
 * stages of PIPE_STAGE. */
#define PIPE_STAGE 8
#define PIPE_SIZE (2 * PIPE_STAGE)
typedef struct pipe_entry {
    uintptr_t  v;      /* the pointer; after stage 1, the slot index */
    cgc__span *s;      /* its span; NULL after stage 1 if it is no object */
} pipe_entry;

typedef struct __attribute__((aligned(128))) marker {
    entry   *stack;
    size_t   n, cap;
    bool     overflowed;
    cgc__span *last;          /* span of the last heap pointer seen (scan) */
    uintptr_t last_start, last_len; /* its bounds once its header was read, else len 0 */
    uint64_t marked_bytes;
    int64_t  cpu_ns;
    pthread_t thread;
    unsigned start_phase;     /* helpers: the phase counter when it was started */
    int      id;
    unsigned big;             /* bit k: the stack was past its keep size after the k-th last mark */
} marker;

#define MAX_MARKERS 256
/* Marker state lives in metadata, not in our bss: the pipelines hold
 * pointers into the heap, and bss is scanned as a root. */
static marker *markers;
static int nmarkers = 1;      /* markers configured (CGC_MARKERS) */
/* After the markers, NASSIST markers for mark assists (program threads
 * marking while they allocate, assist.c): their stacks, overflow flags and
 * marked bytes are a mark's like the markers'. */
#define NASSIST 8
static int nslots = 1 + NASSIST;
static _Atomic unsigned assist_claimed;   /* bit k: assist marker k is in use */
/* Markers taking part: the collector's thread and the helpers started so
 * far. Below nmarkers when a helper thread could not be created; the rest
 * are tried again before the next cycle (cgc__mark_prepare). Written with
 * no mark under way; read unlocked by cgc__mark_prewake. */
static int nrunning = 1;
static _Atomic int helpers_up;   /* helpers that reached helper_main */
static int helpers_started;
/* Markers taking part in the current phase: nrunning, or 1 when the
 * final stop has little left to mark (waking the helpers would cost more
 * than it saves). */
static int nactive = 1;
static size_t stack_limit = (size_t)1 << 24;   /* entries per marker: 256 MiB */

static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t phase_cv = PTHREAD_COND_INITIALIZER;
/* work and done change under work_lock, but an idle marker's spin in
 * mark_loop reads them without it: while markers run they are written with
 * __atomic_store_n (plain stores would race with those reads: C11 data
 * races, reported by ThreadSanitizer; on x86 a release store is a plain
 * store). */
static packet *work;          /* shared packets */
static packet *packet_pool;   /* recycled packets */
static packet *slabs;         /* the packets' mappings, linked through their first packet */
static size_t nslabs;
static size_t in_use, peak_in_use;   /* packets out of the pool: now, most in this mark */
#define PEAKS 4
static size_t peaks[PEAKS];          /* peak_in_use of the last marks (packets_trim) */
static unsigned peak_at;
static int idle;              /* markers waiting for work */
static bool done;
static _Atomic int want_work;
/* A marker is draining with sharing on in a concurrent phase: an assist
 * that finds the shared list empty may wait for it to donate. While none
 * is (the collector between phases, or inside the tracker's collect of a
 * pre-cleaning round, an ioctl of up to a few ms), nothing can arrive
 * within the assist's wait: churn's assists spun 15 ms a run there. */
static _Atomic int sharing;
static unsigned phase;        /* bumped to start the helpers (read unlocked by a spinning helper) */
static unsigned prewoken;     /* phase + 1 once the helpers were woken ahead of it */
static unsigned prewake_gen;  /* bumped by every pre-wake: a helper spins once for each */
static int helpers_running;   /* helpers not yet back from the last phase */
/* A phase with the world running (the concurrent mark, pre-cleaning):
 * set by the collector's thread between phases. */
static bool conc_phase;

void cgc__mark_set_stack_limit(size_t entries)
{
    stack_limit = entries < 4 ? 4 : entries;
}

int cgc__mark_nmarkers(void)
{
    return __atomic_load_n(&helpers_started, __ATOMIC_ACQUIRE) ? __atomic_load_n(&nrunning, __ATOMIC_RELAXED)
                                                              : nmarkers;
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

/* After a mark, a stack that grew past STACK_KEEP entries (1 MiB) goes back
 * to the OS: a graph that once needed a deep stack (up to stack_limit, 256
 * MiB) would otherwise keep it mapped, and counted against the limit, for
 * the rest of the run. Below that a stack is kept: regrowing it every cycle
 * would cost system calls and page faults. So is a larger one that two of
 * the last four marks needed: the pre-cleaning rounds queue every marked
 * object of the written pages at once, and binary-trees' collector grew
 * its stack to 4 MiB in every concurrent cycle and gave it back at the
 * end: 97,000 of the 193,000 page faults of binary-trees 20, the new
 * mappings' pages as the copies into them and the pushes first touched
 * them. No marker touches its stack once it has turned idle at the end
 * of the phase (mark_loop). */
#define STACK_KEEP ((size_t)1 << 16)
/* An assist's slot (NASSIST of them) keeps no more than its first stack,
 * 64 KiB: assists come and go at every deadline and hand their work back,
 * and eight slots of 1 MiB each were memory a tight limit could not spare
 * (the demo's service: 3.3 MiB more gc_sys in concurrent mode). */
#define ASSIST_STACK_KEEP ((size_t)4096)
static void shrink_stacks(void)
{
    for (int i = 0; i < nslots; i++) {
        marker *m = &markers[i];
        bool over = m->cap > (i < nmarkers ? STACK_KEEP : ASSIST_STACK_KEEP);
        m->big = (m->big << 1 | over) & 0xf;
        if (!over || (i < nmarkers && __builtin_popcount(m->big) >= 2))
            continue;
        cgc__os_unmap(m->stack, m->cap * sizeof(entry));
        atomic_fetch_sub(&cgc__mem.gc_sys, m->cap * sizeof(entry));
        m->stack = NULL;
        m->cap = m->n = 0;
    }
}

/* ---- the working state of one drain ----------------------------------- */

/* Everything the inner loop touches, as a local of the function that
 * drains: once the helpers below are inlined, the compiler keeps it in
 * registers instead of reloading and storing marker fields for every word
 * and every object (which was a third of the instructions of a mark). It
 * is loaded from the marker (work_begin) and stored back (work_end) around
 * every call that needs the marker itself (growing the stack, donating). */
typedef struct drainer {
    marker   *m;
    entry    *stack, *top, *limit;     /* the marker's stack: base, next free entry, end */
    uintptr_t hlo, hlen;              /* heap bounds: v - hlo < hlen */
    cgc__span *last;                  /* span of the last heap pointer seen */
    uintptr_t last_start, last_len;   /* its bounds once its header was read, else len 0 */
    uint64_t  marked_bytes;
    uint64_t  scanned;                /* bytes scanned, not yet added to cgc__mark_scan_work */
    cgc__find_fn find;                /* cgc__find_pointer */
    pipe_entry *ring;                 /* the candidate pipeline (PIPE_SIZE entries) */
    unsigned  pt, pa, pb;             /* pipeline: inserted, past stage 1, past stage 2 */
} drainer;

static inline void work_begin(drainer *w, marker *m, pipe_entry *ring)
{
    w->m = m;
    w->ring = ring;
    w->stack = m->stack;
    w->top = m->stack + m->n;
    w->limit = m->stack + m->cap;
    w->hlo = cgc__heap_lo();
    w->hlen = cgc__heap_hi - w->hlo;
    w->last = m->last;
    w->last_start = m->last_start;
    w->last_len = m->last_len;
    w->marked_bytes = 0;
    w->scanned = 0;
    w->find = cgc__find_pointer;
    w->pt = w->pa = w->pb = 0;
}

static inline void work_sync(drainer *w)
{
    w->m->n = (size_t)(w->top - w->stack);
}

static inline void work_reload(drainer *w)
{
    w->stack = w->m->stack;
    w->top = w->m->stack + w->m->n;
    w->limit = w->m->stack + w->m->cap;
}

static inline void work_end(drainer *w)
{
    marker *m = w->m;
    m->n = (size_t)(w->top - w->stack);
    m->last = w->last;
    m->last_start = w->last_start;
    m->last_len = w->last_len;
    m->marked_bytes += w->marked_bytes;
}

/* The stack is full: grow it (m->n is n) and push, or record the overflow. */
static void __attribute__((noinline)) push_slow(marker *m, size_t n, uintptr_t lo, uintptr_t hi)
{
    m->n = n;
    if (!grow(m)) {
        m->overflowed = true;   /* the object stays marked; rescanned later */
        return;
    }
    m->stack[m->n].lo = lo;
    m->stack[m->n].hi = hi;
    m->n++;
}

static inline void push(drainer *w, uintptr_t lo, uintptr_t hi)
{
    if (UNLIKELY(w->top == w->limit)) {
        push_slow(w->m, (size_t)(w->top - w->stack), lo, hi);
        work_reload(w);
        return;
    }
    w->top->lo = lo;
    w->top->hi = hi;
    w->top++;
}

/* ---- hot objects, copied before the first stop ----
 *
 * A hot object (a large pointer array written all over: shadows, below)
 * is left unprotected and compared with a copy in every round. Scanned in
 * place by the concurrent phase, it had no copy when the first round came,
 * so that round copied it whole and queued every word again: churn's 4 MiB
 * table, 2^19 lookups, 2.5-3 ms of each cycle's first round, while the
 * program, at its goal with no work to take, waited for it (assist.c,
 * park). So the collector copies each hot object before the first stop
 * (cgc__mark_hot_copy), and whoever marks it in this cycle queues the copy
 * instead of the object. Every word of the copy is scanned; at a later
 * round a word of the object equal to its copy holds a value that was
 * scanned, and one that differs is queued by that round, which updates
 * the copy (the argument of shadow_copy). What the copy holds that the
 * object no longer does (written between the copy and the first stop)
 * is floating garbage: kept to the next cycle. Only the collector's
 * thread writes these, before the first stop and after the final one. */
static cgc__span *hot_span[CGC__DIRTY_HOT_MAX];   /* this cycle's hot objects (cgc__mark_shadows_release) */
static uintptr_t *hot_base;   /* CGC__DIRTY_HOT_MAX, in metadata: heap addresses (see shadows); NULL until needed */
static struct shadow *hot_shadow[CGC__DIRTY_HOT_MAX]; /* its whole copy, or NULL */
static int nhot_spans;
_Atomic uint64_t cgc__mark_hot_copies, cgc__mark_hot_dropped;

static void hot_check(void);
static void push_large(drainer *w, cgc__span *s, uintptr_t lo, uintptr_t hi);

/* ---- the conservative test -------------------------------------------- */

/* The slot byte of an object is (hopefully) in cache: marks the object if
 * it is allocated and not marked yet, and queues it for scanning. */
static inline void mark_slot(drainer *w, cgc__span *s, uint32_t idx)
{
    uint8_t *mb = &s->marks[idx];
    if (*mb != CGC_SLOT_ALLOCATED)
        return;   /* free, or marked already */
    *mb = CGC_SLOT_ALLOCATED | CGC_SLOT_MARKED;
    uint64_t size = s->elemsize;
    w->marked_bytes += size;
    /* Atomic and callback kinds share the bit that says "not scanned":
     * a scanned object costs one test, as before there were callbacks. */
    uintptr_t base = s->start + (uintptr_t)idx * size;
    if (!(s->kind & CGC_KIND_NOSCAN)) {
        if (LIKELY(s->state == CGC_SPAN_SMALL))
            push(w, base, entry_tag(s));
        else
            push_large(w, s, base, base + size);
    } else if (UNLIKELY(s->kind == CGC_KIND_PROC)) {
        push(w, base, entry_proc(s));
    }
}

/* The slot of span s that v points into, or -1 (unused tail, free span). */
static inline int64_t slot_of(const cgc__span *s, uintptr_t v)
{
    /* Acquire (a plain load on x86 and in effect on AArch64's dependent
     * reads): during a concurrent mark a span may be carved while a marker
     * looks at it, and its state is published last (alloc.c, pageheap.c),
     * so the fields read after it are the new span's. */
    uint8_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    if (LIKELY(state == CGC_SPAN_SMALL)) {
        uint32_t idx = cgc__span_index(s, v);
        return idx < s->nelems ? (int64_t)idx : -1;
    }
    return state == CGC_SPAN_LARGE ? 0 : -1;
}

/* The candidate pipeline: one ring of PIPE_SIZE entries in which a
 * candidate moves through two stages as later ones arrive. Inserted with
 * its span header prefetched; PIPE_STAGE insertions later (stage 1) the
 * header is read, the slot found and its state byte prefetched; PIPE_STAGE
 * insertions after that (stage 2) the byte is read and the object marked.
 * The ring is a local of the draining function, empty when it returns. */
static inline void stage1(drainer *w, pipe_entry *p)
{
    cgc__span *s = p->s;
    int64_t i = slot_of(s, p->v);
    if (i < 0) {
        p->s = NULL;
        return;
    }
    p->v = (uintptr_t)i;   /* from now on: the slot index */
    __builtin_prefetch(&s->marks[i], 1);
}

static inline void stage2(drainer *w, pipe_entry *p)
{
    if (p->s)
        mark_slot(w, p->s, (uint32_t)p->v);
}

static inline __attribute__((always_inline)) void candidate_push(drainer *w, uintptr_t v, cgc__span *s)
{
    __builtin_prefetch(s);
    pipe_entry *ring = w->ring;
    /* Advance the older entries first: at most PIPE_STAGE wait for each
     * stage, so the slot taken below is free. */
    if (w->pt - w->pa >= PIPE_STAGE)
        stage1(w, &ring[w->pa++ & (PIPE_SIZE - 1)]);
    if (w->pa - w->pb > PIPE_STAGE)
        stage2(w, &ring[w->pb++ & (PIPE_SIZE - 1)]);
    pipe_entry *p = &ring[w->pt++ & (PIPE_SIZE - 1)];
    p->v = v;
    p->s = s;
}

/* Empties the pipeline (which may push objects on the stack). */
static inline void flush_pipeline(drainer *w)
{
    pipe_entry *ring = w->ring;
    while (w->pa != w->pt)
        stage1(w, &ring[w->pa++ & (PIPE_SIZE - 1)]);
    while (w->pb != w->pa)
        stage2(w, &ring[w->pb++ & (PIPE_SIZE - 1)]);
    w->pt = w->pa = w->pb = 0;
}

/* cgc__span_of for a word already known to lie within the heap bounds
 * (the caller's range test): the same radix walk without testing the bounds
 * again, which cost a reload of both globals per word (the compiler cannot
 * keep them in registers across the mark-byte stores). */
static inline cgc__span *span_in_heap(uintptr_t v)
{
    return cgc__span_in_heap(v);
}

/* One word of a scanned range. Words that point into the heap go through
 * the pipeline (the span header and slot byte of a new object are two
 * cache misses before its contents; the pipeline overlaps them with the
 * work on other candidates instead of stalling on each). Neighbouring
 * pointers tend to point into the same span, so the last span found is
 * remembered and the pipeline skipped when v falls in it. */
static inline __attribute__((always_inline)) CGC_NO_ASAN void scan_word(drainer *w, uintptr_t v)
{
    if (v - w->last_start < w->last_len) {
        /* Same span as the last pointer: its header is in cache, and
         * objects allocated together (trees, lists) are usually marked
         * in allocation order, so the slot byte is close too. Going
         * straight to it keeps depth-first order, which the pipeline
         * would scramble (measured: binary-trees marked 2x slower). */
        int64_t i = slot_of(w->last, v);
        if (i >= 0)
            mark_slot(w, w->last, (uint32_t)i);
        return;
    }
    cgc__span *s = span_in_heap(v);
    if (!s)
        return;
    if (s == w->last) {
        /* The second pointer into a span whose header was only
         * prefetched so far: read it now and remember its bounds.
         * Reading it at the first pointer stalled on every new span
         * (14% of the churn mark was that one load). */
        w->last_start = s->start;
        w->last_len = (uintptr_t)s->npages << CGC_PAGE_SHIFT;
        int64_t i = slot_of(s, v);
        if (i >= 0)
            mark_slot(w, s, (uint32_t)i);
        return;
    }
    w->last = s;
    w->last_len = 0;
    candidate_push(w, v, s);
}

/* Scans the words of [lo, hi) (lo word-aligned). Most words of most
 * objects are not heap pointers; findptr.c skips them, four at a time. The
 * reads of [lo, hi) are conservative (stacks, data segments): not checked
 * by ASan (CGC_NO_ASAN, as on everything that inlines this). */
static inline __attribute__((always_inline)) CGC_NO_ASAN void scan_range(drainer *w, uintptr_t lo, uintptr_t hi)
{
    const uintptr_t hlo = w->hlo, hlen = w->hlen;
    const uintptr_t *p = (const uintptr_t *)lo;
    if (hi - lo == 16) {
        /* The smallest objects (list and tree nodes): no loop to set up. */
        uintptr_t v0 = p[0], v1 = p[1];
        if (v0 - hlo < hlen)
            scan_word(w, v0);
        if (v1 - hlo < hlen)
            scan_word(w, v1);
        return;
    }
    const uintptr_t *end = (const uintptr_t *)(hi & ~(uintptr_t)(sizeof(uintptr_t) - 1));
    const cgc__find_fn find = w->find;
    for (;;) {
        p = find(p, end, hlo, hlen);
        if (p == end)
            return;
        scan_word(w, *p++);
    }
}

/* Scans a range of many words (a root chunk, a piece of a large object)
 * in batches instead of through the candidate pipeline: the heap words of
 * BATCH words are looked up with their span headers prefetched, then
 * their slots found with the state bytes prefetched, then marked. The
 * ring's per-candidate bookkeeping (stage tests, three ring indices) was a
 * third of the instructions of marking a table of pointers (churn: 86
 * instructions a pointer); in batches the same latency is hidden by the
 * other words of the batch. */
#define BATCH 32
static inline __attribute__((always_inline)) CGC_NO_ASAN void scan_chunk(drainer *w, uintptr_t lo, uintptr_t hi)
{
    const uintptr_t hlo = w->hlo, hlen = w->hlen;
    const uintptr_t *p = (const uintptr_t *)lo;
    const uintptr_t *end = (const uintptr_t *)(hi & ~(uintptr_t)(sizeof(uintptr_t) - 1));
    cgc__span *sp[BATCH];
    uintptr_t vv[BATCH];
    while (p < end) {
        int n = 0;
        for (; p < end && n < BATCH; p++) {
            uintptr_t v = *p;
            if (v - hlo >= hlen)
                continue;
            cgc__span *s = span_in_heap(v);
            if (!s)
                continue;
            __builtin_prefetch(s);
            sp[n] = s;
            vv[n++] = v;
        }
        for (int i = 0; i < n; i++) {
            int64_t k = slot_of(sp[i], vv[i]);
            if (k < 0) {
                sp[i] = NULL;
                continue;
            }
            vv[i] = (uintptr_t)k;
            __builtin_prefetch(&sp[i]->marks[k], 1);
        }
        for (int i = 0; i < n; i++)
            if (sp[i])
                mark_slot(w, sp[i], (uint32_t)vv[i]);
    }
}

/* Scans [lo, hi) for a caller outside a drain (root ranges that found no
 * packet, shared entries that found no room, overflow recovery); what it
 * marks is pushed on m's stack. */
static void __attribute__((noinline)) CGC_NO_ASAN scan_now(marker *m, uintptr_t lo, uintptr_t hi)
{
    drainer w;
    pipe_entry ring[PIPE_SIZE];
    work_begin(&w, m, ring);
    scan_range(&w, lo, hi);
    flush_pipeline(&w);
    work_end(&w);
}

/* ---- marking by callback ----------------------------------------------- */

/* The layer above marks objects of kind CGC_KIND_PROC (compat/kinds.c).
 * Its callback runs on a marker thread with a drainer of its own on that
 * marker's stack; what it reports goes through cb_ctx, this thread's
 * drainer while a callback runs. The drain that popped the object has
 * stored its state first (drain), so the two never hold the same stack at
 * once. Objects the callback marks are pushed, not scanned at once: a
 * chain of such objects costs stack entries, never recursion. */
static void queue_range(uintptr_t lo, uintptr_t hi, void *arg);
static _Atomic(cgc__proc_scan_fn) proc_scan_fn;
static void (*_Atomic extra_roots_fn)(void);
static __thread drainer *cb_ctx __attribute__((tls_model("initial-exec")));
/* Set while cb_ctx is the roots phase: how a root range is taken (queued,
 * or scanned at once in a concurrent cycle's first stop). */
static __thread cgc__range_fn cb_roots __attribute__((tls_model("initial-exec")));

void cgc__set_proc_scan(cgc__proc_scan_fn fn)
{
    atomic_store(&proc_scan_fn, fn);
}

void cgc__set_extra_roots(void (*fn)(void))
{
    atomic_store(&extra_roots_fn, fn);
}

bool cgc__mark_in_callback(void)
{
    return cb_ctx != NULL;
}

/* From a concurrent cycle's first stop to its final stop: objects of the
 * callback kind are marked but not yet reported. The callback runs with
 * the world stopped (its contract, internal.h), and what it reports may lie
 * outside the heap, where no write is tracked (Guile's VM stacks, reported
 * by its thread objects' mark procedure): a report made while the program
 * runs could be stale by the end. The final stop reports every marked
 * object of that kind (mark_all_proc). Written by the collector's thread
 * between phases only. */
static bool defer_proc;

/* Object base of span s, popped or rescanned: the callback reports its
 * references (without one, it is scanned like a normal object). */
static void __attribute__((noinline)) CGC_NO_ASAN proc_scan(marker *m, const cgc__span *s, uintptr_t base)
{
    if (defer_proc)
        return;   /* marked; reported in the final stop */
    drainer w;
    pipe_entry ring[PIPE_SIZE];
    work_begin(&w, m, ring);
    cgc__proc_scan_fn fn = atomic_load_explicit(&proc_scan_fn, memory_order_relaxed);
    if (fn) {
        drainer *outer = cb_ctx;
        cb_ctx = &w;
        fn(base, (size_t)s->elemsize);
        cb_ctx = outer;
    } else {
        push(&w, base, base + s->elemsize);
    }
    flush_pipeline(&w);
    work_end(&w);
}

CGC_NO_ASAN void cgc__mark_push_word(uintptr_t v)
{
    drainer *w = cb_ctx;
    if (w && v - w->hlo < w->hlen)
        scan_word(w, v);
}

void cgc__mark_push_range(uintptr_t lo, uintptr_t hi)
{
    drainer *w = cb_ctx;
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    if (!w || lo >= hi)
        return;
    if (cb_roots) {
        /* A root range: queued as shared work or scanned at once, never
         * dropped (either may scan on the spot, onto the stack w holds). */
        work_sync(w);
        cb_roots(lo, hi, w->m);
        work_reload(w);
    } else {
        push(w, lo, hi);   /* if dropped, the object that pushed it is rescanned */
    }
}

/* The layer's extra roots, in the roots phase, on the collector's thread;
 * the ranges it reports are taken by fn, as the other roots are (roots). */
static void extra_roots(marker *m0, cgc__range_fn fn_range)
{
    void (*fn)(void) = atomic_load(&extra_roots_fn);
    if (!fn)
        return;
    drainer w;
    pipe_entry ring[PIPE_SIZE];
    work_begin(&w, m0, ring);
    cb_ctx = &w;
    cb_roots = fn_range;
    fn();
    cb_roots = NULL;
    cb_ctx = NULL;
    flush_pipeline(&w);
    work_end(&w);
}

int cgc__mark_bit(uintptr_t obj, int op)
{
    cgc__span *s = cgc__span_of(obj);
    if (!s)
        return 0;
    int64_t i = slot_of(s, obj);
    if (i < 0 || !(s->marks[i] & CGC_SLOT_ALLOCATED))
        return 0;
    int was = (s->marks[i] & CGC_SLOT_MARKED) != 0;
    if (op > 0)
        s->marks[i] |= CGC_SLOT_MARKED;
    else if (op < 0)
        s->marks[i] &= (uint8_t)~CGC_SLOT_MARKED;
    return was;
}

/* scan_now as a root callback (cgc__range_fn): arg is the marker. */
static void scan_now_fn(uintptr_t lo, uintptr_t hi, void *arg)
{
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    if (hi > lo)
        scan_now(arg, lo, hi);
}

/* ---- sharing ----------------------------------------------------------- */

/* Packets come in slabs of SLAB_PACKETS, each slab a mapping of its own
 * whose first packet is its header (the link to the next slab), so that
 * they can go back to the OS when a mark is over (packets_trim). They
 * used to come from the metadata allocator and stay in the pool for good:
 * the demo's service in concurrent mode kept 1.6 MiB of them (its assists
 * hand their stacks back in packets at every deadline), which at a 32 MiB
 * container is memory the heap could not have. */
#define SLAB_PACKETS 16

/* Puts a slab's packets (all but its header) in the pool. */
static void pool_slab(packet *slab)
{
    for (int i = SLAB_PACKETS - 1; i >= 1; i--) {
        slab[i].next = packet_pool;
        packet_pool = &slab[i];
    }
}

static packet *packet_get(void)
{
    packet *p = packet_pool;
    if (!p) {
        packet *slab = cgc__os_map(SLAB_PACKETS * sizeof *slab);
        if (!slab)
            return NULL;
        atomic_fetch_add(&cgc__mem.gc_sys, SLAB_PACKETS * sizeof *slab);
        slab->next = slabs;
        slabs = slab;
        nslabs++;
        pool_slab(slab);
        p = packet_pool;
    }
    packet_pool = p->next;
    p->n = 0;
    p->next = NULL;
    if (++in_use > peak_in_use)
        peak_in_use = in_use;
    return p;
}

static void packet_put(packet *p)
{
    p->next = packet_pool;
    packet_pool = p;
    in_use--;
}

/* With the mark over (no packet in use), the slabs beyond what the last
 * PEAKS marks used at most go back to the OS. Not all of them: churn's
 * final stop queues its roots in packets at every cycle, and mapping them
 * again in the stop (a system call and 16 page faults a slab) took its
 * median pause from 0.6-1.1 ms to 1.25-1.45 (3 runs each). A burst (the
 * demo's assists handing back a deep stack) is given back PEAKS marks
 * later. Under work_lock, or with the markers idle and no assist possible
 * (the world stopped at a mark's end). */
static void packets_trim(void)
{
    peaks[peak_at++ % PEAKS] = peak_in_use;
    peak_in_use = in_use;
    size_t want = 0;
    for (int i = 0; i < PEAKS; i++)
        want = peaks[i] > want ? peaks[i] : want;
    size_t keep_slabs = (want + SLAB_PACKETS - 2) / (SLAB_PACKETS - 1);
    if (keep_slabs < 1)
        keep_slabs = 1;
    if (nslabs <= keep_slabs || in_use)
        return;
    packet *last = slabs;
    for (size_t i = 1; i < keep_slabs; i++)
        last = last->next;
    for (packet *s = last->next, *next; s; s = next) {
        next = s->next;
        cgc__os_unmap(s, SLAB_PACKETS * sizeof *s);
        atomic_fetch_sub(&cgc__mem.gc_sys, SLAB_PACKETS * sizeof *s);
    }
    last->next = NULL;
    nslabs = keep_slabs;
    packet_pool = NULL;
    for (packet *s = slabs; s; s = s->next)
        pool_slab(s);
}

/* Moves up to half of m's stack (the oldest entries: they tend to lead to
 * the largest unexplored subgraphs) into a shared packet. The order of
 * what stays changes; any order marks the same graph. */
static void donate(marker *m)
{
    pthread_mutex_lock(&work_lock);
    packet *p = packet_get();
    if (p) {
        size_t k = m->n / 2;
        if (k > PACKET_ENTRIES)
            k = PACKET_ENTRIES;
        memcpy(p->e, m->stack, k * sizeof(entry));
        /* The k newest entries fill the hole (k <= n - k): moving the whole
         * rest down instead copied up to 16 MB in one churn mark (stacks of
         * tens of thousands of entries after a table's chunks). */
        memcpy(m->stack, m->stack + m->n - k, k * sizeof(entry));
        m->n -= k;
        p->n = k;
        p->next = work;
        __atomic_store_n(&work, p, __ATOMIC_RELEASE);
        atomic_store(&want_work, 0);
        pthread_cond_signal(&work_cv);
    }
    pthread_mutex_unlock(&work_lock);
}

/* Moves the first shared packet's entries into m's stack; work_lock held.
 * Entries are never dropped here: a packet may hold root ranges, which the
 * overflow recovery (it rescans marked objects) could not bring back, so an
 * entry that does not fit is scanned on the spot. */
static void take(marker *m)
{
    packet *p = work;
    __atomic_store_n(&work, p->next, __ATOMIC_RELEASE);
    for (size_t i = 0; i < p->n; i++) {
        entry e = p->e[i];
        if (m->n < m->cap || grow(m))
            m->stack[m->n++] = e;
        else if (entry_tagged(e) && entry_hi(e) == e.lo)
            proc_scan(m, entry_span(e), e.lo);   /* no room: mark it now */
        else
            scan_now(m, e.lo, entry_hi(e));   /* no room: scan it now */
    }
    packet_put(p);
}

/* A large range met while draining with other markers: chunks of it go
 * straight to the shared list, one chunk per packet, so the other markers
 * can start on it at once instead of waiting until this one has pushed
 * enough to donate (a 4 MiB table was otherwise handed on one chunk at a
 * time), and a marker that takes a packet holds no more than one chunk it
 * cannot share (with four a packet, the last marker busy scanned up to
 * four chunks alone). But only while the shared list holds fewer than
 * nmarkers packets, and the last packet that fits takes the whole rest of
 * the range as one entry, split again by whoever pops it: materialising
 * every chunk at once cost a 4 KiB packet per 64 KiB (1/16 of the object:
 * 65 MiB of gc_sys for 1 GiB), kept in the pool for good and counted
 * against the limit. Returns where the shared part ends: below hi if the
 * list is full or packets ran out, and the caller keeps [result, hi)
 * itself (one entry on its stack, donated like any other). */
#define SHARE_CHUNKS 1
static uintptr_t share_chunks(uintptr_t lo, uintptr_t hi)
{
    pthread_mutex_lock(&work_lock);
    const size_t limit = (size_t)nactive;
    size_t queued = 0;
    for (const packet *q = work; q && queued < limit; q = q->next)
        queued++;
    for (; lo < hi && queued < limit; queued++) {
        packet *p = packet_get();
        if (!p)
            break;
        if (queued + 1 == limit) {
            p->e[0].lo = lo;   /* the rest, in one entry */
            p->e[0].hi = hi;
            p->n = 1;
            lo = hi;
        }
        for (; lo < hi && p->n < SHARE_CHUNKS; lo += CHUNK_BYTES) {
            p->e[p->n].lo = lo;
            p->e[p->n].hi = hi - lo > CHUNK_BYTES ? lo + CHUNK_BYTES : hi;
            p->n++;
        }
        p->next = work;
        __atomic_store_n(&work, p, __ATOMIC_RELEASE);
    }
    atomic_store(&want_work, 0);
    pthread_cond_broadcast(&work_cv);
    pthread_mutex_unlock(&work_lock);
    return lo < hi ? lo : hi;
}

/* A popped range, decoded: its span if it is an object of a small span
 * (which becomes `last` while it is scanned), else NULL. */
typedef struct pending {
    uintptr_t lo, hi;
    cgc__span *s;
} pending;

/* Pops up to PREFETCH entries into b, prefetching their first lines (and
 * the span headers that scanning them will read). */
static inline __attribute__((always_inline)) int pop_batch(drainer *w, pending *b, bool share, uintptr_t piece)
{
    int n = 0;
    while (n < PREFETCH && w->top != w->stack) {
        entry e = *--w->top;
        uintptr_t hi;
        cgc__span *s = NULL;
        if (entry_tagged(e)) {
            hi = entry_hi(e);
            s = entry_span(e);
            __builtin_prefetch(s);
        } else {
            hi = e.hi;
            if (UNLIKELY(hi - e.lo > piece)) {
                uintptr_t rest = e.lo + piece;
                uintptr_t left = share ? share_chunks(rest, hi) : rest;
                if (left < hi)
                    push(w, left, hi);   /* cannot fail: a slot was just freed */
                hi = rest;
            }
        }
        __builtin_prefetch((const void *)e.lo);
        if (UNLIKELY((e.lo ^ (hi - 1)) > 63))   /* more than one line */
            for (uintptr_t l = (e.lo | 63) + 1; l < hi && l < e.lo + 256; l += 64)
                __builtin_prefetch((const void *)l);
        b[n].lo = e.lo;
        b[n].hi = hi;
        b[n].s = s;
        n++;
        /* A chunk (a root range, a piece of a large object) ends the
         * batch: work in a batch cannot be given to an idle marker, and
         * sixteen 64 KiB chunks of a table of pointers were 2-5 ms that
         * one marker finished alone while the other waited. */
        if (!s && hi - e.lo >= CHUNK_MIN)
            break;
    }
    return n;
}

/* The scan work of the current mark (bytes of ranges scanned, every
 * marker and assist): the assists' pacing reads it (assist.c). Added to
 * in steps of SCAN_PUBLISH, not per object. */
_Atomic uint64_t cgc__mark_scan_work;
#define SCAN_PUBLISH ((uint64_t)64 << 10)

static inline void publish_scan(drainer *w)
{
    atomic_fetch_add_explicit(&cgc__mark_scan_work, w->scanned, memory_order_relaxed);
    w->scanned = 0;
}

/* Pushes a popped but unscanned batch back on the stack (a bounded drain
 * stopping): the entries it was popped from. */
static void unpop(drainer *w, const pending *b, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        const pending *q = &b[i];
        if (!q->s)
            push(w, q->lo, q->hi);
        else if (q->lo == q->hi)
            push(w, q->lo, entry_proc(q->s));
        else
            push(w, q->lo, entry_tag(q->s));
    }
}

/* Drains m's stack, in batches of PREFETCH ranges: the next batch is popped
 * (and its objects prefetched) before the current one is scanned, so the
 * cache misses of one batch overlap the scanning of the other (a plain
 * depth-first pop would touch each object right after its pointer was
 * found, and stall on every one). Ranges pushed while a batch is scanned
 * are popped after the batch already in flight: any order marks the same
 * graph.
 *   drain_until: as drain, but stops (a mark assist's bounded part,
 * assist.c) once `budget` bytes are scanned or the clock passes
 * `deadline` (checked once per batch), and leaves what is left on m's
 * stack. Returns the bytes scanned. */
static CGC_NO_ASAN uint64_t drain_until(marker *m, bool share, uint64_t budget, int64_t deadline)
{
    drainer w;
    pipe_entry ring[PIPE_SIZE];
    pending batch[2][PREFETCH];
    work_begin(&w, m, ring);
    uint64_t total = 0;
    int cur = 0;
    const uintptr_t piece = budget != UINT64_MAX ? ASSIST_PIECE : CHUNK_BYTES;
    /* In a concurrent phase the shared list is kept stocked with a packet,
     * not only filled on request: the program's assists take their work
     * there, and one that finds it empty waits (cgc__mark_assist) until
     * this marker looks at want_work, once per batch. */
    const bool stock = share && __atomic_load_n(&conc_phase, __ATOMIC_RELAXED);
    if (stock)
        atomic_fetch_add_explicit(&sharing, 1, memory_order_relaxed);
    int n = pop_batch(&w, batch[cur], share, piece);
    for (;;) {
        if (n == 0) {
            /* The batch in flight was popped from an empty stack; the
             * scan since may have pushed work, and so may the pipeline. */
            flush_pipeline(&w);
            n = pop_batch(&w, batch[cur], share, piece);
            if (n == 0)
                break;
            continue;
        }
        int nn = pop_batch(&w, batch[cur ^ 1], share, piece);
        for (int i = 0; i < n; i++) {
            const pending *q = &batch[cur][i];
            w.scanned += q->hi - q->lo;
            if (UNLIKELY(q->lo == q->hi)) {
                /* An object of the callback kind (entry_proc). */
                if (q->s) {
                    work_end(&w);
                    w.marked_bytes = 0;
                    proc_scan(m, q->s, q->lo);
                    work_reload(&w);
                }
            } else if (q->s) {
                w.last = q->s;
                w.last_start = q->s->start;
                w.last_len = (uintptr_t)q->s->npages << CGC_PAGE_SHIFT;
                scan_range(&w, q->lo, q->hi);
            } else if (q->hi - q->lo < CHUNK_MIN) {
                scan_range(&w, q->lo, q->hi);
            } else {
                scan_chunk(&w, q->lo, q->hi);
            }
        }
        cur ^= 1;
        n = nn;
        if (UNLIKELY(w.scanned >= SCAN_PUBLISH)) {
            total += w.scanned;
            publish_scan(&w);
        }
        /* An assist also ends at a stop: the stop waits for its section
         * to end (threads.c), which could be the rest of the deadline,
         * up to 100 us. In churn (64 MiB live) a third of the final stops
         * find the program's thread in a cgc section. */
        if (UNLIKELY(budget != UINT64_MAX) &&
            (total + w.scanned >= budget ||
             (deadline && (cgc__now_ns() >= deadline || cgc__stop_requested())))) {
            unpop(&w, batch[cur], n);
            flush_pipeline(&w);
            break;
        }
        if (UNLIKELY(atomic_load_explicit(&want_work, memory_order_relaxed) ||
                     (stock && !__atomic_load_n(&work, __ATOMIC_RELAXED))) &&
            share && w.top - w.stack > SHARE_MIN) {
            work_sync(&w);
            donate(m);
            work_reload(&w);
        }
    }
    total += w.scanned;
    publish_scan(&w);
    work_end(&w);
    if (stock)
        atomic_fetch_sub_explicit(&sharing, 1, memory_order_relaxed);
    return total;
}

static CGC_NO_ASAN void drain(marker *m, bool share)
{
    drain_until(m, share, UINT64_MAX, 0);
}

static void take_rescan_jobs(marker *m);
static _Atomic size_t njobs;

/* Turn `spin` of a wait for another thread: spinning at first, then
 * yielding (a thread preempted on a loaded machine holds what is waited
 * for until it runs again). */
static inline void wait_turn(int spin)
{
    if (spin < 4000)
        cgc__cpu_relax();
    else
        sched_yield();
}

/* Until no assist holds a claim or work appears on the shared list. */
static void wait_assists(void)
{
    for (int spin = 0; atomic_load_explicit(&assist_claimed, memory_order_acquire) &&
                       !__atomic_load_n(&work, __ATOMIC_ACQUIRE); spin++)
        wait_turn(spin);
}

/* One marker's whole part of the phase. */
static void mark_loop(marker *m)
{
    /* Sharing also with one marker in a concurrent phase: the assists
     * take their work from the shared list (cgc__mark_assist). */
    bool par = nactive > 1 || conc_phase;
    int64_t c0 = cgc__thread_cpu_ns();
    if (atomic_load_explicit(&njobs, memory_order_relaxed))
        take_rescan_jobs(m);   /* the final stop's written pages */
    for (;;) {
        drain(m, par);
        pthread_mutex_lock(&work_lock);
        if (work) {
            take(m);
            pthread_mutex_unlock(&work_lock);
            continue;
        }
        /* CPU time is taken at every turn to idle: once the phase is over
         * the collector no longer waits for the helpers (below), so what
         * a helper reports must be complete before it can end the phase. */
        int64_t c1 = cgc__thread_cpu_ns();
        m->cpu_ns += c1 - c0;
        c0 = c1;
        idle++;
        if (idle == nactive && conc_phase &&
            atomic_load_explicit(&assist_claimed, memory_order_acquire)) {
            /* No marker has work, but an assist may hold some it took
             * from the shared list (cgc__mark_assist): what it gives back
             * belongs to this phase. Ending here left it to the final
             * stop: in churn the first stop finds one root (the table),
             * an assist takes it before the background marker wakes, and
             * one cycle in ten marked all 71 MB stopped (23-27 ms against
             * 3-5). An assist holds its claim for at most its deadline
             * plus ASSIST_WAIT_NS, so this waits briefly. */
            idle--;
            pthread_mutex_unlock(&work_lock);
            wait_assists();
            continue;
        }
        if (idle == nactive) {
            __atomic_store_n(&done, true, __ATOMIC_RELEASE);
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
            cgc__cpu_relax();
        pthread_mutex_lock(&work_lock);
        while (!work && !done)
            pthread_cond_wait(&work_cv, &work_lock);
        if (done) {
            pthread_mutex_unlock(&work_lock);
            break;
        }
        idle--;
        take(m);
        pthread_mutex_unlock(&work_lock);
        c0 = cgc__thread_cpu_ns();
    }
}

/* Waking the helpers ahead of the pause. A helper parked on phase_cv
 * sleeps, and on a VM an idle virtual CPU may be halted: the wake-up at
 * the start of a mark took 0.6-3.8 ms here (churn, 2 CPUs), while the
 * collector's thread marked alone — the slowest pauses of a run were the
 * ones where it took longest. So when heap_live comes within 1/16 of the
 * runway of the trigger (cgc__gc.prewake, set with the trigger), the
 * allocating thread wakes the helpers, which spin (yielding the CPU to
 * any runnable thread) until the phase starts, for at most
 * PREWAKE_SPIN_NS; then they sleep again until the phase starts. The cost
 * is a few ms of one CPU per cycle, spent only where a cycle is near. */
#define PREWAKE_SPIN_NS 5000000

/* The spin is collection work done outside a pause: it is reported (as the
 * program threads' sweeping is) at the end of the next cycle. */
_Atomic int64_t cgc__mark_spin_ns;

/* again: before a concurrent cycle's final stop, when it will mark with
 * every marker. The pre-wake at the trigger was for the first stop (which
 * a concurrent cycle runs without the helpers, so the next phase is still
 * the one it named), and the helpers' spin has long ended: they slept
 * through the concurrent phase, and in churn512 the final stop's marker
 * 0 did 158 of 209 rescan jobs while the helper was waking up. So they
 * are woken again, whatever the once-per-cycle rule says. */
static void prewake(bool again)
{
    if (!__atomic_load_n(&helpers_started, __ATOMIC_ACQUIRE) || __atomic_load_n(&nrunning, __ATOMIC_RELAXED) < 2)
        return;
    unsigned next = __atomic_load_n(&phase, __ATOMIC_RELAXED) + 1;
    if (!again && __atomic_load_n(&prewoken, __ATOMIC_RELAXED) == next)
        return;   /* once per cycle */
    /* A program thread, not stopped while it holds work_lock (the
     * collector takes it in the pause). */
    cgc__thread *self = cgc__enter_self();
    pthread_mutex_lock(&work_lock);
    if (again || prewoken != phase + 1) {
        __atomic_store_n(&prewoken, phase + 1, __ATOMIC_RELAXED);
        prewake_gen++;
        pthread_cond_broadcast(&phase_cv);
    }
    pthread_mutex_unlock(&work_lock);
    cgc__leave_self(self);
}

void cgc__mark_prewake(void)
{
    prewake(false);
}

/* Called by the collector's thread. */
void cgc__mark_prewake_final(void)
{
    prewake(true);
}

static void *helper_main(void *arg)
{
    marker *m = arg;
    char name[16];
    snprintf(name, sizeof name, "cgc-marker-%d", m->id);
    cgc__name_thread(name);
    cgc__block_signals();
    atomic_fetch_add_explicit(&helpers_up, 1, memory_order_release);
    unsigned seen = m->start_phase, spun = 0;
    for (;;) {
        pthread_mutex_lock(&work_lock);
        while (phase == seen) {
            if (prewoken == seen + 1 && spun != prewake_gen) {
                spun = prewake_gen;   /* one spin per pre-wake */
                pthread_mutex_unlock(&work_lock);
                int64_t t0 = cgc__now_ns(), c0 = cgc__thread_cpu_ns();
                while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) == seen &&
                       cgc__now_ns() - t0 < PREWAKE_SPIN_NS) {
                    for (int i = 0; i < 64; i++)
                        cgc__cpu_relax();
                    sched_yield();
                }
                atomic_fetch_add_explicit(&cgc__mark_spin_ns, cgc__thread_cpu_ns() - c0,
                                          memory_order_relaxed);
                pthread_mutex_lock(&work_lock);
                continue;
            }
            pthread_cond_wait(&phase_cv, &work_lock);
        }
        seen = phase;
        pthread_mutex_unlock(&work_lock);
        mark_loop(m);
        pthread_mutex_lock(&work_lock);
        helpers_running--;
        pthread_cond_broadcast(&phase_cv);
        pthread_mutex_unlock(&work_lock);
    }
    return NULL;
}

void cgc__mark_init(int n)
{
    cgc__findptr_init();
    if (n < 1)
        n = 1;
    if (n > MAX_MARKERS)
        n = MAX_MARKERS;
    /* Each marker on its own cache lines: they are written constantly. */
    uint8_t *raw = cgc__meta_alloc(sizeof(marker) * (size_t)(n + NASSIST) + 128, &cgc__mem.gc_sys);
    markers = raw ? (marker *)(((uintptr_t)raw + 127) & ~(uintptr_t)127) : NULL;
    if (!markers)
        cgc__fatal("out of memory for %d markers' state", n);
    nmarkers = n;
    nslots = n + NASSIST;
    for (int i = 0; i < nslots; i++)
        markers[i].id = i;
}

/* fork: no mark is under way (the caller holds the collection lock), so the
 * helpers are parked on phase_cv, or a straggler of the last phase is about
 * to take work_lock (held here) to say it is back. In the child they do not
 * exist: the phase counter restarts at 0 (a helper created later waits for
 * a phase other than 0), none is running, and the next collection creates
 * them again. */
void cgc__mark_fork(int stage)
{
    /* marks_lock before work_lock, released in reverse */
    if (stage == CGC_FORK_PREPARE) {
        cgc__fork_mutex(&marks_lock, stage);
        cgc__fork_mutex(&work_lock, stage);
        return;
    }
    cgc__fork_mutex(&work_lock, stage);
    cgc__fork_mutex(&marks_lock, stage);
    if (stage == CGC_FORK_CHILD) {
        pthread_cond_init(&work_cv, NULL);
        pthread_cond_init(&phase_cv, NULL);
        phase = 0;
        prewoken = 0;
        helpers_running = 0;
        idle = 0;
        helpers_started = 0;
        atomic_store(&helpers_up, 0);
        nrunning = 1;
    }
}

/* Starts the helper markers that are not running yet; called before every
 * cycle with the world running (thread creation may take locks, malloc's,
 * that a stopped thread could hold) and no mark under way (the caller holds
 * the collection lock). A helper that cannot be created is tried again
 * next cycle; meanwhile the markers that exist do its part (fewer markers
 * is slower, not wrong). A new helper waits for the phase after the
 * current one: it must not take a phase already started or ended. */
void cgc__mark_prepare(void)
{
    if (__atomic_load_n(&nrunning, __ATOMIC_RELAXED) == nmarkers)
        return;
    for (int i = nrunning; i < nmarkers; i++) {
        markers[i].start_phase = phase;
        if (cgc__start_thread(&markers[i].thread, helper_main, &markers[i]) != 0)
            break;
        __atomic_store_n(&nrunning, i + 1, __ATOMIC_RELAXED);
    }
    /* Each new helper must be in helper_main before any stop: a phase
     * waits for every running helper, and a thread still in its start-up
     * (the C library's, a sanitizer's) may need a lock that a program
     * thread holds, or is waiting in line for, when the world stops. Seen
     * under AddressSanitizer: the program's thread was stopped waiting for
     * the sanitizer's thread-registry lock, the new helper waited for the
     * same lock in its start-up, and the stop-the-world mark waited for
     * the helper (test_threads hung in 9 of 80 runs). Here nothing is
     * stopped, so the start-up ends. Once per helper's life. */
    while (atomic_load_explicit(&helpers_up, memory_order_acquire) < __atomic_load_n(&nrunning, __ATOMIC_RELAXED) - 1)
        nanosleep(&(struct timespec){.tv_nsec = 20000}, NULL);
    __atomic_store_n(&helpers_started, 1, __ATOMIC_RELEASE);
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
                scan_now(m, lo, end);
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
static void mark_uncollectable(drainer *w, cgc__span *s)
{
    if (s->kind != CGC_KIND_UNCOLLECTABLE)
        return;
    for (uint32_t i = 0; i < s->nelems; i++)
        mark_slot(w, s, i);
}

/* Every uncollectable span is on its class's central lists (they are never
 * cached) or, if large, on the large lists: walking those instead of every
 * span in the heap keeps the pause from touching each span header once. */
static void mark_all_uncollectable(marker *m)
{
    drainer w;
    pipe_entry ring[PIPE_SIZE];
    work_begin(&w, m, ring);
    for (int c = 0; c < cgc__nclasses; c++) {
        const cgc__central *cen = &cgc__centrals[c * CGC_NKINDS + CGC_KIND_UNCOLLECTABLE];
        cgc__span *lists[4] = {cen->partial, cen->full, cen->unswept[0], cen->unswept[1]};
        for (int l = 0; l < 4; l++)
            for (cgc__span *s = lists[l]; s; s = s->next)
                mark_uncollectable(&w, s);
    }
    /* World stopped: no lock needed to read the count. Without it, a heap
     * of many large pointer-free objects paid a cache miss per span header
     * here (1% of the soft-limit churn's CPU). */
    if (cgc__large_uncollectable) {
        for (cgc__span *s = cgc__large_swept; s; s = s->next)
            mark_uncollectable(&w, s);
        for (cgc__span *s = cgc__large_unswept; s; s = s->next)
            mark_uncollectable(&w, s);
    }
    work_end(&w);
}

/* The final stop of a concurrent cycle: every marked object of the
 * callback kind is queued for its callback (defer_proc). Such objects are
 * never cached (alloc.c): they are on their classes' central lists or, if
 * large, on the large lists. Returns how many were queued. */
static size_t mark_all_proc(marker *m)
{
    drainer w;
    pipe_entry ring[PIPE_SIZE];
    work_begin(&w, m, ring);
    size_t n = 0;
    for (int c = 0; c < cgc__nclasses; c++) {
        const cgc__central *cen = &cgc__centrals[c * CGC_NKINDS + CGC_KIND_PROC];
        cgc__span *lists[4] = {cen->partial, cen->full, cen->unswept[0], cen->unswept[1]};
        for (int l = 0; l < 4; l++)
            for (cgc__span *s = lists[l]; s; s = s->next)
                for (uint32_t i = 0; i < s->nelems; i++)
                    if (s->marks[i] & CGC_SLOT_MARKED) {
                        push(&w, s->start + (uintptr_t)i * s->elemsize, entry_proc(s));
                        n++;
                    }
    }
    /* The large lists only when a layer marks by callback: without one,
     * no object of that kind exists. */
    if (atomic_load_explicit(&proc_scan_fn, memory_order_relaxed)) {
        cgc__span *lists[2] = {cgc__large_swept, cgc__large_unswept};
        for (int l = 0; l < 2; l++)
            for (cgc__span *s = lists[l]; s; s = s->next)
                if (s->kind == CGC_KIND_PROC && (s->marks[0] & CGC_SLOT_MARKED)) {
                    push(&w, s->start, entry_proc(s));
                    n++;
                }
    }
    work_end(&w);
    return n;
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
            if (s->kind == CGC_KIND_PROC)
                proc_scan(m, s, base);
            else
                scan_now(m, base, base + s->elemsize);
            drain(m, false);
        }
    }
}

/* Overflow recovery, single-threaded: rare, and each pass marks at least
 * one more level of the graph, so it ends. Returns the passes it took. */
static int recover_overflows(marker *m0)
{
    int overflows = 0;
    for (;;) {
        bool any = false;
        for (int i = 0; i < nslots; i++) {
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
    return overflows;
}

/* A helper may still be on its way out of the last phase (it was
 * descheduled after the end): it must be back before the shared state is
 * reset. By now it always is, but for a thread the OS never ran. */
static void wait_helpers_back(void)
{
    pthread_mutex_lock(&work_lock);
    while (helpers_running > 0)
        pthread_cond_wait(&phase_cv, &work_lock);
    pthread_mutex_unlock(&work_lock);
}

static void reset_markers(void)
{
    for (int i = 0; i < nslots; i++) {
        markers[i].n = 0;
        markers[i].overflowed = false;
        markers[i].last = NULL;
        markers[i].last_start = markers[i].last_len = 0;
        markers[i].marked_bytes = 0;
        markers[i].cpu_ns = 0;
    }
}

/* The roots: the stacks of stopped threads, our own stack (registers
 * spilled by __builtin_unwind_init), data/bss, TLS, registered ranges,
 * finalizer records. World stopped. */
static void __attribute__((noinline)) roots(marker *m0, cgc__range_fn fn)
{
    __builtin_unwind_init();
    volatile uintptr_t here = 0;
    cgc__thread *me = cgc__self;
    if (me)
        cgc__record_stack(me, (uintptr_t)&here, &me->stack_lo, &me->alt_lo, &me->alt_hi);
    for (cgc__thread *t = cgc__threads; t; t = t->next) {
        if (t->stack_lo < t->stack_hi)
            fn(t->stack_lo, t->stack_hi, m0);
        if (t->alt_lo < t->alt_hi)   /* the used part of an alternate signal stack */
            fn(t->alt_lo, t->alt_hi, m0);
    }
    cgc__roots_foreach(fn, m0);
    (void)here;
}

/* One phase of marking: the collector's thread is marker 0, with the
 * helpers if `all` (world stopped), alone otherwise. When the last marker
 * turns idle the graph is marked: every helper has stored its results
 * (drain's work_end, its CPU time) before turning idle, and touches nothing
 * after it but the work lock, so the pause does not wait for the helpers to
 * be scheduled again and leave (under load that wait was a scheduler time
 * slice). */
static void run_phase_n(marker *m0, int n)
{
    wait_helpers_back();
    pthread_mutex_lock(&work_lock);
    idle = 0;
    done = false;
    atomic_store(&want_work, 0);
    nactive = n < 1 ? 1 : n > nrunning ? nrunning : n;
    if (nactive > 1) {
        helpers_running = nactive - 1;
        __atomic_store_n(&phase, phase + 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&phase_cv);
    }
    pthread_mutex_unlock(&work_lock);
    mark_loop(m0);
}

static void run_phase(marker *m0, bool all)
{
    run_phase_n(m0, all ? nrunning : 1);
}

static void result(cgc__mark_result *out, int overflows)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < nslots; i++) {
        out->marked_bytes += markers[i].marked_bytes;
        out->cpu_ns += markers[i].cpu_ns;
    }
    out->overflows = overflows;
}

/* After a mark, with the world running again: the markers' stacks and the
 * packets beyond what recent marks needed go back to the OS. Not in the
 * stop: each unmap flushes the TLB of every CPU the process runs on, and
 * in churn (64 MiB live) the stop's trims took 25-440 us of a final stop
 * of 0.2-1.2 ms. Nothing uses either until the next mark: the collector
 * holds gc_lock, the helpers are back, and an assist finds cgc__marking
 * clear. */
void cgc__mark_trim(void)
{
    shrink_stacks();
    pthread_mutex_lock(&work_lock);
    packets_trim();
    pthread_mutex_unlock(&work_lock);
}

void __attribute__((noinline)) cgc__mark(cgc__mark_result *out)
{
    marker *m0 = &markers[0];
    wait_helpers_back();
    reset_markers();
    int64_t c0 = cgc__thread_cpu_ns();
    roots(m0, queue_range);
    extra_roots(m0, queue_range);
    mark_all_uncollectable(m0);
    m0->cpu_ns += cgc__thread_cpu_ns() - c0;
    run_phase(m0, true);
    result(out, recover_overflows(m0));
}

/* ---- the mostly-concurrent mark (collect.c, docs/concurrent.md) -------- */

static void give_back(marker *m);

/* While set (from the first stop of a concurrent cycle to its final stop),
 * objects are allocated black (alloc.c) and cgc_free is deferred. */
_Atomic int cgc__marking;
/* Bytes allocated black in this cycle (a part of the marked total). */
_Atomic uint64_t cgc__mark_black_bytes;

/* The first stop: marks what the roots point to; the objects it marks wait
 * on marker 0's stack for the concurrent phase. The roots are scanned now,
 * not queued: a stack or a library's data may be gone once the program
 * runs again. World stopped, caches flushed, cgc__marking set. */
void cgc__mark_start(void)
{
    marker *m0 = &markers[0];
    wait_helpers_back();
    reset_markers();
    atomic_store(&cgc__mark_black_bytes, 0);
    atomic_store(&cgc__mark_scan_work, 0);
    int64_t c0 = cgc__thread_cpu_ns();
    defer_proc = true;
    hot_check();
    roots(m0, scan_now_fn);
    extra_roots(m0, scan_now_fn);
    mark_all_uncollectable(m0);
    /* On the shared list, not on marker 0's stack: the program's assists
     * can take it from the start, whether or not the collector's thread
     * is running yet. */
    give_back(m0);
    m0->cpu_ns += cgc__thread_cpu_ns() - c0;
}

/* The markers of a phase with the world running (the concurrent mark,
 * pre-cleaning): the background budget, a quarter of the usable CPUs
 * rounded to the nearest whole marker, at least one (the collector's
 * thread; on 2 CPUs, half the machine: docs/pacing.md "Concurrent mark"
 * says why not a fractional marker). The rest of the marking is the
 * allocating threads' (assists). */
static int conc_markers(void)
{
    int ncpu = cgc__cfg.ncpu > 0 ? cgc__cfg.ncpu : 1;
    int n = (ncpu + 2) / 4;
    return n < 1 ? 1 : n;
}

/* World running: the background markers drain what the first stop found
 * and everything it leads to, with the assists' help. */
void cgc__mark_concurrent(void)
{
    conc_phase = true;
    run_phase_n(&markers[0], conc_markers());
    conc_phase = false;
}

/* ---- pages written during the mark ---- */

typedef struct rescan_ctx {
    drainer *w;
    bool fresh;        /* also scan slots cached spans handed out (not yet black) */
    int shadow;        /* SHADOW_COPY (a pre-cleaning round) or SHADOW_COMPARE (the final stop) */
    uint64_t pages;
} rescan_ctx;

static size_t os_page_size;

/* ---- shadows of large pointer arrays ----
 *
 * A page-granular tracker sees a table of pointers written at random (a
 * hash table, churn's slots) as written all over in every round: its
 * pages are dirty again before a round ends, and the final stop rescanned
 * the whole table, a lookup per word (churn512: its 32 MiB table, 40-47
 * ms of a 47 ms stop). But the words written during the last round are
 * few (churn512: 2-4% of them). So a pre-cleaning round that rescans a
 * written page of a large object copies the page first and scans the
 * copy (a later round compares the page with the copy and copies and
 * scans only what changed: shadow_copy), and the final stop compares each
 * written page with its copy and scans only the words that differ.
 *
 * Why that marks everything: a round collects the page (the kernel
 * protects it again) and then copies it, so any write after the copy
 * started is reported by a later collect. A word equal to the copy holds
 * the value the round scanned (whatever happened in between), whose
 * target is marked; a word that differs is scanned now, with the world
 * stopped. A page the final stop finds written without a copy from this
 * cycle (its object was marked after the round, the copy could not be
 * mapped) is scanned whole, as before. A torn copy of a word written
 * during the memcpy holds some value: scanned, it can only keep extra
 * objects, and the live word, which differs, is scanned at the end.
 *
 * Only for marked large objects of at least SHADOW_MIN_BYTES (scanned
 * conservatively), at most SHADOW_MAX of them a cycle; the copies are
 * counted in gc_sys while they exist, from the first round that copies
 * to the end of the cycle.
 *   A round's rescans run on several threads (jobs, below: the markers
 * and the program's assists), each on pages of its own (a round reports
 * a page once), so they share only the table of copies, the valid words
 * and the counts of changed pages: a copy is added to the table under
 * shadow_lock and published by the count (entries are never changed
 * while a round runs), the valid bits are set and cleared atomically,
 * and changed is added to atomically. No lock is held while a page is
 * copied: with the copies made under one (shadow_lock around each job's
 * part), an assist waited 15-92 ms for it in churn512 while the
 * collector's thread took it again and again for the table's 128 jobs. */
#define SHADOW_COPY 1
#define SHADOW_COMPARE 2
#define SHADOW_MIN_BYTES ((uintptr_t)1 << 20)
#define SHADOW_MAX 16

typedef struct shadow {
    cgc__span *s;
    uintptr_t base;       /* s->start */
    uint8_t *copy;        /* len bytes, then the valid bitmap */
    uint64_t *valid;      /* bit per OS page: copied in a round of this cycle */
    size_t len, maplen;
    /* OS pages the current round found changed since the round before
     * (compared with a copy; reset by the collector before each round),
     * and the most in any round of this cycle: whether the object is
     * hot (below). */
    size_t changed, most;
} shadow;

/* In metadata (mapped by the first shadow_make), like hot_base: both hold heap addresses,
 * and cgc's globals are scanned as roots. In globals, the start of a
 * table once copied (shadow.base, hot_base) stayed there after its cycle
 * and kept it alive for good, and everything it pointed to: with every
 * cycle concurrent, a 64 MiB graph dropped by the program was never
 * freed (test_mark_mode). */
static shadow *shadows;   /* SHADOW_MAX */
static int nshadows;   /* published with a release store (shadow_of) */
static pthread_mutex_t shadow_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic uint64_t cgc__mark_shadow_words_skipped;   /* for the tests: words the final stop found unchanged */

/* The copies of the objects found hot at the end of the last cycle, kept
 * mapped for their copies in this one (cgc__mark_shadows_release): a new
 * mapping is a page fault per page when the copy is made, and the copy
 * of a hot object is made before the first stop, while the program eats
 * its runway (churn, 4 MiB: 1.8 ms of the trigger-to-first-stop time with
 * a new mapping, 1.1 ms with the kept one). Counted in gc_sys all along. */
static uint8_t *kept_map[SHADOW_MAX];
static size_t kept_len[SHADOW_MAX];
static int nkept;

/* Whether what the limit counts, plus `more`, stays below 15/16 of the
 * limit in force (a container's hard limit included), or there is none. */
static bool below_limit(uint64_t more)
{
    cgc__limit_bounds_t lb;
    cgc__limit_bounds(&lb);
    return lb.effective_limit < 0 || lb.effective_limit == INT64_MAX ||
           cgc__mapped_bytes() + more <= (uint64_t)lb.effective_limit - (uint64_t)lb.effective_limit / 16;
}

static shadow *shadow_find(const cgc__span *s)
{
    int n = __atomic_load_n(&nshadows, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (shadows[i].s == s && shadows[i].base == s->start)
            return &shadows[i];
    return NULL;
}

/* A new copy for s, or NULL; shadow_lock held (or the collector's thread
 * alone). */
static shadow *shadow_make(cgc__span *s)
{
    if (!shadows)
        shadows = cgc__meta_alloc(SHADOW_MAX * sizeof *shadows, &cgc__mem.gc_sys);
    if (!shadows || nshadows == SHADOW_MAX)
        return NULL;   /* the pages are scanned whole, as without shadows */
    size_t len = (size_t)s->npages << CGC_PAGE_SHIFT;
    size_t bits = len / os_page_size;
    size_t maplen = (len + (bits + 63) / 64 * 8 + CGC_PAGE_SIZE - 1) & ~(size_t)(CGC_PAGE_SIZE - 1);
    /* Memory first, pause second: no copy that would bring what the limit
     * counts within 1/16 of the limit in force (a container's hard limit
     * included), nor copies past a quarter of the live heap in one cycle.
     * Without one the object's written pages are rescanned whole, as
     * before: a longer final stop, no more memory. */
    int k = 0;
    while (k < nkept && kept_len[k] != maplen)
        k++;
    uint64_t copies = 0;
    for (int i = 0; i < nshadows; i++)
        copies += shadows[i].maplen;
    if (!below_limit(k < nkept ? 0 : maplen))   /* a kept copy is counted already */
        return NULL;
    if (copies + maplen > atomic_load(&cgc__gc.heap_live) / 4)
        return NULL;
    uint8_t *m;
    if (k < nkept) {
        m = kept_map[k];
        kept_map[k] = kept_map[--nkept];
        kept_len[k] = kept_len[nkept];
        memset(m + len, 0, maplen - len);   /* no page valid yet */
    } else {
        m = cgc__os_map(maplen);   /* zeroed: no page valid yet */
        if (!m)
            return NULL;   /* the pages are scanned whole, as without shadows */
        atomic_fetch_add(&cgc__mem.gc_sys, maplen);
    }
    shadow *sh = &shadows[nshadows];
    *sh = (shadow){.s = s, .base = s->start, .copy = m, .valid = (uint64_t *)(m + len), .len = len, .maplen = maplen};
    __atomic_store_n(&nshadows, nshadows + 1, __ATOMIC_RELEASE);
    return sh;
}

static shadow *shadow_of(cgc__span *s, bool create)
{
    shadow *sh = shadow_find(s);
    if (sh || !create)
        return sh;
    pthread_mutex_lock(&shadow_lock);
    sh = shadow_find(s);   /* another thread's job may have made it */
    if (!sh)
        sh = shadow_make(s);
    pthread_mutex_unlock(&shadow_lock);
    return sh;
}

/* End of a concurrent cycle (world running): the copies go, and the
 * objects that are hot in the next cycle are chosen.
 *
 * Hot: a round found at least half the object's pages changed since the
 * round before. Such a table is written all over faster than a round
 * goes by (churn's: 1,000 random slots a millisecond over 1,024 pages),
 * and protecting it again at the arm and at every round bought a fault
 * per page each time and nothing else: 77k of churn's 140k write faults
 * (64 MiB live), all while the mark ran and the program was paying for
 * it. So the tracker leaves a hot object unprotected (dirty.h) through
 * the concurrent phase and the rounds, which compare it with its copy
 * as before (all its pages, changed or not: one pass over memory), and
 * protects it once, after the last round (cgc__mark_preclean_seal), so
 * that the final stop compares only the pages written since. An object
 * stops being hot when no round of a cycle finds half of it changed, or
 * when no copy of it was made (freed, or no memory for one). */
void cgc__mark_shadows_release(void)
{
    uintptr_t lo[SHADOW_MAX], hi[SHADOW_MAX];
    int nhot = 0;
    /* Kept from the last cycle and not taken again: their objects were
     * not hot enough, or not marked, this time. */
    for (int i = 0; i < nkept; i++) {
        cgc__os_unmap(kept_map[i], kept_len[i]);
        atomic_fetch_sub(&cgc__mem.gc_sys, kept_len[i]);
    }
    nkept = 0;
    if (nshadows && !hot_base)
        hot_base = cgc__meta_alloc(CGC__DIRTY_HOT_MAX * sizeof *hot_base, &cgc__mem.gc_sys);
    for (int i = 0; i < nshadows; i++) {
        shadow *sh = &shadows[i];
        if (sh->s && hot_base && sh->most * 2 >= sh->len / os_page_size) {
            hot_span[nhot] = sh->s;
            hot_base[nhot] = sh->base;
            lo[nhot] = sh->base;
            hi[nhot++] = sh->base + sh->len;
            if (below_limit(0)) {
                kept_map[nkept] = sh->copy;
                kept_len[nkept++] = sh->maplen;
                continue;
            }
        }
        cgc__os_unmap(sh->copy, sh->maplen);
        atomic_fetch_sub(&cgc__mem.gc_sys, sh->maplen);
    }
    nshadows = 0;
    for (int i = 0; i < CGC__DIRTY_HOT_MAX; i++)
        hot_shadow[i] = NULL;   /* unmapped or kept above */
    nhot_spans = nhot;
    cgc__dirty_set_hot(lo, hi, nhot);
}

/* Compares the n words of a whole page, `live`, with its copy, a block of
 * SHADOW_BLOCK words at a time: a block equal to its copy (most of them:
 * churn512 rewrites 2-4% of its table's words in a round) costs one test,
 * and the loop stays at the speed of memory. A word that differs extends
 * the pending run of words to scan (*run, 0 if none), a word equal to its
 * copy ends it and queues it; runs are addresses in `at`, the page itself
 * or its copy. With `update` (a pre-cleaning round: the program may be
 * writing the page) the page is read with relaxed atomic loads and the
 * copy takes the words that differ. Returns the words equal to the copy.
 * n is a multiple of the block. */
#define SHADOW_BLOCK 8

static inline CGC_NO_ASAN uint64_t compare_page(drainer *w, const uintptr_t *live, uintptr_t *copy, size_t n,
                                                bool update, const uintptr_t *at, uintptr_t *run)
{
    uint64_t same = 0;
    for (size_t i = 0; i < n; i += SHADOW_BLOCK) {
        uintptr_t v[SHADOW_BLOCK], diff = 0;
        for (int k = 0; k < SHADOW_BLOCK; k++) {
            v[k] = update ? __atomic_load_n(&live[i + k], __ATOMIC_RELAXED) : live[i + k];
            diff |= v[k] ^ copy[i + k];
        }
        if (!diff) {
            same += SHADOW_BLOCK;
            if (*run) {
                push(w, *run, (uintptr_t)&at[i]);
                *run = 0;
            }
            continue;
        }
        for (int k = 0; k < SHADOW_BLOCK; k++) {
            if (v[k] != copy[i + k]) {
                if (update)
                    copy[i + k] = v[k];
                if (!*run)
                    *run = (uintptr_t)&at[i + k];
            } else {
                same++;
                if (*run) {
                    push(w, *run, (uintptr_t)&at[i + k]);
                    *run = 0;
                }
            }
        }
    }
    return same;
}

/* Copies [p, e), within one OS page of sh's object, to its copy, a
 * relaxed load a word (a word written meanwhile is copied old or new);
 * the page is valid if that was all of it. */
static CGC_NO_ASAN void copy_page(shadow *sh, uintptr_t p, uintptr_t e)
{
    size_t off = p - sh->base, pg = off / os_page_size;
    const uintptr_t *live = (const uintptr_t *)p;
    uintptr_t *to = (uintptr_t *)(sh->copy + off);
    for (size_t i = 0; i < (e - p) / sizeof(uintptr_t); i++)
        to[i] = __atomic_load_n(&live[i], __ATOMIC_RELAXED);
    /* Atomically: another job may be copying another page of the word. */
    if (e - p == os_page_size)
        __atomic_fetch_or(&sh->valid[pg / 64], (uint64_t)1 << (pg % 64), __ATOMIC_RELAXED);
    else
        __atomic_fetch_and(&sh->valid[pg / 64], ~((uint64_t)1 << (pg % 64)), __ATOMIC_RELAXED);
}

/* A pre-cleaning round: the written pages [a, b) of a marked large object.
 * A page copied in an earlier round of this cycle is compared with its
 * copy, and only the words that differ are copied and queued (from the
 * copy); any other page is copied whole and queued whole. So a table
 * written all over costs a round one pass over it and its copy, not a scan
 * of every word: rounds stay short, and fewer pages are written again
 * before the final stop (churn512: its 32 MiB table took a round 30 ms to
 * rescan, long enough for the program to write all of it again).
 *   Why the copy stays exact: a word equal to its copy holds a value an
 * earlier round queued; a word that differs is queued now, with the value
 * read. The round's phase drains the queue before the next round updates
 * the copy (mark_loop waits for the assists' claims). The reads are
 * relaxed atomic loads, word by word: the program may be writing the page,
 * and a memcpy or memcmp call would be checked (and refused) by
 * AddressSanitizer like the scan's reads are not. */
static CGC_NO_ASAN void shadow_copy(drainer *w, shadow *sh, uintptr_t a, uintptr_t b)
{
    uintptr_t run = 0;   /* start (in the copy) of a pending run of words to scan, or 0 */
    size_t changed = 0;
    for (uintptr_t p = a; p < b;) {
        uintptr_t e = (p & ~(uintptr_t)(os_page_size - 1)) + os_page_size;
        if (e > b)
            e = b;
        size_t off = p - sh->base, pg = off / os_page_size;
        bool whole = e - p == os_page_size;
        const uintptr_t *live = (const uintptr_t *)p;
        uintptr_t *to = (uintptr_t *)(sh->copy + off);
        size_t n = (e - p) / sizeof(uintptr_t);
        if (whole && (__atomic_load_n(&sh->valid[pg / 64], __ATOMIC_RELAXED) >> (pg % 64) & 1)) {
            if (compare_page(w, live, to, n, true, to, &run) < n)
                changed++;
        } else {
            copy_page(sh, p, e);
            if (!run)
                run = (uintptr_t)to;
        }
        p = e;
    }
    if (run)
        push(w, run, (uintptr_t)sh->copy + (b - sh->base));
    if (changed)
        __atomic_fetch_add(&sh->changed, changed, __ATOMIC_RELAXED);
}

/* Before a round (collector, no job running): the counts of changed pages
 * start again. After it: the most of any round kept. */
static void shadows_round_start(void)
{
    for (int i = 0; i < nshadows; i++)
        shadows[i].changed = 0;
}

static void shadows_round_end(void)
{
    for (int i = 0; i < nshadows; i++)
        if (shadows[i].changed > shadows[i].most)
            shadows[i].most = shadows[i].changed;
}

static void __attribute__((noinline)) push_large(drainer *w, cgc__span *s, uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < nhot_spans; i++)
        if (hot_span[i] == s && hot_base[i] == lo && hot_shadow[i]) {
            uintptr_t copy = (uintptr_t)hot_shadow[i]->copy;
            push(w, copy, copy + (hi - lo));
            return;
        }
    push(w, lo, hi);
}

/* Whether hot object i is still in its span: a large object of a scanned
 * kind starting where it did (it may have been freed and its span reused
 * since; cgc__marking clear, cgc_free can). */
static bool hot_in_place(int i)
{
    const cgc__span *s = hot_span[i];
    return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == CGC_SPAN_LARGE && s->start == hot_base[i] &&
           !(s->kind & CGC_KIND_NOSCAN);
}

/* The copies of this cycle's hot objects, made whole, world running,
 * after the arm and before the first stop (see push_large). An object
 * gone since (its span freed or reused) gets none; without memory for a
 * copy, it is scanned in place and the first round copies it, as before.
 * The program may free the object while it is copied (cgc__marking is
 * not set yet): arenas are never unmapped, so the copy reads mapped
 * memory, whatever it holds; the first stop drops the copy if the span
 * no longer holds a scanned object of that size (hot_check), and
 * otherwise the copy is what gets scanned, which the rounds' comparison
 * makes right whatever it holds. */
void cgc__mark_hot_copy(void)
{
    if (!os_page_size)
        os_page_size = (size_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < nhot_spans; i++) {
        cgc__span *s = hot_span[i];
        hot_shadow[i] = NULL;
        shadow *sh = hot_in_place(i) ? shadow_of(s, true) : NULL;
        if (!sh)
            continue;
        for (uintptr_t p = s->start; p < s->start + sh->len; p += os_page_size)
            copy_page(sh, p, p + os_page_size);
        hot_shadow[i] = sh;
        atomic_fetch_add_explicit(&cgc__mark_hot_copies, 1, memory_order_relaxed);
    }
}

/* The first stop, before the roots: a hot object freed since its copy was
 * made (cgc__marking was clear, so cgc_free could), and its span reused
 * for something of another size or kind, loses its copy, which must then
 * never be compared with what is there now: it was made of other
 * contents and will not be scanned. From here on no span is freed until
 * the mark ends. The same object, or another of the same size in its
 * span, keeps it: whichever is marked, its copy is what is scanned. */
static void hot_check(void)
{
    for (int i = 0; i < nhot_spans; i++) {
        const cgc__span *s = hot_span[i];
        shadow *sh = hot_shadow[i];
        if (!sh || (hot_in_place(i) && ((size_t)s->npages << CGC_PAGE_SHIFT) == sh->len && s->elemsize <= sh->len))
            continue;
        hot_shadow[i] = NULL;
        sh->s = NULL;   /* never found again (shadow_of) */
        atomic_fetch_add_explicit(&cgc__mark_hot_dropped, 1, memory_order_relaxed);
    }
}

/* The final stop: the written pages [a, b) of a marked large object, each
 * compared with its copy where it has one; runs of changed words (or
 * pages without a copy) are queued. World stopped. */
static CGC_NO_ASAN void shadow_compare(drainer *w, shadow *sh, uintptr_t a, uintptr_t b)
{
    uintptr_t run = 0;   /* start of a pending run of words to scan, or 0 */
    uint64_t same = 0;
    for (uintptr_t p = a; p < b;) {
        uintptr_t e = (p & ~(uintptr_t)(os_page_size - 1)) + os_page_size;
        if (e > b)
            e = b;
        size_t pg = (p - sh->base) / os_page_size;
        if (!(sh->valid[pg / 64] >> (pg % 64) & 1)) {
            if (!run)
                run = p;
            p = e;
            continue;
        }
        /* A valid page is whole. */
        const uintptr_t *live = (const uintptr_t *)p;
        same += compare_page(w, live, (uintptr_t *)(sh->copy + (p - sh->base)), (e - p) / sizeof(uintptr_t), false,
                             live, &run);
        p = e;
    }
    if (run)
        push(w, run, b);
    atomic_fetch_add_explicit(&cgc__mark_shadow_words_skipped, same, memory_order_relaxed);
}

/* The objects of span s overlapping [a, b) that must be scanned again:
 * marked ones (scanned before the write, or allocated black), and while
 * caches still hold spans (`fresh`, a concurrent pre-clean) the slots a
 * cache handed out during this mark: they are black once their span
 * leaves the cache, but their page is clean again after this round. A
 * slot is read racily: one allocated after the read writes its page, which
 * is then dirty again. */
static CGC_NO_ASAN void rescan_span(drainer *w, cgc__span *s, uint8_t state, uintptr_t a, uintptr_t b, bool fresh,
                                     int shadow_mode)
{
    /* An object of the callback kind is never scanned conservatively:
     * the final stop reports every marked one through the callback
     * (mark_all_proc), written or not. */
    if (s->kind == CGC_KIND_ATOMIC || s->kind == CGC_KIND_PROC)
        return;
    if (state == CGC_SPAN_LARGE) {
        /* Only the written pages of a large object. */
        if (!(__atomic_load_n(&s->marks[0], __ATOMIC_RELAXED) & CGC_SLOT_MARKED))
            return;
        shadow *sh = NULL;
        if (shadow_mode && ((uintptr_t)s->npages << CGC_PAGE_SHIFT) >= SHADOW_MIN_BYTES)
            sh = shadow_of(s, shadow_mode == SHADOW_COPY);
        if (sh && shadow_mode == SHADOW_COPY)
            shadow_copy(w, sh, a, b);
        else if (sh)
            shadow_compare(w, sh, a, b);
        else
            push(w, a, b);
        return;
    }
    uint32_t n = s->nelems;
    uint32_t i0 = cgc__span_index(s, a), i1 = cgc__span_index(s, b - 1);
    if (i0 >= n)
        return;
    if (i1 >= n)
        i1 = n - 1;
    uint32_t fi = 0;
    if (fresh && __atomic_load_n(&s->cached, __ATOMIC_ACQUIRE))
        fi = __atomic_load_n(&s->freeindex, __ATOMIC_ACQUIRE);
    uint64_t size = s->elemsize;
    for (uint32_t i = i0; i <= i1; i++) {
        uint8_t m = __atomic_load_n(&s->marks[i], __ATOMIC_RELAXED);
        if ((m & CGC_SLOT_MARKED) || (i < fi && m == 0)) {
            uintptr_t base = s->start + (uintptr_t)i * size;
            push(w, base, entry_tag(s));
        }
    }
}

/* Entries on the stack past which a rescan marks what it has queued
 * before it queues more (1 MiB of entries). Every marked object of every
 * written page was queued first: a program that wrote 20 MiB of small
 * objects during a mark grew marker 0's stack to 16 MiB of resident memory
 * (compat_real_neko: 10 MB of RSS over the stop-the-world mode's peak). */
#define RESCAN_DRAIN ((size_t)1 << 16)

static void rescan_bound(drainer *w)
{
    if ((size_t)(w->top - w->stack) < RESCAN_DRAIN)
        return;
    work_end(w);
    w->marked_bytes = 0;
    /* Pre-cleaning: shared with the assists, which would find no other
     * work while the collector rescans. */
    drain(w->m, conc_phase);
    work_reload(w);
}

/* A run of written pages (from the tracker): every span it overlaps. The
 * run may cross the gaps between arenas and pages no span holds. */
static void rescan_run(uintptr_t start, size_t npages, void *arg)
{
    rescan_ctx *c = arg;
    uintptr_t end = start + npages * os_page_size;
    c->pages += npages;
    uintptr_t hlo = cgc__heap_lo(), hhi = cgc__heap_hi;
    if (start < hlo)
        start = hlo;
    if (end > hhi)
        end = hhi;
    while (start < end) {
        uintptr_t key = start >> CGC_ARENA_SHIFT;
        cgc__arena **l2 = cgc__radix[(key >> CGC_RADIX_L2_BITS) & ((1u << CGC_RADIX_L1_BITS) - 1)];
        cgc__arena *a = l2 ? l2[key & ((1u << CGC_RADIX_L2_BITS) - 1)] : NULL;
        if (!a) {
            start = (start & ~(uintptr_t)(CGC_ARENA_SIZE - 1)) + CGC_ARENA_SIZE;
            continue;
        }
        uintptr_t page_end = (start & ~(uintptr_t)(CGC_PAGE_SIZE - 1)) + CGC_PAGE_SIZE;
        cgc__span *s = a->spanmap[(start - a->base) >> CGC_PAGE_SHIFT];
        uint8_t state = s ? __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) : CGC_SPAN_FREE;
        if (state != CGC_SPAN_SMALL && state != CGC_SPAN_LARGE) {
            start = page_end;
            continue;
        }
        uintptr_t ss = s->start, se = ss + ((uintptr_t)s->npages << CGC_PAGE_SHIFT);
        if (start < ss || start >= se) {   /* a stale map entry */
            start = page_end;
            continue;
        }
        uintptr_t b = end < se ? end : se;
        rescan_span(c->w, s, state, start, b, c->fresh, c->shadow);
        start = b;
        rescan_bound(c->w);
    }
}

/* Tracker failed: every marked object is treated as written. World
 * stopped. */
static void rescan_all(cgc__span *s, void *arg)
{
    uint8_t state = s->state;
    if (state == CGC_SPAN_SMALL || state == CGC_SPAN_LARGE) {
        rescan_span(arg, s, state, s->start, s->start + ((uintptr_t)s->npages << CGC_PAGE_SHIFT), false, 0);
        rescan_bound(arg);
    }
}

/* ---- the written pages' rescan, shared ----
 *
 * The final stop and each pre-cleaning round first record the written
 * pages as jobs of at most JOB_PAGES pages, then every marker of the
 * phase takes jobs before it marks (mark_loop): the rescan and the
 * comparison with the copies are reads of memory that two CPUs go
 * through faster than one. In the final stop the other CPU sat idle
 * (churn512: 10.7 ms of rescan, 0.2-0.4 ms of marking after it). In a
 * round the program's assists take jobs too (cgc__mark_assist): the
 * rounds come when the program has used up its runway, and it sat parked
 * at its goal while the collector's thread alone rescanned (churn: 55 ms
 * of parks a run, most of them in the rounds; binary-trees 21: 279 ms).
 * Only the collector's thread records (a round: before it opens the jobs
 * to the assists), so the array needs no lock. Where it cannot grow, the
 * run is rescanned at once by the collector, as before.
 *   The assists take a round's jobs only while jobs_open is set, and
 * each counts itself in job_takers while it looks: the collector clears
 * jobs_open and waits for job_takers to drop to zero before it records
 * again (jobs_grow moves the array). A job an assist has taken is
 * finished before the phase ends: the assist holds its claim meanwhile,
 * and the phase waits for the claims (mark_loop). */
#define JOB_PAGES 64

typedef struct rescan_job {
    uintptr_t start;
    size_t npages;
} rescan_job;

static rescan_job *jobs;
static size_t jobs_cap, jobs_maplen;
static _Atomic size_t jobs_next;   /* njobs: declared before mark_loop */
static bool jobs_fresh;            /* the jobs' rescan_ctx: a round's, or the final stop's */
static int jobs_shadow;
static _Atomic int jobs_open;      /* a round's jobs may be taken by the assists */
static _Atomic int job_takers;     /* assists looking at the jobs */

/* The collector, before recording: no assist is looking at the jobs. */
static void jobs_close(void)
{
    atomic_store(&jobs_open, 0);
    for (int spin = 0; atomic_load(&job_takers); spin++)
        wait_turn(spin);
}

static void jobs_reset(bool final)
{
    jobs_close();
    atomic_store(&njobs, 0);
    atomic_store(&jobs_next, 0);
    jobs_fresh = !final;
    jobs_shadow = final ? SHADOW_COMPARE : SHADOW_COPY;
}

static bool jobs_grow(void)
{
    size_t cap = jobs_cap ? jobs_cap * 2 : 4096;
    size_t len = (cap * sizeof(rescan_job) + CGC_PAGE_SIZE - 1) & ~(size_t)(CGC_PAGE_SIZE - 1);
    rescan_job *j = cgc__os_map(len);
    if (!j)
        return false;
    atomic_fetch_add(&cgc__mem.gc_sys, len);
    if (jobs) {
        memcpy(j, jobs, atomic_load_explicit(&njobs, memory_order_relaxed) * sizeof *j);
        cgc__os_unmap(jobs, jobs_maplen);
        atomic_fetch_sub(&cgc__mem.gc_sys, jobs_maplen);
    }
    jobs = j;
    jobs_cap = cap;
    jobs_maplen = len;
    return true;
}

static void record_run(uintptr_t start, size_t npages, void *arg)
{
    rescan_ctx *c = arg;   /* the collector's, for a run that cannot be recorded */
    while (npages) {
        size_t k = npages < JOB_PAGES ? npages : JOB_PAGES;
        size_t n = atomic_load_explicit(&njobs, memory_order_relaxed);
        if (n == jobs_cap && !jobs_grow()) {
            rescan_run(start, npages, c);
            return;
        }
        jobs[n] = (rescan_job){start, k};
        atomic_store_explicit(&njobs, n + 1, memory_order_release);
        c->pages += k;   /* counted here; take_rescan_jobs does not again */
        start += k * os_page_size;
        npages -= k;
    }
}

/* Jobs until none is left; if `bounded` (an assist's part of a round),
 * also until the clock passes `deadline` (0: none) or a stop is asked
 * for, or the stack holds half of RESCAN_DRAIN entries (so that no job
 * makes it drain there, unbounded: a job of 4 KiB pages queues at most
 * 512 entries a page). What they queue goes on m's stack. Returns the
 * bytes of the pages rescanned. */
static uint64_t rescan_jobs(marker *m, bool bounded, int64_t deadline)
{
    size_t n = atomic_load_explicit(&njobs, memory_order_acquire), i;
    if (atomic_load_explicit(&jobs_next, memory_order_relaxed) >= n)
        return 0;
    uint64_t bytes = 0;
    drainer w;
    pipe_entry ring[PIPE_SIZE];
    work_begin(&w, m, ring);
    rescan_ctx c = {.w = &w, .fresh = jobs_fresh, .shadow = jobs_shadow};
    while ((!bounded || ((size_t)(w.top - w.stack) < RESCAN_DRAIN / 2 && (!deadline || cgc__now_ns() < deadline) &&
                         !cgc__stop_requested())) &&
           (i = atomic_fetch_add_explicit(&jobs_next, 1, memory_order_acq_rel)) < n) {
        rescan_run(jobs[i].start, jobs[i].npages, &c);
        bytes += jobs[i].npages * os_page_size;
    }
    work_end(&w);
    return bytes;
}

/* A marker at the start of its part of a phase with jobs. */
static void take_rescan_jobs(marker *m)
{
    rescan_jobs(m, false, 0);
}

/* An assist's part of a round's rescan, while the jobs are open. */
static uint64_t assist_rescan_jobs(marker *m, int64_t deadline)
{
    uint64_t bytes = 0;
    atomic_fetch_add(&job_takers, 1);
    if (atomic_load(&jobs_open))
        bytes = rescan_jobs(m, true, deadline);
    atomic_fetch_sub(&job_takers, 1);
    return bytes;
}

/* Collects the pages written since the tracker was armed (or last
 * collected) and records them as jobs for the phase that follows. A
 * pre-cleaning round (world running) protects them again, and its jobs
 * copy the pages of large pointer arrays; the final stop's (world
 * stopped) compare those pages with their copies. The seal rescans the
 * hot objects' pages at once, on marker 0. Returns the
 * pages, or -1 if the tracker failed (then, in the final stop, every
 * marked object was queued on marker 0). */
static long rescan_dirty(marker *m0, bool final, bool seal)
{
    if (!os_page_size)
        os_page_size = (size_t)sysconf(_SC_PAGESIZE);
    if (!seal)
        jobs_reset(final);
    drainer w;
    pipe_entry ring[PIPE_SIZE];
    work_begin(&w, m0, ring);
    rescan_ctx c = {.w = &w, .fresh = !final, .shadow = final ? SHADOW_COMPARE : SHADOW_COPY};
    long n = seal ? cgc__dirty_seal_hot(rescan_run, &c)
                  : cgc__dirty_collect(cgc__heap_lo(), cgc__heap_hi, !final, record_run, &c);
    if (n < 0 && final)
        cgc__heap_foreach_inuse(rescan_all, &w);
    work_end(&w);
    atomic_fetch_add(&cgc__gc.dirty_pages_rescanned, c.pages);
    /* Without the hot objects' pages (reported whole, every round): the
     * rounds stop when the rest stops shrinking. */
    return n < 0 ? -1 : n;
}

/* Zeroes the dead stack below the caller: (depth + 1) x 6 KiB, each frame
 * under the build's 8 KiB bound. Marking runs deep (batches, pipelines,
 * the tracker's page addresses), and a stale word left there is read as a
 * root when this thread's stack is scanned (collect.c, assists). */
void __attribute__((noinline)) cgc__scrub_stack_below(int depth)
{
    char buf[6144];
    memset(buf, 0, sizeof buf);
    __asm__ volatile("" : : "r"(buf) : "memory");
    if (depth > 0)
        cgc__scrub_stack_below(depth - 1);
    __asm__ volatile("" : : : "memory");
}

static void scrub_below(void)
{
    cgc__scrub_stack_below(1);
}

/* A pre-cleaning round, world running: the pages written since the last
 * round are protected again and their objects rescanned, so that the
 * final stop finds only what was written during the last round. Returns
 * the pages, -1 if the tracker failed. */
static long preclean(bool seal)
{
    marker *m0 = &markers[0];
    int64_t c0 = cgc__thread_cpu_ns();
    conc_phase = true;
    shadows_round_start();
    long n = rescan_dirty(m0, false, seal);
    m0->cpu_ns += cgc__thread_cpu_ns() - c0;
    if (!seal)
        atomic_store(&jobs_open, 1);
    run_phase_n(m0, conc_markers());
    jobs_close();
    shadows_round_end();
    conc_phase = false;
    return n;
}

long cgc__mark_preclean(void)
{
    return preclean(false);
}

/* After the last pre-cleaning round: the hot objects (those the tracker
 * left unprotected, cgc__mark_shadows_release) are protected and compared
 * with their copies, a round of their own, so that the final stop sees
 * only what is written to them after it. Returns their pages, 0 if there
 * are none, -1 if the tracker failed. */
long cgc__mark_preclean_seal(void)
{
    /* None (no large pointer array was hot): no round, not even an empty
     * phase (binary-trees runs 150 cycles). */
    return cgc__dirty_hot_unsealed() ? preclean(true) : 0;
}

/* ---- mark assists (assist.c decides when and how much) ---- */

/* How long an assist waits for a marker to share work before giving up
 * (it does not block for the mark: docs/pacing.md "Concurrent mark"). A
 * running marker looks at want_work once per batch, every few
 * microseconds. */
#define ASSIST_WAIT_NS 20000

/* Hands what is left on an assist's stack to the shared list, where the
 * markers (or the next phase, or the final stop) take it. If no packet
 * can be had the assist finishes the work itself: nothing of a mark is
 * dropped. */
static void give_back(marker *m)
{
    pthread_mutex_lock(&work_lock);
    while (m->n) {
        packet *p = packet_get();
        if (!p)
            break;
        size_t k = m->n < PACKET_ENTRIES ? m->n : PACKET_ENTRIES;
        memcpy(p->e, m->stack + m->n - k, k * sizeof(entry));
        m->n -= k;
        p->n = k;
        p->next = work;
        __atomic_store_n(&work, p, __ATOMIC_RELEASE);
    }
    pthread_cond_broadcast(&work_cv);
    pthread_mutex_unlock(&work_lock);
    if (m->n)
        drain(m, false);
}

int cgc__mark_work_outside(void)
{
    return (atomic_load_explicit(&assist_claimed, memory_order_acquire) != 0) |
           (__atomic_load_n(&work, __ATOMIC_ACQUIRE) != NULL) << 1;
}

/* A mark assist: the calling program thread, in a cgc section, takes a
 * packet of the shared work (asking a marker to share if there is none),
 * marks until `budget` bytes are scanned or the clock passes `deadline`
 * (0: no deadline), and gives back what is left. Returns the bytes scanned (0: no mark under
 * way, no assist marker free, or no work to be had: none shared, and no
 * marker sharing or none donating within ASSIST_WAIT_NS).
 *   Safe against the final stop: the stop waits for the section to end
 * (threads.c), by which time the assist holds nothing: its work is
 * scanned or back on the shared list, which the final stop drains. No
 * lock is held across the section's end. Objects it marks are pushed and
 * scanned as the markers' are; a callback-kind object is left to the
 * final stop (defer_proc) as the markers leave it. */
uint64_t cgc__mark_assist(uint64_t budget, int64_t deadline)
{
    if (!atomic_load_explicit(&cgc__marking, memory_order_acquire))
        return 0;
    unsigned c = atomic_load_explicit(&assist_claimed, memory_order_relaxed);
    int k;
    do {
        if (c == (1u << NASSIST) - 1)
            return 0;   /* as many threads assisting already */
        k = __builtin_ctz(~c);
    } while (!atomic_compare_exchange_weak(&assist_claimed, &c, c | 1u << k));
    marker *m = &markers[nmarkers + k];
    m->last = NULL;
    m->last_start = m->last_len = 0;
    /* A round's rescan first: until it is done the markers have little
     * to share. */
    uint64_t rescanned = atomic_load_explicit(&jobs_open, memory_order_relaxed) ? assist_rescan_jobs(m, deadline) : 0;
    if (!rescanned && !__atomic_load_n(&work, __ATOMIC_ACQUIRE) && atomic_load_explicit(&sharing, memory_order_relaxed)) {
        atomic_store_explicit(&want_work, 1, memory_order_relaxed);
        int64_t until = cgc__now_ns() + ASSIST_WAIT_NS;
        if (deadline && deadline < until)
            until = deadline;
        while (!__atomic_load_n(&work, __ATOMIC_ACQUIRE) && cgc__now_ns() < until && !cgc__stop_requested())
            for (int i = 0; i < 64; i++)
                cgc__cpu_relax();
    }
    uint64_t scanned = rescanned;
    /* trylock: a marker holding the lock may have been preempted (on a
     * loaded machine the assist then slept for the rest of its slice). */
    if (!m->n && __atomic_load_n(&work, __ATOMIC_ACQUIRE) && pthread_mutex_trylock(&work_lock) == 0) {
        if (work)
            take(m);
        pthread_mutex_unlock(&work_lock);
    }
    if (m->n) {
        scanned += drain_until(m, false, budget > rescanned ? budget - rescanned : 1, deadline);
        if (m->n)
            give_back(m);
    }
    atomic_fetch_and_explicit(&assist_claimed, ~(1u << k), memory_order_release);
    return scanned;
}

/* The final stop: the roots again (stacks, registers, data/bss, TLS,
 * registered ranges, the layer's extra roots: none of them is tracked),
 * the uncollectable objects, the marked objects on pages
 * written since the last round, marked to completion with every marker if
 * that is much work. World stopped, caches flushed (every object allocated
 * during the mark is black now). */
void cgc__mark_finish(cgc__mark_result *out, bool all)
{
    marker *m0 = &markers[0];
    wait_helpers_back();
    int64_t c0 = cgc__thread_cpu_ns();
    /* The written pages first: the tracker's buffer of page addresses is
     * on this stack, and once dead below the roots' frame it would be
     * scanned with the collector's own stack (queued, read later), and
     * the object at the start of each page kept alive. */
    defer_proc = false;
    long n = rescan_dirty(m0, true, false);
    scrub_below();
    roots(m0, queue_range);
    /* The layer's roots and the uncollectable objects again: the program
     * may have changed what the layer reports since the first stop, and
     * either may lead to objects the concurrent phase never saw. */
    extra_roots(m0, queue_range);
    mark_all_uncollectable(m0);
    size_t procs = mark_all_proc(m0);
    m0->cpu_ns += cgc__thread_cpu_ns() - c0;
    run_phase(m0, all || n < 0 || n > 4096 || procs > 4096);
    atomic_store(&njobs, 0);
    result(out, recover_overflows(m0));
    out->black_bytes = atomic_load(&cgc__mark_black_bytes);
    out->scan_work = atomic_load(&cgc__mark_scan_work);
}

/* Clears the marks of one span: its slots read as a swept span's again
 * (allocated, or free). */
static void unmark_span(cgc__span *s, void *arg)
{
    (void)arg;
    uint32_t n = s->state == CGC_SPAN_SMALL ? s->nelems : 1;
    for (uint32_t i = 0; i < n; i++)
        s->marks[i] &= (uint8_t)~CGC_SLOT_MARKED;
}

/* The final stop of a mark that must not be swept (a root was lost during
 * it: roots.c): every mark it set, and every object allocated black, is
 * undone, so that the next mark starts from unmarked objects as after a
 * sweep (a mark left set would make that mark skip the object's scan).
 * World stopped, caches flushed, heap_lock held. */
void cgc__mark_abandon(void)
{
    wait_helpers_back();
    defer_proc = false;
    for (int i = 0; i < nslots; i++)
        markers[i].n = 0;   /* drained by now; nothing of this mark is kept */
    /* Nor what an assist gave back after the last phase. */
    pthread_mutex_lock(&work_lock);
    while (work) {
        packet *p = work;
        work = p->next;
        packet_put(p);
    }
    pthread_mutex_unlock(&work_lock);
    cgc__heap_foreach_inuse(unmark_span, NULL);
}

/* ---- after the mark: what finalization needs (finalize.c) ------------- */

/* The span and slot of the object that starts or contains obj, or NULL. */
static cgc__span *object_slot(uintptr_t obj, uint32_t *idx)
{
    cgc__span *s = cgc__span_of(obj);
    if (!s)
        return NULL;
    int64_t i = slot_of(s, obj);
    if (i < 0)
        return NULL;
    *idx = (uint32_t)i;
    return s;
}

bool cgc__mark_is_marked(uintptr_t obj)
{
    uint32_t i;
    cgc__span *s = object_slot(obj, &i);
    return !s || (s->marks[i] & CGC_SLOT_MARKED);
}

/* Marks what obj's words reach, on the collector's thread alone (the
 * parallel phase is over; the helpers touch nothing but work_lock on their
 * way out). obj itself is marked only if one of those paths leads back to
 * it: that is how a cycle of finalizers is told apart. */
uint64_t cgc__mark_children(uintptr_t obj)
{
    uint32_t i;
    cgc__span *s = object_slot(obj, &i);
    if (!s || s->kind == CGC_KIND_ATOMIC)
        return 0;
    marker *m0 = &markers[0];
    uint64_t before = m0->marked_bytes;
    uintptr_t base = s->start + (uintptr_t)i * s->elemsize;
    if (s->kind == CGC_KIND_PROC)
        proc_scan(m0, s, base);
    else
        scan_now(m0, base, base + s->elemsize);
    drain(m0, false);
    atomic_fetch_add(&cgc__gc.mark_overflows, (uint64_t)recover_overflows(m0));
    return m0->marked_bytes - before;
}

/* As cgc__mark_children, but a word of obj that points into obj itself
 * is not followed (libgc's GC_register_finalizer_ignore_self, through the
 * compat layer): an object that points to itself is still finalized, one
 * in a longer cycle still is not. */
CGC_NO_ASAN uint64_t cgc__mark_children_ignore_self(uintptr_t obj)
{
    uint32_t i;
    cgc__span *s = object_slot(obj, &i);
    if (!s || s->kind == CGC_KIND_ATOMIC)
        return 0;
    if (s->kind == CGC_KIND_PROC)
        return cgc__mark_children(obj);   /* a callback's references cannot be filtered */
    marker *m0 = &markers[0];
    uint64_t before = m0->marked_bytes;
    uintptr_t base = s->start + (uintptr_t)i * s->elemsize, end = base + s->elemsize;
    for (uintptr_t w = base; w < end; w += sizeof(uintptr_t)) {
        uintptr_t v = *(const uintptr_t *)w;
        if (v >= base && v < end)
            continue;
        scan_now(m0, w, w + sizeof(uintptr_t));
    }
    drain(m0, false);
    atomic_fetch_add(&cgc__gc.mark_overflows, (uint64_t)recover_overflows(m0));
    return m0->marked_bytes - before;
}

/* Sets obj's mark without scanning it: its children were marked by
 * cgc__mark_children. Returns the bytes it adds to the marked total. */
uint64_t cgc__mark_object(uintptr_t obj)
{
    uint32_t i;
    cgc__span *s = object_slot(obj, &i);
    if (!s || s->marks[i] != CGC_SLOT_ALLOCATED)
        return 0;
    s->marks[i] = CGC_SLOT_ALLOCATED | CGC_SLOT_MARKED;
    return s->elemsize;
}
