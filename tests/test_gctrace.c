/* test_gctrace — with CGC_DEBUG=gctrace=1 every collection prints one line
 * in Go's gctrace format (SPEC §7), checked with the regular expression a
 * tool reading Go's lines would use; the first line says which limit was
 * chosen. The test runs itself as a child with the variable set. */
#include "cgc.h"
#include "check.h"

#include <regex.h>
#include <unistd.h>

static const char *GO_GCTRACE =
    "^gc [0-9]+ @[0-9]+\\.[0-9]+s [0-9]+%: "
    "[0-9.]+\\+[0-9.]+\\+[0-9.]+ ms clock, "
    "[0-9.]+\\+[0-9.]+/[0-9.]+/[0-9.]+\\+[0-9.]+ ms cpu, "
    "[0-9]+->[0-9]+->[0-9]+ MB, [0-9]+ MB goal, [0-9]+ MB stacks, [0-9]+ MB globals, "
    "[0-9]+ P( \\(forced\\))?$";

/* A limit below the live heap: the CPU limiter must engage and say so on a
 * line of its own, and the cycle lines must stay in Go's format. */
static int child_spiral(void)
{
    enum { N = 4096, SZ = 4096 };   /* 16 MiB live, limit 8 MiB */
    static void *live[N];
    cgc_set_memory_limit(8 << 20);
    for (int i = 0; i < N; i++)
        live[i] = cgc_malloc_atomic(SZ);
    uintptr_t sink = 0;
    for (int i = 0; i < 400000; i++)
        sink ^= (uintptr_t)cgc_malloc(256);
    return (int)(sink & 0) + (live[N - 1] == NULL);
}

static int child(void)
{
    uintptr_t sink = 0;
    for (int i = 0; i < 300000; i++)
        sink ^= (uintptr_t)cgc_malloc(200);
    cgc_collect();
    return (int)(sink & 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child();
    if (argc > 1 && strcmp(argv[1], "spiral") == 0)
        return child_spiral();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "CGC_DEBUG=gctrace=1 CGC_MEMLIMIT=off '%s' child 2>&1", argv[0]);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL, "popen");
    if (!f)
        return check_done();
    regex_t re;
    CHECK(regcomp(&re, GO_GCTRACE, REG_EXTENDED | REG_NOSUB) == 0, "regex compiles");
    char line[1024];
    int n = 0, gc_lines = 0, forced = 0, bad = 0;
    unsigned last = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (n++ == 0) {
            CHECK(strncmp(line, "cgc: ", 5) == 0 && strstr(line, "limit") != NULL,
                  "first line names the limit: %s", line);
            continue;
        }
        if (regexec(&re, line, 0, NULL, 0) != 0) {
            if (bad++ < 3)
                fprintf(stderr, "not Go's format: %s\n", line);
            continue;
        }
        unsigned num = 0;
        sscanf(line, "gc %u", &num);
        CHECK(num == last + 1, "cycles numbered in order (%u after %u)", num, last);
        last = num;
        gc_lines++;
        forced += strstr(line, "(forced)") != NULL;
    }
    int rc = pclose(f);
    CHECK(rc == 0, "child exited cleanly (%d)", rc);
    CHECK(bad == 0, "%d lines not in Go's format", bad);
    CHECK(gc_lines >= 3, "collections were traced (%d)", gc_lines);
    CHECK(forced == 1, "exactly the cgc_collect cycle is marked forced (%d)", forced);

    /* The limiter's lines: "gc limiter: ..." (a regex for Go's cycle lines
     * does not match them: no number after "gc "), cycle lines intact. */
    snprintf(cmd, sizeof cmd, "CGC_DEBUG=gctrace=1 '%s' spiral 2>&1", argv[0]);
    f = popen(cmd, "r");
    CHECK(f != NULL, "popen spiral");
    if (!f)
        return check_done();
    int limiter_lines = 0;
    gc_lines = bad = n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (n++ == 0)
            continue;   /* the limit line */
        if (strncmp(line, "gc limiter: gc ", 15) == 0 && strstr(line, "held back")) {
            CHECK(regexec(&re, line, 0, NULL, 0) != 0, "a limiter line is not taken for a cycle line");
            limiter_lines++;
        } else if (regexec(&re, line, 0, NULL, 0) == 0) {
            gc_lines++;
        } else if (bad++ < 3) {
            fprintf(stderr, "unexpected line: %s\n", line);
        }
    }
    rc = pclose(f);
    CHECK(rc == 0, "spiral child exited cleanly (%d)", rc);
    CHECK(bad == 0, "%d lines neither cycle nor limiter lines", bad);
    CHECK(limiter_lines > 0 && gc_lines > 0, "limiter engaged and said so (%d limiter lines, %d cycles)",
          limiter_lines, gc_lines);
    printf("spiral: %d cycle lines, %d limiter lines\n", gc_lines, limiter_lines);
    regfree(&re);
    return check_done();
}
