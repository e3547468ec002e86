/* test_startup_threads.c — cgc starts no thread at load time unless it has
 * a container's limit to follow (issue 11, defect 13).
 *
 * unshare(CLONE_NEWUSER) requires a single-threaded process: sandboxes and
 * container tools call it first thing in main. cgc initialises in its
 * constructor, before main; it used to start its background thread there
 * whatever the configuration, and unshare failed with EINVAL unless
 * CGC_MEMLIMIT=off. The markers, the sweeper and the scavenger start with
 * the first collection.
 *
 * Checked, first thing in main: /proc/self/task has one entry, and
 * unshare(CLONE_NEWUSER) succeeds; then the collector works in the new
 * namespace. Whether the kernel allows user namespaces at all (it may not:
 * user.max_user_namespaces = 0, a seccomp profile, nested containers) is
 * probed first in a child made by the raw clone system call (no atfork
 * handlers: the child is the single-threaded copy of this thread, cgc
 * starts nothing there), which calls the raw unshare system call; if the
 * kernel refuses it there, the test is skipped with that reason.
 *
 * In a memory-limited container the follower thread is expected (it
 * follows the container's limit); there the test runs itself again with
 * CGC_MEMLIMIT=off, which has no limit to follow. Built against the static
 * and the shared library (tests/startup.cmake). */
#define _GNU_SOURCE
#include <cgc.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* 0 if the kernel lets a single-threaded child of ours unshare a user
 * namespace, else the errno it gave. */
static int probe_userns(void)
{
    long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0)
        _exit(syscall(SYS_unshare, CLONE_NEWUSER) == 0 ? 0 : (errno & 0x7f) + 1);
    if (pid < 0)
        return errno;
    int status = 0;
    while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status) ? WEXITSTATUS(status) - 1 : 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    /* First thing: count before anything here could start a thread. */
    int tasks = count_tasks();
    cgc_memstats m;
    cgc_read_memstats(&m);
    if (m.container_limit >= 0 && m.mem_limit != INT64_MAX) {
        printf("in a container with a memory limit (%lld bytes): the follower thread is expected; "
               "running again with CGC_MEMLIMIT=off\n", (long long)m.container_limit);
        fflush(stdout);
        if (!check_rerun_with("CGC_MEMLIMIT", "off", argv))
            return 1;
    }
    CHECK(tasks == 1, "threads after cgc's initialisation: %d, want 1", tasks);

    int probe = probe_userns();
    if (probe != 0) {
        printf("SKIP: the kernel refuses unshare(CLONE_NEWUSER) even to a single-threaded process here: %s\n",
               probe > 0 ? strerror(probe) : "probe child died");
        return tasks == 1 ? 77 : check_done();
    }
    int r = unshare(CLONE_NEWUSER);
    CHECK(r == 0, "unshare(CLONE_NEWUSER) after cgc's initialisation: %s", r ? strerror(errno) : "ok");

    /* The collector works afterwards (its threads start now). */
    void **keep = cgc_malloc(64 * sizeof *keep);
    for (int i = 0; i < 200000; i++) {
        void **p = cgc_malloc(48);
        p[0] = keep[i % 64];
        keep[i % 64] = p;
    }
    cgc_collect();
    cgc_read_memstats(&m);
    CHECK(m.num_gc >= 1, "collections after unshare: %u", m.num_gc);
    int depth = 0;
    for (void **p = keep[5]; p; p = p[0])
        depth++;
    CHECK(depth == 200000 / 64 + (5 < 200000 % 64), "list of %d intact after collecting", depth);
    return check_done();
}
