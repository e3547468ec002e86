/* test_oom_reentry: an OOM handler that allocates is not called again
 * from its own allocation.
 *
 * cgc calls the handler set with cgc_set_oom_handler before an allocation
 * returns NULL. A handler that itself allocates (to log, to format a
 * message) when memory is short fails too, and that failure used to call
 * the handler again, from inside itself: with a handler allocating 1 MiB
 * under RLIMIT_AS, 337 nested calls after 8 s, each a full collection and
 * release, until the stack would overflow. Now the handler's own failed
 * allocation returns NULL. The handler here notes a nested call and
 * returns at once (so that the test fails instead of hanging without the
 * fix); the program's allocation loop must end with NULL. */
#include "check.h"
#include <cgc.h>

#define MIB ((size_t)1 << 20)
#define MAX_OBJECTS 1024

static int depth, nested, calls, handler_got_null;

static void on_oom(size_t n)
{
    (void)n;
    if (depth > 0) {
        nested++;
        return;
    }
    depth++;
    calls++;
    if (cgc_malloc(MIB) == NULL)   /* memory is short: this fails too */
        handler_got_null++;
    depth--;
}

int main(void)
{
    static void *objs[MAX_OBJECTS];   /* uncollectable: alive whatever the scan sees */
    cgc_set_oom_handler(on_oom);
    cgc_free(cgc_malloc(16));
    check_limit_address_space(128 * MIB);

    size_t n = 0;
    while (n < MAX_OBJECTS && (objs[n] = cgc_malloc_uncollectable(MIB)) != NULL)
        n++;
    printf("%zu MiB before NULL; handler called %d times, %d nested\n", n, calls, nested);
    CHECK(n < MAX_OBJECTS, "the limit was never reached");
    CHECK(calls >= 1, "the handler was never called");
    CHECK(nested == 0, "the handler was called %d times from inside itself", nested);
    CHECK(handler_got_null == calls, "the handler's own allocation succeeded %d of %d times",
          calls - handler_got_null, calls);
    for (size_t i = 0; i < n; i++)
        cgc_free(objs[i]);
    CHECK(cgc_malloc(MIB) != NULL, "no allocation after freeing everything");
    return check_done();
}
