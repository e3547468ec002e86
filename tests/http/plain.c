/* plain.c — a cgc program that links cgc_http but calls none of it, so
 * the only way it serves /debug/vars is CGC_DEBUG_ADDR (autostart.c).
 * It allocates a little, collects, then waits for end of input. */
#include <stdio.h>

#include <cgc.h>

int main(void)
{
    void *p = NULL;
    for (int i = 0; i < 10000; i++)
        p = cgc_malloc(128);
    cgc_collect();
    puts("ready");
    fflush(stdout);
    while (getchar() != EOF)
        ;
    return p ? 0 : 1;
}
