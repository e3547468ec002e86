/* test_concurrent_kinds — what the concurrent mark owes the features the
 * compat layer builds on (docs/concurrent.md, "Callbacks and lost roots"):
 *
 * 1. An object of the callback kind (CGC_KIND_PROC) is reported by its
 *    callback only with the world stopped (the contract in internal.h):
 *    what a callback reports may lie outside the heap, where no write is
 *    tracked (Guile's VM stacks), so a report made while the program runs
 *    can be stale at the final stop. A registered thread answers a ping
 *    from inside the callback: while the world is stopped it cannot, and
 *    the callback gives up after a bounded number of yields. The objects
 *    the callback alone reports survive every cycle intact.
 * 2. A root lost during a concurrent cycle (here: a thread whose stack is
 *    unknown, reported from the test hook that runs after the concurrent
 *    phase) makes that cycle free and finalize nothing, and leaves no mark
 *    behind: a later cycle scans an object the abandoned mark had marked,
 *    and finds the new object it now points to.
 * Run with CGC_DEBUG=gcconcurrent=1; in stop-the-world mode (the _stw twin)
 * part 1 runs as is and
 * part 2 is skipped: no cycle has a concurrent phase.
 */
#define CGC_THREADS
#include "cgc.h"
#include "check.h"
#include "internal.h"
#include "dirty.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#define NPROC 4
#define CYCLES 20
#define MAGIC 0x5eed5eed5eed5eedull

typedef struct child {
    uint64_t magic;
    uint64_t id;
} child;

typedef struct proc_obj {
    uint64_t magic;
    child *hidden;   /* found only through the callback (the object is not scanned) */
} proc_obj;

static proc_obj *procs[NPROC];
static _Atomic int ping, pong, stop_spinner;
static _Atomic int calls, calls_running;

static int world_running(void)
{
    int p = atomic_fetch_add(&ping, 1) + 1;
    for (int i = 0; i < 20000; i++) {
        if (atomic_load(&pong) >= p)
            return 1;
        sched_yield();
    }
    return 0;
}

static void scan_proc(uintptr_t obj, size_t size)
{
    (void)size;
    const proc_obj *o = (const proc_obj *)obj;
    atomic_fetch_add(&calls, 1);
    if (world_running())
        atomic_fetch_add(&calls_running, 1);
    cgc__mark_push_word((uintptr_t)o->hidden);
}

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_spinner)) {
        int p = atomic_load(&ping);
        if (atomic_load(&pong) < p)
            atomic_store(&pong, p);
        sched_yield();
    }
    return NULL;
}

static void __attribute__((noinline)) make_procs(void)
{
    for (int i = 0; i < NPROC; i++) {
        procs[i] = cgc__malloc_proc(sizeof(proc_obj));
        CHECK(procs[i] != NULL, "no memory");
        procs[i]->magic = MAGIC;
        child *c = cgc_malloc(sizeof(child));
        CHECK(c != NULL, "no memory");
        c->magic = MAGIC;
        c->id = (uint64_t)i;
        procs[i]->hidden = c;
    }
}

static void part_callbacks(void)
{
    cgc__set_proc_scan(scan_proc);
    make_procs();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, spinner, NULL) == 0, "pthread_create");
    for (int c = 0; c < CYCLES; c++) {
        cgc_collect();
        /* garbage between cycles, so the children's slots would be reused */
        for (int i = 0; i < 2000; i++)
            memset(cgc_malloc(sizeof(child)), 0xAB, sizeof(child));
        for (int i = 0; i < NPROC; i++) {
            CHECK(procs[i]->magic == MAGIC, "callback object %d overwritten after cycle %d", i, c);
            CHECK(procs[i]->hidden->magic == MAGIC, "object only the callback reports was freed (object %d, cycle %d)", i, c);
            CHECK(procs[i]->hidden->id == (uint64_t)i, "object only the callback reports was reused (object %d, cycle %d)", i, c);
        }
    }
    atomic_store(&stop_spinner, 1);
    CHECK(pthread_join(t, NULL) == 0, "pthread_join");
    printf("callbacks: %d calls, %d with the world running\n", atomic_load(&calls),
           atomic_load(&calls_running));
    CHECK(atomic_load(&calls) >= NPROC * CYCLES, "callback called %d times, want >= %d", atomic_load(&calls), NPROC * CYCLES);
    CHECK(atomic_load(&calls_running) == 0, "callback called %d times while the program ran", atomic_load(&calls_running));
    cgc__set_proc_scan(NULL);
}

/* ---- 2: a root lost during the concurrent phase ---- */

typedef struct holder {
    uint64_t magic;
    child *z;
} holder;

static holder *y;                        /* G -> Y -> Z */
static _Atomic int finalized_z, finalized_z2, finalized_w;
static _Atomic int lose_root, hook_ran;

static void fin(void *obj, void *arg)
{
    (void)obj;
    atomic_fetch_add((_Atomic int *)arg, 1);
}

static void hook(void)
{
    if (atomic_exchange(&lose_root, 0)) {
        cgc__roots_lost(CGC_ROOTS_STACK);
        atomic_store(&hook_ran, 1);
    }
}

static void __attribute__((noinline)) make_graph(void)
{
    y = cgc_malloc(sizeof(holder));
    CHECK(y != NULL, "no memory");
    y->magic = MAGIC;
    y->z = cgc_malloc(sizeof(child));
    y->z->magic = MAGIC;
    CHECK(cgc_set_finalizer(y->z, fin, (void *)&finalized_z) == 0, "cgc_set_finalizer");
    child *w = cgc_malloc(sizeof(child));   /* garbage from the start */
    CHECK(cgc_set_finalizer(w, fin, (void *)&finalized_w) == 0, "cgc_set_finalizer");
}

/* Y points to a new object, allocated after the abandoned cycle (white). */
static void __attribute__((noinline)) replace_child(void)
{
    child *z2 = cgc_malloc(sizeof(child));
    CHECK(z2 != NULL, "no memory");
    z2->magic = MAGIC;
    z2->id = 2;
    CHECK(cgc_set_finalizer(z2, fin, (void *)&finalized_z2) == 0, "cgc_set_finalizer");
    y->z = z2;
}

static void part_lost_root(void)
{
    make_graph();
    atomic_store(&cgc__mark_test_hook, hook);
    atomic_store(&lose_root, 1);
    uint64_t conc0 = atomic_load(&cgc__gc.concurrent_cycles);
    cgc_collect();   /* concurrent: the root is lost after the concurrent phase */
    atomic_store(&cgc__mark_test_hook, NULL);
    if (!atomic_load(&hook_ran)) {
        atomic_store(&lose_root, 0);
        CHECK(atomic_load(&cgc__gc.concurrent_cycles) == conc0, "a concurrent cycle ran but the hook did not");
        printf("lost root: skipped (no concurrent cycle: stop-the-world mode)\n");
        return;
    }
    cgc__roots_regained(CGC_ROOTS_STACK);
    cgc_run_finalizers();
    /* The abandoned cycle finalized nothing, not even the garbage. */
    CHECK(atomic_load(&finalized_w) == 0, "a cycle that lost a root finalized garbage");
    CHECK(atomic_load(&finalized_z) == 0, "a cycle that lost a root finalized a live object");

    replace_child();   /* Z is garbage now, Z2 reachable only through Y */
    cgc_collect();
    cgc_run_finalizers();
    cgc_collect();
    cgc_run_finalizers();
    printf("lost root: finalized w %d, z %d, z2 %d\n", atomic_load(&finalized_w),
           atomic_load(&finalized_z), atomic_load(&finalized_z2));
    /* A mark left set on Y by the abandoned cycle would have kept the next
     * cycle from scanning Y: Z2 would be finalized while reachable. */
    CHECK(atomic_load(&finalized_z2) == 0, "object reachable through an object the abandoned mark had marked was finalized");
    CHECK(y->magic == MAGIC && y->z->magic == MAGIC && y->z->id == 2, "object reachable through an object the abandoned mark had marked was freed");
}

int main(void)
{
    cgc__ensure_init();
    part_callbacks();
    part_lost_root();
    return check_done();
}
