/* test_roots_nomem — a collection that cannot record all its roots frees
 * nothing (roots.c: cgc__roots_lost).
 *
 * The list of a collection's roots lives in metadata tables that grow as
 * needed: the writable segments of the loaded objects, and the modules
 * with thread-local storage. If one cannot grow, the roots that did not fit
 * are not scanned, and a mark from the others would free an object only
 * they refer to. Here the first collection of a fresh process (its tables
 * empty, so the first root must grow them) runs with one table unable to
 * grow (cgc__roots_test_nomem), while an object is referenced only from
 *   segments: the data of a library loaded with dlopen;
 *   tls:      a __thread variable of that library (dynamic TLS: a block
 *             glibc mallocs on the thread's first use, which no other root
 *             covers).
 * The object must keep its contents through that collection and the churn
 * after it (a freed object is reused by the churn, and poisoned in Debug
 * builds); so must an object nothing refers to (that cycle keeps every
 * object); and the next collection, whose tables grow, reclaims it.
 *   registered: a malloc'd word given to cgc_add_roots when the table of
 *             registered ranges cannot grow. The range is never recorded
 *             and the program is not told (beyond a warning), so from then
 *             on no collection may free anything: the object and the
 *             unreferenced one are kept by every later collection too.
 *
 * Each case runs in its own process (this program runs itself with the
 * case as a second argument): a table grows only once per process. */
#define _GNU_SOURCE
#include "cgc.h"
#include "check.h"
#include "reuse.h"
#include "internal.h"

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORDS 8

static void (*lib_set)(void *);
static void *(*lib_get)(void);

/* The "registered" case's holder: a word of the system malloc's. */
static void **malloc_slot;
static void slot_set(void *p) { *malloc_slot = p; }
static void *slot_get(void) { return *malloc_slot; }

#define TAG 0x2007e55000000000ull

static uintptr_t store(uintptr_t unused)
{
    (void)cgc_malloc(3000);   /* not the first object of a span (test_shlib_root) */
    uint64_t *p = cgc_malloc(WORDS * sizeof(uint64_t));
    tag_words(p, WORDS, TAG);
    lib_set(p);
    return 0;
}

static uintptr_t garbage(uintptr_t unused)
{
    uint64_t *g = cgc_malloc(WORDS * sizeof(uint64_t));
    tag_words(g, WORDS, TAG);
    return hide(g);
}

/* 1 if the library's object is allocated and has its contents. */
static uintptr_t intact(uintptr_t unused)
{
    return tags_intact(lib_get(), WORDS, TAG);
}

/* 1 if the object at hidden address h is allocated with its contents. */
static uintptr_t kept(uintptr_t h)
{
    return tags_intact(unhide(h), WORDS, TAG);
}

static int run_registered(void)
{
    malloc_slot = calloc(1, sizeof *malloc_slot);
    lib_set = slot_set;
    lib_get = slot_get;
    CHECK(atomic_load(&cgc__gc.num_gc) == 0, "registered: a collection ran before the test's");
    atomic_store(&cgc__roots_test_nomem, 1 << CGC_ROOTS_REGISTERED);
    cgc_add_roots(malloc_slot, malloc_slot + 1);
    atomic_store(&cgc__roots_test_nomem, 0);
    CHECK(!cgc__roots_complete(), "registered: the table grew: the test did not exercise a lost range");
    deep_call(store, 0);
    uintptr_t g = deep_call(garbage, 0);
    clear_stack();
    for (int round = 0; round < 3; round++) {
        cgc_collect();
        deep_call(reuse_freed, WORDS);
        clear_stack();
        CHECK(deep_call(intact, 0), "registered: collection %d freed the object held only by a range "
              "cgc_add_roots could not record", round + 1);
        CHECK(deep_call(kept, g), "registered: collection %d freed an object while a range is unrecorded",
              round + 1);
    }
    return check_done();
}

static int run_case(const char *path, const char *which)
{
    if (strcmp(which, "registered") == 0)
        return run_registered();
    int table = strcmp(which, "segments") == 0 ? CGC_ROOTS_SEGMENTS : CGC_ROOTS_TLS;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL, "dlopen %s: %s", path, dlerror());
    if (!lib)
        return check_done();
    const char *set = table == CGC_ROOTS_SEGMENTS ? "dlroot_set" : "dlroot_tls_set";
    const char *get = table == CGC_ROOTS_SEGMENTS ? "dlroot_get" : "dlroot_tls_get";
    lib_set = (void (*)(void *))dlsym(lib, set);
    lib_get = (void *(*)(void))dlsym(lib, get);
    CHECK(lib_set && lib_get, "dlsym %s/%s", set, get);
    if (!lib_set || !lib_get)
        return check_done();

    CHECK(atomic_load(&cgc__gc.num_gc) == 0, "%s: a collection ran before the test's (tables already grown)",
          which);
    deep_call(store, 0);
    uintptr_t g = deep_call(garbage, 0);
    clear_stack();

    atomic_store(&cgc__roots_test_nomem, 1 << table);
    cgc_collect();
    atomic_store(&cgc__roots_test_nomem, 0);
    CHECK(!cgc__roots_complete(), "%s: the table grew: the test did not exercise a root that could not be recorded",
          which);
    CHECK(deep_call(kept, g), "%s: the collection that could not record its roots freed an object", which);
    deep_call(reuse_freed, WORDS);
    clear_stack();
    CHECK(deep_call(intact, 0), "%s: the object held only by the library's %s was freed by the collection "
          "that could not record that root", which, table == CGC_ROOTS_SEGMENTS ? "data" : "__thread variable");

    /* With the table able to grow, collection works again. */
    cgc_collect();
    CHECK(cgc__roots_complete(), "%s: the next collection still could not record its roots", which);
    CHECK(deep_call(intact, 0), "%s: the object held by the library was freed by the next collection", which);
    CHECK(deep_call(reclaimed, g), "%s: the next collection did not reclaim an unreferenced object", which);
    return check_done();
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s path/to/libtest_dlroot.so [segments|tls|registered]\n", argv[0]);
        return 2;
    }
    if (argc > 2)
        return run_case(argv[1], argv[2]);
    static const char *const cases[] = {"segments", "tls", "registered"};
    for (int i = 0; i < 3; i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], argv[1], cases[i], (char *)NULL);
            _exit(127);
        }
        CHECK(pid > 0 && check_child_ok(pid, cases[i]), "case %s failed (its output is above)", cases[i]);
    }
    return check_done();
}
