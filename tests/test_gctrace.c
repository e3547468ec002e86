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
    regfree(&re);
    return check_done();
}
