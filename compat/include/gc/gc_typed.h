/* gc/gc_typed.h — objects whose pointer words are given by a bitmap,
 * marked exactly (cgc's libgc.so.1, docs/boehm-compat.md). */
#ifndef CGC_COMPAT_GC_TYPED_H
#define CGC_COMPAT_GC_TYPED_H
#include "gc.h"
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef GC_word *GC_bitmap;   /* bit i (word i / GC_WORDSZ, low bit first): word i may be a pointer */
#define GC_WORDSZ (8 * sizeof(GC_word))
#define GC_get_bit(bm, i) (((bm)[(i) / GC_WORDSZ] >> ((i) % GC_WORDSZ)) & 1)
#define GC_set_bit(bm, i) ((bm)[(i) / GC_WORDSZ] |= (GC_word)1 << ((i) % GC_WORDSZ))
#define GC_WORD_OFFSET(t, f) (offsetof(t, f) / sizeof(GC_word))
#define GC_WORD_LEN(t) (sizeof(t) / sizeof(GC_word))
#define GC_BITMAP_SIZE(t) ((GC_WORD_LEN(t) + GC_WORDSZ - 1) / GC_WORDSZ)
typedef GC_word GC_descr;
GC_API GC_descr GC_CALL GC_make_descriptor(const GC_word *, size_t /* bits */);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_explicitly_typed(size_t, GC_descr);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_explicitly_typed_ignore_off_page(size_t, GC_descr);
GC_API GC_ATTR_MALLOC void *GC_CALL GC_calloc_explicitly_typed(size_t /* n */, size_t /* element size */, GC_descr);
#ifdef GC_DEBUG
#define GC_MALLOC_EXPLICITLY_TYPED(bytes, d) ((void)(d), GC_MALLOC(bytes))
#define GC_CALLOC_EXPLICITLY_TYPED(n, bytes, d) ((void)(d), GC_MALLOC((n) * (bytes)))
#else
#define GC_MALLOC_EXPLICITLY_TYPED(bytes, d) GC_malloc_explicitly_typed(bytes, d)
#define GC_CALLOC_EXPLICITLY_TYPED(n, bytes, d) GC_calloc_explicitly_typed(n, bytes, d)
#endif
#ifdef __cplusplus
}
#endif
#endif
