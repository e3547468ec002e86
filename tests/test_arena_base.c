/* test_arena_base — a word holding the address where an arena begins keeps
 * no object alive (pageheap.c: the arena's guard page).
 *
 * The kernel places cgc's arenas next to other mappings (os.c), so an
 * arena's base is often the end of another mapping: the top of a thread's
 * stack, the end of a buffer or of a library's data. Programs and libraries
 * keep such one-past-the-end pointers (glibc's pthread_attr_t holds a
 * stack's top: test_stack_top), and a conservative scan cannot tell one
 * from a pointer to an object at that address. So no object may live at an
 * arena's base.
 *
 * The first object this process allocates comes from the first span of
 * the first arena. A global (a root) holds the arena's base address; the
 * object is dropped, and must be reclaimed by the next collection (before
 * the guard page, it was allocated at the base and stayed for good). And
 * no allocated object starts at the base of the arena of any of many
 * objects of many sizes, small and large. */
#include "cgc.h"
#include "check.h"
#include "internal.h"
#include "reuse.h"

static void *volatile arena_base_word;   /* a root: the end of "the mapping below" */

static uintptr_t first_object(uintptr_t unused)
{
    uint64_t *p = cgc_malloc(64);
    tag_words(p, 8, 0xa7e4a000000000ull);
    arena_base_word = (void *)((uintptr_t)p & ~(uintptr_t)(CGC_ARENA_SIZE - 1));
    return hide(p);
}

/* 1 if no object of many sizes starts at its arena's base. */
static uintptr_t none_at_base(uintptr_t unused)
{
    static const size_t sizes[] = {16, 64, 1024, 8192, 40 << 10, 1 << 20, (size_t)9 << 20};
    for (int round = 0; round < 200; round++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            char *p = cgc_malloc(sizes[i]);
            if (!p)
                return 0;
            uintptr_t base = (uintptr_t)p & ~(uintptr_t)(CGC_ARENA_SIZE - 1);
            if (cgc_base((void *)base) != NULL)
                return 0;
        }
    return 1;
}

int main(void)
{
    uintptr_t h = deep_call(first_object, 0);
    clear_stack();
    CHECK(cgc_base(arena_base_word) == NULL, "an object starts at the arena's base %p (the first object %p)",
          arena_base_word, unhide(h));
    cgc_collect();
    CHECK(deep_call(reclaimed, h), "the first object, referenced only by a word holding its arena's base "
          "address, was not reclaimed");
    CHECK(deep_call(none_at_base, 0), "an object starts at its arena's base");
    return check_done();
}
