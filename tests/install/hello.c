/* A program built against an installed cgc: allocates garbage in a loop and
 * checks that the heap stayed bounded. */
#include <cgc.h>
#include <stdio.h>

int main(void)
{
    void *keep = NULL;
    for (int i = 0; i < 200000; i++) {
        void **p = cgc_malloc(256);
        p[0] = keep;
        keep = i % 100 ? (void *)p : NULL;
    }
    cgc_memstats m;
    cgc_read_memstats(&m);
    printf("collections %u, heap %llu KiB\n", m.num_gc, (unsigned long long)(m.heap_sys >> 10));
    return m.num_gc > 0 && m.heap_alloc < (64u << 20) ? 0 : 1;
}
