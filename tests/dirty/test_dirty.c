/* test_dirty.c — the dirty-page tracker (src/dirty.c, dirty.h) on a real
 * arena: exactly the pages written are reported, rearm works, a write
 * racing with a collect is never lost, kernel writes (read(2)) are seen
 * and do not fail, released pages touched again are reported, a forked
 * child keeps a working tracker (or none) and the fallbacks to
 * stop-the-world name their reason.
 *
 *   test_dirty unit      the interface on a cgc object (tests/dirty.cmake)
 *   test_dirty race      writer thread vs collector with rearm
 *   test_dirty fork      the child after fork
 *   test_dirty stw       run with CGC_DEBUG=gcstoptheworld=1: NONE, why
 *   test_dirty off       run with CGC_DEBUG=gcconcurrent=0: NONE, why
 *   test_dirty default   run without CGC_DEBUG: the tracker gcconcurrent=1
 *                        gets (a child run with it says the same); the
 *                        others run with CGC_DEBUG=gcconcurrent=1
 *   test_dirty seccomp   userfaultfd refused by a seccomp filter: NONE, why
 *   test_dirty faults    injected failures: NONE for good, never a wrong answer
 *   test_dirty bench     costs for the commit message (not a test)
 *
 * Every test runs in whichever mode the kernel gives: UFFD (Linux 6.7+),
 * SOFT (soft-dirty kernels: what holds for both is checked on a guarded
 * region, UFFD's exact answers and re-protection only in UFFD), or NONE,
 * where they assert the fallback (a why line naming the failing step, arm
 * and collect refusing) instead of skipping. */
#define _GNU_SOURCE
#include "check.h"
#include "dirty.h"
#include "fault.h"

#include <cgc.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define PG 4096u
#define NPAGES 256


/* The pages a collect reported, as a bitmap over the test block. */
typedef struct {
    uintptr_t base;
    size_t npages;
    uint8_t hit[NPAGES];
    long calls, outside;
} seen;

static void record(uintptr_t start, size_t n, void *arg)
{
    seen *s = arg;
    s->calls++;
    for (size_t i = 0; i < n; i++) {
        uintptr_t p = start + i * PG;
        if (p < s->base || p >= s->base + s->npages * PG)
            s->outside++;
        else
            s->hit[(p - s->base) / PG] = 1;
    }
}

static void count_run(uintptr_t start, size_t n, void *arg)
{
    *(long *)arg += 1;
}

static long collect(uint8_t *blk, size_t npages, bool rearm, seen *s)
{
    memset(s, 0, sizeof *s);
    s->base = (uintptr_t)blk;
    s->npages = npages;
    return cgc__dirty_collect((uintptr_t)blk, (uintptr_t)blk + npages * PG, rearm, record, s);
}

static int count_hits(const seen *s)
{
    int n = 0;
    for (size_t i = 0; i < s->npages; i++)
        n += s->hit[i];
    return n;
}

/* A page-aligned run of NPAGES pages inside one cgc object, every page
 * populated. Kept in a global so the collector keeps it. A scanned object:
 * the pages of pointer-free ones are never watched (unwatched() below). */
static void *volatile keep;

static uint8_t *test_block(void)
{
    uint8_t *obj = cgc_malloc((NPAGES + 1) * PG);
    keep = obj;
    uint8_t *blk = (uint8_t *)(((uintptr_t)obj + PG - 1) & ~(uintptr_t)(PG - 1));
    memset(blk, 0x11, NPAGES * PG);
    return blk;
}

/* NONE: the why line names stop-the-world and a reason; nothing pretends. */
static void check_none(const char *want)
{
    const char *w = cgc__dirty_why();
    CHECK(cgc__dirty_mode_now() == CGC__DIRTY_NONE, "mode %d", cgc__dirty_mode_now());
    CHECK(strncmp(w, "stop-the-world: ", 16) == 0 && strlen(w) > 20, "why \"%s\"", w);
    if (want)
        CHECK(strstr(w, want) != NULL, "why \"%s\" lacks \"%s\"", w, want);
    CHECK(cgc__dirty_arm() == -1, "arm must refuse in NONE");
    static uint8_t x[64];
    CHECK(cgc__dirty_collect((uintptr_t)x, (uintptr_t)x + sizeof x, true, NULL, NULL) == -1,
          "collect must fail in NONE");
}

/* ---- unit ------------------------------------------------------------------ */

/* NPAGES pages between two PROT_NONE guard pages, every page written,
 * added as a heap range: no mapping can merge with it (in SOFT mode a
 * merge with a mapping made after the arm would mark it all dirty). */
static uint8_t *guarded(size_t npages)
{
    uint8_t *g = mmap(NULL, (npages + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g == MAP_FAILED || mprotect(g + PG, npages * PG, PROT_READ | PROT_WRITE) != 0)
        return NULL;
    memset(g + PG, 0x22, npages * PG);
    CHECK(cgc__dirty_add_range(g + PG, npages * PG) == 0, "add_range");
    return g + PG;
}

static bool same(const seen *s, const int *want, int n)
{
    if (count_hits(s) != n || s->outside)
        return false;
    for (int i = 0; i < n; i++)
        if (!s->hit[want[i]])
            return false;
    return true;
}

/* What every tracker (UFFD, SOFT) must do, on a guarded region. */
static void common(cgc__dirty_mode m)
{
    enum { N = 16 };
    uint8_t *g = guarded(N);
    seen s;
    CHECK(g != NULL, "guarded region");
    if (!g)
        return;
    /* Before its first arm a new range reads as written (SOFT: a mapping
     * made after the last clear_refs is soft-dirty as a whole). */
    long n = collect(g, N, false, &s);
    CHECK(n == N, "unarmed: %ld", n);
    CHECK(cgc__dirty_arm() == 0, "arm");
    CHECK(collect(g, N, false, &s) == 0, "armed, nothing written: %d", count_hits(&s));
    g[1 * PG + 8] = g[5 * PG] = g[6 * PG + 4095] = 1;
    n = collect(g, N, false, &s);
    CHECK(same(&s, (const int[]){1, 5, 6}, 3) && n == 3 && s.calls == 2, "1, 5-6: n %ld runs %ld", n, s.calls);
    /* The kernel's writes: read(2) across pages 9 and 10. */
    int fds[2];
    char msg[200];
    memset(msg, 'r', sizeof msg);
    CHECK(pipe(fds) == 0 && write(fds[1], msg, sizeof msg) == (ssize_t)sizeof msg, "pipe");
    ssize_t got = read(fds[0], g + 10 * PG - 100, sizeof msg);
    CHECK(got == (ssize_t)sizeof msg, "read(2) into a tracked page: %zd (%s)", got, got < 0 ? strerror(errno) : "");
    close(fds[0]);
    close(fds[1]);
    n = collect(g, N, false, &s);
    CHECK(same(&s, (const int[]){1, 5, 6, 9, 10}, 5), "read(2): n %ld", n);
    /* Released and written again: reported. Released only: reads zero;
     * UFFD reports it (unprotected), SOFT not (no page, no bit). */
    CHECK(madvise(g + 12 * PG, 2 * PG, MADV_DONTNEED) == 0, "madvise");
    g[12 * PG] = 3;
    CHECK(((volatile uint8_t *)g)[13 * PG] == 0, "released page reads zero");
    n = collect(g, N, true, &s);
    CHECK(same(&s, (const int[]){1, 5, 6, 9, 10, 12}, 6) || same(&s, (const int[]){1, 5, 6, 9, 10, 12, 13}, 7),
          "released and written: n %ld", n);
    /* After a collect with rearm: UFFD reports only later writes; SOFT
     * cannot re-protect a range and reports the same pages until the
     * next arm. */
    g[2 * PG] = 4;
    n = collect(g, N, false, &s);
    if (m == CGC__DIRTY_UFFD)
        CHECK(same(&s, (const int[]){2}, 1), "after rearm (uffd): n %ld", n);
    else
        CHECK(s.hit[2] && s.hit[1] && s.hit[12], "after rearm (soft): n %ld", n);
    CHECK(cgc__dirty_arm() == 0, "arm again");
    CHECK(collect(g, N, false, &s) == 0, "re-armed: %d", count_hits(&s));
    g[15 * PG] = 5;
    CHECK(collect(g, N, true, &s) == 1 && s.hit[15], "last page");
    cgc__dirty_disarm();
}

/* An arena mapped while armed: its written pages are reported. */
static void new_arena(void)
{
    CHECK(cgc__dirty_arm() == 0, "arm");
    uint8_t *huge = cgc_malloc((size_t)96 << 20);   /* more than an arena: a new mapping */
    CHECK(huge != NULL, "96 MiB");
    if (!huge)
        return;
    uint8_t *h = (uint8_t *)(((uintptr_t)huge + PG - 1) & ~(uintptr_t)(PG - 1));
    h[5 * PG] = 1;
    seen hs;
    long n = collect(h, NPAGES, false, &hs);
    CHECK(n >= 1 && hs.hit[5], "new arena while armed: %ld", n);
    cgc__dirty_disarm();
}

static void uffd_detail(void);
static void hot_ranges(uint8_t *blk);

/* A pointer-free object's pages are never watched (src/pageheap.c, "Two
 * sides", cgc__heap_unwatched_run): written while armed, they are not
 * reported, with or without rearm, while a scanned object's are. */
static void *volatile keep_atomic;
static void unwatched(uint8_t *blk)
{
    uint8_t *obj = cgc_malloc_atomic((NPAGES + 1) * PG);
    keep_atomic = obj;
    CHECK(obj != NULL, "atomic block");
    if (!obj)
        return;
    uint8_t *a = (uint8_t *)(((uintptr_t)obj + PG - 1) & ~(uintptr_t)(PG - 1));
    memset(a, 0x33, NPAGES * PG);
    seen s;
    CHECK(cgc__dirty_arm() == 0, "arm");
    a[3 * PG] = 1;
    a[77 * PG] = 1;
    blk[3 * PG] = 1;
    CHECK(collect(a, NPAGES, false, &s) == 0 && count_hits(&s) == 0, "pointer-free pages reported: %d",
          count_hits(&s));
    CHECK(collect(a, NPAGES, true, &s) == 0, "pointer-free pages reported with rearm");
    a[5 * PG] = 1;
    CHECK(collect(a, NPAGES, true, &s) == 0, "pointer-free page written after a rearm reported");
    CHECK(collect(blk, NPAGES, true, &s) == 1 && s.hit[3], "the scanned object's written page");
    cgc__dirty_disarm();
}

static int unit(void)
{
    cgc__dirty_mode m = cgc__dirty_init();
    printf("dirty: mode %d: %s\n", m, cgc__dirty_why());
    if (m == CGC__DIRTY_NONE) {
        check_none(NULL);
        return check_done();
    }
    if (m == CGC__DIRTY_UFFD)
        CHECK(strcmp(cgc__dirty_why(), "uffd-wp+pagemap_scan") == 0, "why \"%s\"", cgc__dirty_why());
    else
        CHECK(strncmp(cgc__dirty_why(), "soft-dirty (no uffd-wp: ", 24) == 0, "why \"%s\"", cgc__dirty_why());
    common(m);
    new_arena();
    if (m == CGC__DIRTY_UFFD)
        uffd_detail();
    /* The collector itself still works with the heap registered. */
    cgc_collect();
    return check_done();
}

/* UFFD's exact answers on a cgc object, and what only UFFD can do. */
static void uffd_detail(void)
{
    uint8_t *blk = test_block();
    seen s;

    /* Nothing protected yet: every populated page reads as written. */
    CHECK(collect(blk, NPAGES, false, &s) == NPAGES && count_hits(&s) == NPAGES, "unarmed: %d", count_hits(&s));

    /* Arm, write scattered words: exactly those pages, in coalesced runs. */
    CHECK(cgc__dirty_arm() == 0, "arm");
    CHECK(collect(blk, NPAGES, false, &s) == 0, "armed, nothing written: %d pages", count_hits(&s));
    static const int pages[] = {0, 3, 4, 5, 77, 128, 200, 255};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        ((volatile uint64_t *)(blk + pages[i] * PG))[17 + i] = i;
    uint64_t total0 = atomic_load(&cgc__dirty_pages_total);
    long n = collect(blk, NPAGES, false, &s);
    CHECK(n == 8 && count_hits(&s) == 8 && s.outside == 0, "8 written: n %ld hits %d outside %ld", n,
          count_hits(&s), s.outside);
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        CHECK(s.hit[pages[i]], "page %d not reported", pages[i]);
    CHECK(s.calls == 6, "runs: %ld (0, 3-5, 77, 128, 200, 255)", s.calls);
    CHECK(atomic_load(&cgc__dirty_pages_total) == total0 + 8, "pages_total");
    /* A read-only collect leaves them reported; with rearm once more, then never. */
    CHECK(collect(blk, NPAGES, false, &s) == 8, "read-only collect must not rearm");
    CHECK(collect(blk, NPAGES, true, &s) == 8, "collect with rearm");
    CHECK(collect(blk, NPAGES, true, &s) == 0, "after rearm, no writes: %d", count_hits(&s));
    /* A sub-range: only what lies inside it. */
    blk[10 * PG] = 1;
    blk[50 * PG] = 1;
    CHECK(collect(blk + 40 * PG, 20, false, &s) == 1 && s.hit[10], "sub-range");
    CHECK(collect(blk, NPAGES, true, &s) == 2 && s.hit[10] && s.hit[50], "both");

    /* Kernel writes: read(2) into a protected page (and across two) works
     * and is reported, unlike with mprotect (EFAULT). */
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    char msg[300];
    memset(msg, 'k', sizeof msg);
    CHECK(write(fds[1], msg, sizeof msg) == (ssize_t)sizeof msg, "pipe write");
    ssize_t got = read(fds[0], blk + 31 * PG - 100, sizeof msg);
    CHECK(got == (ssize_t)sizeof msg, "read into a protected page: %zd (%s)", got, got < 0 ? strerror(errno) : "");
    CHECK(memcmp(blk + 31 * PG - 100, msg, sizeof msg) == 0, "read(2) data");
    CHECK(collect(blk, NPAGES, true, &s) == 2 && s.hit[30] && s.hit[31], "read(2) pages: %d", count_hits(&s));
    close(fds[0]);
    close(fds[1]);

    /* Released with MADV_DONTNEED during tracking and written again:
     * reported (the fresh page is not protected). Released and only read:
     * reads as zero; reported or not, it holds nothing. */
    CHECK(madvise(blk + 90 * PG, 2 * PG, MADV_DONTNEED) == 0, "madvise");
    n = collect(blk, NPAGES, true, &s);
    CHECK(n >= 0 && n <= 2 && (n == 0 || s.hit[90] || s.hit[91]), "released: %ld", n);
    CHECK(((volatile uint8_t *)blk)[91 * PG] == 0, "released page reads zero");
    blk[90 * PG + 5] = 7;
    n = collect(blk, NPAGES, true, &s);
    CHECK(s.hit[90] && n >= 1 && n <= 2, "released, written again: n %ld hit %d", n, s.hit[90]);
    blk[91 * PG + 5] = 7;   /* the zero page, now written */
    n = collect(blk, NPAGES, true, &s);
    CHECK(s.hit[91] && n == 1, "zero page written: n %ld", n);
    /* Released before arm, written during tracking. */
    CHECK(madvise(blk + 100 * PG, PG, MADV_DONTNEED) == 0, "madvise");
    CHECK(cgc__dirty_arm() == 0, "re-arm");
    CHECK(collect(blk, NPAGES, true, &s) == 0, "re-armed: %d", count_hits(&s));
    blk[100 * PG] = 9;
    CHECK(collect(blk, NPAGES, true, &s) == 1 && s.hit[100], "released before arm, written");

    /* Disarm: writes are free again and a collect still answers (every
     * page written since reads as written). */
    cgc__dirty_disarm();
    blk[150 * PG] = 1;
    n = collect(blk, NPAGES, false, &s);
    CHECK(n == NPAGES || (n >= 1 && s.hit[150]), "after disarm: %ld", n);

    /* An arena mapped while armed: its written pages are reported. */
    CHECK(cgc__dirty_arm() == 0, "arm");
    size_t big = (size_t)96 << 20;   /* more than an arena: a new mapping */
    uint8_t *huge = cgc_malloc(big);
    CHECK(huge != NULL, "96 MiB");
    if (huge) {
        uint8_t *h = (uint8_t *)(((uintptr_t)huge + PG - 1) & ~(uintptr_t)(PG - 1));
        h[5 * PG] = 1;
        seen hs;
        memset(&hs, 0, sizeof hs);
        hs.base = (uintptr_t)h;
        hs.npages = NPAGES;
        n = cgc__dirty_collect((uintptr_t)h, (uintptr_t)h + NPAGES * PG, true, record, &hs);
        CHECK(n >= 1 && hs.hit[5], "new arena while armed: %ld", n);
        h[6 * PG] = 1;
        memset(&hs, 0, sizeof hs);
        hs.base = (uintptr_t)h;
        hs.npages = NPAGES;
        n = cgc__dirty_collect((uintptr_t)h, (uintptr_t)h + NPAGES * PG, true, record, &hs);
        CHECK(n == 1 && hs.hit[6], "new arena, rearmed: %ld", n);
        /* More isolated runs than one scan call returns (128): the walk
         * resumes; each run once, read-only and then with rearm. (First
         * protect the rest of the new arena: never protected, it reads as
         * written, holes included.) */
        n = cgc__dirty_collect((uintptr_t)h, (uintptr_t)h + 2000 * PG, true, NULL, NULL);
        CHECK(n >= 2000 - NPAGES, "the rest of the new arena reads as written: %ld", n);
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < 1000; i++)
                h[(size_t)(2 * i) * PG] = 3;
            for (int k = 0; k < 2; k++) {
                long runs = 0;
                n = cgc__dirty_collect((uintptr_t)h, (uintptr_t)h + 2000 * PG, k == 1, count_run, &runs);
                CHECK(n == 1000 && runs == 1000, "1000 isolated pages, pass %d %s: %ld pages in %ld runs", pass,
                      k ? "rearm" : "read-only", n, runs);
            }
            n = cgc__dirty_collect((uintptr_t)h, (uintptr_t)h + 2000 * PG, true, NULL, NULL);
            CHECK(n == 0, "after rearm: %ld", n);
        }
    }
    /* A range mapped just below the last one extends it (the kernel
     * places mappings top-down): both parts tracked. */
    uint8_t *adj = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(adj != MAP_FAILED, "mmap");
    CHECK(cgc__dirty_add_range(adj + 4 * PG, 4 * PG) == 0 && cgc__dirty_add_range(adj, 4 * PG) == 0, "add_range");
    memset(adj, 1, 8 * PG);
    CHECK(cgc__dirty_collect((uintptr_t)adj, (uintptr_t)adj + 8 * PG, true, NULL, NULL) == 8, "both parts written");
    adj[0] = adj[7 * PG] = 2;
    n = collect(adj, 8, true, &s);
    CHECK(n == 2 && s.hit[0] && s.hit[7], "both parts tracked: %ld", n);
    cgc__dirty_disarm();
    hot_ranges(blk);
    unwatched(blk);
}

/* Hot ranges (dirty.h): unprotected from the arm until the seal and
 * reported whole by every collect meanwhile, without counting in its
 * answer; the seal reports every page of them (none was protected) and
 * protects them; from then until the next arm they are tracked exactly. */
static void hot_ranges(uint8_t *blk)
{
    seen s;
    uintptr_t lo[2] = {(uintptr_t)blk + 20 * PG, (uintptr_t)blk + 60 * PG};
    uintptr_t hi[2] = {(uintptr_t)blk + 30 * PG, (uintptr_t)blk + 64 * PG - 1};   /* rounded up to 64 */
    cgc__dirty_set_hot(lo, hi, 2);
    CHECK(cgc__dirty_arm() == 0, "arm");
    long n = collect(blk, NPAGES, true, &s);
    CHECK(n == 0 && count_hits(&s) == 14 && s.hit[20] && s.hit[29] && s.hit[60] && s.hit[63] && !s.hit[30],
          "hot, armed: n %ld, %d reported", n, count_hits(&s));
    blk[5 * PG] = blk[25 * PG] = blk[61 * PG] = 1;
    n = collect(blk, NPAGES, true, &s);
    CHECK(n == 1 && count_hits(&s) == 15 && s.hit[5], "hot and one written: n %ld, %d reported", n, count_hits(&s));
    memset(&s, 0, sizeof s);
    s.base = (uintptr_t)blk;
    s.npages = NPAGES;
    n = cgc__dirty_seal_hot(record, &s);
    CHECK(n == 14 && count_hits(&s) == 14 && !s.hit[5], "seal: every hot page: n %ld, %d reported", n,
          count_hits(&s));
    memset(&s, 0, sizeof s);
    s.base = (uintptr_t)blk;
    s.npages = NPAGES;
    n = cgc__dirty_seal_hot(record, &s);
    CHECK(n == 0 && count_hits(&s) == 0, "a second seal reports nothing: %ld", n);
    /* Sealed: exactly what is written, hot or not. */
    blk[25 * PG] = blk[100 * PG] = 2;
    n = collect(blk, NPAGES, true, &s);
    CHECK(n == 2 && count_hits(&s) == 2 && s.hit[25] && s.hit[100], "sealed: n %ld, %d reported", n, count_hits(&s));
    /* The next arm does not protect them, nor unprotect them: still
     * protected since the seal, only the page written since is reported
     * by the next seal. */
    CHECK(cgc__dirty_arm() == 0, "re-arm");
    CHECK(collect(blk, NPAGES, true, &s) == 0 && count_hits(&s) == 14, "re-armed: hot reported whole");
    blk[62 * PG] = 3;
    memset(&s, 0, sizeof s);
    s.base = (uintptr_t)blk;
    s.npages = NPAGES;
    n = cgc__dirty_seal_hot(record, &s);
    CHECK(n == 1 && count_hits(&s) == 1 && s.hit[62], "seal after a re-arm: n %ld", n);
    /* After a disarm (as between two cycles) every hot page is unprotected:
     * the seal reports them all. */
    cgc__dirty_disarm();
    CHECK(cgc__dirty_arm() == 0, "arm after disarm");
    memset(&s, 0, sizeof s);
    s.base = (uintptr_t)blk;
    s.npages = NPAGES;
    n = cgc__dirty_seal_hot(record, &s);
    CHECK(n == 14 && count_hits(&s) == 14, "seal after a disarm: %ld", n);
    CHECK(collect(blk, NPAGES, true, &s) == 0, "after the seal, nothing: %d", count_hits(&s));
    cgc__dirty_set_hot(NULL, NULL, 0);
    cgc__dirty_disarm();
}

/* ---- race: a program thread and the kernel write while collects rearm ---------- */

static uint8_t *race_blk;
static _Atomic int race_stop;
static _Atomic uint64_t race_writes;

/* Writes i into a slot of page i*7 mod NPAGES/2 (the lower half), for ever. */
static void *writer(void *arg)
{
    uint64_t i = 1;
    while (!atomic_load_explicit(&race_stop, memory_order_relaxed)) {
        size_t p = (size_t)(i * 7 % (NPAGES / 2));
        ((_Atomic uint64_t *)(race_blk + p * PG))[(i / NPAGES) % 8] = i;
        atomic_store_explicit(&race_writes, i, memory_order_release);
        i++;
    }
    return arg;
}

/* The kernel writes for the program: read(2) from a pipe into a slot of
 * page NPAGES/2 + j*5 mod NPAGES/2 (the upper half), for ever. */
static _Atomic uint64_t race_kernel_writes;

static void *kernel_writer(void *arg)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    uint64_t j = 1;
    while (!atomic_load_explicit(&race_stop, memory_order_relaxed)) {
        size_t p = NPAGES / 2 + (size_t)(j * 5 % (NPAGES / 2));
        if (write(fds[1], &j, sizeof j) != (ssize_t)sizeof j ||
            read(fds[0], race_blk + p * PG + (j / NPAGES) % 8 * 8, sizeof j) != (ssize_t)sizeof j)
            break;   /* the count stays low: the test says so */
        atomic_store_explicit(&race_kernel_writes, j, memory_order_release);
        j++;
    }
    close(fds[0]);
    close(fds[1]);
    return arg;
}

/* The collector's view of each page, refreshed whenever a collect reports
 * it: after the writer stops and a last collect, the view must equal the
 * memory. A write lost by the tracker (made, not reported, page protected
 * again) leaves the view stale for ever. */
static uint64_t view[NPAGES][8];

static void refresh(uintptr_t start, size_t n, void *arg)
{
    for (size_t i = 0; i < n; i++) {
        size_t p = (start - (uintptr_t)race_blk) / PG + i;
        if (p < NPAGES)
            for (int k = 0; k < 8; k++)
                view[p][k] = atomic_load(&((_Atomic uint64_t *)(race_blk + p * PG))[k]);
    }
    *(long *)arg += (long)n;
}

static int race(void)
{
    /* SOFT passes too: its collects report every page written since the
     * arm, rearm or not. */
    if (cgc__dirty_init() == CGC__DIRTY_NONE) {
        check_none(NULL);
        return check_done();
    }
    race_blk = test_block();
    memset(race_blk, 0, NPAGES * PG);
    CHECK(cgc__dirty_arm() == 0, "arm");
    for (int p = 0; p < NPAGES; p++)
        memcpy(view[p], race_blk + p * PG, sizeof view[p]);
    pthread_t t, tk;
    CHECK(pthread_create(&t, NULL, writer, NULL) == 0, "writer");
    CHECK(pthread_create(&tk, NULL, kernel_writer, NULL) == 0, "kernel writer");
    /* Until 2000 collects have met a write in flight and both writers have
     * run (bounded: 20 s; a machine too loaded for that still checks what
     * ran). */
    long rounds = 0, reported = 0, busy = 0, failed = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        long before = reported;
        long n = cgc__dirty_collect((uintptr_t)race_blk, (uintptr_t)race_blk + NPAGES * PG, true, refresh, &reported);
        failed += n < 0;
        rounds++;
        busy += reported > before;
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((busy < 2000 || atomic_load(&race_writes) < 1000 || atomic_load(&race_kernel_writes) < 1000) &&
             (t1.tv_sec - t0.tv_sec) < 20);
    CHECK(failed == 0, "%ld collects failed", failed);
    atomic_store(&race_stop, 1);
    pthread_join(t, NULL);
    pthread_join(tk, NULL);
    long last = 0;
    CHECK(cgc__dirty_collect((uintptr_t)race_blk, (uintptr_t)race_blk + NPAGES * PG, true, refresh, &last) >= 0,
          "last collect");
    int stale = 0;
    for (int p = 0; p < NPAGES; p++)
        stale += memcmp(view[p], race_blk + p * PG, sizeof view[p]) != 0;
    CHECK(stale == 0, "%d pages written and never reported", stale);
    printf("race: %ld collects (%ld met writes) in %.0f ms, %llu writes, %llu read(2)s, %ld pages reported, "
           "%ld in the last\n",
           rounds, busy, (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
           (unsigned long long)atomic_load(&race_writes), (unsigned long long)atomic_load(&race_kernel_writes),
           reported, last);
    CHECK(busy > 10 && atomic_load(&race_writes) > 1000 && atomic_load(&race_kernel_writes) > 100,
          "the race ran: %ld", busy);
    cgc__dirty_disarm();
    return check_done();
}

/* ---- fork ---------------------------------------------------------------------- */

static int fork_test(void)
{
    enum { N = 16 };
    cgc__dirty_mode m = cgc__dirty_init();
    if (m == CGC__DIRTY_NONE) {
        check_none(NULL);
        return check_done();
    }
    uint8_t *g = guarded(N);
    seen s;
    CHECK(g != NULL && cgc__dirty_arm() == 0, "arm");
    if (!g)
        return check_done();
    g[3 * PG] = 1;
    /* Fork while armed, with a page written and not yet collected. */
    pid_t pid = fork();
    if (pid == 0) {
        /* The atfork handler ran cgc__dirty_fork_child; a second call is
         * harmless (a program may call it itself). */
        int bad = 0;
        cgc__dirty_fork_child();
        cgc__dirty_mode cm = cgc__dirty_mode_now();
        if (cm == m) {
            /* Until the child's first arm: UFFD reads everything as
             * written (nothing protected in the child), SOFT refuses. */
            long n = collect(g, N, false, &s);
            bad |= m == CGC__DIRTY_UFFD ? n != N : n != -1;
            bad |= (cgc__dirty_arm() != 0) << 1;
            bad |= (collect(g, N, true, &s) != 0) << 2;
            g[9 * PG] = 1;
            g[10 * PG] = 1;
            bad |= (collect(g, N, false, &s) != 2 || !s.hit[9] || !s.hit[10]) << 3;
            cgc__dirty_disarm();
        } else {
            bad |= (cm != CGC__DIRTY_NONE || strncmp(cgc__dirty_why(), "stop-the-world: forked child", 28) != 0) << 4;
        }
        /* The child keeps allocating and collecting. */
        for (int i = 0; i < 2000; i++)
            keep = cgc_malloc(1000);
        cgc_collect();
        _exit(bad);
    }
    CHECK(pid > 0, "fork");
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    /* The parent's tracking went on: page 3 still reported, the child's
     * writes (to its own copies) not; a write after the fork (a copy on
     * write in the parent) reported. */
    long n = collect(g, N, false, &s);
    CHECK(n == 1 && s.hit[3], "parent after fork: %ld", n);
    g[4 * PG] = 1;
    n = collect(g, N, false, &s);
    CHECK(n == 2 && s.hit[3] && s.hit[4], "parent keeps tracking: %ld", n);
    cgc__dirty_disarm();

    /* A child whose tracker cannot be re-created goes NONE and says why. */
    pid = fork();
    if (pid == 0) {
        cgc__fault_set(100, 1);
        cgc__dirty_fork_child();
        cgc__fault_set(0, 0);
        int bad = cgc__dirty_mode_now() != CGC__DIRTY_NONE ||
                  strncmp(cgc__dirty_why(), "stop-the-world: forked child", 28) != 0 || cgc__dirty_arm() != -1;
        for (int i = 0; i < 2000; i++)
            keep = cgc_malloc(1000);
        cgc_collect();
        _exit(bad);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "failing child status %#x", st);
    CHECK(cgc__dirty_mode_now() == m, "the parent keeps its tracker");
    return check_done();
}

/* ---- fallbacks ----------------------------------------------------------------- */

static int stw(void)
{
    cgc__dirty_init();
    check_none("CGC_DEBUG=gcstoptheworld=1");
    return check_done();
}

/* CGC_DEBUG=gcconcurrent=0 opens no tracker and registers no range: a
 * collection and new arenas leave it NONE. */
static int off_mode(void)
{
    cgc__dirty_init();
    check_none("CGC_DEBUG=gcconcurrent=0");
    for (int i = 0; i < 100; i++)
        keep = cgc_malloc((size_t)1 << 20);
    cgc_collect();
    check_none("CGC_DEBUG=gcconcurrent=0");
    return check_done();
}

/* Nothing set: the tracker is the one concurrent marking asked for gets
 * (the same mode and why line as a child run with gcconcurrent=1), so the
 * default marks concurrently wherever the kernel allows it. */
static int default_mode(const char *self)
{
    cgc__dirty_mode m = cgc__dirty_init();
    char why[256];
    snprintf(why, sizeof why, "%s", cgc__dirty_why());
    CHECK(strstr(why, "CGC_DEBUG") == NULL, "the default names a setting: \"%s\"", why);
    setenv("CGC_DEBUG", "gcconcurrent=1", 1);   /* for the child only: this process has read it */
    char cmd[4200], child[300] = "";
    snprintf(cmd, sizeof cmd, "'%s' why-child", self);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL, "popen %s", cmd);
    if (f && !fgets(child, sizeof child, f))
        child[0] = 0;
    CHECK(f && pclose(f) == 0, "the child's status");
    char mine[300];
    snprintf(mine, sizeof mine, "%d %s\n", (int)m, why);
    CHECK(strcmp(mine, child) == 0, "default \"%s\" against gcconcurrent=1 \"%s\"", mine, child);
    if (m != CGC__DIRTY_NONE) {   /* and it stays through a collection and new arenas */
        for (int i = 0; i < 100; i++)
            keep = cgc_malloc((size_t)1 << 20);
        cgc_collect();
        CHECK(cgc__dirty_mode_now() == m, "the tracker survived a collection");
    }
    return check_done();
}

static int why_child(void)
{
    cgc__dirty_mode m = cgc__dirty_init();
    printf("%d %s\n", (int)m, cgc__dirty_why());
    return 0;
}

/* userfaultfd refused (as a seccomp profile or an old kernel would): a
 * process started under the filter runs stop-the-world and says so. */
static int seccomp_child(void)
{
    cgc__dirty_mode m = cgc__dirty_init();
    printf("dirty: %s\n", cgc__dirty_why());
    if (m == CGC__DIRTY_SOFT) {   /* a kernel with soft-dirty */
        CHECK(strstr(cgc__dirty_why(), "userfaultfd: EPERM") != NULL, "why \"%s\"", cgc__dirty_why());
    } else {
        check_none("userfaultfd: EPERM");
        check_none("soft-dirty: ");
    }
    keep = cgc_malloc(100);
    cgc_collect();
    return check_done();
}

static int seccomp_test(const char *self)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_userfaultfd, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        printf("SKIP: cannot install a seccomp filter: %s\n", strerror(errno));   /* a kernel without seccomp */
        return 77;
    }
    execl("/proc/self/exe", self, "seccomp-child", (char *)NULL);
    fprintf(stderr, "exec %s: %s\n", self, strerror(errno));
    return 1;
}

/* Injected failures: registering an arena fails → NONE for good, and a
 * collect never answers from a partial set. */
static int faults(void)
{
    cgc__dirty_mode m = cgc__dirty_init();
    if (m == CGC__DIRTY_NONE) {
        check_none(NULL);
        return check_done();
    }
    if (m == CGC__DIRTY_SOFT) {
        /* SOFT registers nothing; its arm (clear_refs) and its pagemap
         * reads can fail, and the mode stays. */
        uint8_t *g = guarded(4);
        cgc__fault_set(100, 2);
        CHECK(cgc__dirty_arm() == -1, "arm under faults");
        CHECK(g && cgc__dirty_collect((uintptr_t)g, (uintptr_t)g + 4 * PG, false, NULL, NULL) == -1,
              "collect under faults");
        cgc__fault_set(0, 0);
        CHECK(cgc__dirty_mode_now() == CGC__DIRTY_SOFT && cgc__dirty_arm() == 0, "a failed arm keeps the mode");
        if (g) {
            g[PG] = 1;
            CHECK(cgc__dirty_collect((uintptr_t)g, (uintptr_t)g + 4 * PG, false, NULL, NULL) == 1, "then exact");
        }
        return check_done();
    }
    uint8_t *blk = test_block();
    seen s;
    CHECK(cgc__dirty_arm() == 0, "arm");
    blk[0] = 1;
    /* Collect under 50% faults: either the exact answer or -1. */
    int ok = 0, failed = 0;
    for (int i = 0; i < 200; i++) {
        cgc__fault_set(50, (uint64_t)i + 1);
        blk[(i % 2) * PG] = 1;
        long n = collect(blk, NPAGES, true, &s);
        cgc__fault_set(0, 0);
        if (n < 0) {
            failed++;
            blk[0] = blk[PG] = 1;   /* the caller rescans everything: start again from "all written" */
            continue;
        }
        ok++;
        CHECK(n <= 2 && s.hit[i % 2], "faulty collect %d: %ld", i, n);
    }
    CHECK(ok > 0 && failed > 0, "ok %d failed %d", ok, failed);
    CHECK(cgc__dirty_mode_now() == CGC__DIRTY_UFFD, "a failed collect keeps the mode");
    /* A range that cannot be registered: NONE for good. */
    void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cgc__fault_set(100, 4);
    CHECK(cgc__dirty_add_range(p, 1 << 20) == -1, "add_range under faults");
    cgc__fault_set(0, 0);
    check_none("UFFDIO_REGISTER: ");
    CHECK(cgc__dirty_add_range(p, 1 << 20) == 0 && cgc__dirty_mode_now() == CGC__DIRTY_NONE, "NONE is for good");
    keep = cgc_malloc(100);
    cgc_collect();
    return check_done();
}

/* ---- costs (for the commit message; not run by ctest) ---------------------------- */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void nothing(uintptr_t s, size_t n, void *a) {}

static void bench_size(size_t bytes)
{
    uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    madvise(p, bytes, MADV_NOHUGEPAGE);
    memset(p, 1, bytes);
    cgc__dirty_add_range(p, bytes);
    size_t np = bytes / PG;
    double t0 = now_ms();
    cgc__dirty_arm();
    double t1 = now_ms();
    for (size_t i = 0; i < np; i += 100)
        p[i * PG] = 2;
    double t2 = now_ms();
    long n = cgc__dirty_collect((uintptr_t)p, (uintptr_t)p + bytes, false, nothing, NULL);
    double t3 = now_ms();
    long n2 = cgc__dirty_collect((uintptr_t)p, (uintptr_t)p + bytes, true, nothing, NULL);
    double t4 = now_ms();
    for (size_t i = 0; i < np; i++)
        p[i * PG] = 3;
    double t5 = now_ms();
    long n3 = cgc__dirty_collect((uintptr_t)p, (uintptr_t)p + bytes, true, nothing, NULL);
    double t6 = now_ms();
    cgc__dirty_disarm();
    double t7 = now_ms();
    printf("%5zu MiB: arm %.2f ms; 1%% dirty: first writes %.2f us/page, collect %.3f ms (%ld), with rearm "
           "%.3f ms (%ld); all written %.2f us/page, collect+rearm %.2f ms (%ld); disarm %.2f ms\n",
           bytes >> 20, t1 - t0, (t2 - t1) * 1e3 / (double)((np + 99) / 100), t3 - t2, n, t4 - t3, n2,
           (t5 - t4) * 1e3 / (double)np, t6 - t5, n3, t7 - t6);
}

static int bench(void)
{
    printf("mode %d: %s\n", cgc__dirty_init(), cgc__dirty_why());
    bench_size((size_t)64 << 20);
    bench_size((size_t)1 << 30);
    return 0;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "unit";
    if (!strcmp(what, "unit"))
        return unit();
    if (!strcmp(what, "race"))
        return race();
    if (!strcmp(what, "fork"))
        return fork_test();
    if (!strcmp(what, "stw"))
        return stw();
    if (!strcmp(what, "default"))
        return default_mode(argv[0]);
    if (!strcmp(what, "why-child"))
        return why_child();
    if (!strcmp(what, "off"))
        return off_mode();
    if (!strcmp(what, "seccomp"))
        return seccomp_test(argv[0]);
    if (!strcmp(what, "seccomp-child"))
        return seccomp_child();
    if (!strcmp(what, "faults"))
        return faults();
    if (!strcmp(what, "bench"))
        return bench();
    fprintf(stderr, "usage: test_dirty unit|race|fork|stw|off|default|seccomp|faults|bench\n");
    return 2;
}
