/* test_mlock_release: returning pages under mlockall.
 *
 * With the process's memory locked (mlockall(MCL_CURRENT | MCL_FUTURE), as
 * latency-sensitive services do), madvise(MADV_DONTNEED) fails with EINVAL
 * and the pages stay resident with their old contents. cgc used to ignore
 * the failure: the pages were counted as released (heap_released, the
 * limit's accounting) and, being "released", were handed out again as if
 * they read as zero — cgc_malloc returned memory full of the old bytes.
 * Now a failed release leaves the pages resident and not known to be
 * zero, and the count says so.
 *
 * Steps: lock, allocate large and small objects, fill them with 0xA5,
 * drop them, cgc_free_os_memory, allocate the same again: every byte of
 * every cgc_malloc'd object is zero, and what cgc counts as released is
 * really not resident (mincore over the heap: resident <= heap_sys -
 * heap_released). */
#include "check.h"
#include "internal.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>

enum { NLARGE = 24, LARGE = 192 * 1024, NSMALL = 4096, SMALL = 1024 };

static uintptr_t large[NLARGE], small[NSMALL];

static uintptr_t fill(uintptr_t unused)
{
    (void)unused;
    for (int i = 0; i < NLARGE; i++) {
        char *p = cgc_malloc(LARGE);
        memset(p, 0xA5, LARGE);
        large[i] = hide(p);
    }
    for (int i = 0; i < NSMALL; i++) {
        char *p = cgc_malloc(SMALL);
        memset(p, 0xA5, SMALL);
        small[i] = hide(p);
    }
    return 0;
}

static size_t nonzero(const unsigned char *p, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += p[i] != 0;
    return bad;
}

int main(void)
{
    /* Under AddressSanitizer only future mappings are locked: locking the
     * current ones would populate its shadow memory (terabytes reserved).
     * The heap is mapped after this point either way (nothing has been
     * allocated yet). */
#ifdef __SANITIZE_ADDRESS__
    int flags = MCL_FUTURE;
#else
    int flags = MCL_CURRENT | MCL_FUTURE;
#endif
    /* As much lockable memory as we may have (root: no limit anyway). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_MEMLOCK, &rl);
    }
    /* Under MCL_FUTURE every new mapping is locked, and one past the limit
     * is refused: the heap's first arena (a 128 MiB mapping, trimmed to 64)
     * needs room. Root (CAP_IPC_LOCK) has no limit. */
    if (geteuid() != 0 && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < ((rlim_t)1 << 30)) {
        printf("skip: RLIMIT_MEMLOCK is %llu KiB, too small to lock the heap; run as root or raise it\n",
               (unsigned long long)(rl.rlim_cur >> 10));
        return 0;
    }
    if (mlockall(flags) != 0) {
        printf("skip: mlockall refused (%s); run as root or raise RLIMIT_MEMLOCK\n", strerror(errno));
        return 0;
    }
    deep_call(fill, 0);
    clear_stack();
    cgc_free_os_memory();

    cgc_memstats ms;
    cgc_read_memstats(&ms);
    uint64_t resident = cgc__heap_resident_bytes();
    CHECK(resident != UINT64_MAX, "mincore failed");
    CHECK(resident <= ms.heap_sys - ms.heap_released,
          "cgc counts %llu bytes released, but %llu of %llu heap bytes are resident",
          (unsigned long long)ms.heap_released, (unsigned long long)resident,
          (unsigned long long)ms.heap_sys);

    size_t bad = 0, objs = 0;
    for (int i = 0; i < NLARGE; i++) {
        unsigned char *p = cgc_malloc(LARGE);
        size_t b = nonzero(p, LARGE);
        bad += b;
        objs += b != 0;
    }
    for (int i = 0; i < NSMALL; i++) {
        unsigned char *p = cgc_malloc(SMALL);
        size_t b = nonzero(p, SMALL);
        bad += b;
        objs += b != 0;
    }
    CHECK(bad == 0, "%zu non-zero bytes in %zu objects cgc_malloc returned after a failed release",
          bad, objs);
    cgc_collect();
    cgc_read_memstats(&ms);
    resident = cgc__heap_resident_bytes();
    CHECK(resident <= ms.heap_sys - ms.heap_released,
          "after a collection: %llu released, %llu of %llu resident",
          (unsigned long long)ms.heap_released, (unsigned long long)resident,
          (unsigned long long)ms.heap_sys);
    munlockall();
    /* Unlocked, release works again and is counted. */
    cgc_free_os_memory();
    cgc_read_memstats(&ms);
    CHECK(ms.heap_released > 0, "nothing released once unlocked");
    resident = cgc__heap_resident_bytes();
    CHECK(resident <= ms.heap_sys - ms.heap_released,
          "unlocked: %llu released, %llu of %llu resident", (unsigned long long)ms.heap_released,
          (unsigned long long)resident, (unsigned long long)ms.heap_sys);
    return check_done();
}
