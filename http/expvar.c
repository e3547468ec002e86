/* expvar.c — /debug/vars in the shape of Go's expvar handler:
 *   {"cmdline": ["prog", "arg", ...], "memstats": {"Alloc": ..., ...}}
 * The memstats object uses Go's runtime.MemStats field names so that expvar
 * dashboards and `curl | jq .memstats.HeapAlloc` recipes work unchanged;
 * MemLimit, GCPercent, GCLimiterCycles, the limit's bounds (ContainerLimit,
 * GuardLimit, GuardOutside, OutsideProcess, EffectiveLimit) and the
 * finalization counters (FinalizersQueued, FinalizersRun, CleanupsQueued,
 * CleanupsRun) are cgc's
 * additions.
 *
 * Everything is written into a caller's fixed buffer whose size is the worst
 * case computed below (cgc_http_vars_capacity), so rendering never
 * allocates and never truncates. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include <cgc.h>

#include "cgc_http.h"
#include "internal.h"

/* At most this many bytes of /proc/self/cmdline are shown; a longer command
 * line is cut at an argument boundary-or-not (documented), never overflows. */
#define CMDLINE_MAX 4096

/* Worst case of the document:
 *   cmdline: each input byte becomes at most 6 output bytes (\u00XX or
 *            \ufffd), each argument adds at most 4 ("", and a space), and
 *            there are at most CMDLINE_MAX arguments: 10 * CMDLINE_MAX;
 *   PauseNs, PauseEnd: 256 numbers of at most 20 digits plus ", ": 2 * 256 * 22;
 *   the other 41 fields: name (<= 20) + quotes, colon, space, value
 *            (<= 25: a %.17g double or a 20-digit integer), ",\n": < 64 each;
 *   plus the braces and keys: well under 256.  */
#define VARS_CAPACITY (10 * CMDLINE_MAX + 2 * 256 * 22 + 41 * 64 + 256)

/* The fixed buffer size a /debug/vars body needs in the worst case. */
size_t cgc_http_vars_capacity(void)
{
    return VARS_CAPACITY;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if the
 * bytes there are not one (overlong forms, surrogates and values above
 * U+10FFFF are rejected, as JSON consumers would). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Writes s (n bytes) as a JSON string: quotes, backslashes and control
 * characters escaped, invalid UTF-8 replaced by U+FFFD as Go's encoder does. */
static void json_string(cgc__buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    cgc__buf_put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t k;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            cgc__buf_put(b, e, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            cgc__buf_printf(b, "\\u%04x", c);
            i++;
        } else if ((k = utf8_len(u + i, n - i)) == 0) {
            cgc__buf_put(b, "\\ufffd", 6);
            i++;
        } else {
            cgc__buf_put(b, s + i, k);
            i += k;
        }
    }
    cgc__buf_put(b, "\"", 1);
}

/* The "cmdline" array from /proc/self/cmdline (NUL-separated arguments). */
static void render_cmdline(cgc__buf *b)
{
    char raw[CMDLINE_MAX];
    size_t n = 0;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        while (n < sizeof raw) {
            ssize_t r = read(fd, raw + n, sizeof raw - n);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            n += (size_t)r;
        }
        close(fd);
    }
    /* The kernel ends every argument with a NUL; a cut-off last one has none. */
    if (n > 0 && raw[n - 1] == 0)
        n--;
    cgc__buf_put(b, "[", 1);
    size_t start = 0;
    for (size_t i = 0; n > 0 && i <= n; i++) {
        if (i == n || raw[i] == 0) {
            if (start > 0)
                cgc__buf_put(b, ", ", 2);
            json_string(b, raw + start, i - start);
            start = i + 1;
        }
    }
    cgc__buf_put(b, "]", 1);
}

/* One 256-element ring as a JSON array, in the ring's own order (as Go). */
static void render_ring(cgc__buf *b, const char *name, const uint64_t *v)
{
    cgc__buf_printf(b, ",\n\"%s\": [", name);
    for (int i = 0; i < 256; i++)
        cgc__buf_printf(b, i ? ",%llu" : "%llu", (unsigned long long)v[i]);
    cgc__buf_put(b, "]", 1);
}

/* Renders the whole /debug/vars document from one cgc_read_memstats. */
int cgc__http_render_vars(cgc__buf *b)
{
    cgc_memstats m;
    cgc_read_memstats(&m);
    cgc__buf_put(b, "{\n\"cmdline\": ", 13);
    render_cmdline(b);
    cgc__buf_put(b, ",\n\"memstats\": {", 15);
#define U(name, field) cgc__buf_printf(b, "\"%s\": %llu,\n", name, (unsigned long long)m.field)
    cgc__buf_put(b, "\n", 1);
    U("Alloc", alloc);
    U("TotalAlloc", total_alloc);
    U("Sys", sys);
    U("Lookups", lookups);
    U("Mallocs", mallocs);
    U("Frees", frees);
    U("HeapAlloc", heap_alloc);
    U("HeapSys", heap_sys);
    U("HeapIdle", heap_idle);
    U("HeapInuse", heap_inuse);
    U("HeapReleased", heap_released);
    U("HeapObjects", heap_objects);
    U("StackInuse", stack_inuse);
    U("StackSys", stack_sys);
    U("MSpanInuse", mspan_inuse);
    U("MSpanSys", mspan_sys);
    U("MCacheInuse", mcache_inuse);
    U("MCacheSys", mcache_sys);
    U("BuckHashSys", buck_hash_sys);
    U("GCSys", gc_sys);
    U("OtherSys", other_sys);
    U("NextGC", next_gc);
    U("LastGC", last_gc);
    U("PauseTotalNs", pause_total_ns);
    U("NumGC", num_gc);
    U("NumForcedGC", num_forced_gc);
#undef U
    /* %.17g round-trips a double; a fraction is always finite, but guard so
     * the document stays JSON even if the core ever produced a NaN. */
    double f = m.gc_cpu_fraction;
    if (!(f == f) || f > 1e300 || f < -1e300)
        f = 0;
    cgc__buf_printf(b, "\"GCCPUFraction\": %.17g,\n", f);
    cgc__buf_printf(b, "\"EnableGC\": %s,\n\"DebugGC\": %s,\n", m.enable_gc ? "true" : "false",
                    m.debug_gc ? "true" : "false");
    cgc__buf_printf(b, "\"MemLimit\": %lld,\n\"GCPercent\": %d,\n\"GCLimiterCycles\": %llu,\n",
                    (long long)m.mem_limit, (int)m.gc_percent, (unsigned long long)m.gc_limiter_cycles);
    /* What bounds cgc's memory, and what outside memory the guard took off
     * the container's limit (docs/memory-limit.md). */
    cgc__buf_printf(b, "\"ContainerLimit\": %lld,\n\"GuardLimit\": %lld,\n\"GuardOutside\": %lld,\n"
                       "\"OutsideProcess\": %llu,\n\"EffectiveLimit\": %lld",
                    (long long)m.container_limit, (long long)m.guard_limit, (long long)m.guard_outside,
                    (unsigned long long)m.outside_process, (long long)m.effective_limit);
    cgc__buf_printf(b, ",\n\"FinalizersQueued\": %llu,\n\"FinalizersRun\": %llu,\n\"CleanupsQueued\": %llu,\n"
                       "\"CleanupsRun\": %llu",
                    (unsigned long long)m.finalizers_queued, (unsigned long long)m.finalizers_run,
                    (unsigned long long)m.cleanups_queued, (unsigned long long)m.cleanups_run);
    render_ring(b, "PauseNs", m.pause_ns);
    render_ring(b, "PauseEnd", m.pause_end);
    cgc__buf_put(b, "\n}\n}\n", 5);
    return b->overflow ? -1 : 0;
}
