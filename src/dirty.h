/* dirty.h — which heap pages the program wrote since tracking was armed.
 *
 * The interface between the concurrent mark (collect.c, mark.c) and the
 * kernel mechanism that records writes (dirty.c). A mostly-concurrent mark
 * marks while the program runs; at the final stop it rescans the marked
 * objects on every page written since the tracker was armed. A page
 * reported dirty that was not written costs a rescan; a written page not
 * reported loses an object, so every mode must err towards "dirty".
 *
 * Modes, chosen once by cgc__dirty_init from feature checks:
 *   CGC__DIRTY_UFFD  userfaultfd asynchronous write-protect (UFFD_FEATURE_WP_ASYNC)
 *                    read with PAGEMAP_SCAN (PAGE_IS_WRITTEN), Linux 6.7+
 *   CGC__DIRTY_SOFT  /proc/self/clear_refs 4 and pagemap bit 55, where a
 *                    start-up probe shows the kernel sets the bit
 *   CGC__DIRTY_NONE  no tracker (or CGC_DEBUG=gcstoptheworld=1): the
 *                    collector marks with the world stopped, as before. */
#ifndef CGC_DIRTY_H
#define CGC_DIRTY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { CGC__DIRTY_NONE, CGC__DIRTY_UFFD, CGC__DIRTY_SOFT } cgc__dirty_mode;

/* Choose the mode (idempotent; called from cgc__ensure_init). */
cgc__dirty_mode cgc__dirty_init(void);
cgc__dirty_mode cgc__dirty_mode_now(void);
/* One line for the first gctrace line: the mode and why it was chosen
 * ("uffd-wp+pagemap_scan", "stop-the-world: CGC_DEBUG=gcstoptheworld=1",
 * "stop-the-world: userfaultfd: EPERM", ...). */
const char *cgc__dirty_why(void);

/* A heap range was mapped (an arena, page aligned). Must be called before
 * any object in it can be marked. Failure (-1) drops the tracker to
 * CGC__DIRTY_NONE for the rest of the process: the collector falls back to
 * stop-the-world marking, never to missing writes. */
int cgc__dirty_add_range(void *addr, size_t len);

/* Start a tracking period: from now on every write to a registered range
 * is recorded. Called with the world running, before the concurrent mark
 * reads anything. Returns 0, or -1 (then mark with the world stopped). */
int cgc__dirty_arm(void);

/* Call fn for each run of pages in [lo, hi) written since the last arm or
 * collect; with rearm, those pages are write-protected again in the same
 * step (a write racing with the call is reported now or next time, never
 * lost). Returns the number of dirty pages reported, not counting hot
 * ones before the seal (below), or -1 on failure (then the caller must
 * treat the whole range as dirty). */
/* Runs are of the kernel's pages (4 KiB on x86-64, not cgc's 8 KiB), in
 * no particular order; fn is called after the kernel re-protected its run,
 * so a rescan in fn reads every write made before it. */
typedef void (*cgc__dirty_fn)(uintptr_t start, size_t npages, void *arg);
long cgc__dirty_collect(uintptr_t lo, uintptr_t hi, bool rearm, cgc__dirty_fn fn, void *arg);

/* Hot ranges: memory the program writes all over faster than a round of
 * collects goes by (a table of pointers written at random), where
 * protecting it again only buys a fault per page per round. An arm leaves
 * them unprotected, and every collect reports them whole as written,
 * until cgc__dirty_seal_hot: that collects them (with rearm, calling fn
 * like cgc__dirty_collect) and from then until the next arm they are
 * tracked like any other page. set_hot replaces the set (at most
 * CGC__DIRTY_HOT_MAX ranges; more are dropped, so tracked as usual); both
 * are called by the thread that arms and collects, set_hot between two
 * tracking periods. seal returns the pages reported, -1 on failure. */
#define CGC__DIRTY_HOT_MAX 16
void cgc__dirty_set_hot(const uintptr_t *lo, const uintptr_t *hi, int n);
long cgc__dirty_seal_hot(cgc__dirty_fn fn, void *arg);
/* Whether there are hot ranges not sealed since the last arm. */
bool cgc__dirty_hot_unsealed(void);
/* Seals of a non-empty hot set so far (for the tests: the path was taken). */
extern _Atomic uint64_t cgc__dirty_hot_seals;

/* Pages no write to which the mark needs to see (pageheap.c,
 * cgc__heap_unwatched_run: the arenas kept for pointer-free objects): an
 * arm leaves them unprotected and a collect neither asks about them nor
 * reports them. fn returns the end of the run of [s, e) that
 * starts at s, all skipped (*skip true) or none; it is asked again at
 * every arm and collect, so a page's answer may change between them, but
 * it must be false, at the last collect before the final stop's rescan,
 * for every page that could hold a pointer the mark has not seen. A
 * skipped page is left unprotected and so reads as written when it is
 * next asked about: a page whose answer turns false is reported then,
 * never missed. The end it returns is e or lies on a kernel page boundary
 * (an arena's end does); any other answer is taken as "watch the rest".
 * Set once, before the first arm; NULL: skip nothing. */
typedef uintptr_t (*cgc__dirty_skip_fn)(uintptr_t s, uintptr_t e, bool *skip);
void cgc__dirty_set_skip(cgc__dirty_skip_fn fn);

/* Pages reported by collects so far (for a metric). */
extern _Atomic uint64_t cgc__dirty_pages_total;

/* End a tracking period (the final pause is over): stop paying for write
 * faults until the next arm. */
void cgc__dirty_disarm(void);

/* In a forked child the registration is gone: re-create it or fall back. */
void cgc__dirty_fork_child(void);

#endif
