/* test_fork_malloc — fork while other registered threads are inside the C
 * library's malloc (fork.c).
 *
 * Preparing a fork used to stop the world: a registered thread parked in
 * the middle of malloc kept an arena lock that glibc's fork takes after
 * the atfork handlers, and the fork never returned. Here four registered
 * threads hammer malloc/free (and cgc_malloc, so they are also in cgc's
 * fast and slow paths) while the main thread forks 60 times; each child
 * allocates with both allocators, collects, checks its list and exits.
 * An alarm ends a hung parent or child, and fails the test. */
#define CGC_THREADS
#include "cgc.h"
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct cell {
    struct cell *next;
    uint64_t value;
} cell;

static _Atomic int stop;

static cell *build(uint64_t seed, int n)
{
    cell *head = NULL;
    for (int i = 0; i < n; i++) {
        cell *c = cgc_malloc(sizeof *c);
        c->next = head;
        c->value = seed + (uint64_t)i;
        head = c;
    }
    return head;
}

static int intact(const cell *c, uint64_t seed, int n)
{
    for (int i = n - 1; i >= 0; i--, c = c->next)
        if (!c || c->value != seed + (uint64_t)i)
            return 0;
    return c == NULL;
}

/* AddressSanitizer's malloc (gcc 12's libasan) is not safe after fork: a
 * child whose parent had another thread inside it waits for ever on the
 * allocator's lock, and the child's own thread creation (cgc starts its
 * markers and sweeper there) goes through that allocator too: one child
 * in 60 hung in a CI run. The C library's malloc is fork-safe, and is what
 * is tested; under ASan the threads stay inside cgc only. */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_MALLOC 0
#else
#define CHILD_MALLOC 1
#endif

static void *hammer(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    void *keep[64] = {0};
    while (!atomic_load(&stop)) {
        for (int i = 0; CHILD_MALLOC && i < 64; i++) {
            free(keep[i]);
            keep[i] = malloc(16 + check_rng(&rng) % 4000);
        }
        for (int i = 0; i < 32; i++)
            (void)cgc_malloc(16 + check_rng(&rng) % 2000);
        if (check_rng(&rng) % 64 == 0)
            (void)cgc_malloc(40000);   /* a large object: the slow path's page heap */
    }
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    return NULL;
}


static int child(const cell *mine)
{
    alarm(30);
    for (int i = 0; i < 20; i++) {
        void *m = CHILD_MALLOC ? malloc(1000 + (size_t)i * 100) : (void *)mine;
        if (!m)
            return 2;
        if (CHILD_MALLOC)
            free(m);
        if (!intact(build((uint64_t)i << 20, 2000), (uint64_t)i << 20, 2000))
            return 3;
    }
    cgc_collect();
    return intact(mine, 7000, 5000) ? 0 : 4;
}

int main(void)
{
    alarm(240);   /* a fork that deadlocks in the parent ends the test with SIGALRM */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)(i + 1)) == 0, "thread %d", i);
    cell *mine = build(7000, 5000);
    int ok = 0;
    const int forks = 60;
    for (int k = 0; k < forks; k++) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork %d", k);
        if (pid == 0)
            _exit(child(mine));
        char what[32];
        snprintf(what, sizeof what, "child %d", k);
        ok += check_child_ok(pid, what);
        if (k % 10 == 0)
            cgc_collect();
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(ok == forks, "%d of %d children allocated, collected and exited", ok, forks);
    CHECK(intact(mine, 7000, 5000), "the parent's list survived");
    printf("fork_malloc: %d forks while 4 threads were inside malloc and cgc\n", forks);
    return check_done();
}
