/* roots.c — libgc's root registration on cgc's: GC_add_roots,
 * GC_remove_roots, GC_clear_roots, and the two ways libgc offers to scan
 * less of the data segments.
 *
 * libgc removes every registered range inside [lo, hi) (GC_remove_roots)
 * or all of them (GC_clear_roots); cgc_remove_roots takes back one range
 * exactly as it was added. So the ranges a program added are listed here
 * (malloc'd: nothing in it keeps anything alive). The data segments of
 * loaded objects are not in that list, as in libgc on Linux, where they are
 * registered again at every collection.
 *
 * GC_exclude_static_roots and GC_register_has_static_roots_callback ask
 * libgc to scan less of the data segments, to save time or to keep less
 * alive: cgc still scans all of them, which keeps more alive, never less.
 */
#include "compat.h"

#include <stdlib.h>

typedef struct root_range {
    void *lo, *hi;
} root_range;

static root_range *ranges;
static size_t nranges, cap;
static pthread_mutex_t ranges_lock = PTHREAD_MUTEX_INITIALIZER;

GCAPI void GC_add_roots(void *lo, void *hi)
{
    if (!lo || (uintptr_t)hi <= (uintptr_t)lo)
        return;
    pthread_mutex_lock(&ranges_lock);
    if (nranges == cap) {
        size_t n = cap ? cap * 2 : 16;
        root_range *v = realloc(ranges, n * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&ranges_lock);
            compat_unsupported("GC_add_roots", "out of memory for the list of roots");
        }
        ranges = v;
        cap = n;
    }
    ranges[nranges].lo = lo;
    ranges[nranges].hi = hi;
    nranges++;
    cgc_add_roots(lo, hi);
    pthread_mutex_unlock(&ranges_lock);
}

/* Removes every listed range inside [lo, hi); ranges_lock held. */
static void remove_inside(uintptr_t lo, uintptr_t hi)
{
    size_t k = 0;
    for (size_t i = 0; i < nranges; i++) {
        if ((uintptr_t)ranges[i].lo >= lo && (uintptr_t)ranges[i].hi <= hi)
            cgc_remove_roots(ranges[i].lo, ranges[i].hi);
        else
            ranges[k++] = ranges[i];
    }
    nranges = k;
}

GCAPI void GC_remove_roots(void *lo, void *hi)
{
    pthread_mutex_lock(&ranges_lock);
    remove_inside((uintptr_t)lo, (uintptr_t)hi);
    pthread_mutex_unlock(&ranges_lock);
}

GCAPI void GC_clear_roots(void)
{
    pthread_mutex_lock(&ranges_lock);
    remove_inside(0, UINTPTR_MAX);
    pthread_mutex_unlock(&ranges_lock);
}

GCAPI void GC_exclude_static_roots(void *lo, void *hi)
{
    (void)lo;
    (void)hi;
}

GCAPI void GC_register_has_static_roots_callback(int (*cb)(const char *, void *, size_t))
{
    (void)cb;
}
