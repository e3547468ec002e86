/* tls.c — thread-local storage of registered threads as roots.
 *
 * A __thread variable lives in a per-thread block of its module (the
 * executable or a shared library with a PT_TLS segment). Where the block
 * is, on glibc:
 *   - modules loaded at start (and dlopen'd ones built initial-exec) have
 *     their blocks in the thread's static TLS area, next to the thread
 *     control block. For a thread glibc created, that area is at the top of
 *     the thread's stack mapping, inside the range the stack scan already
 *     covers (pthread_getattr_np reports the whole mapping); the main
 *     thread's is a separate allocation the loader made at start, which no
 *     other root covers;
 *   - modules loaded with dlopen get their blocks on a thread's first use
 *     of one of their variables, from malloc: memory no root covers.
 * Every block of a thread is listed in its dynamic thread vector (DTV):
 * entry m holds the address of module m's block (or "unallocated"), entry
 * 0 the generation, entry -1 the length. The DTV's address is in the
 * thread control block at the thread pointer (x86-64: the second word,
 * tcbhead_t.dtv; aarch64: the first). glibc's own dl_iterate_phdr
 * (dlpi_tls_data) and dlinfo(RTLD_DI_TLS_DATA) read the calling thread's
 * DTV the same way; we read it for every registered thread, with the world
 * stopped: no registered thread is then inside cgc, and a stopped thread's
 * DTV changes only when that thread runs.
 *
 * Entries are two words, {block, address to free}: the second is 0 for a
 * block in static TLS and the malloc'd address for a dynamic one (glibc
 * 2.25 on; before, a flag "static", and dynamic blocks from memalign). A thread's DTV may still hold the entry of a module unloaded
 * since it last used dynamic TLS (glibc frees those blocks lazily, at the
 * thread's next update), under the id of a newer module with a larger
 * block: so a dynamic block is scanned for no more than its allocation
 * holds (malloc_usable_size), and a static one, on x86-64, no further than
 * the thread pointer, below which static TLS lies.
 *
 * The list of modules (id, size) comes from roots.c's listing of loaded
 * objects, taken in the same pause with the loader's list locked: a module
 * cannot be unloaded, nor its id reused, while we read.
 *
 * Other architectures: the DTV's place in the TCB is not known here, and
 * only the stack scan's coverage of static TLS applies (threads glibc
 * created; not the main thread, not dlopen'd modules).
 */
#define _GNU_SOURCE
#include "internal.h"

#include <malloc.h>

#if defined(__x86_64__) || defined(__aarch64__)
#define CGC_TLS_DTV 1
#else
#define CGC_TLS_DTV 0
#endif

typedef struct tls_module {
    size_t modid;
    size_t memsz;
} tls_module;

static tls_module *modules;
static size_t nmodules, cap_modules;
static uint64_t tls_bytes;

/* The thread pointer of the calling thread. */
uintptr_t cgc__tls_thread_pointer(void)
{
#if defined(__x86_64__)
    uintptr_t tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));   /* tcbhead_t.tcb: the TCB's own address */
    return tp;
#elif defined(__aarch64__)
    uintptr_t tp;
    __asm__("mrs %0, tpidr_el0" : "=r"(tp));
    return tp;
#else
    return 0;
#endif
}

void cgc__tls_modules_reset(void)
{
    nmodules = 0;
}

/* From the listing of loaded objects (roots.c), loader list locked. */
void cgc__tls_add_module(size_t modid, size_t memsz)
{
    if (modid == 0 || memsz == 0)
        return;
    if (nmodules == cap_modules) {
        size_t cap = cap_modules ? cap_modules * 2 : 16;
        tls_module *nv = cgc__roots_table_alloc(CGC_ROOTS_TLS, cap * sizeof *nv);
        if (!nv) {
            /* Module modid's blocks go unscanned: this cycle keeps
             * everything (roots.c), and says so once. */
            cgc__roots_lost(CGC_ROOTS_TLS);
            return;
        }
        if (nmodules)
            memcpy(nv, modules, nmodules * sizeof *nv);
        modules = nv;
        cap_modules = cap;
    }
    modules[nmodules].modid = modid;
    modules[nmodules].memsz = memsz;
    nmodules++;
}

#if CGC_TLS_DTV
typedef struct dtv_entry {
    uintptr_t val;       /* the block, 0 or -1 (unallocated) */
    uintptr_t to_free;   /* 0: in static TLS; else the malloc'd address */
} dtv_entry;

static const dtv_entry *dtv_of(uintptr_t tp)
{
#if defined(__x86_64__)
    return *(const dtv_entry *const *)(tp + sizeof(void *));
#else
    return *(const dtv_entry *const *)tp;
#endif
}

/* In a sanitizer's runtime (weak: NULL without one): whether p is a live
 * block of its allocator. Its malloc_usable_size aborts the program on
 * anything else. */
extern int __sanitizer_get_ownership(const volatile void *p) __attribute__((weak));

/* The bytes the dynamic block allocated at to_free can hold; 0 if it is
 * not a live block. A thread stopped inside glibc's DTV update, between
 * freeing a stale block and clearing its entry, leaves a freed block in
 * its DTV: glibc's malloc_usable_size reads a small freed block's header
 * harmlessly (and the scan reads memory still mapped); a sanitizer's
 * allocator is asked first. */
static size_t block_room(uintptr_t to_free)
{
    if (__sanitizer_get_ownership && !__sanitizer_get_ownership((const void *)to_free))
        return 0;
    return malloc_usable_size((void *)to_free);
}

/* No DTV is this long (glibc sizes it to the highest module id + 14); a
 * larger value is not a DTV's length (a thread stopped half-way through
 * growing its DTV, whose old copy was freed and reused). */
#define DTV_MAX_LEN (1u << 20)

/* t's DTV, or NULL where it has none to read (not a thread glibc set up,
 * or gone). *torn: the DTV is not one: t was stopped inside glibc's
 * resize_dtv, between realloc freeing the old vector and the thread
 * pointer's word taking the new one (its blocks are then listed only in a
 * vector nothing points to yet). */
static const dtv_entry *dtv_read(const cgc__thread *t, size_t *len, bool *torn)
{
    *torn = false;
    if (!t->tp)
        return NULL;
    const dtv_entry *dtv = dtv_of(t->tp);
    if (!dtv)
        return NULL;
    *len = dtv[-1].val;
    if (*len > DTV_MAX_LEN) {
        *torn = true;
        return NULL;
    }
    return dtv;
}

static void scan_thread(const cgc__thread *t, uintptr_t stack_lo, cgc__range_fn fn, void *arg)
{
    size_t len;
    bool torn;
    const dtv_entry *dtv = dtv_read(t, &len, &torn);
    if (!dtv)
        return;   /* torn: cgc__tls_check kept this cycle from freeing */
    for (size_t i = 0; i < nmodules; i++) {
        size_t m = modules[i].modid;
        if (m > len)
            continue;   /* the thread has not met this module yet */
        uintptr_t lo = dtv[m].val, hi;
        if (lo == 0 || lo == UINTPTR_MAX)
            continue;
        uintptr_t to_free = dtv[m].to_free;
        if (to_free >= 4096) {   /* glibc < 2.25 kept a bool is_static here */
            size_t usable = block_room(to_free);
            if (lo < to_free || lo - to_free >= usable)
                continue;
            size_t room = usable - (lo - to_free);
            hi = lo + (modules[i].memsz < room ? modules[i].memsz : room);
        } else {
            hi = lo + modules[i].memsz;
#if defined(__x86_64__)
            if (hi > t->tp)
                hi = t->tp;   /* static TLS lies below the thread pointer */
#endif
        }
        lo = (lo + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
        if (hi <= lo)
            continue;
        if (lo >= stack_lo && hi <= t->stack_hi)
            continue;   /* inside the stack range: scanned with the stack */
        fn(lo, hi, arg);
        tls_bytes += hi - lo;
    }
}
#endif

/* World stopped, before the mark: a thread stopped half-way through
 * growing its DTV has blocks no vector we can read lists; a mark without
 * them would free what only its __thread variables of dlopen'd modules
 * hold. Then this stop's listing is incomplete (roots.c): the cycle frees
 * nothing, and the next one, the thread long past the update, reads it.
 * No warning: it lasts a few instructions of one thread. */
void cgc__tls_check(void)
{
#if CGC_TLS_DTV
    for (cgc__thread *t = cgc__threads; t; t = t->next) {
        if (t != cgc__self && t->stack_lo >= t->stack_hi)
            continue;   /* gone without unregistering (threads.c): its TLS is freed */
        size_t len;
        bool torn;
        (void)dtv_read(t, &len, &torn);
        if (torn) {
            cgc__roots_lost(CGC_ROOTS_DTV);
            return;
        }
    }
#endif
}

/* World stopped, loader list locked (roots.c). */
void cgc__tls_foreach(cgc__range_fn fn, void *arg)
{
    tls_bytes = 0;
#if CGC_TLS_DTV
    cgc__thread *me = cgc__self;
    volatile uintptr_t here = 0;
    for (cgc__thread *t = cgc__threads; t; t = t->next) {
        uintptr_t lo = t == me ? (uintptr_t)&here : t->stack_lo;
        if (t != me && lo >= t->stack_hi)
            continue;   /* gone without unregistering (threads.c): its TLS is freed */
        scan_thread(t, lo, fn, arg);
    }
#else
    (void)fn;
    (void)arg;
#endif
}

uint64_t cgc__tls_bytes(void)
{
    return tls_bytes;
}
