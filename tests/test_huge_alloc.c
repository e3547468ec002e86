/* test_huge_alloc: a request no heap can hold fails at once.
 *
 * Sizes above the largest object cgc hands out (CGC_MAX_OBJECT, 16 TiB
 * minus one 64 MiB arena: see alloc.c) return NULL with errno ENOMEM
 * straight away: no collection (num_gc unchanged), no release of free
 * pages (released_total unchanged: heap_released and the released count
 * stay put), and the OOM handler is not called (freeing memory cannot make
 * such a request fit). Before the check, 2^45 bytes (32 TiB) truncated the
 * span's 32-bit page count to 0 and the allocator dereferenced NULL, and
 * every size between 2^44 and PTRDIFF_MAX collected and released every
 * free page before failing. calloc's product overflowing, and realloc of a
 * live object to an impossible size (which must leave it untouched), too.
 * The heap works afterwards. */
#include "check.h"
#include "internal.h"

#include <errno.h>
#include <stdint.h>

static int handler_calls;
static void on_oom(size_t n)
{
    (void)n;
    handler_calls++;
}

typedef void *(*alloc_fn)(size_t);
static void *calloc_1(size_t n) { return cgc_calloc(1, n); }
static void *calloc_n(size_t n) { return cgc_calloc(n, 1); }
/* 16 * ceil(n / 16) >= n: still more than the largest object. */
static void *calloc_16(size_t n) { return cgc_calloc(16, n / 16 + (n % 16 != 0)); }

int main(void)
{
    cgc_set_oom_handler(on_oom);
    /* Some free, resident pages that a wrongful release would return. */
    for (int i = 0; i < 64; i++)
        (void)cgc_malloc(100000);
    cgc_collect();

    const size_t sizes[] = {
        SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - CGC_PAGE_SIZE,
        (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX - CGC_ARENA_SIZE,
        (size_t)1 << 48, (size_t)1 << 47, ((size_t)1 << 47) - 1,
        ((size_t)1 << 45) + CGC_PAGE_SIZE, (size_t)1 << 45, ((size_t)1 << 45) - 1,
        (size_t)1 << 44, ((size_t)1 << 44) - CGC_ARENA_SIZE + 1,
    };
    const struct { const char *name; alloc_fn fn; } fns[] = {
        {"cgc_malloc", cgc_malloc},
        {"cgc_malloc_atomic", cgc_malloc_atomic},
        {"cgc_malloc_uncollectable", cgc_malloc_uncollectable},
        {"cgc_calloc(1, n)", calloc_1},
        {"cgc_calloc(n, 1)", calloc_n},
        {"cgc_calloc(16, n/16)", calloc_16},
    };
    cgc_memstats before, after;
    /* The background scavenger releases free pages on its own schedule
     * (in CI, 512 KiB in the middle of the checks below): paused, so
     * that what is counted is what the impossible sizes released. */
    cgc__scavenger_pause(true);
    cgc_read_memstats(&before);
    uint64_t released_before = atomic_load(&cgc__mem.released_total);

    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            errno = 0;
            void *p = fns[f].fn(sizes[i]);
            CHECK(p == NULL && errno == ENOMEM, "%s(%zu): %p, errno %d", fns[f].name, sizes[i], p,
                  errno);
        }
    }
    /* calloc whose product overflows. */
    const size_t pairs[][2] = {{SIZE_MAX, 2}, {2, SIZE_MAX}, {(size_t)1 << 32, (size_t)1 << 32},
                               {((size_t)1 << 33) + 1, (size_t)1 << 31}, {SIZE_MAX / 2 + 1, 2}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        errno = 0;
        void *p = cgc_calloc(pairs[i][0], pairs[i][1]);
        CHECK(p == NULL && errno == ENOMEM, "cgc_calloc(%zu, %zu): %p, errno %d", pairs[i][0],
              pairs[i][1], p, errno);
    }
    /* realloc to an impossible size: NULL, and the object is untouched. */
    char *q = cgc_malloc(64);
    memcpy(q, "kept", 5);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        void *r = cgc_realloc(q, sizes[i]);
        CHECK(r == NULL && errno == ENOMEM, "cgc_realloc(q, %zu): %p, errno %d", sizes[i], r, errno);
    }
    CHECK(strcmp(q, "kept") == 0 && cgc_base(q) == q, "realloc's failure changed the object");
    /* strndup copies at most strlen bytes whatever n says. */
    char *d = cgc_strndup("abc", SIZE_MAX);
    CHECK(d && strcmp(d, "abc") == 0, "cgc_strndup(\"abc\", SIZE_MAX)");

    cgc_read_memstats(&after);
    CHECK(after.num_gc == before.num_gc, "impossible sizes collected: num_gc %u -> %u",
          before.num_gc, after.num_gc);
    CHECK(atomic_load(&cgc__mem.released_total) == released_before,
          "impossible sizes released free pages: %llu bytes",
          (unsigned long long)(atomic_load(&cgc__mem.released_total) - released_before));
    CHECK(handler_calls == 0, "the OOM handler was called %d times for impossible sizes",
          handler_calls);
    cgc__scavenger_pause(false);

    /* The heap still works: small, large, and a collection. */
    char *small = cgc_malloc(100), *large = cgc_malloc(3 << 20);
    CHECK(small && large, "allocation after the failures");
    if (small && large) {
        memset(small, 1, 100);
        memset(large, 2, 3 << 20);
    }
    cgc_collect();
    CHECK(small && small[99] == 1 && large[(3 << 20) - 1] == 2, "objects intact");
    CHECK(strcmp(q, "kept") == 0, "q intact after a collection");
    return check_done();
}
