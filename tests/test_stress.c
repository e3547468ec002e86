/* test_stress.c — deterministic multi-threaded stress: threads build,
 * mutate, share and drop random object graphs of varied sizes and kinds;
 * every object carries a checksum of its contents that is verified on every
 * visit. Threads come and go during the run (so threads are created and
 * exit while collections run), and some block in system calls holding
 * objects only on their stacks. Any corruption fails the test.
 *
 * Under fault injection (CGC_FAULTS=<percent>/<seed>, tests/faults.cmake:
 * mmap, madvise, cgc's thread creation and cgroup reads fail at random;
 * src/fault.c) an allocation may return NULL and a thread may not start:
 * the run goes on without them, and at the end checks that nothing leaked
 * (threads, mapped memory). In a release build, where the library does
 * not read CGC_FAULTS, the test switches the faults on itself.
 *
 * Usage: test_stress [THREADS [ROUNDS [OPS]]]   (defaults 4 4 40000)
 */
#include "cgc.h"
#include "check.h"
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#define NCHILD 4
#define MAGIC 0x5eed5eedu

typedef struct obj obj;
struct obj {
    uint32_t magic;
    uint32_t payload;          /* bytes of payload after the header */
    uint64_t sum;              /* checksum of payload and of `salt` */
    uint64_t salt;
    obj     *child[NCHILD];
    unsigned char data[];
};

/* Atomic leaves: a header without pointers. */
typedef struct leaf {
    uint32_t magic;
    uint32_t len;
    uint64_t sum;
    unsigned char data[];
} leaf;

static _Atomic long corruptions, visits, allocs, nulls;
static int faults;   /* CGC_FAULTS set: NULL from an allocation is allowed */

static uint64_t checksum(const unsigned char *p, size_t n, uint64_t salt)
{
    uint64_t h = 1469598103934665603ull ^ salt;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static size_t random_size(uint64_t *r)
{
    uint64_t x = check_rng(r) % 1000;
    if (x < 700)
        return check_rng(r) % 120;           /* small */
    if (x < 960)
        return 120 + check_rng(r) % 4000;    /* medium */
    if (x < 998)
        return 4000 + check_rng(r) % 60000;  /* up to the large threshold */
    return 40000 + check_rng(r) % 400000;    /* large */
}

static void fill_obj(obj *o, uint64_t *r)
{
    for (uint32_t i = 0; i < o->payload; i++)
        o->data[i] = (unsigned char)check_rng(r);
    o->salt = check_rng(r);
    o->sum = checksum(o->data, o->payload, o->salt);
}

/* Whether an allocation returned NULL: counted under fault injection, where
 * it may; anywhere else the test stops at once. */
static int failed(const void *p)
{
    if (p)
        return 0;
    if (!faults) {
        fprintf(stderr, "allocation failed\n");
        abort();
    }
    atomic_fetch_add(&nulls, 1);
    return 1;
}

static obj *new_obj(uint64_t *r)
{
    size_t n = random_size(r);
    obj *o = cgc_malloc(sizeof(obj) + n);
    if (failed(o))
        return NULL;
    o->magic = MAGIC;
    o->payload = (uint32_t)n;
    fill_obj(o, r);
    atomic_fetch_add(&allocs, 1);
    return o;
}

static leaf *new_leaf(uint64_t *r)
{
    size_t n = 1 + check_rng(r) % 300;
    leaf *l = cgc_malloc_atomic(sizeof(leaf) + n);
    if (failed(l))
        return NULL;
    l->magic = MAGIC ^ 1;
    l->len = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        l->data[i] = (unsigned char)check_rng(r);
    l->sum = checksum(l->data, n, 0);
    return l;
}

static void corrupt(const char *what, const void *p)
{
    if (atomic_fetch_add(&corruptions, 1) < 10)
        fprintf(stderr, "CORRUPTION: %s at %p\n", what, p);
}

/* Verifies o and up to `budget` objects below it. Child slot 3 may hold a
 * leaf (tagged by its magic). */
static void verify(obj *o, int depth, int *budget)
{
    if (!o || *budget <= 0)
        return;
    (*budget)--;
    atomic_fetch_add(&visits, 1);
    if (o->magic == (MAGIC ^ 1)) {
        leaf *l = (leaf *)o;
        if (checksum(l->data, l->len, 0) != l->sum)
            corrupt("leaf checksum", l);
        return;
    }
    if (o->magic != MAGIC) {
        corrupt("magic", o);
        return;
    }
    if (cgc_base(o) != o)
        corrupt("live object not allocated", o);
    if (checksum(o->data, o->payload, o->salt) != o->sum)
        corrupt("checksum", o);
    if (depth < 12)
        for (int i = 0; i < NCHILD; i++)
            verify(o->child[i], depth + 1, budget);
}

/* Shared between threads: a table in data/bss, guarded by a lock. */
#define SHARED 256
static obj *shared[SHARED];
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

#define LOCAL 512

typedef struct worker_arg {
    uint64_t seed;
    int ops;
} worker_arg;

static void *worker(void *argp)
{
    worker_arg *a = argp;
    uint64_t r = a->seed;
    obj *local[LOCAL];            /* roots on this thread's stack */
    memset(local, 0, sizeof local);
    for (int op = 0; op < a->ops; op++) {
        uint64_t x = check_rng(&r) % 100;
        int i = (int)(check_rng(&r) % LOCAL), j = (int)(check_rng(&r) % LOCAL);
        if (x < 40) {
            local[i] = new_obj(&r);                       /* drop the old one */
        } else if (x < 55) {
            if (local[i] && local[j] && local[i]->magic == MAGIC) /* link */
                local[i]->child[check_rng(&r) % 3] = local[j];
        } else if (x < 62) {
            if (local[i] && local[i]->magic == MAGIC)
                local[i]->child[3] = (obj *)new_leaf(&r);
        } else if (x < 72) {
            int budget = 200;
            verify(local[i], 0, &budget);
        } else if (x < 78) {
            if (local[i] && local[i]->magic == MAGIC) {   /* mutate */
                fill_obj(local[i], &r);
            }
        } else if (x < 86) {
            int k = (int)(check_rng(&r) % SHARED);      /* share / take */
            pthread_mutex_lock(&shared_lock);
            if (check_rng(&r) & 1)
                shared[k] = local[i];
            else
                local[i] = shared[k];
            pthread_mutex_unlock(&shared_lock);
        } else if (x < 90) {
            /* A temporary that nobody else saw: free it early. */
            obj *t = new_obj(&r);
            int budget = 1;
            verify(t, 0, &budget);
            cgc_free(t);
        } else if (x < 93) {
            /* Grow a fresh object with realloc: contents must follow. */
            obj *t = new_obj(&r);
            if (!t)
                continue;
            uint32_t old = t->payload;
            uint32_t n2 = old + 1 + (uint32_t)(check_rng(&r) % 3000);
            obj *u = cgc_realloc(t, sizeof(obj) + n2);
            if (!u && faults) {   /* t is untouched, as realloc promises */
                atomic_fetch_add(&nulls, 1);
                if (t->magic != MAGIC || checksum(t->data, t->payload, t->salt) != t->sum)
                    corrupt("failed realloc changed the object", t);
                local[i] = t;
                continue;
            }
            if (!u || u->magic != MAGIC || checksum(u->data, old, u->salt) != u->sum)
                corrupt("realloc lost contents", u);
            u->payload = n2;
            fill_obj(u, &r);
            local[i] = u;
        } else if (x < 94) {
            usleep(50);   /* blocked in a system call with objects on the stack */
        } else {
            int budget = 1000;
            verify(local[j], 0, &budget);
        }
    }
    int budget = 1 << 30;
    for (int k = 0; k < LOCAL; k++)
        verify(local[k], 0, &budget);
    return NULL;
}

/* Under faults: the heap must grow for mmap to be called often (the
 * workload above reuses a heap of ~10 MiB). Four times, up to 48 objects
 * of 1-4 MiB, each filled and checked, then dropped: new arenas, their page
 * maps and bitmaps, large spans, while mappings fail. */
static void grow_under_faults(uint64_t seed)
{
    uint64_t r = seed | 1;
    for (int round = 0; round < 4; round++) {
        unsigned char *big[48];
        size_t len[48];
        for (int i = 0; i < 48; i++) {
            len[i] = ((size_t)1 << 20) + check_rng(&r) % ((size_t)3 << 20);
            big[i] = (i & 1) ? cgc_malloc(len[i]) : cgc_malloc_atomic(len[i]);
            if (!big[i]) {
                atomic_fetch_add(&nulls, 1);
                continue;
            }
            if (i & 1) {   /* cgc_malloc: zeroed */
                size_t bad = 0;
                for (size_t k = 0; k < len[i]; k += 4096)
                    bad += big[i][k] != 0;
                if (bad)
                    corrupt("cgc_malloc returned a non-zero page", big[i]);
            }
            memset(big[i], (int)(i + 1), len[i]);
        }
        for (int i = 0; i < 48; i++)
            if (big[i] && (big[i][0] != (unsigned char)(i + 1) || big[i][len[i] - 1] != (unsigned char)(i + 1)))
                corrupt("large object", big[i]);
        memset(big, 0, sizeof big);
        cgc_collect();
    }
}

/* Threads of the process, from /proc/self/status. */
static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* After a run under faults: the faults are switched off, every worker has
 * been joined, and what cgc holds is bounded. Threads: the main thread and
 * cgc's own (helper markers, the sweeper, the background thread) at most;
 * a worker or helper that failed to start must not have left one behind.
 * Memory: after cgc_free_os_memory, what the limit counts (sys -
 * heap_released) is at most 64 MiB: the live graphs at the end are the
 * shared table's (256 roots, 1000-object budget walks), a few MiB; the
 * runs without faults end at 9-14 MiB here. */
static void check_after_faults(void)
{
    unsigned pct = 0;
    uint64_t seed = 0;
    cgc__fault_parse(getenv("CGC_FAULTS"), &pct, &seed);
    uint64_t injected = 0;
    for (int s = 0; s < CGC_FAULT_NSITES; s++)
        injected += cgc__fault_count((cgc__fault_site)s);
    printf("faults %u%% seed %llu: mmap %llu, madvise %llu, thread %llu, cgroup %llu, uffd %llu injected; %ld "
           "NULLs\n",
           pct, (unsigned long long)seed, (unsigned long long)cgc__fault_count(CGC_FAULT_MMAP),
           (unsigned long long)cgc__fault_count(CGC_FAULT_MADVISE),
           (unsigned long long)cgc__fault_count(CGC_FAULT_THREAD),
           (unsigned long long)cgc__fault_count(CGC_FAULT_CGROUP),
           (unsigned long long)cgc__fault_count(CGC_FAULT_UFFD), atomic_load(&nulls));
    cgc__fault_set(0, 0);
    CHECK(pct == 0 || injected > 0, "no fault was injected");
    cgc_free_os_memory();
    cgc_memstats m;
    cgc_read_memstats(&m);
    uint64_t mapped = m.sys - m.heap_released;
    printf("after the run: sys %llu KiB, released %llu KiB, mapped %llu KiB, gc_sys %llu KiB, threads %d\n",
           (unsigned long long)(m.sys >> 10), (unsigned long long)(m.heap_released >> 10),
           (unsigned long long)(mapped >> 10), (unsigned long long)(m.gc_sys >> 10), thread_count());
    CHECK(mapped <= (uint64_t)64 << 20, "%llu KiB still mapped after the run", (unsigned long long)(mapped >> 10));
    /* main, the helper markers, the sweeper and the background thread, and
     * in concurrent mode the collector thread (collect.c) */
    int limit = 1 + cgc__cfg.markers - 1 + 2 + 1;
    CHECK(thread_count() <= limit, "%d threads after the run (at most %d)", thread_count(), limit);
}

int main(int argc, char **argv)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    int rounds = argc > 2 ? atoi(argv[2]) : 4;
    int ops = argc > 3 ? atoi(argv[3]) : 40000;
    const char *fv = getenv("CGC_FAULTS");
    if (fv) {
        unsigned pct;
        uint64_t seed;
        if (cgc__fault_parse(fv, &pct, &seed) != 0) {
            fprintf(stderr, "bad CGC_FAULTS=%s\n", fv);
            return 2;
        }
        faults = 1;
        if (cgc__cfg.fault_percent == 0)   /* a release build: the library did not read it */
            cgc__fault_set(pct, seed);
    }
    /* A small goal so that collections are frequent. */
    cgc_set_gc_percent(25);
    cgc_memstats m0;
    cgc_read_memstats(&m0);
    for (int round = 0; round < rounds; round++) {
        pthread_t t[64];
        worker_arg args[64];
        for (int i = 0; i < nthreads && i < 64; i++) {
            args[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(round * 64 + i + 1);
            args[i].ops = ops;
            if (cgc_pthread_create(&t[i], NULL, worker, &args[i]) != 0) {
                if (faults) {   /* its registration failed: no worker this time */
                    args[i].ops = -1;
                    continue;
                }
                fprintf(stderr, "cannot create thread\n");
                return 1;
            }
        }
        /* The main thread verifies the shared table meanwhile. */
        for (int k = 0; k < 200; k++) {
            pthread_mutex_lock(&shared_lock);
            obj *o = shared[k % SHARED];
            pthread_mutex_unlock(&shared_lock);
            int budget = 500;
            verify(o, 0, &budget);
            if (k % 50 == 0)
                cgc_collect();
        }
        for (int i = 0; i < nthreads && i < 64; i++)
            if (args[i].ops >= 0)
                pthread_join(t[i], NULL);
    }
    int budget = 1 << 30;
    for (int k = 0; k < SHARED; k++)
        verify(shared[k], 0, &budget);
    cgc_memstats m1;
    cgc_read_memstats(&m1);
    printf("threads %d rounds %d: %ld objects allocated, %ld verified visits, %u collections, %ld corruptions\n",
           nthreads, rounds, atomic_load(&allocs), atomic_load(&visits), m1.num_gc - m0.num_gc,
           atomic_load(&corruptions));
    CHECK(atomic_load(&corruptions) == 0, "no corrupted object");
    CHECK(m1.num_gc - m0.num_gc >= 100, "the run collected often (%u)", m1.num_gc - m0.num_gc);
    if (faults) {
        grow_under_faults(m1.num_gc);
        CHECK(atomic_load(&corruptions) == 0, "no corrupted large object");
        check_after_faults();
    }
    return check_done();
}
