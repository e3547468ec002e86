/* config.h — cgc's configuration: one table of options, read from the
 * environment in one place (config.c), once, before the first allocation.
 * An invalid value is fatal: one line on stderr, exit status 2 (SPEC §6). */
#ifndef CGC_CONFIG_H
#define CGC_CONFIG_H

#include <signal.h>
#include <stdint.h>

/* Where the soft limit came from; printed in the first gctrace line. */
typedef enum cgc__limit_source {
    CGC_LIMIT_NONE = 0,          /* auto/unset outside a container: no limit */
    CGC_LIMIT_OFF,               /* CGC_MEMLIMIT=off */
    CGC_LIMIT_BYTES,             /* an explicit byte count */
    CGC_LIMIT_PERCENT_CONTAINER, /* N% (or auto = 90%) of the container limit */
    CGC_LIMIT_PERCENT_PHYSICAL   /* N% of physical memory (no container limit) */
} cgc__limit_source;

typedef struct cgc__config {
    int64_t memlimit;            /* bytes; INT64_MAX = no limit */
    cgc__limit_source memlimit_source;
    int     memlimit_percent;    /* for N% / auto: N (so the limit can follow the container) */
    int     memlimit_auto;       /* 1: auto (also when unset): 90% of the container, none outside */
    int     memlimit_follow;     /* 1: re-read the container limit periodically (N%/auto) */
    int64_t container_limit;     /* bytes, or -1 if none found */
    int     gc_percent;          /* CGC_GC; -1 = off; default 100 */
    int     gctrace;             /* CGC_DEBUG gctrace=N */
    int     scavtrace;           /* CGC_DEBUG scavtrace=N */
    int     gcstoptheworld;      /* CGC_DEBUG gcstoptheworld=N: N >= 1 marks with the world stopped (dirty.c) */
    int     gcconcurrent;        /* CGC_DEBUG gcconcurrent=N; -1 (unset): concurrent where a tracker works, but for marks that would stop the world under 1 ms; 0: stop-the-world; 1: every cycle concurrent but where the memory limit leaves too little room; 2: there too (collect.c) */
    int     markers;             /* CGC_MARKERS, default: usable CPUs */
    int     ncpu;                /* CPUs the process may use (affinity, cgroup quota) */
    const char *debug_addr;      /* CGC_DEBUG_ADDR or NULL */
    int     sig_suspend;         /* CGC_SIG_SUSPEND, 0 = default */
    int     sig_restart;         /* CGC_SIG_RESTART, 0 = default */
    char    limit_reason[192];   /* human text: which limit was chosen and why */
    const char *root;            /* file system prefix for the cgroup files: "" (tests: a fixture) */
    int     cgroup_version;      /* 1 or 2 when a memory cgroup limit was found, else 0 */
    char    cgroup_dir[4352];    /* the directory of the cgroup whose limit is the smallest */
    unsigned fault_percent;      /* CGC_FAULTS (debug builds): fault injection, 0 = off */
    uint64_t fault_seed;
} cgc__config;

/* The stop-the-world signals used when CGC_SIG_SUSPEND / CGC_SIG_RESTART
 * are unset (sig_suspend / sig_restart == 0). */
#define CGC__SIG_SUSPEND_DEFAULT SIGPWR
#define CGC__SIG_RESTART_DEFAULT SIGXCPU

/* Reads every variable of the options table. On an invalid value prints one
 * line naming the variable, the value and the accepted forms, then exit(2). */
void cgc__config_load(cgc__config *cfg);
/* The same, reading the cgroup files under `root` (tests: a fixture tree);
 * cfg->root keeps the pointer for cgc__config_refresh_limit, so the string
 * must live as long as cfg is refreshed. */
void cgc__config_load_at(cgc__config *cfg, const char *root);

/* The pure parsers behind the table (0 on success, -1 if malformed), for
 * tests and the fuzz target. */
int cgc__parse_bytes(const char *s, int64_t *out);
/* off: *is_off = 1, *out = INT64_MAX; auto: *percent = -90 (90% of the
 * container's limit, none outside one); N%: *percent = N; bytes: *out. */
int cgc__parse_memlimit(const char *s, int64_t *out, int *percent, int *is_off);
/* Sets only the known names present; leaves the others as they were. */
int cgc__parse_debug(const char *s, int *gctrace, int *scavtrace);
/* The gcstoptheworld item of CGC_DEBUG, the same rules. */
int cgc__parse_debug_stw(const char *s, int *gcstoptheworld);
/* The gcconcurrent item of CGC_DEBUG, the same rules. */
int cgc__parse_debug_conc(const char *s, int *gcconcurrent);
int cgc__parse_addr(const char *s);
/* CGC_GC: off → -1, or a non-negative integer. */
int cgc__parse_gc(const char *s, int *percent);
/* CGC_MARKERS: 1 .. CGC__MAX_MARKERS. */
int cgc__parse_markers(const char *s, int *n);
#define CGC__MAX_MARKERS 256
/* A stop-the-world signal: 1..31 or SIGRTMIN..SIGRTMAX, not SIGKILL,
 * SIGSTOP, SIGSEGV, SIGBUS (cgc must be able to catch it, faults must stay
 * faults, and 32..SIGRTMIN-1 belong to the C library). */
int cgc__parse_signal(const char *s, int *sig);

/* Sets cfg->memlimit, memlimit_source, memlimit_follow, container_limit
 * and limit_reason from the parsed CGC_MEMLIMIT (`value`, NULL if unset),
 * the container limit `cg` and physical memory `phys` (-1 if unknown).
 * Pure: config_load feeds it the real system, tests their own inputs. */
struct cgc__cgroup_limit;
void cgc__config_resolve_limit(cgc__config *cfg, const char *value, const struct cgc__cgroup_limit *cg,
                               int64_t phys);
/* The soft limit for cfg's N% / auto given a container limit and physical
 * memory: INT64_MAX for none, -1 to keep the current one (cg unreadable). */
int64_t cgc__config_limit_for(const cgc__config *cfg, const struct cgc__cgroup_limit *cg, int64_t phys);

/* Re-reads the container memory limit for N%/auto limits; returns the new
 * soft limit in bytes (INT64_MAX if none), or -1 if it could not be read. */
int64_t cgc__config_refresh_limit(const cgc__config *cfg);

/* Re-reads the container memory limit: returns it in bytes (-1: none), or
 * -2 if it could not be read; sets *soft to the new soft limit for N% /
 * auto (INT64_MAX if none), or -1 for a fixed limit or an unreadable one.
 * Not reentrant (static buffers: one caller, the background thread). */
int64_t cgc__config_refresh_container(const cgc__config *cfg, int64_t *soft);

#endif
