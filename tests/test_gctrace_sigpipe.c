/* test_gctrace_sigpipe: with gctrace on and stderr a pipe its reader has
 * closed, a program ends or goes on as its SIGPIPE disposition says, and
 * never hangs.
 *
 * Found with `CGC_DEBUG=gctrace=1 neko prog 2>&1 | head -1` under cgc-run:
 * the Neko VM's SIGPIPE handler throws "Broken pipe" (allocates a string
 * and longjmps out). The cycle's gctrace line was written with gc_lock
 * held, so the handler ran inside the collector: its longjmp left gc_lock
 * held (and, a plain longjmp, SIGPIPE blocked), and the program's next
 * collection waited for ever for a lock its own thread held. A handler
 * that collected waited for it at once.
 *
 * Each case runs in a child (this program again), its stderr the write end
 * of a pipe whose read end is closed, collecting a few times:
 *   default    killed by SIGPIPE at the first line (as with libgc);
 *   ignore     EPIPE, the program goes on and ends normally;
 *   alloc      a handler that allocates and collects: runs, returns;
 *   exit       a handler that calls exit(3): the program exits with 3;
 *   longjmp    Neko's way: longjmp out (SIGPIPE stays blocked), go on;
 *   siglongjmp out with the mask restored: the handler runs every time.
 * cgc's warnings (cgc__warn) are written from inside the collector too, with
 * its locks held, where no handler may run: they hold SIGPIPE off. With
 * gctrace off, a warning to the closed pipe
 *   warn       runs no handler (one that would collect), the program goes on;
 *   warn_dfl   does not kill a program with the default disposition.
 * A child that has not ended in 60 s hung: killed, and the case fails. */
#include "check.h"
#include "internal.h"

#include <setjmp.h>
#include <signal.h>
#include <time.h>

enum { ROUNDS = 4 };

static const char *const cases[] = {"default", "ignore", "alloc", "exit", "longjmp", "siglongjmp",
                                     "warn", "warn_dfl"};
enum { NCASES = sizeof cases / sizeof cases[0] };

static volatile sig_atomic_t handled;
static jmp_buf env;
static sigjmp_buf senv;
static void *volatile keep;

static void on_pipe_alloc(int sig)
{
    (void)sig;
    handled++;
    for (int i = 0; i < 64; i++)
        keep = cgc_malloc(64);
    /* Not every time: the handler's own collection writes a line too, and
     * SIGPIPE, blocked while it runs, comes again once it returns. */
    if (handled <= 2)
        cgc_collect();
}

static void on_pipe_exit(int sig)
{
    (void)sig;
    exit(3);
}

static void on_pipe_longjmp(int sig)
{
    (void)sig;
    handled++;
    keep = cgc_malloc(32);   /* as Neko's, which builds its exception */
    longjmp(env, 1);
}

static void on_pipe_siglongjmp(int sig)
{
    (void)sig;
    handled++;
    keep = cgc_malloc(32);
    siglongjmp(senv, 1);
}

static int child(const char *name)
{
    int p[2];
    if (pipe(p) != 0)
        return 10;
    close(p[0]);   /* the reader is gone */
    if (dup2(p[1], 2) != 2)
        return 11;
    close(p[1]);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    if (!strcmp(name, "ignore"))
        sa.sa_handler = SIG_IGN;
    else if (!strcmp(name, "alloc") || !strcmp(name, "warn"))
        sa.sa_handler = on_pipe_alloc;
    else if (!strcmp(name, "exit"))
        sa.sa_handler = on_pipe_exit;
    else if (!strcmp(name, "longjmp"))
        sa.sa_handler = on_pipe_longjmp;
    else if (!strcmp(name, "siglongjmp"))
        sa.sa_handler = on_pipe_siglongjmp;
    sigaction(SIGPIPE, &sa, NULL);
    bool lj = !strcmp(name, "longjmp"), slj = !strcmp(name, "siglongjmp");

    if (!strncmp(name, "warn", 4)) {
        int not_ours;
        for (int i = 0; i < ROUNDS; i++)   /* "not the start of an object": a warning */
            if (cgc_set_finalizer(&not_ours, NULL, NULL) == 0)
                return 12;
        cgc_collect();
        printf("done %d\n", (int)handled);
        fflush(stdout);
        return 0;
    }

    cgc__cfg.gctrace = 1;
    for (volatile int i = 0; i < ROUNDS; i++) {
        if (lj) {
            if (setjmp(env))
                continue;
        }
        if (slj) {
            if (sigsetjmp(senv, 1))
                continue;
        }
        keep = cgc_malloc(1000);
        cgc_collect();   /* its gctrace line: SIGPIPE */
    }
    /* The collector still works after whatever the handler did (a jump
     * now would go back into the loop). */
    if (lj || slj)
        signal(SIGPIPE, SIG_IGN);
    keep = cgc_malloc(100);
    cgc_collect();
    printf("done %d\n", (int)handled);
    fflush(stdout);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "child"))
        return child(argv[2]);

    pid_t pid[NCASES];
    int out[NCASES], status[NCASES];
    bool ended[NCASES];
    for (int c = 0; c < NCASES; c++) {
        int p[2];
        CHECK(pipe(p) == 0, "pipe");
        pid[c] = fork();
        if (pid[c] == 0) {
            dup2(p[1], 1);
            close(p[0]);
            close(p[1]);
            execl("/proc/self/exe", argv[0], "child", cases[c], (char *)NULL);
            _exit(127);
        }
        CHECK(pid[c] > 0, "fork");
        close(p[1]);
        out[c] = p[0];
        ended[c] = false;
    }
    /* Bounded: a child that hangs is killed after 60 s. */
    int64_t deadline = now_ms() + 60000;
    int left = NCASES;
    while (left > 0 && now_ms() < deadline) {
        for (int c = 0; c < NCASES; c++)
            if (!ended[c] && waitpid(pid[c], &status[c], WNOHANG) == pid[c]) {
                ended[c] = true;
                left--;
            }
        if (left > 0) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
    }
    for (int c = 0; c < NCASES; c++) {
        char buf[64] = "";
        if (!ended[c]) {
            kill(pid[c], SIGKILL);
            waitpid(pid[c], &status[c], 0);
            CHECK(0, "%s: the program hung with stderr a closed pipe (gctrace's line written inside "
                  "the collector, the SIGPIPE handler run there)", cases[c]);
            close(out[c]);
            continue;
        }
        ssize_t n = read(out[c], buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        close(out[c]);
        int st = status[c], handled_n = -1;
        bool done = sscanf(buf, "done %d", &handled_n) == 1;
        const char *name = cases[c];
        if (!strcmp(name, "default")) {
            CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "default: not killed by SIGPIPE (status %#x)", st);
        } else if (!strcmp(name, "exit")) {
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "exit: status %#x, not exit(3) from the handler", st);
        } else {
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && done, "%s: status %#x (signal %d), output '%s'",
                  name, st, WIFSIGNALED(st) ? WTERMSIG(st) : 0, buf);
            if (!done)
                continue;
            if (!strcmp(name, "ignore") || !strncmp(name, "warn", 4))
                CHECK(handled_n == 0, "%s: a handler ran", name);
            else if (!strcmp(name, "siglongjmp"))
                CHECK(handled_n >= ROUNDS, "siglongjmp: the handler ran %d times, not at every line",
                      handled_n);
            else
                CHECK(handled_n >= 1, "%s: the handler did not run", name);
        }
    }
    return check_done();
}
