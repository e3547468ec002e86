/* fork.c — the program tests/http/fork.py talks to: cgc_http through
 * fork. Its first argument is "role=parent"; a forked child overwrites it
 * in place with "role=child_" (and a grandchild with "role=grand_"), which
 * /proc/self/cmdline and so /debug/vars "cmdline" show: the test sees
 * which process answered.
 *
 *   fork role=parent        endpoint from CGC_DEBUG_ADDR (never calls start)
 *   fork role=parent manual cgc_http_start("127.0.0.1:0"), prints "port N"
 *
 * Commands on stdin (answers on stdout, one line each):
 *   fork       fork a child, print "child PID". The child closes stdin and
 *              waits for SIGTERM; in manual mode it first prints
 *              "childport P" (cgc_http_port in the child, -1 expected), then
 *              calls cgc_http_restart and prints "restarted R N" (R its
 *              result, N the new port).
 *   daemonize  double fork: the child forks a grandchild and exits at once;
 *              prints "grandchild PID" (the grandchild waits for SIGTERM).
 *   exit       exit 0 (the endpoint goes with the process). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cgc.h>
#include <cgc_http.h>

static char *role;

static void become(const char *name)
{
    memcpy(role, name, strlen(name)); /* same length as "role=parent" */
}

static void wait_for_term(void)
{
    fclose(stdin);
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "role=parent") != 0) {
        fprintf(stderr, "usage: %s role=parent [manual]\n", argv[0]);
        return 2;
    }
    role = argv[1];
    int manual = argc > 2 && strcmp(argv[2], "manual") == 0;
    void *keep = NULL;
    for (int i = 0; i < 10000; i++)
        keep = cgc_malloc(128);
    cgc_collect();
    if (manual) {
        if (cgc_http_start("127.0.0.1:0") != 0) {
            perror("cgc_http_start");
            return 1;
        }
        printf("port %d\n", cgc_http_port());
    } else {
        printf("ready\n");
    }
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strcmp(line, "fork\n") == 0) {
            pid_t pid = fork();
            if (pid == 0) {
                become("role=child_");
                if (manual) {
                    printf("childport %d\n", cgc_http_port());
                    int r = cgc_http_restart();
                    printf("restarted %d %d\n", r, cgc_http_port());
                    fflush(stdout);
                }
                wait_for_term();
            }
            printf("child %d\n", (int)pid);
        } else if (strcmp(line, "daemonize\n") == 0) {
            int fd[2];
            if (pipe(fd) != 0)
                return 1;
            pid_t pid = fork();
            if (pid == 0) {
                become("role=child_");
                pid_t g = fork();
                if (g == 0) {
                    become("role=grand_");
                    close(fd[0]), close(fd[1]);
                    wait_for_term();
                }
                if (write(fd[1], &g, sizeof g) != sizeof g)
                    _exit(1);
                _exit(0);
            }
            pid_t g = -1;
            close(fd[1]);
            if (read(fd[0], &g, sizeof g) != sizeof g)
                g = -1;
            close(fd[0]);
            waitpid(pid, NULL, 0);
            printf("grandchild %d\n", (int)g);
        } else if (strcmp(line, "exit\n") == 0) {
            break;
        }
        fflush(stdout);
    }
    return keep ? 0 : 1;
}
