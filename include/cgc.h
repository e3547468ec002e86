/* cgc.h — the public interface of cgc, a conservative tracing garbage
 * collector for C with a soft memory limit in the manner of Go's GOMEMLIMIT.
 *
 * This header is the whole public API. docs/reference.md documents every
 * function, its errors, and what keeps an object alive; README.md is the
 * short version. Nothing in it depends on build-time macros except
 * CGC_THREADS (see below).
 */
#ifndef CGC_H
#define CGC_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CGC_VERSION_MAJOR 0
#define CGC_VERSION_MINOR 1

/* ---- Allocation (docs/reference.md §2, §3) ------------------------------
 * Every object is aligned to 16 bytes. A pointer anywhere inside
 * [base, base + size) keeps the object alive; a one-past-the-end pointer
 * does not. NULL (errno ENOMEM) only when the OS refuses memory after a full
 * collection and a full release of free pages, or at once (no collection, no
 * OOM handler) for a request above 16 TiB - 64 MiB, which no heap can hold. */
void  *cgc_malloc(size_t size);                /* zeroed; scanned for pointers */
void  *cgc_malloc_atomic(size_t size);         /* never scanned; contents unspecified */
void  *cgc_malloc_uncollectable(size_t size);  /* zeroed; scanned; freed only by cgc_free */
void  *cgc_calloc(size_t n, size_t size);      /* overflow-checked; zeroed; scanned */
void  *cgc_realloc(void *p, size_t size);      /* keeps p's kind; realloc(NULL, n) == malloc(n) */
char  *cgc_strdup(const char *s);              /* atomic object */
char  *cgc_strndup(const char *s, size_t n);   /* atomic object */
void   cgc_free(void *p);                      /* optional early release; NULL is a no-op */
size_t cgc_size(const void *p);                /* usable size of the object containing p; 0 if none */
void  *cgc_base(const void *p);                /* start of the object containing p, or NULL */

/* Called with the size of the request before an allocation returns NULL.
 * It may free memory (e.g. drop caches); the allocation is then retried once.
 * It may allocate; an allocation of its own that fails returns NULL without
 * calling it again. Returns the previous handler. */
typedef void (*cgc_oom_handler)(size_t request);
cgc_oom_handler cgc_set_oom_handler(cgc_oom_handler handler);

/* Extra roots: the words in [lo, hi) are scanned at every collection.
 * Ranges are remembered as given; cgc_remove_roots takes the same pair. */
void cgc_add_roots(void *lo, void *hi);
void cgc_remove_roots(void *lo, void *hi);

/* ---- Threads and signals (docs/reference.md §5) -------------------------
 * Any thread that holds pointers to collected objects must be registered.
 * The main thread is registered when the library initialises. */
int cgc_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                       void *(*fn)(void *), void *arg);
int cgc_register_thread(void);    /* 0 on success (also if already registered) */
int cgc_unregister_thread(void);  /* before a self-registered thread exits */

/* Signals used to stop and restart registered threads during a collection.
 * Defaults: SIGPWR (suspend) and SIGXCPU (restart), as the Boehm collector.
 * Call it from the main thread before creating threads (statically or
 * dynamically linked: the library may already be initialised). Returns -1
 * and changes nothing if another thread is registered, if the two are
 * equal, or if a signal cannot serve (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,
 * the two glibc reserves: the rule of CGC_SIG_SUSPEND). The old
 * signals get back the dispositions they had before cgc. The environment
 * variables CGC_SIG_SUSPEND / CGC_SIG_RESTART choose them at start.
 * A suspend or restart signal cgc did not send (kill -PWR from outside)
 * goes to the handler the program had before cgc, or is ignored. */
int cgc_set_thread_signals(int suspend_signal, int restart_signal);

/* Runs fn(arg) on the calling thread and returns its result, without the
 * collector's signals: a collection does not interrupt it, so fn's system
 * calls (sleep, nanosleep, poll, read...) never fail with EINTR because of
 * cgc. Meanwhile the thread counts as stopped: its stack above this call
 * (and the registers at the call) is scanned, fn's own frames are not. So
 * fn must not call any cgc function nor keep the only pointer to a
 * collected object in its frames; objects the caller holds stay alive.
 * If fn returns during a collection, cgc_do_blocking waits for its end.
 * Elsewhere a collection may interrupt sleep, nanosleep, poll and other
 * calls SA_RESTART does not restart with EINTR (docs/threads.md).
 * Unregistered threads and nested calls just run fn. (libgc: GC_do_blocking) */
void *cgc_do_blocking(void *(*fn)(void *), void *arg);

#ifdef CGC_THREADS
#define pthread_create cgc_pthread_create
#endif

/* ---- Collection and the knobs, Go semantics (docs/reference.md §6) ----- */
void    cgc_collect(void);                    /* full blocking collection + sweep (runtime.GC) */
void    cgc_free_os_memory(void);             /* collect, release every free page (debug.FreeOSMemory) */
int64_t cgc_set_memory_limit(int64_t limit);  /* bytes; <0 reads; INT64_MAX = none (debug.SetMemoryLimit) */
int     cgc_set_gc_percent(int percent);      /* <0 = off (debug.SetGCPercent) */

/* ---- Statistics (docs/reference.md §7) ----------------------------------
 * Go's runtime.MemStats, in snake_case, same meanings. The struct carries
 * its size and version; cgc_read_memstats fills only the fields the caller's
 * struct has, so a program built against an older header keeps working. */
#define CGC_MEMSTATS_VERSION 2

typedef struct cgc_memstats {
    uint32_t size;            /* sizeof the struct cgc filled (the caller's) */
    uint32_t version;         /* CGC_MEMSTATS_VERSION of the library */
    /* General statistics */
    uint64_t alloc;           /* = heap_alloc */
    uint64_t total_alloc;     /* cumulative bytes allocated for heap objects */
    uint64_t sys;             /* bytes obtained from the OS (heap + metadata) */
    uint64_t lookups;         /* always 0 */
    uint64_t mallocs;         /* cumulative objects allocated */
    uint64_t frees;           /* cumulative objects freed (swept or cgc_free) */
    /* Heap */
    uint64_t heap_alloc;      /* bytes of allocated objects, incl. unreachable not yet swept */
    uint64_t heap_sys;        /* bytes of heap address space obtained (incl. released) */
    uint64_t heap_idle;       /* bytes in free spans (incl. released) */
    uint64_t heap_inuse;      /* bytes in in-use spans */
    uint64_t heap_released;   /* bytes returned to the OS (MADV_DONTNEED) */
    uint64_t heap_objects;    /* live + unswept objects */
    /* Stacks (cgc does not allocate thread stacks: 0) */
    uint64_t stack_inuse;
    uint64_t stack_sys;
    /* Off-heap metadata */
    uint64_t mspan_inuse;     /* span descriptors in use */
    uint64_t mspan_sys;       /* bytes mapped for span descriptors */
    uint64_t mcache_inuse;    /* per-thread caches in use */
    uint64_t mcache_sys;      /* bytes mapped for per-thread caches */
    uint64_t buck_hash_sys;   /* always 0 */
    uint64_t gc_sys;          /* mark bitmaps, mark stacks, page maps */
    uint64_t other_sys;       /* other metadata (root tables, thread table) */
    /* Collector */
    uint64_t next_gc;         /* heap goal of the next cycle (bytes) */
    uint64_t last_gc;         /* end of the last collection, ns since the epoch */
    uint64_t pause_total_ns;
    uint64_t pause_ns[256];   /* circular: most recent at [(num_gc+255)%256] */
    uint64_t pause_end[256];  /* ns since the epoch */
    uint32_t num_gc;
    uint32_t num_forced_gc;
    double   gc_cpu_fraction; /* fraction of available CPU time used by GC since start */
    uint32_t enable_gc;       /* always 1 */
    uint32_t debug_gc;        /* 1 in a CGC_DEBUG build */
    /* cgc additions */
    int64_t  mem_limit;       /* soft limit in bytes; INT64_MAX = none */
    int32_t  gc_percent;      /* -1 = off */
    uint32_t reserved0;
    uint64_t gc_limiter_cycles; /* cycles in which the CPU limiter held collection back */
    /* The bounds on cgc's memory (sys - heap_released), version 2
     * (docs/memory-limit.md). The soft limit (mem_limit) counts only cgc's
     * memory; in a memory-limited container a hard-limit guard also keeps
     * the container's total under its limit. */
    int64_t  container_limit; /* the container's memory limit the guard follows; -1 = none */
    int64_t  guard_limit;     /* container_limit - 1/16 of it - guard_outside; INT64_MAX = no guard
                                 (no container limit, or no soft limit: CGC_MEMLIMIT=off) */
    int64_t  guard_outside;   /* what the container is charged for beyond cgc's memory */
    uint64_t outside_process; /* this process's anonymous memory outside cgc (malloc, stacks):
                                 measured with a limit set, not counted by mem_limit */
    int64_t  effective_limit; /* min(mem_limit, guard_limit): what pacing and release work to */
    /* Also version 2: finalization (section 9 below) */
    uint64_t finalizers_queued; /* cumulative finalizers queued to run (their object found unreachable) */
    uint64_t finalizers_run;    /* cumulative finalizers that returned */
    uint64_t cleanups_queued;   /* cumulative cleanups queued */
    uint64_t cleanups_run;      /* cumulative cleanups that returned */
} cgc_memstats;

void cgc_read_memstats_sized(cgc_memstats *out, size_t size);
static inline void cgc_read_memstats(cgc_memstats *out)
{
    cgc_read_memstats_sized(out, sizeof *out);
}

/* Metrics by name, in the manner of Go's runtime/metrics. Names and units
 * follow Go's wherever Go has the same quantity. */
typedef enum cgc_metric_kind {
    CGC_METRIC_BAD = 0,       /* unknown name */
    CGC_METRIC_UINT64 = 1,
    CGC_METRIC_FLOAT64 = 2,
    CGC_METRIC_HISTOGRAM = 3
} cgc_metric_kind;

#define CGC_HISTOGRAM_MAX_BUCKETS 64
typedef struct cgc_histogram {
    size_t   nbuckets;                                /* counts used */
    uint64_t counts[CGC_HISTOGRAM_MAX_BUCKETS];
    double   bounds[CGC_HISTOGRAM_MAX_BUCKETS + 1];   /* bucket i is [bounds[i], bounds[i+1]) */
} cgc_histogram;

typedef struct cgc_metric_desc {
    const char     *name;
    const char     *description;
    cgc_metric_kind kind;
    int             cumulative;   /* 1 for counters */
} cgc_metric_desc;

typedef struct cgc_metric_sample {
    const char     *name;         /* set by the caller */
    cgc_metric_kind kind;         /* set by cgc */
    union {
        uint64_t      u64;
        double        f64;
        cgc_histogram hist;
    } value;
} cgc_metric_sample;

/* The table of supported metrics; returns its length. */
size_t cgc_metrics_all(const cgc_metric_desc **out);
/* Fills each sample named by the caller, all from one consistent snapshot. */
void cgc_metrics_read(cgc_metric_sample *samples, size_t n);

/* ---- 9. Finalizers, cleanups and weak pointers (Go semantics) ----------
 * docs/finalizers.md. `obj` must be the start of an object allocated by
 * cgc (any kind); anything else is an error: -1 / a zero handle / NULL,
 * errno EINVAL, one warning line on stderr.
 *
 * A finalizer runs once, on cgc's finalizer thread (started on first use),
 * after obj is found unreachable; obj stays allocated while it runs and is
 * collected only if still unreachable afterwards (it may store obj
 * somewhere: resurrection). If A (with a finalizer) points to B (with a
 * finalizer), A's runs first and B's in a later cycle. Objects in a cycle
 * of finalizers (including an object that points to itself) are never
 * finalized. Setting a finalizer where one is set replaces it; fn NULL
 * removes it. */
typedef void (*cgc_finalizer)(void *obj, void *arg);
int cgc_set_finalizer(void *obj, cgc_finalizer fn, void *arg);

/* A cleanup runs fn(arg) once obj is unreachable, never resurrects it; any
 * number per object; cycles are fine. arg is kept alive until fn runs, so
 * it must not point to obj (then it never runs). The handle's id is 0 on
 * error; cgc_cleanup_stop of a cleanup that is queued or has run, or of a
 * zero handle, does nothing. */
typedef struct cgc_cleanup {
    uint64_t id;
} cgc_cleanup;
cgc_cleanup cgc_add_cleanup(void *obj, void (*fn)(void *arg), void *arg);
void cgc_cleanup_stop(cgc_cleanup c);

/* Weak pointers: cgc_weak_make returns the same handle for the same object
 * (while the object lives); the handle is itself a collected object. get
 * returns obj, or NULL from the moment obj was found unreachable (before
 * its finalizer is queued; it never comes back, even if a finalizer
 * resurrects obj). */
typedef struct cgc_weak cgc_weak;
cgc_weak *cgc_weak_make(void *obj);
void *cgc_weak_get(const cgc_weak *w);

/* Runs the queued finalizers and cleanups now, in the calling thread. */
void cgc_run_finalizers(void);

#ifdef __cplusplus
}
#endif
#endif /* CGC_H */
