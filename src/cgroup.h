/* cgroup.h — the container's memory limit and the CPUs the process may use,
 * found through /proc/self/cgroup and /proc/self/mountinfo (cgroup v1 and
 * v2). Every function that reads files takes a root prefix ("" for the real
 * system) so tests can point it at a fixture tree holding proc/self/cgroup,
 * proc/self/mountinfo and the cgroup files under the mount points named
 * there. Read-only, fixed buffers, no heap: it runs while cgc initialises. */
#ifndef CGC_CGROUP_H
#define CGC_CGROUP_H

#include <stdint.h>

typedef struct cgc__cgroup_limit {
    int64_t bytes;      /* the smallest limit on the path, or -1 if none */
    int     version;    /* 1 or 2 when a limit file of that hierarchy could be
                           read (even one saying "no limit"); 0 when none could
                           (no memory controller, or the files are unreadable) */
    char    path[4352]; /* the file the limit came from ("" if none) */
} cgc__cgroup_limit;

/* The smallest memory limit on the path from the process's cgroup up to the
 * root of its hierarchy as mounted (a parent's limit applies to its children
 * too). A v1 memory hierarchy is preferred over v2 (hybrid hosts mount a v2
 * tree without the memory controller beside the v1 ones). */
void cgc__cgroup_memory_limit_at(const char *root, cgc__cgroup_limit *out);

/* The limit in one cgroup directory's own file (v1 memory.limit_in_bytes,
 * v2 memory.max), parsed as cgc__cgroup_parse_limit does: bytes, -1 for no
 * limit, -2 if the file cannot be read or parsed. One open and read: cheap
 * enough to ask several times a second (collect.c watches the file that
 * held the smallest limit between its full walks). */
int64_t cgc__cgroup_limit_in(const char *dir, int version);

/* What the memory cgroup at `dir` (v1 or v2) is charged for, less its
 * inactive page cache (which the kernel reclaims before it OOM-kills):
 * v1 memory.usage_in_bytes less total_inactive_file (hierarchical), v2
 * memory.current less inactive_file. -1 if the files cannot be read.
 * Static buffers (it runs on the allocation path, maybe on a small thread
 * stack): one caller at a time, the caller serialises (collect.c). */
int64_t cgc__cgroup_charged(const char *dir, int version);

/* CPUs allowed by the smallest cgroup CPU quota on the same path, rounded up
 * (v1 cpu.cfs_quota_us / cpu.cfs_period_us, v2 cpu.max), or 0 if no quota. */
int cgc__cgroup_cpu_quota_at(const char *root);

/* Usable CPUs: `affinity` (the CPUs of the affinity mask) reduced by the
 * cgroup quota found under root; at least 1. */
int cgc__usable_cpus_at(const char *root, int affinity);

/* The CPUs in this process's affinity mask (sysconf's online count where
 * the mask cannot be read); at least 1. */
int cgc__affinity_cpus(void);

/* Usable CPUs of this process on the real system (sched_getaffinity, then
 * the cgroup quota); at least 1. */
int cgc__usable_cpus(void);

/* Physical memory in bytes (sysconf), or -1 if unknown. */
int64_t cgc__physical_memory(void);

/* ---- the pure parsers behind the above (for tests and the fuzz target) -- */

/* One line of /proc/self/cgroup ("4:memory:/docker/abc", "0::/a/b"),
 * modified in place. Returns the cgroup path if the line belongs to the v1
 * hierarchy holding `controller`, or to the v2 hierarchy when controller is
 * NULL; otherwise NULL. */
const char *cgc__cgroup_proc_line(char *line, const char *controller);

/* One line of /proc/self/mountinfo, modified in place (octal escapes such
 * as \040 are decoded). Returns 0 and sets *root (the part of the hierarchy
 * the mount shows) and *mountpoint if the line mounts the v1 hierarchy
 * holding `controller` (v2 when NULL); -1 otherwise. */
int cgc__cgroup_mountinfo_line(char *line, const char *controller, char **root, char **mountpoint);

/* The value of a limit file: bytes, -1 for "no limit" (v2 "max", v1 values
 * of 2^62 and above: the kernel writes PAGE_COUNTER_MAX pages, just below
 * 2^63), -2 if malformed. */
int64_t cgc__cgroup_parse_limit(const char *s, int version);

/* CPUs granted by a quota and a period in microseconds, rounded up; 0 when
 * there is no quota ("max", -1) or either is malformed. */
int cgc__cgroup_quota_cpus(const char *quota, const char *period);

#endif
