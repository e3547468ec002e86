/* test_arena_fail: a heap growth that fails half-way leaks nothing and
 * leaves the address map consistent.
 *
 * Growing the heap maps an arena and then its metadata: the arena record,
 * its page map, its released bits, a span descriptor, radix tables. When
 * one of those mappings failed, the pieces already allocated were dropped
 * (metadata is carved from chunks and cannot be unmapped piecemeal) and
 * the descriptor was never given back: every failed attempt leaked them.
 * Here, 40 times, a 2 GiB allocation fails half-way: the arena is mapped,
 * and so is a new metadata chunk for its record the first time, but its
 * page map (2 MiB, a mapping of its own) is not. gc_sys and
 * mspan_inuse may grow by the first failure's pieces only (gc_sys: one
 * arena record and 32 KiB of released bits, 64 KiB allowed; mspan_inuse:
 * one descriptor); before the fix they grew by 39 x that more (gc_sys
 * +1249 KiB, mspan_inuse +7488 bytes). Then every radix entry points to a
 * complete arena that covers the entry's address range, and the heap
 * works. */
#include "check.h"
#include "internal.h"

#include <errno.h>

static void use_up_metadata_chunk(void)
{
    cgc__fault_mmap_after(0);
    for (size_t size = 128 << 10; size >= 16; size /= 2)
        while (cgc__meta_alloc(size, &cgc__mem.other_sys))
            ;
}

int main(void)
{
    char *keep = cgc_malloc(100);   /* the heap exists */
    uint64_t gc0 = 0, span0 = 0;
    int nulls = 0;
    for (int i = 0; i < 40; i++) {
        /* First: the arena and its record's new chunk are mapped, the page
         * map is not. Then: the arena is mapped and the page map is not
         * (the record comes from that chunk or the spare). */
        if (i == 0)
            use_up_metadata_chunk();
        cgc__fault_mmap_after(i == 0 ? 2 : 1);
        errno = 0;
        void *p = cgc_malloc_atomic((size_t)2 << 30);
        cgc__fault_mmap_after(-1);
        nulls += p == NULL && errno == ENOMEM;
        if (i == 0) {
            gc0 = atomic_load(&cgc__mem.gc_sys);
            span0 = atomic_load(&cgc__mem.mspan_inuse);
        }
    }
    CHECK(nulls == 40, "%d of 40 half-failed growths returned NULL/ENOMEM", nulls);
    uint64_t gc1 = atomic_load(&cgc__mem.gc_sys), span1 = atomic_load(&cgc__mem.mspan_inuse);
    CHECK(gc1 - gc0 <= 64 << 10, "39 more half-failed growths: gc_sys +%llu KiB",
          (unsigned long long)((gc1 - gc0) >> 10));
    CHECK(span1 - span0 <= sizeof(cgc__span), "39 more half-failed growths: mspan_inuse +%llu bytes",
          (unsigned long long)(span1 - span0));
    printf("gc_sys +%llu KiB, mspan_inuse +%llu bytes over 39 failures\n",
           (unsigned long long)((gc1 - gc0) >> 10), (unsigned long long)(span1 - span0));

    /* Every radix entry: an arena with its page map, covering the entry. */
    size_t bad = 0, entries = 0;
    for (size_t i1 = 0; i1 < ((size_t)1 << CGC_RADIX_L1_BITS); i1++) {
        cgc__arena **l2 = cgc__radix[i1];
        if (!l2)
            continue;
        for (size_t i2 = 0; i2 < ((size_t)1 << CGC_RADIX_L2_BITS); i2++) {
            cgc__arena *a = l2[i2];
            if (!a)
                continue;
            entries++;
            uintptr_t u = ((uintptr_t)i1 << CGC_RADIX_L2_BITS | i2) << CGC_ARENA_SHIFT;
            if (!a->spanmap || !a->released || u < a->base ||
                u + CGC_ARENA_SIZE > a->base + a->npages * CGC_PAGE_SIZE)
                bad++;
        }
    }
    CHECK(entries > 0 && bad == 0, "%zu of %zu radix entries point to an incomplete arena", bad, entries);

    /* It works when the OS does. */
    char *big = cgc_malloc_atomic((size_t)2 << 30);
    CHECK(big != NULL, "2 GiB once mappings succeed");
    if (big)
        big[((size_t)2 << 30) - 1] = 1;
    cgc_collect();
    CHECK(keep && cgc_base(keep) == keep, "the heap still works");
    return check_done();
}
