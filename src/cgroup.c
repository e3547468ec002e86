/* cgroup.c — container limits from the kernel's cgroup files.
 *
 * /proc/self/cgroup names the process's cgroup in each hierarchy:
 *   v2:  "0::/kubepods/pod1/ctr"
 *   v1:  "4:memory:/docker/abc"   (the middle field lists the controllers)
 * /proc/self/mountinfo says where each hierarchy is mounted and which part
 * of it (field 4, the root) the mount shows: inside a container the mount
 * usually shows only the container's own subtree, so the path from
 * /proc/self/cgroup must be made relative to that root.
 *
 * A limit set on any ancestor also applies, so we walk from the process's
 * directory up to the mount point and take the smallest limit. v2 writes
 * "max" for none; v1 writes a huge number (PAGE_COUNTER_MAX pages, about
 * 2^63 rounded down to a page: 9223372036854771712 with 4 KiB pages), so
 * anything at or above 2^62 means none.
 *
 * Everything here reads small kernel files with open/read, fixed buffers
 * and no heap (cgc calls it while initialising, later from its background
 * thread, and from the allocation path: cgc__cgroup_charged).
 * The buffers are static rather than on the stack, because the first
 * allocation may come from a thread with a small stack; a mutex makes the
 * two callers safe against each other.
 */
#define _GNU_SOURCE
#include "cgroup.h"
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define UNLIMITED_V1 ((int64_t)1 << 62)

/* A file being read line by line through a fixed buffer (no stdio: fopen
 * would allocate, and this runs before the heap exists). */
typedef struct reader {
    int    fd;
    size_t pos, len;            /* unread bytes are buf[pos..len) */
    char   buf[4096];
} reader;

/* Scratch space for one lookup (about 40 KiB), guarded by scratch_lock. */
static struct {
    reader in;                  /* the one file open at a time */
    char line[8192];            /* one line of a /proc file */
    char file[PATH_MAX];        /* a file name being opened */
    char cgpath[PATH_MAX];      /* the process's cgroup, from /proc/self/cgroup */
    char mount[PATH_MAX];       /* where the hierarchy is mounted (with root prefix) */
    char dir[PATH_MAX];         /* the directory being read in a walk */
    char value[256];            /* a limit file's first line */
    char value2[256];
} s;
static pthread_mutex_t scratch_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- reading files ------------------------------------------------------ */

/* Opens path for reading with next_line; 0 on success. */
static int open_file(reader *r, const char *path)
{
    if (cgc__fault(CGC_FAULT_CGROUP)) {   /* tests: an unreadable file */
        r->fd = -1;
        r->pos = r->len = 0;
        return -1;
    }
    do
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
    while (r->fd < 0 && errno == EINTR);
    r->pos = r->len = 0;
    return r->fd < 0 ? -1 : 0;
}

static void close_file(reader *r)
{
    close(r->fd);
    r->fd = -1;
}

/* The next byte of the file, or -1 at its end (or on an error). */
static int next_byte(reader *r)
{
    if (r->pos == r->len) {
        ssize_t n;
        do
            n = read(r->fd, r->buf, sizeof r->buf);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
            return -1;
        r->pos = 0;
        r->len = (size_t)n;
    }
    return (unsigned char)r->buf[r->pos++];
}

/* Reads the next line into buf without its newline; returns 0 at end of
 * file. A line longer than buf is skipped whole: a truncated line could be
 * misread (its tail even looks like a line of its own). */
static int next_line(reader *r, char *buf, size_t n)
{
    for (;;) {
        size_t len = 0;
        bool too_long = false;
        int c;
        while ((c = next_byte(r)) >= 0 && c != '\n') {
            if (len + 1 < n)
                buf[len++] = (char)c;
            else
                too_long = true;
        }
        if (c < 0 && len == 0 && !too_long)
            return 0;
        buf[len] = 0;
        if (!too_long)
            return 1;
        if (c < 0)
            return 0;
    }
}

/* Reads the first line of a small file into buf; 0 on success. */
static int read_first_line(const char *path, char *buf, size_t n)
{
    if (open_file(&s.in, path) != 0)
        return -1;
    int ok = next_line(&s.in, buf, n);
    close_file(&s.in);
    return ok ? 0 : -1;
}

/* ---- pure line parsers --------------------------------------------------- */

/* True if the comma-separated list contains `name` as a whole item. */
static bool list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

const char *cgc__cgroup_proc_line(char *line, const char *controller)
{
    /* hierarchy-id:controller-list:path — the path may itself hold ':'. */
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
        return NULL;
    *c1 = *c2 = 0;
    const char *ctrls = c1 + 1, *path = c2 + 1;
    if (*path != '/')
        return NULL;
    if (!controller)
        return strcmp(line, "0") == 0 && *ctrls == 0 ? path : NULL;
    return list_has(ctrls, controller) ? path : NULL;
}

/* Decodes mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. */
static void unescape(char *p)
{
    char *out = p;
    while (*p) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
            p[3] <= '7') {
            char c = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            if (c) {
                *out++ = c;
                p += 4;
                continue;
            }
        }
        *out++ = *p++;
    }
    *out = 0;
}

int cgc__cgroup_mountinfo_line(char *line, const char *controller, char **root, char **mountpoint)
{
    /* id parent major:minor root mountpoint options [optional...] - fstype source superopts */
    char *field[6] = {0};
    char *save = NULL, *tok = strtok_r(line, " ", &save);
    for (int i = 0; tok && i < 6; i++, tok = strtok_r(NULL, " ", &save))
        field[i] = tok;
    if (!field[5])
        return -1;
    while (tok && strcmp(tok, "-") != 0)
        tok = strtok_r(NULL, " ", &save);   /* optional fields, e.g. "shared:5" */
    if (!tok)
        return -1;
    char *fstype = strtok_r(NULL, " ", &save);
    char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
    char *superopts = source ? strtok_r(NULL, " ", &save) : NULL;
    bool match;
    if (!fstype)
        return -1;
    if (!controller)
        match = strcmp(fstype, "cgroup2") == 0;
    else
        match = strcmp(fstype, "cgroup") == 0 && superopts && list_has(superopts, controller);
    if (!match || field[3][0] != '/' || field[4][0] != '/')
        return -1;
    unescape(field[3]);
    unescape(field[4]);
    *root = field[3];
    *mountpoint = field[4];
    return 0;
}

int64_t cgc__cgroup_parse_limit(const char *str, int version)
{
    if (version == 2 && strcmp(str, "max") == 0)
        return -1;
    if (*str < '0' || *str > '9')
        return -2;
    uint64_t v = 0;
    for (; *str >= '0' && *str <= '9'; str++) {
        if (v > (uint64_t)INT64_MAX / 10)
            return -1;   /* beyond any real limit: the unlimited sentinel */
        v = v * 10 + (uint64_t)(*str - '0');
    }
    if (*str)
        return -2;
    if (v > (uint64_t)INT64_MAX || (version == 1 && v >= (uint64_t)UNLIMITED_V1))
        return -1;
    return (int64_t)v;
}

/* A non-negative decimal number that fits in int64, or -1. */
static int64_t plain_number(const char *p)
{
    if (*p < '0' || *p > '9')
        return -1;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return *p ? -1 : v;
}

int cgc__cgroup_quota_cpus(const char *quota, const char *period)
{
    int64_t q = plain_number(quota), p = plain_number(period);
    if (q <= 0 || p <= 0)
        return 0;   /* "max", "-1" or garbage: no quota */
    /* ceil(q / p) without overflowing q + p - 1 */
    int64_t n = q / p + (q % p != 0);
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* ---- finding the process's cgroup directory ----------------------------- */

/* True if `root` is `path` or a whole-component prefix of it. */
static bool path_under(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (strcmp(root, "/") == 0)
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* Sets s.mount to the directory of the process's cgroup in the v1
 * hierarchy holding `controller` (v2 if NULL) and s.dir to the directory of
 * the process's own cgroup under it. Returns 0, or -1 if the hierarchy is
 * not mounted or the process is not listed in it. Holds scratch_lock. */
static int locate(const char *root, const char *controller)
{
    snprintf(s.file, sizeof s.file, "%s/proc/self/cgroup", root);
    if (open_file(&s.in, s.file) != 0)
        return -1;
    int found = -1;
    while (found < 0 && next_line(&s.in, s.line, sizeof s.line)) {
        const char *p = cgc__cgroup_proc_line(s.line, controller);
        if (p && strlen(p) < sizeof s.cgpath) {
            strcpy(s.cgpath, p);
            found = 0;
        }
    }
    close_file(&s.in);
    if (found < 0)
        return -1;

    /* Of the mounts of this hierarchy (bind mounts may repeat it), take the
     * one whose root is the longest prefix of our path; if none is (the
     * mount shows a part of the tree we are not in), the first, read at its
     * top. */
    snprintf(s.file, sizeof s.file, "%s/proc/self/mountinfo", root);
    if (open_file(&s.in, s.file) != 0)
        return -1;
    size_t best = 0;
    bool have_mount = false, have_prefix = false;
    s.dir[0] = 0;
    while (next_line(&s.in, s.line, sizeof s.line)) {
        char *mroot, *mpoint;
        if (cgc__cgroup_mountinfo_line(s.line, controller, &mroot, &mpoint) != 0)
            continue;
        size_t rl = strlen(mroot);
        bool under = path_under(s.cgpath, mroot);
        if ((under && (!have_prefix || rl > best)) || !have_mount) {
            if (snprintf(s.mount, sizeof s.mount, "%s%s", root, mpoint) >= (int)sizeof s.mount)
                continue;
            if (strcmp(mpoint, "/") == 0)
                s.mount[strlen(root)] = 0;   /* mounted at "/": no trailing slash */
            /* The part of our path below the mount's root; a path leaving
             * the visible tree ("/../x" in a cgroup namespace) is read at
             * the mount's top. */
            const char *rel = "";
            if (under && !strstr(s.cgpath, "/.."))
                rel = strcmp(mroot, "/") == 0 ? s.cgpath : s.cgpath + rl;
            if (strcmp(rel, "/") == 0)
                rel = "";
            if (snprintf(s.dir, sizeof s.dir, "%s%s", s.mount, rel) >= (int)sizeof s.dir)
                snprintf(s.dir, sizeof s.dir, "%s", s.mount);
            have_mount = true;
            have_prefix |= under;
            if (under)
                best = rl;
        }
    }
    close_file(&s.in);
    return have_mount ? 0 : -1;
}

/* Moves s.dir one level up, not above s.mount; returns false at the top. */
static bool dir_up(void)
{
    size_t ml = strlen(s.mount), dl = strlen(s.dir);
    if (dl <= ml)
        return false;
    char *slash = strrchr(s.dir, '/');
    if (!slash || (size_t)(slash - s.dir) < ml)
        return false;
    *slash = 0;
    return true;
}

/* Reads dir/name's first line into buf; 0 on success. */
static int read_in_dir(const char *name, char *buf, size_t n)
{
    if (snprintf(s.file, sizeof s.file, "%s/%s", s.dir, name) >= (int)sizeof s.file)
        return -1;
    return read_first_line(s.file, buf, n);
}

/* ---- memory limit -------------------------------------------------------- */

/* Walks from s.dir up to s.mount, keeping the smallest limit in `name`. */
static void walk_memory(const char *name, int version, cgc__cgroup_limit *out)
{
    do {
        if (read_in_dir(name, s.value, sizeof s.value) != 0)
            continue;
        int64_t v = cgc__cgroup_parse_limit(s.value, version);
        if (v == -2)
            continue;
        out->version = version;
        if (v >= 0 && (out->bytes < 0 || v < out->bytes)) {
            out->bytes = v;
            snprintf(out->path, sizeof out->path, "%s", s.file);
        }
    } while (dir_up());
}

void cgc__cgroup_memory_limit_at(const char *root, cgc__cgroup_limit *out)
{
    out->bytes = -1;
    out->version = 0;
    out->path[0] = 0;
    pthread_mutex_lock(&scratch_lock);
    if (locate(root, "memory") == 0)
        walk_memory("memory.limit_in_bytes", 1, out);
    if (out->version == 0 && locate(root, NULL) == 0)
        walk_memory("memory.max", 2, out);
    pthread_mutex_unlock(&scratch_lock);
}

int64_t cgc__cgroup_limit_in(const char *dir, int version)
{
    if (version != 1 && version != 2)
        return -2;
    int64_t v = -2;
    pthread_mutex_lock(&scratch_lock);
    if (snprintf(s.file, sizeof s.file, "%s/%s", dir, version == 1 ? "memory.limit_in_bytes" : "memory.max") <
            (int)sizeof s.file &&
        read_first_line(s.file, s.value, sizeof s.value) == 0)
        v = cgc__cgroup_parse_limit(s.value, version);
    pthread_mutex_unlock(&scratch_lock);
    return v;
}

/* The value after "key " on a line of memory.stat, or 0 if the line is
 * another key's. */
static int64_t stat_value(const char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0 || line[n] != ' ')
        return 0;
    int64_t v = plain_number(line + n + 1);
    return v > 0 ? v : 0;
}

/* The charge reading's own buffers: it runs on the allocation path, beside
 * (not under) scratch_lock's lookups on the background thread. */
static struct {
    reader in;
    char line[256];             /* memory.stat lines are short; a longer one is skipped */
    char file[PATH_MAX + 32];
    char value[64];
} c;

int64_t cgc__cgroup_charged(const char *dir, int version)
{
    if (version != 1 && version != 2)
        return -1;
    if (snprintf(c.file, sizeof c.file, "%s/%s", dir, version == 1 ? "memory.usage_in_bytes" : "memory.current") >=
        (int)sizeof c.file)
        return -1;
    if (open_file(&c.in, c.file) != 0)
        return -1;
    int ok = next_line(&c.in, c.value, sizeof c.value);
    close_file(&c.in);
    int64_t usage = ok ? plain_number(c.value) : -1, inactive = 0;
    if (usage < 0 || snprintf(c.file, sizeof c.file, "%s/memory.stat", dir) >= (int)sizeof c.file ||
        open_file(&c.in, c.file) != 0)
        return -1;
    const char *key = version == 1 ? "total_inactive_file" : "inactive_file";
    while (next_line(&c.in, c.line, sizeof c.line))
        if ((inactive = stat_value(c.line, key)) > 0)
            break;
    close_file(&c.in);
    return usage > inactive ? usage - inactive : 0;
}

/* ---- CPU quota ----------------------------------------------------------- */

/* Walks from s.dir up to s.mount, keeping the smallest CPU quota: v1 reads
 * two files, v2 one ("quota period"). Returns 0 if none. */
static int walk_cpu(int version)
{
    int best = 0;
    do {
        int n = 0;
        if (version == 1) {
            if (read_in_dir("cpu.cfs_quota_us", s.value, sizeof s.value) == 0 &&
                read_in_dir("cpu.cfs_period_us", s.value2, sizeof s.value2) == 0)
                n = cgc__cgroup_quota_cpus(s.value, s.value2);
        } else if (read_in_dir("cpu.max", s.value, sizeof s.value) == 0) {
            char *sp = strchr(s.value, ' ');
            if (sp) {
                *sp = 0;
                n = cgc__cgroup_quota_cpus(s.value, sp + 1);
            }
        }
        if (n > 0 && (best == 0 || n < best))
            best = n;
    } while (dir_up());
    return best;
}

int cgc__cgroup_cpu_quota_at(const char *root)
{
    int n = 0;
    pthread_mutex_lock(&scratch_lock);
    if (locate(root, "cpu") == 0)
        n = walk_cpu(1);
    if (n == 0 && locate(root, NULL) == 0)
        n = walk_cpu(2);
    pthread_mutex_unlock(&scratch_lock);
    return n;
}

int cgc__usable_cpus_at(const char *root, int affinity)
{
    int n = affinity > 0 ? affinity : 1;
    int q = cgc__cgroup_cpu_quota_at(root);
    return q > 0 && q < n ? q : n;
}

int cgc__affinity_cpus(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0) {   /* more CPUs than a cpu_set_t holds, or no affinity call */
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    return n;
}

int cgc__usable_cpus(void)
{
    return cgc__usable_cpus_at("", cgc__affinity_cpus());
}

int64_t cgc__physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size : -1;
}
