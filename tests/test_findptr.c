/* test_findptr — the mark's word filter (findptr.c) finds exactly the words
 * a word-by-word range test finds: for every variant the CPU can run
 * (scalar, and AVX2 where present), on ranges of every length 0..67 and at
 * every word offset, with values just inside and just outside both ends of
 * the range, values whose difference from the base wraps (below it), and
 * values with the top bit set (where a signed compare would go wrong). The
 * mark misses a live object if a heap pointer is skipped. */
#include "check.h"
#include "internal.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    return check_rng(&rng_state);
}

/* A value that is, or is not, inside [hlo, hlo + hlen), near the edges or
 * anywhere. */
static uintptr_t pick(uintptr_t hlo, uintptr_t hlen, int inside)
{
    if (inside) {
        switch (rng() % 3) {
        case 0: return hlo;
        case 1: return hlo + hlen - 1;
        default: return hlo + rng() % hlen;
        }
    }
    switch (rng() % 6) {
    case 0: return 0;
    case 1: return hlo - 1;
    case 2: return hlo + hlen;
    case 3: return (uintptr_t)1 << 63 | rng();   /* top bit set */
    case 4: return rng() % hlo;                   /* below: v - hlo wraps */
    default: return hlo + hlen + rng() % ((uintptr_t)1 << 40);
    }
}

static const uintptr_t *reference(const uintptr_t *p, const uintptr_t *end, uintptr_t hlo,
                                  uintptr_t hlen)
{
    for (; p < end; p++)
        if (*p - hlo < hlen)
            return p;
    return end;
}

int main(void)
{
    cgc__findptr_init();
    CHECK(cgc__find_pointer == cgc__find_variants[0] || cgc__find_pointer == cgc__find_variants[1],
          "the chosen filter is one of the variants");
    const uintptr_t hlo = (uintptr_t)0x7f1234000000ull, hlen = (uintptr_t)3 << 26;
    uintptr_t buf[72];
    for (int v = 0; v < 2; v++) {
        cgc__find_fn find = cgc__find_variants[v];
        if (!find) {
            printf("variant %d (AVX2): not built on this target, skipped\n", v);
            continue;
        }
#if defined(__x86_64__)
        if (v == 1 && !__builtin_cpu_supports("avx2")) {
            printf("variant 1 (AVX2): this CPU has no AVX2, skipped\n");
            continue;
        }
#endif
        long wrong = 0, cases = 0;
        for (int round = 0; round < 4000; round++) {
            int len = (int)(rng() % 68);
            int off = (int)(rng() % 4);   /* start not 32-byte aligned */
            int density = (int)(rng() % 4);   /* 0: none inside .. 3: many */
            uintptr_t *a = buf + off;
            for (int i = 0; i < len; i++)
                a[i] = pick(hlo, hlen, density && rng() % (density == 3 ? 2 : 16) == 0);
            /* Walk the range as the mark does: find, step past, find. */
            const uintptr_t *p = a, *end = a + len;
            for (;;) {
                const uintptr_t *want = reference(p, end, hlo, hlen);
                const uintptr_t *got = find(p, end, hlo, hlen);
                cases++;
                if (got != want) {
                    wrong++;
                    break;
                }
                if (got == end)
                    break;
                p = got + 1;
            }
        }
        CHECK(wrong == 0, "variant %d: %ld of %ld searches disagree with the word-by-word test", v,
              wrong, cases);
    }
    return check_done();
}
