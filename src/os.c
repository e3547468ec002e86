/* os.c — the only file that asks the operating system for memory.
 *
 * Heap arenas are reserved with MAP_NORESERVE: address space only, so pages
 * cost nothing until touched. Release is MADV_DONTNEED, which drops the pages
 * at once (resident memory falls immediately, unlike MADV_FREE, which is what
 * container accounting and operators want) and makes them read as zero when
 * touched again. Metadata comes from small mappings carved by a bump
 * allocator; every byte mapped is added to the statistic it belongs to.
 */
#include "internal.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

/* Maps `size` bytes of fresh zeroed memory at `hint` if that range is
 * free (MAP_FIXED_NOREPLACE: never over an existing mapping; a kernel
 * before 4.17 takes it as a plain hint), anywhere if hint is NULL; NULL on
 * failure. */
static void *map_at(void *hint, size_t size)
{
    if (cgc__fault(CGC_FAULT_MMAP))   /* tests: fault.c */
        return NULL;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (hint ? MAP_FIXED_NOREPLACE : 0);
    void *p = mmap(hint, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Maps `size` bytes of fresh zeroed memory, or NULL. */
void *cgc__os_map(size_t size)
{
    return map_at(NULL, size);
}

/* Reserves `size` bytes aligned to `align` (a power of two), so the kernel
 * picks the place. The over-sized mapping (size + align, ends trimmed)
 * comes last: under an address-space limit (ulimit -v, RLIMIT_AS) it needs
 * `align` bytes (64 MiB for an arena) more than the arena for a moment,
 * and with 128 MiB of headroom left no second arena could be had at all.
 * First the exact size: the kernel places mappings top-down next to each
 * other, so below an aligned arena it is often aligned already. Then the
 * aligned address just below where it landed, which is usually free for
 * the same reason. */
void *cgc__os_reserve_aligned(size_t size, size_t align)
{
    if (size > SIZE_MAX - align)
        return NULL;
    uint8_t *p = map_at(NULL, size);
    if (p && ((uintptr_t)p & (align - 1)) == 0)
        return p;
    if (p) {
        munmap(p, size);
        void *below = (void *)((uintptr_t)p & ~(uintptr_t)(align - 1));
        uint8_t *q = below ? map_at(below, size) : NULL;
        if (q == below)
            return q;
        if (q)
            munmap(q, size);   /* an old kernel put it elsewhere */
    }
    p = map_at(NULL, size + align);
    if (!p)
        return NULL;
    uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = a - (uintptr_t)p, tail = align - head;
    if (head)
        munmap(p, head);
    if (tail)
        munmap((void *)(a + size), tail);
    return (void *)a;
}

/* Drops the pages of [p, p + size): true if they are gone (resident memory
 * fell and they read as zero). MADV_DONTNEED fails with EINVAL on locked
 * pages (mlock, mlockall(MCL_FUTURE), as latency-sensitive services run):
 * then nothing is known to be dropped, and the caller must treat the range
 * as resident and holding its old bytes. (Mapping fresh pages over it with
 * MAP_FIXED would drop the old ones, but under MCL_FUTURE the new mapping
 * is locked and populated at once: no memory comes back.) */
bool cgc__os_release(void *p, size_t size)
{
    if (cgc__fault(CGC_FAULT_MADVISE))
        return false;
    return madvise(p, size, MADV_DONTNEED) == 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23   /* Linux 5.14; older headers lack it */
#endif

/* Faults in [p, p + size) for writing with one system call, before the
 * program touches it. A page fault costs 10.4 us on this kind of machine (a
 * VM: every fault is an exit), MADV_POPULATE_WRITE 0.7-1.4 us a page
 * (measured: 160 MiB touched page by page 0.42 s; populated in 2-page
 * chunks and then touched 0.11 s). The pages would be faulted in anyway by
 * the program's first write; the memory is counted as the heap's either
 * way (sys - heap_released). Before Linux 5.14 the call fails with EINVAL
 * and is not tried again; any other failure (no memory) leaves the pages
 * to fault in one by one, as before. */
void cgc__os_populate(void *p, size_t size)
{
    static _Atomic int unsupported;
    if (atomic_load_explicit(&unsupported, memory_order_relaxed) || cgc__fault(CGC_FAULT_MADVISE))
        return;
    if (madvise(p, size, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
        atomic_store_explicit(&unsupported, 1, memory_order_relaxed);
}

void cgc__os_unmap(void *p, size_t size)
{
    munmap(p, size);
}

/* Metadata bump allocator: 1 MiB chunks (or bigger for big requests),
 * 16-byte aligned, zeroed, charged to *account. Never freed: callers keep
 * their own free lists (span descriptors, mark stack segments). */
static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *meta_cur, *meta_end;
#define META_CHUNK ((size_t)1 << 20)

void cgc__os_fork(int stage)
{
    cgc__fork_mutex(&meta_lock, stage);
}

void *cgc__meta_alloc(size_t size, _Atomic uint64_t *account)
{
    size = (size + 15) & ~(size_t)15;
    if (size >= META_CHUNK / 4) {
        size_t len = (size + CGC_PAGE_SIZE - 1) & ~(CGC_PAGE_SIZE - 1);
        void *p = cgc__os_map(len);
        if (p)
            atomic_fetch_add(account, len);
        return p;
    }
    /* Blocks of a cache line or more start on a line: span descriptors and
     * mark-byte arrays are what the mark reads, one miss per object, and
     * a block straddling two lines would make it two. (A new chunk is
     * page-aligned.) */
    uintptr_t align = size >= 64 ? 63 : 0;
    pthread_mutex_lock(&meta_lock);
    uint8_t *p = (uint8_t *)(((uintptr_t)meta_cur + align) & ~align);
    if (!meta_cur || p > meta_end || (size_t)(meta_end - p) < size) {
        uint8_t *c = cgc__os_map(META_CHUNK);
        if (!c) {
            pthread_mutex_unlock(&meta_lock);
            return NULL;
        }
        p = c;
        meta_end = c + META_CHUNK;
    }
    meta_cur = p + size;
    pthread_mutex_unlock(&meta_lock);
    /* Charged as used, page-granular honesty aside: the chunk's untouched
     * tail is not resident, so this under-counts nothing that is. */
    atomic_fetch_add(account, size);
    return p;
}
