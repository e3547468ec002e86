/* gc/gc_disclaim.h — objects finalized through a closure kept with them,
 * and procedures called for the unreachable objects of a kind (cgc's
 * libgc.so.1: both are unordered finalizers, run after the collection that
 * found the object unreachable rather than from the sweep). */
#ifndef CGC_COMPAT_GC_DISCLAIM_H
#define CGC_COMPAT_GC_DISCLAIM_H
#include "gc.h"
#ifdef __cplusplus
extern "C" {
#endif
GC_API void GC_CALL GC_init_finalized_malloc(void);
typedef int (GC_CALLBACK *GC_disclaim_proc)(void *);
/* The proc is called for each object of the kind allocated after this
 * call once it is found unreachable; returning nonzero keeps it (it is
 * disclaimed again when next found unreachable). */
GC_API void GC_CALL GC_register_disclaim_proc(int, GC_disclaim_proc, int) GC_ATTR_NONNULL(2);
struct GC_finalizer_closure {
    GC_finalization_proc proc;
    void *cd;
};
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_finalized_malloc(size_t, const struct GC_finalizer_closure *)
    GC_ATTR_NONNULL(2);
#ifdef __cplusplus
}
#endif
#endif
