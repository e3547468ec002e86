/* pageheap.c — arenas, spans of pages, the address→span map, and returning
 * free pages to the operating system.
 *
 * Accounting (all in bytes, kept exact under heap_lock):
 *   heap_sys      = pages below each arena's high-water mark (ever handed out)
 *   heap_inuse    = pages in in-use spans
 *   heap_free     = pages in free spans that are resident (not released)
 *   heap_released = pages below the high-water mark that are released
 * so heap_sys = heap_inuse + heap_free + heap_released always (checked in
 * debug builds). Pages above the high-water mark were never touched: they
 * are address space only and are counted nowhere.
 *
 * Each arena keeps one bit per page, "released": set for pages that read as
 * zero without being resident (never touched, or given back with
 * MADV_DONTNEED). Allocation clears the bits of the pages it takes; release
 * sets them. Zeroing and accounting both come from these bits.
 *
 * Free spans live in lists by size: free_small[n] for n < 128 pages, and one
 * list for bigger ones searched best-fit. A free span's first and last pages
 * map to it (so neighbours find it to coalesce); the pages between map to
 * NULL, so a conservative pointer into free memory finds nothing.
 *
 * Two sides. Each arena is for spans of scanned objects or for spans of
 * pointer-free (atomic) ones, and each side has its own free lists (the
 * side of a pointer-free span is the pointer-free one once a cycle is to
 * mark concurrently: sides_start below). A
 * span is taken from its own side's lists, else from a new arena of its
 * side, and only when the OS refuses that, from the other side's. Why:
 * the concurrent mark's dirty-page tracker need not watch pointer-free
 * objects (a write into one never hides a pointer), so it leaves the
 * arenas of that side alone (cgc__heap_unwatched_run), but for one that a
 * span of scanned objects was taken from (counted in its `cross`): with
 * both kinds side by side (churn's records and their buffers), skipping
 * them span by span split a 140 MB heap into tens of thousands of runs,
 * each a system call per round.
 */
#include "internal.h"
#include "dirty.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define NSMALL_FREE 128

cgc__heap_counters cgc__mem;
uintptr_t cgc__heap_lo_inv = 0, cgc__heap_hi = 0;   /* lo starts at UINTPTR_MAX */
cgc__arena **cgc__radix[1 << CGC_RADIX_L1_BITS];
pthread_mutex_t cgc__heap_lock = PTHREAD_MUTEX_INITIALIZER;

static cgc__arena *arenas;
static cgc__span *free_small[2][NSMALL_FREE];        /* [noscan side][pages] */
static uint64_t free_small_nonempty[2][NSMALL_FREE / 64];
static cgc__span *free_large[2];
static cgc__span *desc_free;          /* unused span descriptors */

/* ---- span descriptors -------------------------------------------------- */

static cgc__span *desc_alloc(void)
{
    if (!desc_free) {
        const int n = 64;
        cgc__span *chunk = cgc__meta_alloc(sizeof(cgc__span) * n, &cgc__mem.mspan_sys);
        if (!chunk)
            return NULL;
        /* The mark packs a descriptor's address into 47 bits (mark.c,
         * entry_tag); Linux maps above 2^47 only when asked to. */
        if (((uintptr_t)chunk + sizeof(cgc__span) * n) >> 47)
            cgc__fatal("span descriptors mapped at %p, above 2^47", (void *)chunk);
        for (int i = 0; i < n; i++) {
            chunk[i].state = CGC_SPAN_UNUSED;
            chunk[i].next = desc_free;
            desc_free = &chunk[i];
        }
    }
    cgc__span *s = desc_free;
    desc_free = s->next;
    memset(s, 0, sizeof *s);
    atomic_fetch_add(&cgc__mem.mspan_inuse, sizeof *s);
    return s;
}

static void desc_release(cgc__span *s)
{
    s->state = CGC_SPAN_UNUSED;
    s->next = desc_free;
    desc_free = s;
    atomic_fetch_sub(&cgc__mem.mspan_inuse, sizeof *s);
}

/* ---- arenas ------------------------------------------------------------ */

static cgc__arena *arena_of(uintptr_t p)
{
    uintptr_t key = p >> CGC_ARENA_SHIFT;
    cgc__arena **l2 = cgc__radix[(key >> CGC_RADIX_L2_BITS) & ((1u << CGC_RADIX_L1_BITS) - 1)];
    return l2 ? l2[key & ((1u << CGC_RADIX_L2_BITS) - 1)] : NULL;
}

static size_t page_of(const cgc__arena *a, uintptr_t p)
{
    return (p - a->base) >> CGC_PAGE_SHIFT;
}

static void set_bits(uint64_t *bits, size_t from, size_t to, bool on)
{
    for (size_t i = from; i < to; i++) {
        if (on)
            bits[i >> 6] |= (uint64_t)1 << (i & 63);
        else
            bits[i >> 6] &= ~((uint64_t)1 << (i & 63));
    }
}

static size_t count_bits(const uint64_t *bits, size_t from, size_t to)
{
    size_t n = 0;
    while (from < to && (from & 63)) {
        n += (bits[from >> 6] >> (from & 63)) & 1;
        from++;
    }
    while (from + 64 <= to) {
        n += (size_t)__builtin_popcountll(bits[from >> 6]);
        from += 64;
    }
    while (from < to) {
        n += (bits[from >> 6] >> (from & 63)) & 1;
        from++;
    }
    return n;
}

static void free_list_insert(cgc__span *s);

/* Metadata of an arena whose growth failed after part of it was allocated.
 * It is carved from chunks that cannot be unmapped piecemeal, so it waits
 * here for the next attempt instead of being dropped (every failed attempt
 * leaked it, 32 KiB for a 2 GiB arena). Never written while spare: still
 * zeroed. Under heap_lock. */
static cgc__arena *spare_arena;
static cgc__span **spare_map;
static uint64_t *spare_rel;
static size_t spare_map_pages, spare_rel_pages;

/* A spare block for at least `pages` pages if there is one, else a new one. */
static void *take_spare(void **spare, size_t *spare_pages, size_t pages, size_t bytes)
{
    if (*spare && *spare_pages >= pages) {
        void *p = *spare;
        *spare = NULL;
        *spare_pages = 0;
        return p;
    }
    return cgc__meta_alloc(bytes, &cgc__mem.gc_sys);
}

/* Keeps p as the spare for `pages` pages unless a bigger one is kept. */
static void keep_spare(void **spare, size_t *spare_pages, void *p, size_t pages)
{
    if (p && (!*spare || *spare_pages < pages)) {
        *spare = p;
        *spare_pages = pages;
    }
}

/* An arena's first page is never handed out. The kernel places mappings
 * next to each other, so the arena's base is often the end of another
 * mapping: a thread's stack top, the end of a buffer of malloc's or of a
 * library's segment. Programs keep such one-past-the-end pointers (glibc's
 * pthread_attr_t holds the stack top: test_stack_top), and a conservative
 * scan would take one for a pointer to the object at the base, which could
 * then never be freed. With the page unused, nothing lives there: 8 KiB
 * of address space per arena, never touched. */
#define ARENA_GUARD_PAGES 1

/* Reserves a new arena of at least `npages` (after its guard page) and adds
 * the rest as one free span. */
static bool arena_grow(size_t npages, bool noscan)
{
    if (npages > SIZE_MAX / CGC_PAGE_SIZE - ARENA_GUARD_PAGES)
        return false;
    size_t want = (npages + ARENA_GUARD_PAGES) * CGC_PAGE_SIZE;
    size_t bytes = (want + CGC_ARENA_SIZE - 1) & ~(CGC_ARENA_SIZE - 1);
    if (bytes < want)
        return false;
    size_t pages = bytes >> CGC_PAGE_SHIFT;
    uintptr_t base = (uintptr_t)cgc__os_reserve_aligned(bytes, CGC_ARENA_SIZE);
    if (!base)
        return false;
    if ((base + bytes - 1) >> CGC_ADDR_BITS) {
        cgc__os_unmap((void *)base, bytes);
        return false;
    }
    cgc__arena *a = spare_arena ? spare_arena : cgc__meta_alloc(sizeof *a, &cgc__mem.gc_sys);
    spare_arena = NULL;
    cgc__span **map = take_spare((void **)&spare_map, &spare_map_pages, pages, pages * sizeof(cgc__span *));
    uint64_t *rel = take_spare((void **)&spare_rel, &spare_rel_pages, pages, (pages + 63) / 64 * 8);
    cgc__span *s = desc_alloc();
    /* The radix tables the arena's 64 MiB units need, all before any entry
     * is set: a failure half-way used to leave entries pointing at an
     * arena record with no page map, which a conservative pointer into
     * that range (or cgc_base of one) then dereferenced. A table made
     * here and not used is kept in the radix: it is valid empty. */
    bool tables = true;
    for (uintptr_t u = base; u < base + bytes && tables; u += CGC_ARENA_SIZE) {
        size_t i1 = (u >> CGC_ARENA_SHIFT) >> CGC_RADIX_L2_BITS;
        if (!cgc__radix[i1]) {
            cgc__arena **l2 = cgc__meta_alloc(sizeof(cgc__arena *) << CGC_RADIX_L2_BITS,
                                              &cgc__mem.other_sys);
            if (l2)
                __atomic_store_n(&cgc__radix[i1], l2, __ATOMIC_RELEASE);
            tables = l2 != NULL;
        }
    }
    if (!a || !map || !rel || !s || !tables) {
        cgc__os_unmap((void *)base, bytes);
        if (a)
            spare_arena = a;   /* taken above: the slot is empty */
        keep_spare((void **)&spare_map, &spare_map_pages, map, pages);
        keep_spare((void **)&spare_rel, &spare_rel_pages, rel, pages);
        if (s)
            desc_release(s);
        return false;
    }
    /* Tracked before any object in it exists (dirty.h); a failure only
     * drops the tracker to stop-the-world marking. */
    cgc__dirty_add_range((void *)base, bytes);
    /* The record is complete before any entry points to it: cgc_base and
     * cgc_free look addresses up without heap_lock. */
    a->base = base;
    a->npages = pages;
    a->hwm = ARENA_GUARD_PAGES;   /* heap_sys counts [guard, hwm) */
    a->released = rel;
    a->spanmap = map;
    a->noscan = noscan;
    atomic_store(&a->cross, 0);
    set_bits(rel, 0, pages, true);
    for (uintptr_t u = base; u < base + bytes; u += CGC_ARENA_SIZE) {
        uintptr_t key = u >> CGC_ARENA_SHIFT;
        size_t i1 = key >> CGC_RADIX_L2_BITS, i2 = key & ((1u << CGC_RADIX_L2_BITS) - 1);
        __atomic_store_n(&cgc__radix[i1][i2], a, __ATOMIC_RELEASE);
    }
    a->next = arenas;
    arenas = a;
    if (base < cgc__heap_lo())
        cgc__heap_lo_inv = ~base;
    if (base + bytes > cgc__heap_hi)
        cgc__heap_hi = base + bytes;

    s->start = base + ARENA_GUARD_PAGES * CGC_PAGE_SIZE;
    s->npages = (uint32_t)(pages - ARENA_GUARD_PAGES);
    s->state = CGC_SPAN_FREE;
    map[ARENA_GUARD_PAGES] = s;
    map[pages - 1] = s;
    free_list_insert(s);
    return true;
}

/* ---- free lists -------------------------------------------------------- */

/* The side of a free span: its arena's. */
static int side_of(const cgc__span *s)
{
    return arena_of(s->start)->noscan;
}

static void free_list_insert(cgc__span *s)
{
    int d = side_of(s);
    s->prev = NULL;
    if (s->npages < NSMALL_FREE) {
        s->next = free_small[d][s->npages];
        if (s->next)
            s->next->prev = s;
        free_small[d][s->npages] = s;
        free_small_nonempty[d][s->npages >> 6] |= (uint64_t)1 << (s->npages & 63);
    } else {
        s->next = free_large[d];
        if (s->next)
            s->next->prev = s;
        free_large[d] = s;
    }
}

static void free_list_remove(cgc__span *s)
{
    int d = side_of(s);
    if (s->prev)
        s->prev->next = s->next;
    else if (s->npages < NSMALL_FREE) {
        free_small[d][s->npages] = s->next;
        if (!s->next)
            free_small_nonempty[d][s->npages >> 6] &= ~((uint64_t)1 << (s->npages & 63));
    } else
        free_large[d] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

/* Smallest free span of side d with at least n pages, or NULL. */
static cgc__span *free_find(size_t n, int d)
{
    if (n < NSMALL_FREE) {
        for (size_t w = n >> 6; w < NSMALL_FREE / 64; w++) {
            uint64_t m = free_small_nonempty[d][w];
            if (w == n >> 6)
                m &= ~(uint64_t)0 << (n & 63);
            if (m)
                return free_small[d][w * 64 + (size_t)__builtin_ctzll(m)];
        }
    }
    cgc__span *best = NULL;
    for (cgc__span *s = free_large[d]; s; s = s->next)
        if (s->npages >= n && (!best || s->npages < best->npages))
            best = s;
    return best;
}

/* Points the boundary pages of a free span at it. Its interior entries must
 * already be NULL (callers clear what they change). */
static void map_free_span(cgc__arena *a, cgc__span *s)
{
    size_t p = page_of(a, s->start);
    a->spanmap[p] = s;
    a->spanmap[p + s->npages - 1] = s;
}


/* ---- allocation and freeing of spans ----------------------------------- */

/* Takes the first n pages of free span s (removed from the lists) as an
 * in-use span; the rest goes back to the free lists. Accounting for the
 * pages taken moves from free/released/untouched to in-use. */
static cgc__span *carve(cgc__arena *a, cgc__span *s, size_t n, bool *zeroed)
{
    if (s->npages > n) {
        cgc__span *rest = desc_alloc();
        if (!rest)
            return NULL;
        rest->start = s->start + n * CGC_PAGE_SIZE;
        rest->npages = s->npages - (uint32_t)n;
        rest->state = CGC_SPAN_FREE;
        s->npages = (uint32_t)n;
        map_free_span(a, rest);
        free_list_insert(rest);
    }
    size_t p = page_of(a, s->start), end = p + n;
    size_t below = end < a->hwm ? end : (p < a->hwm ? a->hwm : p);  /* [p, below) is below hwm */
    size_t rel_below = below > p ? count_bits(a->released, p, below) : 0;
    size_t res_below = (below > p ? below - p : 0) - rel_below;
    size_t rel_all = count_bits(a->released, p, end);
    atomic_fetch_sub(&cgc__mem.heap_released, rel_below * CGC_PAGE_SIZE);
    atomic_fetch_sub(&cgc__mem.heap_free, res_below * CGC_PAGE_SIZE);
    if (end > a->hwm) {
        atomic_fetch_add(&cgc__mem.heap_sys, (end - a->hwm) * CGC_PAGE_SIZE);
        __atomic_store_n(&a->hwm, end, __ATOMIC_RELEASE);   /* read without the lock: cgc__heap_unwatched_run */
    }
    atomic_fetch_add(&cgc__mem.heap_inuse, n * CGC_PAGE_SIZE);
    *zeroed = rel_all == n;
    /* The caller sets the real state. Until then the span is a large one
     * whose only slot is free: a concurrent marker (mark.c) that meets a
     * pointer into it marks nothing, whatever the old descriptor's fields
     * say; the caller publishes the new fields before the new state. */
    s->marks = s->mark_inline;
    s->mark_inline[0] = 0;
    __atomic_store_n(&s->state, CGC_SPAN_LARGE, __ATOMIC_RELEASE);
    return s;
}

/* Zeroes the pages of [p, end) that are resident (released bit clear). */
static void zero_resident(cgc__arena *a, size_t p, size_t end)
{
    size_t i = p;
    while (i < end) {
        while (i < end && cgc__bit(a->released, (uint32_t)i))
            i++;
        size_t j = i;
        while (j < end && !cgc__bit(a->released, (uint32_t)j))
            j++;
        if (j > i)
            memset((void *)(a->base + i * CGC_PAGE_SIZE), 0, (j - i) * CGC_PAGE_SIZE);
        i = j;
    }
}

/* The largest span whose missing pages are faulted in when it is handed
 * out (cgc__heap_alloc_span): 4 MiB. */
#define POPULATE_MAX_PAGES (((size_t)4 << 20) / CGC_PAGE_SIZE)

cgc__span *cgc__heap_alloc_span(size_t npages, bool pointer_free, bool zero, bool *zeroed)
{
    return cgc__heap_alloc_span_from(npages, pointer_free, zero, zeroed, false);
}

/* The pointer-free side starts with the first pointer-free span asked for
 * once a cycle is to mark concurrently (collect.c sets cgc__heap_sides) or,
 * in concurrent mode (cgc__heap_sides_mode, set at start-up), the heap
 * has SIDES_MIN_BYTES in use, whichever comes first. Not before: a small
 * heap, marked stopped, keeps one set of free pages (Guile's peak RSS
 * under compat_real_guile was 0.35 MB higher with the sides from
 * start-up). Not only at the first concurrent cycle either: that comes
 * when the heap is first collected, and a program that fills its heap
 * before then (bench/limit's churn under CGC_GC=off, 153 MiB of mostly
 * pointer-free blobs) had it all on the scanned side, watched through
 * every mark after: 3.8 s against 2.9-3.0 with the sides from the start.
 *   When the side starts, an arena that holds no span of scanned objects
 * goes over to it with its free pages: left on the scanned side, they were
 * no use to the pointer-free spans taken after, and test_reclaim (a churn
 * of 64 KiB pointer-free objects) grew its heap to 2.51x its live set
 * (bound 2.5). A mixed arena stays where it is, its free pages for the
 * scanned spans. If a mark is under way, a converted arena's pages keep
 * the protection the arm gave them: the tracker stops asking about it (no
 * pointer lies in it), and asks again, and hears of every write since the
 * arm, once a scanned span is taken from it (its `cross`). Under
 * heap_lock. */
#define SIDES_MIN_BYTES ((uint64_t)16 << 20)
_Atomic bool cgc__heap_sides;
bool cgc__heap_sides_mode;
static bool sides_started;

static void sides_start(void)
{
    sides_started = true;
    for (cgc__arena *a = arenas; a; a = a->next) {
        if (a->noscan)
            continue;
        bool scanned = false;
        for (size_t p = ARENA_GUARD_PAGES; p < a->npages && !scanned; p += a->spanmap[p]->npages) {
            const cgc__span *s = a->spanmap[p];
            scanned = s->state != CGC_SPAN_FREE && !s->pfree;
        }
        if (scanned)
            continue;
        /* The free spans off the scanned side's lists, onto the other's
         * (a span's side is its arena's). */
        for (size_t p = ARENA_GUARD_PAGES; p < a->npages; p += a->spanmap[p]->npages)
            if (a->spanmap[p]->state == CGC_SPAN_FREE)
                free_list_remove(a->spanmap[p]);
        a->noscan = true;
        for (size_t p = ARENA_GUARD_PAGES; p < a->npages; p += a->spanmap[p]->npages)
            if (a->spanmap[p]->state == CGC_SPAN_FREE)
                free_list_insert(a->spanmap[p]);
    }
}

cgc__span *cgc__heap_alloc_span_from(size_t npages, bool pointer_free, bool zero, bool *zeroed, bool resident_only)
{
    pthread_mutex_lock(&cgc__heap_lock);
    if (pointer_free && !sides_started &&
        (atomic_load_explicit(&cgc__heap_sides, memory_order_relaxed) ||
         (cgc__heap_sides_mode && atomic_load(&cgc__mem.heap_inuse) >= SIDES_MIN_BYTES)))
        sides_start();
    bool noscan = pointer_free && sides_started;
    /* Its own side, a new arena of its side, else the other side's pages
     * (an OS that refuses address space: test_rlimit_as). */
    cgc__span *s = free_find(npages, noscan);
    if (!s && !resident_only && arena_grow(npages, noscan))
        s = free_find(npages, noscan);
    if (!s)
        s = free_find(npages, !noscan);
    if (!s) {
        pthread_mutex_unlock(&cgc__heap_lock);
        return NULL;
    }
    free_list_remove(s);
    cgc__arena *a = arena_of(s->start);
    size_t p = page_of(a, s->start);
    /* Pages that are not resident will fault in: keep the total under the
     * limit by releasing other free pages first (s is off the lists, so it
     * is not among them). Checked on every span allocation, not only on
     * growth, so memory freed by sweeping goes back as soon as the heap is
     * over the limit, as Go's allocSpan does. */
    size_t nonresident = count_bits(a->released, p, p + npages);
    if (nonresident && resident_only) {   /* it would grow the RSS */
        free_list_insert(s);
        pthread_mutex_unlock(&cgc__heap_lock);
        return NULL;
    }
    cgc__limit_before_grow(nonresident * CGC_PAGE_SIZE);
    cgc__span *r = carve(a, s, npages, zeroed);
    if (!r) {
        map_free_span(a, s);
        free_list_insert(s);
        pthread_mutex_unlock(&cgc__heap_lock);
        return NULL;
    }
    if (zero && !*zeroed) {
        /* Only resident pages need clearing (released ones read as zero),
         * so a huge calloc stays virtual. Not for atomic objects (their
         * contents are unspecified): clearing 32-64 KiB pointer-free
         * buffers was 14% of the soft-limit churn's CPU, and as much again
         * in the page faults it took. */
        zero_resident(a, p, p + npages);
        *zeroed = true;
    }
    set_bits(a->released, p, p + npages, false);
    r->pfree = pointer_free;
    r->cross = a->noscan && !pointer_free;
    if (r->cross)
        atomic_fetch_add_explicit(&a->cross, 1, memory_order_release);
    for (size_t i = 0; i < npages; i++)
        a->spanmap[p + i] = r;
    pthread_mutex_unlock(&cgc__heap_lock);
    /* Pages that are not resident yet are faulted in now, in one call (the
     * span is the caller's alone: nothing else touches or releases it):
     * one fault per page cost 20% of the soft-limit churn's CPU. Not for
     * spans above POPULATE_MAX, so that a huge allocation the program
     * touches sparsely stays virtual. */
    if (nonresident && npages <= POPULATE_MAX_PAGES)
        cgc__os_populate((void *)r->start, npages * CGC_PAGE_SIZE);
    return r;
}

void cgc__heap_free_span_locked(cgc__span *s)
{
    if (s->marks && s->marks != s->mark_inline)
        cgc__marks_release(s->marks, s->nelems);
    s->marks = NULL;
    cgc__arena *a = arena_of(s->start);
    size_t p = page_of(a, s->start);
    atomic_fetch_sub(&cgc__mem.heap_inuse, (uint64_t)s->npages * CGC_PAGE_SIZE);
    atomic_fetch_add(&cgc__mem.heap_free, (uint64_t)s->npages * CGC_PAGE_SIZE);
    if (s->cross)
        atomic_fetch_sub_explicit(&a->cross, 1, memory_order_relaxed);
    s->cross = 0;
    s->state = CGC_SPAN_FREE;
    s->cached = 0;
    /* The span's pages stop mapping to it; only the boundaries of the
     * merged free span will be set again. */
    for (size_t i = p; i < p + s->npages; i++)
        a->spanmap[i] = NULL;
    /* Coalesce with free neighbours. */
    if (p > 0) {
        cgc__span *l = a->spanmap[p - 1];
        if (l && l->state == CGC_SPAN_FREE) {
            free_list_remove(l);
            a->spanmap[p - 1] = NULL;
            l->npages += s->npages;
            desc_release(s);
            s = l;
            p = page_of(a, s->start);
        }
    }
    size_t end = p + s->npages;
    if (end < a->npages) {
        cgc__span *r = a->spanmap[end];
        if (r && r->state == CGC_SPAN_FREE) {
            free_list_remove(r);
            a->spanmap[end] = NULL;
            s->npages += r->npages;
            desc_release(r);
        }
    }
    map_free_span(a, s);
    free_list_insert(s);
}

void cgc__heap_free_span(cgc__span *s)
{
    pthread_mutex_lock(&cgc__heap_lock);
    cgc__heap_free_span_locked(s);
    pthread_mutex_unlock(&cgc__heap_lock);
}

/* ---- returning pages to the OS ----------------------------------------- */

/* Releases the resident pages of free span s, at most `budget` bytes.
 * Returns bytes released. A range the OS refuses to drop (locked memory:
 * os.c) stays resident, unreleased and not known to be zero, and *refused
 * is set: the caller stops there, since the rest of the heap is locked as
 * well and each further try is a wasted system call. */
static uint64_t release_span(cgc__span *s, uint64_t budget, bool *refused)
{
    cgc__arena *a = arena_of(s->start);
    size_t p = page_of(a, s->start), end = p + s->npages;
    if (end > a->hwm)
        end = a->hwm;   /* above the high-water mark nothing was touched */
    uint64_t done = 0;
    size_t i = p;
    while (i < end && done < budget) {
        while (i < end && cgc__bit(a->released, (uint32_t)i))
            i++;
        size_t j = i;
        while (j < end && !cgc__bit(a->released, (uint32_t)j) &&
               done + (j - i) * CGC_PAGE_SIZE < budget)
            j++;
        if (j > i) {
            if (!cgc__os_release((void *)(a->base + i * CGC_PAGE_SIZE), (j - i) * CGC_PAGE_SIZE)) {
                *refused = true;
                break;
            }
            set_bits(a->released, i, j, true);
            done += (j - i) * CGC_PAGE_SIZE;
        }
        i = j;
    }
    atomic_fetch_sub(&cgc__mem.heap_free, done);
    atomic_fetch_add(&cgc__mem.heap_released, done);
    atomic_fetch_add(&cgc__mem.released_total, done);
    return done;
}

uint64_t cgc__heap_release_locked(uint64_t bytes)
{
    uint64_t done = 0;
    bool refused = false;
    /* Biggest spans first: the most memory for the fewest system calls. */
    for (int d = 0; d < 2; d++)
        for (cgc__span *s = free_large[d]; s && done < bytes && !refused; s = s->next)
            done += release_span(s, bytes - done, &refused);
    for (int n = NSMALL_FREE - 1; n > 0 && done < bytes && !refused; n--)
        for (int d = 0; d < 2; d++)
            for (cgc__span *s = free_small[d][n]; s && done < bytes && !refused; s = s->next)
                done += release_span(s, bytes - done, &refused);
    return done;
}

uint64_t cgc__heap_release(uint64_t bytes)
{
    /* In a cgc section when a registered thread calls (cgc_free_os_memory,
     * a lowered limit): it must not be stopped holding heap_lock, which the
     * pause takes. */
    cgc__thread *self = cgc__enter_self();
    pthread_mutex_lock(&cgc__heap_lock);
    uint64_t done = cgc__heap_release_locked(bytes);
    pthread_mutex_unlock(&cgc__heap_lock);
    cgc__leave_self(self);
    return done;
}

/* Bytes of the heap that are resident, by mincore(2) over every arena below
 * its high-water mark. cgc's own count (heap_sys - heap_released) also
 * counts pages handed out but never written — fresh spans and large
 * objects are known to read as zero, so nothing touches them until the
 * program does — and in a C service that can be a third of it (SQLite's
 * buffers, JSON output grown by doubling). Subtracting that over-count
 * from the process's resident size hid the memory cgc does not manage
 * (measure_outside in collect.c). No lock: the arena list only grows (a
 * new head is missed until next time) and a stale hwm only shifts one
 * reading. Cost: the kernel's page-table walk, ~1 us per MiB of heap. */
uint64_t cgc__heap_resident_bytes(void)
{
    /* 2 MiB of 4 KiB pages per call: it runs on the allocation path, on
     * threads whose stacks may be 64 KiB (a 2 KiB vector made it the
     * largest frame there). */
    enum { CHUNK_PAGES = 512 };
    unsigned char vec[CHUNK_PAGES];
    size_t os_page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t resident = 0;
    for (cgc__arena *a = __atomic_load_n(&arenas, __ATOMIC_ACQUIRE); a; a = a->next) {
        uintptr_t p = a->base + ARENA_GUARD_PAGES * CGC_PAGE_SIZE;
        uintptr_t end = a->base + __atomic_load_n(&a->hwm, __ATOMIC_RELAXED) * CGC_PAGE_SIZE;
        while (p < end) {
            size_t len = end - p < CHUNK_PAGES * os_page ? end - p : CHUNK_PAGES * os_page;
            if (mincore((void *)p, len, vec) != 0)
                return UINT64_MAX;   /* unknown: the caller keeps its own count */
            size_t n = (len + os_page - 1) / os_page;
            for (size_t i = 0; i < n; i++)
                resident += vec[i] & 1;
            p += len;
        }
    }
    return resident * os_page;
}

uint64_t cgc__sys_bytes(void)
{
    return atomic_load(&cgc__mem.heap_sys) + atomic_load(&cgc__mem.mspan_sys) +
           atomic_load(&cgc__mem.gc_sys) + atomic_load(&cgc__mem.mcache_sys) +
           atomic_load(&cgc__mem.other_sys);
}

uint64_t cgc__mapped_bytes(void)
{
    uint64_t sys = cgc__sys_bytes(), rel = atomic_load(&cgc__mem.heap_released);
    return sys > rel ? sys - rel : 0;
}

/* The end of the part of [s, e) that starts at s, to the end of its arena
 * at most, and whether the concurrent mark need not watch it (dirty.h,
 * cgc__dirty_set_skip): an arena of the pointer-free side with no span of
 * scanned objects in it (cross, counted under heap_lock), and any arena's
 * pages above its high-water mark. A write into a pointer-free object
 * never hides a pointer; a free page holds no object.
 * Whole arenas, so that the answer costs nothing per span: asked of every
 * page in the final stop, a walk over the spans took 2 ms of it at
 * 512 MiB (churn512's stopped time p99 2.7 ms against 0.4).
 *   Lock-free. A span of scanned objects made in such an arena during a
 * mark (taken there only when the OS refuses a new arena of its side) is
 * counted before the allocation returns, so the final collect, which runs
 * with the world stopped, watches the arena; an earlier collect that
 * skipped it left its pages unprotected, and they read as written then.
 * Nothing frees an in-use span during a mark (sweeping ends before it
 * starts, cgc_free waits for its end). */
uintptr_t cgc__heap_unwatched_run(uintptr_t s, uintptr_t e, bool *unwatched)
{
    cgc__arena *a = arena_of(s);
    if (!a) {
        *unwatched = false;
        uintptr_t next = (s & ~(uintptr_t)(CGC_ARENA_SIZE - 1)) + CGC_ARENA_SIZE;
        return next < e ? next : e;
    }
    uintptr_t end = a->base + ((uintptr_t)a->npages << CGC_PAGE_SHIFT);
    if (a->noscan && atomic_load_explicit(&a->cross, memory_order_acquire) == 0) {
        *unwatched = true;
        return end < e ? end : e;
    }
    /* Above the high-water mark no page was ever handed out, so none was
     * protected either: it reads as written when its arena grows past it,
     * and is reported then. Watching it cost the arm a marker per page and
     * the disarm a walk over them, with a TLB flush pending all along. */
    uintptr_t hwm = a->base + (__atomic_load_n(&a->hwm, __ATOMIC_ACQUIRE) << CGC_PAGE_SHIFT);
    *unwatched = s >= hwm;
    if (!*unwatched && hwm < end)
        end = hwm;
    return end < e ? end : e;
}

void cgc__heap_foreach_inuse(void (*fn)(cgc__span *, void *), void *arg)
{
    for (cgc__arena *a = arenas; a; a = a->next) {
        size_t p = 0;
        while (p < a->hwm) {
            cgc__span *s = a->spanmap[p];
            if (s && (s->state == CGC_SPAN_SMALL || s->state == CGC_SPAN_LARGE)) {
                fn(s, arg);
                p += s->npages;
            } else if (s && s->state == CGC_SPAN_FREE) {
                p += s->npages;
            } else {
                p++;
            }
        }
    }
}


/* Debug builds: the page map and the counters agree with each other. */
void cgc__heap_check_invariants(void)
{
    uint64_t inuse = 0, freeb = 0, rel = 0, sys = 0;
    for (cgc__arena *a = arenas; a; a = a->next) {
        size_t p = ARENA_GUARD_PAGES;
        uint32_t cross = 0;
        sys += (a->hwm - ARENA_GUARD_PAGES) * CGC_PAGE_SIZE;
        for (size_t g = 0; g < ARENA_GUARD_PAGES; g++)
            if (a->spanmap[g]) {
                fprintf(stderr, "cgc: heap invariant: arena %p's guard page has a span\n", (void *)a->base);
                abort();
            }
        while (p < a->npages) {
            cgc__span *s = a->spanmap[p];
            if (!s || s->start != a->base + p * CGC_PAGE_SIZE || s->npages == 0) {
                fprintf(stderr, "cgc: heap invariant: page %zu of arena %p has no span start\n",
                        p, (void *)a->base);
                abort();
            }
            size_t end = p + s->npages, below = end < a->hwm ? end : (p < a->hwm ? a->hwm : p);
            if (s->state == CGC_SPAN_FREE) {
                size_t r = below > p ? count_bits(a->released, p, below) : 0;
                rel += r * CGC_PAGE_SIZE;
                freeb += ((below > p ? below - p : 0) - r) * CGC_PAGE_SIZE;
                if (a->spanmap[end - 1] != s)
                    abort();
            } else if (s->state == CGC_SPAN_SMALL || s->state == CGC_SPAN_LARGE) {
                inuse += (uint64_t)s->npages * CGC_PAGE_SIZE;
                for (size_t i = p; i < end; i++)
                    if (a->spanmap[i] != s) {
                        fprintf(stderr, "cgc: heap invariant: in-use span page map broken\n");
                        abort();
                    }
                if (count_bits(a->released, p, end) != 0) {
                    fprintf(stderr, "cgc: heap invariant: in-use span has released pages\n");
                    abort();
                }
                /* The tracker skips a pointer-free arena only while this
                 * count says no scanned span is in it. */
                if (s->pfree != (s->kind == CGC_KIND_ATOMIC) || s->cross != (a->noscan && !s->pfree)) {
                    fprintf(stderr, "cgc: heap invariant: span of kind %d (pfree %d) in a %s arena, cross %d\n",
                            s->kind, s->pfree, a->noscan ? "pointer-free" : "scanned", s->cross);
                    abort();
                }
                cross += s->cross;
            } else {
                fprintf(stderr, "cgc: heap invariant: span in bad state %d\n", s->state);
                abort();
            }
            p = end;
        }
        if (cross != atomic_load(&a->cross)) {
            fprintf(stderr, "cgc: heap invariant: arena %p counts %u scanned spans, holds %u\n", (void *)a->base,
                    atomic_load(&a->cross), cross);
            abort();
        }
    }
    if (inuse != atomic_load(&cgc__mem.heap_inuse) || freeb != atomic_load(&cgc__mem.heap_free) ||
        rel != atomic_load(&cgc__mem.heap_released) || sys != atomic_load(&cgc__mem.heap_sys)) {
        fprintf(stderr,
                "cgc: heap invariant: counters disagree: inuse %llu/%llu free %llu/%llu "
                "released %llu/%llu sys %llu/%llu\n",
                (unsigned long long)inuse, (unsigned long long)atomic_load(&cgc__mem.heap_inuse),
                (unsigned long long)freeb, (unsigned long long)atomic_load(&cgc__mem.heap_free),
                (unsigned long long)rel, (unsigned long long)atomic_load(&cgc__mem.heap_released),
                (unsigned long long)sys, (unsigned long long)atomic_load(&cgc__mem.heap_sys));
        abort();
    }
}
