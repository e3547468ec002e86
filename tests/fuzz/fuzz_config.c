/* fuzz_config.c — libFuzzer target for the configuration and cgroup
 * parsers. Every input is given to every parser as a string; besides
 * crashes and sanitizer reports, it checks what callers rely on:
 * cgc__parse_bytes agrees with a reference written differently (128-bit
 * arithmetic), accepted values lie in their documented ranges, refused
 * values leave the outputs untouched, and line parsers return pointers into
 * the line they were given.
 *
 * Build (tests/config.cmake does this when clang has libFuzzer):
 *   clang -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_config.c src/config.c src/cgroup.c
 */
#include "cgroup.h"
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c)            \
    do {                      \
        if (!(c))             \
            __builtin_trap(); \
    } while (0)

/* The byte-count grammar again, by a different route: find the longest
 * known suffix, then read the digits in 128 bits. Returns -1 if refused. */
static int reference_bytes(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        __int128 mult;
    } units[] = {
        {"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", (__int128)1 << 40},
        {"Ki", 1 << 10},  {"Mi", 1 << 20},  {"Gi", 1 << 30},  {"Ti", (__int128)1 << 40},
        {"B", 1},         {"k", 1000},      {"M", 1000000},   {"G", 1000000000},
        {"T", (__int128)1000000000000},
    };
    size_t n = strlen(s), digits = n;
    __int128 mult = 1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t l = strlen(units[i].suffix);
        if (n > l && strcmp(s + n - l, units[i].suffix) == 0) {
            digits = n - l;
            mult = units[i].mult;
            break;
        }
    }
    if (digits == 0)
        return -1;
    __int128 v = 0;
    for (size_t i = 0; i < digits; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
        if (v > INT64_MAX)
            return -1;
    }
    v *= mult;
    if (v > INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static void fuzz_config_parsers(const char *s)
{
    int64_t a = -42, b = -42;
    int ra = cgc__parse_bytes(s, &a), rb = reference_bytes(s, &b);
    REQUIRE(ra == rb);
    REQUIRE(ra == 0 ? a == b && a >= 0 : a == -42);

    int pct = -7, off = -7;
    int64_t m = -42;
    if (cgc__parse_memlimit(s, &m, &pct, &off) == 0) {
        if (off)
            REQUIRE(strcmp(s, "off") == 0 && m == INT64_MAX);
        else if (pct == -90)
            REQUIRE(strcmp(s, "auto") == 0);
        else if (pct)
            REQUIRE(pct >= 1 && pct <= 100 && s[strlen(s) - 1] == '%');
        else
            REQUIRE(m >= 0 && m == a);
    }

    int g = 3, sc = 4;
    if (cgc__parse_debug(s, &g, &sc) == 0)
        REQUIRE(g >= 0 && sc >= 0);
    else
        REQUIRE(g == 3 && sc == 4);

    if (cgc__parse_addr(s) == 0) {
        const char *colon = strrchr(s, ':');
        REQUIRE(colon && colon != s && atol(colon + 1) >= 1 && atol(colon + 1) <= 65535);
    }

    int v = -42;
    if (cgc__parse_gc(s, &v) == 0)
        REQUIRE(v >= -1);
    else
        REQUIRE(v == -42);
    v = -42;
    if (cgc__parse_markers(s, &v) == 0)
        REQUIRE(v >= 1 && v <= CGC__MAX_MARKERS);
    else
        REQUIRE(v == -42);
    v = -42;
    if (cgc__parse_signal(s, &v) == 0)
        REQUIRE(v >= 1 && v <= SIGRTMAX && v != SIGKILL && v != SIGSTOP && v != SIGSEGV && v != SIGBUS &&
                !(v > 31 && v < SIGRTMIN));
    else
        REQUIRE(v == -42);

    /* The limit chosen from a fuzzed container limit: N% never exceeds it,
     * and the reason is a terminated string. */
    if (pct != 0 && !off) {
        static cgc__config cfg;
        static cgc__cgroup_limit cg;
        memset(&cfg, 0, sizeof cfg);
        cfg.memlimit_source = CGC_LIMIT_PERCENT_CONTAINER;
        cfg.memlimit_auto = pct < 0;
        cfg.memlimit_percent = pct < 0 ? 90 : pct;
        uint64_t h = 14695981039346656037ull;   /* FNV-1a of the input: a container limit */
        for (const char *q = s; *q; q++)
            h = (h ^ (unsigned char)*q) * 1099511628211ull;
        cg.bytes = (int64_t)(h >> 1);
        cg.version = 2;
        cgc__config_resolve_limit(&cfg, s, &cg, cg.bytes);
        REQUIRE(cfg.memlimit >= 0 && cfg.memlimit <= cg.bytes);
        REQUIRE(memchr(cfg.limit_reason, 0, sizeof cfg.limit_reason) != NULL);
    }
}

static void fuzz_cgroup_parsers(const char *s, size_t n)
{
    static char line[4096];
    static const char *const controllers[] = {NULL, "memory", "cpu"};
    for (size_t c = 0; c < 3; c++) {
        memcpy(line, s, n + 1);
        const char *p = cgc__cgroup_proc_line(line, controllers[c]);
        if (p)
            REQUIRE(p >= line && p < line + n && *p == '/');
        memcpy(line, s, n + 1);
        char *root = NULL, *mount = NULL;
        if (cgc__cgroup_mountinfo_line(line, controllers[c], &root, &mount) == 0)
            REQUIRE(root >= line && root < line + n && mount >= line && mount < line + n && *root == '/' &&
                    *mount == '/');
    }
    for (int version = 1; version <= 2; version++) {
        int64_t l = cgc__cgroup_parse_limit(s, version);
        REQUIRE(l >= -2);
        if (l >= 0)
            REQUIRE(s[0] >= '0' && s[0] <= '9' && (version == 2 || l < (int64_t)1 << 62));
    }
    /* "quota period" split at the first space, as cpu.max is read. */
    memcpy(line, s, n + 1);
    char *sp = strchr(line, ' ');
    if (sp) {
        *sp = 0;
        REQUIRE(cgc__cgroup_quota_cpus(line, sp + 1) >= 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[4096];
    if (size >= sizeof s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    size_t n = strlen(s);   /* the parsers see C strings: stop at a NUL */
    fuzz_config_parsers(s);
    fuzz_cgroup_parsers(s, n);
    return 0;
}
