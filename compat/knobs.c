/* knobs.c — libgc's data symbols, its getters and setters, statistics, and
 * its printing and error functions, on cgc.
 *
 * (The warn proc is warn.c's.)
 *
 * The data symbols keep libgc's sizes (a program linked against libgc may
 * hold copy relocations of them) and libgc's initial values. Those that
 * mean something to cgc are read where it matters (GC_dont_gc at every
 * allocation, GC_finalize_on_demand at every collection, ...); the others
 * are stored and reported back, which is all libgc's documentation
 * promises for them on a collector without incremental mode.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef uintptr_t word;

/* ---- data symbols (libgc 8.2.2's, same sizes) ---------------------------- */
GCAPI int GC_all_interior_pointers = 1;
GCAPI void *GC_aobjfreelist_ptr, *GC_auobjfreelist_ptr, *GC_objfreelist_ptr, *GC_uobjfreelist_ptr;
GCAPI char GC_arrays[0x2c9f0] __attribute__((aligned(32)));
GCAPI const size_t GC_debug_header_size = 0;
GCAPI int GC_dont_expand, GC_dont_gc, GC_dont_precollect, GC_finalize_on_demand, GC_find_leak;
GCAPI compat_notifier GC_finalizer_notifier;
GCAPI word GC_free_space_divisor = 3;
GCAPI int GC_full_freq = 19;
GCAPI word GC_gc_no;
GCAPI int GC_gcj_kind, GC_gcj_debug_kind;
GCAPI void *GC_greatest_plausible_heap_addr = (void *)~(uintptr_t)0;
GCAPI void *GC_least_plausible_heap_addr;
GCAPI void (*GC_is_valid_displacement_print_proc)(void *);
GCAPI void (*GC_is_visible_print_proc)(void *);
GCAPI int GC_java_finalization = 1;
GCAPI word GC_max_retries;
GCAPI int GC_no_dls;
GCAPI word GC_non_gc_bytes;
GCAPI compat_abort_func GC_on_abort;
GCAPI void (*GC_on_heap_resize)(word);
GCAPI compat_oom_fn GC_oom_fn;
GCAPI int GC_parallel;
GCAPI void (*GC_push_other_roots)(void) = compat_default_push_other_roots;
GCAPI void (*GC_same_obj_print_proc)(void *, void *);
GCAPI char *GC_stackbottom;
GCAPI unsigned long GC_time_limit = 50;
GCAPI int GC_use_entire_heap;

void compat_default_push_other_roots(void) {}

/* The calling thread, registered with cgc if it was not (as cgc's own
 * allocation does): a section only holds off the pause for a registered
 * thread. */
cgc__thread *compat_registered_self(void)
{
    cgc__ensure_init();
    cgc__thread *t = cgc__self;
    if (!t && !(t = cgc__register_current(0)))
        compat_unsupported("GC_* (thread registration)", "cannot register the calling thread with cgc");
    return t;
}

/* ---- errors ---------------------------------------------------------- */

void compat_unsupported(const char *name, const char *why)
{
    char msg[256];
    snprintf(msg, sizeof msg, "libgc compat: %s: %s (cgc, docs/boehm-compat.md)", name, why);
    compat_abort_func f = GC_on_abort;
    if (f)
        f(msg);
    fprintf(stderr, "%s\n", msg);
    abort();
}

GCAPI void GC_set_abort_func(compat_abort_func f) { GC_on_abort = f; }
GCAPI compat_abort_func GC_get_abort_func(void) { return GC_on_abort; }

GCAPI void GC_abort_on_oom(void)
{
    fprintf(stderr, "libgc compat: out of memory\n");
    abort();
}

static void vprint(FILE *f, const char *fmt, va_list ap)
{
    vfprintf(f, fmt, ap);
    fflush(f);
}
GCAPI void GC_printf(const char *fmt, ...) { va_list ap; va_start(ap, fmt); vprint(stdout, fmt, ap); va_end(ap); }
GCAPI void GC_err_printf(const char *fmt, ...) { va_list ap; va_start(ap, fmt); vprint(stderr, fmt, ap); va_end(ap); }
GCAPI void GC_log_printf(const char *fmt, ...) { va_list ap; va_start(ap, fmt); vprint(stderr, fmt, ap); va_end(ap); }

/* ---- enabling and collecting ----------------------------------------- */

_Atomic int compat_auto_disabled;
static pthread_mutex_t disable_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int force_unmap;

GCAPI void GC_disable(void)
{
    pthread_mutex_lock(&disable_lock);
    GC_dont_gc++;
    pthread_mutex_unlock(&disable_lock);
    compat_sync();
}

GCAPI void GC_enable(void)
{
    pthread_mutex_lock(&disable_lock);
    if (GC_dont_gc == 0) {
        pthread_mutex_unlock(&disable_lock);
        compat_unsupported("GC_enable", "called more times than GC_disable");
    }
    GC_dont_gc--;
    pthread_mutex_unlock(&disable_lock);
    compat_sync();
}

GCAPI int GC_is_disabled(void) { return GC_dont_gc != 0; }
GCAPI void GC_set_disable_automatic_collection(int v) { atomic_store(&compat_auto_disabled, v != 0); compat_sync(); }
GCAPI int GC_get_disable_automatic_collection(void) { return atomic_load(&compat_auto_disabled); }

/* Returns 1 if it collected: libgc's GC_gcollect does nothing while
 * collection is disabled. */
static int collect(void)
{
    compat_sync();
    if (GC_dont_gc)
        return 0;
    if (atomic_load(&force_unmap))
        cgc_free_os_memory();
    else
        cgc_collect();
    compat_sync();
    return 1;
}

GCAPI void GC_gcollect(void) { collect(); }
GCAPI void GC_gcollect_and_unmap(void)
{
    compat_sync();
    if (!GC_dont_gc) {
        cgc_free_os_memory();
        compat_sync();
    }
}
GCAPI int GC_try_to_collect(int (*stop)(void)) { (void)stop; return collect(); }
GCAPI int GC_collect_a_little(void) { collect(); return 0; }
GCAPI void GC_start_incremental_collection(void) { collect(); }
GCAPI void GC_set_force_unmap_on_gcollect(int v) { atomic_store(&force_unmap, v); }
GCAPI int GC_get_force_unmap_on_gcollect(void) { return atomic_load(&force_unmap); }

GCAPI void GC_enable_incremental(void) {}   /* libgc documents that it may be ignored */
GCAPI int GC_is_incremental_mode(void) { return 0; }
GCAPI int GC_incremental_protection_needs(void) { return 0; /* GC_PROTECTS_NONE */ }
GCAPI int GC_expand_hp(size_t n) { (void)n; return 1; }

/* ---- knobs ------------------------------------------------------------ */

GCAPI void GC_set_max_heap_size(word n) { atomic_store(&compat_max_heap, (uint64_t)n); }

GCAPI void GC_set_free_space_divisor(word d)
{
    GC_free_space_divisor = d;
    cgc_set_gc_percent(compat_divisor_to_percent(d));
}
GCAPI word GC_get_free_space_divisor(void) { return GC_free_space_divisor; }

GCAPI void GC_set_find_leak(int v)
{
    if (v)
        compat_unsupported("GC_set_find_leak", "leak detection mode is not supported by cgc");
    GC_find_leak = 0;
}
GCAPI int GC_get_find_leak(void) { return GC_find_leak; }

GCAPI void GC_set_pages_executable(int v)
{
    if (v)
        compat_unsupported("GC_set_pages_executable", "cgc's heap is never executable");
}
GCAPI int GC_get_pages_executable(void) { return 0; }

/* Decides whether objects get the byte for one past the end (alloc.c);
 * cgc recognises interior pointers either way. */
GCAPI void GC_set_all_interior_pointers(int v) { GC_all_interior_pointers = v != 0; }
GCAPI int GC_get_all_interior_pointers(void) { return GC_all_interior_pointers; }

GCAPI void GC_set_finalize_on_demand(int v) { GC_finalize_on_demand = v; }
GCAPI int GC_get_finalize_on_demand(void) { return GC_finalize_on_demand; }
GCAPI void GC_set_finalizer_notifier(compat_notifier f) { GC_finalizer_notifier = f; }
GCAPI compat_notifier GC_get_finalizer_notifier(void) { return GC_finalizer_notifier; }
GCAPI void GC_set_java_finalization(int v) { GC_java_finalization = v; }
GCAPI int GC_get_java_finalization(void) { return GC_java_finalization; }
GCAPI void GC_set_oom_fn(compat_oom_fn f) { GC_oom_fn = f; }
GCAPI compat_oom_fn GC_get_oom_fn(void) { return GC_oom_fn; }
GCAPI void GC_set_on_heap_resize(void (*f)(word)) { GC_on_heap_resize = f; }
GCAPI void (*GC_get_on_heap_resize(void))(word) { return GC_on_heap_resize; }
GCAPI void GC_set_push_other_roots(void (*f)(void))
{
    GC_push_other_roots = f ? f : compat_default_push_other_roots;
}
GCAPI void (*GC_get_push_other_roots(void))(void) { return GC_push_other_roots; }

/* Stored and reported back (see the top of the file). */
#define STORED(type, name, init)                                      \
    static type stored_##name = init;                                 \
    GCAPI void GC_set_##name(type v) { stored_##name = v; }           \
    GCAPI type GC_get_##name(void) { return stored_##name; }
typedef void *fnptr;
STORED(word, allocd_bytes_per_finalizer, 10000)
STORED(size_t, min_bytes_allocd, 1)
STORED(int, rate, 10)
STORED(int, max_prior_attempts, 1)
STORED(int, manual_vdb_allowed, 1)
STORED(fnptr, on_collection_event, NULL)
STORED(fnptr, on_thread_event, NULL)
STORED(fnptr, start_callback, NULL)
STORED(fnptr, stop_func, NULL)
STORED(fnptr, toggleref_func, NULL)
STORED(fnptr, await_finalize_proc, NULL)

GCAPI void GC_set_dont_expand(int v) { GC_dont_expand = v; }
GCAPI int GC_get_dont_expand(void) { return GC_dont_expand; }
GCAPI void GC_set_full_freq(int v) { GC_full_freq = v; }
GCAPI int GC_get_full_freq(void) { return GC_full_freq; }
GCAPI void GC_set_non_gc_bytes(word v) { GC_non_gc_bytes = v; }
GCAPI word GC_get_non_gc_bytes(void) { return GC_non_gc_bytes; }
GCAPI void GC_set_no_dls(int v) { GC_no_dls = v; }
GCAPI int GC_get_no_dls(void) { return GC_no_dls; }
GCAPI void GC_set_max_retries(word v) { GC_max_retries = v; }
GCAPI word GC_get_max_retries(void) { return GC_max_retries; }
GCAPI void GC_set_dont_precollect(int v) { GC_dont_precollect = v; }
GCAPI int GC_get_dont_precollect(void) { return GC_dont_precollect; }
GCAPI void GC_set_time_limit(unsigned long v) { GC_time_limit = v; }
GCAPI unsigned long GC_get_time_limit(void) { return GC_time_limit; }
struct compat_timeval { unsigned long tv_ms, tv_nsec; };
GCAPI void GC_set_time_limit_tv(struct compat_timeval tv) { GC_time_limit = tv.tv_ms; }
GCAPI struct compat_timeval GC_get_time_limit_tv(void)
{
    struct compat_timeval tv = {GC_time_limit, 0};
    return tv;
}
GCAPI void GC_set_log_fd(int fd) { (void)fd; }
GCAPI void GC_set_handle_fork(int v) { (void)v; }   /* cgc always handles fork */
GCAPI void GC_set_markers_count(unsigned n) { (void)n; }   /* GC_MARKERS, read when the library loads */
GCAPI void GC_set_stackbottom(void *h, const void *sb) { (void)h; (void)sb; }
GCAPI int GC_get_parallel(void) { return GC_parallel; }
GCAPI unsigned GC_get_version(void) { return (8u << 16) | (2u << 8) | 2u; }
GCAPI size_t GC_get_debug_header_size(void) { return 0; }

GCAPI void GC_set_suspend_signal(int sig)
{
    if (cgc_set_thread_signals(sig, GC_get_thr_restart_signal()) != 0)
        compat_warn("libgc compat: GC_set_suspend_signal(%ld): too late (cgc starts when the library "
                    "loads; use CGC_SIG_SUSPEND)\n", (word)(long)sig);
}
GCAPI void GC_set_thr_restart_signal(int sig)
{
    if (cgc_set_thread_signals(GC_get_suspend_signal(), sig) != 0)
        compat_warn("libgc compat: GC_set_thr_restart_signal(%ld): too late (cgc starts when the "
                    "library loads; use CGC_SIG_RESTART)\n", (word)(long)sig);
}

/* ---- statistics ------------------------------------------------------- */

static void memstats(cgc_memstats *m)
{
    compat_sync();
    cgc_read_memstats(m);
}

GCAPI word GC_get_gc_no(void) { compat_sync(); return GC_gc_no; }
GCAPI size_t GC_get_heap_size(void) { cgc_memstats m; memstats(&m); return m.heap_sys - m.heap_released; }
GCAPI size_t GC_get_free_bytes(void) { cgc_memstats m; memstats(&m); return m.heap_idle - m.heap_released; }
GCAPI size_t GC_get_unmapped_bytes(void) { cgc_memstats m; memstats(&m); return m.heap_released; }
GCAPI size_t GC_get_total_bytes(void) { cgc_memstats m; memstats(&m); return m.total_alloc; }
GCAPI size_t GC_get_memory_use(void) { cgc_memstats m; memstats(&m); return m.heap_alloc; }
GCAPI size_t GC_get_obtained_from_os_bytes(void) { cgc_memstats m; memstats(&m); return m.sys; }
GCAPI size_t GC_get_expl_freed_bytes_since_gc(void) { return 0; }
GCAPI unsigned long GC_get_full_gc_total_time(void) { cgc_memstats m; memstats(&m); return m.pause_total_ns / 1000000; }

/* Allocation since the last collection: the total allocated now less the
 * total at the end of the last collection, as seen by compat_sync. */
static _Atomic uint64_t total_at_gc;
static _Atomic uint32_t total_at_gc_no = UINT32_MAX;
static uint64_t bytes_since_gc(const cgc_memstats *m)
{
    if (atomic_load(&total_at_gc_no) != m->num_gc) {
        atomic_store(&total_at_gc_no, m->num_gc);
        atomic_store(&total_at_gc, m->total_alloc);
    }
    uint64_t t = atomic_load(&total_at_gc);
    return m->total_alloc > t ? m->total_alloc - t : 0;
}
GCAPI size_t GC_get_bytes_since_gc(void) { cgc_memstats m; memstats(&m); return bytes_since_gc(&m); }

GCAPI void GC_get_heap_usage_safe(word *heap, word *free_b, word *unmapped, word *since_gc, word *total)
{
    cgc_memstats m;
    memstats(&m);
    if (heap) *heap = m.heap_sys - m.heap_released;
    if (free_b) *free_b = m.heap_idle - m.heap_released;
    if (unmapped) *unmapped = m.heap_released;
    if (since_gc) *since_gc = bytes_since_gc(&m);
    if (total) *total = m.total_alloc;
}

struct compat_prof_stats {
    word heapsize_full, free_bytes_full, unmapped_bytes, bytes_allocd_since_gc,
         allocd_bytes_before_gc, non_gc_bytes, gc_no, markers_m1, bytes_reclaimed_since_gc,
         reclaimed_bytes_before_gc, expl_freed_bytes_since_gc, obtained_from_os_bytes;
};

GCAPI size_t GC_get_prof_stats(struct compat_prof_stats *out, size_t size)
{
    cgc_memstats m;
    memstats(&m);
    struct compat_prof_stats s;
    s.heapsize_full = m.heap_sys - m.heap_released;
    s.free_bytes_full = m.heap_idle - m.heap_released;
    s.unmapped_bytes = m.heap_released;
    s.bytes_allocd_since_gc = bytes_since_gc(&m);
    s.allocd_bytes_before_gc = m.total_alloc - s.bytes_allocd_since_gc;
    s.non_gc_bytes = GC_non_gc_bytes;
    s.gc_no = m.num_gc;
    s.markers_m1 = (word)(cgc__mark_nmarkers() - 1);
    s.bytes_reclaimed_since_gc = 0;
    s.reclaimed_bytes_before_gc = m.total_alloc - m.heap_alloc;
    s.expl_freed_bytes_since_gc = 0;
    s.obtained_from_os_bytes = m.sys;
    if (size > sizeof s) {
        memset((char *)out + sizeof s, 0xff, size - sizeof s);
        size = sizeof s;
    }
    memcpy(out, &s, size);
    return size;
}
GCAPI size_t GC_get_prof_stats_unsafe(struct compat_prof_stats *out, size_t size)
{
    return GC_get_prof_stats(out, size);
}

static void dump(const char *name)
{
    cgc_memstats m;
    memstats(&m);
    if (name)
        fprintf(stderr, "***GC Dump %s\n", name);
    fprintf(stderr, "cgc heap: %llu bytes obtained, %llu in use, %llu allocated, %llu released; %u collections\n",
            (unsigned long long)m.heap_sys, (unsigned long long)m.heap_inuse,
            (unsigned long long)m.heap_alloc, (unsigned long long)m.heap_released, m.num_gc);
}
GCAPI void GC_dump(void) { dump(NULL); }
GCAPI void GC_dump_named(const char *name) { dump(name); }
GCAPI void GC_dump_regions(void) { dump(NULL); }
GCAPI void GC_dump_finalization(void)
{
    cgc_memstats m;
    memstats(&m);
    fprintf(stderr, "cgc finalization: %llu finalizers queued, %llu run\n",
            (unsigned long long)m.finalizers_queued, (unsigned long long)m.finalizers_run);
}
GCAPI void GC_print_free_list(int kind, size_t sz) { (void)kind; (void)sz; }

/* ---- small helpers ------------------------------------------------------ */

volatile word compat_noop_sink;
GCAPI void GC_noop1(word x)
{
    compat_noop_sink = x;   /* an opaque store: x is live until here */
}
GCAPI void *GC_clear_stack(void *p) { return p; }
GCAPI void *GC_is_valid_displacement(void *p) { return p; }
GCAPI void *GC_is_visible(void *p) { return p; }
GCAPI int GC_is_tmp_root(void *p) { (void)p; return 0; }
GCAPI void GC_register_displacement(size_t off) { (void)off; }
GCAPI void GC_debug_register_displacement(size_t off) { (void)off; }
GCAPI void *GC_same_obj(void *p, void *q)
{
    void *bp = cgc_base(p);
    if (bp ? bp != cgc_base(q) : (char *)p != (char *)q) {
        void (*f)(void *, void *) = GC_same_obj_print_proc;
        if (f)
            f(p, q);
        else
            compat_unsupported("GC_same_obj", "the two pointers are in different objects");
    }
    return p;
}
GCAPI void GC_ptr_store_and_dirty(void *p, const void *q) { *(const void **)p = q; }
GCAPI void GC_debug_ptr_store_and_dirty(void *p, const void *q) { *(const void **)p = q; }
GCAPI void GC_end_stubborn_change(const void *p) { (void)p; }
GCAPI void GC_change_stubborn(const void *p) { (void)p; }
GCAPI void GC_debug_end_stubborn_change(const void *p) { (void)p; }
GCAPI void GC_debug_change_stubborn(const void *p) { (void)p; }
GCAPI void GC_incr_bytes_allocd(size_t n) { (void)n; }
GCAPI void GC_incr_bytes_freed(size_t n) { (void)n; }
GCAPI void GC_clear_exclusion_table(void) {}
GCAPI void GC_deinit(void) {}
GCAPI void GC_register_altstack(void *a, word b, void *c, word d) { (void)a; (void)b; (void)c; (void)d; }
GCAPI void GC_register_describe_type_fn(int k, void *fn) { (void)k; (void)fn; }
GCAPI void GC_start_mark_threads(void) {}
GCAPI void GC_start_performance_measurement(void) {}
GCAPI void GC_push_finalizer_structures(void) {}

/* The "allocation lock". In libgc no collection runs while it is held,
 * and programs rely on that to read a disappearing link or a hidden
 * pointer and reveal it before the collector can clear it and free the
 * object (GC_call_with_alloc_lock). Here the holder is inside a cgc
 * section, which holds off every pause until it leaves (and a mutex of this
 * layer's own, recursive, gives the mutual exclusion). As in libgc, the
 * holder must not allocate from the collector or wait for a thread that
 * does. The section is a program section (cgc__enter_program): a pause
 * that waited for it does not stop the thread right where it leaves, in
 * the caller's code that completes what the lock protected (Guile sets its
 * VM's stack pointer there after moving the stack), but later, as libgc's
 * would (src/threads.c; tests/compat/compat_alloc_lock.c). */
static pthread_mutex_t alloc_lock;
static pthread_once_t alloc_lock_once = PTHREAD_ONCE_INIT;
static __thread cgc__thread *alloc_lock_section;
static __thread int alloc_lock_depth;
static void alloc_lock_init(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&alloc_lock, &a);
}
GCAPI void GC_alloc_lock(void)
{
    pthread_once(&alloc_lock_once, alloc_lock_init);
    pthread_mutex_lock(&alloc_lock);   /* before the section: never wait for it inside one */
    if (alloc_lock_depth++ == 0) {
        alloc_lock_section = compat_registered_self();
        cgc__enter_program(alloc_lock_section);
    }
}
GCAPI void GC_alloc_unlock(void)
{
    if (--alloc_lock_depth == 0)
        cgc__leave_program(alloc_lock_section);
    pthread_mutex_unlock(&alloc_lock);
}
/* world.c: a holder that must wait for gc_lock leaves its section
 * meanwhile (a collector holding gc_lock waits for sections to end). */
int compat_alloc_lock_suspend(void)
{
    if (alloc_lock_depth == 0)
        return 0;
    cgc__leave(alloc_lock_section);
    return 1;
}
void compat_alloc_lock_resume(int held)
{
    if (held)
        cgc__enter(alloc_lock_section);
}
GCAPI void *GC_call_with_alloc_lock(void *(*fn)(void *), void *arg)
{
    GC_alloc_lock();
    void *r = fn(arg);
    GC_alloc_unlock();
    return r;
}

/* Debug allocation: no debug headers, the plain functions (the header's
 * GC_DEBUG macros pass the caller's file and line, ignored). */
GCAPI void *GC_malloc(size_t);
GCAPI void *GC_malloc_atomic(size_t);
GCAPI void *GC_malloc_uncollectable(size_t);
GCAPI void *GC_malloc_atomic_uncollectable(size_t);
GCAPI void *GC_realloc(void *, size_t);
GCAPI void GC_free(void *);
GCAPI char *GC_strdup(const char *);
GCAPI char *GC_strndup(const char *, size_t);
GCAPI void *GC_generic_or_special_malloc(size_t, int);
#define DEBUG_ALLOC(name, plain) \
    GCAPI void *GC_debug_##name(size_t n, word ra, const char *s, int i) { (void)ra; (void)s; (void)i; return plain(n); }
DEBUG_ALLOC(malloc, GC_malloc)
DEBUG_ALLOC(malloc_atomic, GC_malloc_atomic)
DEBUG_ALLOC(malloc_ignore_off_page, GC_malloc)
DEBUG_ALLOC(malloc_atomic_ignore_off_page, GC_malloc_atomic)
DEBUG_ALLOC(malloc_uncollectable, GC_malloc_uncollectable)
DEBUG_ALLOC(malloc_atomic_uncollectable, GC_malloc_atomic_uncollectable)
DEBUG_ALLOC(malloc_stubborn, GC_malloc)
GCAPI void *GC_debug_malloc_replacement(size_t n) { return GC_malloc(n); }
GCAPI void *GC_debug_realloc(void *p, size_t n, word ra, const char *s, int i) { (void)ra; (void)s; (void)i; return GC_realloc(p, n); }
GCAPI void *GC_debug_realloc_replacement(void *p, size_t n) { return GC_realloc(p, n); }
GCAPI void GC_debug_free(void *p) { GC_free(p); }
GCAPI char *GC_debug_strdup(const char *s, word ra, const char *f, int i) { (void)ra; (void)f; (void)i; return GC_strdup(s); }
GCAPI char *GC_debug_strndup(const char *s, size_t n, word ra, const char *f, int i) { (void)ra; (void)f; (void)i; return GC_strndup(s, n); }
GCAPI void *GC_debug_generic_or_special_malloc(size_t n, int k, word ra, const char *s, int i)
{
    (void)ra; (void)s; (void)i;
    return GC_generic_or_special_malloc(n, k);
}

GCAPI void *GC_pre_incr(void **p, ptrdiff_t n) { return *p = (char *)*p + n; }
GCAPI void *GC_post_incr(void **p, ptrdiff_t n) { void *old = *p; *p = (char *)old + n; return old; }
