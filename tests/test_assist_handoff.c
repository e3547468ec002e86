/* test_assist_handoff — the concurrent phase ends only when no assist
 * holds marking work (src/mark.c, mark_loop).
 *
 * An assist takes its work from the shared list and gives back what its
 * deadline leaves (cgc__mark_assist). The background marker used to end
 * the concurrent phase as soon as it found the list empty, even while an
 * assist held work: what the assist gave back afterwards was marked in
 * the final stop, with the world stopped. In churn (one root, the table)
 * an assist took the root before the marker woke, and one cycle in ten
 * marked the whole 71 MB heap stopped (23-27 ms instead of 3-5).
 *
 * Here a chain of CHAIN nodes, linked in random order, hangs from one
 * global, so the first stop finds a single entry. The hook that runs after the first stop (before
 * the markers start) has a registered thread take that entry as an
 * assist with a 20 ms deadline — far less than marking the chain takes —
 * and waits until it holds it. The hook after the concurrent phase then
 * checks that no assist holds work and none waits on the shared list: the
 * phase marked what the assist gave back. The chain is verified after.
 * In stop-the-world mode no cycle has a concurrent phase: the test says
 * so and checks the chain only. */
#include "cgc.h"
#include "check.h"
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHAIN (1L << 20)
#define MAGIC 0x4a4e44ff4a4e44ffull

typedef struct node {
    struct node *next;
    uint64_t id;
    uint64_t magic;
} node;

static node *chain;
static _Atomic int go, assisting, assist_done, armed, checked, left_outside, hook_late;
static _Atomic uint64_t assist_scanned;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A registered program thread: when told, one assist with a short
 * deadline, inside a cgc section as an allocation's assist is. */
static void *assister(void *arg)
{
    (void)arg;
    if (cgc_register_thread() != 0) {
        fprintf(stderr, "cgc_register_thread failed\n");
        exit(1);
    }
    cgc__thread *self = cgc__self;
    while (!atomic_load(&go))
        sched_yield();
    if (atomic_load(&go) < 0) {
        cgc_unregister_thread();
        return NULL;
    }
    atomic_store(&assisting, 1);
    cgc__enter(self);
    uint64_t s = cgc__mark_assist((uint64_t)1 << 40, now_ns() + 20000000);
    cgc__leave(self);
    atomic_store(&assist_scanned, s);
    atomic_store(&assist_done, 1);
    cgc_unregister_thread();
    return NULL;
}

/* After the first stop, on the collector's thread: the assist takes the
 * one entry before any marker runs; return once it holds it. */
static void start_hook(void)
{
    if (!atomic_load(&armed))
        return;
    atomic_store(&go, 1);
    int64_t t0 = now_ns();
    /* Claimed, and the shared list empty: the assist has the entry. */
    while (!(atomic_load(&assisting) && cgc__mark_work_outside() == 1)) {
        if (atomic_load(&assist_done) || now_ns() - t0 > 2000000000) {
            atomic_store(&hook_late, 1);
            break;
        }
        sched_yield();
    }
}

/* After the concurrent phase, before pre-cleaning. */
static void end_hook(void)
{
    if (!atomic_exchange(&armed, 0))
        return;
    atomic_store(&left_outside, cgc__mark_work_outside() != 0);
    atomic_store(&checked, 1);
}

int main(void)
{
    /* Linked in a random order of the allocation, so that following the
     * chain misses the cache at every node: marking it takes far longer
     * than the assist's deadline, and the assist is sure to give work
     * back. */
    node **all = cgc_malloc(CHAIN * sizeof *all);   /* scanned: holds them until linked */
    if (!all) {
        fprintf(stderr, "no memory\n");
        return 1;
    }
    for (long i = 0; i < CHAIN; i++) {
        all[i] = cgc_malloc(sizeof(node));
        if (!all[i]) {
            fprintf(stderr, "no memory\n");
            return 1;
        }
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (long i = CHAIN - 1; i > 0; i--) {
        long j = (long)(check_rng(&x) % (uint64_t)(i + 1));
        node *tmp = all[i];
        all[i] = all[j];
        all[j] = tmp;
    }
    for (long i = 0; i < CHAIN; i++) {
        all[i]->id = (uint64_t)i;
        all[i]->magic = MAGIC;
        all[i]->next = i + 1 < CHAIN ? all[i + 1] : NULL;
    }
    chain = all[0];
    memset(all, 0, CHAIN * sizeof *all);
    all = NULL;
    cgc_collect();
    pthread_t t;
    if (pthread_create(&t, NULL, assister, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    uint64_t conc0 = atomic_load(&cgc__gc.concurrent_cycles);
    atomic_store(&cgc__mark_test_hook_start, start_hook);
    atomic_store(&cgc__mark_test_hook, end_hook);
    atomic_store(&armed, 1);
    cgc_collect();
    atomic_store(&cgc__mark_test_hook_start, NULL);
    atomic_store(&cgc__mark_test_hook, NULL);
    if (!atomic_load(&go))
        atomic_store(&go, -1);
    pthread_join(t, NULL);

    if (atomic_load(&cgc__gc.concurrent_cycles) == conc0) {
        printf("no concurrent cycle (stop-the-world mode): the hand-off is not tested\n");
    } else {
        CHECK(atomic_load(&checked), "the hook after the concurrent phase never ran");
        if (atomic_load(&hook_late))
            printf("NOTE: the assist did not hold the work when the markers started "
                   "(it finished, or never took it): the hand-off was not exercised\n");
        else
            CHECK(!atomic_load(&left_outside),
                  "the concurrent phase ended while an assist held work or work waited on the "
                  "shared list (the final stop marked it)");
        printf("assist scanned %llu bytes before its deadline (chain %ld bytes)\n",
               (unsigned long long)atomic_load(&assist_scanned), CHAIN * (long)sizeof(node));
    }
    cgc_collect();
    long bad = 0, i = 0;
    for (const node *n = chain; n; n = n->next, i++)
        if (n->magic != MAGIC || n->id != (uint64_t)i)
            bad++;
    CHECK(bad == 0 && i == CHAIN, "chain: %ld of %ld nodes bad, %ld found", bad, CHAIN, i);
    return check_done();
}
