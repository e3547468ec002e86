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
 * sweeper's lock (the sweeper is between spans), the thread registry's
 * lock, then stop the world, so every other registered thread is parked
 * outside any cgc section and holds no allocator lock. cgc's own threads
 * are not stopped, so then every allocator lock, in the order the code
 * nests them (central lists → large list → page heap → pacer → mark bytes
 * → roots → metadata), then the mutexes the background threads wait on.
 * Parent: release it all in reverse, restart the world. Child: release
 * it all (the mutexes are re-initialised where a thread that no longer
 * exists waited on a condition), drop the other threads from the registry
 * (their caches go back to the central lists), and let cgc's threads be
 * created again when they are next needed.
 *
 * A fork from a thread cgc does not know still works: the child then has
 * no registered thread until one allocates. Only the forking thread's
 * stack is scanned in the child: objects only the vanished threads' stacks
 * referred to are garbage there, as they should be.
 */
#include "internal.h"

static int held;   /* prepare ran with cgc initialised: undo exactly that */

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
    pthread_mutex_lock(&cgc__thread_lock);
    cgc__threads_fork(CGC_FORK_PREPARE);
    lock_allocator();
    cgc__finalize_fork(CGC_FORK_PREPARE);
    cgc__mark_fork(CGC_FORK_PREPARE);
    cgc__roots_fork(CGC_FORK_PREPARE);
    cgc__os_fork(CGC_FORK_PREPARE);
    cgc__collect_fork(CGC_FORK_PREPARE);
    cgc__sweep_fork(CGC_FORK_PREPARE);
}

static void release(int stage)
{
    cgc__sweep_fork(stage);
    cgc__collect_fork(stage);
    cgc__os_fork(stage);
    cgc__roots_fork(stage);
    cgc__mark_fork(stage);
    cgc__finalize_fork(stage);
    release_allocator(stage);
    /* The child drops the vanished threads here: flushing their caches
     * takes the central locks, and no other thread exists to race. */
    cgc__threads_fork(stage);
    cgc__fork_mutex(&cgc__thread_lock, stage);
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
    release(CGC_FORK_CHILD);
    /* The container follower runs on the background thread; the sweeper
     * and markers start with the next collection, as after init. */
    cgc__follower_start();
}

void cgc__fork_init(void)
{
    pthread_atfork(prepare, parent, child);
}
