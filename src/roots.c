/* roots.c — where marking starts besides thread stacks: the writable data
 * and bss of the executable and of every loaded shared library, the
 * thread-local storage of registered threads (tls.c, from the same listing
 * of loaded objects), and ranges registered with cgc_add_roots.
 *
 * The loaded objects must not change from the moment they are listed to
 * the end of the mark: a library unloaded meanwhile (dlclose by any thread,
 * registered or not — an unregistered one is never stopped) is unmapped
 * under the markers, which then fault; one loaded meanwhile holds objects
 * the mark never sees, and they are freed. So the whole pause runs inside a
 * dl_iterate_phdr callback (cgc__roots_hold). glibc's dl_iterate_phdr holds
 * the loader's list lock (dl_load_write_lock) around its callbacks, and
 * dlopen and dlclose take that lock to add an object to the list and to
 * unmap and unlink one: while the pause runs, they wait.
 *
 * Why that order cannot deadlock the stop: the lock is taken *before* the
 * world stops, while every thread still runs, so whoever holds it (a
 * dlopen, a dlclose, another dl_iterate_phdr, e.g. an exception unwinding)
 * finishes its short critical section and lets go; a registered thread that
 * then waits for it is blocked in the kernel, where the suspend signal still
 * reaches it, and it parks like any other. Calling dl_iterate_phdr with the
 * world already stopped could deadlock (a stopped thread might hold the
 * lock), and so would anything that waits for the lock while not
 * suspendable: cgc code inside a cgc section never calls the loader. The
 * collector takes the lock after thread_lock, never the reverse, so a fork
 * (whose handlers hold thread_lock) never happens while the collector holds
 * it: the child would inherit a lock glibc does not reset. A program's own
 * dl_iterate_phdr callback must not wait for a collection (allocating from
 * cgc there may): the collector would be waiting for the lock it holds.
 * Threads are never created while the lock is held (pthread_create takes
 * the TLS lock, which dlclose holds while it waits for this one).
 *
 * A root that cannot be recorded. The tables of roots are metadata and can
 * fail to grow (out of memory, or the mapping limit). A cycle that marked
 * from the roots it did record would free whatever only the missing range
 * refers to — a library's data, a module's thread-local variables, a range
 * the program registered. So every failure to record a root is reported
 * here (cgc__roots_lost), by the table's own growth rather than by each
 * caller, and a cycle started while any is outstanding marks nothing,
 * finalizes nothing and sweeps nothing: every object is kept, as if marked
 * (collect.c asks cgc__roots_complete before the mark). A table that failed
 * during one cycle's listing is tried again at the next; a registered range
 * that was never recorded stays lost, and with it collection, for the rest
 * of the process (the program has no way to know it must register the
 * range again); a thread registered without its stack's bounds (threads.c)
 * holds collection off until it unregisters. Said once on stderr. A
 * thread stopped in the middle of growing its vector of thread-local
 * blocks (tls.c: cgc__tls_check) makes only that stop's listing
 * incomplete, silently.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <link.h>
#include <stdlib.h>

typedef struct range {
    uintptr_t lo, hi;
} range;

typedef struct range_vec {
    range *v;
    size_t n, cap;
} range_vec;

static range_vec segments;     /* snapshot of loaded objects' writable segments */
static range_vec registered;   /* cgc_add_roots, under roots_lock */
static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t globals_bytes;

/* Roots not recorded: in this cycle's listing of loaded objects (reset
 * with the listing, loader list locked and thread_lock held), and ranges
 * cgc_add_roots could not record (for good). */
static bool listing_incomplete;
static _Atomic uint64_t registered_lost;
static _Atomic uint64_t stacks_unknown;   /* registered threads (threads.c) */
static _Atomic int lost_said;
static const char *_Atomic lost_what;
_Atomic int cgc__roots_test_nomem;

void cgc__roots_lost(int table)
{
    if (table == CGC_ROOTS_REGISTERED || table == CGC_ROOTS_STACK) {
        /* cgc_add_roots and the thread's registration say so */
        atomic_fetch_add(table == CGC_ROOTS_STACK ? &stacks_unknown : &registered_lost, 1);
        return;
    }
    listing_incomplete = true;
    if (table == CGC_ROOTS_DTV)
        return;   /* this stop only, and not for want of memory: nothing to say */
    const char *expected = NULL;
    atomic_compare_exchange_strong(&lost_what, &expected,
                                   table == CGC_ROOTS_TLS ? "thread-local storage modules" : "loaded objects' segments");
}

void cgc__roots_regained(int table)
{
    if (table == CGC_ROOTS_STACK)
        atomic_fetch_sub(&stacks_unknown, 1);
}

bool cgc__roots_complete(void)
{
    return !listing_incomplete && atomic_load(&registered_lost) == 0 && atomic_load(&stacks_unknown) == 0;
}

/* Metadata for a root table; NULL if there is none (or a test says so). */
void *cgc__roots_table_alloc(int table, size_t bytes)
{
    if (atomic_load_explicit(&cgc__roots_test_nomem, memory_order_relaxed) & (1 << table))
        return NULL;
    return cgc__meta_alloc(bytes, &cgc__mem.other_sys);
}

/* Appends to a vector whose storage is metadata (never freed: it only grows
 * to the largest number of roots seen). A range that does not fit is
 * reported lost (cgc__roots_lost) here, whatever the caller does next. */
static bool vec_push(range_vec *rv, int table, uintptr_t lo, uintptr_t hi)
{
    if (rv->n == rv->cap) {
        size_t cap = rv->cap ? rv->cap * 2 : 64;
        range *nv = cgc__roots_table_alloc(table, cap * sizeof(range));
        if (!nv) {
            cgc__roots_lost(table);
            return false;
        }
        if (rv->n)
            memcpy(nv, rv->v, rv->n * sizeof(range));
        rv->v = nv;
        rv->cap = cap;
    }
    rv->v[rv->n].lo = lo;
    rv->v[rv->n].hi = hi;
    rv->n++;
    return true;
}

/* The sanitizer runtimes (libasan, libubsan, ... of a CGC_SANITIZE build or
 * of a sanitized program): their data/bss is the runtimes' own tables (11
 * MiB for libasan + libubsan, under 1 MiB for the rest of a test program)
 * and holds no pointer of the program's; scanning it made every collection
 * of a small heap slow enough for the CPU limiter to let the heap grow
 * (test_api: heap_sys 1 -> 134 MB where the bound is +64 MB). */
static bool is_sanitizer_runtime(const char *path)
{
    const char *base = path ? strrchr(path, '/') : NULL;
    base = base ? base + 1 : path;
    if (!base)
        return false;
    static const char *const names[] = {"libasan.so", "libubsan.so", "liblsan.so",
                                        "libtsan.so", "libhwasan.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(base, names[i], strlen(names[i])) == 0)
            return true;
    return false;
}

static int phdr_callback(struct dl_phdr_info *info, size_t size, void *arg)
{
    if (is_sanitizer_runtime(info->dlpi_name))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_TLS)
            cgc__tls_add_module(info->dlpi_tls_modid, ph->p_memsz);
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        uintptr_t hi = lo + ph->p_memsz;
        lo = (lo + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
        if (hi > lo)
            vec_push(&segments, CGC_ROOTS_SEGMENTS, lo, hi);
    }
    return 0;
}

void (*cgc__roots_test_hook)(void);

typedef struct hold {
    void (*fn)(void *);
    void *arg;
    bool ran;
} hold;

/* Called for the first loaded object, with the list locked: lists every
 * object (a nested dl_iterate_phdr, which takes the lock again: it is
 * recursive), runs the pause, and ends the outer iteration. */
static int hold_callback(struct dl_phdr_info *info, size_t size, void *arg)
{
    hold *h = arg;
    segments.n = 0;
    listing_incomplete = false;
    cgc__tls_modules_reset();
    dl_iterate_phdr(phdr_callback, NULL);
    if (cgc__roots_test_hook)
        cgc__roots_test_hook();
    h->fn(h->arg);
    h->ran = true;
    return 1;
}

void cgc__roots_hold(void (*fn)(void *), void *arg)
{
    hold h = {.fn = fn, .arg = arg};
    dl_iterate_phdr(hold_callback, &h);
    if (!h.ran) {   /* no object listed at all: only the registered ranges */
        segments.n = 0;
        listing_incomplete = false;
        cgc__tls_modules_reset();
        fn(arg);
    }
}

void cgc__roots_say_lost(void)
{
    const char *what = atomic_load(&lost_what);
    if (what && !atomic_exchange(&lost_said, 1))
        cgc__warn("out of memory for the table of %s: a collection that cannot record every root "
                  "frees nothing (every object is kept until the roots can be recorded)",
                  what);
}

void cgc__roots_foreach(cgc__range_fn fn, void *arg)
{
    uint64_t total = 0;
    for (size_t i = 0; i < segments.n; i++) {
        fn(segments.v[i].lo, segments.v[i].hi, arg);
        total += segments.v[i].hi - segments.v[i].lo;
    }
    cgc__tls_foreach(fn, arg);
    total += cgc__tls_bytes();
    pthread_mutex_lock(&roots_lock);
    for (size_t i = 0; i < registered.n; i++) {
        fn(registered.v[i].lo, registered.v[i].hi, arg);
        total += registered.v[i].hi - registered.v[i].lo;
    }
    pthread_mutex_unlock(&roots_lock);
    /* Finalizer, cleanup and weak records: their arguments, handles and
     * queued objects (finalize.c); not counted as globals. */
    cgc__finalize_roots(fn, arg);
    cgc__free_deferred_roots(fn, arg);   /* freed during a concurrent mark: kept to the end of the cycle */
    globals_bytes = total;
}

uint64_t cgc__roots_globals_bytes(void)
{
    return globals_bytes;
}

void cgc__roots_fork(int stage)
{
    cgc__fork_mutex(&roots_lock, stage);
}

CGC_API void cgc_add_roots(void *lo, void *hi)
{
    if (!lo || (uintptr_t)hi <= (uintptr_t)lo)
        return;
    cgc__ensure_init();
    cgc__thread *t = cgc__enter_self();
    pthread_mutex_lock(&roots_lock);
    uintptr_t l = ((uintptr_t)lo + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
    bool added = vec_push(&registered, CGC_ROOTS_REGISTERED, l, (uintptr_t)hi);
    pthread_mutex_unlock(&roots_lock);
    cgc__leave_self(t);
    /* Out of the section: stderr's lock may be held by a thread that a
     * collection stops, and that stop waits for the section to end. */
    if (!added)
        cgc__warn("cgc_add_roots(%p, %p): out of memory for the root table; range not added, and from "
                  "now on collections free nothing (an object only the range refers to must not be freed)",
                  lo, hi);
}

CGC_API void cgc_remove_roots(void *lo, void *hi)
{
    cgc__thread *t = cgc__enter_self();
    pthread_mutex_lock(&roots_lock);
    uintptr_t l = ((uintptr_t)lo + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
    for (size_t i = 0; i < registered.n; i++) {
        if (registered.v[i].lo == l && registered.v[i].hi == (uintptr_t)hi) {
            registered.v[i] = registered.v[--registered.n];
            break;
        }
    }
    pthread_mutex_unlock(&roots_lock);
    cgc__leave_self(t);
}
