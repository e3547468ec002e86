/* test_uncollectable.c — uncollectable objects are roots, small and large:
 * what they point to survives every collection while they live, and is
 * reclaimed once they are freed. (The collector finds them on the central
 * and large span lists, not by walking the heap: this is the test of that.) */
#include "cgc.h"
#include "check.h"

#define NSMALL 300

static uintptr_t hsmall[NSMALL], htarget_small[NSMALL];
static uintptr_t hlarge, htarget_large;

/* Whether the hidden object is allocated and still holds `fill`. */
static int __attribute__((noinline)) alive(uintptr_t h, size_t n, char fill)
{
    char *p = unhide(h);
    return cgc_base(p) == p && p[0] == fill && p[n - 1] == fill;
}

/* Each uncollectable object holds the only pointer to a normal object; no
 * other reference to either is left anywhere the collector scans. */
static void __attribute__((noinline)) build(void)
{
    for (int i = 0; i < NSMALL; i++) {
        void **u = cgc_malloc_uncollectable(16 + (size_t)(i % 7) * 48);
        char *t = cgc_malloc(200);
        memset(t, 't', 200);
        u[1] = t;   /* not the first word: any word counts */
        hsmall[i] = hide(u);
        htarget_small[i] = hide(t);
    }
    void **big = cgc_malloc_uncollectable(300000);
    char *t = cgc_malloc(5000);
    memset(t, 'L', 5000);
    big[30000] = t + 17;   /* an interior pointer, deep inside */
    hlarge = hide(big);
    htarget_large = hide(t);
}

static void __attribute__((noinline)) churn(void)
{
    for (int i = 0; i < 200000; i++) {
        char *g = cgc_malloc(64);
        g[0] = (char)i;
    }
}

int main(void)
{
    build();
    clear_stack();
    for (int round = 0; round < 4; round++) {
        churn();   /* garbage, so automatic collections run as well */
        clear_stack();
        cgc_collect();
    }
    int lost = 0;
    for (int i = 0; i < NSMALL; i++)
        lost += !alive(htarget_small[i], 200, 't');
    CHECK(lost == 0, "%d of %d objects held only by small uncollectable objects were freed", lost, NSMALL);
    CHECK(alive(htarget_large, 5000, 'L'), "object held only by a large uncollectable object survives");
    CHECK(cgc_base(unhide(hlarge)) == unhide(hlarge), "large uncollectable object itself survives");

    for (int i = 0; i < NSMALL; i++)
        cgc_free(unhide(hsmall[i]));
    cgc_free(unhide(hlarge));
    clear_stack();
    cgc_collect();
    int kept = 0;
    for (int i = 0; i < NSMALL; i++)
        kept += cgc_base(unhide(htarget_small[i])) != NULL;
    CHECK(kept == 0, "%d objects kept after their uncollectable holders were freed", kept);
    CHECK(cgc_base(unhide(htarget_large)) == NULL, "object reclaimed after its large holder was freed");
    return check_done();
}
