/* test_rlimit_as: under an address-space limit (ulimit -v, RLIMIT_AS) the
 * heap can grow into nearly all of the address space left.
 *
 * A new 64 MiB arena used to be reserved by mapping 128 MiB and trimming
 * it to an aligned 64 MiB: the growth needed 64 MiB of address space more
 * than it kept. With 192 MiB left after the first arena, the heap got one
 * more arena and then NULL (127 MiB of objects in all); now it gets three
 * (255 MiB). The limit is set from the process's own size once cgc is
 * initialised, so what the rest of the process maps does not matter.
 * After the NULL, freeing the objects makes allocation work again. */
#include "check.h"
#include <cgc.h>

#define MIB ((size_t)1 << 20)
#define HEADROOM (192 * MIB)
#define MAX_OBJECTS 1024

int main(void)
{
    static void *objs[MAX_OBJECTS];   /* uncollectable: alive whatever the scan sees */
    cgc_free(cgc_malloc(16));         /* the first arena exists: 63 MiB free in it */
    check_limit_address_space(HEADROOM);

    size_t n = 0;
    while (n < MAX_OBJECTS && (objs[n] = cgc_malloc_uncollectable(MIB)) != NULL)
        n++;
    printf("RLIMIT_AS = VmSize + %zu MiB: %zu MiB of objects before NULL\n", HEADROOM / MIB, n);
    CHECK(n < MAX_OBJECTS, "the limit was never reached");
    /* 63 MiB in the first arena + 192 MiB of new arenas, less what other
     * mappings (cgc's threads and metadata) take: at least 160. */
    CHECK(n >= 160, "only %zu MiB of objects under %zu MiB of headroom", n, HEADROOM / MIB);

    for (size_t i = 0; i < n; i++)
        cgc_free(objs[i]);
    void *again = cgc_malloc(MIB);
    CHECK(again != NULL, "no allocation after freeing everything");
    return check_done();
}
