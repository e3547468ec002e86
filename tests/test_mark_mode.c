/* test_mark_mode — which cycles mark concurrently (collect.c, mark_short;
 * docs/concurrent.md "Small heaps mark stopped").
 *
 *   test_mark_mode          the default: a small heap's cycles mark with the
 *                           world stopped; a heap whose stopped mark takes
 *                           several ms marks concurrently; back to small,
 *                           stopped again
 *   test_mark_mode every    CGC_DEBUG=gcconcurrent=1: the small heap's
 *                           cycles mark concurrently too
 *
 * In both, the large heap, once dropped, is freed: the concurrent mark
 * once kept a large pointer array it had copied alive for good, through
 * its address left in one of the collector's globals (mark.c, shadows).
 *
 * Where the kernel offers no dirty-page tracker, no cycle may mark
 * concurrently, and the test checks that instead. The big phase's graph is
 * verified at the end: the cycles of both kinds lose nothing. */
#include "check.h"
#include "dirty.h"
#include "internal.h"

#include <cgc.h>

#define SMALL_CYCLES 30
#define BIG_LIVE_NODES (1u << 20) /* 64-byte nodes: 64 MiB live, and its 8 MiB table */

typedef struct node {
    struct node *next;
    uint64_t tag;
    uint64_t pad[6];
} node;

static node **table; /* in bss: a root */

static uint32_t gcs(void)
{
    return atomic_load(&cgc__gc.num_gc);
}

static uint64_t concurrent(void)
{
    return atomic_load(&cgc__gc.concurrent_cycles);
}

/* Garbage until n more cycles have run (automatic ones: the pacer's). */
static void churn_cycles(uint32_t n)
{
    uint32_t end = gcs() + n;
    uint64_t rng = 99;
    while (gcs() < end) {
        node *g = cgc_malloc(sizeof *g);
        g->tag = check_rng(&rng);
    }
}

/* A large heap: 64 MiB of nodes, each in the table. Its stopped mark
 * takes tens of ms (a few per MiB in a Release build): every cycle marks
 * concurrently where a tracker works. Then dropped. */
static uintptr_t large_heap(uintptr_t tracker)
{
    table = cgc_malloc(BIG_LIVE_NODES * sizeof *table);
    CHECK(table != NULL, "table");
    for (uint32_t i = 0; i < BIG_LIVE_NODES; i++) {
        table[i] = cgc_malloc(sizeof(node));
        table[i]->tag = i * 0x9E3779B97F4A7C15ull;
    }
    churn_cycles(2);
    uint64_t c0 = concurrent();
    uint32_t g0 = gcs();
    int64_t t0 = cgc__now_ns();
    churn_cycles(6);
    uint64_t big_conc = concurrent() - c0;
    uint32_t big_gcs = gcs() - g0;
    printf("large heap: %llu of %u cycles concurrent (%.0f ms)\n", (unsigned long long)big_conc, big_gcs,
           (double)(cgc__now_ns() - t0) / 1e6);
    if (!tracker)
        CHECK(big_conc == 0, "no tracker, yet %llu concurrent cycles", (unsigned long long)big_conc);
    else   /* one may mark stopped: a concurrent stop stretched by a
            * loaded machine (1 run in 20 beside two busy loops) raises the
            * bound for the next */
        CHECK(big_conc + 1 >= big_gcs, "only %llu of %u large-heap cycles concurrent",
              (unsigned long long)big_conc, big_gcs);
    /* Every node intact through cycles of both kinds. */
    uint32_t bad = 0;
    for (uint32_t i = 0; i < BIG_LIVE_NODES; i++)
        bad += table[i]->tag != i * 0x9E3779B97F4A7C15ull;
    CHECK(bad == 0, "%u nodes of the large heap corrupted", bad);
    table = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    bool every = argc > 1 && !strcmp(argv[1], "every");
    cgc_set_memory_limit(INT64_MAX);
    cgc_malloc(1);
    bool tracker = cgc__concurrent_mode();
    printf("mark_mode: %s, tracker %s (%s)\n", every ? "every cycle concurrent" : "default",
           tracker ? "on" : "off", cgc__dirty_why());

    /* A small heap: a few KiB live. */
    node *small = NULL;
    for (int i = 0; i < 64; i++) {
        node *n = cgc_malloc(sizeof *n);
        n->next = small;
        n->tag = (uint64_t)i;
        small = n;
    }
    churn_cycles(2);   /* the first cycles measure the stopped mark's rate */
    uint64_t c0 = concurrent();
    uint32_t g0 = gcs();
    churn_cycles(SMALL_CYCLES);
    uint64_t small_conc = concurrent() - c0;
    uint32_t small_gcs = gcs() - g0;
    printf("small heap: %llu of %u cycles concurrent\n", (unsigned long long)small_conc, small_gcs);
    if (!tracker)
        CHECK(small_conc == 0, "no tracker, yet %llu concurrent cycles", (unsigned long long)small_conc);
    else if (every)
        CHECK(small_conc >= small_gcs - 1, "gcconcurrent=1: only %llu of %u cycles concurrent",
              (unsigned long long)small_conc, small_gcs);
    else
        CHECK(small_conc == 0, "the default marked %llu of %u small-heap cycles concurrently",
              (unsigned long long)small_conc, small_gcs);

    /* The large heap, built, marked and dropped in a call of its own:
     * nothing of it may stay in this frame (a conservative root). */
    deep_call(large_heap, tracker);
    clear_stack();

    /* Small again: once a cycle has marked the small heap, stopped again. */
    churn_cycles(3);
    c0 = concurrent();
    g0 = gcs();
    churn_cycles(SMALL_CYCLES);
    small_conc = concurrent() - c0;
    small_gcs = gcs() - g0;
    cgc_memstats ms;
    cgc_read_memstats(&ms);
    printf("small again: %llu of %u cycles concurrent (next_gc %.1f MiB)\n", (unsigned long long)small_conc,
           small_gcs, (double)ms.next_gc / (1 << 20));
    /* The large heap was freed: nothing of the collector's own (a copy of
     * the table, the table's address in one of its globals) kept it. */
    CHECK(ms.heap_alloc < ((uint64_t)8 << 20), "the dropped large heap was kept: %.1f MiB allocated",
          (double)ms.heap_alloc / (1 << 20));
    if (tracker && !every)
        CHECK(small_conc == 0, "the default marked %llu of %u small-heap cycles concurrently after the large heap",
              (unsigned long long)small_conc, small_gcs);
    int n = 0;
    for (node *p = small; p; p = p->next)
        CHECK(p->tag == (uint64_t)(63 - n++), "small list intact");
    CHECK(n == 64, "small list has %d nodes", n);
    return check_done();
}
