/* dirty.c — which heap pages the program wrote since tracking was armed
 * (the interface is dirty.h; docs/concurrent.md "Dirty-page tracking").
 *
 * UFFD mode. Every arena is registered with one userfaultfd in
 * write-protect mode, with UFFD_FEATURE_WP_ASYNC: a write to a protected
 * page is resolved by the kernel itself (no handler thread, no signal): it
 * drops the protection and goes on, about 2 us for the first write to a
 * page, nothing for the next ones. PAGEMAP_SCAN on /proc/self/pagemap then
 * lists the pages whose protection is gone (PAGE_IS_WRITTEN) and, with
 * PM_SCAN_WP_MATCHING, protects them again in the same walk, under the
 * page-table lock of each page. Because the kernel resolves the fault, its
 * own writes into the heap (read(2) into a buffer) are recorded like the
 * program's and never fail with EFAULT, unlike mprotect.
 *
 * What reads as "written" (Linux 6.18, checked by tests/dirty): every
 * page of a registered range that is not write-protected. The arm
 * protects every page that reads as written (PAGEMAP_SCAN with
 * PM_SCAN_WP_MATCHING and no output), present or not: an empty entry gets
 * a uffd-wp marker (UFFD_FEATURE_WP_UNPOPULATED; this fills the page
 * tables of the whole range, 2 MiB per GiB of arena). From then on:
 *  - a page written (by the program or by the kernel for it) drops its
 *    protection and reads as written;
 *  - a page released with MADV_DONTNEED loses its entry, marker and all
 *    (zapping anonymous memory keeps no marker), and reads as written
 *    whether or not it is touched again: a page released and faulted in
 *    again during a mark is reported; one only released costs a rescan
 *    of a free page;
 *  - an arena registered during a mark is not protected: all of it reads
 *    as written until a collect with rearm protects it.
 * So every error is towards "dirty", as dirty.h asks.
 *
 * Races. PM_SCAN_WP_MATCHING re-protects only pages it reports. A write
 * through a TLB entry another CPU still holds between the kernel's change
 * of the entry and its TLB flush lands on a page reported by this very
 * call, and the flush completes before the ioctl returns; the callback for
 * a run is called only after the ioctl that reported it returned, so the
 * caller's rescan of that page reads the write. Writes after the flush
 * fault and are reported by the next collect. Arenas added during a
 * collect are not seen by it, but their pages stay "written" until a
 * collect that sees them protects them: reported then, never lost.
 *
 * The kernel's constraints (found on Linux 6.18):
 *  - PM_SCAN_WP_MATCHING silently skips a mapping that is not registered
 *    for asynchronous write-protect with markers; PM_SCAN_CHECK_WPASYNC
 *    turns that into EPERM, and "with markers" on anonymous memory needs
 *    UFFD_FEATURE_WP_UNPOPULATED. Both features are required. The scan
 *    walks only registered ranges, never the gaps between arenas.
 *  - One userfaultfd per mapping: a program that registers our arenas with
 *    its own would get EBUSY (and we would, registering first).
 *  - A userfaultfd, and /proc/self/pagemap once opened, act on the memory
 *    of the process that created them, from any process that holds the
 *    descriptor. A forked child must therefore never use the inherited
 *    ones: cgc__dirty_fork_child opens its own (see there).
 *  - The first write into a transparent huge page that is protected splits
 *    it into 4 KiB pages.
 *
 * SOFT mode (kernels with CONFIG_MEM_SOFT_DIRTY, where the start-up probe
 * shows the bit being set): clear_refs 4 clears every soft-dirty bit of the
 * process; pagemap bit 55 says which pages were written since. Clearing is
 * process-wide and not atomic with the read, so a collect with rearm does
 * not clear: pages stay reported until the next arm (correct, but
 * pre-cleaning does not shrink the set in this mode).
 *
 * NONE: no tracker; collect fails, and the collector marks with the world
 * stopped. Any failure after start-up (registering an arena, re-opening in
 * a forked child) also lands here, for the rest of the process.
 *
 * Memory: the range table is metadata (cgc__meta_alloc): cgc's globals
 * are scanned as roots and must not hold heap addresses. The scan's output
 * buffer is a 3 KiB array on the caller's stack, so calls on different
 * threads need no lock and nothing is allocated (collect may run inside a
 * stop-the-world pause).
 */
#include "dirty.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel decides at run time; build hosts' headers (Debian 12: 6.1)
 * may predate these. Values are the kernel's ABI. */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef PAGEMAP_SCAN
struct page_region {
    uint64_t start, end, categories;
};
struct pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#endif

/* The kernel's page (what PAGEMAP_SCAN and pagemap count), not cgc's
 * 8 KiB page: 4 KiB on x86-64; other sizes are read at start-up. */
static size_t os_page = 4096;

#define PM_SOFT_DIRTY_BIT 55
#define SCAN_VEC 128            /* page_regions per PAGEMAP_SCAN call: 3 KiB of stack */
#define SOFT_CHUNK 512          /* pagemap entries per pread in SOFT mode: 4 KiB of stack */
#define MAX_RANGES 4096         /* separate heap ranges (arenas of 64 MiB or more, adjacent ones merged) */

_Atomic uint64_t cgc__dirty_pages_total;
_Atomic uint64_t cgc__dirty_hot_seals;

/* Registered ranges: append-only, each entry written before nranges
 * counts it (release), so a collect reads complete entries without a lock.
 * Kept as end and length so that a range mapped just below the last one
 * (the kernel places mappings top-down) extends it with one store. */
typedef struct {
    uintptr_t end;
    _Atomic size_t len;
} range;

static range *ranges;                  /* metadata: MAX_RANGES entries */

/* Entry i as [*start, end), its length read once. */
static uintptr_t range_at(size_t i, uintptr_t *start)
{
    *start = ranges[i].end - atomic_load_explicit(&ranges[i].len, memory_order_acquire);
    return ranges[i].end;
}
static _Atomic size_t nranges;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;   /* ranges, init, registration */

static _Atomic int inited;
static _Atomic cgc__dirty_mode mode = CGC__DIRTY_NONE;

/* Hot ranges (cgc__dirty_set_hot): never protected, reported written by
 * every collect. Sorted, disjoint, page aligned; read and written only by
 * the thread that arms and collects (the collector's). */
/* Heap addresses: in metadata, not in globals (which are scanned as
 * roots: a hot range's start kept its object alive for good once it was
 * no longer hot, mark.c "shadows"). Mapped at the first cgc__dirty_set_hot. */
static uintptr_t *hot_lo, *hot_hi;   /* CGC__DIRTY_HOT_MAX each */
static int nhot;
static bool hot_sealed;   /* protected since the last arm (cgc__dirty_seal_hot) */

/* The end of the piece of [s, e) that starts at s: up to the next hot
 * range (*hot false), or to the end of the hot range s lies in, within e
 * (*hot true). Sealed hot ranges are tracked like any page: no pieces,
 * unless sealed_too (the disarm, which unprotects them first). */
static uintptr_t next_piece(uintptr_t s, uintptr_t e, bool sealed_too, bool *hot)
{
    *hot = false;
    for (int h = 0; h < nhot && (sealed_too || !hot_sealed); h++) {
        if (hot_hi[h] <= s)
            continue;
        if (hot_lo[h] >= e)
            break;
        if (hot_lo[h] > s)
            return hot_lo[h];
        *hot = true;
        return hot_hi[h] < e ? hot_hi[h] : e;
    }
    return e;
}
static _Atomic(cgc__dirty_skip_fn) skip_fn;

void cgc__dirty_set_skip(cgc__dirty_skip_fn fn)
{
    atomic_store(&skip_fn, fn);
}

/* The end of the part of [s, e) that starts at s, all skipped (*skip) or
 * none (cgc__dirty_set_skip). */
static uintptr_t next_part(uintptr_t s, uintptr_t e, bool *skip)
{
    cgc__dirty_skip_fn fn = atomic_load_explicit(&skip_fn, memory_order_relaxed);
    *skip = false;
    if (!fn)
        return e;
    uintptr_t pe = fn(s, e, skip);
    /* A bad answer (no progress, past e, off the kernel's pages): never
     * loop, never skip; the rest is watched. */
    if (pe <= s || pe > e || (pe != e && (pe & (os_page - 1)))) {
        *skip = false;
        return e;
    }
    return pe;
}
static _Atomic int armed;
static int uffd = -1, pagemap_fd = -1, clear_refs_fd = -1;
static pid_t owner;                    /* the process the descriptors act on */
static _Atomic int soft_unarmed;       /* SOFT in a forked child before its first arm */
/* The why line: written into the buffer not on show, then published, so a
 * reader (a gctrace line) never sees half of it. Changes at most twice in
 * a process (start-up, the fall to NONE), and in a forked child. */
static char why_buf[2][256];
static _Atomic(const char *) why = "stop-the-world: tracker not initialised";

static void __attribute__((format(printf, 1, 2))) set_why(const char *fmt, ...)
{
    char *b = atomic_load(&why) == why_buf[0] ? why_buf[1] : why_buf[0];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof why_buf[0], fmt, ap);
    va_end(ap);
    atomic_store(&why, b);
}

/* errno's name for the why line ("EPERM"), or its number. Not
 * strerrorname_np: glibc 2.32+ only. */
#define errname(e) errname_in((e), (char[24]){0})
static const char *errname_in(int e, char *buf)
{
    static const struct {
        int e;
        const char *name;
    } names[] = {
        {EPERM, "EPERM"},   {EACCES, "EACCES"}, {ENOSYS, "ENOSYS"}, {EINVAL, "EINVAL"},
        {ENOMEM, "ENOMEM"}, {EBUSY, "EBUSY"},   {ENOTTY, "ENOTTY"}, {EFAULT, "EFAULT"},
        {ENOENT, "ENOENT"}, {EMFILE, "EMFILE"}, {ENFILE, "ENFILE"}, {ENOSPC, "ENOSPC"},
        {ECHILD, "ECHILD"}, {EAGAIN, "EAGAIN"}, {EEXIST, "EEXIST"}, {EOPNOTSUPP, "EOPNOTSUPP"},
        {ESRCH, "ESRCH"},   {EIO, "EIO"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].e == e)
            return names[i].name;
    snprintf(buf, 24, "errno %d", e);
    return buf;
}

/* Descriptors opened here are never inherited across exec. */
static int open_uffd(void)
{
    if (cgc__fault(CGC_FAULT_UFFD)) {
        errno = ENOMEM;
        return -1;
    }
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0 && errno == EINVAL)   /* before Linux 5.11: no user-mode-only flag */
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    return fd;
}

/* UFFDIO_API asking for asynchronous write-protect with markers on empty
 * entries (once per descriptor); 0, or -1 with errno (EINVAL: the kernel
 * lacks a feature: WP_ASYNC is Linux 6.7, WP_UNPOPULATED 6.4). */
static int uffd_api(int fd)
{
    if (cgc__fault(CGC_FAULT_UFFD)) {
        errno = EINVAL;
        return -1;
    }
    struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED};
    return ioctl(fd, UFFDIO_API, &api);
}

static int uffd_register(int fd, uintptr_t start, size_t len)
{
    if (cgc__fault(CGC_FAULT_UFFD)) {
        errno = ENOMEM;
        return -1;
    }
    struct uffdio_register r = {.range = {.start = start, .len = len}, .mode = UFFDIO_REGISTER_MODE_WP};
    return ioctl(fd, UFFDIO_REGISTER, &r);
}

static int uffd_protect(int fd, uintptr_t start, size_t len, bool on)
{
    if (cgc__fault(CGC_FAULT_UFFD)) {
        errno = ENOMEM;
        return -1;
    }
    struct uffdio_writeprotect w = {.range = {.start = start, .len = len},
                                    .mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0};
    return ioctl(fd, UFFDIO_WRITEPROTECT, &w);
}

/* Runs of dirty pages, merged across the buffers of successive calls (a
 * run cut by a full buffer or a resumed walk comes back as one). */
typedef struct {
    uintptr_t start, end;
    long pages;
    long hot;   /* of which in hot ranges, reported without asking the kernel */
    cgc__dirty_fn fn;
    void *arg;
} runs;

static void run_flush(runs *r)
{
    if (r->end > r->start) {
        size_t n = (r->end - r->start) / os_page;
        r->pages += (long)n;
        if (r->fn)
            r->fn(r->start, n, r->arg);
    }
    r->start = r->end = 0;
}

static void run_add(runs *r, uintptr_t s, uintptr_t e)
{
    if (s == r->end && r->end > r->start) {
        r->end = e;
        return;
    }
    run_flush(r);
    r->start = s;
    r->end = e;
}

/* PAGEMAP_SCAN over [s, e) of one registered range; 0 or -1. */
static int scan_range(int pm, uintptr_t s, uintptr_t e, bool rearm, runs *r)
{
    struct page_region vec[SCAN_VEC];
    uintptr_t done = s;   /* everything below was reported */
    while (s < e) {
        if (cgc__fault(CGC_FAULT_UFFD))
            return -1;
        struct pm_scan_arg a = {
            .size = sizeof a,
            .flags = PM_SCAN_CHECK_WPASYNC | (rearm ? PM_SCAN_WP_MATCHING : 0),
            .start = s,
            .end = e,
            .vec = (uintptr_t)vec,
            .vec_len = SCAN_VEC,
            .category_mask = PAGE_IS_WRITTEN,
            .return_mask = PAGE_IS_WRITTEN,
        };
        long n = ioctl(pm, PAGEMAP_SCAN, &a);
        if (n < 0)
            return -1;
        /* Regions come in address order; a resumed read-only walk may
         * report again pages below where the last call's output ended:
         * only what lies above that is new. */
        for (long i = 0; i < n; i++) {
            uintptr_t rs = (uintptr_t)vec[i].start, re = (uintptr_t)vec[i].end;
            if (re <= done)
                continue;
            run_add(r, rs < done ? done : rs, re);
            done = re;
        }
        if (a.walk_end >= e)
            break;
        if (a.walk_end <= s)
            return -1;   /* no progress: never loop */
        s = (uintptr_t)a.walk_end;
    }
    return 0;
}

/* Protects every page of [s, e) that reads as written, outputting
 * nothing: the arm. Ten times faster than UFFDIO_WRITEPROTECT over the
 * range (measured, every page present: 0.13 against 1.28 ms for 64 MiB,
 * 2.3 against 26 ms for 1 GiB) and the same in effect, since everything
 * unprotected reads as written. 0 or -1. */
static int protect_written(int pm, uintptr_t s, uintptr_t e)
{
    while (s < e) {
        if (cgc__fault(CGC_FAULT_UFFD))
            return -1;
        struct pm_scan_arg a = {
            .size = sizeof a,
            .flags = PM_SCAN_CHECK_WPASYNC | PM_SCAN_WP_MATCHING,
            .start = s,
            .end = e,
            .category_mask = PAGE_IS_WRITTEN,
            .return_mask = PAGE_IS_WRITTEN,
        };
        if (ioctl(pm, PAGEMAP_SCAN, &a) < 0 || a.walk_end <= s)
            return -1;
        s = (uintptr_t)a.walk_end;
    }
    return 0;
}

/* SOFT: the pagemap entries of [s, e); bit 55 set: dirty. 0, or -1 if
 * pagemap cannot be read (the caller then treats the range as dirty). */
static int soft_range(int pm, uintptr_t s, uintptr_t e, runs *r)
{
    uint64_t ent[SOFT_CHUNK];
    while (s < e) {
        size_t n = (e - s) / os_page;
        if (n > SOFT_CHUNK)
            n = SOFT_CHUNK;
        if (cgc__fault(CGC_FAULT_UFFD))
            return -1;
        ssize_t got = pread(pm, ent, n * 8, (off_t)(s / os_page * 8));
        if (got <= 0 || got % 8)
            return -1;
        n = (size_t)got / 8;
        for (size_t i = 0; i < n; i++)
            if (ent[i] >> PM_SOFT_DIRTY_BIT & 1)
                run_add(r, s + i * os_page, s + (i + 1) * os_page);
        s += n * os_page;
    }
    return 0;
}

/* ---- start-up probes ------------------------------------------------------ */

/* Scratch mapping of two pages: register, protect, write the second page,
 * and PAGEMAP_SCAN must report exactly that page; then with
 * WP_MATCHING, again exactly that page, then nothing. 0, or -1 with the
 * failing step in *step and errno set. */
static int probe_scan(int fd, int pm, const char **step)
{
    size_t len = 2 * os_page;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int rc = -1, e = 0;
    struct page_region vec[2];
    struct pm_scan_arg a;
    if (p == MAP_FAILED) {
        *step = "probe mmap";
        return -1;
    }
    p[0] = 1;
    p[os_page] = 1;
    *step = "UFFDIO_REGISTER";
    if (uffd_register(fd, (uintptr_t)p, len) != 0)
        goto out;
    *step = "PAGEMAP_SCAN (protect)";
    if (protect_written(pm, (uintptr_t)p, (uintptr_t)p + len) != 0)
        goto out;
    p[os_page] = 2;
    for (int round = 0; round < 3; round++) {
        a = (struct pm_scan_arg){.size = sizeof a,
                                 .flags = PM_SCAN_CHECK_WPASYNC | (round == 1 ? PM_SCAN_WP_MATCHING : 0),
                                 .start = (uintptr_t)p,
                                 .end = (uintptr_t)p + len,
                                 .vec = (uintptr_t)vec,
                                 .vec_len = 2,
                                 .category_mask = PAGE_IS_WRITTEN,
                                 .return_mask = PAGE_IS_WRITTEN};
        *step = "PAGEMAP_SCAN";
        long n = ioctl(pm, PAGEMAP_SCAN, &a);
        if (n < 0)
            goto out;
        bool want = round < 2;
        *step = "PAGEMAP_SCAN: wrong pages";
        if (n != (want ? 1 : 0) ||
            (want && (vec[0].start != (uintptr_t)p + os_page || vec[0].end != (uintptr_t)p + len))) {
            errno = EINVAL;
            goto out;
        }
    }
    rc = 0;
out:
    e = errno;
    struct uffdio_range ur = {.start = (uintptr_t)p, .len = len};
    ioctl(fd, UFFDIO_UNREGISTER, &ur);
    munmap(p, len);
    errno = e;
    return rc;
}

/* Opens and checks the UFFD mode's descriptors; 0, or -1 with the reason in buf. */
static int open_tracker(char *buf, size_t n, bool probe)
{
    int fd = open_uffd(), pm = -1;
    const char *step = "userfaultfd";
    if (fd < 0)
        goto fail;
    step = "UFFDIO_API (WP_ASYNC, WP_UNPOPULATED)";
    if (uffd_api(fd) != 0)
        goto fail;
    step = "open /proc/self/pagemap";
    pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pm < 0)
        goto fail;
    if (probe && probe_scan(fd, pm, &step) != 0)
        goto fail;
    uffd = fd;
    pagemap_fd = pm;
    owner = getpid();
    return 0;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (pm >= 0)
        close(pm);
    snprintf(buf, n, "%s: %s", step, errname(e));
    return -1;
}

static uint64_t pagemap_entry(int pm, const volatile uint8_t *p)
{
    uint64_t v = 0;
    if (pread(pm, &v, sizeof v, (off_t)((uintptr_t)p / os_page * 8)) != (ssize_t)sizeof v)
        return UINT64_MAX;
    return v;
}

/* Soft-dirty works if, on a scratch page, clear_refs 4 clears bit 55 and
 * a write sets it again. 0 with the descriptors SOFT mode keeps in *cr and
 * *pm, or -1 with the reason in buf. */
static int probe_soft(char *buf, size_t n, int *cr_out, int *pm_out)
{
    int cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    volatile uint8_t *p = mmap(NULL, os_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const char *res = NULL;
    int e = errno;
    if (cr < 0 || pm < 0 || p == MAP_FAILED) {
        snprintf(buf, n, "soft-dirty: %s: %s",
                 cr < 0 ? "open /proc/self/clear_refs" : pm < 0 ? "open /proc/self/pagemap" : "probe mmap",
                 errname(e));
        goto out;
    }
    p[0] = 1;
    if (write(cr, "4", 1) != 1) {
        snprintf(buf, n, "soft-dirty: clear_refs 4: %s", errname(errno));
        goto out;
    }
    uint64_t before = pagemap_entry(pm, p);
    p[0] = 2;
    uint64_t after = pagemap_entry(pm, p);
    if (before == UINT64_MAX || after == UINT64_MAX)
        res = "pagemap unreadable";
    else if (before >> PM_SOFT_DIRTY_BIT & 1)
        res = "bit 55 still set after clear_refs 4";
    else if (!(after >> PM_SOFT_DIRTY_BIT & 1))
        res = "bit 55 not set by a write after clear_refs 4 (kernel without CONFIG_MEM_SOFT_DIRTY?)";
    if (res) {
        snprintf(buf, n, "soft-dirty: %s", res);
        goto out;
    }
    munmap((void *)p, os_page);
    *cr_out = cr;
    *pm_out = pm;
    return 0;
out:
    if (p != MAP_FAILED)
        munmap((void *)p, os_page);
    if (cr >= 0)
        close(cr);
    if (pm >= 0)
        close(pm);
    return -1;
}

/* ---- modes ------------------------------------------------------------------ */

/* For good: collects fail from now on (dirty.h). Called with lock held. */
static void fall_back(const char *what, int e)
{
    atomic_store(&mode, CGC__DIRTY_NONE);
    set_why("stop-the-world: %s: %s", what, errname(e));
}

/* Registers every range recorded so far with the current uffd; lock held. */
static int register_all(void)
{
    size_t n = atomic_load(&nranges);
    for (size_t i = 0; i < n; i++) {
        uintptr_t s, e = range_at(i, &s);
        if (uffd_register(uffd, s, e - s) != 0)
            return -1;
    }
    return 0;
}

cgc__dirty_mode cgc__dirty_init(void)
{
    if (atomic_load_explicit(&inited, memory_order_acquire))
        return atomic_load(&mode);
    pthread_mutex_lock(&lock);
    if (!atomic_load(&inited)) {
        long ps = sysconf(_SC_PAGESIZE);
        if (ps > 0)
            os_page = (size_t)ps;
        char ureason[96], sreason[120];
        cgc__dirty_mode m = CGC__DIRTY_NONE;
        if (cgc__cfg.gcstoptheworld) {
            set_why("stop-the-world: CGC_DEBUG=gcstoptheworld=%d", cgc__cfg.gcstoptheworld);
        } else if (cgc__cfg.gcconcurrent == 0) {
            /* Turned off: no descriptor, no registered ranges, nothing of
             * the tracker's in a stop-the-world process (its arenas would
             * otherwise be registered with userfaultfd, for fork and the
             * kernel's page handling to carry, and never used). */
            set_why("stop-the-world: CGC_DEBUG=gcconcurrent=0");
        } else if (open_tracker(ureason, sizeof ureason, true) == 0) {
            m = CGC__DIRTY_UFFD;
            set_why("uffd-wp+pagemap_scan");
            if (register_all() != 0) {
                snprintf(ureason, sizeof ureason, "UFFDIO_REGISTER: %s", errname(errno));
                m = CGC__DIRTY_NONE;
                set_why("stop-the-world: %s", ureason);
            }
        } else if (probe_soft(sreason, sizeof sreason, &clear_refs_fd, &pagemap_fd) == 0) {
            m = CGC__DIRTY_SOFT;
            owner = getpid();
            set_why("soft-dirty (no uffd-wp: %s)", ureason);
        } else {
            set_why("stop-the-world: %s; %s", ureason, sreason);
        }
        atomic_store(&mode, m);
        atomic_store_explicit(&inited, 1, memory_order_release);
    }
    pthread_mutex_unlock(&lock);
    return atomic_load(&mode);
}

cgc__dirty_mode cgc__dirty_mode_now(void)
{
    return atomic_load(&mode);
}

const char *cgc__dirty_why(void)
{
    return atomic_load(&why);
}

/* The descriptors act on the process that opened them (file comment). */
static bool usable(void)
{
    return getpid() == owner;
}

int cgc__dirty_add_range(void *addr, size_t len)
{
    int rc = 0;
    uintptr_t a = (uintptr_t)addr;
    pthread_mutex_lock(&lock);
    /* Registered first, published after: a collect never scans a range
     * the kernel does not track (CHECK_WPASYNC would fail it). Registered,
     * not protected: its pages read as written until a collect with rearm
     * protects them (a range added while armed is reported, never missed). */
    if (atomic_load(&mode) == CGC__DIRTY_UFFD && !usable()) {
        /* A child made without the atfork handlers (a raw clone): the
         * descriptor would register the range in the parent. */
        fall_back("heap range mapped in a child process the tracker did not follow", ECHILD);
        rc = -1;
    } else if (atomic_load(&mode) == CGC__DIRTY_UFFD && uffd_register(uffd, a, len) != 0) {
        fall_back("UFFDIO_REGISTER", errno);
        rc = -1;
    }
    if (!ranges)
        ranges = cgc__meta_alloc(MAX_RANGES * sizeof *ranges, &cgc__mem.gc_sys);
    size_t n = atomic_load(&nranges);
    if (ranges && n > 0 && ranges[n - 1].end - atomic_load(&ranges[n - 1].len) == a + len) {
        /* Just below the last range, as the kernel places mappings: one
         * store makes it longer (a collect reading the old length misses
         * only the new part, which reads as written until protected). */
        atomic_store_explicit(&ranges[n - 1].len, atomic_load(&ranges[n - 1].len) + len, memory_order_release);
    } else if (ranges && n < MAX_RANGES) {
        ranges[n].end = a + len;
        atomic_store_explicit(&ranges[n].len, len, memory_order_relaxed);
        atomic_store_explicit(&nranges, n + 1, memory_order_release);
    } else {
        if (atomic_load(&mode) != CGC__DIRTY_NONE)
            fall_back(ranges ? "too many separate heap ranges" : "range table", ENOMEM);
        rc = -1;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int cgc__dirty_arm(void)
{
    cgc__dirty_mode m = atomic_load(&mode);
    if (m == CGC__DIRTY_NONE || !usable())
        return -1;
    if (m == CGC__DIRTY_SOFT) {
        if (cgc__fault(CGC_FAULT_UFFD) || write(clear_refs_fd, "4", 1) != 1)
            return -1;
        atomic_store(&soft_unarmed, 0);
        hot_sealed = false;
        atomic_store(&armed, 1);
        return 0;
    }
    hot_sealed = false;
    size_t n = atomic_load_explicit(&nranges, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        uintptr_t s, e = range_at(i, &s);
        /* Every piece but the hot ranges and the skipped parts protected. */
        for (uintptr_t pe; s < e; s = pe) {
            bool hot, skip;
            pe = next_piece(s, e, false, &hot);
            for (uintptr_t q = s, qe; !hot && q < pe; q = qe) {
                qe = next_part(q, pe, &skip);
                if (!skip && protect_written(pagemap_fd, q, qe) != 0)
                    return -1;
            }
        }
    }
    atomic_store(&armed, 1);
    return 0;
}

long cgc__dirty_collect(uintptr_t lo, uintptr_t hi, bool rearm, cgc__dirty_fn fn, void *arg)
{
    cgc__dirty_mode m = atomic_load(&mode);
    if (m == CGC__DIRTY_NONE || !usable() || (m == CGC__DIRTY_SOFT && atomic_load(&soft_unarmed)))
        return -1;
    lo &= ~(uintptr_t)(os_page - 1);
    hi = hi > UINTPTR_MAX - os_page ? hi : (hi + os_page - 1) & ~(uintptr_t)(os_page - 1);
    runs r = {.fn = fn, .arg = arg};
    size_t n = atomic_load_explicit(&nranges, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        uintptr_t s, e = range_at(i, &s);
        s = s < lo ? lo : s;
        e = e > hi ? hi : e;
        /* The pieces between the hot ranges asked of the kernel, the hot
         * ranges reported: never protected, written for all we know. */
        for (uintptr_t pe; s < e; s = pe) {
            bool hot;
            pe = next_piece(s, e, false, &hot);
            if (hot) {
                run_add(&r, s, pe);
                r.hot += (long)((pe - s) / os_page);
                continue;
            }
            for (uintptr_t q = s, qe; q < pe; q = qe) {
                bool skip;
                qe = next_part(q, pe, &skip);
                if (!skip && (m == CGC__DIRTY_UFFD ? scan_range(pagemap_fd, q, qe, rearm, &r)
                                                   : soft_range(pagemap_fd, q, qe, &r)) != 0)
                    return -1;
            }
        }
    }
    run_flush(&r);
    /* An arena that failed to register meanwhile is not in this answer. */
    if (atomic_load(&mode) == CGC__DIRTY_NONE)
        return -1;
    atomic_fetch_add_explicit(&cgc__dirty_pages_total, (uint64_t)r.pages, memory_order_relaxed);
    return r.pages - r.hot;
}

void cgc__dirty_set_hot(const uintptr_t *lo, const uintptr_t *hi, int n)
{
    if (n > 0 && !hot_lo) {
        uintptr_t *t = cgc__meta_alloc(2 * CGC__DIRTY_HOT_MAX * sizeof *t, &cgc__mem.gc_sys);
        if (t) {
            hot_lo = t;
            hot_hi = t + CGC__DIRTY_HOT_MAX;
        }
    }
    if (!hot_lo)   /* no memory for the table: none hot, tracked as usual */
        n = 0;
    int k = 0;
    for (int i = 0; i < n && k < CGC__DIRTY_HOT_MAX; i++) {
        uintptr_t a = lo[i] & ~(uintptr_t)(os_page - 1);
        uintptr_t b = hi[i] > UINTPTR_MAX - os_page ? hi[i] : (hi[i] + os_page - 1) & ~(uintptr_t)(os_page - 1);
        if (a >= b)
            continue;
        /* Insert in order; an overlap with a neighbour is merged into it. */
        int j = k;
        while (j > 0 && hot_lo[j - 1] > a) {
            hot_lo[j] = hot_lo[j - 1];
            hot_hi[j] = hot_hi[j - 1];
            j--;
        }
        hot_lo[j] = a;
        hot_hi[j] = b;
        k++;
    }
    /* Merge overlapping or touching neighbours. */
    int w = 0;
    for (int i = 0; i < k; i++) {
        if (w > 0 && hot_lo[i] <= hot_hi[w - 1]) {
            if (hot_hi[i] > hot_hi[w - 1])
                hot_hi[w - 1] = hot_hi[i];
        } else {
            hot_lo[w] = hot_lo[i];
            hot_hi[w] = hot_hi[i];
            w++;
        }
    }
    nhot = w;
}

bool cgc__dirty_hot_unsealed(void)
{
    return nhot > 0 && !hot_sealed;
}

long cgc__dirty_seal_hot(cgc__dirty_fn fn, void *arg)
{
    if (hot_sealed)
        return 0;
    hot_sealed = true;   /* from here the collects below treat them as any page */
    long total = 0;
    for (int h = 0; h < nhot; h++) {
        long n = cgc__dirty_collect(hot_lo[h], hot_hi[h], true, fn, arg);
        if (n < 0)
            return -1;
        total += n;
    }
    if (nhot)
        atomic_fetch_add_explicit(&cgc__dirty_hot_seals, 1, memory_order_relaxed);
    return total;
}

void cgc__dirty_disarm(void)
{
    if (!atomic_exchange(&armed, 0) || atomic_load(&mode) != CGC__DIRTY_UFFD || !usable())
        return;
    /* Unprotect so the program stops paying a fault per page; a failure
     * only leaves some pages to fault once more. The skipped parts (the
     * callback's pointer-free arenas) were never protected, so they are
     * not walked: churn's disarm took 3.3-4.6 ms a cycle against 5-7
     * (median over a run's cycles). It runs while the program does, and
     * for as long as it lasts the kernel has a TLB flush pending on the
     * process, so every write fault the program takes meanwhile sends a
     * flush to the other CPU (do_wp_page, under uffd-wp): 4-6% of churn's
     * samples. A part skipped now that was protected earlier in the
     * cycle (a scanned span taken from it and freed since) keeps its
     * protection: a page of it the program writes faults once more, and
     * reads as written, as any page.
     *   The hot ranges first, when sealed: the program writes them all the
     * time (churn's table of pointers), and a write to a page still
     * protected while this walk runs is the dearest fault there is (the
     * flush, and the page-table lock the walk holds: 20-40 us here). In
     * churn (perf, 4 kHz) the program's writes to its table during the
     * disarm took 117 samples a run, 29 ms, with the table unprotected in
     * address order; 4 with it first. The walk that follows leaves them
     * out, as it does hot ranges never sealed (never protected). */
    if (hot_sealed)
        for (int h = 0; h < nhot; h++)
            if (uffd_protect(uffd, hot_lo[h], hot_hi[h] - hot_lo[h], false) != 0)
                return;
    size_t n = atomic_load_explicit(&nranges, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        uintptr_t s, e = range_at(i, &s);
        for (uintptr_t pe; s < e; s = pe) {
            bool hot;
            pe = next_piece(s, e, true, &hot);
            for (uintptr_t q = s, qe; !hot && q < pe; q = qe) {
                bool skip;
                qe = next_part(q, pe, &skip);
                if (!skip && uffd_protect(uffd, q, qe - q, false) != 0)
                    return;
            }
        }
    }
}

/* In a forked child (atfork handler: only async-signal-safe calls, no
 * other thread). Without UFFD_FEATURE_EVENT_FORK, which we do not ask
 * for, the kernel drops the registration from the child's copy of every
 * mapping and clears the protection bits of the copied entries, so the
 * child's heap is untracked; the inherited userfaultfd and pagemap
 * descriptors still act on the PARENT's memory and must not be used (a
 * write-protect through them would protect the parent's pages, a scan
 * would read the parent's). So: close them, open the child's own and
 * register every range again. Nothing is protected in the child until its
 * next arm, so a mark the fork interrupted sees every page as written.
 * Any failure: NONE. (SOFT: re-open pagemap and clear_refs; collects fail
 * until the child's first arm, whose clear_refs starts its own period.) */
void cgc__dirty_fork_child(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&lock, &fresh, sizeof lock);   /* no other thread exists */
    cgc__dirty_mode m = atomic_load(&mode);
    atomic_store(&armed, 0);
    if (uffd >= 0)
        close(uffd);
    if (pagemap_fd >= 0)
        close(pagemap_fd);
    if (clear_refs_fd >= 0)
        close(clear_refs_fd);
    uffd = pagemap_fd = clear_refs_fd = -1;
    owner = getpid();
    if (m == CGC__DIRTY_UFFD) {
        char reason[96];
        if (open_tracker(reason, sizeof reason, false) != 0) {
            atomic_store(&mode, CGC__DIRTY_NONE);
            set_why("stop-the-world: forked child: %s", reason);
        } else if (register_all() != 0) {
            fall_back("forked child: UFFDIO_REGISTER", errno);
        }
    } else if (m == CGC__DIRTY_SOFT) {
        char reason[120];
        atomic_store(&soft_unarmed, 1);
        if (cgc__fault(CGC_FAULT_UFFD)) {
            atomic_store(&mode, CGC__DIRTY_NONE);
            set_why("stop-the-world: forked child: soft-dirty: injected fault");
        } else if (probe_soft(reason, sizeof reason, &clear_refs_fd, &pagemap_fd) != 0) {
            atomic_store(&mode, CGC__DIRTY_NONE);
            set_why("stop-the-world: forked child: %s", reason);
        }
    }
}
