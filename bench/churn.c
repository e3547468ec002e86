/* churn.c — the pause benchmark: a large live heap of small objects under
 * steady random replacement, the case where a stop-the-world collector's
 * pauses grow with the live heap.
 *
 * A table of `slots` pointers each holds one record: a pointer-bearing
 * object of 16..143 bytes whose first word points to an optional child, a
 * pointer-free buffer of 16..1515 bytes (one record in 16 has one). Each
 * step replaces a random slot's record with a new one, so the live heap
 * stays at slots * (E[record] + E[child]/16) = slots * (79.5 + 765.5/16)
 * ~= slots * 127 bytes: 2^19 slots ~= 64 MiB (more once rounded to size
 * classes), while allocation never stops.
 *
 * Sizes and slots come from a fixed-seed xorshift64 generator, so every
 * variant allocates exactly the same sequence and ends with the same
 * table; the checksum over the final table's contents must agree between
 * variants (a collector that freed a live object would corrupt it).
 *
 * Usage: churn [slots_log2 [allocations]]   (default 19 and 20000000) */
#include "result.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "churn_record.h"

/* Drop a record: freed by hand under malloc, garbage otherwise. */
static void drop(record *r)
{
    if (r && BENCH_MANUAL) {
        bench_free(r->child);
        bench_free(r);
    }
}

int main(int argc, char **argv)
{
    int slots_log2 = argc > 1 ? atoi(argv[1]) : 19;
    long allocations = argc > 2 ? atol(argv[2]) : 20000000L;
    if (slots_log2 < 4 || slots_log2 > 28)
        slots_log2 = 19;
    size_t nslots = (size_t)1 << slots_log2;
    bench_start();

    record **table = bench_alloc(nslots * sizeof *table);
    memset(table, 0, nslots * sizeof *table);
    /* Fill the table first so the live heap is at its size for the whole run. */
    for (size_t i = 0; i < nslots; i++)
        table[i] = make_record(i);
    /* The gap and pause record covers the replacement loop, at the live
     * heap's full size; the fill's growth is reported apart (result.h). */
    bench_steady();
    /* The worst gap between two consecutive steps, measured by the loop
     * itself (what a program sees of a pause, whoever causes it), and the
     * count of gaps above 1 ms and 10 ms: on stderr, after the run, so
     * stdout stays the same for every implementation. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t prev = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, worst = 0;
    long over1 = 0, over10 = 0;
    for (long step = 0; step < allocations; step++) {
        size_t k = rng() & (nslots - 1);
        record *old = table[k];
        table[k] = make_record(nslots + (uint64_t)step);
        drop(old);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, gap = now - prev;
        prev = now;
        if (gap > worst)
            worst = gap;
        over1 += gap > 1000000;
        over10 += gap > 10000000;
    }
    fprintf(stderr, "GAP worst_ms=%.3f over_1ms=%ld over_10ms=%ld\n", (double)worst / 1e6, over1, over10);

    /* Checksum of the final table: every field and child byte we wrote. */
    uint64_t sum = 0, live = 0;
    for (size_t i = 0; i < nslots; i++) {
        const record *r = table[i];
        sum = sum * 31 + r->tag + r->size + r->child_size;
        live += r->size;
        if (r->child) {
            /* the middle byte was never written: zero in every variant
             * (bench__alloc zeroes pointer-free objects, as Go's make) */
            sum += r->child[0] * 7u + r->child[r->child_size - 1] + r->child[r->child_size / 2] * 13u;
            live += r->child_size;
        }
    }
    printf("churn slots=%zu allocations=%ld live_bytes=%llu checksum=%016llx\n", nslots,
           allocations, (unsigned long long)live, (unsigned long long)sum);
    for (size_t i = 0; i < nslots; i++)
        drop(table[i]);
    bench_free(table);

    bench_finish("churn");
    return 0;
}
