/* compat.h — declarations shared by the files of cgc's libgc.so.1 (the
 * Boehm collector's API on cgc, SPEC §10; docs/boehm-compat.md). The core
 * does not know this layer exists: it calls cgc's public API and the few
 * internal hooks src/internal.h offers to a layer above it. */
#ifndef CGC_COMPAT_H
#define CGC_COMPAT_H

#include "internal.h"

/* libgc's return codes (gc.h's GC_SUCCESS...). */
#define GC_SUCCESS_CODE 0
#define GC_DUPLICATE_CODE 1
#define GC_NO_MEMORY_CODE 2
#define GC_UNIMPLEMENTED_CODE 3
#define GC_NOT_FOUND_CODE 4

#define GCAPI __attribute__((visibility("default")))

typedef void *(*compat_oom_fn)(size_t);
typedef void (*compat_notifier)(void);
typedef void (*compat_warn_proc)(char *, uintptr_t);
typedef void (*compat_abort_func)(const char *);

/* libgc's data symbols that this layer reads (knobs.c defines them all). */
extern int GC_dont_gc, GC_finalize_on_demand, GC_find_leak, GC_java_finalization;
extern uintptr_t GC_free_space_divisor;
extern uintptr_t GC_gc_no;
extern compat_oom_fn GC_oom_fn;
extern compat_notifier GC_finalizer_notifier;
extern void (*GC_push_other_roots)(void);
extern compat_abort_func GC_on_abort;
extern void (*GC_same_obj_print_proc)(void *, void *);
extern char *GC_stackbottom;
extern int GC_parallel;
void compat_default_push_other_roots(void);

/* knobs.c */
cgc__thread *compat_registered_self(void);   /* never NULL */
/* Leaves the section of this thread's GC_alloc_lock, if it holds it:
 * returns what compat_alloc_lock_resume takes to enter it again. */
int  compat_alloc_lock_suspend(void);
void compat_alloc_lock_resume(int held);
/* Prints "libgc compat: NAME: WHY" and aborts (through GC_on_abort). */
void compat_unsupported(const char *name, const char *why) __attribute__((noreturn));
extern _Atomic int compat_auto_disabled;   /* GC_set_disable_automatic_collection */

/* warn.c: a warning to the program's warn proc (GC_set_warn_proc), in
 * libgc's convention: fmt (a whole line, "libgc compat: ...\n") converts
 * the one word arg (%ld, %lu). From a program thread outside a section. */
void compat_warn(const char *fmt, uintptr_t arg);
/* The core's warnings queued for the program's warn proc: delivered by
 * compat_sync when compat_warn_pending is set. */
extern _Atomic int compat_warn_pending;
void compat_deliver_warnings(void);

/* threads.c */
int GC_get_suspend_signal(void);
int GC_get_thr_restart_signal(void);

/* alloc.c */
void compat_init(void);
int  compat_divisor_to_percent(uintptr_t divisor);
/* At every entry point that may follow a collection: brings GC_gc_no up
 * to date, applies GC_dont_gc, runs ready finalizers (or calls the
 * notifier when finalizing on demand). Cheap when nothing changed. */
void compat_sync(void);

/* The byte added to every object so that a pointer one past its end keeps
 * it (alloc.c): there unless the program turned GC_all_interior_pointers
 * off. */
GCAPI extern int GC_all_interior_pointers;
static inline size_t compat_extra_byte(void) { return GC_all_interior_pointers != 0; }
extern _Atomic uint64_t compat_max_heap;   /* GC_set_max_heap_size; 0 = none */

/* kinds.c: custom kinds (GC_new_kind), numbered from COMPAT_FIRST_KIND
 * after libgc's four predefined ones. */
#define COMPAT_FIRST_KIND 4
#define COMPAT_MAX_KINDS 64
#define COMPAT_FREE_LIST_LEN 129   /* libgc's free lists: one per granule count up to 2 KiB */
void  compat_kinds_init(void);
int   compat_new_kind(uintptr_t descr, int adjust, int trailer_words, int typed);
bool  compat_kind_valid(int k);
void *compat_kind_alloc(size_t m, int k);            /* m bytes and the trailer, in a CGC_KIND_PROC object */
int   compat_kind_of(const void *base, size_t *usable); /* -1 if not a custom kind's object */
uintptr_t *compat_kind_trailer(void *base);         /* the trailer's last word */
void  compat_apply_descr(uintptr_t base, size_t len, uintptr_t descr); /* inside a mark callback */
void  compat_set_proc(unsigned index, void *proc);
void *compat_alloc(size_t n, int kind);              /* alloc.c: GC_generic_malloc */

/* toggleref.c: at every mark (extra roots) and after it (pause hook). */
void compat_toggleref_mark(void);
void compat_toggleref_clear(void);

/* finalize.c */
void compat_finalize_init(void);
void compat_register_atfork(void);   /* before cgc initialises */
void compat_after_collection(void);   /* world running, in a program thread */
int  compat_pending_finalizers(void);
/* Disclaim procedures (GC_register_disclaim_proc): alloc.c tracks each new
 * object of a kind that has one while compat_disclaim_kinds is set. */
extern _Atomic int compat_disclaim_kinds;
void compat_disclaim_track(void *obj, int kind);

#endif
