/* gc/javaxfc.h — Java-style extras of libgc (cgc's libgc.so.1). */
#ifndef CGC_COMPAT_GC_JAVAXFC_H
#define CGC_COMPAT_GC_JAVAXFC_H
#include "gc.h"
#ifdef __cplusplus
extern "C" {
#endif
/* Runs every registered finalizer, its object reachable or not, until
 * none is left (at exit, for runtimes that promise it). */
GC_API void GC_CALL GC_finalize_all(void);
#ifdef GC_THREADS
#ifndef GC_SUSPEND_THREAD_ID
#define GC_SUSPEND_THREAD_ID void *
#endif
/* One registered thread held until resumed (gc.h). */
GC_API void GC_CALL GC_suspend_thread(GC_SUSPEND_THREAD_ID);
GC_API void GC_CALL GC_resume_thread(GC_SUSPEND_THREAD_ID);
GC_API int GC_CALL GC_is_thread_suspended(GC_SUSPEND_THREAD_ID);
#endif
#ifdef __cplusplus
}
#endif
#endif
