/* test_thread_register_fail: cgc_pthread_create fails (EAGAIN) when the new
 * thread cannot be registered, and the thread's function does not run.
 *
 * Registration takes a thread record from metadata. If that mapping fails,
 * the thread used to run unregistered: its stack is not scanned, so what
 * only it refers to (its argument, its locals) could be freed under it.
 * Here the metadata chunk is used up and every mapping made to fail; the
 * creation must fail and the function must not have run; then, with
 * mappings back, creation works and the thread is registered. */
#include "check.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>

static _Atomic int ran, registered;

static void *fn(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
    if (cgc__self)
        atomic_fetch_add(&registered, 1);
    return NULL;
}

int main(void)
{
    /* With every mapping failing, use up the current metadata chunk
     * (blocks under 256 KiB come from it), so the next thread record needs
     * a new mapping. */
    cgc__fault_mmap_after(0);
    for (size_t size = 128 << 10; size >= 16; size /= 2)
        while (cgc__meta_alloc(size, &cgc__mem.other_sys))
            ;
    pthread_t t;
    int rc = cgc_pthread_create(&t, NULL, fn, NULL);
    cgc__fault_mmap_after(-1);
    if (rc == 0)
        pthread_join(t, NULL);
    CHECK(rc == EAGAIN, "cgc_pthread_create returned %d without a thread record", rc);
    CHECK(atomic_load(&ran) == 0, "the function ran in an unregistered thread");

    rc = cgc_pthread_create(&t, NULL, fn, NULL);
    CHECK(rc == 0, "cgc_pthread_create with memory back: %d", rc);
    if (rc == 0)
        pthread_join(t, NULL);
    CHECK(atomic_load(&ran) == atomic_load(&registered), "a thread ran unregistered");
    return check_done();
}
