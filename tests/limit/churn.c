/* churn — a workload with a steady live heap under constant replacement,
 * for the soft-limit tests and benchmark.
 *
 *   churn LIVE_MIB ALLOC_MIB
 *
 * Keeps about LIVE_MIB of objects (16 B .. 64 KiB, mostly small; every
 * object links to a permanent one and carries a checksum) reachable from a table,
 * and replaces random ones until ALLOC_MIB have been allocated, verifying
 * each object it drops or visits. Exits 3 on a corrupted object. Prints
 * one line: RESULT wall_s=.. cpu_s=.. maxrss_kb=.. gcs=.. limiter=..
 * gc_cpu=.. mapped_mib=.. limit=.. */
#include "cgc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct obj {
    struct obj *link;
    uint32_t size, seed;
    uint64_t sum;
    unsigned char data[];
} obj;

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t sum_of(const obj *o)
{
    uint64_t h = o->seed;
    for (uint32_t i = 0; i < o->size; i += 61)
        h = h * 31 + o->data[i];
    return h;
}

static size_t pick_size(void)
{
    uint64_t r = next() % 1000;
    if (r < 800) return 16 + next() % 240;
    if (r < 990) return 256 + next() % 3840;
    return 4096 + next() % 61440;
}

static obj *make(void)
{
    size_t n = pick_size();
    obj *o = cgc_malloc(sizeof(obj) + n);
    if (!o) {
        fprintf(stderr, "churn: out of memory\n");
        exit(4);
    }
    o->size = (uint32_t)n;
    o->seed = (uint32_t)next();
    for (uint32_t i = 0; i < n; i += 61)
        o->data[i] = (unsigned char)(o->seed >> (i & 15));
    o->sum = sum_of(o);
    return o;
}

static obj **table;   /* reachable from data: the live set */
static obj **anchors; /* never replaced: what objects link to, so a dropped
                         object is never kept alive by a live one */

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: churn LIVE_MIB ALLOC_MIB\n");
        return 2;
    }
    uint64_t live = (uint64_t)atoll(argv[1]) << 20, total = (uint64_t)atoll(argv[2]) << 20;
    /* Average object ~ 0.8*136 + 0.19*2176 + 0.01*34816 + header ≈ 910 B. */
    size_t slots = (size_t)(live / 910);
    table = cgc_malloc(slots * sizeof(obj *));
    size_t nanchors = slots / 32 + 1;
    anchors = cgc_malloc(nanchors * sizeof(obj *));
    for (size_t i = 0; i < nanchors; i++)
        anchors[i] = make();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t allocated = 0;
    for (size_t i = 0; i < slots; i++) {
        table[i] = make();
        allocated += table[i]->size;
    }
    long bad = 0;
    while (allocated < total) {
        size_t k = next() % slots;
        obj *old = table[k];
        if (old->sum != sum_of(old))
            bad++;
        if (old->link && old->link->sum != sum_of(old->link))
            bad++;
        obj *o = make();
        o->link = anchors[next() % nanchors];
        table[k] = o;
        allocated += o->size + sizeof(obj);
    }
    for (size_t i = 0; i < slots; i++)
        if (table[i]->sum != sum_of(table[i]))
            bad++;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cgc_memstats m;
    cgc_read_memstats(&m);
    long rss_kb = 0;
    FILE *st = fopen("/proc/self/status", "r");
    char line[256];
    while (st && fgets(line, sizeof line, st))
        if (strncmp(line, "VmRSS:", 6) == 0)
            rss_kb = atol(line + 6);
    if (st)
        fclose(st);
    printf("RESULT rss_kb=%ld ", rss_kb);
    printf(" wall_s=%.2f cpu_s=%.2f maxrss_kb=%ld gcs=%u limiter=%llu gc_cpu=%.3f mapped_mib=%llu limit=%lld corrupt=%ld\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
           ru.ru_maxrss, m.num_gc, (unsigned long long)m.gc_limiter_cycles, m.gc_cpu_fraction,
           (unsigned long long)((m.sys - m.heap_released) >> 20), (long long)m.mem_limit, bad);
    return bad ? 3 : 0;
}
