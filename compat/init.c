/* init.c — starting the layer: libgc's environment variables, GC_init, and
 * the bookkeeping done at every entry point after a collection.
 *
 * cgc initialises when the library is loaded (its constructor). libgc's
 * variables that have a CGC_* equivalent are translated before that, by a
 * constructor that runs first in this library, and only where the CGC_*
 * variable is not set (CGC_* wins): GC_MARKERS -> CGC_MARKERS,
 * GC_PRINT_STATS -> CGC_DEBUG=gctrace=1, GC_FREE_SPACE_DIVISOR (or libgc's
 * default divisor, 3) -> CGC_GC (see compat_divisor_to_percent). The translation is removed from the environment
 * again once cgc has read it, so the program and its children see the
 * environment they were given. GC_DONT_GC, GC_INITIAL_HEAP_SIZE and
 * GC_MAXIMUM_HEAP_SIZE have no CGC_* equivalent and are applied here.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>

static _Atomic int init_called;
static _Atomic uint64_t initial_heap;   /* GC_INITIAL_HEAP_SIZE: no collection below it */
static _Atomic int applied_hold = -1;
static _Atomic uint32_t seen_gc;

/* libgc allocates N / divisor bytes between collections, N being twice
 * the bytes it traced plus the untraced ones (its documented rule): for a
 * heap of pointer-holding objects, a language runtime's, the heap grows by
 * 2 / divisor of the live bytes, GC percent 200 / divisor. Its default
 * divisor, 3, is 66, not cgc's own default 100: with 100 a libgc program
 * peaked 35% higher on cgc than on libgc (Neko, 74.5 MB against 55.3 MB;
 * 54.3 MB with 66, 24 collections against libgc's 27). Pointer-free data
 * counts once in N, so for it libgc is stricter still; cgc's percent
 * cannot tell the two apart and follows the pointer-holding case. */
int compat_divisor_to_percent(uintptr_t divisor)
{
    if (divisor == 0)
        return 200;
    uintptr_t p = 200 / divisor;
    return p ? (int)p : 1;
}

/* A byte count as libgc reads them: digits, optionally k, M or G. 0 if bad. */
static uint64_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s)
        return 0;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    }
    return *end ? 0 : v;
}

static int translated[3];
static const char *const cgc_names[3] = {"CGC_MARKERS", "CGC_DEBUG", "CGC_GC"};

__attribute__((constructor(101))) static void translate_env(void)
{
    const char *v;
    char buf[32];
    compat_register_atfork();
    if ((v = getenv("GC_MARKERS")) && !getenv("CGC_MARKERS")) {
        setenv("CGC_MARKERS", v, 1);
        translated[0] = 1;
    }
    if ((v = getenv("GC_PRINT_STATS")) && !getenv("CGC_DEBUG")) {
        setenv("CGC_DEBUG", "gctrace=1", 1);
        translated[1] = 1;
    }
    if (!getenv("CGC_GC")) {
        /* libgc's default divisor, unless the program's environment names
         * one: cgc then starts at the GC percent libgc behaves like. */
        unsigned long d = (v = getenv("GC_FREE_SPACE_DIVISOR")) ? strtoul(v, NULL, 10) : 0;
        if (d > 0)
            GC_free_space_divisor = d;
        snprintf(buf, sizeof buf, "%d", compat_divisor_to_percent(GC_free_space_divisor));
        setenv("CGC_GC", buf, 1);
        translated[2] = 1;
    }
    cgc__ensure_init();
    for (int i = 0; i < 3; i++)
        if (translated[i])
            unsetenv(cgc_names[i]);
    compat_init();
}

void compat_init(void)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&init_called, &expected, 1))
        return;
    cgc__ensure_init();
    const char *v;
    if ((v = getenv("GC_DONT_GC")))
        GC_dont_gc = 1;
    if ((v = getenv("GC_INITIAL_HEAP_SIZE")))
        atomic_store(&initial_heap, parse_size(v));
    if ((v = getenv("GC_MAXIMUM_HEAP_SIZE")))
        atomic_store(&compat_max_heap, parse_size(v));
    if (GC_find_leak)
        compat_unsupported("GC_find_leak", "leak detection mode is not supported by cgc");
    GC_parallel = cgc__mark_nmarkers() > 1;
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &addr, &size) == 0)
            GC_stackbottom = (char *)addr + size;
        pthread_attr_destroy(&attr);
    }
    compat_finalize_init();
    compat_kinds_init();
    atomic_store(&seen_gc, atomic_load(&cgc__gc.num_gc));
}

GCAPI void GC_init(void)
{
    compat_init();
    compat_sync();
}

GCAPI int GC_is_init_called(void)
{
    return atomic_load(&init_called);
}

/* Collections are held while GC_dont_gc (GC_disable nests it) or
 * GC_set_disable_automatic_collection say so, and while the heap is under
 * GC_INITIAL_HEAP_SIZE (libgc does not collect before its initial heap is
 * used up). */
void compat_sync(void)
{
    uint64_t initial = atomic_load_explicit(&initial_heap, memory_order_relaxed);
    int hold = GC_dont_gc != 0 || atomic_load_explicit(&compat_auto_disabled, memory_order_relaxed) ||
               (initial && atomic_load_explicit(&cgc__gc.heap_live, memory_order_relaxed) < initial);
    if (hold != atomic_load_explicit(&applied_hold, memory_order_relaxed)) {
        atomic_store(&applied_hold, hold);
        atomic_store(&cgc__collect_held, hold);
    }
    uint32_t n = atomic_load_explicit(&cgc__gc.num_gc, memory_order_acquire);
    if (n != atomic_load_explicit(&seen_gc, memory_order_relaxed)) {
        atomic_store(&seen_gc, n);
        GC_gc_no = n;
        compat_after_collection();
    }
    if (atomic_load_explicit(&compat_warn_pending, memory_order_relaxed))
        compat_deliver_warnings();
}
