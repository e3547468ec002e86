/* test_mark_large_meta: marking a large pointerful object with several
 * markers costs a bounded amount of mark metadata, and every child it
 * refers to survives.
 *
 * A large object is scanned in 64 KiB chunks so that other markers can
 * share it. The chunks used to be materialised all at once, one 4 KiB
 * packet each, when the object was popped: 1/16 of the object in packets
 * (a 256 MiB object: 16 MiB of gc_sys, a 1 GiB one 65 MiB), kept in the
 * packet pool for good and counted against the soft limit. Now only a few
 * chunks are shared at a time and the rest of the object stays one entry
 * ("from offset X to the end"), split again when it is popped.
 *
 * The object: 256 MiB from cgc_malloc, holding 1026 pointers to 64-byte
 * children (one every 256 KiB, and in the first and the last word); the
 * rest is zero. For CGC_MARKERS = 1, 2, 3, 4 (the test runs itself once per
 * count) gc_sys is read before the object is allocated and after two
 * collections. Its growth may be at most
 *     256 KiB   the object's page map (8 bytes per 8 KiB page)
 *   +   4 KiB   its released bits and arena header, rounded up
 *   + 4 x 64 KiB  each marker's first mark stack (4096 entries of 16 B)
 *   + 512 KiB   packets and the like (128 of 4 KiB; a mark of this heap
 *               needs a few per marker)
 *   = 1028 KiB; before the bound it grew by 16.3 MiB here. */
#include "check.h"
#include "internal.h"


#define BIG ((size_t)256 << 20)
#define STEP ((size_t)256 << 10)
#define NCHILD (BIG / STEP + 2)
#define BOUND ((size_t)(256 + 4 + 4 * 64 + 512) << 10)

static uintptr_t children[NCHILD];   /* hidden: only the big object refers to them */
static uintptr_t big_hidden;

static uintptr_t build(uintptr_t unused)
{
    (void)unused;
    uintptr_t *big = cgc_malloc(BIG);
    if (!big)
        return 0;
    size_t words = BIG / sizeof(uintptr_t), k = 0;
    for (size_t off = 0; off < words && k < NCHILD; off += STEP / sizeof(uintptr_t)) {
        uint64_t *c = cgc_malloc(64);
        c[0] = 0xC0FFEE00u + k;
        big[off] = (uintptr_t)c;
        children[k++] = hide(c);
    }
    uint64_t *c = cgc_malloc(64);
    c[0] = 0xC0FFEE00u + k;
    big[words - 1] = (uintptr_t)c;
    children[k++] = hide(c);
    c = cgc_malloc(64);
    c[0] = 0xC0FFEE00u + k;
    big[1] = (uintptr_t)c;
    children[k++] = hide(c);
    big_hidden = hide(big);
    return k;
}

/* A mark stack that grew is returned after the cycle. One 32 KiB object
 * refers to 32 others of 32 KiB, each holding 4096 pointers to distinct
 * 16-byte objects: a batch of 16 of those pushes 65536 entries, so a single
 * marker's stack passes 2^17 entries (2 MiB) during the mark; above 1 MiB
 * (STACK_KEEP in mark.c) it is unmapped after the cycle. gc_sys is read
 * after the objects exist (their spans' mark bytes are counted when the
 * spans are made) and after a collection: it may grow by 512 KiB at most
 * (a first stack of 64 KiB and a few packets); keeping the grown stack was
 * +2 MiB or more. */
enum { FAN = 4096, MIDS = 32 };
static uintptr_t fan_hidden;

static uintptr_t build_fan(uintptr_t unused)
{
    (void)unused;
    void **root = cgc_malloc(MIDS * sizeof(void *));
    for (int i = 0; i < MIDS; i++) {
        void **mid = cgc_malloc(FAN * sizeof(void *));
        for (int j = 0; j < FAN; j++)
            mid[j] = cgc_malloc(16);
        root[i] = mid;
    }
    fan_hidden = hide(root);
    return 0;
}

static void stack_returned(void)
{
    deep_call(build_fan, 0);
    void **root = unhide(fan_hidden);
    clear_stack();
    cgc_memstats ms;
    cgc_read_memstats(&ms);
    uint64_t before = ms.gc_sys;
    cgc_collect();
    cgc_read_memstats(&ms);
    /* A concurrent cycle of the collector thread may have shrunk a stack
     * since `before`: a fall is no growth. */
    uint64_t grew = ms.gc_sys > before ? ms.gc_sys - before : 0;
    CHECK(grew <= 512 << 10, "a collection that grew the mark stack left gc_sys %llu KiB higher",
          (unsigned long long)(grew >> 10));
    void **mid = root[MIDS - 1];
    CHECK(cgc_base(mid[FAN - 1]) == mid[FAN - 1], "a leaf of the fan was lost");
    printf("markers 1, fan: gc_sys +%llu KiB\n", (unsigned long long)(grew >> 10));
    __asm__ volatile("" ::"r"(root) : "memory");
}

static int run(void)
{
    if (cgc__mark_nmarkers() == 1)
        stack_returned();
    cgc_collect();
    cgc_memstats ms;
    cgc_read_memstats(&ms);
    uint64_t before = ms.gc_sys;
    size_t n = (size_t)deep_call(build, 0);
    CHECK(n == NCHILD, "built %zu children", n);
    uintptr_t *big = unhide(big_hidden);   /* the root that keeps everything */
    clear_stack();
    cgc_collect();
    cgc_collect();
    cgc_read_memstats(&ms);
    /* A concurrent cycle of the collector thread may have shrunk a stack
     * since `before`: a fall is no growth. */
    uint64_t grew = ms.gc_sys > before ? ms.gc_sys - before : 0;
    CHECK(grew <= BOUND, "with %d markers gc_sys grew by %llu KiB marking a %zu MiB object (bound %zu KiB)",
          cgc__mark_nmarkers(), (unsigned long long)(grew >> 10), BIG >> 20, BOUND >> 10);
    size_t lost = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t *c = unhide(children[k]);
        if (cgc_base(c) != c || c[0] != 0xC0FFEE00u + k)
            lost++;
    }
    CHECK(lost == 0, "%zu of %zu children of the large object lost", lost, n);
    printf("markers %d: gc_sys +%llu KiB\n", cgc__mark_nmarkers(), (unsigned long long)(grew >> 10));
    __asm__ volatile("" ::"r"(big) : "memory");
    return check_done();
}

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("CGC_MARKERS"))
        return run();
    for (int m = 1; m <= 4; m++) {
        pid_t pid = fork();
        if (pid == 0) {
            char v[8];
            snprintf(v, sizeof v, "%d", m);
            setenv("CGC_MARKERS", v, 1);
            execv("/proc/self/exe", argv);
            _exit(127);
        }
        char what[32];
        snprintf(what, sizeof what, "CGC_MARKERS=%d", m);
        CHECK(check_child_ok(pid, what), "%s", what);
    }
    return check_done();
}
