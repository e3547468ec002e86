/* alloc.c — libgc's allocation functions on cgc's allocator.
 *
 * One past the end. libgc lets a pointer just past an object keep it alive
 * (GC_all_interior_pointers, on by default): it allocates one byte more
 * than asked. So does this layer, so a program that walks a pointer to the
 * end of its buffer and keeps only that does not lose the buffer. GC_size
 * reports the object's size with that byte, as libgc's does. A program
 * that turns GC_all_interior_pointers off (Neko's runtime does, before
 * GC_init) gives that guarantee up and gets objects of the size asked, as
 * on libgc: a 16-byte object then takes 16 bytes, not 32 (cgc still
 * recognises every interior pointer, which keeps more alive, never less).
 *
 * The hard cap. GC_set_max_heap_size (or GC_MAXIMUM_HEAP_SIZE) is a hard
 * limit in libgc: past it, allocation fails (GC_oom_fn). cgc's own limit
 * is soft, so the cap is checked here against the bytes of live and not yet
 * swept objects (cgc's heap_live): over it, one collection, then GC_oom_fn.
 *
 * Kinds. libgc's four predefined kinds map onto cgc's three: the atomic
 * uncollectable kind becomes cgc's uncollectable (scanned) kind, which can
 * only keep more alive, never less.
 */
#include "compat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

_Atomic uint64_t compat_max_heap;

/* libgc's predefined kinds (gc_mark.h's GC_I_PTRFREE, GC_I_NORMAL; the
 * uncollectable ones follow). */
enum { KIND_PTRFREE = 0, KIND_NORMAL = 1, KIND_UNCOLLECTABLE = 2, KIND_AUNCOLLECTABLE = 3 };

static void *out_of_memory(size_t n)
{
    compat_oom_fn f = GC_oom_fn;
    errno = ENOMEM;
    return f ? f(n) : NULL;
}

static bool over_cap(size_t m)
{
    uint64_t cap = atomic_load_explicit(&compat_max_heap, memory_order_relaxed);
    return cap && atomic_load_explicit(&cgc__gc.heap_live, memory_order_relaxed) + m > cap;
}

typedef struct alloc_req {
    size_t n;
    int kind;
} alloc_req;
static void *alloc_kind(size_t n, int kind);
static void *alloc_req_run(void *a)
{
    const alloc_req *r = a;
    return alloc_kind(r->n, r->kind);
}

static void *alloc_kind(size_t n, int kind)
{
    /* libgc forbids allocating inside GC_do_blocking without
     * GC_call_with_gc_active; a program that does it anyway gets the
     * call made for it, rather than an allocation racing a collection
     * that does not stop it. */
    if (UNLIKELY(cgc__in_blocking())) {
        alloc_req r = {n, kind};
        return cgc__call_active(alloc_req_run, &r);
    }
    compat_sync();
    if (n >= SIZE_MAX - CGC_PAGE_SIZE)
        return out_of_memory(n);
    size_t m = n + compat_extra_byte();   /* one past the end stays inside */
    if (UNLIKELY(over_cap(m))) {
        if (!GC_dont_gc) {
            cgc_collect();
            compat_sync();
        }
        if (over_cap(m))
            return out_of_memory(n);
    }
    void *p;
    switch (kind) {
    case KIND_PTRFREE: p = cgc_malloc_atomic(m); break;
    case KIND_NORMAL: p = cgc_malloc(m); break;
    case KIND_UNCOLLECTABLE:
    case KIND_AUNCOLLECTABLE: p = cgc_malloc_uncollectable(m); break;
    default: {
        if (!compat_kind_valid(kind)) {
            char why[64];
            snprintf(why, sizeof why, "kind %d was never made by GC_new_kind", kind);
            compat_unsupported("GC_generic_malloc", why);
        }
        p = compat_kind_alloc(m, kind);
    }
    }
    if (!p)
        return out_of_memory(n);
    if (UNLIKELY(atomic_load_explicit(&compat_disclaim_kinds, memory_order_relaxed)))
        compat_disclaim_track(p, kind);
    return p;
}

void *compat_alloc(size_t n, int kind) { return alloc_kind(n, kind); }

GCAPI void *GC_malloc(size_t n) { return alloc_kind(n, KIND_NORMAL); }
GCAPI void *GC_malloc_atomic(size_t n) { return alloc_kind(n, KIND_PTRFREE); }
GCAPI void *GC_malloc_uncollectable(size_t n) { return alloc_kind(n, KIND_UNCOLLECTABLE); }
GCAPI void *GC_malloc_atomic_uncollectable(size_t n) { return alloc_kind(n, KIND_AUNCOLLECTABLE); }
/* cgc recognises every interior pointer, so "ignore off page" changes nothing. */
GCAPI void *GC_malloc_ignore_off_page(size_t n) { return alloc_kind(n, KIND_NORMAL); }
GCAPI void *GC_malloc_atomic_ignore_off_page(size_t n) { return alloc_kind(n, KIND_PTRFREE); }
GCAPI void *GC_malloc_stubborn(size_t n) { return alloc_kind(n, KIND_NORMAL); }
GCAPI void *GC_generic_malloc(size_t n, int k) { return alloc_kind(n, k); }
GCAPI void *GC_generic_malloc_ignore_off_page(size_t n, int k) { return alloc_kind(n, k); }
GCAPI void *GC_generic_or_special_malloc(size_t n, int k) { return alloc_kind(n, k); }
GCAPI void *GC_malloc_kind(size_t n, int k) { return alloc_kind(n, k); }
GCAPI void *GC_malloc_kind_global(size_t n, int k) { return alloc_kind(n, k); }

GCAPI void *GC_generic_malloc_uncollectable(size_t n, int k)
{
    if (k != KIND_UNCOLLECTABLE && k != KIND_AUNCOLLECTABLE)
        compat_unsupported("GC_generic_malloc_uncollectable", "only the predefined uncollectable kinds are implemented");
    return alloc_kind(n, k);
}

/* A list of objects chained through their first word, about a page of
 * them (libgc hands out a free list's worth). */
static void *alloc_many(size_t n, int kind)
{
    if (n < sizeof(void *))
        n = sizeof(void *);
    size_t count = n >= 2048 ? 1 : 4096 / (n + compat_extra_byte());
    void *head = NULL;
    for (size_t i = 0; i < count; i++) {
        void **p = alloc_kind(n, kind);
        if (!p)
            break;
        *p = head;
        head = p;
    }
    return head;
}

GCAPI void *GC_malloc_many(size_t n) { return alloc_many(n, KIND_NORMAL); }

GCAPI void GC_generic_malloc_many(size_t n, int k, void **result)
{
    *result = alloc_many(n, k);
}

static void *free_run(void *p)
{
    void *base = cgc_base(p);
    if (base)
        cgc_free(base);
    return NULL;
}

GCAPI void GC_free(void *p)
{
    if (!p)
        return;
    if (UNLIKELY(cgc__in_blocking()))   /* as in alloc_kind */
        cgc__call_active(free_run, p);
    else
        free_run(p);
}

GCAPI void *GC_realloc(void *p, size_t n);

typedef struct realloc_req {
    void *p;
    size_t n;
} realloc_req;
static void *realloc_run(void *a)
{
    const realloc_req *r = a;
    return GC_realloc(r->p, r->n);
}

GCAPI void *GC_realloc(void *p, size_t n)
{
    if (UNLIKELY(cgc__in_blocking())) {   /* as in alloc_kind */
        realloc_req r = {p, n};
        return cgc__call_active(realloc_run, &r);
    }
    if (!p)
        return GC_malloc(n);
    if (n == 0) {
        GC_free(p);
        return NULL;
    }
    compat_sync();
    if (n >= SIZE_MAX - CGC_PAGE_SIZE)
        return out_of_memory(n);
    void *base = cgc_base(p);
    size_t usable;
    int k = base == p ? compat_kind_of(p, &usable) : -1;
    if (k >= 0) {
        /* A custom kind's object: its trailer is at the end of the slot. */
        void *q = alloc_kind(n, k);
        if (q) {
            size_t old = usable - compat_extra_byte();
            memcpy(q, p, old < n ? old : n);
            cgc_free(p);
        }
        return q;
    }
    if (base == p) {
        void *q = cgc_realloc(p, n + compat_extra_byte());   /* keeps p's kind */
        return q ? q : out_of_memory(n);
    }
    /* An aligned pointer from GC_memalign (or not ours at all). */
    size_t old = base ? cgc_size(base) - (size_t)((char *)p - (char *)base) - compat_extra_byte() : 0;
    void *q = GC_malloc(n);
    if (q && old)
        memcpy(q, p, old < n ? old : n);
    return q;
}

GCAPI char *GC_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *p = alloc_kind(n + 1, KIND_PTRFREE);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

GCAPI char *GC_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = alloc_kind(len + 1, KIND_PTRFREE);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* Alignments up to 16 are every cgc object's; larger ones return an aligned
 * pointer inside a bigger object, which keeps it alive (cgc follows
 * interior pointers) and which GC_base maps back to the object. */
GCAPI void *GC_memalign(size_t align, size_t n)
{
    if (align <= CGC_ALIGN)
        return GC_malloc(n);
    if (n > SIZE_MAX / 2 || align > SIZE_MAX / 4)
        return out_of_memory(n);
    char *p = GC_malloc(n + align - 1);
    if (!p)
        return NULL;
    uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    return (void *)a;
}

GCAPI int GC_posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = GC_memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

GCAPI void *GC_base(void *p) { return cgc_base(p); }

GCAPI size_t GC_size(const void *p)
{
    void *base = cgc_base(p);
    size_t usable;
    if (base && compat_kind_of(base, &usable) >= 0)
        return usable;   /* without the trailer (kinds.c) */
    return base ? cgc_size(base) : 0;
}

GCAPI int GC_is_heap_ptr(const void *p) { return cgc_base(p) != NULL; }

GCAPI int GC_get_kind_and_size(const void *p, size_t *psize)
{
    cgc__span *s = cgc__span_of((uintptr_t)p);
    if (psize)
        *psize = s ? s->elemsize : 0;
    if (!s)
        return KIND_PTRFREE;
    if (s->kind == CGC_KIND_PROC) {
        void *base = cgc_base(p);
        size_t usable = 0;
        int k = base ? compat_kind_of(base, &usable) : -1;
        if (psize)
            *psize = usable;
        return k >= 0 ? k : KIND_NORMAL;
    }
    return s->kind == CGC_KIND_ATOMIC ? KIND_PTRFREE
         : s->kind == CGC_KIND_UNCOLLECTABLE ? KIND_UNCOLLECTABLE : KIND_NORMAL;
}

/* The size of a request once rounded to cgc's size class, with the byte
 * added for one past the end (index i is in granules of 16 bytes). */
GCAPI size_t GC_get_size_map_at(int i)
{
    if (i < 0)
        return 0;
    size_t n = (size_t)i * CGC_ALIGN + compat_extra_byte();
    if (n > CGC_MAX_SMALL)
        return n;
    return cgc__classes[cgc__size_to_class(n)].size;
}

