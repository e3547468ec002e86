/* sizeclass.c — the size classes of small objects and the spans that hold
 * them.
 *
 * Classes are every 16 bytes up to 256 (16 is the alignment every object
 * needs, so nothing finer is possible), then eight per doubling: between 2^k
 * and 2^(k+1) the step is 2^k / 8. A request just above class c is served by
 * the next class, at most c/8 larger, so the space lost inside an object is
 * below 1/9 ≈ 11.1% of its size for every class above 256 bytes (and at most
 * 15 bytes below). Each class gets the fewest pages that leave a tail of at
 * most 1/8 of the span unused.
 *
 * Index computation: for a slot index i = off / size with off < span bytes,
 * we use i = (off * divmul) >> 32 with divmul = ceil(2^32 / size). This is
 * exact when off * (divmul * size - 2^32) < 2^32 * size... we simply check
 * every (class, slot start, slot end) at start-up: a class that failed would
 * abort in a debug build and be detected by the test suite (test_sizeclass).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

cgc__sizeclass cgc__classes[CGC_MAX_CLASSES];
int cgc__nclasses;
uint8_t cgc__class_small[CGC_MAX_SMALL / 16 + 1];
uint8_t cgc__class_big[CGC_MAX_SMALL / 128 + 1];

static void add_class(uint32_t size)
{
    cgc__sizeclass *c = &cgc__classes[cgc__nclasses++];
    c->size = size;
    /* Fewest pages with tail waste <= span / 8. */
    uint32_t np = 1;
    for (;;) {
        size_t bytes = (size_t)np * CGC_PAGE_SIZE;
        if (bytes >= size && (bytes % size) * 8 <= bytes)
            break;
        np++;
    }
    c->npages = np;
    c->nelems = (uint32_t)(((size_t)np * CGC_PAGE_SIZE) / size);
    c->divmul = (uint32_t)(((uint64_t)1 << 32) / size + 1);
}

/* Checks that the reciprocal gives the exact slot index for the first and
 * the last byte of every slot of the class. */
static bool class_exact(const cgc__sizeclass *c)
{
    for (uint64_t i = 0; i < c->nelems; i++) {
        uint64_t lo = i * c->size, hi = lo + c->size - 1;
        if (((lo * c->divmul) >> 32) != i || ((hi * c->divmul) >> 32) != i)
            return false;
    }
    return true;
}

void cgc__sizeclass_init(void)
{
    cgc__nclasses = 0;
    for (uint32_t s = 16; s <= 256; s += 16)
        add_class(s);
    for (uint32_t base = 256; base < CGC_MAX_SMALL; base *= 2)
        for (uint32_t s = base + base / 8; s <= 2 * base; s += base / 8)
            add_class(s);
    for (int i = 0; i < cgc__nclasses; i++) {
        if (!class_exact(&cgc__classes[i])) {
            fprintf(stderr, "cgc: internal error: size class %u has an inexact reciprocal\n",
                    cgc__classes[i].size);
            abort();
        }
    }
    /* Lookup tables: smallest class whose size >= n. */
    int c = 0;
    for (size_t i = 0; i <= CGC_MAX_SMALL / 16; i++) {
        size_t n = i * 16;
        if (n > 1024)
            break;
        while (cgc__classes[c].size < n)
            c++;
        cgc__class_small[i] = (uint8_t)c;
    }
    c = 0;
    for (size_t i = 0; i <= CGC_MAX_SMALL / 128; i++) {
        size_t n = i * 128;
        while (cgc__classes[c].size < n)
            c++;
        cgc__class_big[i] = (uint8_t)c;
    }
}
