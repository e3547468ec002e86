/* check.h — the smallest test harness: named checks, a count, an exit code.
 * Every test ends with the plain line "N passed, M failed". */
#ifndef CGC_TEST_CHECK_H
#define CGC_TEST_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            check_passed++;                                                \
        } else {                                                           \
            check_failed++;                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static inline int check_done(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

/* xorshift64 (Marsaglia 2003): a full-period generator for test data;
 * *state must not be 0. */
static inline uint64_t check_rng(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Makes sure the test runs with environment variable name = value: the
 * configuration is read in the library's constructor, before main, so a
 * setenv in main comes too late; the test runs itself again with it set.
 * Returns only when it is set (or, having failed to exec, with 0). */
static inline int check_rerun_with(const char *name, const char *value, char **argv)
{
    const char *v = getenv(name);
    if (v && strcmp(v, value) == 0)
        return 1;
    setenv(name, value, 1);
    execv("/proc/self/exe", argv);
    perror("execv /proc/self/exe");
    return 0;
}

/* Waits for the child pid: 1 if it exited with status 0; otherwise says
 * on stderr how it ended (after what) and returns 0. */
static int __attribute__((unused)) check_child_ok(pid_t pid, const char *what)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) {
        fprintf(stderr, "%s: waitpid: %s\n", what, strerror(errno));
        return 0;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 1;
    fprintf(stderr, "%s: %s %d\n", what, WIFSIGNALED(st) ? "killed by signal" : "exit status",
            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 0;
}

/* Limits the address space (RLIMIT_AS, ulimit -v) to what the process has
 * mapped now (VmSize) plus headroom bytes, so that mappings fail once the
 * headroom is used: an OS refusing memory. A check fails if it cannot. */
static void __attribute__((unused)) check_limit_address_space(size_t headroom)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu", &kib) == 1)
            break;
    if (f)
        fclose(f);
    CHECK(kib > 0, "VmSize not found in /proc/self/status");
    struct rlimit rl = {(kib << 10) + headroom, (kib << 10) + headroom};
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", strerror(errno));
}

/* Hides a pointer from the conservative scan. */
static inline uintptr_t hide(void *p) { return ~(uintptr_t)p; }
static inline void *unhide(uintptr_t h) { return (void *)~h; }

/* Overwrites a stretch of dead stack below the caller, so that pointers
 * left there by earlier calls do not keep objects alive. Not instrumented
 * by AddressSanitizer (CGC_SANITIZE builds): it would put buf between
 * redzones, which memset does not clear, and a stale pointer in the redzone
 * next to the caller's frame then lies in an unwritten slot of the next
 * call's frame (cgc_collect's, seen in test_api), a root. */
static void __attribute__((noinline, unused, no_sanitize("address"))) clear_stack(void)
{
    volatile char buf[16384];
    memset((char *)buf, 0, sizeof buf);
    __asm__ volatile("" ::"r"(buf) : "memory");
}

/* Runs fn with at least 1 KiB of stack between it and the caller, so the
 * pointers fn leaves in dead stack (saved registers, spills) lie where
 * clear_stack() overwrites them, not in the caller's own frame area. */
static uintptr_t __attribute__((noinline, unused, no_sanitize("address"))) deep_call(uintptr_t (*fn)(uintptr_t), uintptr_t arg)
{
    volatile char pad[1024];
    pad[0] = 0;
    uintptr_t r = fn(arg);
    __asm__ volatile("" ::"r"(pad) : "memory");
    return r;
}

#endif
