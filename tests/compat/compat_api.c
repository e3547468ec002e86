/* compat_api.c — libgc's documented behaviour, as a libgc program sees it,
 * on cgc's libgc.so.1 (docs/boehm-compat.md). Built twice (tests/compat.cmake):
 * against cgc's compat headers and against Debian's libgc-dev headers, both
 * linked with cgc's libgc.so.1 and run with LD_BIND_NOW=1, so every symbol
 * a libgc-built program can reference must resolve. Only what both headers
 * declare is used. */
#define GC_THREADS 1
#include <gc.h>
#include <gc/gc_mark.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "../check.h"

#ifndef GC_I_PTRFREE   /* gc_inline.h in libgc, gc_mark.h in cgc's headers */
#define GC_I_PTRFREE 0
#endif

/* ---- helpers ----------------------------------------------------------- */

/* One collection with the dead stack cleared. */
static void cycle(void)
{
    clear_stack();
    GC_gcollect();
}

static atomic_int fin_runs[16];
static void count_fin(void *obj, void *cd)
{
    int i = (int)(uintptr_t)cd;
    (void)obj;   /* not stored: that would resurrect it */
    atomic_fetch_add(&fin_runs[i], 1);
}
static void other_fin(void *obj, void *cd) { (void)obj; (void)cd; }

/* ---- allocation --------------------------------------------------------- */

static uintptr_t alloc_one_past_end(uintptr_t n)
{
    char *p = GC_MALLOC_ATOMIC(n);
    memset(p, 0x5a, n);
    return (uintptr_t)(p + n);   /* only the one-past-the-end pointer is kept */
}

static void test_alloc(void)
{
    char *p = GC_MALLOC(100);
    CHECK(p != NULL, "GC_MALLOC");
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= p[i] == 0;
    CHECK(zero, "GC_MALLOC memory is zeroed");
    CHECK(GC_base(p + 50) == p, "GC_base of an interior pointer");
    CHECK(GC_size(p) >= 100, "GC_size %zu", GC_size(p));
    CHECK(GC_is_heap_ptr(p) && !GC_is_heap_ptr(&zero), "GC_is_heap_ptr");
    CHECK(GC_base(&zero) == NULL, "GC_base of a stack address");

    /* One past the end keeps the object alive (GC_all_interior_pointers). */
    volatile uintptr_t end = deep_call(alloc_one_past_end, 64);
    for (int i = 0; i < 3; i++)
        cycle();
    char *base = GC_base((void *)end);
    CHECK(base != NULL && base + 64 == (char *)end, "one-past-the-end pointer keeps its object (%p)", (void *)base);
    int intact = base != NULL;
    for (int i = 0; base && i < 64; i++)
        intact &= base[i] == 0x5a;
    CHECK(intact, "the object reached only one past its end is intact after collections");

    char *r = GC_REALLOC(p, 5000);
    CHECK(r && GC_size(r) >= 5000, "GC_REALLOC grows");
    CHECK(GC_REALLOC(r, 0) == NULL, "GC_realloc(p, 0) frees and returns NULL");
    char *s = GC_STRDUP("hello");
    CHECK(s && strcmp(s, "hello") == 0, "GC_strdup");
    char *sn = GC_strndup("hello world", 5);
    CHECK(sn && strcmp(sn, "hello") == 0, "GC_strndup");
    void *a = GC_memalign(4096, 100);
    CHECK(a && ((uintptr_t)a & 4095) == 0, "GC_memalign 4096 %p", a);
    CHECK(GC_base(a) != NULL, "GC_base of a GC_memalign result");
    void *pm = NULL;
    CHECK(GC_posix_memalign(&pm, 64, 10) == 0 && pm && ((uintptr_t)pm & 63) == 0, "GC_posix_memalign");
    CHECK(GC_posix_memalign(&pm, 3, 10) == EINVAL, "GC_posix_memalign rejects a bad alignment");
    void *u = GC_MALLOC_UNCOLLECTABLE(32);
    CHECK(u != NULL, "GC_MALLOC_UNCOLLECTABLE");
    GC_FREE(u);
    void *g = GC_generic_malloc(40, GC_I_PTRFREE);
    size_t gs = 0;
    CHECK(g && GC_get_kind_and_size(g, &gs) == GC_I_PTRFREE && gs >= 40, "GC_generic_malloc / GC_get_kind_and_size");
    void *many = GC_malloc_many(24);
    int n = 0;
    for (void *q = many; q; q = GC_NEXT(q))
        n++;
    CHECK(n >= 1, "GC_malloc_many returns a list (%d)", n);
    CHECK(GC_get_heap_size() > 0 && GC_get_total_bytes() > 0, "heap statistics");
    CHECK(GC_get_version() == ((8u << 16) | (2u << 8) | 2u), "GC_get_version");
}

/* ---- disable nesting ------------------------------------------------------ */

static void test_disable(void)
{
    GC_word n0 = GC_get_gc_no();
    GC_disable();
    GC_disable();
    CHECK(GC_is_disabled(), "disabled");
    GC_gcollect();
    CHECK(GC_get_gc_no() == n0, "no collection while disabled");
    GC_enable();
    CHECK(GC_is_disabled(), "still disabled after one GC_enable of two GC_disable");
    GC_enable();
    CHECK(!GC_is_disabled(), "enabled again");
    GC_gcollect();
    CHECK(GC_get_gc_no() > n0, "collects once enabled");
}

/* ---- finalizers ------------------------------------------------------------ */

struct node {
    struct node *next;
    long payload;
};

static uintptr_t make_finalizable(uintptr_t slot)
{
    struct node *o = GC_MALLOC(sizeof *o);
    GC_register_finalizer(o, count_fin, (void *)slot, NULL, NULL);
    return ~(uintptr_t)o;
}

/* a -> b, both finalizable; ordered: a first, b in a later cycle. */
static uintptr_t make_chain(uintptr_t mode)
{
    struct node *a = GC_MALLOC(sizeof *a), *b = GC_MALLOC(sizeof *b);
    a->next = b;
    if (mode == 0) {
        GC_register_finalizer(a, count_fin, (void *)2, NULL, NULL);
        GC_register_finalizer(b, count_fin, (void *)3, NULL, NULL);
    } else {
        GC_register_finalizer_no_order(a, count_fin, (void *)4, NULL, NULL);
        GC_register_finalizer_no_order(b, count_fin, (void *)5, NULL, NULL);
    }
    return 0;
}

static uintptr_t make_self_cycle(uintptr_t ignore_self)
{
    struct node *a = GC_MALLOC(sizeof *a);
    a->next = a;
    if (ignore_self)
        GC_register_finalizer_ignore_self(a, count_fin, (void *)7, NULL, NULL);
    else
        GC_register_finalizer(a, count_fin, (void *)6, NULL, NULL);
    return 0;
}

static void test_finalizers(void)
{
    /* Previous finalizer and data through the out-parameters. */
    void *o = GC_MALLOC(16);
    GC_finalization_proc ofn = other_fin;
    void *ocd = (void *)1;
    GC_register_finalizer(o, count_fin, (void *)10, &ofn, &ocd);
    CHECK(ofn == NULL && ocd == NULL, "no previous finalizer: 0 and 0");
    GC_register_finalizer(o, other_fin, (void *)11, &ofn, &ocd);
    CHECK(ofn == count_fin && ocd == (void *)10, "previous finalizer and data returned");
    GC_register_finalizer(o, NULL, NULL, &ofn, &ocd);
    CHECK(ofn == other_fin && ocd == (void *)11, "removing returns the one removed");

    /* Runs once the object is unreachable; in the collecting thread. */
    deep_call(make_finalizable, 1);
    for (int i = 0; i < 5 && !atomic_load(&fin_runs[1]); i++)
        cycle();
    CHECK(atomic_load(&fin_runs[1]) == 1, "finalizer ran once (%d)", atomic_load(&fin_runs[1]));

    /* Ordered. */
    deep_call(make_chain, 0);
    cycle();
    CHECK(atomic_load(&fin_runs[2]) == 1 && atomic_load(&fin_runs[3]) == 0,
          "ordered: a's finalizer first, b's waits (%d, %d)", atomic_load(&fin_runs[2]), atomic_load(&fin_runs[3]));
    for (int i = 0; i < 5 && !atomic_load(&fin_runs[3]); i++)
        cycle();
    CHECK(atomic_load(&fin_runs[3]) == 1, "ordered: b's finalizer in a later cycle");

    /* No order: both in the same cycle. */
    deep_call(make_chain, 1);
    for (int i = 0; i < 5 && !atomic_load(&fin_runs[4]); i++)
        cycle();
    CHECK(atomic_load(&fin_runs[4]) == 1 && atomic_load(&fin_runs[5]) == 1,
          "no_order: both finalized together (%d, %d)", atomic_load(&fin_runs[4]), atomic_load(&fin_runs[5]));

    /* A self-pointer blocks an ordered finalizer, not an ignore_self one. */
    deep_call(make_self_cycle, 0);
    deep_call(make_self_cycle, 1);
    for (int i = 0; i < 4; i++)
        cycle();
    CHECK(atomic_load(&fin_runs[6]) == 0, "ordered: an object pointing to itself is never finalized");
    CHECK(atomic_load(&fin_runs[7]) == 1, "ignore_self: an object pointing to itself is finalized (%d)",
          atomic_load(&fin_runs[7]));
}

static atomic_int notified;
static void notifier(void) { atomic_fetch_add(&notified, 1); }

static void test_on_demand(void)
{
    GC_set_finalize_on_demand(1);
    GC_set_finalizer_notifier(notifier);
    deep_call(make_finalizable, 8);
    for (int i = 0; i < 5 && !GC_should_invoke_finalizers(); i++)
        cycle();
    CHECK(GC_should_invoke_finalizers(), "a finalizer is ready");
    CHECK(atomic_load(&fin_runs[8]) == 0, "on demand: not run by the collection");
    CHECK(atomic_load(&notified) >= 1, "the notifier was called");
    int n = GC_invoke_finalizers();
    CHECK(n == 1 && atomic_load(&fin_runs[8]) == 1, "GC_invoke_finalizers ran it (%d)", n);
    CHECK(!GC_should_invoke_finalizers(), "nothing left");
    GC_set_finalize_on_demand(0);
    GC_set_finalizer_notifier(0);
}

/* ---- disappearing links ----------------------------------------------------- */

static GC_hidden_pointer short_link, long_link, keep_link;
static void *keeper;

static uintptr_t make_linked(uintptr_t resurrect)
{
    struct node *o = GC_MALLOC(sizeof *o);
    short_link = GC_HIDE_POINTER(o);
    long_link = GC_HIDE_POINTER(o);
    CHECK(GC_general_register_disappearing_link((void **)&short_link, o) == GC_SUCCESS, "register: GC_SUCCESS");
    CHECK(GC_general_register_disappearing_link((void **)&short_link, o) == GC_DUPLICATE, "again: GC_DUPLICATE");
    CHECK(GC_register_long_link((void **)&long_link, o) == GC_SUCCESS, "long link: GC_SUCCESS");
    if (resurrect)
        GC_register_finalizer(o, count_fin, (void *)9, NULL, NULL);
    return 0;
}

static void test_links(void)
{
    void **nowhere = (void **)&keeper;
    CHECK(GC_unregister_disappearing_link(nowhere) == 0, "unregistering an unknown link: 0");
    CHECK(GC_move_disappearing_link(nowhere, (void **)&keep_link) == GC_NOT_FOUND, "move of unknown: GC_NOT_FOUND");

    /* Registration, move, unregister return codes. */
    void *obj = GC_MALLOC(8);
    keeper = obj;
    keep_link = GC_HIDE_POINTER(obj);
    GC_hidden_pointer other = GC_HIDE_POINTER(obj), third = 0;
    CHECK(GC_general_register_disappearing_link((void **)&keep_link, obj) == GC_SUCCESS, "register");
    CHECK(GC_general_register_disappearing_link((void **)&other, obj) == GC_SUCCESS, "register other");
    CHECK(GC_move_disappearing_link((void **)&keep_link, (void **)&other) == GC_DUPLICATE, "move onto registered: GC_DUPLICATE");
    CHECK(GC_move_disappearing_link((void **)&keep_link, (void **)&keep_link) == GC_SUCCESS, "move onto itself: GC_SUCCESS");
    CHECK(GC_move_disappearing_link((void **)&other, (void **)&third) == GC_SUCCESS, "move: GC_SUCCESS");
    CHECK(GC_unregister_disappearing_link((void **)&other) == 0, "moved away: no longer registered");
    CHECK(GC_unregister_disappearing_link((void **)&third) == 1, "unregister the moved link: 1");
    cycle();
    CHECK(keep_link == GC_HIDE_POINTER(obj), "a link to a live object is kept");
    CHECK(GC_unregister_disappearing_link((void **)&keep_link) == 1, "unregister: 1");

    /* Cleared when the object is unreachable: the short link before its
     * finalizer runs, the long link only once it is really gone. */
    deep_call(make_linked, 1);
    keeper = NULL;
    cycle();
    CHECK(short_link == 0, "short link cleared when its object became unreachable");
    CHECK(long_link != 0, "long link kept while the object awaits finalization");
    for (int i = 0; i < 5 && long_link; i++)
        cycle();
    CHECK(atomic_load(&fin_runs[9]) == 1, "its finalizer ran");
    CHECK(long_link == 0, "long link cleared once the object is freed");
    CHECK(GC_unregister_long_link((void **)&long_link) == 0, "a cleared link is no longer registered");
}

/* ---- threads ------------------------------------------------------------ */

static void *thread_body(void *arg)
{
    (void)arg;
    CHECK(GC_thread_is_registered(), "a GC_pthread_create thread is registered");
    void **list = NULL;
    for (int i = 0; i < 20000; i++) {
        void **p = GC_MALLOC(32);
        p[0] = list;
        list = p;
    }
    int n = 0;
    for (void **p = list; p; p = *p)
        n++;
    return (void *)(uintptr_t)n;
}

static void *foreign_body(void *arg)
{
    (void)arg;
    struct GC_stack_base sb;
    CHECK(GC_get_stack_base(&sb) == GC_SUCCESS && sb.mem_base != NULL, "GC_get_stack_base");
    CHECK(GC_register_my_thread(&sb) == GC_SUCCESS, "a foreign thread registers: GC_SUCCESS");
    CHECK(GC_register_my_thread(&sb) == GC_DUPLICATE, "twice: GC_DUPLICATE");
    CHECK(GC_thread_is_registered(), "registered");
    void *r = thread_body(NULL);
    CHECK(GC_unregister_my_thread() == GC_SUCCESS, "unregister");
    return r;
}

static void *with_base(struct GC_stack_base *sb, void *arg)
{
    CHECK(sb->mem_base != NULL, "GC_call_with_stack_base passes a base");
    return arg;
}

static void *blocking(void *arg) { return arg; }

static void test_threads(void)
{
    pthread_t t[2];
    GC_allow_register_threads();
    CHECK(GC_pthread_create(&t[0], NULL, thread_body, NULL) == 0, "GC_pthread_create");
    /* A thread the collector did not create (the real pthread_create). */
    int (*real_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
        (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_DEFAULT, "pthread_create");
    CHECK(real_create && real_create(&t[1], NULL, foreign_body, NULL) == 0, "pthread_create");
    for (int i = 0; i < 3; i++)
        cycle();
    void *r0 = NULL, *r1 = NULL;
    GC_pthread_join(t[0], &r0);
    /* The foreign thread is joined with the real pthread_join (libgc's
     * GC_pthread_join does not know threads it did not create). */
    int (*real_join)(pthread_t, void **) = (int (*)(pthread_t, void **))dlsym(RTLD_DEFAULT, "pthread_join");
    real_join(t[1], &r1);
    CHECK((uintptr_t)r0 == 20000 && (uintptr_t)r1 == 20000, "threads' lists intact (%zu, %zu)",
          (size_t)(uintptr_t)r0, (size_t)(uintptr_t)r1);
    CHECK(GC_call_with_stack_base(with_base, (void *)5) == (void *)5, "GC_call_with_stack_base");
    CHECK(GC_do_blocking(blocking, (void *)6) == (void *)6, "GC_do_blocking");
    CHECK(GC_call_with_gc_active(blocking, (void *)7) == (void *)7, "GC_call_with_gc_active");
}

/* ---- the hard cap ------------------------------------------------------------ */

static atomic_int oom_calls;
static void *on_oom(size_t n)
{
    (void)n;
    atomic_fetch_add(&oom_calls, 1);
    return NULL;
}

static void test_max_heap(void)
{
    GC_set_oom_fn(on_oom);
    GC_set_max_heap_size(GC_get_heap_size() + ((size_t)64 << 20));
    void **keep = GC_MALLOC_UNCOLLECTABLE(64 * sizeof(void *));
    int failed = 0;
    for (int i = 0; i < 64 && !failed; i++)
        failed = (keep[i] = GC_MALLOC_ATOMIC((size_t)4 << 20)) == NULL;
    CHECK(failed, "allocation past GC_set_max_heap_size fails");
    CHECK(atomic_load(&oom_calls) >= 1, "through GC_oom_fn");
    GC_FREE(keep);
    GC_set_max_heap_size(0);
    cycle();
    CHECK(GC_MALLOC_ATOMIC((size_t)4 << 20) != NULL, "allocation works again once the cap is lifted");
}

/* ---- fork ------------------------------------------------------------------- */

static void *alloc_a_lot(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50000; i++)
        (void)GC_MALLOC(48);
    return NULL;
}

static GC_hidden_pointer fork_link;

static void test_fork(void)
{
    /* Another thread allocating while this one forks: the child's
     * collector and link table work. */
    pthread_t t;
    GC_pthread_create(&t, NULL, alloc_a_lot, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        void *o = GC_MALLOC(64);
        fork_link = GC_HIDE_POINTER(o);
        int ok = GC_general_register_disappearing_link((void **)&fork_link, o) == GC_SUCCESS;
        o = NULL;
        for (int i = 0; i < 3; i++)
            cycle();
        ok &= GC_MALLOC(100) != NULL;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child collects and registers links (status %d)", status);
    GC_pthread_join(t, NULL);
}

/* ---- warnings ------------------------------------------------------------ */

/* Changing the suspend signal after GC_INIT cannot work (cgc's threads are
 * set up when the library loads): the call changes nothing and says why on
 * stderr, in one line a user can grep for (cgc only). */
static void test_late_signal_warning(void)
{
    if (dlsym(RTLD_DEFAULT, "cgc_malloc") == NULL)
        return;   /* the system's libgc (test_compat_cgc_run) ignores it silently */
    int before = GC_get_suspend_signal();
    int sig = before == SIGPWR ? SIGXCPU : SIGPWR;
    char path[] = "/tmp/compat_warn_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
    if (fd < 0)
        return;
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    GC_set_suspend_signal(sig);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char got[512] = {0};
    ssize_t n = pread(fd, got, sizeof got - 1, 0);
    close(fd);
    char want[128];
    snprintf(want, sizeof want, "libgc compat: GC_set_suspend_signal(%d): too late (", sig);
    CHECK(n > 0 && strncmp(got, want, strlen(want)) == 0, "a late GC_set_suspend_signal warns: got \"%s\"", got);
    CHECK(n > 0 && got[n - 1] == '\n' && strchr(got, '\n') == got + n - 1, "the warning is one line: \"%s\"", got);
    CHECK(GC_get_suspend_signal() == before, "the suspend signal stays %d (now %d)", before, GC_get_suspend_signal());
}

int main(void)
{
    GC_INIT();
    test_alloc();
    test_disable();
    test_finalizers();
    test_on_demand();
    test_links();
    test_threads();
    test_max_heap();
    test_fork();
    test_late_signal_warning();
    /* The program runs on cgc's library, not the system's. */
    CHECK(dlsym(RTLD_DEFAULT, "cgc_malloc") != NULL, "running on cgc's libgc.so.1");
    return check_done();
}
