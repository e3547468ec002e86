/* gc/gc_mark.h — the part of libgc's marking interface that cgc's
 * libgc.so.1 implements: the predefined kinds and allocation by kind.
 * Custom kinds, mark procedures and the push functions exist in the
 * library but abort with one line naming them (not declared here).
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
GC_API GC_ATTR_MALLOC void *GC_CALL GC_generic_malloc(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_generic_malloc_ignore_off_page(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_generic_malloc_uncollectable(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_generic_or_special_malloc(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_malloc_kind(size_t, int);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_malloc_kind_global(size_t, int);
GC_API void GC_CALL GC_generic_malloc_many(size_t, int, void **);
GC_API int GC_CALL GC_get_kind_and_size(const void *, size_t *) GC_ATTR_NONNULL(1);
GC_API size_t GC_CALL GC_get_debug_header_size(void);
/* Extra roots pushed at every collection: only the default (no extra
 * roots) is supported. A program that installs its own function gets one
 * line naming GC_push_other_roots and an abort at the next collection. */
typedef void (GC_CALLBACK *GC_push_other_roots_proc)(void);
GC_API GC_push_other_roots_proc GC_push_other_roots;
GC_API void GC_CALL GC_set_push_other_roots(GC_push_other_roots_proc);
GC_API GC_push_other_roots_proc GC_CALL GC_get_push_other_roots(void);
GC_API void *GC_CALL GC_clear_stack(void *);
#ifdef __cplusplus
}
#endif
#endif
