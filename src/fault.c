/* fault.c — fault injection: a seeded generator that makes the system
 * calls cgc depends on fail, so that tests can show the collector going on
 * (or returning NULL) without crashing, leaking or corrupting the heap.
 *
 * Sites (fault.h): mmap (cgc__os_map: arenas, metadata, mark stacks),
 * madvise (cgc__os_release, cgc__os_populate), thread creation
 * (cgc__start_thread: markers, sweeper, background thread), cgroup and
 * /proc reads (cgroup.c's open_file). Switched on by CGC_FAULTS in debug
 * builds (config.c, from the end of initialisation: a failure while the
 * library starts is fatal by design) or by cgc__fault_set from a test.
 *
 * The generator is splitmix64 over one atomic counter: each draw is one
 * atomic add, and a given seed gives the same sequence of draws (which
 * thread gets which draw depends on the schedule). */
#include "fault.h"

#include <stdatomic.h>
#include <stddef.h>

static _Atomic unsigned fault_percent;
static _Atomic uint64_t fault_state;
static _Atomic uint64_t fault_counts[CGC_FAULT_NSITES];
static _Atomic long mmap_countdown = -1;

void cgc__fault_set(unsigned percent, uint64_t seed)
{
    atomic_store(&fault_state, seed);
    atomic_store(&fault_percent, percent > 100 ? 100 : percent);
}

void cgc__fault_mmap_after(long n)
{
    atomic_store(&mmap_countdown, n);
}

uint64_t cgc__fault_count(cgc__fault_site site)
{
    return atomic_load(&fault_counts[site]);
}

static bool countdown_expired(void)
{
    long n = atomic_load(&mmap_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&mmap_countdown, &n, n - 1))
            return false;
    }
    return n == 0;
}

static uint64_t draw(void)
{
    uint64_t z = atomic_fetch_add_explicit(&fault_state, 0x9e3779b97f4a7c15ull, memory_order_relaxed) +
                 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

bool cgc__fault(cgc__fault_site site)
{
    bool fail = false;
    if (site == CGC_FAULT_MMAP && atomic_load_explicit(&mmap_countdown, memory_order_relaxed) >= 0)
        fail = countdown_expired();
    unsigned pct = atomic_load_explicit(&fault_percent, memory_order_relaxed);
    if (!fail && pct)
        fail = draw() % 100 < pct;
    if (fail)
        atomic_fetch_add_explicit(&fault_counts[site], 1, memory_order_relaxed);
    return fail;
}

int cgc__fault_parse(const char *s, unsigned *percent, uint64_t *seed)
{
    uint64_t p = 0, v = 0;
    size_t n = 0;
    for (; *s >= '0' && *s <= '9'; s++, n++) {
        p = p * 10 + (uint64_t)(*s - '0');
        if (p > 100)
            return -1;
    }
    if (n == 0 || *s++ != '/')
        return -1;
    for (n = 0; *s >= '0' && *s <= '9'; s++, n++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (n == 0 || *s)
        return -1;
    *percent = (unsigned)p;
    *seed = v;
    return 0;
}
