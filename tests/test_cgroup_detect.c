/* test_cgroup_detect.c — the container memory limit and CPU quota that cgc
 * finds: the line parsers, fixture trees of cgroup v1 and v2
 * (tests/fixtures/cgroup), trees built here (over-long lines, a limit
 * changed in place), and the real machine's cgroup: a child memory cgroup
 * with a limit, a process moved into it, and what that process detects.
 * The real-cgroup part is skipped, with the reason, where it is not
 * permitted. */
#define _GNU_SOURCE
#include "cgroup.h"
#include "config.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CGC_FIXTURE_DIR
#define CGC_FIXTURE_DIR ""
#endif

#define MiB ((int64_t)1 << 20)

static int skipped;
static char fixtures[4096];

/* ---- helpers ------------------------------------------------------------ */

/* The fixture directory: from the build (CGC_FIXTURE_DIR), else next to
 * this source file. */
static void find_fixtures(void)
{
    if (CGC_FIXTURE_DIR[0]) {
        snprintf(fixtures, sizeof fixtures, "%s", CGC_FIXTURE_DIR);
        return;
    }
    snprintf(fixtures, sizeof fixtures, "%s", __FILE__);
    char *slash = strrchr(fixtures, '/');
    snprintf(slash ? slash + 1 : fixtures, sizeof fixtures - (size_t)(slash ? slash + 1 - fixtures : 0),
             "fixtures/cgroup");
}

static void skip(const char *what, const char *why)
{
    skipped++;
    printf("SKIP %s: %s\n", what, why);
}

/* Writes `text` to root/rel, creating the directories on the way. */
static void put(const char *root, const char *rel, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_tree(const char *root) { nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* ---- the line parsers --------------------------------------------------- */

static void test_proc_line(void)
{
    static const struct {
        const char *line, *controller, *want;
    } cases[] = {
        {"4:memory:/docker/abc", "memory", "/docker/abc"},
        {"3:cpu,cpuacct:/x", "cpu", "/x"},
        {"3:cpu,cpuacct:/x", "cpuacct", "/x"},
        {"3:cpu,cpuacct:/x", "cpuset", NULL},
        {"3:cpuacct:/x", "cpu", NULL},
        {"1:name=systemd:/", "memory", NULL},
        {"0::/a:b", NULL, "/a:b"},
        {"0::/", NULL, "/"},
        {"0::/a", "memory", NULL},
        {"4:memory:/a", NULL, NULL},
        {"", NULL, NULL},
        {"0:", NULL, NULL},
        {"12:memory", "memory", NULL},
        {"0::relative", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", cases[i].line);
        const char *got = cgc__cgroup_proc_line(buf, cases[i].controller);
        CHECK(cases[i].want ? got && strcmp(got, cases[i].want) == 0 : got == NULL,
              "proc line \"%s\" for %s: got %s, want %s", cases[i].line,
              cases[i].controller ? cases[i].controller : "v2", got ? got : "(none)",
              cases[i].want ? cases[i].want : "(none)");
    }
}

static void test_mountinfo_line(void)
{
    static const struct {
        const char *line, *controller, *root, *mount;
    } cases[] = {
        {"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:16 - cgroup cgroup rw,memory", "memory", "/",
         "/sys/fs/cgroup/memory"},
        {"720 719 0:53 /docker/abc /sys/fs/cgroup/memory ro master:16 - cgroup cgroup rw,memory", "memory",
         "/docker/abc", "/sys/fs/cgroup/memory"},
        {"31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct", "cpu", "/",
         "/sys/fs/cgroup/cpu,cpuacct"},
        {"31 30 0:28 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct", "cpu", NULL, NULL},
        {"30 24 0:26 / /sys/fs/cgroup rw shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate", NULL, "/",
         "/sys/fs/cgroup"},
        {"30 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw", "memory", NULL, NULL},
        {"30 24 0:26 / /sys/fs/cg\\040x rw - cgroup2 cgroup2 rw", NULL, "/", "/sys/fs/cg x"},
        {"30 24 0:26 /a\\134b /m rw - cgroup2 cgroup2 rw", NULL, "/a\\b", "/m"},
        {"30 24 0:26 / /sys/fs/cgroup rw cgroup2 cgroup2 rw", NULL, NULL, NULL},
        {"30 24 0:26 / /sys/fs/cgroup rw -", NULL, NULL, NULL},
        {"30 24 0:26 / /x rw - tmpfs tmpfs rw", NULL, NULL, NULL},
        {"30 24 0:26", NULL, NULL, NULL},
        {"", "memory", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256], *root = NULL, *mount = NULL;
        snprintf(buf, sizeof buf, "%s", cases[i].line);
        int rc = cgc__cgroup_mountinfo_line(buf, cases[i].controller, &root, &mount);
        if (cases[i].root)
            CHECK(rc == 0 && strcmp(root, cases[i].root) == 0 && strcmp(mount, cases[i].mount) == 0,
                  "mountinfo \"%s\": rc %d root %s mount %s", cases[i].line, rc, rc ? "-" : root,
                  rc ? "-" : mount);
        else
            CHECK(rc == -1, "mountinfo \"%s\" should not match %s", cases[i].line,
                  cases[i].controller ? cases[i].controller : "v2");
    }
}

static void test_parse_limit(void)
{
    static const struct {
        const char *s;
        int version;
        int64_t want;
    } cases[] = {
        {"max", 2, -1},
        {"max", 1, -2},
        {"0", 1, 0},
        {"536870912", 2, 536870912},
        {"9223372036854771712", 1, -1},            /* the kernel's v1 "unlimited" */
        {"4611686018427387904", 1, -1},            /* 2^62 and above: none */
        {"4611686018427387903", 1, 4611686018427387903},
        {"9223372036854771712", 2, 9223372036854771712},
        {"99999999999999999999", 2, -1},           /* beyond int64: none */
        {"", 2, -2},
        {"12a", 2, -2},
        {"-1", 1, -2},
        {" 5", 2, -2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = cgc__cgroup_parse_limit(cases[i].s, cases[i].version);
        CHECK(got == cases[i].want, "limit \"%s\" (v%d): got %lld, want %lld", cases[i].s, cases[i].version,
              (long long)got, (long long)cases[i].want);
    }
}

static void test_quota_cpus(void)
{
    static const struct {
        const char *quota, *period;
        int want;
    } cases[] = {
        {"150000", "100000", 2}, {"100000", "100000", 1}, {"1", "100000", 1},
        {"250000", "100000", 3}, {"max", "100000", 0},    {"-1", "100000", 0},
        {"100000", "0", 0},      {"x", "1", 0},           {"", "100000", 0},
        {"9223372036854775807", "1", INT_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = cgc__cgroup_quota_cpus(cases[i].quota, cases[i].period);
        CHECK(got == cases[i].want, "quota %s/%s: got %d CPUs, want %d", cases[i].quota, cases[i].period, got,
              cases[i].want);
    }
}

/* ---- fixture trees ------------------------------------------------------ */

static void test_fixtures(void)
{
    static const struct {
        const char *tree;
        int64_t bytes;
        int version;
        const char *file;   /* where the limit comes from, under the tree */
        int cpus;           /* quota, 0: none */
    } cases[] = {
        {"v2_nested", 512 * MiB, 2, "sys/fs/cgroup/kubepods/burstable/pod1/memory.max", 2},
        {"v2_parent_smaller", 256 * MiB, 2, "sys/fs/cgroup/svc/memory.max", 1},
        {"v2_max", -1, 2, "", 0},
        {"v2_namespace", 256 * MiB, 2, "sys/fs/cgroup/memory.max", 2},
        {"v2_bind_mounts", 384 * MiB, 2, "sys/fs/cgroup/memory.max", 0},
        {"v1_docker", 512 * MiB, 1, "sys/fs/cgroup/memory/memory.limit_in_bytes", 3},
        {"v1_nested", 1024 * MiB, 1, "sys/fs/cgroup/memory/process_api/xyz/memory.limit_in_bytes", 0},
        {"v1_unlimited", -1, 1, "", 0},
        {"no_memory", -1, 0, "", 0},
        {"escaped_mount", 32 * MiB, 2, "sys/fs/cg root/a/memory.max", 0},
        {"does_not_exist", -1, 0, "", 0},
    };
    static cgc__cgroup_limit lim;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char root[4352], want_path[8192];
        snprintf(root, sizeof root, "%s/%s", fixtures, cases[i].tree);
        if (cases[i].file[0])
            snprintf(want_path, sizeof want_path, "%s/%s", root, cases[i].file);
        else
            want_path[0] = 0;
        cgc__cgroup_memory_limit_at(root, &lim);
        CHECK(lim.bytes == cases[i].bytes && lim.version == cases[i].version,
              "%s: limit %lld (v%d), want %lld (v%d)", cases[i].tree, (long long)lim.bytes, lim.version,
              (long long)cases[i].bytes, cases[i].version);
        CHECK(strcmp(lim.path, want_path) == 0, "%s: limit from \"%s\", want \"%s\"", cases[i].tree, lim.path,
              want_path);
        int cpus = cgc__cgroup_cpu_quota_at(root);
        CHECK(cpus == cases[i].cpus, "%s: CPU quota %d, want %d", cases[i].tree, cpus, cases[i].cpus);
        /* The quota lowers the affinity count, never raises it. */
        int usable = cgc__usable_cpus_at(root, 4);
        CHECK(usable == (cases[i].cpus ? cases[i].cpus : 4), "%s: usable CPUs of 4: %d", cases[i].tree, usable);
        CHECK(cgc__usable_cpus_at(root, 1) == 1, "%s: one CPU stays one", cases[i].tree);
    }
    CHECK(cgc__usable_cpus_at("/nonexistent", 0) == 1, "at least one CPU");
}

/* The configuration over a fixture: unset CGC_MEMLIMIT means 90% of the
 * container's limit; N% of it; a fixed size that exceeds it is said so. */
static void test_config_over_fixture(void)
{
    char root[4352];
    static cgc__config cfg;
    snprintf(root, sizeof root, "%s/v1_docker", fixtures);
    unsetenv("CGC_MEMLIMIT");
    unsetenv("CGC_MARKERS");   /* the default (one per usable CPU) is checked below */
    cgc__config_load_at(&cfg, root);
    CHECK(cfg.memlimit == 536870912LL * 9 / 10, "auto over v1_docker: %lld", (long long)cfg.memlimit);
    CHECK(cfg.container_limit == 512 * MiB && cfg.memlimit_follow == 1, "container limit %lld follow %d",
          (long long)cfg.container_limit, cfg.memlimit_follow);
    CHECK(strcmp(cfg.limit_reason, "memory limit 460.8 MiB = 90% of cgroup v1 limit 512 MiB (CGC_MEMLIMIT unset)") ==
              0,
          "reason: %s", cfg.limit_reason);
    CHECK(cfg.ncpu >= 1 && cfg.ncpu <= 3 && cfg.markers == cfg.ncpu, "ncpu %d (quota 3) markers %d", cfg.ncpu,
          cfg.markers);
    CHECK(cgc__config_refresh_limit(&cfg) == cfg.memlimit, "refresh with nothing changed");

    setenv("CGC_MEMLIMIT", "25%", 1);
    snprintf(root, sizeof root, "%s/v2_nested", fixtures);
    cgc__config_load_at(&cfg, root);
    CHECK(cfg.memlimit == 128 * MiB && cfg.memlimit_source == CGC_LIMIT_PERCENT_CONTAINER,
          "25%% of v2_nested: %lld", (long long)cfg.memlimit);
    CHECK(strcmp(cfg.limit_reason, "memory limit 128 MiB = 25% of cgroup v2 limit 512 MiB (CGC_MEMLIMIT=25%)") == 0,
          "reason: %s", cfg.limit_reason);

    setenv("CGC_MEMLIMIT", "1Gi", 1);
    cgc__config_load_at(&cfg, root);
    CHECK(cfg.memlimit == 1024 * MiB && cfg.memlimit_follow == 0, "1Gi: %lld", (long long)cfg.memlimit);
    CHECK(strstr(cfg.limit_reason, "above the cgroup v2 limit 512 MiB") != NULL, "reason: %s", cfg.limit_reason);
    CHECK(cgc__config_refresh_limit(&cfg) == -1, "a fixed size does not follow the container");

    setenv("CGC_MEMLIMIT", "auto", 1);
    snprintf(root, sizeof root, "%s/v1_unlimited", fixtures);
    cgc__config_load_at(&cfg, root);
    CHECK(cfg.memlimit == INT64_MAX && cfg.memlimit_source == CGC_LIMIT_NONE, "auto without a limit: %lld",
          (long long)cfg.memlimit);
    CHECK(strcmp(cfg.limit_reason, "no memory limit (no container limit; CGC_MEMLIMIT=auto)") == 0, "reason: %s",
          cfg.limit_reason);
    unsetenv("CGC_MEMLIMIT");
}

/* Lines longer than the reader's buffer (8 KiB) are skipped whole: read in
 * pieces, their tails here would look like a v2 cgroup line and a cgroup2
 * mount that lead to a 1 MiB trap. */
static void test_long_lines(void)
{
    char root[] = "/tmp/cgc_cgroup_XXXXXX";
    static char text[40000];
    if (!mkdtemp(root)) {
        CHECK(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    int n = snprintf(text, sizeof text, "1:name=systemd:/");
    while (n < 8191)
        text[n++] = 'x';
    snprintf(text + n, sizeof text - (size_t)n, "0::/trap\n0::/right\n");
    put(root, "proc/self/cgroup", text);

    n = snprintf(text, sizeof text, "700 690 0:50 / / rw - overlay overlay rw,lowerdir=");
    while (n < 8191)
        text[n++] = 'l';
    n += snprintf(text + n, sizeof text - (size_t)n, "31 24 0:26 / /trap rw - cgroup2 cgroup2 rw\n");
    n += snprintf(text + n, sizeof text - (size_t)n, "701 690 0:51 / /huge rw - overlay overlay rw,lowerdir=");
    while (n < 39000)
        text[n++] = 'h';   /* several buffers long */
    snprintf(text + n, sizeof text - (size_t)n, "\n30 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw");
    put(root, "proc/self/mountinfo", text);   /* last line without a newline */

    put(root, "sys/fs/cgroup/right/memory.max", "33554432\n");
    put(root, "sys/fs/cgroup/trap/memory.max", "1048576\n");
    put(root, "trap/right/memory.max", "1048576\n");
    put(root, "trap/trap/memory.max", "1048576\n");
    put(root, "trap/memory.max", "1048576\n");

    static cgc__cgroup_limit lim;
    cgc__cgroup_memory_limit_at(root, &lim);
    CHECK(lim.bytes == 32 * MiB && lim.version == 2, "long lines: %lld (v%d) from %s", (long long)lim.bytes,
          lim.version, lim.path);
    rm_tree(root);
}

/* An in-place resize of the container (a pod's limits changed without a
 * restart) is followed by cgc__config_refresh_limit for auto and N%. */
static void test_resize(void)
{
    char root[] = "/tmp/cgc_cgroup_XXXXXX";
    static cgc__config cfg;
    if (!mkdtemp(root)) {
        CHECK(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    put(root, "proc/self/cgroup", "0::/\n");
    put(root, "proc/self/mountinfo", "30 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    put(root, "sys/fs/cgroup/memory.max", "536870912\n");
    unsetenv("CGC_MEMLIMIT");
    cgc__config_load_at(&cfg, root);
    CHECK(cfg.memlimit == 536870912LL * 9 / 10, "auto: %lld", (long long)cfg.memlimit);
    put(root, "sys/fs/cgroup/memory.max", "1073741824\n");
    int64_t l = cgc__config_refresh_limit(&cfg);
    CHECK(l == 1073741824LL * 9 / 10, "after growing to 1 GiB: %lld", (long long)l);
    put(root, "sys/fs/cgroup/memory.max", "max\n");
    l = cgc__config_refresh_limit(&cfg);
    CHECK(l == INT64_MAX, "after the limit is lifted: %lld", (long long)l);
    put(root, "sys/fs/cgroup/memory.max", "garbage\n");
    CHECK(cgc__config_refresh_limit(&cfg) == -1, "an unreadable limit keeps the current one");

    setenv("CGC_MEMLIMIT", "50%", 1);
    put(root, "sys/fs/cgroup/memory.max", "max\n");
    cgc__config_load_at(&cfg, root);
    int64_t phys = cgc__physical_memory();
    CHECK(phys > 0 && cfg.memlimit == phys / 100 * 50 + phys % 100 * 50 / 100 &&
              cfg.memlimit_source == CGC_LIMIT_PERCENT_PHYSICAL,
          "50%% without a container limit: %lld of %lld", (long long)cfg.memlimit, (long long)phys);
    put(root, "sys/fs/cgroup/memory.max", "268435456\n");
    l = cgc__config_refresh_limit(&cfg);
    CHECK(l == 128 * MiB, "50%% once a 256 MiB container limit appears: %lld", (long long)l);
    unsetenv("CGC_MEMLIMIT");
    rm_tree(root);
}

/* ---- the real machine --------------------------------------------------- */

/* This process's memory cgroup directory, found the plain way (the mount's
 * root is "/" or a prefix of our path): v1 memory hierarchy first, then v2.
 * Written apart from src/cgroup.c so the test does not trust what it
 * tests. */
static int own_memory_cgroup(char *dir, size_t n, int *version)
{
    char line[8192], path[4096] = "";
    for (int v = 1; v <= 2; v++) {
        FILE *f = fopen("/proc/self/cgroup", "r");
        if (!f)
            return -1;
        path[0] = 0;
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2)
                continue;
            *c2 = 0;
            char ctrls[1024];
            snprintf(ctrls, sizeof ctrls, ",%s,", c1 + 1);
            if ((v == 1 && strstr(ctrls, ",memory,")) || (v == 2 && c1 == line + 1 && line[0] == '0' && c2 == c1 + 1))
                snprintf(path, sizeof path, "%s", c2 + 1);
        }
        fclose(f);
        if (!path[0])
            continue;
        f = fopen("/proc/self/mountinfo", "r");
        if (!f)
            return -1;
        while (fgets(line, sizeof line, f)) {
            char root[4096], mnt[4096], *dash = strstr(line, " - ");
            char fstype[64], superopts[1024] = "";
            if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
                sscanf(dash + 3, "%63s %*s %1023s", fstype, superopts) < 1)
                continue;
            char opts[1100];
            snprintf(opts, sizeof opts, ",%s,", superopts);
            if ((v == 1 && strcmp(fstype, "cgroup") == 0 && strstr(opts, ",memory,")) ||
                (v == 2 && strcmp(fstype, "cgroup2") == 0)) {
                size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
                if (strncmp(path, root, rl) != 0)
                    continue;
                snprintf(dir, n, "%s%s", mnt, strcmp(path + rl, "/") == 0 ? "" : path + rl);
                *version = v;
                fclose(f);
                return 0;
            }
        }
        fclose(f);
    }
    return -1;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return w == (ssize_t)strlen(text) ? 0 : -1;
}

/* Reads exactly n bytes from a pipe; 1 on success. */
static int read_full(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

/* What the child in the test cgroup reports. */
typedef struct report {
    int64_t bytes, memlimit, refreshed;
    int version;
    char path[1024];
} report;

/* Runs in the child: joins the test cgroup, detects, reports, waits for
 * the parent to resize the outer cgroup, refreshes, reports again. */
static void __attribute__((noreturn)) child_main(const char *inner, int version, int to_parent, int from_parent)
{
    static cgc__cgroup_limit lim;
    static cgc__config cfg;
    report r;
    char pid[32];
    memset(&r, 0, sizeof r);
    snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (write_text(inner, "cgroup.procs", pid) != 0)
        _exit(3);
    (void)version;
    cgc__cgroup_memory_limit_at("", &lim);
    unsetenv("CGC_MEMLIMIT");
    cgc__config_load(&cfg);
    r.bytes = lim.bytes;
    r.version = lim.version;
    r.memlimit = cfg.memlimit;
    snprintf(r.path, sizeof r.path, "%.1000s", lim.path);
    if (write(to_parent, &r, sizeof r) != sizeof r)
        _exit(4);
    char go;
    if (read(from_parent, &go, 1) != 1)
        _exit(5);
    r.refreshed = cgc__config_refresh_limit(&cfg);
    if (write(to_parent, &r, sizeof r) != sizeof r)
        _exit(4);
    _exit(0);
}

/* A child memory cgroup (outer, 64 MiB) with a child of its own (inner,
 * 256 MiB): a process in inner must detect 64 MiB (the parent's limit
 * applies), start at 90% of it, and follow outer's resize to 96 MiB. */
static void test_real_cgroup(void)
{
    char own[4096], outer[4352], inner[4400], why[8800];
    int version;
    if (own_memory_cgroup(own, sizeof own, &version) != 0) {
        skip("real cgroup", "no memory cgroup is mounted here");
        return;
    }
    snprintf(outer, sizeof outer, "%s/cgc_detect_%d", own, (int)getpid());
    snprintf(inner, sizeof inner, "%s/inner", outer);
    if (mkdir(outer, 0755) != 0) {
        snprintf(why, sizeof why, "cannot create a memory cgroup under %s: %s", own, strerror(errno));
        skip("real cgroup", why);
        return;
    }
    const char *limit_file = version == 1 ? "memory.limit_in_bytes" : "memory.max";
    if (version == 2 && write_text(outer, "cgroup.subtree_control", "+memory") != 0) {
        snprintf(why, sizeof why, "cgroup v2: cannot enable the memory controller below %s: %s", outer,
                 strerror(errno));
        skip("real cgroup", why);
        rmdir(outer);
        return;
    }
    if (mkdir(inner, 0755) != 0 || write_text(outer, limit_file, "67108864") != 0 ||
        write_text(inner, limit_file, "268435456") != 0) {
        snprintf(why, sizeof why, "cannot set up %s with a memory limit: %s", inner, strerror(errno));
        skip("real cgroup", why);
        rmdir(inner);
        rmdir(outer);
        return;
    }

    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0) {
        CHECK(0, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        child_main(inner, version, up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    report r1, r2;
    int got1 = read_full(up[0], &r1, sizeof r1);
    if (got1 && write_text(outer, limit_file, "100663296") != 0)
        CHECK(0, "resizing %s: %s", outer, strerror(errno));
    int got2 = got1 && write(down[1], "g", 1) == 1 && read_full(up[0], &r2, sizeof r2);
    int status = 0;
    waitpid(pid, &status, 0);
    close(up[0]);
    close(down[1]);
    rmdir(inner);
    rmdir(outer);

    CHECK(got1 && got2 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    if (!got1 || !got2)
        return;
    char want_path[4400];
    snprintf(want_path, sizeof want_path, "%s/%s", outer, limit_file);
    CHECK(r1.bytes == 64 * MiB && r1.version == version, "real v%d cgroup: detected %lld (v%d), want 64 MiB",
          version, (long long)r1.bytes, r1.version);
    CHECK(strcmp(r1.path, want_path) == 0, "limit from %s, want %s", r1.path, want_path);
    CHECK(r1.memlimit == 64 * MiB * 9 / 10, "auto in the container: %lld", (long long)r1.memlimit);
    CHECK(r2.refreshed == 96 * MiB * 9 / 10, "after the resize to 96 MiB: %lld", (long long)r2.refreshed);
    printf("real v%d cgroup: %s -> %lld bytes, resized -> %lld\n", version, r1.path, (long long)r1.memlimit,
           (long long)r2.refreshed);
}

/* The real machine's CPUs: the affinity mask, never raised by the quota. */
static void test_real_cpus(void)
{
    cpu_set_t set;
    int n = cgc__usable_cpus();
    CHECK(n >= 1, "usable CPUs %d", n);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        CHECK(n <= CPU_COUNT(&set), "usable %d > affinity %d", n, CPU_COUNT(&set));
    int q = cgc__cgroup_cpu_quota_at("");
    CHECK(q == 0 || n <= q, "usable %d above the quota %d", n, q);
}

int main(void)
{
    find_fixtures();
    test_proc_line();
    test_mountinfo_line();
    test_parse_limit();
    test_quota_cpus();
    test_fixtures();
    test_config_over_fixture();
    test_long_lines();
    test_resize();
    test_real_cpus();
    test_real_cgroup();
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", check_passed, check_failed, skipped);
    else
        printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}
