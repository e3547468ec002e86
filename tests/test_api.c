/* test_api.c — what a user of the allocation API relies on (SPEC §2–§5). */
#include "cgc.h"
#include "check.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>

static void test_malloc_zeroed_aligned(void)
{
    /* Dirty memory first, so that reuse has to zero it. */
    for (int round = 0; round < 3; round++) {
        for (size_t n = 1; n <= 70000; n = n * 3 / 2 + 1) {
            unsigned char *p = cgc_malloc(n);
            CHECK(p != NULL, "malloc(%zu)", n);
            if (!p)
                continue;
            CHECK(((uintptr_t)p % alignof(max_align_t)) == 0, "alignment of %zu: %p", n, (void *)p);
            size_t nz = 0;
            for (size_t i = 0; i < n; i++)
                nz += p[i] != 0;
            CHECK(nz == 0, "malloc(%zu) not zeroed (%zu bytes)", n, nz);
            CHECK(cgc_size(p) >= n, "cgc_size %zu < %zu", cgc_size(p), n);
            memset(p, 0xab, cgc_size(p));
            cgc_free(p);
        }
        cgc_collect();
    }
}

static void test_size_and_base(void)
{
    char *p = cgc_malloc(100);
    size_t sz = cgc_size(p);
    CHECK(sz >= 100 && sz <= 112, "size class of 100 is %zu", sz);
    CHECK(cgc_base(p) == p, "base of base");
    CHECK(cgc_base(p + 57) == p, "base of interior pointer");
    CHECK(cgc_base(p + sz - 1) == p, "base of last byte");
    CHECK(cgc_base(p + sz) != p, "one past the end is not this object");
    int local;
    CHECK(cgc_base(&local) == NULL, "stack address has no base");
    CHECK(cgc_size(&local) == 0, "stack address has no size");
    char *big = cgc_malloc(1 << 20);
    CHECK(cgc_base(big + 12345) == big, "base inside a large object");
    CHECK(cgc_size(big) >= (1 << 20), "large size");
}

static void test_overflow_and_huge(void)
{
    errno = 0;
    CHECK(cgc_calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM, "calloc overflow -> NULL/ENOMEM");
    errno = 0;
    CHECK(cgc_malloc(SIZE_MAX) == NULL && errno == ENOMEM, "malloc(SIZE_MAX) -> NULL/ENOMEM");
    errno = 0;
    CHECK(cgc_malloc(SIZE_MAX - 4096) == NULL && errno == ENOMEM, "malloc(SIZE_MAX-4096)");
    int *z = cgc_calloc(1000, sizeof(int));
    int nz = 0;
    for (int i = 0; i < 1000; i++)
        nz += z[i] != 0;
    CHECK(z && nz == 0, "calloc zeroed");
    void *m0 = cgc_malloc(0);
    CHECK(m0 != NULL && cgc_base(m0) == m0, "malloc(0) gives a unique object");
}

static void test_realloc_strdup(void)
{
    char *p = cgc_malloc(10);
    memcpy(p, "abcdefghi", 10);
    char *q = cgc_realloc(p, 5000);
    CHECK(q && memcmp(q, "abcdefghi", 10) == 0, "realloc keeps contents");
    char *r = cgc_realloc(q, 3);
    CHECK(r && memcmp(r, "abc", 3) == 0, "realloc shrink keeps prefix");
    char *n = cgc_realloc(NULL, 40);
    CHECK(n && cgc_size(n) >= 40, "realloc(NULL) is malloc");
    char *a = cgc_malloc_atomic(64);
    char *a2 = cgc_realloc(a, 100000);
    CHECK(a2 && cgc_base(a2) == a2, "realloc of atomic object");
    char *s = cgc_strdup("hello, world");
    CHECK(s && strcmp(s, "hello, world") == 0, "strdup");
    char *s2 = cgc_strndup("hello, world", 5);
    CHECK(s2 && strcmp(s2, "hello") == 0, "strndup");
    cgc_free(NULL);
}

static void test_free_bad_pointers(void)
{
    int local = 0;
    cgc_free(&local);              /* foreign: warning, nothing lost */
    char *m = malloc(32);
    cgc_free(m);                   /* system malloc: warning */
    free(m);
    char *p = cgc_malloc(64);
    p[0] = 7;
    cgc_free(p + 8);               /* interior: warning, object kept */
    CHECK(cgc_base(p) == p && p[0] == 7, "interior free leaves object alone");
    cgc_free(p);
    cgc_free(p);                   /* double: warning or no-op */
    char *q = cgc_malloc(64);
    CHECK(q != NULL, "allocation after bad frees");
}

static uintptr_t __attribute__((noinline)) make_garbage(size_t n)
{
    return hide(cgc_malloc(n));
}

static void test_unreachable_reclaimed_and_bounded(void)
{
    cgc_collect();
    cgc_memstats before;
    cgc_read_memstats(&before);
    /* 2 GB of garbage in 1 KiB objects through a heap that must stay small. */
    uintptr_t h = 0;
    for (int i = 0; i < 2000000; i++)
        h ^= make_garbage(1000);
    (void)h;
    cgc_memstats after;
    cgc_read_memstats(&after);
    CHECK(after.num_gc > before.num_gc + 10, "garbage triggers collections (%u -> %u)",
          before.num_gc, after.num_gc);
    /* Bound: the heap may grow to the goal (live x 2, 4 MiB floor) plus
     * fragmentation; 64 MiB is a generous tolerance, 30x below the total. */
    CHECK(after.heap_sys < before.heap_sys + (64u << 20), "heap bounded: heap_sys %llu -> %llu",
          (unsigned long long)before.heap_sys, (unsigned long long)after.heap_sys);
    uintptr_t g = make_garbage(200);
    clear_stack();
    cgc_collect();
    CHECK(cgc_base(unhide(g)) == NULL, "unreachable small object reclaimed");
    uintptr_t gl = make_garbage(200000);
    clear_stack();
    cgc_collect();
    CHECK(cgc_base(unhide(gl)) == NULL, "unreachable large object reclaimed");
}

static void *global_root;      /* data/bss root */

static uintptr_t __attribute__((noinline)) make_rooted(void **slot, size_t n, char fill)
{
    char *p = cgc_malloc(n);
    memset(p, fill, n);
    *slot = p;
    return hide(p);
}

/* Whether the hidden object is allocated and still holds `fill`. Kept out
 * of line so no copy of the pointer stays in the caller's frame. */
static int __attribute__((noinline)) alive(uintptr_t h, size_t n, char fill)
{
    char *p = unhide(h);
    return cgc_base(p) == p && p[0] == fill && p[n - 1] == fill;
}

static void __attribute__((noinline)) make_inner_and_uncollectable(void **area, uintptr_t *ih, uintptr_t *uh)
{
    char *inner = cgc_malloc(4096);
    memset(inner, 'i', 4096);
    *ih = hide(inner);
    area[20] = inner + 1000;   /* only an interior pointer */
    char *u = cgc_malloc_uncollectable(128);
    memset(u, 'u', 128);
    *uh = hide(u);             /* no reference at all */
}

static void test_roots(void)
{
    uintptr_t g = make_rooted(&global_root, 300, 'g');
    void **area = malloc(64 * sizeof(void *));   /* not scanned unless registered */
    memset(area, 0, 64 * sizeof(void *));
    cgc_add_roots(area, area + 64);
    uintptr_t r = make_rooted(&area[10], 5000, 'r');
    uintptr_t ih, uh;
    make_inner_and_uncollectable(area, &ih, &uh);
    clear_stack();
    for (int i = 0; i < 3; i++)
        cgc_collect();
    CHECK(alive(g, 300, 'g'), "object reachable only from data/bss survives");
    CHECK(alive(r, 5000, 'r'), "object reachable only from a registered root survives");
    CHECK(alive(ih, 4096, 'i'), "object reachable only through an interior pointer survives");
    CHECK(alive(uh, 128, 'u'), "uncollectable object survives");
    cgc_free(unhide(uh));
    CHECK(cgc_base(unhide(uh)) == NULL, "cgc_free releases an uncollectable object");
    cgc_remove_roots(area, area + 64);
    global_root = NULL;
    clear_stack();
    cgc_collect();
    CHECK(cgc_base(unhide(r)) == NULL, "removing the root range lets the object go");
    CHECK(cgc_base(unhide(g)) == NULL, "clearing the global lets the object go");
    free(area);
}

typedef struct handoff {
    uintptr_t hidden;
    int phase;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} handoff;

static void *holder(void *arg)
{
    handoff *h = arg;
    char *p = cgc_malloc(777);
    memset(p, 't', 777);
    pthread_mutex_lock(&h->mu);
    h->hidden = hide(p);
    h->phase = 1;
    pthread_cond_broadcast(&h->cv);
    while (h->phase != 2)   /* blocked in a system call, p only on this stack */
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    int ok = p[0] == 't' && p[776] == 't' && cgc_base(p) == p;
    return (void *)(intptr_t)ok;
}

static void test_other_thread_stack(void)
{
    handoff h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t t;
    cgc_pthread_create(&t, NULL, holder, &h);
    pthread_mutex_lock(&h.mu);
    while (h.phase != 1)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    for (int i = 0; i < 3; i++)
        cgc_collect();
    char *p = unhide(h.hidden);
    CHECK(cgc_base(p) == p, "object reachable only from another thread's stack survives");
    pthread_mutex_lock(&h.mu);
    h.phase = 2;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    void *ok;
    pthread_join(t, &ok);
    CHECK(ok == (void *)1, "the thread sees its object intact");
}

static void count_allocated(cgc__span *s, void *arg)
{
    uint64_t *b = arg;
    for (uint32_t i = 0; i < s->nelems; i++)
        if (cgc__bit(s->allocbits, i) || (s->cached && i < s->freeindex))
            *b += s->elemsize;
}

static void test_memstats_identities(void)
{
    cgc_collect();
    cgc_memstats m;
    cgc_read_memstats(&m);
    CHECK(m.size == sizeof m && m.version == CGC_MEMSTATS_VERSION, "size/version");
    CHECK(m.total_alloc - (m.total_alloc - m.heap_alloc) == m.heap_alloc, "trivial");
    CHECK(m.alloc == m.heap_alloc, "alloc == heap_alloc");
    CHECK(m.mallocs >= m.frees && m.heap_objects == m.mallocs - m.frees, "heap_objects = mallocs - frees");
    CHECK(m.heap_sys == m.heap_inuse + m.heap_idle, "heap_sys = inuse + idle");
    CHECK(m.heap_idle >= m.heap_released, "idle >= released");
    CHECK(m.sys >= m.heap_sys + m.gc_sys + m.mspan_sys, "sys covers heap and metadata");
    CHECK(m.heap_alloc <= m.heap_inuse, "objects fit in in-use spans");
    /* After a complete collection, heap_alloc counts exactly the allocated
     * slots: walk the heap and compare. */
    struct { uint64_t bytes; } w = {0};
    pthread_mutex_lock(&cgc__heap_lock);
    cgc__heap_foreach_inuse(count_allocated, &w.bytes);
    pthread_mutex_unlock(&cgc__heap_lock);
    CHECK(w.bytes == m.heap_alloc, "heap_alloc %llu equals bytes of allocated slots %llu",
          (unsigned long long)m.heap_alloc, (unsigned long long)w.bytes);
    /* Allocation moves the counters by exactly what was allocated. */
    cgc_read_memstats(&m);
    uint64_t a0 = m.total_alloc, o0 = m.mallocs;
    for (int i = 0; i < 100; i++)
        (void)cgc_malloc(48);
    cgc_read_memstats(&m);
    CHECK(m.total_alloc - a0 == 100 * 48 && m.mallocs - o0 == 100, "counters move by %llu bytes",
          (unsigned long long)(m.total_alloc - a0));
}

static void test_knobs(void)
{
    int old = cgc_set_gc_percent(50);
    CHECK(old == 100, "default GC percent 100 (got %d)", old);
    CHECK(cgc_set_gc_percent(-5) == 50, "previous percent returned");
    cgc_memstats m;
    cgc_read_memstats(&m);
    CHECK(m.gc_percent == -1, "negative percent means off");
    cgc_set_gc_percent(100);
    int64_t l0 = cgc_set_memory_limit(-1);
    CHECK(l0 == INT64_MAX, "no limit by default outside a container (got %lld)", (long long)l0);
    CHECK(cgc_set_memory_limit(1LL << 40) == INT64_MAX, "set returns previous");
    CHECK(cgc_set_memory_limit(-1) == (1LL << 40), "negative reads");
    cgc_read_memstats(&m);
    CHECK(m.mem_limit == (1LL << 40), "memstats shows the limit");
    cgc_set_memory_limit(INT64_MAX);
}

static size_t oom_seen;
static void on_oom(size_t n) { oom_seen = n; }

static void test_os_refuses_memory(void)
{
    cgc_set_oom_handler(on_oom);
    /* Every mapping fails from now on: a request that needs a new arena gets
     * NULL, after the handler was told, and the heap keeps working. */
    cgc__fault_mmap_after(0);
    errno = 0;
    void *p = cgc_malloc((size_t)200 << 20);
    int err = errno;
    cgc__fault_mmap_after(-1);
    CHECK(p == NULL && err == ENOMEM, "NULL/ENOMEM when the OS refuses");
    CHECK(oom_seen == ((size_t)200 << 20), "OOM handler called with the request size");
    char *q = cgc_malloc(1000);
    CHECK(q != NULL, "allocation works again afterwards");
    cgc_set_oom_handler(NULL);
}

int main(void)
{
    test_malloc_zeroed_aligned();
    test_size_and_base();
    test_overflow_and_huge();
    test_realloc_strdup();
    test_free_bad_pointers();
    test_unreachable_reclaimed_and_bounded();
    test_roots();
    test_other_thread_stack();
    test_memstats_identities();
    test_knobs();
    test_os_refuses_memory();
    return check_done();
}
