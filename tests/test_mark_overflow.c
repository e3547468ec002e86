/* test_mark_overflow — the mark stack may overflow (the OS refuses to grow
 * it, or a limit): marking must still find every live object. With the
 * stack limited to 4 entries, wide nodes (256 children) and a long list
 * overflow it at every collection; everything reachable must survive with
 * its contents, and garbage must still be reclaimed. */
#include "cgc.h"
#include "check.h"
#include "internal.h"

#define WIDTH 256

typedef struct wide {
    struct wide *child[WIDTH];
    uint64_t tag;
} wide;

typedef struct cell {
    struct cell *next;
    uint64_t tag;
} cell;

static wide *build(int depth, uint64_t *tag)
{
    wide *w = cgc_malloc(sizeof *w);
    w->tag = (*tag)++;
    if (depth > 0)
        for (int i = 0; i < WIDTH; i += 16)
            w->child[i] = build(depth - 1, tag);
    return w;
}

static uint64_t sum(const wide *w)
{
    uint64_t s = w->tag;
    for (int i = 0; i < WIDTH; i++)
        if (w->child[i])
            s += sum(w->child[i]);
    return s;
}

static uintptr_t __attribute__((noinline)) garbage(uintptr_t unused)
{
    return hide(cgc_malloc(4000));
}

int main(void)
{
    cgc__mark_set_stack_limit(4);
    uint64_t tag = 1;
    wide *root = build(3, &tag);   /* 1 + 16 + 256 + 4096 nodes */
    uint64_t expect = sum(root);
    cell *list = NULL;
    for (uint64_t i = 0; i < 100000; i++) {
        cell *l = cgc_malloc(sizeof *l);
        l->next = list;
        l->tag = i;
        list = l;
    }
    uint64_t before = atomic_load(&cgc__gc.mark_overflows);
    for (int i = 0; i < 3; i++)
        cgc_collect();
    CHECK(atomic_load(&cgc__gc.mark_overflows) > before, "the tiny stack did overflow");
    CHECK(sum(root) == expect, "wide tree intact after overflowing marks");
    uint64_t n = 0, bad = 0;
    for (cell *l = list; l; l = l->next, n++)
        bad += l->tag != 99999 - n;
    CHECK(n == 100000 && bad == 0, "long list intact (%llu nodes, %llu wrong)", (unsigned long long)n,
          (unsigned long long)bad);
    uintptr_t g = deep_call(garbage, 0);
    clear_stack();
    cgc_collect();
    CHECK(cgc_base(unhide(g)) == NULL, "garbage still reclaimed");
    return check_done();
}
