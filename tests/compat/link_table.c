/* link_table.c — many disappearing links at once, as Guile's weak tables
 * and guardians make them (~50,000): every one answers as libgc's would
 * however the table grows, shrinks and is rearranged by removals, and
 * their records cost no malloc memory (compat/finalize.c keeps them in
 * pages of their own, counted in cgc's memstats and returned to the OS
 * when the links go). On cgc's library only (it reads cgc's memstats). */
#include <gc.h>

#include <malloc.h>

#include "../check.h"
#include "cgc.h"

#define N 100000

/* The links: hidden pointers in memory the collector does not scan, so
 * only keep[] decides which objects live. */
static GC_hidden_pointer *links;
static void **keep;   /* in the collected heap, reached from a root */

static size_t malloc_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static uint64_t other_sys(void)
{
    cgc_memstats m;
    cgc_read_memstats(&m);
    return m.other_sys;
}

static void cycle(void)
{
    clear_stack();
    GC_gcollect();
}

/* Objects for links[i], kept for even i only; the pointers of the odd
 * ones die with this frame (deep_call). */
static uintptr_t make(uintptr_t unused)
{
    (void)unused;
    int bad = 0;
    for (size_t i = 0; i < N; i++) {
        void *o = GC_MALLOC(16);
        links[i] = GC_HIDE_POINTER(o);
        if (i % 2 == 0)
            keep[i / 2] = o;
        int (*reg)(void **, const void *) =
            i % 3 == 0 ? GC_register_long_link : GC_general_register_disappearing_link;
        bad += reg((void **)&links[i], o) != GC_SUCCESS;
    }
    return (uintptr_t)bad;
}

int main(void)
{
    GC_INIT();
    links = malloc(N * sizeof *links);
    keep = GC_MALLOC(N / 2 * sizeof *keep);
    CHECK(links && keep, "allocated");
    if (!links || !keep)
        return check_done();

    size_t m0 = malloc_bytes();
    uint64_t o0 = other_sys();
    CHECK(deep_call(make, 0) == 0, "%d links registered with GC_SUCCESS", N);
    size_t m1 = malloc_bytes();
    uint64_t o1 = other_sys();
    /* One malloc'd record each would be 32 bytes a link (3.2 MB). */
    CHECK(m1 < m0 + (256 << 10), "registering %d links took %zu bytes of malloc (< 256 KiB)", N, m1 - m0);
    /* Collections while they were made removed some of the dead ones. */
    CHECK(o1 >= o0 + N / 2 * 16, "their table is counted in other_sys (%llu -> %llu bytes)",
          (unsigned long long)o0, (unsigned long long)o1);

    /* Every live link answers GC_DUPLICATE, and still names its object
     * afterwards. */
    int dup = 0;
    for (size_t i = 0; i < N; i += 98) {
        void *o = GC_REVEAL_POINTER(links[i]);
        int (*reg)(void **, const void *) =
            i % 3 == 0 ? GC_register_long_link : GC_general_register_disappearing_link;
        dup += reg((void **)&links[i], o) == GC_DUPLICATE;
    }
    CHECK(dup == (N + 97) / 98, "registered again: GC_DUPLICATE (%d of %d)", dup, (N + 97) / 98);

    /* The odd objects die: their links are cleared (short and long alike:
     * nothing finalizes them), the even ones' kept. Conservative scanning
     * may keep a few odd ones; a kept object's link is never cleared. */
    cycle();
    cycle();
    int kept_cleared = 0, dropped_cleared = 0;
    for (size_t i = 0; i < N; i++) {
        if (i % 2 == 0)
            kept_cleared += links[i] != GC_HIDE_POINTER(keep[i / 2]);
        else
            dropped_cleared += links[i] == 0;
    }
    CHECK(kept_cleared == 0, "links to live objects unchanged (%d changed)", kept_cleared);
    CHECK(dropped_cleared >= N / 2 * 9 / 10, "links to dead objects cleared: %d of %d", dropped_cleared, N / 2);

    /* A cleared link is no longer registered; a live one is, and it is
     * found after the removals rearranged the table. Some live short links
     * (i % 3 == 1: both i and i + 1 short) move onto a cleared neighbour
     * first. */
    int moved = 0, wrong = 0;
    for (size_t i = 0; i + 1 < N; i += 2) {
        if (i % 3 != 1 || links[i + 1] != 0)
            continue;
        if (GC_move_disappearing_link((void **)&links[i], (void **)&links[i + 1]) == GC_SUCCESS) {
            links[i + 1] = links[i];
            links[i] = 0;
            moved++;
        } else {
            wrong++;
        }
    }
    CHECK(wrong == 0 && moved > N / 12, "moved %d live links onto cleared ones (%d refused)", moved, wrong);
    int still = 0, gone = 0;
    for (size_t i = 0; i < N; i++) {
        int (*unreg)(void **) = i % 3 == 0 ? GC_unregister_long_link : GC_unregister_disappearing_link;
        int r = unreg((void **)&links[i]);
        if (links[i] != 0)
            still += r == 1;
        else
            gone += r == 0;
    }
    size_t live = 0;
    for (size_t i = 0; i < N; i++)
        live += links[i] != 0;
    CHECK((size_t)still == live, "every live link was registered: %d of %zu", still, live);
    CHECK((size_t)gone == N - live, "no cleared or moved-away link was: %d of %zu", gone, N - live);

    /* All unregistered: the table's pages went back. */
    uint64_t o2 = other_sys();
    CHECK(o2 < o0 + (64 << 10), "after unregistering every link other_sys is back (%llu -> %llu -> %llu)",
          (unsigned long long)o0, (unsigned long long)o1, (unsigned long long)o2);
    free(links);
    return check_done();
}
