/* internal.h — declarations shared by the files of the cgc core.
 *
 * The heap is a set of arenas (64 MiB aligned address ranges, reserved
 * without committing memory). An arena is cut into spans: runs of 8 KiB
 * pages. A small-object span holds objects of one size class and one kind;
 * a large span holds one object. Free spans are kept by the page heap and
 * coalesced. Each arena has a page→span map, so "does this word point into
 * an allocated object, and where does it start" is: a range check, two loads
 * in the arena radix, one load in the page map, one multiply (the hot path of
 * conservative marking).
 *
 * Locks, in the order they are taken:
 *   gc_lock       one collection at a time (collect.c)
 *   sweeper_lock  excludes the background sweeper during a collection
 *   gate_lock     held by a forking thread from prepare to parent/child (fork.c)
 *   thread_lock   the list of registered threads (threads.c)
 *   central[c]    per span class: partial / full / unswept span lists
 *   large_lock    the lists of large spans
 *   roots_lock    registered root ranges
 *   heap_lock     the page heap (pageheap.c)
 * The collector takes heap_lock only after the world is stopped; every
 * mutator section that takes central/large/roots/heap locks runs with the
 * thread's in_cgc flag set, which defers suspension to the end of the
 * section (threads.c), so no stopped thread ever holds one of those locks
 * or is half-way through an allocation.
 */
#ifndef CGC_INTERNAL_H
#define CGC_INTERNAL_H

#include "cgc.h"
#include "config.h"
#include "fault.h"
#include "pacer.h"
#include "limiter.h"
#include "scavenger.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define CGC_API __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
/* On the functions that read memory conservatively (mark.c: the words of
 * thread stacks, of the data/bss of every loaded object, of heap objects).
 * Such reads are by design not of C objects: AddressSanitizer poisons the
 * redzones between other frames' locals and around instrumented globals,
 * and would report every scan of a stack or data segment. The collector
 * only compares the words it reads against the heap bounds, so unchecked
 * reads of those bytes are harmless. No effect in builds without ASan
 * (CGC_SANITIZE, docs/DEVELOPING.md). */
#define CGC_NO_ASAN __attribute__((no_sanitize("address")))

/* ---- geometry ---------------------------------------------------------- */
#define CGC_PAGE_SHIFT 13
#define CGC_PAGE_SIZE ((size_t)1 << CGC_PAGE_SHIFT)          /* 8 KiB */
#define CGC_ARENA_SHIFT 26
#define CGC_ARENA_SIZE ((size_t)1 << CGC_ARENA_SHIFT)        /* 64 MiB */
#define CGC_ARENA_PAGES (CGC_ARENA_SIZE >> CGC_PAGE_SHIFT)   /* 8192 */
#define CGC_ADDR_BITS 48
#define CGC_RADIX_BITS (CGC_ADDR_BITS - CGC_ARENA_SHIFT)     /* 22: one entry per 64 MiB */
#define CGC_RADIX_L1_BITS 11
#define CGC_RADIX_L2_BITS (CGC_RADIX_BITS - CGC_RADIX_L1_BITS)
#define CGC_ALIGN 16
#define CGC_MAX_SMALL 32768
/* The largest object cgc hands out: 16 TiB less one arena, so that its
 * arena (rounded up to 64 MiB) is at most 2^44 bytes, an eighth of the
 * 47-bit user address space of x86-64 and AArch64. Bigger requests can
 * never be met (a span counts its pages in 32 bits, 32 TiB; the address
 * space is 128 TiB, shared with everything else the program maps) and fail
 * at once (alloc.c), which also keeps every size computation on the
 * allocation path (rounding up to pages, to an arena) far from overflow. */
#define CGC_MAX_OBJECT (((size_t)1 << 44) - CGC_ARENA_SIZE)
#define CGC_MAX_CLASSES 80
/* A small span holds at most one page of 16-byte objects: 512 slots. */
#define CGC_MAX_SLOTS (CGC_PAGE_SIZE / CGC_ALIGN)
#define CGC_BITMAP_WORDS (CGC_MAX_SLOTS / 64)

/* ---- object kinds ------------------------------------------------------ */
typedef enum cgc__kind {
    CGC_KIND_NORMAL = 0,        /* scanned, collected */
    CGC_KIND_ATOMIC = 1,        /* never scanned, collected */
    CGC_KIND_UNCOLLECTABLE = 2, /* scanned, never collected */
    CGC_KIND_PROC = 3,          /* collected, marked by a callback (cgc__set_proc_scan), not scanned */
    CGC_NKINDS = 4
} cgc__kind;
/* The bit the kinds the mark does not scan (atomic, callback) share. */
#define CGC_KIND_NOSCAN 1
_Static_assert((CGC_KIND_ATOMIC & CGC_KIND_NOSCAN) && (CGC_KIND_PROC & CGC_KIND_NOSCAN) &&
               !(CGC_KIND_NORMAL & CGC_KIND_NOSCAN) && !(CGC_KIND_UNCOLLECTABLE & CGC_KIND_NOSCAN),
               "kind numbering");

/* ---- size classes (sizeclass.c) ---------------------------------------- */
typedef struct cgc__sizeclass {
    uint32_t size;      /* object size in bytes, multiple of 16 */
    uint32_t npages;    /* pages per span */
    uint32_t nelems;    /* objects per span */
    uint32_t divmul;    /* idx = (offset * divmul) >> 32, exact for offsets in the span */
} cgc__sizeclass;

extern cgc__sizeclass cgc__classes[CGC_MAX_CLASSES];
extern int cgc__nclasses;
extern uint8_t cgc__class_small[CGC_MAX_SMALL / 16 + 1]; /* indexed by (n + 15) >> 4, n <= 1024 */
extern uint8_t cgc__class_big[CGC_MAX_SMALL / 128 + 1];  /* indexed by (n + 127) >> 7 */
void cgc__sizeclass_init(void);

static inline int cgc__size_to_class(size_t n)
{
    if (n <= 1024)
        return cgc__class_small[(n + 15) >> 4];
    return cgc__class_big[(n + 127) >> 7];
}

/* ---- spans ------------------------------------------------------------- */
typedef enum cgc__span_state {
    CGC_SPAN_FREE = 0,    /* owned by the page heap */
    CGC_SPAN_SMALL = 1,   /* objects of one class */
    CGC_SPAN_LARGE = 2,   /* one object */
    CGC_SPAN_UNUSED = 3   /* descriptor on the descriptor free list */
} cgc__span_state;

typedef struct cgc__span cgc__span;
/* Slot state bytes (span->marks[i]), what marking reads: bit 0 = the slot
 * holds an object (kept equal to the alloc bit whenever the span is not in a
 * thread cache), bit 1 = marked in this cycle. One byte answers both "is it
 * allocated" and "is it marked" with one memory access. */
#define CGC_SLOT_ALLOCATED 1
#define CGC_SLOT_MARKED 2

struct cgc__span {
    /* First cache line: everything the mark path reads. */
    uintptr_t start;          /* address of the first page */
    uint64_t  elemsize;       /* bytes per object; large: npages * page */
    uint8_t  *marks;          /* slot state bytes, see above */
    uint32_t  divmul;
    uint32_t  nelems;
    uint8_t   state;          /* cgc__span_state */
    uint8_t   kind;           /* cgc__kind */
    uint8_t   sizeclass;      /* small spans */
    uint8_t   cached;         /* 1 while a thread cache allocates from it */
    uint8_t   needzero;       /* 0 if its free slots are known to hold zeros */
    uint8_t   cross;          /* scanned objects in a pointer-free arena (pageheap.c, "Two sides") */
    uint8_t   pfree;          /* pointer-free objects: set by the page heap as it hands the span out */
    uint8_t   pad[1];
    uint32_t  npages;
    uint32_t  freeindex;      /* while cached: slots below were allocated (alloc bits lag) */
    uint32_t  nfree;          /* free slots as of the last sweep/uncache */
    uint32_t  sweepgen;       /* == heap sweepgen: swept; +2 lag: needs sweeping */
    /* Allocation and lists. */
    uint64_t  alloc_cache;    /* ~allocbits word of freeindex, shifted so bit 0 is freeindex */
    cgc__span *next, *prev;   /* list links */
    uint8_t   mark_inline[8]; /* large spans: marks points here */
    uint64_t  allocbits[CGC_BITMAP_WORDS];
} __attribute__((aligned(64)));

/* ---- arenas and the page heap (pageheap.c) ----------------------------- */
typedef struct cgc__arena {
    uintptr_t base;                 /* aligned to CGC_ARENA_SIZE */
    size_t    npages;               /* pages in this arena (huge arenas may be larger) */
    size_t    hwm;                  /* pages below this were ever handed out (or the guard page) */
    uint64_t *released;             /* 1 bit/page: released or never touched (reads as zero) */
    cgc__span **spanmap;            /* page -> span (in-use: every page; free: first and last) */
    struct cgc__arena *next;
    bool      noscan;               /* for spans of pointer-free objects (pageheap.c, "Two sides") */
    _Atomic uint32_t cross;         /* noscan: in-use spans of scanned objects in it */
} cgc__arena;

typedef struct cgc__heap_counters {
    _Atomic uint64_t heap_sys;      /* pages below every arena's hwm */
    _Atomic uint64_t heap_released; /* of those, released to the OS and not reused */
    _Atomic uint64_t heap_free;     /* in free spans and resident */
    _Atomic uint64_t heap_inuse;    /* in in-use spans */
    _Atomic uint64_t mspan_sys, mspan_inuse;
    _Atomic uint64_t gc_sys;        /* page maps, bitmaps, mark stacks */
    _Atomic uint64_t mcache_sys, mcache_inuse;
    _Atomic uint64_t other_sys;
    _Atomic uint64_t released_total; /* cumulative bytes released */
} cgc__heap_counters;

extern cgc__heap_counters cgc__mem;
/* Bounds of all arenas (racy reads are fine: they only grow). The low bound
 * is stored inverted: our own globals are scanned as roots like any data
 * segment, and a plain copy of the lowest arena address would keep the
 * object that starts there alive forever. */
extern uintptr_t cgc__heap_lo_inv, cgc__heap_hi;
static inline uintptr_t cgc__heap_lo(void) { return ~cgc__heap_lo_inv; }
extern cgc__arena **cgc__radix[1 << CGC_RADIX_L1_BITS];
extern pthread_mutex_t cgc__heap_lock;

/* Allocates npages for a span (heap_lock held by the callee). Returns NULL if
 * the OS refuses memory. With zero, resident pages are cleared so that the
 * whole span reads as zero; *zeroed tells whether every page does. */
cgc__span *cgc__heap_alloc_span(size_t npages, bool pointer_free, bool zero, bool *zeroed);
/* The same; with resident_only, only from free pages that are resident
 * (no new memory from the OS, no released page faulted back): else NULL. */
cgc__span *cgc__heap_alloc_span_from(size_t npages, bool pointer_free, bool zero, bool *zeroed, bool resident_only);
/* The page heap keeps pointer-free spans on a side of their own
 * (pageheap.c, "Two sides", sides_start) once a cycle is to mark
 * concurrently (cgc__heap_sides, set by collect.c, never cleared) or, in
 * concurrent mode (cgc__heap_sides_mode, set at start-up), once the heap
 * is no longer small. */
extern _Atomic bool cgc__heap_sides;
extern bool cgc__heap_sides_mode;
void       cgc__heap_free_span(cgc__span *s);          /* takes heap_lock */
void       cgc__heap_free_span_locked(cgc__span *s);   /* heap_lock held */
/* Releases up to `bytes` of free resident pages to the OS; returns bytes released. */
uint64_t   cgc__heap_release(uint64_t bytes);
uint64_t   cgc__heap_release_locked(uint64_t bytes);
/* The memory the limit counts (sys - heap_released). */
uint64_t   cgc__mapped_bytes(void);
uint64_t   cgc__heap_resident_bytes(void);   /* mincore over the arenas; UINT64_MAX if unknown */
uint64_t   cgc__sys_bytes(void);
void       cgc__heap_check_invariants(void);
uintptr_t  cgc__heap_unwatched_run(uintptr_t s, uintptr_t e, bool *unwatched);   /* any thread, no lock */
void       cgc__heap_foreach_inuse(void (*fn)(cgc__span *, void *), void *arg); /* heap_lock held or world stopped */

/* O(1): the span holding address p, or NULL. */
/* The radix walk for an address already known to lie within the heap
 * bounds (the mark loop tests the bounds itself, once per word). */
static inline cgc__span *cgc__span_in_heap(uintptr_t p)
{
    uintptr_t key = p >> CGC_ARENA_SHIFT;
    cgc__arena **l2 = cgc__radix[(key >> CGC_RADIX_L2_BITS) & ((1u << CGC_RADIX_L1_BITS) - 1)];
    if (!l2)
        return NULL;
    cgc__arena *a = l2[key & ((1u << CGC_RADIX_L2_BITS) - 1)];
    if (!a)
        return NULL;
    return a->spanmap[(p - a->base) >> CGC_PAGE_SHIFT];
}

static inline cgc__span *cgc__span_of(uintptr_t p)
{
    uintptr_t lo = cgc__heap_lo();
    if (p - lo >= cgc__heap_hi - lo)
        return NULL;
    return cgc__span_in_heap(p);
}

static inline uint32_t cgc__span_index(const cgc__span *s, uintptr_t p)
{
    return (uint32_t)(((uint64_t)(p - s->start) * s->divmul) >> 32);
}

static inline bool cgc__bit(const uint64_t *bits, uint32_t i)
{
    return (bits[i >> 6] >> (i & 63)) & 1;
}

/* Slot bytes from alloc bits, eight at a time: byte k of the result is 1
 * if bit k of `bits` (low 8 bits) is set, else 0. Mark byte arrays are at
 * least 64 bytes, a power of two and never shorter than nelems, and bits
 * past nelems are 0, so whole groups of eight may be written. */
static inline uint64_t cgc__bits_to_bytes8(uint64_t bits)
{
    uint64_t y = ((bits & 0xff) * 0x0101010101010101ull) & 0x8040201008040201ull;
    return ((y + 0x7f7f7f7f7f7f7f7full) >> 7) & 0x0101010101010101ull;
}

/* ---- metadata memory (os.c) -------------------------------------------- */
void *cgc__os_reserve_aligned(size_t size, size_t align); /* MAP_NORESERVE, NULL on failure */
bool  cgc__os_release(void *p, size_t size);              /* MADV_DONTNEED; false: pages kept (locked) */
void  cgc__os_populate(void *p, size_t size);             /* MADV_POPULATE_WRITE, best effort */
void  cgc__os_unmap(void *p, size_t size);
void *cgc__os_map(size_t size);                           /* zeroed pages, NULL on failure */
/* Metadata allocation: zeroed, never freed except through the pools that use it. */
void *cgc__meta_alloc(size_t size, _Atomic uint64_t *account);

/* ---- threads (threads.c) ----------------------------------------------- */
typedef struct cgc__tcache {
    cgc__span *spans[CGC_MAX_CLASSES * 2];  /* [class * 2 + (kind == ATOMIC)] */
    uint64_t nmalloc;       /* objects allocated by this thread */
    uint64_t bytes_malloc;  /* bytes (slot sizes) allocated by this thread */
} cgc__tcache;

typedef struct cgc__thread cgc__thread;
struct cgc__thread {
    pthread_t   pthread;
    uintptr_t   stack_hi;        /* highest address of the stack */
    uintptr_t   stack_lo;        /* lowest live address, valid while stopped */
    volatile sig_atomic_t in_cgc;            /* depth of non-suspendable sections */
    volatile sig_atomic_t suspend_pending;   /* a stop request arrived while in_cgc */
    _Atomic int restop;          /* a stop let pass at the end of a program section (threads.c) */
    _Atomic unsigned stopped_epoch;          /* epoch this thread acknowledged */
    int         created_by_cgc;
    pid_t       tid;             /* kernel thread id: signals are sent to it, /proc names it */
    uintptr_t   stack_base;      /* lowest address of the thread's own stack */
    uintptr_t   alt_lo, alt_hi;  /* used part of an alternate signal stack, valid while stopped */
    _Atomic uint64_t blocking;   /* cgc_do_blocking state (threads.c) */
    uintptr_t   blk_lo, blk_alt_lo, blk_alt_hi;  /* the stack to scan while blocking */
    _Atomic int signalled;       /* sent (or about to be sent) the suspend signal in this stop or drain */
    int         gone;            /* exited without unregistering: dropped at the next restart */
    unsigned    drain_acked;     /* last fork drain this thread acknowledged */
    volatile sig_atomic_t parks; /* times parked (the sigwait wrappers retry after an EINTR of ours) */
    volatile sig_atomic_t restarted; /* the restart signal of the current stop arrived */
    uintptr_t   tp;              /* thread pointer, for its TLS (tls.c) */
    int         stack_unknown;   /* its stack's top is a guess: collections free nothing (roots.c) */
    /* Mark-assist state (assist.c): kept with the registration, not in
     * thread-local storage, because tc.bytes_malloc restarts at 0 when a
     * thread unregisters and registers again and the two must agree. */
    int64_t     assist_debt;     /* bytes of scan work owed (negative: credit) */
    uint64_t    assist_charged_at; /* tc.bytes_malloc when last charged */
    uint32_t    assist_cycle;    /* cgc__gc.num_gc the debt belongs to */
    int64_t     assist_retry_at; /* no assist before this time (ns) */
    cgc__tcache tc;
    cgc__thread *next;
};

extern __thread cgc__thread *cgc__self __attribute__((tls_model("initial-exec")));
extern pthread_mutex_t cgc__thread_lock;
extern cgc__thread *cgc__threads;
extern _Atomic uint64_t cgc__dead_nmalloc, cgc__dead_bytes_malloc; /* from exited threads */

void cgc__threads_init(void);
cgc__thread *cgc__register_current(int created_by_cgc);
void cgc__thread_signals(int *suspend_signal, int *restart_signal); /* in use; 0 before init */
void cgc__stop_world(void);      /* thread_lock held */
/* Releases the world; returns the time it was released, where the stop
 * ends (thread_lock held). */
int64_t cgc__start_world(void);
int64_t cgc__stopped_ns(void);   /* the world's stopped time so far */
/* A stop is under way: a thread in a cgc section that can end its work
 * early (a mark assist) does, rather than keep the stop waiting. */
bool cgc__stop_requested(void);

/* One step of a spin-wait: tells the CPU this is a wait loop (it eases
 * off, and a sibling hyperthread gets the core). */
static inline void cgc__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}
void cgc__suspend_self(void);    /* a pending stop request: park until restart */
void cgc__block_signals(void);   /* for cgc's own background threads */
/* Names the calling thread (at most 15 characters shown), so that top -H,
 * gdb and /proc/PID/task tell cgc's threads from the program's: a thread
 * left unnamed shows its creator's name, whichever program thread that
 * happened to be. */
void cgc__name_thread(const char *name);
/* Starts one of cgc's own threads (markers, sweeper, background): 0 or
 * pthread_create's error, also made up by fault injection (fault.c).
 * Every caller has a way on without the thread. */
int  cgc__start_thread(pthread_t *t, void *(*fn)(void *), void *arg);
/* The stack of a thread recorded by the thread itself at `here` (a local
 * of the caller): [*lo, stack_hi) on its own stack, plus [*alt_lo, *alt_hi)
 * when it runs on an alternate signal stack. The collector calls it for
 * its own stack; stopped threads do it in their handler. */
void cgc__record_stack(cgc__thread *t, uintptr_t here, uintptr_t *lo, uintptr_t *alt_lo,
                       uintptr_t *alt_hi);
/* sigmask.c: the C library's pthread_sigmask, not cgc's interposed one. */
int cgc__real_sigmask(int how, const sigset_t *set, sigset_t *old);
void cgc__sigset_reserved(sigset_t *s, bool on);
void cgc__sigmask_init(void);

/* fork.c: while a fork is being prepared, a registered thread entering a
 * cgc section waits at this gate (outside any section) until it is over:
 * the child must not inherit a half-done slow path of a vanished thread. */
extern _Atomic int cgc__fork_gate;
void cgc__fork_gate_pass(cgc__thread *t);

/* Enter/leave a section in which this thread must not be suspended.
 * Sections nest (in_cgc counts), so a helper that takes its own section can
 * be called from inside another. */
static inline void cgc__enter(cgc__thread *t)
{
    t->in_cgc++;
    atomic_signal_fence(memory_order_seq_cst);
    /* Read after the increment: fork.c's drain signals every thread after
     * raising the gate, so a thread either is in a section when the signal
     * comes (and acknowledges when it leaves) or sees the gate here. */
    if (UNLIKELY(atomic_load_explicit(&cgc__fork_gate, memory_order_relaxed)))
        cgc__fork_gate_pass(t);
}
static inline void cgc__leave(cgc__thread *t)
{
    atomic_signal_fence(memory_order_seq_cst);
    t->in_cgc--;
    atomic_signal_fence(memory_order_seq_cst);
    if (UNLIKELY(t->suspend_pending) && t->in_cgc == 0)
        cgc__suspend_self();
}
/* A section around the program's own code (compat/: libgc's
 * GC_call_with_alloc_lock): no stop during it, as in any section, but a
 * stop that came meanwhile is not taken where it ends (threads.c). */
void cgc__enter_program(cgc__thread *t);
void cgc__leave_program(cgc__thread *t);
/* For code both registered threads and cgc's own threads run: a section
 * for the calling thread if it is registered (no registered thread may be
 * stopped holding a cgc lock). Returns what cgc__leave_self takes. */
static inline cgc__thread *cgc__enter_self(void)
{
    cgc__thread *t = cgc__self;
    if (t)
        cgc__enter(t);
    return t;
}
static inline void cgc__leave_self(cgc__thread *t)
{
    if (t)
        cgc__leave(t);
}

/* ---- allocation (alloc.c) ---------------------------------------------- */
typedef struct cgc__central {
    pthread_mutex_t lock;
    cgc__span *partial;   /* swept, has free slots */
    cgc__span *full;      /* swept, no free slots (or cached) */
    cgc__span *unswept[2]; /* need sweeping before use: last cycle's partial and full */
} cgc__central;

/* Removes s from whichever unswept list of c holds it. */
void cgc__unswept_remove(cgc__central *c, cgc__span *s);
/* The first unswept span of c, or NULL. */
static inline cgc__span *cgc__unswept_first(const cgc__central *c)
{
    return c->unswept[0] ? c->unswept[0] : c->unswept[1];
}

/* index: class * CGC_NKINDS + kind */
extern cgc__central cgc__centrals[CGC_MAX_CLASSES * CGC_NKINDS];
extern pthread_mutex_t cgc__large_lock;
extern cgc__span *cgc__large_swept, *cgc__large_unswept;
/* Large uncollectable objects allocated and not freed (under large_lock):
 * the mark skips its walk of the large lists when there are none. */
extern size_t cgc__large_uncollectable;

void  cgc__alloc_init(void);
void  cgc__check_spans(void);                 /* debug: world stopped, caches flushed */
void  cgc__tcache_flush(cgc__thread *t);       /* world stopped or thread exiting */
void  cgc__span_list_push(cgc__span **head, cgc__span *s);
void  cgc__span_list_remove(cgc__span **head, cgc__span *s);
void  cgc__uncache_span(cgc__span *s);         /* materialise alloc bits */
/* Caches refilled from a free span during a concurrent mark (alloc.c:
 * refill_fresh), for tests. */
extern _Atomic uint64_t cgc__fresh_refills;

/* ---- roots (roots.c) --------------------------------------------------- */
typedef void (*cgc__range_fn)(uintptr_t lo, uintptr_t hi, void *arg);
/* Runs fn(arg) — the stop, the mark, the restart — with the loaded
 * objects listed and their list locked against dlopen/dlclose until fn
 * returns. World running, thread_lock held, no thread creation in fn. */
void     cgc__roots_hold(void (*fn)(void *), void *arg);
void     cgc__roots_foreach(cgc__range_fn fn, void *arg);   /* data/bss, TLS, registered */
uint64_t cgc__roots_globals_bytes(void);                  /* size of the last scan */
/* cgc_free during a concurrent mark is deferred to the end of the cycle:
 * the objects are roots until then; the collector frees them with the
 * world running once the mark is over. */
void     cgc__free_deferred_roots(cgc__range_fn fn, void *arg);
void     cgc__free_deferred_run(void);
/* Tests: run inside a collection once the loaded objects are listed,
 * with their list locked, before the world stops (test_dlclose). */
extern void (*cgc__roots_test_hook)(void);
/* A root that could not be recorded (its table could not grow): the
 * cycles that cannot scan it keep every object (roots.c). The table: */
enum { CGC_ROOTS_SEGMENTS, CGC_ROOTS_TLS, CGC_ROOTS_REGISTERED,
       CGC_ROOTS_STACK,   /* a registered thread whose stack bounds are not known */
       CGC_ROOTS_DTV };   /* this stop: a thread's TLS vector is mid-update (tls.c) */
void  cgc__roots_lost(int table);
void  cgc__roots_regained(int table);   /* CGC_ROOTS_STACK: that thread is gone */
bool  cgc__roots_complete(void);   /* false: this cycle must free nothing */
/* Says once on stderr that a listing's table could not grow; world
 * running, thread_lock and the loader's lock not held (stdio may wait for
 * a thread that waits for them). */
void  cgc__roots_say_lost(void);
void *cgc__roots_table_alloc(int table, size_t bytes);   /* metadata, or NULL */
/* Tests: bit (1 << table) set makes that table's growth fail. */
extern _Atomic int cgc__roots_test_nomem;
/* Tests: bit 0 makes pthread_getattr_np count as failed when a thread
 * registers, bit 1 the /proc/self/maps fallback too (threads.c). */
extern _Atomic int cgc__stack_bounds_test_fail;
/* Tests: run by cgc__register_current after it found the thread not
 * registered, before it blocks the program's signals (threads.c). */
extern void (*_Atomic cgc__register_test_hook)(void);

/* ---- thread-local storage (tls.c) -------------------------------------- */
uintptr_t cgc__tls_thread_pointer(void);             /* the calling thread's */
void      cgc__tls_modules_reset(void);              /* loader list locked (roots.c) */
void      cgc__tls_add_module(size_t modid, size_t memsz);
void      cgc__tls_foreach(cgc__range_fn fn, void *arg); /* world stopped: every registered thread's blocks */
void      cgc__tls_check(void);   /* world stopped, before the mark: a torn DTV makes the listing incomplete */
uint64_t  cgc__tls_bytes(void);                      /* size of the last scan */

/* ---- marking (mark.c) -------------------------------------------------- */
typedef struct cgc__mark_result {
    uint64_t marked_bytes;
    int64_t  cpu_ns;          /* summed over markers */
    int      overflows;       /* mark-stack overflow recoveries */
    uint64_t black_bytes;     /* concurrent mark: allocated black, not in marked_bytes */
    uint64_t scan_work;       /* concurrent mark: bytes scanned, every phase (assists' pacing) */
} cgc__mark_result;

void cgc__mark_init(int nmarkers);
void cgc__mark_prewake(void);               /* a cycle is near: wake the helper markers */
void cgc__mark_prewake_final(void);         /* a concurrent cycle's final stop is near: again */
extern _Atomic int64_t cgc__mark_spin_ns;   /* helpers' CPU spent waiting for a pre-woken cycle, not yet reported */

/* findptr.c: the first word v of [p, end) with v - hlo < hlen, or end.
 * AVX2 where the CPU has it (cgc__findptr_init), else scalar; both are
 * exported for the test that holds them to the same answers. */
typedef const uintptr_t *(*cgc__find_fn)(const uintptr_t *p, const uintptr_t *end,
                                          uintptr_t hlo, uintptr_t hlen);
extern cgc__find_fn cgc__find_pointer;
extern const cgc__find_fn cgc__find_variants[2];   /* scalar, AVX2 (NULL if unavailable) */
void cgc__findptr_init(void);
uint8_t *cgc__marks_alloc(uint32_t nelems);               /* zeroed mark bytes, or NULL */
void cgc__marks_release(uint8_t *marks, uint32_t nelems);
void cgc__mark_prepare(void);                  /* world running: start helper threads */
void cgc__mark(cgc__mark_result *out);         /* world stopped, heap_lock held */
void cgc__mark_set_stack_limit(size_t entries); /* testing: small limit forces overflow */
/* The mostly-concurrent mark (docs/concurrent.md): the first stop (world
 * stopped, caches flushed, then cgc__marking set), the concurrent phase
 * and pre-cleaning rounds (world running), the final stop (world stopped,
 * caches flushed; `all`: every marker takes part). */
extern _Atomic int cgc__marking;              /* objects are allocated black; cgc_free deferred */
extern _Atomic uint64_t cgc__mark_black_bytes; /* allocated black in this cycle */
void cgc__mark_start(void);
void cgc__mark_concurrent(void);
long cgc__mark_preclean(void);                /* dirty pages rescanned, -1: tracker failed */
long cgc__mark_preclean_seal(void);           /* the same for the hot objects, protected again */
void cgc__mark_finish(cgc__mark_result *out, bool all);
void cgc__mark_abandon(void);                 /* final stop instead of finish: marks undone, nothing to sweep */
/* Mark assists (assist.c): marks part of the shared work in the calling
 * program thread, in a cgc section; bytes scanned. */
uint64_t cgc__mark_assist(uint64_t budget, int64_t deadline);
void     cgc__scrub_stack_below(int depth);   /* zeroes (depth + 1) x 6 KiB of dead stack below the caller */
extern _Atomic uint64_t cgc__mark_scan_work;  /* bytes scanned in the current mark */
/* assist.c: the pacing of assists. The collector sets a cycle's expected
 * scan work, goal and backstop as it starts; an allocating thread (not in
 * a cgc section) looks at its debt when its cache takes a span. */
void cgc__assist_cycle_start(uint64_t expected, uint64_t goal, uint64_t backstop);
void cgc__assist(cgc__thread *t);
extern _Atomic int64_t cgc__assist_unreported_ns;  /* assist time not yet reported to the limiter */
extern _Atomic int64_t cgc__assist_cycle_ns;       /* this cycle's assists and waits, by the clock
                                                      where a thread waited (the runway) */
extern _Atomic int64_t cgc__assist_cycle_cpu_ns;   /* this cycle's assist CPU, waiting threads'
                                                      marking included (gctrace) */
/* waits.c: a program thread waiting for the collector brackets the wait
 * with begin/end and looks now and then; the CPU the process leaves unused
 * meanwhile is reported to the CPU limiter as idle (neither collection nor
 * program time), once for all waiters. */
void cgc__wait_begin(void);
void cgc__wait_look(void);
void cgc__wait_end(void);
void cgc__waits_fork(int stage);
/* Tests: run by the collector after a concurrent cycle's concurrent phase,
 * world running, before pre-cleaning (collect.c). */
extern void (*_Atomic cgc__mark_test_hook)(void);
/* Tests: run by the collector after a concurrent cycle's first stop,
 * world running, before its markers start (assists may run meanwhile). */
extern void (*_Atomic cgc__mark_test_hook_start)(void);
/* Tests: run by the collector after a concurrent cycle's last
 * pre-cleaning round, world running, before its final stop. */
extern void (*_Atomic cgc__mark_test_hook_final)(void);
/* Tests: run by the collector after the hot objects' copies are made,
 * world running, before the first stop (mark.c, push_large). */
extern void (*_Atomic cgc__mark_test_hook_copied)(void);
/* Tests: while paused, cgc's background thread releases no free pages
 * (collect.c); a pass under way has ended when the call returns. */
void cgc__scavenger_pause(bool pause);
/* Tests: hot objects copied before a first stop, and copies dropped by
 * the first stop because the object's span was freed and reused. */
extern _Atomic uint64_t cgc__mark_hot_copies, cgc__mark_hot_dropped;
int  cgc__mark_nmarkers(void);
/* End of a concurrent cycle, world running: drop the copies of large
 * pointer arrays the pre-cleaning rounds made (mark.c). */
void cgc__mark_shadows_release(void);
void cgc__mark_hot_copy(void);   /* world running, armed, before the first stop */
/* After a cycle's stops, world running: the markers' stacks and packets
 * beyond what recent marks used go back to the OS. */
void cgc__mark_trim(void);
extern _Atomic uint64_t cgc__mark_shadow_words_skipped;
/* Tests: marking work outside the markers' hands: bit 0, an assist holds
 * a claim; bit 1, work waits on the shared list. */
int  cgc__mark_work_outside(void);
/* After cgc__mark, world stopped (finalize.c): is obj (an allocated
 * object's start) marked; mark what obj's words reach but not obj (bytes
 * marked); set obj's mark alone (its bytes, 0 if it was marked). */
bool     cgc__mark_is_marked(uintptr_t obj);
uint64_t cgc__mark_children(uintptr_t obj);
uint64_t cgc__mark_object(uintptr_t obj);
uint64_t cgc__mark_children_ignore_self(uintptr_t obj); /* as _children, not following obj's pointers into obj */

/* Marking by callback, for the layer above (compat/kinds.c: libgc's mark
 * procedures and descriptors). An object of kind CGC_KIND_PROC is not
 * scanned: once it is marked, some marker thread calls fn(obj, size) with
 * the world stopped, and fn reports what obj references through
 * cgc__mark_push_word / cgc__mark_push_range. Without fn, such an object is
 * scanned as a normal one. The extra-roots function runs once per mark on
 * the collector's thread, after the other roots, and reports its roots the
 * same way. Both must not allocate, nor take a lock a stopped thread may
 * hold. */
typedef void (*cgc__proc_scan_fn)(uintptr_t obj, size_t size);
void  cgc__set_proc_scan(cgc__proc_scan_fn fn);
void  cgc__set_extra_roots(void (*fn)(void));
void *cgc__malloc_proc(size_t n);                      /* zeroed, kind CGC_KIND_PROC */
bool  cgc__mark_in_callback(void);                     /* inside fn or the extra roots, on this thread */
void  cgc__mark_push_word(uintptr_t v);                /* mark what v points into (no-op outside) */
void  cgc__mark_push_range(uintptr_t lo, uintptr_t hi); /* scan [lo, hi) conservatively */
/* The mark bit of the object containing obj: op 0 reads it, 1 sets it, -1
 * clears it; returns whether it was set (0 for no allocated object). Only
 * meaningful inside a mark callback. */
int   cgc__mark_bit(uintptr_t obj, int op);

/* ---- sweeping (sweep.c) ------------------------------------------------ */
extern _Atomic uint32_t cgc__sweepgen;
extern _Atomic uint64_t cgc__swept_nfree, cgc__swept_bytes_freed;
/* Sweeps s (its central lock or large_lock held). Returns true if the span
 * became entirely free and was handed back to the page heap. */
bool cgc__sweep_span(cgc__span *s);
extern _Atomic int64_t cgc__mutator_sweep_ns;   /* sweeping by program threads, not yet reported */
extern __thread int cgc__collecting;            /* 1 on the thread running a collection */
void cgc__sweep_start_cycle(void);   /* world stopped: every in-use span becomes unswept */
void cgc__sweep_finish(void);        /* sweep everything now (caller not in_cgc) */
void cgc__sweep_reclaim(size_t npages); /* sweep until npages went back to the page heap */

/* fork (fork.c): every module with private locks or threads of its own
 * takes part at each stage. */
enum { CGC_FORK_PREPARE, CGC_FORK_PARENT, CGC_FORK_CHILD };
void cgc__fork_init(void);            /* registers the handlers; from init */
/* One mutex through a stage: locked in PREPARE, unlocked in PARENT,
 * re-initialised in CHILD (where a thread that no longer exists may have
 * waited on it, and glibc's owner bookkeeping must start afresh). */
void cgc__fork_mutex(pthread_mutex_t *m, int stage);
void cgc__collect_fork(int stage);    /* the background thread's lock and state */
void cgc__sweep_fork(int stage);      /* the background sweeper */
void cgc__mark_fork(int stage);       /* marks_lock, the helper markers */
void cgc__roots_fork(int stage);      /* roots_lock */
void cgc__alloc_fork(int stage);      /* the table of frees deferred by a concurrent mark */
void cgc__os_fork(int stage);         /* meta_lock */
void cgc__threads_fork(int stage);    /* the world and the thread registry */
extern pthread_mutex_t cgc__gc_lock;  /* held for a whole collection */
/* Tests: while set, the background sweeper does no work (as if it got no
 * CPU), so whatever sweeping happens is the allocating threads' own. */
extern _Atomic int cgc__sweeper_held;
void cgc__sweeper_wake(void);
void cgc__sweeper_start(void);
extern pthread_mutex_t cgc__sweeper_lock;

/* ---- collection (collect.c) -------------------------------------------- */
typedef struct cgc__gc_state {
    _Atomic uint64_t heap_live;   /* marked + granted to caches since (pacer input) */
    _Atomic uint64_t trigger;     /* collect when heap_live reaches it */
    _Atomic uint64_t prewake;     /* wake the helper markers when heap_live reaches it (mark.c) */
    _Atomic uint32_t num_gc;
    _Atomic uint32_t num_forced_gc;
    _Atomic uint64_t explicit_nfree, explicit_bytes_freed; /* cgc_free */
    _Atomic uint64_t large_nmalloc, large_bytes_malloc;    /* large objects */
    _Atomic uint64_t gc_limiter_cycles;
    _Atomic uint64_t mark_overflows;    /* mark-stack overflow recoveries (debugging, tests) */
    _Atomic uint64_t limiter_last_enabled_cycle;
    _Atomic uint64_t dirty_pages_rescanned;  /* concurrent mark: pages rescanned (pre-cleaning and final stop) */
    _Atomic int64_t  assist_ns;              /* concurrent mark: time allocating threads waited for it */
    _Atomic uint64_t concurrent_cycles;      /* cycles whose mark ran concurrently */
    _Atomic uint64_t backstop_waits;         /* allocations that waited for a concurrent cycle's end */
    _Atomic uint64_t backstop_waits_premark; /* of which before that cycle's mark had started */
    uint64_t throttle;                       /* during a mark, allocation waits above this heap_live */
    uint64_t pause_total_ns;
    uint64_t pause_ns[256], pause_end[256];
    uint64_t pause_hist[CGC_HISTOGRAM_MAX_BUCKETS];
    uint64_t last_gc_unix_ns;
    int64_t  gc_cpu_ns_total;     /* STW pauses * ncpu + sweep/scavenge thread CPU */
    int64_t  start_mono_ns;
    uint64_t last_marked;
    uint64_t heap_goal;
    int      limited_this_cycle;
    cgc__pacer pacer;             /* under pacer_lock */
    cgc__limiter limiter;         /* under pacer_lock */
    cgc__scavenger scav;
    pthread_mutex_t pacer_lock;
} cgc__gc_state;

extern cgc__gc_state cgc__gc;
extern cgc__config cgc__cfg;
extern _Atomic int cgc__initialized;

void cgc__ensure_init(void);
/* The heap grew; collect if the pacer says so. Caller is not in_cgc. */
void cgc__maybe_collect(void);
/* A large allocation of n bytes is about to take pages; during a
 * concurrent cycle it may wait for the mark first. Caller is not in_cgc. */
void cgc__before_large(uint64_t n);
void cgc__collect_internal(bool forced);
bool cgc__concurrent_mode(void);   /* cycles mark concurrently (docs/concurrent.md) */
void cgc__pacer_recompute(void);
void cgc__pacer_heap_grew(void);  /* a span came from the page heap */
void cgc__pacer_lock(void);      /* in a cgc section if the caller is registered */
void cgc__pacer_unlock(void);
int64_t cgc__now_ns(void);          /* CLOCK_MONOTONIC */
int64_t cgc__unix_ns(void);
int64_t cgc__thread_cpu_ns(void);
void cgc__background_start(void);
/* Starts the background thread to follow the container's limit, if there
 * is one and a soft limit is in force (at init, in a forked child, when the
 * program sets a limit); otherwise threads start with the first collection. */
void cgc__follower_start(void);
/* The bounds the limit checks use (memstats, /debug/vars). */
typedef struct cgc__limit_bounds_t {
    int64_t  container_limit;   /* H, -1 none */
    int64_t  guard_limit;       /* H - margin - guard_outside; INT64_MAX none */
    int64_t  guard_outside;     /* what the guard subtracted from H */
    uint64_t outside_process;   /* the process's anonymous memory outside cgc */
    int64_t  effective_limit;   /* min(soft limit, guard_limit) */
} cgc__limit_bounds_t;
void cgc__limit_bounds(cgc__limit_bounds_t *b);
/* On growth: release free pages first if the total would pass the limit. */
void cgc__limit_before_grow(uint64_t bytes);  /* heap_lock held */
void cgc__release_over_limit(void);           /* release free pages while over the limit */
void cgc__gc_cpu_background(int64_t ns);      /* GC CPU spent outside pauses (sweeping,
                                                 scavenging), reported as it happens */
void cgc__gc_idle_background(int64_t ns);     /* CPU left idle while threads waited for
                                                 the collector (waits.c): not the program's */

/* ---- finalizers, cleanups, weak pointers (finalize.c) ------------------ */
void     cgc__finalize_roots(cgc__range_fn fn, void *arg); /* the records' arguments and queued objects */
uint64_t cgc__finalize_mark(void);     /* after cgc__mark, world stopped: clear, queue; bytes it marked */
void     cgc__finalize_cycle_end(void); /* world running: hand what was queued to the finalizer thread */
void     cgc__finalize_forget(void *obj); /* cgc_free: drop obj's records (in a cgc section) */
void     cgc__finalize_fork(int stage);
void     cgc__finalize_counts(uint64_t *fin_queued, uint64_t *fin_run, uint64_t *cl_queued, uint64_t *cl_run);
void     cgc__block_signals_but_stw(void); /* threads.c: cgc's registered threads */
/* Tests: while set, the finalizer thread runs nothing (what is queued
 * waits for cgc_run_finalizers or for the flag to drop). */
extern _Atomic int cgc__finalizer_held;
/* threads.c: fn(arg) as a running thread even from inside cgc_do_blocking
 * (libgc's GC_call_with_gc_active). */
void *cgc__call_active(void *(*fn)(void *), void *arg);
bool  cgc__in_blocking(void);   /* this thread is inside cgc_do_blocking */
/* finalize.c: queues every registered finalizer, reachable or not
 * (libgc's GC_finalize_all); how many. */
size_t cgc__finalize_all(void);

/* For a layer above the public API (compat/: libgc's finalizer variants
 * and disappearing links); the core works the same whether or not one is
 * used. Modes of a finalizer: ordered (cgc_set_finalizer's), ignore_self
 * (the object's pointers into itself do not hold it back), no_order (its
 * own words are not followed when deciding who is ready: it can be held
 * back only by other objects). Sets or (fn NULL) removes obj's finalizer;
 * the one it replaces, if any, is returned through ofn/oarg (NULL if none).
 * 0 on success, -1 with errno EINVAL (obj not an object's start) or ENOMEM. */
/* unreachable: as ordered, but also held back while an object with a
 * no_order finalizer reaches it (libgc's GC_register_finalizer_unreachable:
 * it runs only once no finalizer could bring the object back). */
enum { CGC__FIN_ORDERED = 0, CGC__FIN_IGNORE_SELF = 1, CGC__FIN_NO_ORDER = 2, CGC__FIN_UNREACHABLE = 3 };
int cgc__finalizer_set(void *obj, cgc_finalizer fn, void *arg, int mode,
                       cgc_finalizer *ofn, void **oarg);
/* Called in every collection's pause, world stopped, after the mark:
 * stage 0 before anything is marked for finalizers (an object unmarked
 * then is about to be finalized or freed), stage 1 after (an object
 * unmarked then is freed by this cycle's sweep). It may read
 * cgc__mark_is_marked and must not allocate or take a lock a program
 * thread can hold outside a cgc section. One hook; NULL removes it. */
typedef void (*cgc__pause_hook)(int stage);
void cgc__set_pause_hook(cgc__pause_hook fn);
/* While nonzero, no collection starts on its own (the pacer's trigger);
 * an explicit cgc_collect and the collection before an allocation fails
 * still run (libgc's GC_disable, through the compat layer). */
extern _Atomic int cgc__collect_held;

/* ---- statistics (stats.c) ---------------------------------------------- */
typedef struct cgc__cycle_trace {
    uint64_t num;
    int64_t  start_ns, stw_ns, mark_ns, term_ns;
    int64_t  mark_cpu_ns;
    int64_t  assist_ns;       /* concurrent: mark assists' CPU, waiting threads' marking included */
    uint64_t heap_before, heap_after, heap_marked, goal;
    uint64_t globals_bytes, stacks_bytes;
    int      markers;
    bool     forced;
} cgc__cycle_trace;

void cgc__stats_record_pause(uint64_t pause_ns, uint64_t end_unix_ns);
void cgc__gctrace_format(const cgc__cycle_trace *t, char *buf, size_t n);
/* Trace lines: one write(2) to stderr, for a thread that holds nothing of
 * cgc's (stats.c: the program's SIGPIPE handler may run in it). */
void cgc__say_line(const char *line);
void cgc__say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cgc__totals(uint64_t *nmalloc, uint64_t *bytes_malloc, uint64_t *nfree, uint64_t *bytes_freed);
void cgc__fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void cgc__warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Where cgc__warn's lines go instead of stderr, when a layer above the core
 * sets it (compat/: a libgc program's warn proc). Called wherever
 * cgc__warn is, locks held or in the pause: it may only copy the line
 * ("cgc: ...\n"), under a lock of its own taken with nothing else.
 * NULL: stderr. */
extern void (*_Atomic cgc__warn_hook)(const char *line);

#endif
