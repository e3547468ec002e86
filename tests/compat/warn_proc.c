/* warn_proc.c — GC_set_warn_proc on cgc's libgc.so.1: the program's proc
 * receives the warnings of cgc and of the compat layer in libgc's calling
 * convention (a printf format and one word), nothing of them reaches
 * stderr meanwhile, GC_get_warn_proc returns what was set,
 * GC_ignore_warn_proc silences them, and restoring the saved default
 * brings stderr back. Built against cgc's headers and against Debian's
 * (tests/compat_warn.cmake). */
#define GC_THREADS 1
#include <gc.h>

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>

#include "../check.h"

#define MAX_SEEN 64
static char seen[MAX_SEEN][1200];   /* each call, printed as the proc would print it */
static char seen_msg[MAX_SEEN][1200];
static GC_word seen_arg[MAX_SEEN];
static int nseen;
static int reentered;

static void my_proc(char *msg, GC_word arg)
{
    if (nseen < MAX_SEEN) {
        snprintf(seen[nseen], sizeof seen[nseen], msg, arg);
        snprintf(seen_msg[nseen], sizeof seen_msg[nseen], "%s", msg);
        seen_arg[nseen] = arg;
    }
    nseen++;
    /* A proc may use the collector (outside libgc's lock in cgc): no
     * recursion into it, no deadlock. */
    if (GC_MALLOC(16))
        reentered++;
}

/* stderr into a file while fn runs; what was written comes back in out. */
static void capture_stderr(void (*fn)(void), char *out, size_t n)
{
    char path[] = "/tmp/compat_warn_proc_XXXXXX";
    int fd = mkstemp(path);
    out[0] = 0;
    CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
    if (fd < 0)
        return;
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t got = pread(fd, out, n - 1, 0);
    out[got > 0 ? got : 0] = 0;
    close(fd);
}

static void (*core_free)(void *);   /* cgc_free: warns about a pointer it does not own */
static long not_heap[4];
static int late_sig;

/* A compat warning (the call is too late to change cgc's signals) and a
 * core warning (cgc_free of a static), then an entry into the library
 * (where queued core warnings are delivered). */
static void raise_warnings(void)
{
    GC_set_suspend_signal(late_sig);
    core_free(&not_heap[1]);
    (void)GC_MALLOC(8);
}

static void *from_thread(void *arg)
{
    (void)arg;
    core_free(&not_heap[2]);   /* a thread that then leaves the library */
    return NULL;
}

int main(void)
{
    GC_INIT();
    core_free = (void (*)(void *))dlsym(RTLD_DEFAULT, "cgc_free");
    CHECK(core_free != NULL, "cgc's library (cgc_free) is loaded");
    if (!core_free)
        return check_done();
    late_sig = GC_get_suspend_signal() == SIGPWR ? SIGXCPU : SIGPWR;
    char err[4096];

    GC_warn_proc dflt = GC_get_warn_proc();
    CHECK(dflt != NULL, "a default warn proc");
    /* The default writes to stderr at once: both warnings. */
    capture_stderr(raise_warnings, err, sizeof err);
    CHECK(strstr(err, "GC_set_suspend_signal(") != NULL && strstr(err, "cgc_free(") != NULL,
          "default proc: both warnings on stderr: \"%s\"", err);

    GC_set_warn_proc(my_proc);
    CHECK(GC_get_warn_proc() == my_proc, "GC_get_warn_proc returns the proc set");
    capture_stderr(raise_warnings, err, sizeof err);
    CHECK(err[0] == 0, "with a proc set, nothing on stderr: \"%s\"", err);
    CHECK(nseen == 2, "the proc was called twice (%d)", nseen);
    int compat_i = -1, core_i = -1;
    for (int i = 0; i < nseen && i < MAX_SEEN; i++) {
        if (strstr(seen[i], "GC_set_suspend_signal("))
            compat_i = i;
        if (strstr(seen[i], "cgc_free("))
            core_i = i;
    }
    CHECK(compat_i >= 0, "the compat warning reached the proc");
    if (compat_i >= 0) {
        char want[64];
        snprintf(want, sizeof want, "GC_set_suspend_signal(%d)", late_sig);
        CHECK(strstr(seen[compat_i], want) != NULL, "msg formatted with arg says %s: \"%s\"", want, seen[compat_i]);
        CHECK(seen_arg[compat_i] == (GC_word)late_sig && strstr(seen_msg[compat_i], "%ld") != NULL,
              "libgc's convention: a format converting the word arg (%lu): \"%s\"",
              (unsigned long)seen_arg[compat_i], seen_msg[compat_i]);
    }
    CHECK(core_i >= 0, "the core's warning reached the proc");
    if (core_i >= 0) {
        char want[64];
        snprintf(want, sizeof want, "cgc_free(%p)", (void *)&not_heap[1]);
        CHECK(strstr(seen[core_i], want) != NULL && seen[core_i][strlen(seen[core_i]) - 1] == '\n',
              "one line naming %s: \"%s\"", want, seen[core_i]);
    }
    CHECK(reentered == nseen, "the proc could allocate (%d of %d)", reentered, nseen);

    /* From another thread: queued, delivered at this thread's next entry. */
    nseen = 0;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, from_thread, NULL) == 0, "thread");
    pthread_join(th, NULL);
    (void)GC_MALLOC(8);
    CHECK(nseen == 1 && strstr(seen[0], "cgc_free(") != NULL, "a warning raised in another thread arrives (%d)", nseen);

    /* A burst beyond the queue: the first lines, then how many were lost. */
    nseen = 0;
    for (int i = 0; i < 20; i++)
        core_free(&not_heap[3]);
    (void)GC_MALLOC(8);
    CHECK(nseen > 1 && nseen < 20, "a burst of 20 arrives as %d calls", nseen);
    if (nseen > 1 && nseen <= MAX_SEEN) {
        char want[64];
        snprintf(want, sizeof want, "%d more warnings were lost", 20 - (nseen - 1));
        CHECK(strstr(seen[nseen - 1], want) != NULL, "the last says \"%s\": \"%s\"", want, seen[nseen - 1]);
    }

    /* GC_ignore_warn_proc: silence (GC_PRINT_STATS is not set). */
    GC_set_warn_proc(GC_ignore_warn_proc);
    CHECK(GC_get_warn_proc() == GC_ignore_warn_proc, "GC_get_warn_proc returns GC_ignore_warn_proc");
    nseen = 0;
    capture_stderr(raise_warnings, err, sizeof err);
    CHECK(err[0] == 0 && nseen == 0, "ignored: nothing anywhere: \"%s\"", err);

    /* Back to the saved default: stderr again. */
    GC_set_warn_proc(dflt);
    CHECK(GC_get_warn_proc() == dflt, "the saved default restored");
    capture_stderr(raise_warnings, err, sizeof err);
    CHECK(strstr(err, "GC_set_suspend_signal(") != NULL && strstr(err, "cgc_free(") != NULL,
          "default again: both on stderr: \"%s\"", err);
    return check_done();
}
