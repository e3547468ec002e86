/* stderr_held.h — the window behind "no stdio inside a cgc section"
 * (docs/DEVELOPING.md): a registered thread holds stderr's lock, as in the
 * middle of a fprintf of its own, while a collection stops it. A thread
 * that then waits for that lock inside a cgc section hangs the program:
 * the collection waits for the section to end. The tests that use this
 * put a thread in front of the lock, then collect (held_collect); a hang
 * is reported by an unregistered watchdog, which no collection stops.
 * Needs check.h and internal.h first. */
#ifndef CGC_TEST_STDERR_HELD_H
#define CGC_TEST_STDERR_HELD_H

#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

static sem_t held_locked, held_release;
static pthread_t held_writer_thread, held_dog;
static _Atomic int held_finished;
static const char *held_hang;

static int64_t __attribute__((unused)) held_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((unused)) held_pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
    nanosleep(&ts, NULL);
}

static void *held_writer(void *arg)
{
    (void)arg;
    flockfile(stderr);
    sem_post(&held_locked);
    while (sem_wait(&held_release) != 0)
        ;   /* EINTR: stopped and restarted by the collection */
    funlockfile(stderr);
    return NULL;
}

/* Not registered (plain pthread_create, no cgc call). */
static void *held_watchdog(void *arg)
{
    (void)arg;
    for (int i = 0; i < 6000 && !atomic_load(&held_finished); i++)
        held_pause_ms(10);
    if (!atomic_load(&held_finished)) {
        static const char head[] = "FAIL: no progress in 60 s: ";
        static const char tail[] = "\n0 passed, 1 failed\n";
        (void)!write(1, head, sizeof head - 1);
        (void)!write(1, held_hang, strlen(held_hang));
        (void)!write(1, tail, sizeof tail - 1);
        _exit(1);
    }
    return NULL;
}

/* Starts the watchdog (hang: what a hang means, for its FAIL line) and a
 * registered writer thread, and returns once the writer holds stderr. */
static void __attribute__((unused)) held_start(const char *hang)
{
    held_hang = hang;
    CHECK(pthread_create(&held_dog, NULL, held_watchdog, NULL) == 0, "watchdog thread");
    sem_init(&held_locked, 0, 0);
    sem_init(&held_release, 0, 0);
    CHECK(cgc_pthread_create(&held_writer_thread, NULL, held_writer, NULL) == 0, "writer thread");
    while (sem_wait(&held_locked) != 0)
        ;
}

static void *held_collector(void *arg)
{
    (void)arg;
    cgc_collect();
    return NULL;
}

/* Runs cgc_collect on a new registered thread and waits for its pause to
 * end (num_gc counts it before the collection's own gctrace line, which
 * waits for the writer too). On a hang: FAIL, exit 1 (the threads are
 * deadlocked, nothing to join). Then lets the writer go and joins it. */
static void __attribute__((unused)) held_collect(void)
{
    uint32_t n0 = atomic_load(&cgc__gc.num_gc);
    pthread_t c;
    CHECK(cgc_pthread_create(&c, NULL, held_collector, NULL) == 0, "collector thread");
    int64_t deadline = held_now_ms() + 30000;
    while (atomic_load(&cgc__gc.num_gc) == n0 && held_now_ms() < deadline)
        held_pause_ms(10);
    bool done = atomic_load(&cgc__gc.num_gc) != n0;
    CHECK(done, "the collection did not finish in 30 s (stderr's lock held by a stopped thread)");
    if (!done) {
        check_done();
        _exit(1);
    }
    sem_post(&held_release);
    pthread_join(held_writer_thread, NULL);
    pthread_join(c, NULL);
}

/* After the test's own threads are joined. */
static void __attribute__((unused)) held_end(void)
{
    atomic_store(&held_finished, 1);
    pthread_join(held_dog, NULL);
}

#endif
