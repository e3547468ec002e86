/* no_interior.c — a program that turns GC_all_interior_pointers off
 * before GC_init (Neko's runtime does) gets objects of the size it asks
 * for, as on libgc, not one byte more rounded up to the next size class:
 * a 16-byte request takes 16 bytes, not 32. Passes on Debian's libgc too. */
#include <gc/gc.h>

#include <stdio.h>

static int failed;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL: " __VA_ARGS__); printf("\n"); failed = 1; } } while (0)

int main(void)
{
    /* The variable, as Neko sets it (libgc's header calls it deprecated). */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    GC_all_interior_pointers = 0;
    GC_INIT();
    CHECK(GC_get_all_interior_pointers() == 0, "GC_get_all_interior_pointers() = %d after setting 0",
          GC_get_all_interior_pointers());
    size_t sizes[] = {16, 32, 48, 64, 128, 256};
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *p = GC_malloc(sizes[i]), *q = GC_malloc_atomic(sizes[i]);
        CHECK(p && GC_size(p) == sizes[i], "interior pointers off: GC_size(GC_malloc(%zu)) = %zu", sizes[i], p ? GC_size(p) : 0);
        CHECK(q && GC_size(q) == sizes[i], "interior pointers off: GC_size(GC_malloc_atomic(%zu)) = %zu", sizes[i], q ? GC_size(q) : 0);
    }
    /* Many small objects stay small: 100,000 of 16 bytes fit in well
     * under the 3.2 MB that 32-byte ones would take. */
    void **keep = GC_malloc(100000 * sizeof *keep);
    for (int i = 0; i < 100000; i++)
        keep[i] = GC_malloc(16);
    GC_gcollect();
    size_t heap = GC_get_heap_size() - GC_get_free_bytes();
    CHECK(heap < 2900000, "100,000 16-byte objects (plus a 0.8 MB table) use %zu heap bytes", heap);
    printf("%s\n", failed ? "FAILED" : "PASS");
    return failed;
}
