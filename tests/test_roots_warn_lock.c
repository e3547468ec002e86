/* test_roots_warn_lock: cgc_add_roots' "out of memory for the root table"
 * warning does not deadlock a collection (roots.c).
 *
 * When the root table cannot grow, cgc_add_roots prints one line on
 * stderr. It used to print inside its cgc section, with roots_lock held:
 * if another registered thread held stderr's stdio lock (in the middle of
 * a line of its own) and a collection started, the collector stopped the
 * writer (lock still held) and waited for the adder to leave its section,
 * and the adder waited for the stopped writer's lock: the program hung.
 * The table is filled until its next growth is a mapping of its own, which
 * fault injection (cgc__fault_mmap_after, internal) then refuses; the
 * writer holds stderr's lock with flockfile. */
#define _GNU_SOURCE
#include "check.h"
#include "internal.h"
#include "stderr_held.h"

#include <sys/syscall.h>

/* 16384 entries of 16 bytes fill 256 KiB: the table's next size (512 KiB)
 * is past a quarter of a metadata chunk, so it is mapped on its own. */
#define FILL 16384

static void *slot;   /* the range added over and over: [&slot, &slot + 1) */
static sem_t go;
static _Atomic pid_t adder_tid;

static void *adder(void *arg)
{
    (void)arg;
    atomic_store(&adder_tid, (pid_t)syscall(SYS_gettid));
    while (sem_wait(&go) != 0)
        ;
    cgc_add_roots(&slot, &slot + 1);   /* the table cannot grow: the warning */
    return NULL;
}

/* The state letter of a thread of this process (/proc/self/task/TID/stat):
 * 'S' while it sleeps in the kernel (here: waiting for stderr's lock). */
static char thread_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');   /* after "tid (comm)" */
    return p && p[1] == ' ' ? p[2] : '?';
}

int main(void)
{
    cgc_free(cgc_malloc(16));   /* initialised */
    for (int i = 0; i < FILL; i++)
        cgc_add_roots(&slot, &slot + 1);

    held_start("the collection waits for cgc_add_roots' section, which waits for stderr's lock "
               "held by a stopped thread");
    sem_init(&go, 0, 0);
    pthread_t a;
    CHECK(cgc_pthread_create(&a, NULL, adder, NULL) == 0, "adder thread");
    while (!atomic_load(&adder_tid))
        sched_yield();

    /* Every mapping fails from now until the adder's has. */
    uint64_t f0 = cgc__fault_count(CGC_FAULT_MMAP);
    cgc__fault_mmap_after(0);
    sem_post(&go);
    int64_t deadline = held_now_ms() + 30000;
    while (cgc__fault_count(CGC_FAULT_MMAP) == f0 && held_now_ms() < deadline)
        held_pause_ms(1);
    cgc__fault_mmap_after(-1);
    CHECK(cgc__fault_count(CGC_FAULT_MMAP) != f0, "the root table's growth was not refused in 30 s");
    /* The adder is about to print: wait until it sleeps on stderr's lock
     * (inside its section before the fix, after leaving it now). */
    while (thread_state(atomic_load(&adder_tid)) != 'S' && held_now_ms() < deadline)
        held_pause_ms(1);

    held_collect();   /* then the adder's warning line follows */
    pthread_join(a, NULL);
    held_end();
    return check_done();
}
