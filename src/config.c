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
#include "fault.h"

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- parsers (pure; 0 on success, -1 on a malformed value) -------------- */

/* The n characters at p as a decimal integer in [0, max]: digits only, no
 * sign, no spaces; leading zeros are fine. */
static int parse_uint_n(const char *p, size_t n, long max, long *out)
{
    if (n == 0)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = p[i] - '0';
        if (d < 0 || d > 9 || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* A whole string as a decimal integer in [0, max]. */
static int parse_uint(const char *s, long max, long *out)
{
    return parse_uint_n(s, strlen(s), max, out);
}

/* Digits with an optional suffix: B, KiB..TiB (Go), Ki..Ti (Kubernetes
 * binary), k, M, G, T (Kubernetes decimal). Case-sensitive; the result must
 * fit in int64 (INT64_MAX itself means "no limit", as in Go). */
int cgc__parse_bytes(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"KiB", 1ull << 10},
        {"MiB", 1ull << 20},
        {"GiB", 1ull << 30},
        {"TiB", 1ull << 40},
        {"Ki", 1ull << 10},
        {"Mi", 1ull << 20},
        {"Gi", 1ull << 30},
        {"Ti", 1ull << 40},
        {"k", 1000ull},
        {"M", 1000000ull},
        {"G", 1000000000ull},
        {"T", 1000000000000ull},
    };
    if (!s || *s < '0' || *s > '9')
        return -1;
    /* Refuse before v * 10 + d would pass INT64_MAX (and so never wrap). */
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
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
    if (n >= 1 && s[n - 1] == '%') {
        long v;
        if (parse_uint_n(s, n - 1, 100, &v) != 0 || v < 1)
            return -1;
        *percent = (int)v;
        return 0;
    }
    return cgc__parse_bytes(s, out);
}

/* CGC_DEBUG: comma-separated name=value; every known name (gctrace,
 * scavtrace, gcstoptheworld, gcconcurrent) takes a non-negative integer; unknown names
 * are ignored (as GODEBUG does), so a newer program's settings do not break
 * an older library. Empty items are skipped; an item without '=' or with an
 * empty name is malformed. Sets the n names' dsts only if all is well. */
static int parse_debug_items(const char *s, int n, const char *const names[], int *const dsts[])
{
    int v_new[4];
    for (int k = 0; k < n; k++)
        v_new[k] = *dsts[k];
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            if (!eq || eq == p)
                return -1;
            size_t nl = (size_t)(eq - p), vl = len - nl - 1;
            for (int k = 0; k < n; k++) {
                long v;
                if (nl != strlen(names[k]) || strncmp(p, names[k], nl) != 0)
                    continue;
                if (parse_uint_n(eq + 1, vl, INT_MAX, &v) != 0)
                    return -1;
                v_new[k] = (int)v;
            }
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    for (int k = 0; k < n; k++)
        *dsts[k] = v_new[k];
    return 0;
}

int cgc__parse_debug(const char *s, int *gctrace, int *scavtrace)
{
    static const char *const names[] = {"gctrace", "scavtrace"};
    int *const dsts[] = {gctrace, scavtrace};
    return parse_debug_items(s, 2, names, dsts);
}

int cgc__parse_debug_stw(const char *s, int *gcstoptheworld)
{
    static const char *const names[] = {"gcstoptheworld"};
    int *const dsts[] = {gcstoptheworld};
    return parse_debug_items(s, 1, names, dsts);
}

int cgc__parse_debug_conc(const char *s, int *gcconcurrent)
{
    static const char *const names[] = {"gcconcurrent"};
    int *const dsts[] = {gcconcurrent};
    return parse_debug_items(s, 1, names, dsts);
}

/* host:port or [ipv6]:port; the host is a name or IPv4 address (letters,
 * digits, '.', '-'), the bracketed form hex digits, ':' and '.';
 * port 1..65535. (cgc_http's autostart checks the same form.) */
int cgc__parse_addr(const char *s)
{
    const char *colon;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || close[1] != ':')
            return -1;
        bool has_colon = false;
        for (const char *p = s + 1; p < close; p++) {
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
                  *p == ':' || *p == '.'))
                return -1;
            has_colon |= *p == ':';
        }
        if (!has_colon)
            return -1;
        colon = close + 1;
    } else {
        colon = strchr(s, ':');
        if (!colon || colon == s)
            return -1;
        for (const char *p = s; p < colon; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  *p == '.' || *p == '-'))
                return -1;
    }
    long port;
    if (parse_uint(colon + 1, 65535, &port) != 0 || port < 1)
        return -1;
    return 0;
}

/* CGC_GC: off (pacing off, -1) or a non-negative percent. */
int cgc__parse_gc(const char *s, int *percent)
{
    long p;
    if (strcmp(s, "off") == 0) {
        *percent = -1;
        return 0;
    }
    if (parse_uint(s, INT_MAX, &p) != 0)
        return -1;
    *percent = (int)p;
    return 0;
}

/* CGC_MARKERS: a positive count, at most CGC__MAX_MARKERS (more marking
 * threads than that only contend). */
int cgc__parse_markers(const char *s, int *n)
{
    long v;
    if (parse_uint(s, CGC__MAX_MARKERS, &v) != 0 || v < 1)
        return -1;
    *n = (int)v;
    return 0;
}

/* A signal cgc can install a handler for and that does not mean a fault.
 * The numbers between the classic signals and SIGRTMIN (32, 33 with glibc)
 * belong to the C library's threads implementation. */
int cgc__parse_signal(const char *s, int *sig)
{
    long n;
    if (parse_uint(s, SIGRTMAX, &n) != 0 || n < 1 || n == SIGKILL || n == SIGSTOP || n == SIGSEGV ||
        n == SIGBUS || (n > 31 && n < SIGRTMIN))
        return -1;
    *sig = (int)n;
    return 0;
}

/* ---- the options table -------------------------------------------------- */

static char debug_addr_buf[256];   /* CGC_DEBUG_ADDR, copied: the environment may change */

static int apply_memlimit(const char *v, cgc__config *cfg)
{
    int64_t bytes = INT64_MAX;
    int pct, off;
    if (cgc__parse_memlimit(v, &bytes, &pct, &off) != 0)
        return -1;
    cfg->memlimit = bytes;
    cfg->memlimit_auto = pct < 0;
    cfg->memlimit_percent = pct < 0 ? -pct : pct;
    cfg->memlimit_source = off ? CGC_LIMIT_OFF : pct ? CGC_LIMIT_PERCENT_CONTAINER : CGC_LIMIT_BYTES;
    return 0;
}

static int apply_gc(const char *v, cgc__config *cfg) { return cgc__parse_gc(v, &cfg->gc_percent); }

static int apply_debug(const char *v, cgc__config *cfg)
{
    if (cgc__parse_debug_stw(v, &cfg->gcstoptheworld) != 0 || cgc__parse_debug_conc(v, &cfg->gcconcurrent) != 0)
        return -1;
    return cgc__parse_debug(v, &cfg->gctrace, &cfg->scavtrace);
}

static int apply_markers(const char *v, cgc__config *cfg) { return cgc__parse_markers(v, &cfg->markers); }

static int apply_addr(const char *v, cgc__config *cfg)
{
    if (cgc__parse_addr(v) != 0 || strlen(v) >= sizeof debug_addr_buf)
        return -1;
    strcpy(debug_addr_buf, v);
    cfg->debug_addr = debug_addr_buf;
    return 0;
}

#ifdef CGC_DEBUG_BUILD
/* CGC_FAULTS=<percent>/<seed>: fault injection (fault.c), debug builds only:
 * in a release build the variable is not read at all. */
static int apply_faults(const char *v, cgc__config *cfg)
{
    return cgc__fault_parse(v, &cfg->fault_percent, &cfg->fault_seed);
}
#endif

static int apply_sig_suspend(const char *v, cgc__config *cfg) { return cgc__parse_signal(v, &cfg->sig_suspend); }
static int apply_sig_restart(const char *v, cgc__config *cfg) { return cgc__parse_signal(v, &cfg->sig_restart); }

enum {
    OPT_MEMLIMIT, OPT_GC, OPT_DEBUG, OPT_MARKERS, OPT_DEBUG_ADDR, OPT_SIG_SUSPEND, OPT_SIG_RESTART,
#ifdef CGC_DEBUG_BUILD
    OPT_FAULTS,
#endif
    NOPTIONS
};

#define SIGNAL_FORMS                                                                                   \
    "a signal number from 1 to 31 other than SIGKILL (9), SIGSTOP (19), SIGSEGV (11), SIGBUS (7), or from " \
    "SIGRTMIN to SIGRTMAX"

/* Each option: its variable, what it means when unset, the accepted forms
 * (quoted in the error line), and the parser that stores it in the config.
 * docs/configuration.md says the same in prose. */
static const struct option {
    const char *name;
    const char *unset;
    const char *forms;
    int (*apply)(const char *value, cgc__config *cfg);
} options[NOPTIONS] = {
    [OPT_MEMLIMIT] = {"CGC_MEMLIMIT", "auto: 90% of the container's memory limit; no limit outside a container",
                      "off, auto, N% (0<N<=100), or bytes with optional suffix B, KiB, MiB, GiB, TiB, Ki, Mi, "
                      "Gi, Ti, k, M, G, T",
                      apply_memlimit},
    [OPT_GC] = {"CGC_GC", "100", "off or a non-negative integer (percent)", apply_gc},
    [OPT_DEBUG] = {"CGC_DEBUG", "nothing traced",
                   "comma-separated name=value items: gctrace=N, scavtrace=N, gcstoptheworld=N, gcconcurrent=N (N a non-negative integer; "
                   "unknown names are ignored)",
                   apply_debug},
    [OPT_MARKERS] = {"CGC_MARKERS", "the CPUs the process may use (affinity and cgroup CPU quota)",
                     "an integer from 1 to 256", apply_markers},
    [OPT_DEBUG_ADDR] = {"CGC_DEBUG_ADDR", "no HTTP endpoint", "host:port or [ipv6]:port with port 1-65535",
                        apply_addr},
    [OPT_SIG_SUSPEND] = {"CGC_SIG_SUSPEND", "SIGPWR", SIGNAL_FORMS, apply_sig_suspend},
    [OPT_SIG_RESTART] = {"CGC_SIG_RESTART", "SIGXCPU", SIGNAL_FORMS, apply_sig_restart},
#ifdef CGC_DEBUG_BUILD
    [OPT_FAULTS] = {"CGC_FAULTS", "no fault injection",
                    "<percent>/<seed>: percent 0-100, seed a non-negative integer", apply_faults},
#endif
};

/* Prints the one fatal line and exits with status 2. The value is quoted
 * with control characters escaped and long values shortened, so the message
 * stays one line; it goes out in one write so it is not interleaved. */
static void __attribute__((noreturn)) fatal(const char *name, const char *value, const char *forms)
{
    static char line[1024];
    char shown[256];
    size_t j = 0;
    const unsigned char *p = (const unsigned char *)value;
    for (; *p && j + 8 < sizeof shown; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            j += (size_t)snprintf(shown + j, sizeof shown - j, "\\x%02x", *p);
        else
            shown[j++] = (char)*p;
    }
    shown[j] = 0;
    const char *more = *p ? "..." : "";
    int n = snprintf(line, sizeof line, "cgc: invalid %s=\"%s%s\": want %s\n", name, shown, more, forms);
    if (n < 0 || n >= (int)sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(2, line, (size_t)n);
    (void)w;
    exit(2);
}

/* ---- the soft limit ------------------------------------------------------ */

/* floor(b * pct / 100) without overflowing b * pct. */
static int64_t percent_of(int64_t b, int pct)
{
    return b / 100 * pct + b % 100 * pct / 100;
}

/* A byte count for people: exact in the largest binary unit that divides
 * it, else MiB or GiB with one decimal, else bytes. */
static void human_bytes(char *buf, size_t n, int64_t b)
{
    static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && b >= (int64_t)1 << (10 * (u + 1)) && b % ((int64_t)1 << (10 * (u + 1))) == 0)
        u++;
    if (u >= 2 || b < (int64_t)1 << 20) {
        snprintf(buf, n, "%lld %s", (long long)(b >> (10 * u)), unit[u]);
        return;
    }
    /* whole.tenth, the tenth rounded to nearest: 460.8 MiB for 90% of
     * 512 MiB, although the byte count itself is rounded down. */
    int shift = b >= (int64_t)1 << 30 ? 30 : 20;
    int64_t whole = b >> shift;
    int64_t tenth = ((b & (((int64_t)1 << shift) - 1)) * 10 + ((int64_t)1 << (shift - 1))) >> shift;
    if (tenth == 10) {
        whole++;
        tenth = 0;
    }
    snprintf(buf, n, "%lld.%lld %s", (long long)whole, (long long)tenth, shift == 30 ? "GiB" : "MiB");
}

/* The limit for a percent form (N% or auto) given the container's limit
 * (cg_bytes < 0: none) and physical memory (-1: unknown): N% of the
 * container, else N% of physical memory (N%) or none (auto). */
static int64_t percent_limit(const cgc__config *cfg, int64_t cg_bytes, int64_t phys)
{
    if (cg_bytes >= 0)
        return percent_of(cg_bytes, cfg->memlimit_percent);
    if (!cfg->memlimit_auto && phys > 0)
        return percent_of(phys, cfg->memlimit_percent);
    return INT64_MAX;
}

void cgc__config_resolve_limit(cgc__config *cfg, const char *value, const cgc__cgroup_limit *cg, int64_t phys)
{
    char why[64], a[32], b[32];
    char *r = cfg->limit_reason;
    size_t rn = sizeof cfg->limit_reason;
    int64_t cgb = cg && cg->version ? cg->bytes : -1;
    cfg->container_limit = cgb;
    if (value)
        snprintf(why, sizeof why, "CGC_MEMLIMIT=%.40s", value);
    else
        snprintf(why, sizeof why, "CGC_MEMLIMIT unset");

    switch (cfg->memlimit_source) {
    case CGC_LIMIT_OFF:
        cfg->memlimit = INT64_MAX;
        cfg->memlimit_follow = 0;
        snprintf(r, rn, "no memory limit (%s)", why);
        return;
    case CGC_LIMIT_BYTES:
        cfg->memlimit_follow = 0;
        human_bytes(a, sizeof a, cfg->memlimit);
        if (cgb >= 0 && cfg->memlimit > cgb) {
            human_bytes(b, sizeof b, cgb);
            snprintf(r, rn, "memory limit %s (%s; above the cgroup v%d limit %s)", a, why, cg->version, b);
        } else {
            snprintf(r, rn, "memory limit %s (%s)", a, why);
        }
        return;
    default:
        break;
    }

    /* N% or auto: follow the container, so an in-place resize is honoured. */
    cfg->memlimit_follow = 1;
    cfg->memlimit = percent_limit(cfg, cgb, phys);
    if (cgb >= 0) {
        cfg->memlimit_source = CGC_LIMIT_PERCENT_CONTAINER;
        human_bytes(a, sizeof a, cfg->memlimit);
        human_bytes(b, sizeof b, cgb);
        snprintf(r, rn, "memory limit %s = %d%% of cgroup v%d limit %s (%s)", a, cfg->memlimit_percent,
                 cg->version, b, why);
    } else if (cfg->memlimit != INT64_MAX) {
        cfg->memlimit_source = CGC_LIMIT_PERCENT_PHYSICAL;
        human_bytes(a, sizeof a, cfg->memlimit);
        human_bytes(b, sizeof b, phys);
        snprintf(r, rn, "memory limit %s = %d%% of physical memory %s (no container limit; %s)", a,
                 cfg->memlimit_percent, b, why);
    } else {
        cfg->memlimit_source = CGC_LIMIT_NONE;
        snprintf(r, rn, "no memory limit (no container limit%s; %s)",
                 cfg->memlimit_auto ? "" : " and physical memory unknown", why);
    }
}

int64_t cgc__config_limit_for(const cgc__config *cfg, const cgc__cgroup_limit *cg, int64_t phys)
{
    if (!cfg->memlimit_follow || !cg->version)
        return -1;   /* a fixed limit, or the cgroup files could not be read now */
    return percent_limit(cfg, cg->bytes, phys);
}

/* ---- loading ------------------------------------------------------------- */

void cgc__config_load_at(cgc__config *cfg, const char *root)
{
    static cgc__cgroup_limit cg;   /* 4 KiB: kept off a possibly small stack */
    const char *value[NOPTIONS];

    memset(cfg, 0, sizeof *cfg);
    cfg->root = root;
    cfg->memlimit = INT64_MAX;
    cfg->memlimit_source = CGC_LIMIT_PERCENT_CONTAINER;   /* unset means auto */
    cfg->memlimit_auto = 1;
    cfg->memlimit_percent = 90;
    cfg->container_limit = -1;
    cfg->gc_percent = 100;
    cfg->gcconcurrent = -1;

    for (int i = 0; i < NOPTIONS; i++) {
        value[i] = getenv(options[i].name);
        if (value[i] && options[i].apply(value[i], cfg) != 0)
            fatal(options[i].name, value[i], options[i].forms);
    }

    /* The two stop-the-world signals must differ, or a restart would be
     * taken for a suspend. */
    int susp = cfg->sig_suspend ? cfg->sig_suspend : CGC__SIG_SUSPEND_DEFAULT;
    int rest = cfg->sig_restart ? cfg->sig_restart : CGC__SIG_RESTART_DEFAULT;
    if (susp == rest) {
        static char forms[192];
        int bad = value[OPT_SIG_RESTART] ? OPT_SIG_RESTART : OPT_SIG_SUSPEND;
        snprintf(forms, sizeof forms, "%s, and different from the %s signal (%d)", SIGNAL_FORMS,
                 bad == OPT_SIG_RESTART ? "suspend" : "restart", bad == OPT_SIG_RESTART ? susp : rest);
        fatal(options[bad].name, value[bad], forms);
    }

    cfg->ncpu = cgc__usable_cpus_at(root, cgc__affinity_cpus());
    if (!cfg->markers)
        cfg->markers = cfg->ncpu;

    cgc__cgroup_memory_limit_at(root, &cg);
    cgc__config_resolve_limit(cfg, value[OPT_MEMLIMIT], &cg, cgc__physical_memory());
    /* Where the limiting cgroup's usage can be read (collect.c measures the
     * memory it charges beyond cgc's own). */
    cfg->cgroup_version = 0;
    char *slash = cg.bytes >= 0 ? strrchr(cg.path, '/') : NULL;
    if (slash && (size_t)(slash - cg.path) < sizeof cfg->cgroup_dir) {
        memcpy(cfg->cgroup_dir, cg.path, (size_t)(slash - cg.path));
        cfg->cgroup_dir[slash - cg.path] = 0;
        cfg->cgroup_version = cg.version;
    }
}

void cgc__config_load(cgc__config *cfg)
{
    cgc__config_load_at(cfg, "");
}

int64_t cgc__config_refresh_container(const cgc__config *cfg, int64_t *soft)
{
    static cgc__cgroup_limit cg;   /* 4 KiB: off the stack */
    cgc__cgroup_memory_limit_at(cfg->root ? cfg->root : "", &cg);
    *soft = cgc__config_limit_for(cfg, &cg, cgc__physical_memory());
    return cg.version ? cg.bytes : -2;
}

int64_t cgc__config_refresh_limit(const cgc__config *cfg)
{
    int64_t soft;
    cgc__config_refresh_container(cfg, &soft);
    return soft;
}
