/* prometheus.c — /metrics in the Prometheus text exposition format 0.0.4.
 *
 * Two sets of families:
 *   - a fixed set mirroring the Go client's go_memstats_* / go_gc_* names
 *     with the cgc_ prefix (cgc_memstats_heap_alloc_bytes, cgc_gc_duration_seconds, ...),
 *     so Go dashboards need only a prefix change;
 *   - every metric of cgc_metrics_all() under a mechanical name:
 *     "/gc/heap/goal:bytes" -> cgc_gc_heap_goal_bytes (the leading "/" and a
 *     leading "cgc/" dropped, every other character outside [a-zA-Z0-9_]
 *     made "_", "_total" appended to counters), histograms as Prometheus
 *     histograms with cumulative le buckets.
 * Each family has one HELP and one TYPE line before its samples. The body
 * goes into a fixed buffer sized for the worst case (cgc_http_metrics_capacity). */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cgc.h>

#include "cgc_http.h"
#include "internal.h"

/* Bounds behind the worst-case size; derived where the lines are written. */
#define NAME_MAX_IN   120  /* longer metric names are skipped, not cut (a cut name could collide) */
#define HELP_MAX_IN   256  /* descriptions are cut here; escaping at most doubles them */
#define HEADER_BYTES  1024 /* "# HELP " name " " help "\n# TYPE " name " histogram\n": 7+130+1+512+8+130+11 < 1024 */
#define LINE_BYTES    256  /* name_bucket{le="<25>"} <25>\n: 130+8+6+25+3+25+1 < 256 */
#define FIXED_BYTES   (40 * (HEADER_BYTES + 8 * LINE_BYTES)) /* the fixed families: < 40, <= 7 lines each */

/* Sample lines a metric of this kind produces: a histogram has up to
 * CGC_HISTOGRAM_MAX_BUCKETS buckets, an extra +Inf bucket, _sum and _count. */
static size_t lines_for(cgc_metric_kind k)
{
    return k == CGC_METRIC_HISTOGRAM ? CGC_HISTOGRAM_MAX_BUCKETS + 3 : 1;
}

/* The fixed buffer size a /metrics body needs in the worst case. */
size_t cgc_http_metrics_capacity(void)
{
    const cgc_metric_desc *d;
    size_t n = cgc_metrics_all(&d), cap = FIXED_BYTES;
    for (size_t i = 0; i < n; i++)
        cap += HEADER_BYTES + lines_for(d[i].kind) * LINE_BYTES;
    return cap;
}

/* Writes a float the way Prometheus reads it: NaN, +Inf, -Inf, or the
 * shortest of %.15g / %.17g that reads back as the same double. */
static void put_float(cgc__buf *b, double v)
{
    if (isnan(v)) {
        cgc__buf_put(b, "NaN", 3);
    } else if (isinf(v)) {
        cgc__buf_put(b, v > 0 ? "+Inf" : "-Inf", 4);
    } else {
        char s[32];
        snprintf(s, sizeof s, "%.15g", v);
        if (strtod(s, NULL) != v)
            snprintf(s, sizeof s, "%.17g", v);
        cgc__buf_put(b, s, strlen(s));
    }
}

/* HELP and TYPE lines; help text escaped as the format requires (\\ and \n). */
static void header(cgc__buf *b, const char *name, const char *type, const char *help)
{
    cgc__buf_printf(b, "# HELP %s ", name);
    for (size_t i = 0; help[i] && i < HELP_MAX_IN; i++) {
        if (help[i] == '\\')
            cgc__buf_put(b, "\\\\", 2);
        else if (help[i] == '\n')
            cgc__buf_put(b, "\\n", 2);
        else
            cgc__buf_put(b, help + i, 1);
    }
    cgc__buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* One family of one unsigned sample. */
static void family_u64(cgc__buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    header(b, name, type, help);
    cgc__buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* One family of one float sample. */
static void family_f64(cgc__buf *b, const char *name, const char *type, const char *help, double v)
{
    header(b, name, type, help);
    cgc__buf_printf(b, "%s ", name);
    put_float(b, v);
    cgc__buf_put(b, "\n", 1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* cgc_gc_duration_seconds, as the Go client's go_gc_duration_seconds: a
 * summary whose quantiles 0, .25, .5, .75, 1 come from the pause ring (the
 * last min(NumGC, 256) pauses), picked as Go's debug.ReadGCStats does:
 * sorted[i*(n-1)/4]. No pause yet: quantiles are NaN (no observation). */
static void gc_duration(cgc__buf *b, const cgc_memstats *m)
{
    uint64_t p[256];
    size_t n = m->num_gc < 256 ? m->num_gc : 256;
    memcpy(p, m->pause_ns, sizeof p);
    /* The ring holds the last n pauses at [(num_gc-n) % 256, num_gc % 256);
     * with n < 256 those are slots 0..n-1, with n == 256 all of them. */
    qsort(p, n, sizeof p[0], cmp_u64);
    static const char *q[5] = {"0", "0.25", "0.5", "0.75", "1"};
    header(b, "cgc_gc_duration_seconds", "summary", "A summary of the pause duration of garbage collection cycles.");
    for (int i = 0; i < 5; i++) {
        cgc__buf_printf(b, "cgc_gc_duration_seconds{quantile=\"%s\"} ", q[i]);
        put_float(b, n ? (double)p[(size_t)i * (n - 1) / 4] / 1e9 : NAN);
        cgc__buf_put(b, "\n", 1);
    }
    cgc__buf_put(b, "cgc_gc_duration_seconds_sum ", 28);
    put_float(b, (double)m->pause_total_ns / 1e9);
    cgc__buf_printf(b, "\ncgc_gc_duration_seconds_count %u\n", (unsigned)m->num_gc);
}

/* The mechanical Prometheus name of a cgc metric (see the file comment);
 * 0 on success, -1 if the name is too long to render within the bounds. */
static int prom_name(const cgc_metric_desc *d, char *out, size_t cap)
{
    const char *s = d->name;
    size_t len = strlen(s);
    if (len > NAME_MAX_IN || cap < NAME_MAX_IN + 16)
        return -1;
    if (*s == '/')
        s++;
    if (strncmp(s, "cgc/", 4) == 0)
        s += 4;
    size_t o = 0;
    memcpy(out, "cgc_", 4), o = 4;
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        out[o++] = ok ? c : '_';
    }
    out[o] = 0;
    if (d->cumulative && d->kind != CGC_METRIC_HISTOGRAM &&
        !(o >= 6 && strcmp(out + o - 6, "_total") == 0))
        strcpy(out + o, "_total");
    return 0;
}

/* A cgc histogram as a Prometheus histogram. cgc's bucket i is
 * [bounds[i], bounds[i+1]); Prometheus buckets are cumulative "<= le", so
 * bucket i contributes to le = bounds[i+1] and every later one (a value
 * exactly on a bound is counted one bucket lower than Prometheus would,
 * which only matters for values equal to a bound). A last bound that is not
 * +Inf gets the mandatory +Inf bucket. _sum is not kept by cgc; it is
 * estimated from each bucket's lower bound (its upper if the lower is
 * -Inf, 0 if both are infinite), so it is a lower estimate. */
static void histogram(cgc__buf *b, const char *name, const cgc_histogram *h)
{
    uint64_t cum = 0;
    double sum = 0;
    size_t nb = h->nbuckets <= CGC_HISTOGRAM_MAX_BUCKETS ? h->nbuckets : CGC_HISTOGRAM_MAX_BUCKETS;
    int inf_done = 0;
    for (size_t i = 0; i < nb; i++) {
        double lo = h->bounds[i], hi = h->bounds[i + 1];
        cum += h->counts[i];
        double rep = isfinite(lo) ? lo : isfinite(hi) ? hi : 0;
        sum += rep * (double)h->counts[i];
        if (isinf(hi) && hi < 0)
            continue;
        if (isnan(hi))
            continue;
        cgc__buf_printf(b, "%s_bucket{le=\"", name);
        put_float(b, hi);
        cgc__buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
        if (isinf(hi)) {
            inf_done = 1;
            break;
        }
    }
    if (!inf_done)
        cgc__buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    cgc__buf_printf(b, "%s_sum ", name);
    put_float(b, sum);
    cgc__buf_printf(b, "\n%s_count %llu\n", name, (unsigned long long)cum);
}

/* Whether a family of this name is already in b (a mechanical name can be
 * one of the fixed families, e.g. /gc/gogc:percent -> cgc_gc_gogc_percent;
 * a second HELP for a name is invalid, and the fixed one is already there). */
static int already(const cgc__buf *b, const char *name)
{
    char key[NAME_MAX_IN + 32];
    snprintf(key, sizeof key, "# TYPE %s ", name);
    for (const char *p = b->p; (p = strstr(p, key)) != NULL; p++)
        if (p == b->p || p[-1] == '\n')
            return 1;
    return 0;
}

/* Every metric of cgc_metrics_all(), from one consistent snapshot. Also
 * returns the GC CPU seconds for the fixed family (NAN if absent). */
static int runtime_metrics(cgc__buf *b, double *gc_cpu)
{
    const cgc_metric_desc *d;
    size_t n = cgc_metrics_all(&d);
    *gc_cpu = NAN;
    cgc_metric_sample *s = calloc(n ? n : 1, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        s[i].name = d[i].name;
    cgc_metrics_read(s, n);
    char name[NAME_MAX_IN + 16], help[HELP_MAX_IN + 160];
    for (size_t i = 0; i < n; i++) {
        if (strcmp(d[i].name, "/cpu/classes/gc/total:cpu-seconds") == 0 && s[i].kind == CGC_METRIC_FLOAT64)
            *gc_cpu = s[i].value.f64;
        if (s[i].kind == CGC_METRIC_BAD || prom_name(&d[i], name, sizeof name) != 0 || already(b, name))
            continue;
        /* The description, cut to HELP_MAX_IN, then cgc's name for the metric. */
        snprintf(help, sizeof help, "%.*s (cgc metric %s)", HELP_MAX_IN, d[i].description ? d[i].description : "",
                 d[i].name);
        switch (s[i].kind) {
        case CGC_METRIC_UINT64:
            family_u64(b, name, d[i].cumulative ? "counter" : "gauge", help, s[i].value.u64);
            break;
        case CGC_METRIC_FLOAT64:
            family_f64(b, name, d[i].cumulative ? "counter" : "gauge", help, s[i].value.f64);
            break;
        case CGC_METRIC_HISTOGRAM:
            header(b, name, "histogram", help);
            histogram(b, name, &s[i].value.hist);
            break;
        default:
            break;
        }
    }
    free(s);
    return 0;
}

/* Renders the whole /metrics body. */
int cgc__http_render_metrics(cgc__buf *b)
{
    cgc_memstats m;
    cgc_read_memstats(&m);
    double gc_cpu;
#define G(name, help, field) family_u64(b, name, "gauge", help, m.field)
#define C(name, help, field) family_u64(b, name, "counter", help, m.field)
    G("cgc_memstats_alloc_bytes", "Number of bytes allocated and still in use.", alloc);
    C("cgc_memstats_alloc_bytes_total", "Total number of bytes allocated, even if freed.", total_alloc);
    G("cgc_memstats_sys_bytes", "Number of bytes obtained from system.", sys);
    C("cgc_memstats_lookups_total", "Total number of pointer lookups (always 0 in cgc).", lookups);
    C("cgc_memstats_mallocs_total", "Total number of mallocs.", mallocs);
    C("cgc_memstats_frees_total", "Total number of frees.", frees);
    G("cgc_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", heap_alloc);
    G("cgc_memstats_heap_sys_bytes", "Number of heap bytes obtained from system.", heap_sys);
    G("cgc_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used.", heap_idle);
    G("cgc_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", heap_inuse);
    G("cgc_memstats_heap_released_bytes", "Number of heap bytes released to OS.", heap_released);
    G("cgc_memstats_heap_objects", "Number of allocated objects.", heap_objects);
    G("cgc_memstats_stack_inuse_bytes", "Number of bytes in use by the stack allocator (0 in cgc).", stack_inuse);
    G("cgc_memstats_stack_sys_bytes", "Number of bytes obtained from system for stack allocator (0 in cgc).", stack_sys);
    G("cgc_memstats_mspan_inuse_bytes", "Number of bytes in use by span descriptors.", mspan_inuse);
    G("cgc_memstats_mspan_sys_bytes", "Number of bytes used for span descriptors obtained from system.", mspan_sys);
    G("cgc_memstats_mcache_inuse_bytes", "Number of bytes in use by per-thread caches.", mcache_inuse);
    G("cgc_memstats_mcache_sys_bytes", "Number of bytes used for per-thread caches obtained from system.", mcache_sys);
    G("cgc_memstats_buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table (0 in cgc).", buck_hash_sys);
    G("cgc_memstats_gc_sys_bytes", "Number of bytes used for garbage collection system metadata.", gc_sys);
    G("cgc_memstats_other_sys_bytes", "Number of bytes used for other system allocations.", other_sys);
    G("cgc_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place.", next_gc);
#undef G
#undef C
    family_f64(b, "cgc_memstats_last_gc_time_seconds", "gauge",
               "Number of seconds since 1970 of last garbage collection (0: none yet).", (double)m.last_gc / 1e9);
    gc_duration(b, &m);
    /* The limit is INT64_MAX when there is none, which is what Go's
     * go_gc_gomemlimit_bytes shows too (math.MaxInt64). */
    family_u64(b, "cgc_gc_memory_limit_bytes", "gauge", "The soft memory limit (CGC_MEMLIMIT); 9223372036854775807 = none.",
               (uint64_t)m.mem_limit);
    family_f64(b, "cgc_gc_gogc_percent", "gauge", "The GC percent (CGC_GC); -1 when off.", (double)m.gc_percent);
    family_u64(b, "cgc_gc_cycles_total", "counter", "Completed garbage collection cycles.", m.num_gc);
    family_u64(b, "cgc_gc_cycles_forced_total", "counter", "Cycles forced by cgc_collect or the out-of-memory path.",
               m.num_forced_gc);
    family_u64(b, "cgc_gc_limiter_cycles_total", "counter",
               "Cycles in which the GC CPU limiter held collection back.", m.gc_limiter_cycles);
    family_f64(b, "cgc_gc_cpu_fraction", "gauge", "Fraction of available CPU time used by the GC since start.",
               m.gc_cpu_fraction);
    /* cgc_gc_cpu_seconds_total needs the runtime metrics; render them into
     * the tail of the buffer, then put the family in front of them. */
    size_t mark = b->len;
    if (runtime_metrics(b, &gc_cpu) != 0)
        return -1;
    if (b->overflow)
        return -1;
    char fam[512];
    cgc__buf f = {fam, 0, sizeof fam, 0};
    family_f64(&f, "cgc_gc_cpu_seconds_total", "counter",
               "CPU seconds spent collecting (cgc metric /cpu/classes/gc/total:cpu-seconds).", isnan(gc_cpu) ? 0 : gc_cpu);
    if (f.overflow || f.len >= b->cap - b->len)
        return -1;
    memmove(b->p + mark + f.len, b->p + mark, b->len - mark + 1);
    memcpy(b->p + mark, fam, f.len);
    b->len += f.len;
    return 0;
}
