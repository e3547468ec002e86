/* clear_roots.c — GC_clear_roots, as Neko's runtime uses it (GC_no_dls = 1,
 * GC_clear_roots(), then GC_add_roots of its own tables): the call returns
 * (it aborted before), ranges added after it are roots, and the ranges
 * added before it no longer are. Objects are watched through disappearing
 * links kept in malloc'd memory, which the collector does not scan. */
#include <gc/gc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 64

static int failed;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL: " __VA_ARGS__); printf("\n"); failed = 1; } } while (0)

/* Fills a root table with new objects and links to them, in a frame of its
 * own so that no pointer to them stays in main's. */
static __attribute__((noinline)) void fill(void **table, void **links)
{
    for (int i = 0; i < N; i++) {
        table[i] = GC_malloc(64);
        links[i] = table[i];
        if (GC_general_register_disappearing_link(&links[i], table[i]) != GC_SUCCESS)
            CHECK(0, "registering link %d", i);
    }
}

/* Overwrites the stack below main's frame, where fill() left pointers. */
static __attribute__((noinline)) void scrub(void)
{
    volatile char pad[16384];
    memset((char *)pad, 0, sizeof pad);
}

static int live(void **links)
{
    int n = 0;
    for (int i = 0; i < N; i++)
        n += links[i] != NULL;
    return n;
}

int main(void)
{
    GC_INIT();
    void **a = malloc(N * sizeof *a), **la = malloc(N * sizeof *la);
    void **b = malloc(N * sizeof *b), **lb = malloc(N * sizeof *lb);
    if (!a || !la || !b || !lb)
        return 2;
    GC_add_roots(a, a + N);
    fill(a, la);
    scrub();
    GC_gcollect();
    CHECK(live(la) == N, "before GC_clear_roots, %d of %d objects held by a root range survived", live(la), N);

    GC_clear_roots();
    GC_add_roots(b, b + N);
    fill(b, lb);
    scrub();
    GC_gcollect();
    GC_gcollect();
    CHECK(live(lb) == N, "a range added after GC_clear_roots: %d of %d objects survived", live(lb), N);
    /* A stale copy in a register or stack slot may hold one or two. */
    CHECK(live(la) <= 4, "ranges added before GC_clear_roots still hold %d of %d objects", live(la), N);
    for (int i = 0; i < N; i++)
        CHECK(lb[i] == b[i], "link %d does not match its object", i);
    printf("%s\n", failed ? "FAILED" : "PASS");
    return failed;
}
