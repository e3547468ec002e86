/* gc/gc.h — the Boehm–Demers–Weiser collector's API (libgc 8.2.2's ABI),
 * as implemented by cgc's libgc.so.1 (docs/boehm-compat.md in cgc's
 * sources). Written for cgc from libgc's documented interface: the
 * signatures, constants, struct layouts and non-debug macro expansions are
 * libgc's; entry points that cgc cannot honour yet exist (every symbol of
 * libgc.so.1 does) but print one line naming themselves and abort, and are
 * marked "(aborts)" below. compat/symbols.tsv says what each one does.
 */
#ifndef CGC_COMPAT_GC_H
#define CGC_COMPAT_GC_H

#include <stddef.h>
#include "gc_version.h"

#if defined(GC_THREADS) || defined(GC_PTHREADS) || defined(_REENTRANT)
# ifndef GC_PTHREADS
#  define GC_PTHREADS 1
# endif
# ifndef GC_THREADS
#  define GC_THREADS 1
# endif
# include <pthread.h>
# include <signal.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifndef GC_API
# define GC_API extern
#endif
#define GC_CALL
#define GC_CALLBACK
#define GC_ATTR_MALLOC __attribute__((__malloc__))
#define GC_ATTR_ALLOC_SIZE(n) __attribute__((__alloc_size__(n)))
#define GC_ATTR_NONNULL(n) __attribute__((__nonnull__(n)))
#define GC_ATTR_DEPRECATED
#define GC_ATTR_CONST __attribute__((__const__))

/* A word and a signed word: pointer-sized. */
typedef unsigned long GC_word;
typedef long GC_signed_word;
typedef void *GC_PTR;

GC_API unsigned GC_CALL GC_get_version(void);   /* (major << 16) | (minor << 8) | micro */

/* ---- data (read and written directly by some programs) ------------------ */
GC_API GC_word GC_gc_no;                 /* collections so far */
GC_API int GC_parallel;                  /* nonzero when marking uses several threads */
typedef void *(GC_CALLBACK *GC_oom_func)(size_t);
GC_API GC_oom_func GC_oom_fn;            /* called when an allocation fails; its result is returned */
typedef void (GC_CALLBACK *GC_on_heap_resize_proc)(GC_word);
GC_API GC_on_heap_resize_proc GC_on_heap_resize;
GC_API int GC_find_leak;                 /* must stay 0: leak mode is not supported */
GC_API int GC_all_interior_pointers;     /* 1: one past the end keeps an object */
GC_API int GC_finalize_on_demand;        /* finalizers run only in GC_invoke_finalizers */
GC_API int GC_java_finalization;
typedef void (GC_CALLBACK *GC_finalizer_notifier_proc)(void);
GC_API GC_finalizer_notifier_proc GC_finalizer_notifier;
GC_API int GC_dont_gc;                   /* nonzero: no collection (GC_disable nests it) */
GC_API int GC_dont_expand;
GC_API int GC_use_entire_heap;
GC_API int GC_full_freq;
GC_API GC_word GC_non_gc_bytes;
GC_API int GC_no_dls;
GC_API GC_word GC_free_space_divisor;    /* cgc GC percent = 300 / divisor */
GC_API GC_word GC_max_retries;
GC_API char *GC_stackbottom;
GC_API int GC_dont_precollect;
GC_API unsigned long GC_time_limit;
#define GC_TIME_UNLIMITED 999999

struct GC_timeval_s {
    unsigned long tv_ms;
    unsigned long tv_nsec;
};

/* ---- getters and setters ------------------------------------------------ */
GC_API GC_word GC_CALL GC_get_gc_no(void);
GC_API int GC_CALL GC_get_parallel(void);
GC_API void GC_CALL GC_set_markers_count(unsigned);
GC_API void GC_CALL GC_set_oom_fn(GC_oom_func) GC_ATTR_NONNULL(1);
GC_API GC_oom_func GC_CALL GC_get_oom_fn(void);
GC_API void GC_CALL GC_set_on_heap_resize(GC_on_heap_resize_proc);
GC_API GC_on_heap_resize_proc GC_CALL GC_get_on_heap_resize(void);
typedef enum {
    GC_EVENT_START, GC_EVENT_MARK_START, GC_EVENT_MARK_END, GC_EVENT_RECLAIM_START,
    GC_EVENT_RECLAIM_END, GC_EVENT_END, GC_EVENT_PRE_STOP_WORLD, GC_EVENT_POST_STOP_WORLD,
    GC_EVENT_PRE_START_WORLD, GC_EVENT_POST_START_WORLD, GC_EVENT_THREAD_SUSPENDED,
    GC_EVENT_THREAD_UNSUSPENDED
} GC_EventType;
typedef void (GC_CALLBACK *GC_on_collection_event_proc)(GC_EventType);
GC_API void GC_CALL GC_set_on_collection_event(GC_on_collection_event_proc);
GC_API GC_on_collection_event_proc GC_CALL GC_get_on_collection_event(void);
typedef void (GC_CALLBACK *GC_on_thread_event_proc)(GC_EventType, void *);
GC_API void GC_CALL GC_set_on_thread_event(GC_on_thread_event_proc);
GC_API GC_on_thread_event_proc GC_CALL GC_get_on_thread_event(void);
GC_API void GC_CALL GC_set_find_leak(int);
GC_API int GC_CALL GC_get_find_leak(void);
GC_API void GC_CALL GC_set_all_interior_pointers(int);
GC_API int GC_CALL GC_get_all_interior_pointers(void);
GC_API void GC_CALL GC_set_finalize_on_demand(int);
GC_API int GC_CALL GC_get_finalize_on_demand(void);
GC_API void GC_CALL GC_set_java_finalization(int);
GC_API int GC_CALL GC_get_java_finalization(void);
GC_API void GC_CALL GC_set_finalizer_notifier(GC_finalizer_notifier_proc);
GC_API GC_finalizer_notifier_proc GC_CALL GC_get_finalizer_notifier(void);
GC_API void GC_CALL GC_set_dont_expand(int);
GC_API int GC_CALL GC_get_dont_expand(void);
GC_API void GC_CALL GC_set_full_freq(int);
GC_API int GC_CALL GC_get_full_freq(void);
GC_API void GC_CALL GC_set_non_gc_bytes(GC_word);
GC_API GC_word GC_CALL GC_get_non_gc_bytes(void);
GC_API void GC_CALL GC_set_no_dls(int);
GC_API int GC_CALL GC_get_no_dls(void);
GC_API void GC_CALL GC_set_free_space_divisor(GC_word);
GC_API GC_word GC_CALL GC_get_free_space_divisor(void);
GC_API void GC_CALL GC_set_max_retries(GC_word);
GC_API GC_word GC_CALL GC_get_max_retries(void);
GC_API void GC_CALL GC_set_dont_precollect(int);
GC_API int GC_CALL GC_get_dont_precollect(void);
GC_API void GC_CALL GC_set_time_limit(unsigned long);
GC_API unsigned long GC_CALL GC_get_time_limit(void);
GC_API void GC_CALL GC_set_time_limit_tv(struct GC_timeval_s);
GC_API struct GC_timeval_s GC_CALL GC_get_time_limit_tv(void);
GC_API void GC_CALL GC_set_allocd_bytes_per_finalizer(GC_word);
GC_API GC_word GC_CALL GC_get_allocd_bytes_per_finalizer(void);
GC_API void GC_CALL GC_start_performance_measurement(void);
GC_API unsigned long GC_CALL GC_get_full_gc_total_time(void);
GC_API void GC_CALL GC_set_pages_executable(int);
GC_API int GC_CALL GC_get_pages_executable(void);
GC_API void GC_CALL GC_set_min_bytes_allocd(size_t);
GC_API size_t GC_CALL GC_get_min_bytes_allocd(void);
GC_API void GC_CALL GC_set_rate(int);
GC_API int GC_CALL GC_get_rate(void);
GC_API void GC_CALL GC_set_max_prior_attempts(int);
GC_API int GC_CALL GC_get_max_prior_attempts(void);
GC_API void GC_CALL GC_set_disable_automatic_collection(int);
GC_API int GC_CALL GC_get_disable_automatic_collection(void);
GC_API void GC_CALL GC_set_handle_fork(int);
GC_API void GC_CALL GC_atfork_prepare(void);
GC_API void GC_CALL GC_atfork_parent(void);
GC_API void GC_CALL GC_atfork_child(void);
GC_API void GC_CALL GC_set_force_unmap_on_gcollect(int);
GC_API int GC_CALL GC_get_force_unmap_on_gcollect(void);
GC_API void GC_CALL GC_set_manual_vdb_allowed(int);
GC_API int GC_CALL GC_get_manual_vdb_allowed(void);

/* ---- starting ----------------------------------------------------------- */
GC_API void GC_CALL GC_init(void);
GC_API int GC_CALL GC_is_init_called(void);
GC_API void GC_CALL GC_deinit(void);

/* ---- allocation --------------------------------------------------------- */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_atomic(size_t);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_strdup(const char *);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_strndup(const char *, size_t) GC_ATTR_NONNULL(1);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_uncollectable(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_stubborn(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(2) void *GC_CALL GC_memalign(size_t, size_t);
GC_API int GC_CALL GC_posix_memalign(void **, size_t, size_t) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_free(void *);
GC_API void GC_CALL GC_change_stubborn(const void *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_end_stubborn_change(const void *) GC_ATTR_NONNULL(1);
GC_API void *GC_CALL GC_base(void *);
GC_API int GC_CALL GC_is_heap_ptr(const void *);
GC_API size_t GC_CALL GC_size(const void *) GC_ATTR_NONNULL(1);
GC_API void *GC_CALL GC_realloc(void *, size_t) GC_ATTR_ALLOC_SIZE(2);
GC_API int GC_CALL GC_expand_hp(size_t);
GC_API void GC_CALL GC_set_max_heap_size(GC_word);   /* a hard cap: past it, GC_oom_fn */
GC_API void GC_CALL GC_exclude_static_roots(void *, void *);        /* accepted; still scanned */
GC_API void GC_CALL GC_clear_exclusion_table(void);
GC_API void GC_CALL GC_clear_roots(void);                           /* every GC_add_roots range */
GC_API void GC_CALL GC_add_roots(void *, void *);
GC_API void GC_CALL GC_remove_roots(void *, void *);
GC_API void GC_CALL GC_register_displacement(size_t);
GC_API void GC_CALL GC_debug_register_displacement(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_ignore_off_page(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_atomic_ignore_off_page(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_atomic_uncollectable(size_t);
/* A list of objects of one size linked through their first word. */
GC_API GC_ATTR_MALLOC void *GC_CALL GC_malloc_many(size_t);
#define GC_NEXT(p) (*(void **)(p))

/* ---- collection ---------------------------------------------------------- */
GC_API void GC_CALL GC_gcollect(void);
GC_API void GC_CALL GC_gcollect_and_unmap(void);
typedef int (GC_CALLBACK *GC_stop_func)(void);
GC_API int GC_CALL GC_try_to_collect(GC_stop_func);
GC_API void GC_CALL GC_set_stop_func(GC_stop_func) GC_ATTR_NONNULL(1);
GC_API GC_stop_func GC_CALL GC_get_stop_func(void);
GC_API size_t GC_CALL GC_get_heap_size(void);
GC_API size_t GC_CALL GC_get_free_bytes(void);
GC_API size_t GC_CALL GC_get_unmapped_bytes(void);
GC_API size_t GC_CALL GC_get_bytes_since_gc(void);
GC_API size_t GC_CALL GC_get_expl_freed_bytes_since_gc(void);
GC_API size_t GC_CALL GC_get_total_bytes(void);
GC_API size_t GC_CALL GC_get_obtained_from_os_bytes(void);
GC_API void GC_CALL GC_get_heap_usage_safe(GC_word *, GC_word *, GC_word *, GC_word *, GC_word *);
struct GC_prof_stats_s {
    GC_word heapsize_full;
    GC_word free_bytes_full;
    GC_word unmapped_bytes;
    GC_word bytes_allocd_since_gc;
    GC_word allocd_bytes_before_gc;
    GC_word non_gc_bytes;
    GC_word gc_no;
    GC_word markers_m1;
    GC_word bytes_reclaimed_since_gc;
    GC_word reclaimed_bytes_before_gc;
    GC_word expl_freed_bytes_since_gc;
    GC_word obtained_from_os_bytes;
};
GC_API size_t GC_CALL GC_get_prof_stats(struct GC_prof_stats_s *, size_t);
GC_API size_t GC_CALL GC_get_prof_stats_unsafe(struct GC_prof_stats_s *, size_t);
GC_API size_t GC_CALL GC_get_size_map_at(int);
GC_API size_t GC_CALL GC_get_memory_use(void);
GC_API void GC_CALL GC_disable(void);
GC_API int GC_CALL GC_is_disabled(void);
GC_API void GC_CALL GC_enable(void);
GC_API void GC_CALL GC_enable_incremental(void);   /* ignored, as libgc allows */
GC_API int GC_CALL GC_is_incremental_mode(void);
#define GC_PROTECTS_POINTER_HEAP 1
#define GC_PROTECTS_PTRFREE_HEAP 2
#define GC_PROTECTS_STATIC_DATA 4
#define GC_PROTECTS_STACK 8
#define GC_PROTECTS_NONE 0
GC_API int GC_CALL GC_incremental_protection_needs(void);
GC_API void GC_CALL GC_start_incremental_collection(void);
GC_API int GC_CALL GC_collect_a_little(void);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_ignore_off_page(size_t);

/* ---- debug allocation: cgc has no debug headers; same as the plain ones -- */
#define GC_EXTRAS __FILE__, __LINE__
#define GC_EXTRA_PARAMS const char *s, int i
GC_API GC_ATTR_MALLOC void *GC_CALL GC_debug_malloc(size_t, GC_word, const char *, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_debug_malloc_atomic(size_t, GC_word, const char *, int);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_debug_strdup(const char *, GC_word, const char *, int);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_debug_strndup(const char *, size_t, GC_word, const char *, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_debug_malloc_uncollectable(size_t, GC_word, const char *, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_debug_malloc_stubborn(size_t, GC_word, const char *, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_debug_malloc_ignore_off_page(size_t, GC_word, const char *, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_debug_malloc_atomic_ignore_off_page(size_t, GC_word, const char *, int);
GC_API void GC_CALL GC_debug_free(void *);
GC_API void *GC_CALL GC_debug_realloc(void *, size_t, GC_word, const char *, int);
GC_API void GC_CALL GC_debug_change_stubborn(const void *);
GC_API void GC_CALL GC_debug_end_stubborn_change(const void *);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_debug_malloc_replacement(size_t);
GC_API void *GC_CALL GC_debug_realloc_replacement(void *, size_t);

/* The allocation macros, in their non-debug form (GC_DEBUG is not
 * supported: cgc has no debug headers, the debug functions above are the
 * plain ones). */
#define GC_MALLOC(sz) GC_malloc(sz)
#define GC_STRDUP(s) GC_strdup(s)
#define GC_STRNDUP(s, sz) GC_strndup(s, sz)
#define GC_MALLOC_ATOMIC(sz) GC_malloc_atomic(sz)
#define GC_MALLOC_UNCOLLECTABLE(sz) GC_malloc_uncollectable(sz)
#define GC_MALLOC_ATOMIC_UNCOLLECTABLE(sz) GC_malloc_atomic_uncollectable(sz)
#define GC_MALLOC_IGNORE_OFF_PAGE(sz) GC_malloc_ignore_off_page(sz)
#define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(sz) GC_malloc_atomic_ignore_off_page(sz)
#define GC_REALLOC(old, sz) GC_realloc(old, sz)
#define GC_FREE(p) GC_free(p)
#define GC_REGISTER_FINALIZER(p, f, d, of, od) GC_register_finalizer(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od) GC_register_finalizer_ignore_self(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od) GC_register_finalizer_no_order(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_UNREACHABLE(p, f, d, of, od) GC_register_finalizer_unreachable(p, f, d, of, od)
#define GC_MALLOC_STUBBORN(sz) GC_malloc_stubborn(sz)
#define GC_CHANGE_STUBBORN(p) GC_change_stubborn(p)
#define GC_END_STUBBORN_CHANGE(p) GC_end_stubborn_change(p)
#define GC_GENERAL_REGISTER_DISAPPEARING_LINK(link, obj) GC_general_register_disappearing_link(link, obj)
#define GC_REGISTER_LONG_LINK(link, obj) GC_register_long_link(link, obj)
#define GC_REGISTER_DISPLACEMENT(n) GC_register_displacement(n)
#define GC_PTR_STORE_AND_DIRTY(p, q) GC_ptr_store_and_dirty(p, q)
#define GC_NEW(t) ((t *)GC_MALLOC(sizeof(t)))
#define GC_NEW_ATOMIC(t) ((t *)GC_MALLOC_ATOMIC(sizeof(t)))
#define GC_NEW_STUBBORN(t) ((t *)GC_MALLOC_STUBBORN(sizeof(t)))
#define GC_NEW_UNCOLLECTABLE(t) ((t *)GC_MALLOC_UNCOLLECTABLE(sizeof(t)))

/* ---- finalization -------------------------------------------------------- */
typedef void (GC_CALLBACK *GC_finalization_proc)(void *, void *);
/* Ordered: if A (finalizable) reaches B (finalizable), A's runs first, B's
 * in a later cycle; cycles are never finalized. The finalizer replaced (or
 * 0) is stored through ofn/ocd when they are not NULL; fn 0 removes it. */
GC_API void GC_CALL GC_register_finalizer(void *, GC_finalization_proc, void *,
                                          GC_finalization_proc *, void **) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_debug_register_finalizer(void *, GC_finalization_proc, void *,
                                                GC_finalization_proc *, void **) GC_ATTR_NONNULL(1);
/* As above, but the object's pointers into itself do not hold it back. */
GC_API void GC_CALL GC_register_finalizer_ignore_self(void *, GC_finalization_proc, void *,
                                                      GC_finalization_proc *, void **) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_debug_register_finalizer_ignore_self(void *, GC_finalization_proc, void *,
                                                            GC_finalization_proc *, void **) GC_ATTR_NONNULL(1);
/* Its own pointers are not followed when deciding readiness. */
GC_API void GC_CALL GC_register_finalizer_no_order(void *, GC_finalization_proc, void *,
                                                   GC_finalization_proc *, void **) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_debug_register_finalizer_no_order(void *, GC_finalization_proc, void *,
                                                         GC_finalization_proc *, void **) GC_ATTR_NONNULL(1);
/* As ordered, and not run either while an object with a no_order
 * finalizer reaches it (that finalizer could still bring it back). */
GC_API void GC_CALL GC_register_finalizer_unreachable(void *, GC_finalization_proc, void *,
                                                      GC_finalization_proc *, void **) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_debug_register_finalizer_unreachable(void *, GC_finalization_proc, void *,
                                                            GC_finalization_proc *, void **) GC_ATTR_NONNULL(1);

/* Return codes. */
#define GC_NO_MEMORY 2
#define GC_SUCCESS 0
#define GC_DUPLICATE 1
#define GC_NO_THREADS 2
#define GC_UNIMPLEMENTED 3
#define GC_NOT_FOUND 4

/* Disappearing links: *link is set to NULL when obj is found unreachable
 * (a short link: before finalizers are chosen) or when obj is freed (a long
 * link). The link itself must not keep obj alive (hide it: GC_HIDE_POINTER,
 * or keep it in atomic memory). One registration per link location. */
GC_API int GC_CALL GC_register_disappearing_link(void **) GC_ATTR_NONNULL(1);
GC_API int GC_CALL GC_general_register_disappearing_link(void **, const void *) GC_ATTR_NONNULL(1) GC_ATTR_NONNULL(2);
GC_API int GC_CALL GC_move_disappearing_link(void **, void **) GC_ATTR_NONNULL(2);
GC_API int GC_CALL GC_unregister_disappearing_link(void **);
GC_API int GC_CALL GC_register_long_link(void **, const void *) GC_ATTR_NONNULL(1) GC_ATTR_NONNULL(2);
GC_API int GC_CALL GC_move_long_link(void **, void **) GC_ATTR_NONNULL(2);
GC_API int GC_CALL GC_unregister_long_link(void **);

typedef enum { GC_TOGGLE_REF_DROP, GC_TOGGLE_REF_STRONG, GC_TOGGLE_REF_WEAK } GC_ToggleRefStatus;
typedef GC_ToggleRefStatus (GC_CALLBACK *GC_toggleref_func)(void *);
GC_API void GC_CALL GC_set_toggleref_func(GC_toggleref_func);
GC_API GC_toggleref_func GC_CALL GC_get_toggleref_func(void);
/* The callback is asked about each object at every collection, with the
 * world stopped on cgc (it must not take a lock another thread may hold). */
GC_API int GC_CALL GC_toggleref_add(void *, int) GC_ATTR_NONNULL(1);
typedef void (GC_CALLBACK *GC_await_finalize_proc)(void *);
GC_API void GC_CALL GC_set_await_finalize_proc(GC_await_finalize_proc);
GC_API GC_await_finalize_proc GC_CALL GC_get_await_finalize_proc(void);

GC_API int GC_CALL GC_should_invoke_finalizers(void);
GC_API int GC_CALL GC_invoke_finalizers(void);   /* runs the ready ones here; how many */

#define GC_reachable_here(ptr) __asm__ __volatile__(" " : : "X"(ptr) : "memory")
GC_API void GC_CALL GC_noop1(GC_word);

typedef void (GC_CALLBACK *GC_warn_proc)(char *, GC_word);
GC_API void GC_CALL GC_set_warn_proc(GC_warn_proc) GC_ATTR_NONNULL(1);
GC_API GC_warn_proc GC_CALL GC_get_warn_proc(void);
GC_API void GC_CALLBACK GC_ignore_warn_proc(char *, GC_word);
GC_API void GC_CALL GC_set_log_fd(int);
typedef void (GC_CALLBACK *GC_abort_func)(const char *);
GC_API void GC_CALL GC_set_abort_func(GC_abort_func) GC_ATTR_NONNULL(1);
GC_API GC_abort_func GC_CALL GC_get_abort_func(void);
GC_API void GC_CALL GC_abort_on_oom(void);

/* Hidden pointers: not recognised by the collector. */
typedef GC_word GC_hidden_pointer;
#define GC_HIDE_POINTER(p) (~(GC_hidden_pointer)(p))
#define GC_REVEAL_POINTER(p) ((void *)GC_HIDE_POINTER(p))
#define HIDE_POINTER(p) GC_HIDE_POINTER(p)
#define REVEAL_POINTER(p) GC_REVEAL_POINTER(p)

typedef void *(GC_CALLBACK *GC_fn_type)(void *);
GC_API void GC_CALL GC_alloc_lock(void);
GC_API void GC_CALL GC_alloc_unlock(void);
GC_API void *GC_CALL GC_call_with_alloc_lock(GC_fn_type, void *) GC_ATTR_NONNULL(1);

/* ---- threads -------------------------------------------------------------- */
struct GC_stack_base {
    void *mem_base;   /* the stack's highest address (it grows down) */
};
typedef void *(GC_CALLBACK *GC_stack_base_func)(struct GC_stack_base *, void *);
GC_API void *GC_CALL GC_call_with_stack_base(GC_stack_base_func, void *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_start_mark_threads(void);
GC_API void GC_CALL GC_allow_register_threads(void);
GC_API int GC_CALL GC_register_my_thread(const struct GC_stack_base *) GC_ATTR_NONNULL(1);
GC_API int GC_CALL GC_thread_is_registered(void);
GC_API void GC_CALL GC_register_altstack(void *, GC_word, void *, GC_word);
GC_API int GC_CALL GC_unregister_my_thread(void);
/* Stops every other registered thread (and holds collections off) until
 * the same thread calls GC_start_world_external; meanwhile it must not
 * allocate from the collector, nor load or unload a library. */
GC_API void GC_CALL GC_stop_world_external(void);
GC_API void GC_CALL GC_start_world_external(void);
GC_API void *GC_CALL GC_do_blocking(GC_fn_type, void *) GC_ATTR_NONNULL(1);
GC_API void *GC_CALL GC_call_with_gc_active(GC_fn_type, void *) GC_ATTR_NONNULL(1);
GC_API int GC_CALL GC_get_stack_base(struct GC_stack_base *) GC_ATTR_NONNULL(1);
GC_API void *GC_CALL GC_get_my_stackbottom(struct GC_stack_base *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_set_stackbottom(void *, const struct GC_stack_base *) GC_ATTR_NONNULL(2);
GC_API void GC_CALL GC_set_suspend_signal(int);
GC_API void GC_CALL GC_set_thr_restart_signal(int);
GC_API int GC_CALL GC_get_suspend_signal(void);
GC_API int GC_CALL GC_get_thr_restart_signal(void);
/* One registered thread held (a signal, CGC_SIG_THREAD_SUSPEND, default
 * SIGRTMIN+6) until GC_resume_thread; collections go on without it. */
GC_API void GC_CALL GC_suspend_thread(void *);
GC_API void GC_CALL GC_resume_thread(void *);
GC_API int GC_CALL GC_is_thread_suspended(void *);

/* ---- checking and pointer arithmetic ------------------------------------- */
GC_API void *GC_CALL GC_same_obj(void *, void *);
GC_API void *GC_CALL GC_pre_incr(void **, ptrdiff_t) GC_ATTR_NONNULL(1);
GC_API void *GC_CALL GC_post_incr(void **, ptrdiff_t) GC_ATTR_NONNULL(1);
GC_API void *GC_CALL GC_is_visible(void *);
GC_API void *GC_CALL GC_is_valid_displacement(void *);
GC_API void GC_CALL GC_dump(void);
GC_API void GC_CALL GC_dump_named(const char *);
GC_API void GC_CALL GC_dump_regions(void);
GC_API void GC_CALL GC_dump_finalization(void);
GC_API void GC_CALL GC_ptr_store_and_dirty(void *, const void *);
GC_API void GC_CALL GC_debug_ptr_store_and_dirty(void *, const void *);
GC_API void (GC_CALLBACK *GC_same_obj_print_proc)(void *, void *);
GC_API void (GC_CALLBACK *GC_is_valid_displacement_print_proc)(void *);
GC_API void (GC_CALLBACK *GC_is_visible_print_proc)(void *);
#define GC_PTR_ADD(x, n) (x + n)
#define GC_PRE_INCR(x, n) (x += (n))
#define GC_POST_INCR(x) (x++)
#define GC_POST_DECR(x) (x--)

/* ---- threads: the pthread wrappers (GC_THREADS) --------------------------- */
#ifdef GC_PTHREADS
GC_API void *GC_dlopen(const char *, int);
GC_API int GC_pthread_sigmask(int, const sigset_t *, sigset_t *);
GC_API int GC_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
GC_API int GC_pthread_join(pthread_t, void **);
GC_API int GC_pthread_detach(pthread_t);
GC_API int GC_pthread_cancel(pthread_t);
GC_API void GC_pthread_exit(void *) __attribute__((__noreturn__));
# if !defined(GC_NO_THREAD_REDIRECTS) && !defined(GC_BUILD)
#  undef pthread_create
#  undef pthread_join
#  undef pthread_detach
#  undef pthread_sigmask
#  undef pthread_cancel
#  undef pthread_exit
#  undef dlopen
#  define pthread_create GC_pthread_create
#  define pthread_join GC_pthread_join
#  define pthread_detach GC_pthread_detach
#  define pthread_sigmask GC_pthread_sigmask
#  define pthread_cancel GC_pthread_cancel
#  define pthread_exit GC_pthread_exit
#  define dlopen GC_dlopen
# endif
#endif

/* GC_INIT: in the main program, before any other call. */
#define GC_INIT() GC_init()

GC_API void GC_CALL GC_register_has_static_roots_callback(int (*)(const char *, void *, size_t)); /* accepted; all scanned */
GC_API void GC_CALL GC_set_force_unmap_on_gcollect(int);

#ifdef __cplusplus
}
#endif
#endif /* CGC_COMPAT_GC_H */
