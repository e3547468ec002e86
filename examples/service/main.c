/* main.c — start-up and shutdown of the demo shop service.
 *
 * Configuration comes only from the environment (twelve-factor, as a
 * container would give it): PORT, HOST, DB_PATH, DEMO_ORDERS,
 * DB_CONNECTIONS, LOG_REQUESTS, and cgc's own CGC_MEMLIMIT, CGC_GC, CGC_DEBUG,
 * CGC_DEBUG_ADDR, which the collector reads itself. SIGTERM or SIGINT stop
 * the server cleanly: in-flight requests finish, then exit status 0.
 */
#include "service.h"

#include <cgc.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

svc_config svc_cfg;

/* Reads an integer variable in [lo, hi]; exits with status 2 on a bad
 * value, as cgc does for its own variables: a typo must not pass silently. */
static int env_int(const char *name, int def, int lo, int hi)
{
    const char *s = getenv(name);
    if (!s)
        return def;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "shop: invalid %s=%s (expected an integer in %d..%d)\n", name, s, lo, hi);
        exit(2);
    }
    return (int)v;
}

static const char *env_str(const char *name, const char *def)
{
    const char *s = getenv(name);
    return s && *s ? s : def;
}

int main(int argc, char **argv)
{
    svc_cfg.host = env_str("HOST", "127.0.0.1");
    svc_cfg.port = env_int("PORT", 8080, 1, 65535);
    svc_cfg.db_path = env_str("DB_PATH", "shop.db");
    svc_cfg.orders = env_int("DEMO_ORDERS", 60000, 12, 10000000);
    svc_cfg.log_requests = env_int("LOG_REQUESTS", 0, 0, 1);
    svc_cfg.db_connections = env_int("DB_CONNECTIONS", 4, 1, 64);

#ifdef M_ARENA_MAX
    /* What little still uses malloc (libmicrohttpd's connection buffers)
     * shares one arena instead of one per thread: each arena keeps its
     * own free pages, which count against the container's limit. */
    mallopt(M_ARENA_MAX, 1);
#endif

    /* Every JSON value lives in collected memory; jansson's decref frees
     * early when a count reaches zero, the rest is the collector's. */
    json_set_alloc_funcs(cgc_malloc, cgc_free);

    /* Block the stop signals before any thread exists, so every thread
     * inherits the mask and main() alone receives them in sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (svc_db_open_and_seed() < 0)
        return 1;
    struct MHD_Daemon *d = svc_http_start();
    if (!d)
        return 1;
    fprintf(stderr, "shop: listening on http://%s:%d (db %s)\n", svc_cfg.host, svc_cfg.port, svc_cfg.db_path);

    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "shop: %s, shutting down\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    MHD_stop_daemon(d);   /* waits for in-flight requests */
    svc_db_close();
    return 0;
}
