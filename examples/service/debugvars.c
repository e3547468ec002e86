/* debugvars.c — GET /debug/vars when the service is built without cgc_http
 * (CGC_BUILD_HTTP=OFF or libmicrohttpd's cgc_http target absent): the same
 * expvar shape, limited to the memstats fields the demo harness reads.
 * With cgc_http, router.c serves its output instead and this is unused.
 */
#include "service.h"

#include <cgc.h>

extern char **svc_argv;

json_t *svc_debug_vars(void)
{
    cgc_memstats ms;
    cgc_read_memstats(&ms);
    json_t *cmdline = json_array();
    for (char **a = svc_argv; a && *a; a++)
        json_array_append_new(cmdline, json_string(*a));
    json_t *m = json_object();
#define U(name, field) json_object_set_new(m, name, json_integer((json_int_t)ms.field))
    U("Alloc", alloc);
    U("TotalAlloc", total_alloc);
    U("Sys", sys);
    U("Mallocs", mallocs);
    U("Frees", frees);
    U("HeapAlloc", heap_alloc);
    U("HeapSys", heap_sys);
    U("HeapIdle", heap_idle);
    U("HeapInuse", heap_inuse);
    U("HeapReleased", heap_released);
    U("HeapObjects", heap_objects);
    U("NextGC", next_gc);
    U("LastGC", last_gc);
    U("PauseTotalNs", pause_total_ns);
    U("NumGC", num_gc);
    U("NumForcedGC", num_forced_gc);
    U("MemLimit", mem_limit);
    U("GCPercent", gc_percent);
#undef U
    json_object_set_new(m, "GCCPUFraction", json_real(ms.gc_cpu_fraction));
    return json_pack("{s:o, s:o}", "cmdline", cmdline, "memstats", m);
}
