/* config.c — every option of cgc, in one table, read from the environment
 * in one place, once, before the first allocation (SPEC §6).
 *
 * An invalid value is fatal, as in Go: one line on stderr naming the
 * variable, the value and the accepted forms, then exit status 2. A soft
 * limit silently ignored is an OOM kill later.
 *
 * Uses libc only and no heap: it runs while the collector initialises.
 */
#include "config.h"
#include "cgroup.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsers (pure; 0 on success, -1 on a malformed value) -------------- */

/* Digits with an optional suffix: B, KiB..TiB (Go), Ki..Ti (Kubernetes
 * binary), k, M, G, T (Kubernetes decimal). Case-sensitive. */
int cgc__parse_bytes(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {
        {"", 1}, {"B", 1},
        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40},
        {"Ki", 1ull << 10}, {"Mi", 1ull << 20}, {"Gi", 1ull << 30}, {"Ti", 1ull << 40},
        {"k", 1000ull}, {"M", 1000000ull}, {"G", 1000000000ull}, {"T", 1000000000000ull},
    };
    if (!s || *s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].suffix) == 0) {
            if (v > (uint64_t)INT64_MAX / units[i].mult)
                return -1;
            *out = (int64_t)(v * units[i].mult);
            return 0;
        }
    }
    return -1;
}

/* A plain non-negative decimal integer that fits in an int. */
static int parse_int(const char *s, long max, long *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

/* CGC_MEMLIMIT: off | auto | N% | bytes. For N% / auto, *percent is set
 * and *out is left for the caller to resolve against the container. */
int cgc__parse_memlimit(const char *s, int64_t *out, int *percent, int *is_off)
{
    *percent = 0;
    *is_off = 0;
    if (strcmp(s, "off") == 0) {
        *is_off = 1;
        *out = INT64_MAX;
        return 0;
    }
    if (strcmp(s, "auto") == 0) {
        *percent = -90;   /* 90% of the container's limit, none outside one */
        return 0;
    }
    size_t n = strlen(s);
    if (n >= 2 && s[n - 1] == '%') {
        char num[16];
        long v;
        if (n - 1 >= sizeof num)
            return -1;
        memcpy(num, s, n - 1);
        num[n - 1] = 0;
        if (parse_int(num, 1000, &v) != 0 || v < 1 || v > 100)
            return -1;
        *percent = (int)v;
        return 0;
    }
    return cgc__parse_bytes(s, out);
}

/* CGC_DEBUG: comma-separated name=value; gctrace and scavtrace take
 * integers; unknown names are ignored (as GODEBUG does). */
int cgc__parse_debug(const char *s, int *gctrace, int *scavtrace)
{
    char buf[512];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        int *dst = NULL;
        size_t nl = eq ? (size_t)(eq - item) : strlen(item);
        if (nl == 7 && strncmp(item, "gctrace", 7) == 0)
            dst = gctrace;
        else if (nl == 9 && strncmp(item, "scavtrace", 9) == 0)
            dst = scavtrace;
        if (!dst)
            continue;
        long v;
        if (!eq || parse_int(eq + 1, INT_MAX, &v) != 0)
            return -1;
        *dst = (int)v;
    }
    return 0;
}

/* host:port, or [v6]:port; port 1..65535. */
int cgc__parse_addr(const char *s)
{
    const char *colon;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || close[1] != ':')
            return -1;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
            return -1;
        for (const char *p = s; p < colon; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  *p == '.' || *p == '-'))
                return -1;
    }
    long port;
    if (parse_int(colon + 1, 65535, &port) != 0 || port < 1)
        return -1;
    return 0;
}

/* ---- the options table -------------------------------------------------- */

typedef struct option {
    const char *name;
    const char *forms;            /* accepted forms, for the error line */
    const char *deflt;            /* meaning when unset */
    int (*apply)(const char *value, cgc__config *cfg);
} option;

static int apply_memlimit(const char *v, cgc__config *cfg)
{
    int64_t bytes = INT64_MAX;
    int pct, off;
    if (cgc__parse_memlimit(v, &bytes, &pct, &off) != 0)
        return -1;
    cfg->memlimit = bytes;
    cfg->memlimit_percent = pct;
    cfg->memlimit_source = off ? CGC_LIMIT_OFF : pct ? CGC_LIMIT_NONE : CGC_LIMIT_BYTES;
    return 0;
}

static int apply_gc(const char *v, cgc__config *cfg)
{
    long p;
    if (strcmp(v, "off") == 0) {
        cfg->gc_percent = -1;
        return 0;
    }
    if (parse_int(v, INT_MAX, &p) != 0)
        return -1;
    cfg->gc_percent = (int)p;
    return 0;
}

static int apply_debug(const char *v, cgc__config *cfg)
{
    return cgc__parse_debug(v, &cfg->gctrace, &cfg->scavtrace);
}

static int apply_markers(const char *v, cgc__config *cfg)
{
    long n;
    if (parse_int(v, 256, &n) != 0 || n < 1)
        return -1;
    cfg->markers = (int)n;
    return 0;
}

static int apply_addr(const char *v, cgc__config *cfg)
{
    if (cgc__parse_addr(v) != 0)
        return -1;
    cfg->debug_addr = v;
    return 0;
}

static int parse_signal(const char *v, int *out)
{
    long n;
    if (parse_int(v, SIGRTMAX, &n) != 0 || n < 1 || n == SIGKILL || n == SIGSTOP ||
        n == SIGSEGV || n == SIGBUS)
        return -1;
    *out = (int)n;
    return 0;
}

static int apply_sig_suspend(const char *v, cgc__config *cfg) { return parse_signal(v, &cfg->sig_suspend); }
static int apply_sig_restart(const char *v, cgc__config *cfg) { return parse_signal(v, &cfg->sig_restart); }

static const option options[] = {
    {"CGC_MEMLIMIT", "off, auto, N% (0<N<=100), or bytes: digits with optional suffix B, KiB, MiB, GiB, TiB, Ki, Mi, Gi, Ti, k, M, G, T",
     "auto: 90% of the container's memory limit; no limit outside a container", apply_memlimit},
    {"CGC_GC", "off or a non-negative integer (percent)", "100", apply_gc},
    {"CGC_DEBUG", "comma-separated name=value: gctrace=N, scavtrace=N", "nothing traced", apply_debug},
    {"CGC_MARKERS", "an integer from 1 to 256", "the CPUs the process may use", apply_markers},
    {"CGC_DEBUG_ADDR", "host:port or [ipv6]:port", "no endpoint", apply_addr},
    {"CGC_SIG_SUSPEND", "a signal number other than SIGKILL, SIGSTOP, SIGSEGV, SIGBUS", "SIGPWR", apply_sig_suspend},
    {"CGC_SIG_RESTART", "a signal number other than SIGKILL, SIGSTOP, SIGSEGV, SIGBUS", "SIGXCPU", apply_sig_restart},
};

static void human_bytes(char *buf, size_t n, int64_t b)
{
    if (b % (1 << 20) == 0 || b >= (int64_t)100 << 20)
        snprintf(buf, n, "%lld MiB", (long long)(b >> 20));
    else
        snprintf(buf, n, "%lld bytes", (long long)b);
}

/* Resolves N% / auto against the container (or physical memory), and says
 * in limit_reason what was chosen and why. */
static void resolve_limit(cgc__config *cfg, int was_set)
{
    cgc__cgroup_limit cg;
    cgc__cgroup_memory_limit_at("", &cg);
    cfg->container_limit = cg.bytes;
    char a[48], b[48];
    if (cfg->memlimit_source == CGC_LIMIT_OFF) {
        snprintf(cfg->limit_reason, sizeof cfg->limit_reason, "no memory limit (CGC_MEMLIMIT=off)");
        return;
    }
    if (cfg->memlimit_source == CGC_LIMIT_BYTES) {
        human_bytes(a, sizeof a, cfg->memlimit);
        snprintf(cfg->limit_reason, sizeof cfg->limit_reason, "memory limit %s (CGC_MEMLIMIT)", a);
        return;
    }
    int pct = cfg->memlimit_percent < 0 ? -cfg->memlimit_percent : cfg->memlimit_percent;
    bool is_auto = cfg->memlimit_percent < 0;
    cfg->memlimit_follow = 1;
    if (cg.bytes >= 0) {
        cfg->memlimit = cg.bytes / 100 * pct + cg.bytes % 100 * pct / 100;
        cfg->memlimit_source = CGC_LIMIT_PERCENT_CONTAINER;
        human_bytes(a, sizeof a, cfg->memlimit);
        human_bytes(b, sizeof b, cg.bytes);
        snprintf(cfg->limit_reason, sizeof cfg->limit_reason,
                 "memory limit %s = %d%% of cgroup v%d limit %s (CGC_MEMLIMIT %s)", a, pct, cg.version, b,
                 was_set ? (is_auto ? "=auto" : "=N%") : "unset: container-aware default");
    } else if (!is_auto) {
        int64_t phys = cgc__physical_memory();
        cfg->memlimit = phys > 0 ? phys / 100 * pct : INT64_MAX;
        cfg->memlimit_source = CGC_LIMIT_PERCENT_PHYSICAL;
        cfg->memlimit_follow = 0;
        human_bytes(a, sizeof a, cfg->memlimit);
        snprintf(cfg->limit_reason, sizeof cfg->limit_reason,
                 "memory limit %s = %d%% of physical memory (no container limit found)", a, pct);
    } else {
        cfg->memlimit = INT64_MAX;
        cfg->memlimit_source = CGC_LIMIT_NONE;
        snprintf(cfg->limit_reason, sizeof cfg->limit_reason,
                 "no memory limit (no container limit found; CGC_MEMLIMIT %s)", was_set ? "=auto" : "unset");
    }
}

void cgc__config_load(cgc__config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->memlimit = INT64_MAX;
    cfg->memlimit_percent = -90;   /* unset means auto */
    cfg->memlimit_source = CGC_LIMIT_NONE;
    cfg->container_limit = -1;
    cfg->gc_percent = 100;
    int memlimit_set = 0;
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        const char *v = getenv(options[i].name);
        if (!v)
            continue;
        if (options[i].apply(v, cfg) != 0) {
            fprintf(stderr, "cgc: invalid %s=\"%s\": want %s\n", options[i].name, v, options[i].forms);
            exit(2);
        }
        memlimit_set |= i == 0;
    }
    cfg->ncpu = cgc__usable_cpus();
    if (!cfg->markers)
        cfg->markers = cfg->ncpu;
    resolve_limit(cfg, memlimit_set);
}

int64_t cgc__config_refresh_limit(const cgc__config *cfg)
{
    if (!cfg->memlimit_follow)
        return -1;
    cgc__cgroup_limit cg;
    cgc__cgroup_memory_limit_at("", &cg);
    int pct = cfg->memlimit_percent < 0 ? -cfg->memlimit_percent : cfg->memlimit_percent;
    if (cg.bytes < 0)
        return cfg->memlimit_percent < 0 ? INT64_MAX : -1;
    return cg.bytes / 100 * pct + cg.bytes % 100 * pct / 100;
}
