/* test_thread_names — cgc's own threads carry names of their own
 * ("cgc-..."), whichever program thread created them. A new thread starts
 * with its creator's name, and cgc starts its threads lazily from whatever
 * program thread allocates or collects at the time: unnamed, a marker
 * showed up in top -H and /proc/PID/task as one more of the program's
 * "MHD-connection" threads, and the demo's soak test counted it as one.
 *
 * Checks: a program thread named "prog-alloc" runs the first collections
 * (markers, sweeper, collector, background thread and finalizer thread
 * are started from it); once it has been joined, every thread of the
 * process but main ("prog-main") has a name starting "cgc-", among them
 * cgc-marker-1 and cgc-finalizer. A thread names itself as it starts, so
 * the check is repeated until it holds or 10 s have passed. */
#include "check.h"
#include "internal.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>

static atomic_int finalized;

static void on_finalize(void *obj, void *arg)
{
    (void)obj;
    (void)arg;
    atomic_store(&finalized, 1);
}

static void *alloc_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, (unsigned long)"prog-alloc", 0, 0, 0);
    /* An object with a finalizer, dropped: its cycle starts the finalizer
     * thread from this thread. */
    void *f = cgc_malloc(64);
    cgc_set_finalizer(f, on_finalize, NULL);
    f = NULL;
    /* Garbage enough for cycles of their own, then explicit ones. */
    for (int i = 0; i < 200000; i++) {
        void *volatile p = cgc_malloc(128);
        (void)p;
    }
    for (int i = 0; i < 3; i++)
        cgc_collect();
    return NULL;
}

/* Counts the process's threads by name: *other gets the first name that is
 * neither main's nor cgc's (empty if none). */
static void survey(int *marker1, int *finalizer, char *other, size_t other_len)
{
    *marker1 = *finalizer = 0;
    other[0] = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], name[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;   /* the thread has just exited */
        if (fgets(name, sizeof name, f))
            name[strcspn(name, "\n")] = 0;
        fclose(f);
        if (strcmp(name, "cgc-marker-1") == 0)
            (*marker1)++;
        else if (strcmp(name, "cgc-finalizer") == 0)
            (*finalizer)++;
        else if (strcmp(name, "prog-main") != 0 && strncmp(name, "cgc-", 4) != 0 && !other[0])
            snprintf(other, other_len, "%s (task %s)", name, e->d_name);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    if (argc > 0 && !check_rerun_with("CGC_MARKERS", "2", argv))
        return 1;
    prctl(PR_SET_NAME, (unsigned long)"prog-main", 0, 0, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, alloc_main, NULL) == 0, "the allocating thread starts");
    pthread_join(t, NULL);

    int marker1 = 0, finalizer = 0;
    char other[320] = "";
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        /* Further cycles from main: the finalizer is queued by one of them
         * if the last was too early for it. */
        cgc_collect();
        survey(&marker1, &finalizer, other, sizeof other);
        clock_gettime(CLOCK_MONOTONIC, &now);
        int ok = marker1 == 1 && finalizer == 1 && !other[0] && atomic_load(&finalized);
        if (ok || now.tv_sec - start.tv_sec >= 10)
            break;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    CHECK(atomic_load(&finalized), "the finalizer ran");
    CHECK(marker1 == 1, "one thread named cgc-marker-1 (%d)", marker1);
    CHECK(finalizer == 1, "one thread named cgc-finalizer (%d)", finalizer);
    CHECK(!other[0], "no thread but main and cgc's: found %s", other);
    return check_done();
}
