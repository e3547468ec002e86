/* churn_record.h — the churn benchmark's records and random sequence, shared
 * by churn.c (every implementation) and markbench.c (cgc's mark alone on
 * the same heap). The includer defines bench_alloc and bench_alloc_atomic
 * (result.h does, per implementation). */
#ifndef CGC_BENCH_CHURN_RECORD_H
#define CGC_BENCH_CHURN_RECORD_H

#include <stdint.h>

typedef struct record {
    unsigned char *child;   /* pointer-free buffer or NULL */
    uint32_t size;          /* bytes of this record */
    uint32_t child_size;
    uint64_t tag;           /* the step that made it */
} record;

static uint64_t rng_state = 88172645463325252ull;

/* xorshift64 (Marsaglia 2003): a full-period 2^64-1 generator; fixed seed. */
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Make the record of step `step`, with contents derived from it. */
static record *make_record(uint64_t step)
{
    uint32_t size = 16 + (uint32_t)(rng() % 128);
    if (size < sizeof(record))
        size = sizeof(record);
    record *r = bench_alloc(size);
    r->size = size;
    r->tag = step;
    r->child = NULL;
    r->child_size = 0;
    if (rng() % 16 == 0) {
        uint32_t cs = 16 + (uint32_t)(rng() % 1500);
        r->child = bench_alloc_atomic(cs);
        r->child_size = cs;
        /* Fill the first and last bytes so the checksum sees them. */
        r->child[0] = (unsigned char)step;
        r->child[cs - 1] = (unsigned char)(step >> 8);
    }
    return r;
}

#endif
