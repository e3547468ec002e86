/* world.c — libgc's calls that stop the world for the program:
 * GC_stop_world_external / GC_start_world_external, and
 * GC_enumerate_reachable_objects_inner, which walks the heap with the
 * world stopped.
 *
 * Both stop it as a collection does (src/collect.c): gc_lock (no
 * collection meanwhile), sweeper_lock (the background sweeper holds off),
 * thread_lock, then cgc__stop_world, which signals every registered thread
 * but the caller, waits for each to park outside any cgc section, and
 * claims those in GC_do_blocking. Unlike a collection's pause this one is
 * not inside the loader's list lock (it returns to the program with the
 * world stopped), so the program must not load or unload a library, or
 * call anything that waits for another thread, until it starts the world
 * again — libgc's rule too.
 *
 * A caller inside GC_alloc_lock / GC_call_with_alloc_lock is in a cgc
 * section, and a collection that has taken gc_lock waits for it to leave
 * that section before it can stop the world: waiting for gc_lock there
 * would deadlock. So the section is left (compat_alloc_lock_suspend) while
 * the locks are taken and entered again afterwards; a collection may run
 * in that window, as one may just before the call.
 */
#include "compat.h"

#include <stdio.h>

/* ---- stop and start ----------------------------------------------------- */

/* Takes what a collection takes and stops every other registered thread.
 * The caller must not be in a cgc section (it would be waited for by a
 * collector holding gc_lock). */
static void stop_all(void)
{
    pthread_mutex_lock(&cgc__gc_lock);
    pthread_mutex_lock(&cgc__sweeper_lock);
    pthread_mutex_lock(&cgc__thread_lock);
    cgc__stop_world();
}

static void start_all(void)
{
    cgc__start_world();
    pthread_mutex_unlock(&cgc__thread_lock);
    pthread_mutex_unlock(&cgc__sweeper_lock);
    pthread_mutex_unlock(&cgc__gc_lock);
}

static cgc__thread *_Atomic external_stopper;   /* the thread that stopped the world */

GCAPI void GC_stop_world_external(void)
{
    cgc__thread *self = compat_registered_self();
    if (atomic_load(&external_stopper) == self)
        compat_unsupported("GC_stop_world_external", "the world is already stopped by this thread");
    int held = compat_alloc_lock_suspend();
    if (self->in_cgc)
        compat_unsupported("GC_stop_world_external", "called from inside the collector (a mark procedure or "
                                                     "a callback it runs)");
    stop_all();
    compat_alloc_lock_resume(held);
    atomic_store(&external_stopper, self);
}

GCAPI void GC_start_world_external(void)
{
    if (atomic_load(&external_stopper) != cgc__self)
        compat_unsupported("GC_start_world_external",
                           "the world was not stopped by GC_stop_world_external in this thread");
    atomic_store(&external_stopper, NULL);
    start_all();
}

/* ---- enumerating the heap ----------------------------------------------- */

typedef void (*reachable_proc)(void *obj, size_t bytes, void *cd);

typedef struct found {
    uintptr_t obj;
    size_t    bytes;
} found;

typedef struct walk {
    found  *v;       /* NULL: counting only */
    size_t  n, cap;
} walk;

/* Every object of an in-use span (world stopped, caches flushed, sweeping
 * finished: a slot's state byte says whether it holds an object). */
static void walk_span(cgc__span *s, void *arg)
{
    walk *w = arg;
    if (s->state == CGC_SPAN_LARGE) {
        if (!(s->marks[0] & CGC_SLOT_ALLOCATED))
            return;
        if (w->v && w->n < w->cap)
            w->v[w->n] = (found){s->start, (size_t)s->elemsize};
        w->n++;
        return;
    }
    for (uint32_t i = 0; i < s->nelems; i++) {
        if (!(s->marks[i] & CGC_SLOT_ALLOCATED))
            continue;
        if (w->v && w->n < w->cap)
            w->v[w->n] = (found){s->start + (uintptr_t)i * s->elemsize, (size_t)s->elemsize};
        w->n++;
    }
}

/* libgc reports the objects its last collection marked. cgc keeps no such
 * set (its sweep turns marks into allocation state as it goes), so this
 * finishes the sweep, after which every object still allocated either
 * survived the last collection or was allocated since, and reports those:
 * everything libgc would report, and possibly objects that became
 * unreachable since the last collection (as they would in libgc too if it
 * had not collected yet). Object sizes are the slot sizes (as GC_size).
 * The list is taken with the world stopped and proc is called after it
 * restarts, with no collection able to run until the walk ends, in the
 * caller's alloc-lock section if it was in one (proc must not allocate,
 * as in libgc). */
GCAPI void GC_enumerate_reachable_objects_inner(reachable_proc proc, void *cd)
{
    if (!proc)
        return;
    cgc__thread *self = compat_registered_self();
    int held = compat_alloc_lock_suspend();
    if (self->in_cgc)
        compat_unsupported("GC_enumerate_reachable_objects_inner",
                           "called from inside the collector (a mark procedure or a callback it runs)");
    pthread_mutex_lock(&cgc__gc_lock);
    pthread_mutex_lock(&cgc__sweeper_lock);
    cgc__sweep_finish();
    pthread_mutex_lock(&cgc__thread_lock);
    cgc__stop_world();
    for (cgc__thread *t = cgc__threads; t; t = t->next)
        cgc__tcache_flush(t);
    pthread_mutex_lock(&cgc__heap_lock);
    walk w = {0};
    cgc__heap_foreach_inuse(walk_span, &w);
    size_t bytes = (w.n ? w.n : 1) * sizeof(found);
    w.v = cgc__os_map(bytes);   /* an mmap: no malloc with the world stopped */
    w.cap = w.v ? w.n : 0;
    size_t counted = w.n;
    w.n = 0;
    if (w.v)
        cgc__heap_foreach_inuse(walk_span, &w);
    pthread_mutex_unlock(&cgc__heap_lock);
    cgc__start_world();
    pthread_mutex_unlock(&cgc__thread_lock);
    pthread_mutex_unlock(&cgc__sweeper_lock);
    compat_alloc_lock_resume(held);
    if (!w.v) {
        pthread_mutex_unlock(&cgc__gc_lock);
        char why[96];
        snprintf(why, sizeof why, "no memory for the list of %zu objects", counted);
        compat_unsupported("GC_enumerate_reachable_objects_inner", why);
    }
    /* gc_lock still held: no collection frees anything while proc runs. */
    for (size_t i = 0; i < w.n; i++)
        proc((void *)w.v[i].obj, w.v[i].bytes, cd);
    pthread_mutex_unlock(&cgc__gc_lock);
    cgc__os_unmap(w.v, bytes);
}
