/* test_gctrace_stderr_lock: with gctrace on, the CPU limiter's line does
 * not deadlock a collection.
 *
 * When the limiter holds a cycle back, the thread that asked for it prints
 * "gc limiter: ..." to stderr. It used to print inside its cgc section
 * with the pacer lock held: if another registered thread held stderr's
 * stdio lock (it was writing a line of its own) and a third thread started
 * a collection, the collector stopped the writer (lock still held) and
 * waited for the printer to leave its section, and the printer waited for
 * the stopped writer's lock: the program hung. The limiter's state is set
 * directly (internal.h) so the line is printed whatever the CPU use; the
 * writer holds the lock with flockfile. */
#include "check.h"
#include "internal.h"

#include <semaphore.h>
#include <time.h>

static sem_t locked, release;

static void *writer(void *arg)
{
    (void)arg;
    flockfile(stderr);   /* as in the middle of a fprintf of its own */
    sem_post(&locked);
    while (sem_wait(&release) != 0)
        ;   /* EINTR: stopped and restarted by the collection */
    funlockfile(stderr);
    return NULL;
}

static void *limited(void *arg)
{
    (void)arg;
    cgc__maybe_collect();   /* held back: prints the limiter's line */
    return NULL;
}

static void *collector(void *arg)
{
    (void)arg;
    cgc_collect();
    return NULL;
}

/* Not registered (plain pthread_create, no cgc call): never stopped by a
 * collection, so it can report the deadlock that stops main too. */
static _Atomic int finished;
static void *watchdog(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3000 && !atomic_load(&finished); i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (!atomic_load(&finished)) {
        static const char msg[] = "FAIL: no progress in 30 s: the collection waits for the limiter's "
                                  "printer, which waits for stderr's lock held by a stopped thread\n"
                                  "0 passed, 1 failed\n";
        (void)!write(1, msg, sizeof msg - 1);
        _exit(1);
    }
    return NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(void)
{
    cgc_free(cgc_malloc(16));   /* initialised */
    cgc__cfg.gctrace = 1;
    /* The limiter full and the heap past its trigger, under its
     * proportional goal: the next automatic cycle is held back. */
    cgc__pacer_lock();
    cgc__gc.limiter.fill_ns = INT64_MAX / 4;
    cgc__gc.limiter.enabled = 1;
    cgc__gc.pacer.prop_goal = UINT64_MAX;
    cgc__gc.limited_this_cycle = 0;
    atomic_store(&cgc__gc.trigger, 0);
    cgc__pacer_unlock();

    pthread_t dog;
    CHECK(pthread_create(&dog, NULL, watchdog, NULL) == 0, "watchdog thread");
    sem_init(&locked, 0, 0);
    sem_init(&release, 0, 0);
    pthread_t w, l, c;
    CHECK(cgc_pthread_create(&w, NULL, writer, NULL) == 0, "writer thread");
    while (sem_wait(&locked) != 0)
        ;
    uint64_t held0 = atomic_load(&cgc__gc.gc_limiter_cycles);
    CHECK(cgc_pthread_create(&l, NULL, limited, NULL) == 0, "limited thread");
    /* The collection starts once the cycle is held back (counted in the
     * section, just before the line): the printer is then in its section
     * or, fixed, about to print outside it. */
    int64_t deadline = now_ms() + 30000;
    while (atomic_load(&cgc__gc.gc_limiter_cycles) == held0 && now_ms() < deadline) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    CHECK(atomic_load(&cgc__gc.gc_limiter_cycles) != held0, "the cycle was not held back in 30 s");
    uint32_t n0 = atomic_load(&cgc__gc.num_gc);
    CHECK(cgc_pthread_create(&c, NULL, collector, NULL) == 0, "collector thread");

    /* The collection's pause ends (num_gc counts it) before its own
     * gctrace line, which waits for the writer too: wait for the count. */
    deadline = now_ms() + 30000;
    while (atomic_load(&cgc__gc.num_gc) == n0 && now_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    bool done = atomic_load(&cgc__gc.num_gc) != n0;
    CHECK(done, "the collection did not finish in 30 s (stderr's lock held by a stopped thread)");
    if (!done) {
        check_done();
        _exit(1);   /* the threads are deadlocked: nothing to join */
    }
    sem_post(&release);
    pthread_join(w, NULL);
    pthread_join(l, NULL);
    pthread_join(c, NULL);
    atomic_store(&finished, 1);
    pthread_join(dog, NULL);
    return check_done();
}
