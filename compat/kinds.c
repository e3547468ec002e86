/* kinds.c — libgc's custom kinds, mark descriptors and mark procedures,
 * and the push functions, on cgc's callback-marked objects (gc_mark.h).
 *
 * An object of a kind made by GC_new_kind is a cgc object of kind
 * CGC_KIND_PROC, which the core never scans: when the mark reaches it, the
 * core calls scan_object (below) on a marker thread, with the world
 * stopped, and scan_object follows the kind's descriptor exactly as
 * libgc's marker would: a length (the first bytes, conservatively), a
 * bitmap (only the words it names), a mark procedure (the program's
 * function, which reports pointers through GC_mark_and_push), or a
 * descriptor stored in the object or in its type (per-object: gcj's
 * vtables). So what a kind says is not a pointer does not keep anything
 * alive, and what a procedure reports does even if it is hidden from a
 * conservative scan.
 *
 * The kind of an object. libgc's objects carry no header and neither do
 * cgc's, and cgc's spans are shared by every callback kind, so this layer
 * adds a trailer: the last word of the object's slot holds its kind + 1,
 * and the typed kinds (typed.c) keep their descriptor in the words before
 * it. The program never sees the trailer (GC_size leaves it out). A
 * collection that comes between the allocation and the writing of the
 * trailer finds 0 there and scans the fresh (zeroed) object
 * conservatively: more is kept, never less.
 *
 * GC_mark_and_push marks at once, through the core, instead of filling
 * the mark stack libgc's procedures are handed: a libgc 8.2.2 program can
 * only push through it (gc_mark.h makes GC_ms_entry opaque and exports no
 * way to signal an overflow), so the stack pointer it gets back is the one
 * it passed in. Objects marked that way are pushed on the marker's own
 * stack: a long chain of such objects costs stack entries, never
 * recursion, and an overflow is recovered by the core's rescan.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>

typedef uintptr_t word;
typedef void *(*mark_proc)(word *addr, void *msp, void *lim, word env);

#define DS_TAGS 3
#define DS_LENGTH 0
#define DS_BITMAP 1
#define DS_PROC 2
#define DS_PER_OBJECT 3
#define LOG_MAX_PROCS 6
#define MAX_PROCS (1 << LOG_MAX_PROCS)
#define RESERVED_PROCS 8
#define INDIR_PER_OBJ_BIAS 0x10

/* Kind 0-3 are libgc's predefined ones (alloc.c); the rest are made here. */
typedef struct kind {
    word descr;          /* the template */
    int  adjust;         /* add the object's size to it */
    int  trailer;        /* words at the end of the slot (the last: the kind + 1) */
    int  typed;          /* typed.c's kind: the descriptor is in the trailer */
    _Atomic int used;
} kind;

static kind kinds[COMPAT_MAX_KINDS];
static int nkinds = COMPAT_FIRST_KIND;
static mark_proc _Atomic procs[MAX_PROCS];
static int nprocs = RESERVED_PROCS;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* A stand-in mark stack for the procedures (see above). */
static __thread struct { void *a, *b; } ms_dummy[2];

/* ---- making kinds and procedures ---------------------------------------- */

GCAPI void **GC_new_free_list_inner(void)
{
    /* libgc's free lists hold objects it considers free; a program that
     * fills one itself (gc_inline.h, from GC_generic_malloc_many) holds
     * objects cgc considers allocated, so the list is scanned. */
    return cgc_malloc_uncollectable((COMPAT_FREE_LIST_LEN) * sizeof(void *));
}

GCAPI void **GC_new_free_list(void) { return GC_new_free_list_inner(); }

int compat_new_kind(word descr, int adjust, int trailer, int typed)
{
    pthread_mutex_lock(&table_lock);
    int k = nkinds;
    if (k == COMPAT_MAX_KINDS) {
        pthread_mutex_unlock(&table_lock);
        fprintf(stderr, "libgc compat: GC_new_kind: too many kinds (%d)\n", COMPAT_MAX_KINDS);
        abort();
    }
    kinds[k].descr = descr;
    kinds[k].adjust = adjust;
    kinds[k].trailer = trailer;
    kinds[k].typed = typed;
    atomic_store(&kinds[k].used, 1);
    nkinds = k + 1;
    pthread_mutex_unlock(&table_lock);
    return k;
}

GCAPI unsigned GC_new_kind_inner(void **fl, word descr, int adjust, int clear)
{
    (void)fl;      /* cgc's allocator keeps its own lists */
    (void)clear;   /* cgc's objects are always cleared */
    return (unsigned)compat_new_kind(descr, adjust != 0, 1, 0);
}

GCAPI unsigned GC_new_kind(void **fl, word descr, int adjust, int clear)
{
    return GC_new_kind_inner(fl, descr, adjust, clear);
}

GCAPI unsigned GC_new_proc_inner(mark_proc p)
{
    pthread_mutex_lock(&table_lock);
    int i = nprocs;
    if (i == MAX_PROCS) {
        pthread_mutex_unlock(&table_lock);
        fprintf(stderr, "libgc compat: GC_new_proc: too many mark procedures (%d)\n", MAX_PROCS);
        abort();
    }
    atomic_store(&procs[i], p);
    nprocs = i + 1;
    pthread_mutex_unlock(&table_lock);
    return (unsigned)i;
}

GCAPI unsigned GC_new_proc(mark_proc p) { return GC_new_proc_inner(p); }

/* GC_init_gcj_malloc's procedure goes to a reserved index of its choice. */
void compat_set_proc(unsigned i, void *p)
{
    if (i < MAX_PROCS)
        atomic_store(&procs[i], (mark_proc)p);
}

/* ---- allocation --------------------------------------------------------- */

bool compat_kind_valid(int k)
{
    return k >= COMPAT_FIRST_KIND && k < COMPAT_MAX_KINDS && atomic_load(&kinds[k].used);
}

/* m bytes of kind k (valid), the trailer added and its kind word set. */
void *compat_kind_alloc(size_t m, int k)
{
    size_t extra = (size_t)kinds[k].trailer * sizeof(word);
    if (m > SIZE_MAX - extra - CGC_PAGE_SIZE)
        return NULL;
    char *p = cgc__malloc_proc(m + extra);
    if (!p)
        return NULL;
    word *tag = (word *)(p + cgc_size(p)) - 1;
    *tag = (word)k + 1;
    return p;
}

/* The kind of a callback-marked object (its start), or -1 if not yet set. */
static int kind_at(uintptr_t base, size_t size)
{
    word tag = *((const word *)(base + size) - 1);
    if (tag == 0 || tag > COMPAT_MAX_KINDS || !atomic_load_explicit(&kinds[tag - 1].used, memory_order_relaxed))
        return -1;
    return (int)tag - 1;
}

int compat_kind_of(const void *base, size_t *usable)
{
    cgc__span *s = cgc__span_of((uintptr_t)base);
    if (!s || s->kind != CGC_KIND_PROC)
        return -1;
    size_t size = cgc_size(base);
    int k = kind_at((uintptr_t)base, size);
    if (usable)
        *usable = k < 0 ? size : size - (size_t)kinds[k].trailer * sizeof(word);
    return k;
}

/* The trailer of an object of kind k: its last word (the kind). */
word *compat_kind_trailer(void *p)
{
    return (word *)((char *)p + cgc_size(p)) - 1;
}

/* ---- marking ------------------------------------------------------------ */

/* Follows descriptor d over the object (or element) at base, len bytes. */
static void apply_descr(uintptr_t base, size_t len, word d, int depth)
{
    switch (d & DS_TAGS) {
    case DS_LENGTH:
        cgc__mark_push_range(base, base + (d < len ? d : len));
        return;
    case DS_BITMAP: {
        /* The most significant bit is the first word. */
        const word *w = (const word *)base;
        size_t n = len / sizeof(word);
        word bits = d & ~(word)DS_TAGS;
        for (size_t i = 0; bits && i < n; i++, bits <<= 1)
            if (bits >> (sizeof(word) * 8 - 1))
                cgc__mark_push_word(w[i]);
        return;
    }
    case DS_PROC: {
        mark_proc p = atomic_load_explicit(&procs[(d >> 2) & (MAX_PROCS - 1)], memory_order_relaxed);
        if (!p) {
            cgc__mark_push_range(base, base + len);
            return;
        }
        p((word *)base, &ms_dummy[0], &ms_dummy[1], d >> (LOG_MAX_PROCS + 2));
        return;
    }
    default: {   /* DS_PER_OBJECT */
        word off = d & ~(word)DS_TAGS;
        word at;
        if ((intptr_t)off >= 0) {
            if (off + sizeof(word) > len)
                break;
            at = base + off;
        } else {
            /* In the object's type: its first word points to it. */
            word type = *(const word *)base;
            if (type == 0)
                return;   /* not set yet: a fresh, zeroed object */
            cgc__mark_push_word(type);
            at = type - off - INDIR_PER_OBJ_BIAS;
        }
        if (depth > 0) {
            apply_descr(base, len, *(const word *)at, depth - 1);
            return;
        }
        break;
    }
    }
    cgc__mark_push_range(base, base + len);   /* nested per-object: scan it all */
}

void compat_apply_descr(uintptr_t base, size_t len, word d)
{
    apply_descr(base, len, d, 1);
}

void compat_typed_scan(uintptr_t base, size_t usable, const word *trailer);

/* The core's callback for every marked object of kind CGC_KIND_PROC. */
static void scan_object(uintptr_t base, size_t size)
{
    int k = kind_at(base, size);
    if (k < 0) {
        cgc__mark_push_range(base, base + size);
        return;
    }
    const kind *kd = &kinds[k];
    size_t usable = size - (size_t)kd->trailer * sizeof(word);
    if (kd->typed) {
        compat_typed_scan(base, usable, (const word *)(base + size) - 1);
        return;
    }
    word d = kd->adjust ? kd->descr + usable : kd->descr;
    apply_descr(base, usable, d, 1);
}

GCAPI void *GC_mark_and_push(void *obj, void *msp, void *lim, void **src)
{
    (void)lim;
    (void)src;
    cgc__mark_push_word((uintptr_t)obj);
    return msp;
}

/* ---- the push functions and GC_push_other_roots ------------------------- */

/* Inside a mark callback or GC_push_other_roots the range is queued for a
 * conservative scan; anywhere else there is no mark to push to (libgc
 * requires them to be called from one). */
GCAPI void GC_push_all(void *lo, void *hi) { cgc__mark_push_range((uintptr_t)lo, (uintptr_t)hi); }
GCAPI void GC_push_all_eager(void *lo, void *hi) { cgc__mark_push_range((uintptr_t)lo, (uintptr_t)hi); }
GCAPI void GC_push_conditional(void *lo, void *hi, int all)
{
    (void)all;   /* no incremental mode: every page counts as dirty */
    cgc__mark_push_range((uintptr_t)lo, (uintptr_t)hi);
}

/* The core's extra roots: the strong toggle-refs (toggleref.c), and the
 * program's GC_push_other_roots (a data symbol, so read at every
 * collection). */
static void push_other_roots(void)
{
    compat_toggleref_mark();
    void (*f)(void) = GC_push_other_roots;
    if (f && f != compat_default_push_other_roots)
        f();
}

/* ---- mark bits ---------------------------------------------------------- */

/* Inside a mark callback they are the current mark's bits. Outside one,
 * cgc's bits are reset by the sweep (libgc's: at the start of the next
 * collection): GC_is_marked reads them, and setting or clearing one does
 * nothing — clearing the bit of a live object before its span is swept
 * would free it, and a bit set on a swept span would hide the object's
 * children from the next mark. */
static int mark_bit(const void *p, int op)
{
    if (cgc__mark_in_callback())
        return cgc__mark_bit((uintptr_t)p, op);
    if (op != 0)
        return 0;
    cgc__thread *t = cgc__enter_self();
    int r = cgc__mark_bit((uintptr_t)p, 0);
    cgc__leave_self(t);
    return r;
}

GCAPI int GC_is_marked(const void *p) { return mark_bit(p, 0); }
GCAPI void GC_set_mark_bit(const void *p) { mark_bit(p, 1); }
GCAPI void GC_clear_mark_bit(const void *p) { mark_bit(p, -1); }

void compat_kinds_init(void)
{
    cgc__set_proc_scan(scan_object);
    cgc__set_extra_roots(push_other_roots);
}
