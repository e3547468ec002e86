/* world.c — libgc's calls that stop the world for the program
 * (compat/world.c): GC_stop_world_external holds every other registered
 * thread until GC_start_world_external; GC_enumerate_reachable_objects_inner
 * reports every reachable object once, with its size, while other threads
 * allocate. Built against cgc's headers and Debian's, on cgc's library, and
 * on Debian's libgc itself, where the same checks hold
 * (tests/compat_world.cmake). */
#define GC_THREADS 1
#include <gc.h>
#include <gc/gc_mark.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "../check.h"

#define N 5000
#define MAGIC 0x5eedf00dcafe1234ull

static void **held;   /* N objects reached from here */

static void nap_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- a thread that allocates all the time -------------------------------- */

static atomic_long progress;
static atomic_int stop_worker;

static void *worker(void *arg)
{
    (void)arg;
    void *keep = NULL;
    while (!atomic_load(&stop_worker)) {
        void **o = GC_MALLOC(4 * sizeof(void *));
        o[0] = keep;   /* a short chain, dropped now and then */
        keep = atomic_load(&progress) % 100 ? (void *)o : NULL;
        atomic_fetch_add(&progress, 1);
    }
    return keep;
}

/* ---- enumeration ----------------------------------------------------------- */

static unsigned char seen[N];
static size_t nreported, held_bad_size, seen_twice;

static void on_object(void *obj, size_t bytes, void *cd)
{
    (void)cd;
    nreported++;
    uint64_t *w = obj;
    if (bytes >= 2 * sizeof(uint64_t) && w[0] == MAGIC && w[1] < N) {
        if (seen[w[1]]++)
            seen_twice++;
        if (bytes < 4 * sizeof(uint64_t))
            held_bad_size++;
    }
}

static void *enumerate(void *arg)
{
    (void)arg;
    GC_enumerate_reachable_objects_inner(on_object, NULL);
    return NULL;
}

int main(void)
{
    GC_INIT();
    held = GC_MALLOC_UNCOLLECTABLE(N * sizeof *held);
    for (size_t i = 0; i < N; i++) {
        uint64_t *o = GC_MALLOC(4 * sizeof(uint64_t));
        o[0] = MAGIC;
        o[1] = i;
        held[i] = o;
    }
    pthread_t th;
    CHECK(pthread_create(&th, NULL, worker, NULL) == 0, "pthread_create");
    while (atomic_load(&progress) < 1000)
        sched_yield();

    /* Every held object exactly once, with its size, while the worker
     * allocates. */
    GC_gcollect();
    GC_call_with_alloc_lock(enumerate, NULL);
    size_t found = 0;
    for (size_t i = 0; i < N; i++)
        found += seen[i] != 0;
    CHECK(found == N, "every reachable object reported: %zu of %d (%zu reports)", found, N, nreported);
    CHECK(seen_twice == 0, "none twice (%zu)", seen_twice);
    CHECK(held_bad_size == 0, "sizes at least the requested 32 bytes (%zu smaller)", held_bad_size);
    CHECK(nreported >= N, "%zu objects reported", nreported);

    /* The world stopped from outside: the worker makes no progress until
     * it is started again. */
    GC_stop_world_external();
    long before = atomic_load(&progress);
    nap_ms(50);
    long during = atomic_load(&progress);
    GC_start_world_external();
    CHECK(during == before, "no progress while the world is stopped (%ld -> %ld)", before, during);
    long waited = 0;
    while (atomic_load(&progress) == during && waited < 30000) {   /* 30 s at most */
        nap_ms(1);
        waited++;
    }
    CHECK(atomic_load(&progress) > during, "progress again once started");

    /* And again (the locks were released), then a collection. */
    GC_stop_world_external();
    GC_start_world_external();
    GC_gcollect();

    atomic_store(&stop_worker, 1);
    pthread_join(th, NULL);
    for (size_t i = 0; i < N; i++)
        CHECK(((uint64_t *)held[i])[1] == i, "held object %zu intact", i);
    return check_done();
}
