/* typed.c — libgc's explicitly typed objects (gc_typed.h) and gcj-style
 * objects (gc_gcj.h), as kinds of kinds.c.
 *
 * Typed objects are marked exactly: only the words the type's bitmap names
 * are followed, so a stale pointer left in another word keeps nothing
 * alive, as in libgc. (Scanning the whole object conservatively would also
 * be correct, and retain more; a program that types its objects to keep
 * large non-pointer data from retaining memory would lose that.) The
 * descriptor travels with the object in its trailer (kinds.c): the words
 * before the kind are [element size, 0 for one object][descriptor]. A
 * descriptor is libgc's encoding: a length when every word up to the last
 * pointer may be one, a bitmap when the pointers lie in the first 62
 * words, else a mark procedure of this file's whose argument is a
 * bitmap kept for the rest of the run (as libgc keeps its descriptors).
 *
 * gcj objects hold a vtable pointer in their first word and their mark
 * descriptor at a fixed offset in the vtable: that is a per-object
 * descriptor of libgc's encoding, which kinds.c follows. The vtable itself
 * is kept alive too (it may be a heap object).
 */
#include "compat.h"

#include <stdlib.h>

typedef uintptr_t word;
#define WORD_BITS (sizeof(word) * 8)
#define DS_LENGTH 0
#define DS_BITMAP 1
#define DS_PROC 2
#define DS_PER_OBJECT 3
#define LOG_MAX_PROCS 6
#define INDIR_PER_OBJ_BIAS 0x10
#define GCJ_DESCR_OFFSET sizeof(word)   /* gc_gcj.h's MARK_DESCR_OFFSET */

GCAPI unsigned GC_new_proc_inner(void *(*)(word *, void *, void *, word));

static pthread_once_t typed_once = PTHREAD_ONCE_INIT;
static int typed_kind;
static unsigned bitmap_proc;

/* A bitmap too long for a descriptor word. */
typedef struct long_bitmap {
    size_t nwords;
    word bits[];
} long_bitmap;

static void *mark_long_bitmap(word *addr, void *msp, void *lim, word env)
{
    (void)lim;
    const long_bitmap *b = (const long_bitmap *)env;
    for (size_t i = 0; i < b->nwords; i++)
        if (b->bits[i / WORD_BITS] >> (i % WORD_BITS) & 1)
            cgc__mark_push_word(addr[i]);
    return msp;
}

static void typed_init(void)
{
    typed_kind = compat_new_kind(0, 0, 3, 1);
    bitmap_proc = GC_new_proc_inner(mark_long_bitmap);
}

/* gc_typed.h: bit i of bm (word i / WORD_BITS, bit i % WORD_BITS) says word
 * i of the object may be a pointer; len words are described. */
GCAPI word GC_make_descriptor(const word *bm, size_t len)
{
    pthread_once(&typed_once, typed_init);
    long last = -1;
    for (size_t i = 0; i < len; i++)
        if (bm[i / WORD_BITS] >> (i % WORD_BITS) & 1)
            last = (long)i;
    if (last < 0)
        return DS_LENGTH;   /* no pointers: nothing is scanned */
    bool all = true;
    for (long i = 0; i < last; i++)
        all &= bm[i / WORD_BITS] >> (i % WORD_BITS) & 1;
    if (all)
        return (word)(last + 1) * sizeof(word) | DS_LENGTH;
    if (last < (long)WORD_BITS - 2) {
        word d = 0;
        for (long i = 0; i <= last; i++)
            if (bm[i / WORD_BITS] >> (i % WORD_BITS) & 1)
                d |= (word)1 << (WORD_BITS - 1 - i);
        return d | DS_BITMAP;
    }
    size_t n = (size_t)last + 1;
    long_bitmap *b = malloc(sizeof *b + (n + WORD_BITS - 1) / WORD_BITS * sizeof(word));
    if (!b)
        return (word)n * sizeof(word) | DS_LENGTH;   /* conservative: more is kept, never less */
    b->nwords = n;
    for (size_t i = 0; i < (n + WORD_BITS - 1) / WORD_BITS; i++)
        b->bits[i] = bm[i];
    return ((word)b << (LOG_MAX_PROCS + 2)) | (word)bitmap_proc << 2 | DS_PROC;
}

static void *typed_alloc(size_t n, word d, size_t elem)
{
    pthread_once(&typed_once, typed_init);
    char *p = compat_alloc(n, typed_kind);
    if (p) {
        word *t = compat_kind_trailer(p);
        t[-1] = d;
        t[-2] = elem;
    }
    return p;
}

GCAPI void *GC_malloc_explicitly_typed(size_t n, word d) { return typed_alloc(n, d, 0); }
GCAPI void *GC_malloc_explicitly_typed_ignore_off_page(size_t n, word d) { return typed_alloc(n, d, 0); }

GCAPI void *GC_calloc_explicitly_typed(size_t count, size_t elem, word d)
{
    if (elem && count > (SIZE_MAX - CGC_PAGE_SIZE) / elem)
        return compat_alloc(SIZE_MAX, 1);   /* fails through GC_oom_fn */
    return typed_alloc(count * elem, d, elem);
}

/* kinds.c's scan of a typed object: usable bytes, trailer at its kind word. */
void compat_typed_scan(uintptr_t base, size_t usable, const word *trailer)
{
    word d = trailer[-1], elem = trailer[-2];
    if (elem == 0 || elem >= usable) {
        compat_apply_descr(base, usable, d);
        return;
    }
    for (size_t off = 0; off + elem <= usable; off += elem)
        compat_apply_descr(base + off, elem, d);
}

/* ---- gcj ----------------------------------------------------------------- */

extern int GC_gcj_kind, GC_gcj_debug_kind;
static pthread_mutex_t gcj_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int gcj_kind = -1;

/* mp, if any, becomes mark procedure mp_index (gc_gcj.h: descriptors in
 * vtables may name it). */
GCAPI void GC_init_gcj_malloc(int mp_index, void *mp)
{
    pthread_mutex_lock(&gcj_lock);
    if (mp && mp_index >= 0)
        compat_set_proc((unsigned)mp_index, mp);
    if (atomic_load(&gcj_kind) < 0) {
        word d = (word)(-(intptr_t)(GCJ_DESCR_OFFSET + INDIR_PER_OBJ_BIAS)) | DS_PER_OBJECT;
        int k = compat_new_kind(d, 0, 1, 0);
        GC_gcj_kind = GC_gcj_debug_kind = k;
        atomic_store(&gcj_kind, k);
    }
    pthread_mutex_unlock(&gcj_lock);
}

static void *gcj_alloc(size_t n, void *vtable)
{
    if (atomic_load(&gcj_kind) < 0)
        GC_init_gcj_malloc(-1, NULL);
    void **p = compat_alloc(n < sizeof(void *) ? sizeof(void *) : n, atomic_load(&gcj_kind));
    if (p)
        *p = vtable;
    return p;
}

GCAPI void *GC_gcj_malloc(size_t n, void *vtable) { return gcj_alloc(n, vtable); }
GCAPI void *GC_gcj_malloc_ignore_off_page(size_t n, void *vtable) { return gcj_alloc(n, vtable); }
GCAPI void *GC_debug_gcj_malloc(size_t n, void *vtable, const char *file, int line)
{
    (void)file;
    (void)line;
    return gcj_alloc(n, vtable);
}
