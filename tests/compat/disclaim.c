/* disclaim.c — GC_register_disclaim_proc: the proc is called for the
 * unreachable objects of its kind, never for reachable ones; an object it
 * keeps (nonzero) stays intact and is disclaimed again once still
 * unreachable. Built against cgc's headers and Debian's, on cgc's library,
 * and on Debian's libgc itself (tests/compat_world.cmake). */
#define GC_THREADS 1
#include <gc.h>
#include <gc/gc_disclaim.h>
#include <gc/gc_mark.h>

#include "../check.h"

#define N 2000
#define MAGIC 0xd15c1a1dd15c1a1dull

static uint64_t **held;   /* the even objects */
static int calls[N];
static int other_calls;   /* on a slot that holds no object (libgc calls it on free slots too) */

/* Objects whose id ends in 5 (unreachable ones) are kept by their first
 * disclaim: they must then be intact at the second. */
static int GC_CALLBACK disclaim(void *obj)
{
    uint64_t *o = obj;
    if (o[0] != MAGIC || o[1] >= N) {
        other_calls++;
        return 0;
    }
    int n = ++calls[o[1]];
    return o[1] % 10 == 5 && n == 1;
}

static int kind;

static uintptr_t make(uintptr_t unused)
{
    (void)unused;
    for (size_t i = 0; i < N; i++) {
        uint64_t *o = GC_generic_malloc(4 * sizeof(uint64_t), kind);
        o[0] = MAGIC;
        o[1] = i;
        if (i % 2 == 0)
            held[i / 2] = o;
    }
    return 0;
}

static void cycle(void)
{
    clear_stack();
    GC_gcollect();
    GC_invoke_finalizers();
}

int main(void)
{
    GC_INIT();
    (void)other_calls;
    kind = (int)GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1);
    GC_register_disclaim_proc(kind, disclaim, 1);
    held = GC_MALLOC_UNCOLLECTABLE(N / 2 * sizeof *held);
    deep_call(make, 0);

    for (int i = 0; i < 8; i++)
        cycle();
    int held_called = 0, dropped_called = 0, kept = 0, kept_again = 0;
    for (size_t i = 0; i < N; i++) {
        if (i % 2 == 0) {
            held_called += calls[i] != 0;
            continue;
        }
        dropped_called += calls[i] != 0;
        if (i % 10 == 5 && calls[i] > 0) {
            kept++;
            kept_again += calls[i] == 2;
        }
    }
    CHECK(held_called == 0, "no reachable object disclaimed (%d were)", held_called);
    CHECK(dropped_called >= N / 2 * 9 / 10, "unreachable objects disclaimed: %d of %d", dropped_called, N / 2);
    CHECK(kept > 0 && kept_again == kept, "an object kept by its proc is disclaimed again, intact: %d of %d",
          kept_again, kept);
    int more = 0;
    for (size_t i = 0; i < N; i++)
        more += calls[i] > 2;
    CHECK(more == 0, "none after the proc let it go (%d)", more);
    for (size_t i = 0; i < N / 2; i++)
        CHECK(held[i][0] == MAGIC && held[i][1] == 2 * i, "held object %zu intact", 2 * i);
    return check_done();
}
