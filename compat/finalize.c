/* finalize.c — libgc's finalizers and disappearing links on cgc's
 * finalization (src/finalize.c).
 *
 * Finalizers. GC_register_finalizer and its variants set a cgc finalizer in
 * one of the core's modes (ordered, ignore_self, no_order: see
 * cgc__finalizer_set), and return the one replaced. cgc's own finalizer
 * thread is held (cgc__finalizer_held): as in libgc, ready finalizers run in
 * a program thread, the first that enters the library after the collection
 * that found them (compat_sync), or only in GC_invoke_finalizers when
 * GC_finalize_on_demand is set (GC_finalizer_notifier is then called once
 * per collection that left some ready). A single-threaded libgc program
 * therefore never sees a finalizer run concurrently with itself.
 *
 * Disappearing links. Two tables (short and long links, as libgc's), each
 * a hash of link address -> object in pages the collector does not scan
 * (below). The core calls pause_hook in every pause, world stopped: at
 * stage 0, before anything is marked for finalizers, a short link whose
 * object is unmarked is cleared and removed (its object is about to be
 * finalized or freed); at stage 1, after, a long link whose object is
 * still unmarked is cleared (it is freed by this cycle's sweep). A link
 * that lies inside a heap object that is unmarked at that point is removed
 * without being written (libgc drops dangling links too). Program threads
 * take links_lock only inside a cgc section, so no stopped thread holds it
 * during the pause; the hook neither frees nor maps anything (a stopped
 * thread may hold malloc's lock).
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- finalizers -------------------------------------------------------- */

typedef void (*fin_proc)(void *obj, void *cd);

static void register_fin(void *obj, fin_proc fn, void *cd, fin_proc *ofn, void **ocd, int mode,
                         const char *name)
{
    cgc_finalizer old_fn = NULL;
    void *old_cd = NULL;
    void *base = obj ? cgc_base(obj) : NULL;
    /* libgc: a pointer that is not the start of a heap object is ignored. */
    if (base && base == obj &&
        cgc__finalizer_set(obj, (cgc_finalizer)fn, cd, mode, &old_fn, &old_cd) != 0 && fn) {
        char why[80];
        snprintf(why, sizeof why, "cannot record the finalizer of %p (out of memory)", obj);
        compat_unsupported(name, why);
    }
    if (ofn)
        *ofn = (fin_proc)old_fn;
    if (ocd)
        *ocd = old_cd;
}

GCAPI void GC_register_finalizer(void *obj, fin_proc fn, void *cd, fin_proc *ofn, void **ocd)
{
    register_fin(obj, fn, cd, ofn, ocd, CGC__FIN_ORDERED, "GC_register_finalizer");
}

GCAPI void GC_register_finalizer_ignore_self(void *obj, fin_proc fn, void *cd, fin_proc *ofn, void **ocd)
{
    register_fin(obj, fn, cd, ofn, ocd, CGC__FIN_IGNORE_SELF, "GC_register_finalizer_ignore_self");
}

GCAPI void GC_register_finalizer_no_order(void *obj, fin_proc fn, void *cd, fin_proc *ofn, void **ocd)
{
    register_fin(obj, fn, cd, ofn, ocd, CGC__FIN_NO_ORDER, "GC_register_finalizer_no_order");
}

GCAPI void GC_register_finalizer_unreachable(void *obj, fin_proc fn, void *cd, fin_proc *ofn, void **ocd)
{
    register_fin(obj, fn, cd, ofn, ocd, CGC__FIN_UNREACHABLE, "GC_register_finalizer_unreachable");
}

GCAPI void GC_debug_register_finalizer_unreachable(void *obj, fin_proc fn, void *cd, fin_proc *ofn, void **ocd)
{
    GC_register_finalizer_unreachable(obj, fn, cd, ofn, ocd);
}

/* The debug variants: this layer has no debug headers, so they are the same. */
GCAPI void GC_debug_register_finalizer(void *obj, fin_proc fn, void *cd, fin_proc *ofn, void **ocd)
{
    GC_register_finalizer(obj, fn, cd, ofn, ocd);
}

GCAPI void GC_debug_register_finalizer_ignore_self(void *obj, fin_proc fn, void *cd, fin_proc *ofn, void **ocd)
{
    GC_register_finalizer_ignore_self(obj, fn, cd, ofn, ocd);
}

GCAPI void GC_debug_register_finalizer_no_order(void *obj, fin_proc fn, void *cd, fin_proc *ofn, void **ocd)
{
    GC_register_finalizer_no_order(obj, fn, cd, ofn, ocd);
}

int compat_pending_finalizers(void)
{
    uint64_t fq, fr, cq, cr;
    cgc__finalize_counts(&fq, &fr, &cq, &cr);
    return fq > fr;
}

GCAPI int GC_should_invoke_finalizers(void)
{
    return compat_pending_finalizers();
}

static __thread int in_finalizers;   /* a finalizer that allocates does not recurse */

GCAPI int GC_invoke_finalizers(void)
{
    if (in_finalizers)
        return 0;
    uint64_t fq, before, after, cq, cr;
    cgc__finalize_counts(&fq, &before, &cq, &cr);
    in_finalizers = 1;
    cgc_run_finalizers();
    in_finalizers = 0;
    cgc__finalize_counts(&fq, &after, &cq, &cr);
    return (int)(after - before);
}

/* gc_disclaim.h's finalized objects: libgc keeps the closure in a word
 * before the object and finalizes it, unordered, from its sweep. Here the
 * word is the same (GC_base of the object is that word, as in libgc) and
 * the finalizer is a no_order one, run after the collection like any other
 * (the object stays allocated until it has run: a little later than
 * libgc frees it, never sooner). */
struct finalizer_closure {
    fin_proc proc;
    void *cd;
};

static void run_closure(void *base, void *unused)
{
    (void)unused;
    const struct finalizer_closure *fc = *(struct finalizer_closure **)base;
    if (fc && fc->proc)
        fc->proc((void **)base + 1, fc->cd);
}

void *GC_malloc(size_t n);   /* alloc.c */

GCAPI void GC_init_finalized_malloc(void) {}

GCAPI void *GC_finalized_malloc(size_t n, const struct finalizer_closure *fc)
{
    if (n > SIZE_MAX - sizeof(void *))
        n = SIZE_MAX - sizeof(void *);   /* fails in GC_malloc, through GC_oom_fn */
    void **p = GC_malloc(n + sizeof(void *));
    if (!p)
        return NULL;
    p[0] = (void *)fc;
    if (cgc__finalizer_set(p, (cgc_finalizer)run_closure, NULL, CGC__FIN_NO_ORDER, NULL, NULL) != 0)
        compat_unsupported("GC_finalized_malloc", "cannot record the finalizer (out of memory)");
    return p + 1;
}

/* Disclaim procedures (gc_disclaim.h). libgc calls a kind's proc from its
 * sweep for each unmarked object of the kind, and keeps the object when
 * the proc returns nonzero (to be disclaimed again when next found
 * unmarked). cgc's sweep calls no program code, so an object allocated in
 * such a kind gets a no_order finalizer (run_disclaim) that calls the proc
 * after the collection that found it unreachable, like any finalizer here
 * (compat_sync), and registers itself again when the proc keeps the
 * object. What the object references stays marked until the proc has run
 * (libgc's mark_from_all = 1; with 0, libgc may free those earlier: cgc
 * keeps more, never less). The object is freed a collection after libgc
 * would free it. */
typedef int (*disclaim_proc)(void *);
static _Atomic(disclaim_proc) disclaim_procs[COMPAT_MAX_KINDS];
_Atomic int compat_disclaim_kinds;   /* any proc registered: alloc.c looks further */

static void run_disclaim(void *obj, void *kind)
{
    disclaim_proc proc = atomic_load(&disclaim_procs[(uintptr_t)kind]);
    if (proc && proc(obj) != 0)
        compat_disclaim_track(obj, (int)(uintptr_t)kind);
}

/* obj: a new object of kind k (its base), from alloc.c. */
void compat_disclaim_track(void *obj, int k)
{
    if (!atomic_load_explicit(&disclaim_procs[k], memory_order_relaxed))
        return;
    if (cgc__finalizer_set(obj, (cgc_finalizer)run_disclaim, (void *)(uintptr_t)k, CGC__FIN_NO_ORDER, NULL,
                           NULL) != 0)
        compat_unsupported("GC_register_disclaim_proc", "cannot record the object's disclaim (out of memory)");
}

GCAPI void GC_register_disclaim_proc(int k, disclaim_proc proc, int mark_from_all)
{
    (void)mark_from_all;   /* always as 1: see above */
    if (k < 0 || k >= COMPAT_MAX_KINDS || (k >= COMPAT_FIRST_KIND && !compat_kind_valid(k))) {
        char why[64];
        snprintf(why, sizeof why, "kind %d was never made by GC_new_kind", k);
        compat_unsupported("GC_register_disclaim_proc", why);
    }
    atomic_store(&disclaim_procs[k], proc);
    if (proc)
        atomic_store(&compat_disclaim_kinds, 1);
}

/* Every finalizer, reachable or not, until none is left (a finalizer may
 * register another). */
GCAPI void GC_finalize_all(void)
{
    for (;;) {
        size_t n = cgc__finalize_all();
        GC_invoke_finalizers();
        if (n == 0)
            break;
    }
}

void compat_after_collection(void)
{
    if (!compat_pending_finalizers())
        return;
    if (GC_finalize_on_demand) {
        compat_notifier f = GC_finalizer_notifier;
        if (f)
            f();
        return;
    }
    GC_invoke_finalizers();
}

/* ---- disappearing links ------------------------------------------------ */

/* A table is an open-addressing hash (linear probing) of link -> object
 * pairs in pages of its own, mapped from the OS (cgc__os_map), counted in
 * memstats' other_sys (and so under CGC_MEMLIMIT), and unmapped when the
 * table is resized. Not in malloc: Guile keeps ~50,000 links at once, and
 * one malloc'd record each (with a bucket array) left its brk heap 1 MB
 * larger than on libgc for good (fragmented, never returned), which made
 * its peak RSS higher than libgc's (tests/compat/real/guile.sh). 16 bytes a
 * link at a load between 11/32 and 3/4, no allocation per link, and the
 * pause removes entries in place without freeing anything. The pages are
 * not scanned (metadata), so neither address keeps anything alive. */
typedef struct link_slot {
    uintptr_t link;   /* the location (a program's word); 0: the slot is empty */
    uintptr_t obj;    /* the base of the object it names */
} link_slot;

typedef struct link_table {
    link_slot *slots;
    size_t     cap;     /* a power of two, or 0 */
    size_t     count;
} link_table;

#define LINKS_MIN_CAP 256   /* 4 KiB: one page */

static pthread_mutex_t links_lock = PTHREAD_MUTEX_INITIALIZER;
static link_table tables[2];   /* 0 short, 1 long */

static size_t home_of(const link_table *t, uintptr_t link)
{
    return (size_t)(((link >> 3) * 0x9E3779B97F4A7C15ull) >> (64 - __builtin_ctzl(t->cap)));
}

/* The slot holding link, or SIZE_MAX. */
static size_t find(const link_table *t, uintptr_t link)
{
    if (!t->cap)
        return SIZE_MAX;
    for (size_t i = home_of(t, link);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].link == link)
            return i;
        if (!t->slots[i].link)
            return SIZE_MAX;
    }
}

/* Capacity is there (the table never fills: see fits). */
static void put(link_table *t, uintptr_t link, uintptr_t obj)
{
    size_t i = home_of(t, link);
    while (t->slots[i].link)
        i = (i + 1) & (t->cap - 1);
    t->slots[i].link = link;
    t->slots[i].obj = obj;
    t->count++;
}

/* Empties slot i and moves back the entries after it that would no longer
 * be found (their probe from home passed through i); no tombstones. An
 * entry moves only to a lower slot, or from the start of the array to its
 * end, so a scan from slot 0 that looks at slot i again after a removal
 * sees every entry (some twice). */
static void remove_at(link_table *t, size_t i)
{
    size_t mask = t->cap - 1;
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        if (!t->slots[j].link)
            break;
        size_t home = home_of(t, t->slots[j].link);
        /* j's entry may fill the hole at i unless its home lies in (i, j]. */
        bool home_after_hole = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!home_after_hole) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].link = 0;
    t->slots[i].obj = 0;
    t->count--;
}

/* A new array of cap slots with every entry; false (the old one kept) if
 * the pages cannot be had. */
static bool resize(link_table *t, size_t cap)
{
    link_slot *s = cgc__os_map(cap * sizeof *s);
    if (!s)
        return false;
    atomic_fetch_add(&cgc__mem.other_sys, cap * sizeof *s);
    link_table nt = {s, cap, 0};
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].link)
            put(&nt, t->slots[i].link, t->slots[i].obj);
    if (t->slots) {
        cgc__os_unmap(t->slots, t->cap * sizeof *t->slots);
        atomic_fetch_sub(&cgc__mem.other_sys, t->cap * sizeof *t->slots);
    }
    *t = nt;
    return true;
}

/* Room for one more entry: grows at a load of 3/4; when it cannot, an entry
 * still goes in while one slot stays empty (probes end there). */
static bool fits(link_table *t)
{
    if (!t->cap)
        return resize(t, LINKS_MIN_CAP);
    if ((t->count + 1) * 4 > t->cap * 3 && !resize(t, t->cap * 2))
        return t->count + 2 <= t->cap;
    return true;
}

/* After removals outside the pause: a table under 11/32 full is halved
 * (to at most 11/16, under the 3/4 that grows it), so the pages of a
 * burst of links go back to the OS. A resize moves every entry, and at
 * least 1/32 of the capacity in registrations or removals separates two
 * of them, so a program hovering at a boundary pays a few slot moves per
 * call. (Guile ends with 21,800 of its 36,000 links: 512 KB back, which
 * took its peak RSS from above libgc's to below.) */
static void maybe_shrink(link_table *t)
{
    if (t->cap > LINKS_MIN_CAP && t->count * 32 < t->cap * 11)
        resize(t, t->cap / 2);
}

/* Runs body under links_lock inside a cgc section (see the top of the
 * file). */
#define WITH_LINKS(body)                                   \
    do {                                                   \
        cgc__thread *self_ = compat_registered_self();     \
        cgc__enter(self_);                                 \
        pthread_mutex_lock(&links_lock);                   \
        body;                                              \
        pthread_mutex_unlock(&links_lock);                 \
        cgc__leave(self_);                                 \
    } while (0)

static int register_link(int which, void **link, const void *obj, const char *name)
{
    if (!link || ((uintptr_t)link & (sizeof(void *) - 1)))
        compat_unsupported(name, "the link is NULL or not word-aligned");
    void *base = obj ? cgc_base(obj) : NULL;
    if (!base)
        compat_unsupported(name, "the object is not in the collected heap");
    compat_sync();
    int rc;
    WITH_LINKS({
        link_table *t = &tables[which];
        /* Shrinks left over from the pause's removals first. */
        maybe_shrink(t);
        size_t i = find(t, (uintptr_t)link);
        if (i != SIZE_MAX) {
            t->slots[i].obj = (uintptr_t)base;   /* libgc: re-registered to the new object */
            rc = GC_DUPLICATE_CODE;
        } else if (!fits(t)) {
            rc = GC_NO_MEMORY_CODE;
        } else {
            put(t, (uintptr_t)link, (uintptr_t)base);
            rc = GC_SUCCESS_CODE;
        }
    });
    return rc;
}

static int unregister_link(int which, void **link)
{
    if ((uintptr_t)link & (sizeof(void *) - 1))
        return 0;
    int found = 0;
    WITH_LINKS({
        link_table *t = &tables[which];
        size_t i = find(t, (uintptr_t)link);
        if (i != SIZE_MAX) {
            remove_at(t, i);
            found = 1;
        }
        maybe_shrink(t);
    });
    return found;
}

static int move_link(int which, void **link, void **new_link, const char *name)
{
    if ((uintptr_t)new_link & (sizeof(void *) - 1) || !new_link)
        compat_unsupported(name, "the new link is NULL or not word-aligned");
    if ((uintptr_t)link & (sizeof(void *) - 1))
        return GC_NOT_FOUND_CODE;
    int rc;
    WITH_LINKS({
        link_table *t = &tables[which];
        size_t i = find(t, (uintptr_t)link);
        if (i == SIZE_MAX) {
            rc = GC_NOT_FOUND_CODE;
        } else if (link == new_link) {
            rc = GC_SUCCESS_CODE;
        } else if (find(t, (uintptr_t)new_link) != SIZE_MAX) {
            rc = GC_DUPLICATE_CODE;
        } else {
            /* Removing one entry leaves room for another: no growth. */
            uintptr_t obj = t->slots[i].obj;
            remove_at(t, i);
            put(t, (uintptr_t)new_link, obj);
            rc = GC_SUCCESS_CODE;
        }
    });
    return rc;
}

GCAPI int GC_general_register_disappearing_link(void **link, const void *obj)
{
    return register_link(0, link, obj, "GC_general_register_disappearing_link");
}

GCAPI int GC_register_disappearing_link(void **link)
{
    return register_link(0, link, cgc_base(link), "GC_register_disappearing_link");
}

GCAPI int GC_register_long_link(void **link, const void *obj)
{
    return register_link(1, link, obj, "GC_register_long_link");
}

GCAPI int GC_unregister_disappearing_link(void **link) { return unregister_link(0, link); }
GCAPI int GC_unregister_long_link(void **link) { return unregister_link(1, link); }

GCAPI int GC_move_disappearing_link(void **link, void **new_link)
{
    return move_link(0, link, new_link, "GC_move_disappearing_link");
}

GCAPI int GC_move_long_link(void **link, void **new_link)
{
    return move_link(1, link, new_link, "GC_move_long_link");
}

/* World stopped (see the top of the file). Removes entries in place
 * (remove_at: nothing is freed or mapped here); a removal moves a later
 * entry into slot i, which is looked at again. */
static void pause_hook(int stage)
{
    if (stage == 0)
        compat_toggleref_clear();   /* weak toggle-refs go with short links */
    link_table *t = &tables[stage];
    for (size_t i = 0; i < t->cap;) {
        link_slot *e = &t->slots[i];
        if (!e->link) {
            i++;
            continue;
        }
        void *holder = cgc_base((void *)e->link);
        bool dangling = holder && !cgc__mark_is_marked((uintptr_t)holder);
        bool gone = !cgc__mark_is_marked(e->obj);
        if (!dangling && !gone) {
            i++;
            continue;
        }
        if (!dangling)
            *(void **)e->link = NULL;
        remove_at(t, i);
    }
}

/* fork: the child gets the table unlocked and consistent. Registered
 * before cgc's own handlers (compat_register_atfork, from the constructor
 * that runs before cgc starts), so links_lock is taken after cgc's prepare
 * handler has held off collections: a thread waiting for it inside a
 * section is then never waited for by a collector. */
static void links_prepare(void) { pthread_mutex_lock(&links_lock); }
static void links_release(void) { pthread_mutex_unlock(&links_lock); }

void compat_register_atfork(void)
{
    pthread_atfork(links_prepare, links_release, links_release);
}

void compat_finalize_init(void)
{
    atomic_store(&cgc__finalizer_held, 1);
    cgc__set_pause_hook(pause_hook);
}
