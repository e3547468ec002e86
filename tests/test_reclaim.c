/* test_reclaim — memory the last cycle found dead is reused before the heap
 * grows, even when the background sweeper gets no CPU (sweep.c,
 * cgc__sweep_reclaim; Go's mheap.reclaim).
 *
 * With the sweeper held, a churn of 64 KiB objects (large spans, which no
 * size class's lazy sweep ever visits) over a live set of L = 16 MiB runs
 * ~100 automatic cycles at GC percent 100. If allocation took new pages
 * while the dead objects sat unswept, every cycle would run its whole
 * allocation (goal - live = L) in fresh memory on top of the goal's worth
 * of live-and-unswept: the heap would reach about 3L. Reclaiming first
 * keeps it at the goal, 2L, plus what one cycle can overshoot: the test
 * allows 2.5L. Every live object is verified at the end. */
#include "cgc.h"
#include "check.h"
#include "internal.h"

#define OBJ (64 * 1024)
#define NLIVE 256                      /* L = 16 MiB */
#define ROUNDS (NLIVE * 100)           /* 1.6 GiB allocated, ~100 cycles */

static uint64_t *slots[NLIVE];          /* roots: in bss */

static void fill(uint64_t *p, uint64_t tag)
{
    for (size_t i = 0; i < OBJ / 8; i += 512)
        p[i] = tag * 0x9E3779B97F4A7C15ull + i;
}

static int intact(const uint64_t *p, uint64_t tag)
{
    for (size_t i = 0; i < OBJ / 8; i += 512)
        if (p[i] != tag * 0x9E3779B97F4A7C15ull + i)
            return 0;
    return 1;
}

int main(void)
{
    cgc_set_memory_limit(INT64_MAX);   /* no container limit: pacing alone */
    cgc_set_gc_percent(100);
    uint64_t tags[NLIVE];
    for (int i = 0; i < NLIVE; i++) {
        slots[i] = cgc_malloc_atomic(OBJ);
        fill(slots[i], tags[i] = (uint64_t)i);
    }
    cgc_collect();
    atomic_store(&cgc__sweeper_held, 1);
    cgc_memstats m0;
    cgc_read_memstats(&m0);
    uint64_t rng = 12345;
    for (uint64_t r = 0; r < ROUNDS; r++) {
        int i = (int)(check_rng(&rng) % NLIVE);
        slots[i] = cgc_malloc_atomic(OBJ);
        if (!slots[i]) {
            CHECK(0, "allocation %llu failed", (unsigned long long)r);
            return check_done();
        }
        fill(slots[i], tags[i] = NLIVE + r);
    }
    cgc_memstats m;
    cgc_read_memstats(&m);
    atomic_store(&cgc__sweeper_held, 0);
    int bad = 0;
    for (int i = 0; i < NLIVE; i++)
        bad += !intact(slots[i], tags[i]);
    double L = (double)NLIVE * OBJ, mib = 1 << 20;
    printf("reclaim: live %.0f MiB, %u collections with the sweeper held, heap_sys %.1f MiB (%.2f x live), "
           "next_gc %.1f MiB\n",
           L / mib, m.num_gc - m0.num_gc, (double)m.heap_sys / mib, (double)m.heap_sys / L,
           (double)m.next_gc / mib);
    CHECK(bad == 0, "%d live objects corrupted", bad);
    CHECK(m.num_gc - m0.num_gc >= 50, "only %u automatic collections", m.num_gc - m0.num_gc);
    CHECK((double)m.heap_sys <= 2.5 * L, "heap grew to %.2f x the live heap with dead memory unswept",
          (double)m.heap_sys / L);
    return check_done();
}
