/* test_sizeclass — the size class table keeps its promises: every request
 * up to 32 KiB maps to the smallest class that holds it; classes above 256
 * bytes waste at most 12.5% of the object for any request; spans waste at
 * most 1/8 in their tail; slot indices from the reciprocal are exact; a span
 * never has more slots than its bitmap holds. */
#include "check.h"
#include "internal.h"

int main(void)
{
    cgc__sizeclass_init();
    CHECK(cgc__nclasses > 0 && cgc__nclasses <= CGC_MAX_CLASSES, "class count %d", cgc__nclasses);
    CHECK(cgc__classes[cgc__nclasses - 1].size == CGC_MAX_SMALL, "largest class is 32 KiB");
    int bad_fit = 0, bad_waste = 0;
    for (size_t n = 1; n <= CGC_MAX_SMALL; n++) {
        int c = cgc__size_to_class(n);
        uint32_t sz = cgc__classes[c].size;
        if (sz < n || (c > 0 && cgc__classes[c - 1].size >= n))
            bad_fit++;
        /* internal fragmentation of this request */
        if (sz > 256 && (sz - n) * 8 > sz)
            bad_waste++;
    }
    CHECK(bad_fit == 0, "%d sizes not mapped to the smallest fitting class", bad_fit);
    CHECK(bad_waste == 0, "%d sizes waste more than 12.5%%", bad_waste);
    for (int c = 0; c < cgc__nclasses; c++) {
        const cgc__sizeclass *k = &cgc__classes[c];
        size_t span = (size_t)k->npages * CGC_PAGE_SIZE;
        CHECK(k->size % CGC_ALIGN == 0, "class %u aligned", k->size);
        CHECK((span - (size_t)k->nelems * k->size) * 8 <= span, "class %u tail waste", k->size);
        CHECK(k->nelems <= CGC_MAX_SLOTS, "class %u slots %u fit the bitmap", k->size, k->nelems);
        int inexact = 0;
        for (uint64_t i = 0; i < k->nelems; i++) {
            uint64_t lo = i * k->size, hi = lo + k->size - 1;
            inexact += ((lo * k->divmul) >> 32) != i || ((hi * k->divmul) >> 32) != i;
        }
        CHECK(inexact == 0, "class %u reciprocal exact", k->size);
    }
    return check_done();
}
