/* server.c — the program the cgc_http tests talk to: it allocates garbage
 * on a background thread (so collections happen and the statistics move),
 * serves cgc_http on a free loopback port, and prints "port N".
 *
 * It reads commands on stdin, so a test can compare the endpoint with the
 * program's own cgc_read_memstats at the same moment:
 *   quiesce  stop the allocating thread, then print "quiet" — from then on
 *            nothing allocates, so counters cannot move between two reads;
 *   stats    print "stats" and the memstats fields the test compares;
 *   quit     stop the endpoint and exit 0 (also on end of input).
 *
 * It also runs an "application" libmicrohttpd daemon of its own that hands
 * our two paths to cgc_http_respond and answers everything else itself
 * ("app 404"); its port is printed as "appport N". */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include <cgc.h>
#include <cgc_http.h>

static atomic_int stop_alloc;

/* Allocates linked lists, keeping a window of them live, so the heap has
 * both live data and garbage and the collector runs cycles. */
static void *allocator(void *arg)
{
    void **window = cgc_malloc(64 * sizeof(void *));
    unsigned i = 0;
    while (!atomic_load(&stop_alloc)) {
        void **node = NULL;
        for (int k = 0; k < 64; k++) {
            void **n = cgc_malloc(64 + (k % 8) * 32);
            n[0] = node;
            node = n;
        }
        window[i++ % 64] = node;
    }
    return NULL;
}

/* The application's request handler: cgc_http's paths first, then its own. */
static enum MHD_Result app_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                   const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    int r = cgc_http_respond(c, url, method);
    if (r != -1)
        return (enum MHD_Result)r;
    static char text[] = "app 404\n";
    struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof text - 1, text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 404, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Prints the fields /debug/vars must match. */
static void print_stats(void)
{
    cgc_memstats m;
    cgc_read_memstats(&m);
    printf("stats %llu %llu %llu %llu %llu %llu %u %llu %lld %d %llu %llu\n", (unsigned long long)m.heap_alloc,
           (unsigned long long)m.heap_sys, (unsigned long long)m.sys, (unsigned long long)m.total_alloc,
           (unsigned long long)m.mallocs, (unsigned long long)m.next_gc, m.num_gc, (unsigned long long)m.pause_total_ns,
           (long long)m.mem_limit, (int)m.gc_percent, (unsigned long long)m.heap_objects,
           (unsigned long long)m.last_gc);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    pthread_t t;
    if (pthread_create(&t, NULL, allocator, NULL) != 0) {
        perror("pthread_create");
        return 1;
    }
    /* Some collections before the endpoint is asked anything, so NumGC > 0
     * and the pause ring is not empty. */
    cgc_collect();
    if (cgc_http_start(argc > 1 ? argv[1] : "127.0.0.1:0") != 0) {
        perror("cgc_http_start");
        return 1;
    }
    printf("port %d\n", cgc_http_port());
    struct MHD_Daemon *app = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                                              app_handler, NULL, MHD_OPTION_END);
    if (!app) {
        perror("MHD_start_daemon");
        return 1;
    }
    printf("appport %u\n", (unsigned)MHD_get_daemon_info(app, MHD_DAEMON_INFO_BIND_PORT)->port);
    fflush(stdout);
    char line[64];
    int joined = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "quiesce", 7) == 0) {
            if (!joined) {
                atomic_store(&stop_alloc, 1);
                pthread_join(t, NULL);
                joined = 1;
            }
            puts("quiet");
            fflush(stdout);
        } else if (strncmp(line, "stats", 5) == 0) {
            print_stats();
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
    }
    MHD_stop_daemon(app);
    cgc_http_stop();
    if (cgc_http_port() != -1)
        return 1;
    return 0;
}
