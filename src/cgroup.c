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
 * 2^63 rounded down to a page), so anything at or above 2^62 means none.
 */
#define _GNU_SOURCE
#include "cgroup.h"

#include <limits.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNLIMITED_V1 ((int64_t)1 << 62)

typedef struct hierarchy {
    char mount[PATH_MAX];   /* where it is mounted */
    char root[PATH_MAX];    /* the part of the hierarchy the mount shows */
    char path[PATH_MAX];    /* the process's cgroup, from /proc/self/cgroup */
    int  found;
} hierarchy;

/* Reads one line of a small file into buf; 0 on success. */
static int read_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

/* Finds the process's cgroup path for v2 (controller == NULL) or for the v1
 * hierarchy that has `controller`. */
static int proc_cgroup_path(const char *root, const char *controller, char *out, size_t n)
{
    char file[PATH_MAX], line[4096];
    snprintf(file, sizeof file, "%s/proc/self/cgroup", root);
    FILE *f = fopen(file, "re");
    if (!f)
        return -1;
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = 0;
        const char *ctrls = c1 + 1, *path = c2 + 1;
        bool match = false;
        if (!controller) {
            match = strcmp(line, "0") == 0 && *ctrls == 0;
        } else {
            char tmp[1024];
            snprintf(tmp, sizeof tmp, "%s", ctrls);
            for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                match |= strcmp(tok, controller) == 0;
        }
        if (match) {
            snprintf(out, n, "%s", path);
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

/* Finds the mount of a v2 hierarchy (controller NULL) or of the v1
 * hierarchy with `controller` in its super options. */
static int find_mount(const char *root, const char *controller, hierarchy *h)
{
    char file[PATH_MAX], line[8192];
    snprintf(file, sizeof file, "%s/proc/self/mountinfo", root);
    FILE *f = fopen(file, "re");
    if (!f)
        return -1;
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        /* id parent major:minor root mountpoint options [optional...] - fstype source superopts */
        char *fields[6] = {0};
        char *save = NULL, *tok = strtok_r(line, " \n", &save);
        for (int i = 0; tok && i < 6; i++, tok = strtok_r(NULL, " \n", &save))
            fields[i] = tok;
        if (!fields[4])
            continue;
        while (tok && strcmp(tok, "-") != 0)
            tok = strtok_r(NULL, " \n", &save);
        if (!tok)
            continue;
        char *fstype = strtok_r(NULL, " \n", &save);
        char *source = strtok_r(NULL, " \n", &save);
        char *superopts = strtok_r(NULL, " \n", &save);
        (void)source;
        if (!fstype)
            continue;
        bool match = false;
        if (!controller) {
            match = strcmp(fstype, "cgroup2") == 0;
        } else if (strcmp(fstype, "cgroup") == 0 && superopts) {
            for (char *s2 = NULL, *o = strtok_r(superopts, ",", &s2); o; o = strtok_r(NULL, ",", &s2))
                match |= strcmp(o, controller) == 0;
        }
        if (match) {
            snprintf(h->root, sizeof h->root, "%s", fields[3]);
            snprintf(h->mount, sizeof h->mount, "%s%s", root, fields[4]);
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

/* The directory of the process's cgroup under the mount point. */
static void cgroup_dir(const hierarchy *h, char *out, size_t n)
{
    const char *rel = h->path;
    size_t rl = strlen(h->root);
    if (strcmp(h->root, "/") != 0 && strncmp(rel, h->root, rl) == 0)
        rel += rl;   /* the mount shows only the subtree from root */
    if (strcmp(rel, "/") == 0)
        rel = "";
    snprintf(out, n, "%s%s", h->mount, rel);
}

/* Parses a limit file's value: -1 for none. */
static int64_t parse_limit(const char *s, int version)
{
    if (strcmp(s, "max") == 0)
        return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < 0)
        return -1;
    if (version == 1 && v >= UNLIMITED_V1)
        return -1;
    return v;
}

/* Walks from dir up to the mount point, taking the smallest limit in
 * `file`. */
static void walk_limits(const char *mount, const char *dir, const char *file, int version,
                        cgc__cgroup_limit *out)
{
    char d[PATH_MAX], p[PATH_MAX + 64], line[128];
    snprintf(d, sizeof d, "%s", dir);
    size_t ml = strlen(mount);
    for (;;) {
        snprintf(p, sizeof p, "%s/%s", d, file);
        if (read_line(p, line, sizeof line) == 0) {
            int64_t v = parse_limit(line, version);
            if (v >= 0 && (out->bytes < 0 || v < out->bytes)) {
                out->bytes = v;
                snprintf(out->path, sizeof out->path, "%s", p);
            }
        }
        if (strlen(d) <= ml)
            break;
        char *slash = strrchr(d, '/');
        if (!slash || (size_t)(slash - d) < ml)
            break;
        *slash = 0;
    }
}

void cgc__cgroup_memory_limit_at(const char *root, cgc__cgroup_limit *out)
{
    memset(out, 0, sizeof *out);
    out->bytes = -1;
    hierarchy h;
    char dir[PATH_MAX * 2];
    memset(&h, 0, sizeof h);
    if (find_mount(root, "memory", &h) == 0 && proc_cgroup_path(root, "memory", h.path, sizeof h.path) == 0) {
        out->version = 1;
        cgroup_dir(&h, dir, sizeof dir);
        walk_limits(h.mount, dir, "memory.limit_in_bytes", 1, out);
        return;
    }
    memset(&h, 0, sizeof h);
    if (find_mount(root, NULL, &h) == 0 && proc_cgroup_path(root, NULL, h.path, sizeof h.path) == 0) {
        out->version = 2;
        cgroup_dir(&h, dir, sizeof dir);
        walk_limits(h.mount, dir, "memory.max", 2, out);
    }
}

/* CPUs from a quota/period pair, rounded up; 0 for none. */
static int quota_cpus(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    return (int)((quota + period - 1) / period);
}

int cgc__cgroup_cpu_quota_at(const char *root)
{
    hierarchy h;
    char dir[PATH_MAX * 2], p[PATH_MAX * 2 + 32], line[128];
    memset(&h, 0, sizeof h);
    if (find_mount(root, "cpu", &h) == 0 && proc_cgroup_path(root, "cpu", h.path, sizeof h.path) == 0) {
        cgroup_dir(&h, dir, sizeof dir);
        long long q = -1, per = 0;
        snprintf(p, sizeof p, "%s/cpu.cfs_quota_us", dir);
        if (read_line(p, line, sizeof line) == 0)
            q = atoll(line);
        snprintf(p, sizeof p, "%s/cpu.cfs_period_us", dir);
        if (read_line(p, line, sizeof line) == 0)
            per = atoll(line);
        return quota_cpus(q, per);
    }
    memset(&h, 0, sizeof h);
    if (find_mount(root, NULL, &h) == 0 && proc_cgroup_path(root, NULL, h.path, sizeof h.path) == 0) {
        cgroup_dir(&h, dir, sizeof dir);
        snprintf(p, sizeof p, "%s/cpu.max", dir);
        if (read_line(p, line, sizeof line) == 0) {
            char q[32] = "", per[32] = "";
            if (sscanf(line, "%31s %31s", q, per) == 2 && strcmp(q, "max") != 0)
                return quota_cpus(atoll(q), atoll(per));
        }
    }
    return 0;
}

int cgc__usable_cpus(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    int q = cgc__cgroup_cpu_quota_at("");
    if (q > 0 && q < n)
        n = q;
    return n;
}

int64_t cgc__physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size : -1;
}
