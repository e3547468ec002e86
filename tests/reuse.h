/* reuse.h — how the root tests catch a live object that was freed: the
 * object is tagged (word k holds seed ^ k); between collections they
 * allocate many objects of its size filled with another pattern, so a freed
 * object's memory is handed out again and its tags change (Debug builds
 * also poison freed objects); then they check the tags. And how they see
 * that an object let go of was reclaimed. */
#ifndef CGC_TEST_REUSE_H
#define CGC_TEST_REUSE_H

#include <stdint.h>

#include "cgc.h"
#include "check.h"

/* Tags the object p of `words` 64-bit words: word k holds seed ^ k. */
static void __attribute__((unused)) tag_words(uint64_t *p, int words, uint64_t seed)
{
    for (int k = 0; k < words; k++)
        p[k] = seed ^ (uint64_t)k;
}

/* 1 if p is the start of an allocated object whose words still hold the
 * tags tag_words(p, words, seed) gave them. */
static int __attribute__((unused)) tags_intact(const uint64_t *p, int words, uint64_t seed)
{
    if (!p || cgc_base(p) != p)
        return 0;
    for (int k = 0; k < words; k++)
        if (p[k] != (seed ^ (uint64_t)k))
            return 0;
    return 1;
}

/* Allocates 20000 objects of `words` 64-bit words, each filled with 0xab
 * bytes, and keeps none. Returns 0; its shape is deep_call's (check.h), so
 * that no pointer to them stays in the caller's frame. */
static uintptr_t __attribute__((unused)) reuse_freed(uintptr_t words)
{
    for (int i = 0; i < 20000; i++) {
        uint64_t *q = cgc_malloc(words * sizeof(uint64_t));
        for (uintptr_t k = 0; k < words; k++)
            q[k] = 0xababababababababull;
    }
    return 0;
}

/* 1 if the object at hidden address h (check.h's hide) is no longer
 * allocated; deep_call's shape. */
static uintptr_t __attribute__((unused)) reclaimed(uintptr_t h)
{
    return cgc_base(unhide(h)) == NULL;
}

#endif
