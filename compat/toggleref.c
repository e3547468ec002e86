/* toggleref.c — libgc's toggle-refs (GC_toggleref_add,
 * GC_set_toggleref_func): objects the program holds strongly or weakly as
 * a callback decides at every collection (Mono's objects shared with
 * native code: strong while native code holds them, weak otherwise).
 *
 * The entries are an array in pages of their own (cgc__os_map, counted in
 * other_sys, not scanned). At every mark, on the collector's thread with
 * the world stopped (the extra roots, compat/kinds.c), the callback is
 * asked about each entry: DROP removes it, STRONG makes its object a root
 * of this mark, WEAK leaves it to be reached or not. In the pause, after
 * the mark and before finalizers are chosen (compat/finalize.c's hook,
 * stage 0), a weak entry whose object is unmarked is removed: the object
 * is freed (or finalized) like any unreachable one. libgc asks the
 * callback with the world running and its lock held; here the world is
 * stopped, so the callback must not take a lock that another thread may
 * hold (Mono's reads a reference count in the object).
 *
 * As in libgc, GC_toggleref_add records nothing while no callback is set.
 * Program threads take toggle_lock only inside a cgc section, so no
 * stopped thread holds it in the pause, which reads the array without it.
 */
#include "compat.h"

typedef int (*toggleref_func)(void *obj);   /* GC_ToggleRefStatus */
enum { TOGGLE_DROP = 0, TOGGLE_STRONG = 1, TOGGLE_WEAK = 2 };

typedef struct toggle_entry {
    uintptr_t obj;      /* base of the object; 0: removed in the pause */
    uintptr_t strong;   /* as of the last answer (or GC_toggleref_add) */
} toggle_entry;

static pthread_mutex_t toggle_lock = PTHREAD_MUTEX_INITIALIZER;
static toggle_entry *entries;
static size_t nentries, cap;

toggleref_func GC_get_toggleref_func(void);   /* knobs.c */

/* Room for one more entry (toggle_lock held, in a section). */
static bool room(void)
{
    if (nentries < cap)
        return true;
    size_t n = cap ? cap * 2 : 256;
    toggle_entry *v = cgc__os_map(n * sizeof *v);
    if (!v)
        return false;
    atomic_fetch_add(&cgc__mem.other_sys, n * sizeof *v);
    if (nentries)
        memcpy(v, entries, nentries * sizeof *v);
    if (entries) {
        cgc__os_unmap(entries, cap * sizeof *entries);
        atomic_fetch_sub(&cgc__mem.other_sys, cap * sizeof *entries);
    }
    entries = v;
    cap = n;
    return true;
}

GCAPI int GC_toggleref_add(void *obj, int is_strong)
{
    void *base = obj ? cgc_base(obj) : NULL;
    if (!base)
        compat_unsupported("GC_toggleref_add", "the object is not in the collected heap");
    if (!GC_get_toggleref_func())
        return GC_SUCCESS_CODE;
    int rc = GC_SUCCESS_CODE;
    cgc__thread *self = compat_registered_self();
    cgc__enter(self);
    pthread_mutex_lock(&toggle_lock);
    if (room()) {
        entries[nentries].obj = (uintptr_t)base;
        entries[nentries].strong = is_strong != 0;
        nentries++;
    } else {
        rc = GC_NO_MEMORY_CODE;
    }
    pthread_mutex_unlock(&toggle_lock);
    cgc__leave(self);
    return rc;
}

/* The extra roots of every mark (world stopped): ask, drop, push. */
void compat_toggleref_mark(void)
{
    toggleref_func f = GC_get_toggleref_func();
    size_t k = 0;
    for (size_t i = 0; i < nentries; i++) {
        toggle_entry e = entries[i];
        if (!e.obj)
            continue;   /* removed by the last pause */
        if (f) {
            int st = f((void *)e.obj);
            if (st == TOGGLE_DROP)
                continue;
            e.strong = st == TOGGLE_STRONG;
        }
        if (e.strong)
            cgc__mark_push_word(e.obj);
        entries[k++] = e;
    }
    nentries = k;
}

/* In the pause after the mark (world stopped): weak entries whose object
 * nothing reached go. Marked 0 here, compacted at the next mark. */
void compat_toggleref_clear(void)
{
    for (size_t i = 0; i < nentries; i++)
        if (entries[i].obj && !entries[i].strong && !cgc__mark_is_marked(entries[i].obj))
            entries[i].obj = 0;
}
