/* cgroup.h — the container's memory limit and the CPUs the process may use,
 * found through /proc/self/cgroup and /proc/self/mountinfo (cgroup v1 and
 * v2). Every function takes a root prefix ("" for the real system) so tests
 * can point it at a fixture tree. */
#ifndef CGC_CGROUP_H
#define CGC_CGROUP_H

#include <stdint.h>

typedef struct cgc__cgroup_limit {
    int64_t bytes;      /* the limit, or -1 if none */
    int     version;    /* 1 or 2; 0 if no memory controller was found */
    char    path[4352]; /* the file the limit came from */
} cgc__cgroup_limit;

/* The smallest memory limit on the path from the process's cgroup up to the
 * root of its hierarchy (a parent's limit applies to its children too). */
void cgc__cgroup_memory_limit_at(const char *root, cgc__cgroup_limit *out);
/* CPUs allowed by the cgroup CPU quota (rounded up), or 0 if no quota. */
int  cgc__cgroup_cpu_quota_at(const char *root);
/* Usable CPUs: affinity mask count, reduced by the cgroup quota; >= 1. */
int  cgc__usable_cpus(void);
int64_t cgc__physical_memory(void);

#endif
