/* fork.c — a program that forks keeps a working collector in the child.
 *
 * fork() copies the address space but only the calling thread. Whatever
 * another thread held at that moment — a central list's lock half-way
 * through an unlink, the page heap's lock, a collection's stop-the-world —
 * stays held in the child for ever, and cgc's own threads (markers,
 * sweeper, background scavenger) are simply gone. Daemons fork after they
 * start, and so do programs that run children; Boehm's collector handles
 * it the same way (GC_atfork_prepare/parent/child).
 *
 * Prepare (in the parent, before the fork): take what a collection takes,
 * in its order — the collection lock (no cycle is under way), the
 * sweeper's lock (the sweeper is between spans) — then raise the gate and,
 * under the thread registry's lock, drain: every other registered thread
 * is asked (by the suspend signal) to acknowledge once it is outside any
 * cgc section, and from then on a thread entering a section waits at the
 * gate. Nothing is stopped: a thread may be inside malloc, holding a lock
 * the C library's fork takes after these handlers, and a thread parked
 * there would deadlock the fork (it did, with the world stopped here).
 * After the drain another registered thread is outside cgc, at the gate,
 * or in an allocation fast path, which touches only its own cached span
 * and which the child's flush of that cache undoes safely (threads.c).
 * cgc's own threads are not registered, so then every allocator lock, in
 * the order the code nests them (central lists → large list → page heap →
 * pacer → mark bytes → roots → metadata), then the mutexes the background
 * threads wait on. Parent: release it all in reverse, lower the gate.
 * Child: release it all (the mutexes are re-initialised where a thread
 * that no longer exists waited on a condition), drop the other threads
 * from the registry (their caches go back to the central lists), and let
 * cgc's threads be created again when they are next needed.
 *
 * A fork from a thread cgc does not know still works: the child then has
 * no registered thread until one allocates. Only the forking thread's
 * stack is scanned in the child: objects only the vanished threads' stacks
 * referred to are garbage there, as they should be.
 */
#include "internal.h"
#include "dirty.h"

static int held;   /* prepare ran with cgc initialised: undo exactly that */

_Atomic int cgc__fork_gate;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;   /* held by the forking thread */
static cgc__thread *_Atomic forker;

/* From cgc__enter with the gate raised. An outermost section waits outside
 * (in_cgc back to 0, any pending drain acknowledged by cgc__leave) until
 * the fork is over; nested sections and the forking thread go on. */
void cgc__fork_gate_pass(cgc__thread *t)
{
    if (t->in_cgc != 1 || atomic_load(&forker) == t)
        return;
    while (atomic_load(&cgc__fork_gate)) {
        cgc__leave(t);
        pthread_mutex_lock(&gate_lock);
        pthread_mutex_unlock(&gate_lock);
        t->in_cgc++;
        atomic_signal_fence(memory_order_seq_cst);
    }
}

void cgc__fork_mutex(pthread_mutex_t *m, int stage)
{
    switch (stage) {
    case CGC_FORK_PREPARE:
        pthread_mutex_lock(m);
        break;
    case CGC_FORK_PARENT:
        pthread_mutex_unlock(m);
        break;
    case CGC_FORK_CHILD:
        pthread_mutex_init(m, NULL);
        break;
    }
}

static void lock_allocator(void)
{
    int n = cgc__nclasses * CGC_NKINDS;
    for (int i = 0; i < n; i++)
        pthread_mutex_lock(&cgc__centrals[i].lock);
    pthread_mutex_lock(&cgc__large_lock);
    pthread_mutex_lock(&cgc__heap_lock);
    pthread_mutex_lock(&cgc__gc.pacer_lock);
}

/* In the reverse order of lock_allocator (stage PARENT or CHILD). */
static void release_allocator(int stage)
{
    int n = cgc__nclasses * CGC_NKINDS;
    cgc__fork_mutex(&cgc__gc.pacer_lock, stage);
    cgc__fork_mutex(&cgc__heap_lock, stage);
    cgc__fork_mutex(&cgc__large_lock, stage);
    for (int i = n - 1; i >= 0; i--)
        cgc__fork_mutex(&cgc__centrals[i].lock, stage);
}

static void prepare(void)
{
    held = atomic_load(&cgc__initialized);
    if (!held)
        return;
    pthread_mutex_lock(&cgc__gc_lock);
    pthread_mutex_lock(&cgc__sweeper_lock);
    pthread_mutex_lock(&gate_lock);
    atomic_store(&forker, cgc__self);
    atomic_store(&cgc__fork_gate, 1);
    pthread_mutex_lock(&cgc__thread_lock);
    cgc__threads_fork(CGC_FORK_PREPARE);
    lock_allocator();
    cgc__finalize_fork(CGC_FORK_PREPARE);
    cgc__mark_fork(CGC_FORK_PREPARE);
    cgc__roots_fork(CGC_FORK_PREPARE);
    cgc__alloc_fork(CGC_FORK_PREPARE);
    cgc__os_fork(CGC_FORK_PREPARE);
    cgc__collect_fork(CGC_FORK_PREPARE);
    cgc__sweep_fork(CGC_FORK_PREPARE);
    cgc__waits_fork(CGC_FORK_PREPARE);
}

static void release(int stage)
{
    cgc__waits_fork(stage);
    cgc__sweep_fork(stage);
    cgc__collect_fork(stage);
    cgc__os_fork(stage);
    cgc__alloc_fork(stage);
    cgc__roots_fork(stage);
    cgc__mark_fork(stage);
    cgc__finalize_fork(stage);
    release_allocator(stage);
    /* The child drops the vanished threads here: flushing their caches
     * takes the central locks, and no other thread exists to race. */
    cgc__threads_fork(stage);
    cgc__fork_mutex(&cgc__thread_lock, stage);
    atomic_store(&cgc__fork_gate, 0);
    atomic_store(&forker, NULL);
    cgc__fork_mutex(&gate_lock, stage);
    cgc__fork_mutex(&cgc__sweeper_lock, stage);
    cgc__fork_mutex(&cgc__gc_lock, stage);
}

static void parent(void)
{
    if (held)
        release(CGC_FORK_PARENT);
}

static void child(void)
{
    if (!held)
        return;
    /* First: the inherited tracker descriptors act on the parent. */
    cgc__dirty_fork_child();
    release(CGC_FORK_CHILD);
    /* The container follower runs on the background thread; the sweeper
     * and markers start with the next collection, as after init. */
    cgc__follower_start();
}

void cgc__fork_init(void)
{
    pthread_atfork(prepare, parent, child);
}
