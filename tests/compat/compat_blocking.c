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

#include <pthread.h>
#include <stdatomic.h>

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

static void *worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        uintptr_t bad = (uintptr_t)GC_do_blocking(blocked, (void *)(uintptr_t)(r + 1));
        atomic_fetch_add(&bad_nodes, (int)bad);
        atomic_fetch_add(&rounds_run, 1);
    }
    atomic_store(&done, 1);
    return NULL;
}

/* A program that allocates inside GC_do_blocking without
 * GC_call_with_gc_active (libgc forbids it, but its allocation lock keeps
 * its heap consistent anyway): the objects are linked from a global, and
 * must all survive. */
static struct node *global_list;
static atomic_int sloppy_done;

static void *allocates_while_blocked(void *arg)
{
    GC_word round = (GC_word)(uintptr_t)arg;
    for (int i = 0; i < NODES; i++) {
        struct node *n = GC_MALLOC(sizeof *n);
        n->value = round * 1000003u + (GC_word)i;
        n->next = global_list;
        global_list = n;
    }
    return NULL;
}

static void *sloppy_worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS / 4; r++) {
        global_list = NULL;
        GC_do_blocking(allocates_while_blocked, (void *)(uintptr_t)(r + 1));
        int count = 0, bad = 0;
        for (struct node *n = global_list; n && count < NODES; n = n->next, count++)
            bad += n->value != (GC_word)(r + 1) * 1000003u + (GC_word)(NODES - 1 - count);
        atomic_fetch_add(&bad_nodes, bad + (count != NODES));
    }
    atomic_store(&sloppy_done, 1);
    return NULL;
}

int main(void)
{
    GC_INIT();
    pthread_t t, t2;
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
    CHECK(pthread_create(&t2, NULL, sloppy_worker, NULL) == 0, "pthread_create");
    unsigned long collections = 0;
    while (!atomic_load(&done) || !atomic_load(&sloppy_done)) {
        GC_gcollect();
        collections++;
    }
    pthread_join(t, NULL);
    pthread_join(t2, NULL);
    CHECK(atomic_load(&rounds_run) == ROUNDS && atomic_load(&blocked_calls) == ROUNDS, "all %d rounds ran (%d)", ROUNDS,
          atomic_load(&rounds_run));
    CHECK(atomic_load(&bad_nodes) == 0,
          "lists built in GC_call_with_gc_active inside GC_do_blocking (and, against libgc's rules, in GC_do_blocking "
          "itself, linked from a global) survive concurrent collections (%d bad)",
          atomic_load(&bad_nodes));
    CHECK(collections > 0, "collections ran meanwhile (%lu)", collections);
    printf("%lu collections during %d rounds\n", collections, ROUNDS);
    return check_done();
}
