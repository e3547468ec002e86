/* test_limiter_scope — the GC CPU limiter holds back only the collections
 * the memory limit asks for (collect.c, cgc__maybe_collect).
 *
 * The limiter's bucket is made permanently full (capacity 0: any fill is
 * "full"), as after a pause the scheduler stalled on a loaded machine. Then:
 *
 *  1. No memory limit, GC percent 100: the proportional goal is the only
 *     goal, and proportional pacing bounds its own cost, so collections go
 *     on and the heap stays near twice the live heap. (Before, nothing was
 *     collected while the bucket was full: a garbage loop grew from 1 MiB to
 *     1.4 GiB.) The limiter never counts an engagement here.
 *  2. A limit at half the live heap, GC percent 100: every collection below
 *     the proportional goal is the limit's, and is held back (counted in
 *     gc_limiter_cycles); at the proportional goal the heap is collected as
 *     if there were no limit, so it still stays bounded.
 *
 * Live data is a ring of 8 MiB of scanned blocks, verified at the end. */
#include "cgc.h"
#include "check.h"
#include "internal.h"

#define BLOCK 4096
#define NLIVE 2048                     /* L = 8 MiB */
#define GARBAGE ((uint64_t)NLIVE * 64) /* 64 L allocated per phase */

static uint64_t *live[NLIVE];          /* roots: in bss */

static void fill_limiter(void)
{
    cgc__pacer_lock();
    cgc__gc.limiter.capacity_ns = 0;
    cgc__pacer_unlock();
}

/* Allocates 64 L of garbage blocks; returns collections run meanwhile. */
static unsigned churn(void)
{
    cgc_memstats m0, m1;
    cgc_read_memstats(&m0);
    for (uint64_t i = 0; i < GARBAGE; i++) {
        uint64_t *g = cgc_malloc(BLOCK);
        g[0] = i;
        g[BLOCK / 8 - 1] = i;
    }
    cgc_read_memstats(&m1);
    return m1.num_gc - m0.num_gc;
}

static int intact(void)
{
    int bad = 0;
    for (int i = 0; i < NLIVE; i++)
        bad += live[i][0] != (uint64_t)i * 3 + 1 || live[i][BLOCK / 8 - 1] != (uint64_t)i * 7;
    return bad;
}

int main(void)
{
    const double L = (double)NLIVE * BLOCK, mib = 1 << 20;
    cgc_set_memory_limit(INT64_MAX);
    cgc_set_gc_percent(100);
    for (int i = 0; i < NLIVE; i++) {
        live[i] = cgc_malloc(BLOCK);
        live[i][0] = (uint64_t)i * 3 + 1;
        live[i][BLOCK / 8 - 1] = (uint64_t)i * 7;
    }
    cgc_collect();
    fill_limiter();

    /* 1. no limit */
    cgc_memstats m;
    cgc_read_memstats(&m);
    uint64_t held0 = m.gc_limiter_cycles;
    unsigned n1 = churn();
    cgc_read_memstats(&m);
    printf("no limit: %u collections, heap_sys %.1f MiB (%.2f x live), limiter engagements %llu\n", n1,
           (double)m.heap_sys / mib, (double)m.heap_sys / L,
           (unsigned long long)(m.gc_limiter_cycles - held0));
    CHECK(n1 >= 16, "only %u collections in 64x the live heap of allocation with no limit", n1);
    CHECK((double)m.heap_sys <= 3.0 * L, "heap_sys %.2f x the live heap with no limit (the limiter held pacing back)",
          (double)m.heap_sys / L);
    CHECK(m.gc_limiter_cycles == held0, "the limiter counted %llu engagements with no limit to hold back",
          (unsigned long long)(m.gc_limiter_cycles - held0));

    /* 2. a limit at half the live heap */
    cgc_set_memory_limit((int64_t)(L / 2));
    cgc_read_memstats(&m);
    held0 = m.gc_limiter_cycles;
    unsigned n2 = churn();
    cgc_read_memstats(&m);
    printf("limit L/2: %u collections, heap_sys %.1f MiB (%.2f x live), limiter engagements %llu\n", n2,
           (double)m.heap_sys / mib, (double)m.heap_sys / L,
           (unsigned long long)(m.gc_limiter_cycles - held0));
    CHECK(m.gc_limiter_cycles > held0, "the limiter never held back a collection the limit asked for");
    CHECK(n2 >= 16, "only %u collections: the proportional goal no longer applies under the limiter", n2);
    CHECK((double)m.heap_sys <= 3.0 * L, "heap_sys %.2f x the live heap under a full limiter",
          (double)m.heap_sys / L);

    CHECK(intact() == 0, "%d live blocks corrupted", intact());
    return check_done();
}
