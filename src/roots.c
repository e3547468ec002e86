/* roots.c — where marking starts besides thread stacks: the writable data
 * and bss of the executable and of every loaded shared library, and ranges
 * registered with cgc_add_roots.
 *
 * The list of loaded objects is taken with dl_iterate_phdr *before* the
 * world is stopped: dl_iterate_phdr takes the dynamic loader's lock, which a
 * stopped thread might hold (during dlopen, or while unwinding an exception),
 * so calling it with the world stopped could deadlock. A library loaded in
 * the short gap between the snapshot and the stop is scanned from the next
 * collection on.
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

/* Appends to a vector whose storage is metadata (never freed: it only grows
 * to the largest number of roots seen). */
static bool vec_push(range_vec *rv, uintptr_t lo, uintptr_t hi)
{
    if (rv->n == rv->cap) {
        size_t cap = rv->cap ? rv->cap * 2 : 64;
        range *nv = cgc__meta_alloc(cap * sizeof(range), &cgc__mem.other_sys);
        if (!nv)
            return false;
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
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        uintptr_t hi = lo + ph->p_memsz;
        lo = (lo + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
        if (hi > lo)
            vec_push(&segments, lo, hi);
    }
    return 0;
}

/* Takes the snapshot of writable segments; called with the world running. */
void cgc__roots_snapshot(void)
{
    segments.n = 0;
    dl_iterate_phdr(phdr_callback, NULL);
}

void cgc__roots_foreach(cgc__range_fn fn, void *arg)
{
    uint64_t total = 0;
    for (size_t i = 0; i < segments.n; i++) {
        fn(segments.v[i].lo, segments.v[i].hi, arg);
        total += segments.v[i].hi - segments.v[i].lo;
    }
    pthread_mutex_lock(&roots_lock);
    for (size_t i = 0; i < registered.n; i++) {
        fn(registered.v[i].lo, registered.v[i].hi, arg);
        total += registered.v[i].hi - registered.v[i].lo;
    }
    pthread_mutex_unlock(&roots_lock);
    /* Finalizer, cleanup and weak records: their arguments, handles and
     * queued objects (finalize.c); not counted as globals. */
    cgc__finalize_roots(fn, arg);
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
    if (!vec_push(&registered, l, (uintptr_t)hi))
        cgc__warn("cgc_add_roots(%p, %p): out of memory for the root table; range not added", lo, hi);
    pthread_mutex_unlock(&roots_lock);
    cgc__leave_self(t);
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
