/* test_config_parse.c — the options table (SPEC §6): every accepted form of
 * every variable with the value it means, the malformed forms that must be
 * refused, the limit chosen from the container or physical memory and the
 * sentence that says why, and the fatal path: an invalid value in the
 * environment makes the process exit with status 2 after exactly one line
 * on stderr, both through cgc__config_load and through the library's own
 * initialisation. */
#define _GNU_SOURCE
#include "cgroup.h"
#include "config.h"
#include "check.h"

#include <cgc.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB ((int64_t)1 << 10)
#define MiB ((int64_t)1 << 20)
#define GiB ((int64_t)1 << 30)
#define TiB ((int64_t)1 << 40)

static const char *const all_vars[] = {"CGC_MEMLIMIT",   "CGC_GC",          "CGC_DEBUG",       "CGC_MARKERS",
                                       "CGC_DEBUG_ADDR", "CGC_SIG_SUSPEND", "CGC_SIG_RESTART"};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof all_vars / sizeof all_vars[0]; i++)
        unsetenv(all_vars[i]);
}

/* ---- CGC_MEMLIMIT ------------------------------------------------------- */

static void test_bytes(void)
{
    static const struct {
        const char *s;
        int64_t want;
    } good[] = {
        {"0", 0},
        {"1", 1},
        {"007", 7},
        {"536870912", 536870912},
        {"512B", 512},
        {"1KiB", KiB},
        {"3MiB", 3 * MiB},
        {"2GiB", 2 * GiB},
        {"1TiB", TiB},
        {"1Ki", KiB},
        {"512Mi", 512 * MiB},
        {"4Gi", 4 * GiB},
        {"2Ti", 2 * TiB},
        {"1k", 1000},
        {"128M", 128000000},
        {"3G", 3000000000},
        {"1T", 1000000000000},
        {"9223372036854775807", INT64_MAX},
        {"9223372036854775807B", INT64_MAX},
        {"8388607TiB", 8388607 * TiB},
        {"9223372036854775k", 9223372036854775000},
        {"8589934591Gi", 8589934591 * GiB},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t got = -42;
        int rc = cgc__parse_bytes(good[i].s, &got);
        CHECK(rc == 0 && got == good[i].want, "\"%s\": rc %d value %lld, want %lld", good[i].s, rc,
              (long long)got, (long long)good[i].want);
    }
    static const char *const bad[] = {
        "",      "512MB", "1.5GiB", "-1",     "+1",    " 1",    "1 ",    "1 KiB", "0x10",   "1e9",
        "1,000", "1kB",   "1K",     "1KB",    "1kib",  "1KIB",  "1mi",   "1m",    "1g",     "1t",
        "1b",    "1Bi",   "1iB",    "KiB",    "Ki",    "B",     "k",     "1KiBB", "1GiB ",  "1Gi\n",
        "12x",   "1%",    "off",    "auto",   "max",   "inf",   "9223372036854775808",
        "18446744073709551616",     "99999999999999999999999",  "99999999999TiB",          "8388608TiB",
        "9223372036854776k",        "8589934592Gi",             "9223372036854775807k",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = -42;
        CHECK(cgc__parse_bytes(bad[i], &got) == -1 && got == -42, "\"%s\" must be refused (got %lld)", bad[i],
              (long long)got);
    }
}

static void test_memlimit(void)
{
    int64_t b;
    int pct, off;
    CHECK(cgc__parse_memlimit("off", &b, &pct, &off) == 0 && off == 1 && b == INT64_MAX && pct == 0, "off");
    CHECK(cgc__parse_memlimit("auto", &b, &pct, &off) == 0 && off == 0 && pct == -90, "auto: %d", pct);
    static const struct {
        const char *s;
        int pct;
    } pcts[] = {{"1%", 1}, {"50%", 50}, {"90%", 90}, {"100%", 100}, {"050%", 50}};
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
        CHECK(cgc__parse_memlimit(pcts[i].s, &b, &pct, &off) == 0 && pct == pcts[i].pct && off == 0,
              "\"%s\": percent %d", pcts[i].s, pct);
    CHECK(cgc__parse_memlimit("512Mi", &b, &pct, &off) == 0 && b == 512 * MiB && pct == 0 && off == 0, "512Mi");
    static const char *const bad[] = {"",     "0%",    "150%", "101%",  "1.5%",  "%",    "-5%",  " 5",
                                      "5 %",  "5% ",   "%5",   "5%%",   "OFF",   "Off",  "Auto", "auto ",
                                      " off", "max",   "512MB", "1.5GiB", "-1",  "none", "99999999999TiB",
                                      "9223372036854775808", "10%x", "1e2%", "0x10%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(cgc__parse_memlimit(bad[i], &b, &pct, &off) == -1, "CGC_MEMLIMIT=\"%s\" must be refused", bad[i]);
}

/* The limit chosen, and the sentence saying why, for each source. */
static void test_resolve(void)
{
    static cgc__config cfg;
    static cgc__cgroup_limit v1_512 = {.bytes = 512 << 20, .version = 1};
    static cgc__cgroup_limit v2_1g = {.bytes = 1 << 30, .version = 2};
    static cgc__cgroup_limit none_v2 = {.bytes = -1, .version = 2};
    static cgc__cgroup_limit unreadable = {.bytes = -1, .version = 0};
    int64_t phys = 16 * GiB;

    clear_env();
    /* unset = auto, in a container */
    memset(&cfg, 0, sizeof cfg);
    cfg.memlimit_source = CGC_LIMIT_PERCENT_CONTAINER, cfg.memlimit_auto = 1, cfg.memlimit_percent = 90;
    cgc__config_resolve_limit(&cfg, NULL, &v1_512, phys);
    CHECK(cfg.memlimit == 483183820 && cfg.memlimit_follow && cfg.container_limit == 512 * MiB,
          "auto of 512 MiB: %lld", (long long)cfg.memlimit);
    CHECK(strcmp(cfg.limit_reason, "memory limit 460.8 MiB = 90% of cgroup v1 limit 512 MiB (CGC_MEMLIMIT unset)") ==
              0,
          "%s", cfg.limit_reason);
    /* auto outside a container: no limit, but keep following */
    cgc__config_resolve_limit(&cfg, "auto", &none_v2, phys);
    CHECK(cfg.memlimit == INT64_MAX && cfg.memlimit_source == CGC_LIMIT_NONE && cfg.memlimit_follow,
          "auto without a limit: %lld", (long long)cfg.memlimit);
    CHECK(strcmp(cfg.limit_reason, "no memory limit (no container limit; CGC_MEMLIMIT=auto)") == 0, "%s",
          cfg.limit_reason);
    /* N% of physical memory where there is no container limit */
    memset(&cfg, 0, sizeof cfg);
    cfg.memlimit_source = CGC_LIMIT_PERCENT_CONTAINER, cfg.memlimit_percent = 25;
    cgc__config_resolve_limit(&cfg, "25%", &unreadable, phys);
    CHECK(cfg.memlimit == 4 * GiB && cfg.memlimit_source == CGC_LIMIT_PERCENT_PHYSICAL, "25%% of 16 GiB: %lld",
          (long long)cfg.memlimit);
    CHECK(strcmp(cfg.limit_reason,
                 "memory limit 4 GiB = 25% of physical memory 16 GiB (no container limit; CGC_MEMLIMIT=25%)") == 0,
          "%s", cfg.limit_reason);
    cgc__config_resolve_limit(&cfg, "25%", &v2_1g, phys);
    CHECK(cfg.memlimit == 256 * MiB && cfg.memlimit_source == CGC_LIMIT_PERCENT_CONTAINER, "25%% of 1 GiB");
    cfg.memlimit_source = CGC_LIMIT_PERCENT_CONTAINER;
    cgc__config_resolve_limit(&cfg, "25%", &none_v2, -1);
    CHECK(cfg.memlimit == INT64_MAX && strstr(cfg.limit_reason, "physical memory unknown"), "%s",
          cfg.limit_reason);
    /* off */
    memset(&cfg, 0, sizeof cfg);
    cfg.memlimit_source = CGC_LIMIT_OFF;
    cgc__config_resolve_limit(&cfg, "off", &v1_512, phys);
    CHECK(cfg.memlimit == INT64_MAX && !cfg.memlimit_follow, "off");
    CHECK(strcmp(cfg.limit_reason, "no memory limit (CGC_MEMLIMIT=off)") == 0, "%s", cfg.limit_reason);
    /* bytes, below and above the container's limit */
    memset(&cfg, 0, sizeof cfg);
    cfg.memlimit_source = CGC_LIMIT_BYTES, cfg.memlimit = 300 * MiB;
    cgc__config_resolve_limit(&cfg, "300Mi", &v1_512, phys);
    CHECK(cfg.memlimit == 300 * MiB && !cfg.memlimit_follow, "300Mi");
    CHECK(strcmp(cfg.limit_reason, "memory limit 300 MiB (CGC_MEMLIMIT=300Mi)") == 0, "%s", cfg.limit_reason);
    cfg.memlimit = 1000000000;
    cgc__config_resolve_limit(&cfg, "1G", &v1_512, phys);
    CHECK(strcmp(cfg.limit_reason, "memory limit 953.7 MiB (CGC_MEMLIMIT=1G; above the cgroup v1 limit 512 MiB)") ==
              0,
          "%s", cfg.limit_reason);
    cfg.memlimit = 1000;
    cgc__config_resolve_limit(&cfg, "1k", NULL, phys);
    CHECK(strcmp(cfg.limit_reason, "memory limit 1000 bytes (CGC_MEMLIMIT=1k)") == 0, "%s", cfg.limit_reason);

    /* What the periodic refresh returns for each kind of limit. */
    memset(&cfg, 0, sizeof cfg);
    cfg.memlimit_source = CGC_LIMIT_PERCENT_CONTAINER, cfg.memlimit_auto = 1, cfg.memlimit_percent = 90;
    cgc__config_resolve_limit(&cfg, NULL, &v1_512, phys);
    CHECK(cgc__config_limit_for(&cfg, &v2_1g, phys) == 966367641, "auto after a resize to 1 GiB");
    CHECK(cgc__config_limit_for(&cfg, &none_v2, phys) == INT64_MAX, "auto after the limit is lifted");
    CHECK(cgc__config_limit_for(&cfg, &unreadable, phys) == -1, "unreadable: keep the current limit");
}

/* ---- the other variables ------------------------------------------------ */

static void test_gc(void)
{
    static const struct {
        const char *s;
        int want;
    } good[] = {{"off", -1}, {"0", 0}, {"100", 100}, {"50", 50}, {"2147483647", INT_MAX}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int p = -42;
        CHECK(cgc__parse_gc(good[i].s, &p) == 0 && p == good[i].want, "CGC_GC=%s: %d", good[i].s, p);
    }
    static const char *const bad[] = {"", "-1", "on", "OFF", "2147483648", "1.5", " 100", "100 ", "100%", "1e2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int p = -42;
        CHECK(cgc__parse_gc(bad[i], &p) == -1 && p == -42, "CGC_GC=\"%s\" must be refused", bad[i]);
    }
}

static void test_debug(void)
{
    static const struct {
        const char *s;
        int gctrace, scavtrace;
    } good[] = {
        {"", 0, 0},
        {"gctrace=1", 1, 0},
        {"gctrace=2,scavtrace=1", 2, 1},
        {"scavtrace=1", 0, 1},
        {"foo=bar,gctrace=1", 1, 0},
        {"gctrace=1,,", 1, 0},
        {",gctrace=3", 3, 0},
        {"madvdontneed=1,gctrace=0", 0, 0},
        {"gctrace=1,gctrace=0", 0, 0},
        {"gctracex=5", 0, 0},
        {"xgctrace=5", 0, 0},
        {"unknown=", 0, 0},
        {"gctrace=007", 7, 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int g = 0, sc = 0;
        CHECK(cgc__parse_debug(good[i].s, &g, &sc) == 0 && g == good[i].gctrace && sc == good[i].scavtrace,
              "CGC_DEBUG=\"%s\": gctrace %d scavtrace %d", good[i].s, g, sc);
    }
    static const char *const bad[] = {"gctrace",      "gctrace=",     "gctrace=x",   "gctrace=-1", "=1",
                                      "gctrace=1,foo", "scavtrace=1.0", "gctrace= 1", "gctrace=1 ",
                                      "gctrace=99999999999", "foo"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int g = 5, sc = 6;
        CHECK(cgc__parse_debug(bad[i], &g, &sc) == -1 && g == 5 && sc == 6,
              "CGC_DEBUG=\"%s\" must be refused and change nothing", bad[i]);
    }
    /* gcstoptheworld (dirty.c): the same rules, read by its own parser. */
    static const struct {
        const char *s;
        int want;
    } stw[] = {{"gcstoptheworld=1", 1}, {"gctrace=1,gcstoptheworld=2", 2}, {"gcstoptheworld=1,gcstoptheworld=0", 0},
               {"gctrace=1", 7}, {"gcstoptheworldx=1", 7}};
    for (size_t i = 0; i < sizeof stw / sizeof stw[0]; i++) {
        int v = 7;
        CHECK(cgc__parse_debug_stw(stw[i].s, &v) == 0 && v == stw[i].want, "CGC_DEBUG=\"%s\": gcstoptheworld %d",
              stw[i].s, v);
    }
    static const char *const stw_bad[] = {"gcstoptheworld=", "gcstoptheworld=yes", "gcstoptheworld=-1", "gctrace"};
    for (size_t i = 0; i < sizeof stw_bad / sizeof stw_bad[0]; i++) {
        int v = 7;
        CHECK(cgc__parse_debug_stw(stw_bad[i], &v) == -1 && v == 7, "CGC_DEBUG=\"%s\" must be refused",
              stw_bad[i]);
    }
}

static void test_markers(void)
{
    static const struct {
        const char *s;
        int want;
    } good[] = {{"1", 1}, {"4", 4}, {"08", 8}, {"256", 256}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int n = -42;
        CHECK(cgc__parse_markers(good[i].s, &n) == 0 && n == good[i].want, "CGC_MARKERS=%s: %d", good[i].s, n);
    }
    static const char *const bad[] = {"", "0", "257", "-1", "two", "1.0", " 2", "2 ", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = -42;
        CHECK(cgc__parse_markers(bad[i], &n) == -1 && n == -42, "CGC_MARKERS=\"%s\" must be refused", bad[i]);
    }
}

static void test_addr(void)
{
    static const char *const good[] = {"localhost:6060", "127.0.0.1:1",       "0.0.0.0:65535", "[::1]:8080",
                                       "[::]:80",        "my-host.example:443", "host-1:9090",  "[fe80::1:2]:6060",
                                       "[::ffff:127.0.0.1]:80"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(cgc__parse_addr(good[i]) == 0, "CGC_DEBUG_ADDR=%s should be accepted", good[i]);
    static const char *const bad[] = {"",           ":6060",       "localhost",   "localhost:",  "localhost:0",
                                      "localhost:65536", "[::1]",  "[]:80",       "::1:80",      "host:80x",
                                      "ho st:80",   "[::1]80",     "[zz::1]:80",  "host:-1",     "host: 80",
                                      "host:80 ",   "[127.0.0.1]:80", "http://host:80", "host:99999999999",
                                      "a:b:80",      "host_1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(cgc__parse_addr(bad[i]) == -1, "CGC_DEBUG_ADDR=\"%s\" must be refused", bad[i]);
}

static void test_signals(void)
{
    char buf[16];
    int sig = -1;
    CHECK(cgc__parse_signal("10", &sig) == 0 && sig == SIGUSR1, "SIGUSR1");
    snprintf(buf, sizeof buf, "%d", SIGRTMAX);
    CHECK(cgc__parse_signal(buf, &sig) == 0 && sig == SIGRTMAX, "SIGRTMAX");
    snprintf(buf, sizeof buf, "%d", SIGRTMIN + 1);
    CHECK(cgc__parse_signal(buf, &sig) == 0 && sig == SIGRTMIN + 1, "SIGRTMIN+1");
    static const char *const bad[] = {"0", "9", "19", "11", "7", "SIGUSR1", "-10", "", " 10", "10 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sig = -42;
        CHECK(cgc__parse_signal(bad[i], &sig) == -1 && sig == -42, "signal \"%s\" must be refused", bad[i]);
    }
    for (int n = 32; n < SIGRTMIN; n++) {   /* the C library's own */
        snprintf(buf, sizeof buf, "%d", n);
        CHECK(cgc__parse_signal(buf, &sig) == -1, "signal %d is glibc's and must be refused", n);
    }
    snprintf(buf, sizeof buf, "%d", SIGRTMAX + 1);
    CHECK(cgc__parse_signal(buf, &sig) == -1, "SIGRTMAX+1 must be refused");
}

/* ---- the whole table from the environment -------------------------------- */

static void test_load(void)
{
    static cgc__config cfg;
    clear_env();
    cgc__config_load(&cfg);
    CHECK(cfg.gc_percent == 100 && cfg.gctrace == 0 && cfg.scavtrace == 0, "defaults: gc %d", cfg.gc_percent);
    CHECK(cfg.markers == cfg.ncpu && cfg.ncpu >= 1 && cfg.ncpu == cgc__usable_cpus(), "markers %d ncpu %d",
          cfg.markers, cfg.ncpu);
    CHECK(cfg.debug_addr == NULL && cfg.sig_suspend == 0 && cfg.sig_restart == 0, "unset: no address, signals 0");
    CHECK(cfg.memlimit_auto == 1 && cfg.memlimit_percent == 90 && cfg.memlimit_follow == 1, "unset = auto");
    CHECK(strstr(cfg.limit_reason, "CGC_MEMLIMIT unset") != NULL, "reason: %s", cfg.limit_reason);

    setenv("CGC_MEMLIMIT", "256Mi", 1);
    setenv("CGC_GC", "off", 1);
    setenv("CGC_DEBUG", "gctrace=1,scavtrace=2,future=x", 1);
    setenv("CGC_MARKERS", "3", 1);
    setenv("CGC_DEBUG_ADDR", "127.0.0.1:6060", 1);
    setenv("CGC_SIG_SUSPEND", "10", 1);
    setenv("CGC_SIG_RESTART", "12", 1);
    cgc__config_load(&cfg);
    CHECK(cfg.memlimit == 256 * MiB && cfg.memlimit_source == CGC_LIMIT_BYTES && !cfg.memlimit_follow,
          "memlimit %lld", (long long)cfg.memlimit);
    CHECK(cfg.gc_percent == -1 && cfg.gctrace == 1 && cfg.scavtrace == 2 && cfg.markers == 3, "gc/debug/markers");
    CHECK(cfg.debug_addr && strcmp(cfg.debug_addr, "127.0.0.1:6060") == 0, "debug_addr");
    CHECK(cfg.sig_suspend == 10 && cfg.sig_restart == 12, "signals %d %d", cfg.sig_suspend, cfg.sig_restart);
    /* The address is a copy: changing the environment later changes nothing. */
    setenv("CGC_DEBUG_ADDR", "other:1", 1);
    CHECK(strcmp(cfg.debug_addr, "127.0.0.1:6060") == 0, "debug_addr is kept");

    setenv("CGC_MEMLIMIT", "off", 1);
    cgc__config_load(&cfg);
    CHECK(cfg.memlimit == INT64_MAX && cfg.memlimit_source == CGC_LIMIT_OFF, "off");
    clear_env();
}

/* ---- fatal values -------------------------------------------------------- */

static char self_exe[4096];

/* Runs this program again with argv[1] = mode and the environment
 * `var=value` (only), and returns its exit status and stderr. fork+exec:
 * the library's constructor may have started threads in this process. */
static int run_child(const char *mode, const char *var, const char *value, const char *var2, const char *value2,
                     char *err, size_t errn)
{
    char e1[512], e2[512];
    char *envp[3] = {NULL, NULL, NULL};
    snprintf(e1, sizeof e1, "%s=%s", var, value);
    envp[0] = e1;
    if (var2) {
        snprintf(e2, sizeof e2, "%s=%s", var2, value2);
        envp[1] = e2;
    }
    char *argv[] = {self_exe, (char *)mode, NULL};
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execve(self_exe, argv, envp);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t r;
    while ((r = read(p[0], err + got, errn - 1 - got)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            got += (size_t)r;
    err[got] = 0;
    close(p[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The value as the error line shows it (control characters escaped). */
static void shown(const char *v, char *out, size_t n)
{
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p && j + 5 < n; p++)
        j += (size_t)(*p < 0x20 || *p == '"' || *p == '\\' ? snprintf(out + j, n - j, "\\x%02x", *p)
                                                            : snprintf(out + j, n - j, "%c", *p));
    out[j] = 0;
}

static void check_fatal(const char *mode, const char *var, const char *value, const char *var2,
                        const char *value2, const char *want_var, const char *want_value)
{
    char err[4096], prefix[1024], v[600];
    int status = run_child(mode, var, value, var2, value2, err, sizeof err);
    shown(want_value, v, sizeof v);
    snprintf(prefix, sizeof prefix, "cgc: invalid %s=\"%s\": want ", want_var, v);
    char *nl = strchr(err, '\n');
    CHECK(status == 2, "%s %s=\"%s\": exit status %d, want 2 (stderr: %s)", mode, var, value, status, err);
    CHECK(nl && nl[1] == 0, "%s %s=\"%s\": want exactly one line on stderr, got: %s", mode, var, value, err);
    CHECK(strncmp(err, prefix, strlen(prefix)) == 0 && strlen(err) > strlen(prefix) + 10,
          "%s %s=\"%s\": the line must name the variable, the value and the forms: %s", mode, var, value, err);
}

static void test_fatal(void)
{
    static const struct {
        const char *var, *value;
        const char *must_mention;   /* a word of the accepted forms */
    } cases[] = {
        {"CGC_MEMLIMIT", "512MB", "KiB"},
        {"CGC_MEMLIMIT", "1.5GiB", "auto"},
        {"CGC_MEMLIMIT", "-1", "N%"},
        {"CGC_MEMLIMIT", "", "off"},
        {"CGC_MEMLIMIT", "9223372036854775808", "Ti"},
        {"CGC_MEMLIMIT", "150%", "0<N<=100"},
        {"CGC_MEMLIMIT", "1\n2", "bytes"},
        {"CGC_GC", "-1", "off"},
        {"CGC_DEBUG", "gctrace", "gctrace=N"},
        {"CGC_MARKERS", "0", "256"},
        {"CGC_DEBUG_ADDR", "localhost", "port"},
        {"CGC_SIG_SUSPEND", "9", "SIGKILL"},
        {"CGC_SIG_RESTART", "SIGUSR2", "signal number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_fatal("--load", cases[i].var, cases[i].value, NULL, NULL, cases[i].var, cases[i].value);
        char err[4096];
        run_child("--load", cases[i].var, cases[i].value, NULL, NULL, err, sizeof err);
        CHECK(strstr(err, cases[i].must_mention) != NULL, "%s: the forms should mention %s: %s", cases[i].var,
              cases[i].must_mention, err);
    }
    /* A very long value still makes one line. */
    static char longv[400];
    memset(longv, '7', sizeof longv - 2);
    longv[sizeof longv - 2] = 'x';
    char err[4096];
    int status = run_child("--load", "CGC_MEMLIMIT", longv, NULL, NULL, err, sizeof err);
    CHECK(status == 2 && strchr(err, '\n') == err + strlen(err) - 1, "long value: status %d, %s", status, err);
    /* Two stop-the-world signals that are the same. */
    check_fatal("--load", "CGC_SIG_SUSPEND", "10", "CGC_SIG_RESTART", "10", "CGC_SIG_RESTART", "10");
    check_fatal("--load", "CGC_SIG_SUSPEND", "24", NULL, NULL, "CGC_SIG_SUSPEND", "24"); /* = SIGXCPU, the default restart */
    /* The library itself refuses to start: its first use runs the table. */
    check_fatal("--alloc", "CGC_MEMLIMIT", "512MB", NULL, NULL, "CGC_MEMLIMIT", "512MB");
    check_fatal("--alloc", "CGC_GC", "sometimes", NULL, NULL, "CGC_GC", "sometimes");
    /* And a valid value starts it. */
    status = run_child("--alloc", "CGC_MEMLIMIT", "64Mi", NULL, NULL, err, sizeof err);
    CHECK(status == 0 && err[0] == 0, "a valid value: status %d, stderr: %s", status, err);
    status = run_child("--load", "CGC_DEBUG", "future=1", NULL, NULL, err, sizeof err);
    CHECK(status == 0 && err[0] == 0, "unknown CGC_DEBUG names are ignored: status %d, stderr: %s", status, err);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--load") == 0) {
        static cgc__config cfg;
        cgc__config_load(&cfg);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--alloc") == 0) {
        void *p = cgc_malloc(64);
        return p ? 0 : 1;
    }
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n <= 0) {
        fprintf(stderr, "readlink /proc/self/exe: %s\n", strerror(errno));
        return 1;
    }
    self_exe[n] = 0;
    test_bytes();
    test_memlimit();
    test_resolve();
    test_gc();
    test_debug();
    test_markers();
    test_addr();
    test_signals();
    test_load();
    test_fatal();
    return check_done();
}
