/* gc/gc_mark.h — libgc's marking interface on cgc's libgc.so.1: kinds
 * (predefined and custom), mark descriptors and procedures, the push
 * functions (docs/boehm-compat.md). Mark procedures run on cgc's marker
 * threads with the world stopped; they report pointers with
 * GC_MARK_AND_PUSH only.
 */
#ifndef CGC_COMPAT_GC_MARK_H
#define CGC_COMPAT_GC_MARK_H
#include "gc.h"
#ifdef __cplusplus
extern "C" {
#endif
/* The predefined kinds (GC_generic_malloc's k). */
#define GC_I_PTRFREE 0
#define GC_I_NORMAL 1

/* Mark descriptors: the low two bits say what the rest is. */
#define GC_PROC_BYTES 100
struct GC_ms_entry { void *opaque; };
typedef struct GC_ms_entry *(GC_CALLBACK *GC_mark_proc)(GC_word * /* addr */, struct GC_ms_entry * /* msp */,
                                                       struct GC_ms_entry * /* limit */, GC_word /* env */);
#define GC_LOG_MAX_MARK_PROCS 6
#define GC_MAX_MARK_PROCS (1 << GC_LOG_MAX_MARK_PROCS)
#define GC_RESERVED_MARK_PROCS 8
#define GC_GCJ_RESERVED_MARK_PROC_INDEX 0
#define GC_DS_TAG_BITS 2
#define GC_DS_TAGS ((1 << GC_DS_TAG_BITS) - 1)
#define GC_DS_LENGTH 0       /* the whole word: bytes to scan from the start */
#define GC_DS_BITMAP 1       /* the other 62 bits: pointer words, the first word at the top bit */
#define GC_DS_PROC 2         /* a mark procedure and its argument: */
#define GC_MAKE_PROC(proc_index, env) \
    (((((env) << GC_LOG_MAX_MARK_PROCS) | (proc_index)) << GC_DS_TAG_BITS) | GC_DS_PROC)
#define GC_DS_PER_OBJECT 3   /* the descriptor is in the object at this offset, or, negative, in its type */
#define GC_INDIR_PER_OBJ_BIAS 0x10
GC_API void *GC_least_plausible_heap_addr;
GC_API void *GC_greatest_plausible_heap_addr;
GC_API struct GC_ms_entry *GC_CALL GC_mark_and_push(void *, struct GC_ms_entry *, struct GC_ms_entry *, void **);
#define GC_MARK_AND_PUSH(obj, msp, lim, src) \
    ((GC_word)(obj) >= (GC_word)GC_least_plausible_heap_addr && \
     (GC_word)(obj) <= (GC_word)GC_greatest_plausible_heap_addr ? GC_mark_and_push(obj, msp, lim, src) : (msp))
GC_API void **GC_CALL GC_new_free_list(void);
GC_API void **GC_CALL GC_new_free_list_inner(void);
GC_API unsigned GC_CALL GC_new_kind(void **, GC_word /* descr */, int /* add size */, int /* clear */) GC_ATTR_NONNULL(1);
GC_API unsigned GC_CALL GC_new_kind_inner(void **, GC_word, int, int) GC_ATTR_NONNULL(1);
GC_API unsigned GC_CALL GC_new_proc(GC_mark_proc);
GC_API unsigned GC_CALL GC_new_proc_inner(GC_mark_proc);
GC_API int GC_CALL GC_is_marked(const void *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_clear_mark_bit(const void *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_set_mark_bit(const void *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_push_all(void *, void *);
GC_API void GC_CALL GC_push_all_eager(void *, void *);
GC_API void GC_CALL GC_push_conditional(void *, void *, int /* all */);
GC_API void GC_CALL GC_push_finalizer_structures(void);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_generic_malloc(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_generic_malloc_ignore_off_page(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_generic_malloc_uncollectable(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_generic_or_special_malloc(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_malloc_kind(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_malloc_kind_global(size_t, int);
GC_API void GC_CALL GC_generic_malloc_many(size_t, int, void **);
GC_API int GC_CALL GC_get_kind_and_size(const void *, size_t *) GC_ATTR_NONNULL(1);
GC_API size_t GC_CALL GC_get_debug_header_size(void);
/* Extra roots: called at every mark, world stopped, after the other
 * roots; it pushes ranges with GC_push_all (the default pushes nothing). */
typedef void (GC_CALLBACK *GC_push_other_roots_proc)(void);
GC_API GC_push_other_roots_proc GC_push_other_roots;
GC_API void GC_CALL GC_set_push_other_roots(GC_push_other_roots_proc);
GC_API GC_push_other_roots_proc GC_CALL GC_get_push_other_roots(void);
GC_API void *GC_CALL GC_clear_stack(void *);
/* Calls the proc for every object the last collection found reachable
 * (and, on cgc, every object allocated since), with its base and size.
 * Called with the allocation lock held (GC_call_with_alloc_lock); the
 * proc must not allocate. */
typedef void (GC_CALLBACK *GC_reachable_object_proc)(void * /* obj */, size_t /* bytes */,
                                                     void * /* client_data */);
GC_API void GC_CALL GC_enumerate_reachable_objects_inner(GC_reachable_object_proc,
                                                         void *) GC_ATTR_NONNULL(1);
#ifdef __cplusplus
}
#endif
#endif
