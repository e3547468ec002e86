/* compat_blocking.c — GC_call_with_gc_active inside GC_do_blocking, while
 * another thread collects. libgc lets a function running in GC_do_blocking
 * (where the collector neither stops the thread nor scans the frames below
 * the call) touch the heap again through GC_call_with_gc_active: the
 * thread is then an ordinary running thread whose frames hold live
 * pointers. Built like compat_marking.c: on cgc's library with both
 * headers, and on Debian's libgc.
 *
 * The inner function builds lists only its own frames point to, while the
 * main thread collects without pause, allocates more objects of the same
 * size, and checks every node: a node freed and handed out again (or
 * poisoned, in cgc's Debug build) shows up as a wrong value. The work is a
 * fixed number of rounds, not a time. */
#define GC_THREADS 1
#include <gc.h>

#include <gc/gc_mark.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "../check.h"

#define ROUNDS 200
#define NODES 500

struct node {
    struct node *next;
    GC_word value;
    char pad[32];
};

static atomic_int done, bad_nodes, rounds_run, blocked_calls;

/* Builds a list (and garbage between its nodes, so freed memory is reused
 * at once), then checks it. */
static void *active(void *arg)
{
    GC_word seed = (GC_word)(uintptr_t)arg;
    struct node *head = NULL;
    for (int i = 0; i < NODES; i++) {
        struct node *n = GC_MALLOC(sizeof *n);
        n->value = seed * 1000003u + (GC_word)i;
        n->next = head;
        head = n;
    }
    /* More allocation of the same size: a node freed by a collection
     * that did not see this frame would be handed out again here, and
     * overwritten. */
    for (int i = 0; i < 4 * NODES; i++) {
        struct node *j = GC_MALLOC(sizeof *j);
        j->value = ~(GC_word)0;
        j->next = j;
    }
    int bad = 0, count = 0;
    for (struct node *n = head; n && count < NODES; n = n->next, count++)
        bad += n->value != seed * 1000003u + (GC_word)(NODES - 1 - count);
    bad += count != NODES;
    return (void *)(uintptr_t)bad;
}

static void *blocked(void *arg)
{
    atomic_fetch_add(&blocked_calls, 1);
    /* The heap again, from inside the blocking call. */
    return GC_call_with_gc_active(active, arg);
}

static atomic_ulong collections_run;   /* by main, while the workers run */

static void *worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        uintptr_t bad = (uintptr_t)GC_do_blocking(blocked, (void *)(uintptr_t)(r + 1));
        atomic_fetch_add(&bad_nodes, (int)bad);
        atomic_fetch_add(&rounds_run, 1);
    }
    /* Not done before a collection has run alongside (on a loaded machine
     * the rounds could all end before main's first one). */
    while (atomic_load(&collections_run) == 0)
        sched_yield();
    atomic_store(&done, 1);
    return NULL;
}

/* A program that allocates and frees inside GC_do_blocking without
 * GC_call_with_gc_active: libgc forbids it, but its allocation lock keeps
 * its heap consistent anyway. What an allocation returns there is held
 * only by frames no collector scans, so it may be freed at once: it is not
 * touched (under libgc too, touching it is a use after free). What is
 * freed there is held by a global until then. The check is that the heap
 * stays sound: the other worker's lists. */
static atomic_int sloppy_done;
static void *to_free[NODES];

static void *fill_to_free(void *arg)
{
    (void)arg;
    for (int i = 0; i < NODES; i++)
        to_free[i] = GC_MALLOC(sizeof(struct node));
    return NULL;
}

static void *allocates_while_blocked(void *arg)
{
    (void)arg;
    for (int i = 0; i < NODES; i++) {
        (void)GC_MALLOC(sizeof(struct node));
        GC_FREE(to_free[i]);
        to_free[i] = NULL;
    }
    return NULL;
}

static void *sloppy_worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS / 4; r++) {
        GC_call_with_gc_active(fill_to_free, NULL);
        GC_do_blocking(allocates_while_blocked, NULL);
    }
    atomic_store(&sloppy_done, 1);
    return NULL;
}

/* The same, made deterministic: a blocked thread is told to allocate (or
 * free) from inside a collection's pause (from GC_push_other_roots, which
 * runs with the world stopped), and the pause then waits up to 200 ms to
 * see whether the call completed while it lasted. It must not: under
 * libgc it waits for the allocation lock the collection holds, under cgc
 * it waits for the stop to end. A slow thread can only make the check
 * weaker, never make it fail. */
static atomic_int probe_in_blocking, probe_fire, probe_done, done_during_pause;
static void *probe_obj;
static GC_push_other_roots_proc probe_prev;

static void nap(void)
{
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
}

static void pause_probe(void)
{
    if (probe_prev)
        probe_prev();
    if (atomic_load(&probe_in_blocking) && !atomic_load(&probe_fire)) {
        atomic_store(&probe_fire, 1);
        for (int i = 0; i < 2000 && !atomic_load(&probe_done); i++)
            nap();
        if (atomic_load(&probe_done))
            atomic_store(&done_during_pause, 1);
    }
}

static void *probe_blocked(void *arg)
{
    atomic_store(&probe_in_blocking, 1);
    for (int i = 0; i < 300000 && !atomic_load(&probe_fire); i++)   /* 30 s at most */
        nap();
    if (arg)
        GC_FREE(probe_obj);
    else
        (void)GC_MALLOC(16);
    atomic_store(&probe_done, 1);
    return NULL;
}

static void *probe_thread(void *arg)
{
    GC_do_blocking(probe_blocked, arg);
    return NULL;
}

static void probe(int free_it)
{
    atomic_store(&probe_in_blocking, 0);
    atomic_store(&probe_fire, 0);
    atomic_store(&probe_done, 0);
    atomic_store(&done_during_pause, 0);
    probe_obj = GC_MALLOC(16);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, probe_thread, (void *)(uintptr_t)free_it) == 0, "pthread_create");
    while (!atomic_load(&probe_in_blocking))
        sched_yield();
    probe_prev = GC_get_push_other_roots();
    GC_set_push_other_roots(pause_probe);
    GC_gcollect();
    GC_set_push_other_roots(probe_prev);
    pthread_join(t, NULL);
    CHECK(atomic_load(&probe_fire) && atomic_load(&probe_done), "the probe ran");
    CHECK(!atomic_load(&done_during_pause), "%s inside GC_do_blocking waits for the collection's pause to end",
          free_it ? "GC_free" : "GC_malloc");
}

int main(void)
{
    GC_INIT();
    probe(0);
    probe(1);
    pthread_t t, t2;
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
    CHECK(pthread_create(&t2, NULL, sloppy_worker, NULL) == 0, "pthread_create");
    while (!atomic_load(&done) || !atomic_load(&sloppy_done)) {
        GC_gcollect();
        atomic_fetch_add(&collections_run, 1);
    }
    unsigned long collections = atomic_load(&collections_run);
    pthread_join(t, NULL);
    pthread_join(t2, NULL);
    CHECK(atomic_load(&rounds_run) == ROUNDS && atomic_load(&blocked_calls) == ROUNDS, "all %d rounds ran (%d)", ROUNDS,
          atomic_load(&rounds_run));
    CHECK(atomic_load(&bad_nodes) == 0,
          "lists built in GC_call_with_gc_active inside GC_do_blocking survive concurrent collections (%d bad)",
          atomic_load(&bad_nodes));
    CHECK(collections > 0, "collections ran meanwhile (%lu)", collections);
    printf("%lu collections during %d rounds\n", collections, ROUNDS);
    return check_done();
}
