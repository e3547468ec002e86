/* test_dlclose — libraries loaded and unloaded while collections run
 * (roots.c). The set of segments the mark scans must not change between
 * the moment it is listed and the end of the scan:
 *   1. a library unloaded by an unregistered thread (never stopped) once
 *      its segments are listed must not be unmapped under the mark (it was:
 *      SIGSEGV in the drain);
 *   2. an object whose only reference a registered thread stores in the
 *      data of a library it loads during a collection survives it (it was
 *      freed: the library was not in the list);
 *   3. a registered and an unregistered thread loading and unloading the
 *      library in a loop while collections run: no crash, every object kept
 *      through a loaded library's data or its __thread variable intact
 *      (the registered thread's DTV then holds entries of unloaded
 *      instances the collector reads, tls.c).
 *   4. registered threads inside dl_iterate_phdr (holding the loader's
 *      list lock, as an exception unwinder does) and in dlopen/dlclose all
 *      the time while collections run: no deadlock (the collector takes
 *      the lock while the world runs; had it waited for it with the world
 *      stopped, a thread stopped inside would have held it for ever).
 * 1 and 2 use cgc__roots_test_hook, which runs in the collection after the
 * segments are listed and before the world stops: it lets the other thread
 * go and waits for it for up to 3 s. With the loader locked for the whole
 * scan the other thread cannot finish (dlclose and dlopen wait for the
 * collection) and the wait times out; that is the expected path. */
#define _GNU_SOURCE
#include "cgc.h"
#include "check.h"
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

static const char *lib_path;
static sem_t go, done;
static _Atomic int hook_waited_out;

typedef void (*set_fn)(void *);
typedef void *(*get_fn)(void);

/* Runs once, inside the next collection. */
static void hook(void)
{
    cgc__roots_test_hook = NULL;
    sem_post(&go);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 3;
    while (sem_timedwait(&done, &ts) != 0)
        if (errno == ETIMEDOUT) {
            atomic_store(&hook_waited_out, 1);
            return;
        }
}

/* Runs one collection with the hook; afterwards the other thread is done. */
static void collect_with_hook(void)
{
    atomic_store(&hook_waited_out, 0);
    cgc__roots_test_hook = hook;
    cgc_collect();
    if (atomic_load(&hook_waited_out))
        while (sem_wait(&done) != 0)
            ;
}

/* ---- 1. unloaded by an unregistered thread during a collection ---------- */

static void *unloader(void *h)
{
    while (sem_wait(&go) != 0)
        ;
    dlclose(h);
    sem_post(&done);
    return NULL;
}

static void test_unload_during_collection(void)
{
    void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL, "dlopen %s: %s", lib_path, dlerror());
    if (!h)
        return;
    pthread_t t;
    pthread_create(&t, NULL, unloader, h);   /* plain pthread_create: not registered */
    collect_with_hook();
    pthread_join(t, NULL);
    CHECK(dlopen(lib_path, RTLD_NOW | RTLD_NOLOAD) == NULL, "the library was unloaded");
    cgc_collect();
    CHECK(1, "no crash");
}

/* ---- 2. loaded by a registered thread during a collection -------------- */

static void *lib2;

static uintptr_t load_and_store(uintptr_t unused)
{
    lib2 = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib2)
        return 0;
    set_fn set = (set_fn)dlsym(lib2, "dlroot_set");
    (void)cgc_malloc(3000);   /* not the first object of a span (test_shlib_root) */
    char *p = cgc_malloc(3000);
    memset(p, 'd', 3000);
    set(p);
    return hide(p);
}

static uintptr_t stored;

static void *loader(void *unused)
{
    while (sem_wait(&go) != 0)
        ;
    stored = deep_call(load_and_store, 0);
    clear_stack();
    sem_post(&done);
    return NULL;
}

static uintptr_t intact(uintptr_t h)
{
    char *p = unhide(h);
    get_fn get = (get_fn)dlsym(lib2, "dlroot_get");
    return cgc_base(p) == p && p[0] == 'd' && p[2999] == 'd' && get() == p;
}

static void test_load_during_collection(void)
{
    cgc_set_gc_percent(-1);   /* only the test's collections: none while the loader allocates */
    pthread_t t;
    cgc_pthread_create(&t, NULL, loader, NULL);
    collect_with_hook();
    pthread_join(t, NULL);
    CHECK(lib2 != NULL && stored != 0, "the loader thread loaded the library and stored an object");
    if (!lib2 || !stored)
        return;
    clear_stack();
    for (int i = 0; i < 3; i++)
        cgc_collect();
    CHECK(deep_call(intact, stored), "an object held only by a library loaded during a collection survives");
    dlclose(lib2);
    cgc_set_gc_percent(100);
}

/* ---- 3. loading and unloading in a loop while collections run ----------- */

#define ROUNDS 1000
static _Atomic int running;
static _Atomic int bad_objects;

static void *cycle_lib(void *registered)
{
    for (int i = 0; i < ROUNDS; i++) {
        void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            continue;
        if (registered) {
            set_fn set = (set_fn)dlsym(h, "dlroot_set"), tls_set = (set_fn)dlsym(h, "dlroot_tls_set");
            get_fn get = (get_fn)dlsym(h, "dlroot_get"), tls_get = (get_fn)dlsym(h, "dlroot_tls_get");
            uint64_t *p = cgc_malloc(64), *pt = cgc_malloc(64);
            for (int k = 0; k < 8; k++) {
                p[k] = (uint64_t)i * 8 + k;
                pt[k] = ~((uint64_t)i * 8 + k);
            }
            set(p);
            tls_set(pt);
            p = pt = NULL;
            for (int k = 0; k < 50; k++)
                (void)cgc_malloc(1024);   /* give collections a chance to run */
            uint64_t *q = get(), *qt = tls_get();
            for (int k = 0; k < 8; k++)
                if (q[k] != (uint64_t)i * 8 + k || qt[k] != ~((uint64_t)i * 8 + k)) {
                    atomic_fetch_add(&bad_objects, 1);
                    break;
                }
            set(NULL);
            tls_set(NULL);
        }
        dlclose(h);
    }
    atomic_fetch_sub(&running, 1);
    return NULL;
}

static void test_load_unload_loop(void)
{
    pthread_t reg, unreg;
    atomic_store(&running, 2);
    cgc_pthread_create(&reg, NULL, cycle_lib, (void *)1);
    pthread_create(&unreg, NULL, cycle_lib, NULL);
    cgc_memstats m0, m1;
    cgc_read_memstats(&m0);
    while (atomic_load(&running) > 0)
        cgc_collect();
    pthread_join(reg, NULL);
    pthread_join(unreg, NULL);
    cgc_read_memstats(&m1);
    printf("dlclose: %d load/unload rounds per thread, %u collections meanwhile\n", ROUNDS,
           m1.num_gc - m0.num_gc);
    CHECK(atomic_load(&bad_objects) == 0, "%d objects held by a loaded library were corrupted",
          atomic_load(&bad_objects));
}

/* ---- 4. threads holding the loader's lock while collections run ------- */

static _Atomic int iterating;

static int slow_callback(struct dl_phdr_info *info, size_t size, void *arg)
{
    volatile uint64_t x = 0;
    for (int i = 0; i < 2000; i++)   /* a few microseconds with the lock held */
        x += (uint64_t)i * info->dlpi_phnum;
    (void)x;
    return 0;
}

static void *iterate_phdrs(void *unused)
{
    while (atomic_load(&iterating))
        dl_iterate_phdr(slow_callback, NULL);
    return NULL;
}

static void *open_close(void *unused)
{
    while (atomic_load(&iterating)) {
        void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
        if (h)
            dlclose(h);
    }
    return NULL;
}

static void deadlocked(int sig)
{
    static const char msg[] = "FAIL test_dlclose: no progress in 120 s: the collection deadlocked with a thread "
                              "holding the loader's lock\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

static void test_lock_holders(void)
{
    signal(SIGALRM, deadlocked);
    alarm(120);
    pthread_t it[2], oc;
    atomic_store(&iterating, 1);
    cgc_pthread_create(&it[0], NULL, iterate_phdrs, NULL);
    cgc_pthread_create(&it[1], NULL, iterate_phdrs, NULL);
    cgc_pthread_create(&oc, NULL, open_close, NULL);
    for (int i = 0; i < 300; i++) {
        cgc_collect();
        (void)cgc_malloc(4096);
    }
    atomic_store(&iterating, 0);
    pthread_join(it[0], NULL);
    pthread_join(it[1], NULL);
    pthread_join(oc, NULL);
    alarm(0);
    CHECK(1, "300 collections with threads in dl_iterate_phdr and dlopen/dlclose: no deadlock");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s path/to/libtest_dlroot.so [parts: 1234]\n", argv[0]);
        return 2;
    }
    lib_path = argv[1];
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    const char *only = argc > 2 ? argv[2] : "1234";   /* a second argument picks parts */
    if (strchr(only, '1'))
        test_unload_during_collection();
    if (strchr(only, '2'))
        test_load_during_collection();
    if (strchr(only, '3'))
        test_load_unload_loop();
    if (strchr(only, '4'))
        test_lock_holders();
    return check_done();
}
