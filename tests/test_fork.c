/* test_fork — fork while other threads allocate and collect (fork.c).
 *
 * Four threads churn linked lists with cgc_collect calls mixed in while the
 * main thread, holding a checksummed list of its own, forks 12 times. Each
 * child must, on its own: find the main thread's list intact, allocate
 * enough to run collections with every marker (the helper markers, the
 * sweeper and the background thread are gone in the child and have to be
 * started again), still find its list intact, and fork a grandchild that
 * does the same. A child that deadlocks (a lock another thread held at
 * the fork, a stop-the-world waiting for threads that do not exist) is
 * killed by its alarm and fails the test. The parent's threads and the
 * parent's own collections must carry on through all of it. */
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

static _Atomic int stop, bad;

static cell *build(uint64_t seed, int n)
{
    cell *head = NULL;
    for (int i = 0; i < n; i++) {
        cell *c = cgc_malloc(sizeof *c);
        c->next = head;
        c->value = seed * 0x9E3779B97F4A7C15ull + (uint64_t)i;
        head = c;
    }
    return head;
}

static int intact(const cell *c, uint64_t seed, int n)
{
    for (int i = n - 1; i >= 0; i--, c = c->next)
        if (!c || c->value != seed * 0x9E3779B97F4A7C15ull + (uint64_t)i)
            return 0;
    return c == NULL;
}

static void *churn(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    for (uint64_t round = 0; !atomic_load(&stop); round++) {
        cell *l = build(id * 1000 + round, 2000);
        if (round % 8 == 0)
            cgc_collect();
        if (!intact(l, id * 1000 + round, 2000))
            atomic_fetch_add(&bad, 1);
    }
    return NULL;
}

/* In a child (or grandchild): collect with everything started afresh. */
static int child_work(const cell *mine, uint64_t seed, int n, int depth)
{
    alarm(20);   /* a deadlocked child dies of SIGALRM and fails the test */
    if (!intact(mine, seed, n))
        return 3;
    cgc_memstats m0, m1;
    cgc_read_memstats(&m0);
    for (int i = 0; i < 40; i++) {
        cell *g = build((uint64_t)i, 5000);   /* garbage, 5000 x 32 B each */
        if (!intact(g, (uint64_t)i, 5000))
            return 4;
    }
    cgc_collect();
    cgc_read_memstats(&m1);
    if (m1.num_gc <= m0.num_gc)
        return 5;
    if (!intact(mine, seed, n))
        return 6;
    if (depth == 0) {
        pid_t g = fork();
        if (g < 0)
            return 7;
        if (g == 0)
            _exit(child_work(mine, seed, n, 1));
        int st;
        if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 8;
    }
    return 0;
}

int main(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1)) == 0, "thread %d", i);
    const int n = 20000;
    const uint64_t seed = 424242;
    cell *mine = build(seed, n);
    int children_ok = 0;
    for (int k = 0; k < 12; k++) {
        (void)build((uint64_t)k, 3000);   /* keep the parent collecting too */
        pid_t pid = fork();
        CHECK(pid >= 0, "fork %d", k);
        if (pid == 0)
            _exit(child_work(mine, seed, n, 0));
        char what[32];
        snprintf(what, sizeof what, "child %d", k);
        children_ok += check_child_ok(pid, what);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(children_ok == 12, "%d of 12 children (each with a grandchild) collected correctly", children_ok);
    CHECK(atomic_load(&bad) == 0, "%d corrupted lists in the parent's threads", atomic_load(&bad));
    CHECK(intact(mine, seed, n), "the parent's list survived");
    cgc_collect();
    CHECK(intact(mine, seed, n), "and a collection after the forks");
    printf("fork: 12 children and 12 grandchildren collected with fresh markers; parent intact\n");
    return check_done();
}
