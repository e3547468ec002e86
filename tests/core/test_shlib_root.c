/* test_shlib_root — an object reachable only from a shared library's data
 * stays alive; once the library lets go of it, it is reclaimed. */
#include "cgc.h"
#include "../check.h"

void holder_set(void *p);
void *holder_get(void);

static uintptr_t __attribute__((noinline)) make(void)
{
    char *p = cgc_malloc(3000);
    memset(p, 's', 3000);
    holder_set(p);
    return hide(p);
}

static int __attribute__((noinline)) alive(uintptr_t h)
{
    char *p = unhide(h);
    return cgc_base(p) == p && p[0] == 's' && p[2999] == 's';
}

int main(void)
{
    uintptr_t h = make();
    clear_stack();
    for (int i = 0; i < 3; i++)
        cgc_collect();
    CHECK(alive(h), "object held only by a shared library's data survives");
    CHECK(holder_get() == unhide(h), "the library still holds it");
    holder_set(NULL);
    clear_stack();
    cgc_collect();
    CHECK(cgc_base(unhide(h)) == NULL, "released by the library, it is reclaimed");
    return check_done();
}
