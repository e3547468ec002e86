/* findptr.c — finding the words of a range that may be heap pointers.
 *
 * Most words the mark scans are not heap pointers (zeros, small integers,
 * text, the class-rounding tail of an object), so the mark asks this file
 * for the next word v of [p, end) with v - hlo < hlen (inside the heap's
 * address range) and handles only those. With AVX2 four words are tested
 * per instruction: the unsigned range test becomes a signed compare after
 * flipping the sign bit of both sides (x < y unsigned <=> (x ^ 2^63) <
 * (y ^ 2^63) signed), the only 64-bit compare AVX2 has. Without it, four
 * words per branch by a tree of unsigned minimums (one compare tests them
 * all: the minimum is inside the range iff some word is).
 *
 * Measured by callgrind on the churn heap (records of 24-143 bytes, mostly
 * zeros): the scalar loop was a third of the mark's instructions.
 */
#include "internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

static CGC_NO_ASAN const uintptr_t *find_scalar(const uintptr_t *p, const uintptr_t *end,
                                                 uintptr_t hlo, uintptr_t hlen)
{
    for (; p + 4 <= end; p += 4) {
        uintptr_t a = p[0] - hlo, b = p[1] - hlo, c = p[2] - hlo, d = p[3] - hlo;
        uintptr_t ab = a < b ? a : b, cd = c < d ? c : d;
        if (LIKELY((ab < cd ? ab : cd) >= hlen))
            continue;
        return a < hlen ? p : b < hlen ? p + 1 : c < hlen ? p + 2 : p + 3;
    }
    for (; p < end; p++)
        if (*p - hlo < hlen)
            return p;
    return end;
}

#ifdef HAVE_AVX2_PATH
__attribute__((target("avx2"))) static CGC_NO_ASAN const uintptr_t *
find_avx2(const uintptr_t *p, const uintptr_t *end, uintptr_t hlo, uintptr_t hlen)
{
    const __m256i lo = _mm256_set1_epi64x((long long)hlo);
    const __m256i sign = _mm256_set1_epi64x((long long)((uint64_t)1 << 63));
    const __m256i lim = _mm256_set1_epi64x((long long)(hlen ^ ((uint64_t)1 << 63)));
    for (; p + 4 <= end; p += 4) {
        __m256i d = _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)p), lo);
        __m256i in = _mm256_cmpgt_epi64(lim, _mm256_xor_si256(d, sign));
        int m = _mm256_movemask_pd(_mm256_castsi256_pd(in));
        if (m)
            return p + __builtin_ctz((unsigned)m);
    }
    for (; p < end; p++)
        if (*p - hlo < hlen)
            return p;
    return end;
}
#endif

cgc__find_fn cgc__find_pointer = find_scalar;

#ifdef HAVE_AVX2_PATH
const cgc__find_fn cgc__find_variants[2] = {find_scalar, find_avx2};
#else
const cgc__find_fn cgc__find_variants[2] = {find_scalar, NULL};
#endif

void cgc__findptr_init(void)
{
#ifdef HAVE_AVX2_PATH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        cgc__find_pointer = find_avx2;
#endif
}
