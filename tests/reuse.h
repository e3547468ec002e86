/* reuse.h — how the root tests catch a live object that was freed: they
 * allocate many objects of its size and fill them with another pattern, so
 * its memory is handed out again and its contents change (Debug builds also
 * poison freed objects). */
#ifndef CGC_TEST_REUSE_H
#define CGC_TEST_REUSE_H

#include <stdint.h>

#include "cgc.h"

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

#endif
