/* cgc_http.h — the collector's statistics over HTTP (docs/reference.md §10).
 *
 *   GET /debug/vars   JSON in the shape of Go's expvar: {"cmdline": [...], "memstats": {...}}
 *   GET /metrics      Prometheus text exposition format 0.0.4, names prefixed cgc_
 *
 * Link the library `cgc_http` (static; pulls in libmicrohttpd) or
 * `cgc_http_shared` (next to cgc_shared). Setting CGC_DEBUG_ADDR=host:port
 * starts the endpoint when the program loads, without code changes.
 * docs/observability.md explains every field and metric. */
#ifndef CGC_HTTP_H
#define CGC_HTTP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the endpoint on a background thread. addr is "host:port",
 * "[ipv6]:port" or ":port" (loopback); NULL or "" means "127.0.0.1:0".
 * Port 0 picks a free port (see cgc_http_port). Returns 0, or -1 with errno
 * set (EINVAL: malformed addr; EALREADY: already running; other: bind). */
int cgc_http_start(const char *addr);

/* The TCP port the endpoint listens on, or -1 if it is not running. */
int cgc_http_port(void);

/* Stops the endpoint and waits for its thread; no-op if not running. */
void cgc_http_stop(void);

/* Starts the endpoint again on the address of its last successful start
 * (stopping it first if it runs): after fork, the child's endpoint is
 * gone, and this brings it back. The address is the string given, so
 * "host:0" picks a new free port. Returns 0, or -1 with errno (ENOENT:
 * never started; EADDRINUSE: the parent still holds the port; as
 * cgc_http_start otherwise).
 *
 * fork: the child starts without the endpoint (threads do not survive
 * fork) and with the parent's listening socket closed. If CGC_DEBUG_ADDR
 * started it, a thread of the child binds the same address as soon as the
 * parent lets it go (exits or stops it), within about a second; calling
 * cgc_http_start, cgc_http_stop or cgc_http_restart in the child cancels
 * that. docs/observability.md, "fork". */
int cgc_http_restart(void);

/* For applications with their own HTTP server: renders the body for url
 * ("/debug/vars" or "/metrics") into memory from malloc (the caller frees
 * *text), with its length and Content-Type. Returns the HTTP status
 * (200), 404 with *text = NULL if the path is not ours, or -1 on failure. */
int cgc_http_render(const char *url, char **text, size_t *len, const char **content_type);

/* For applications that already run libmicrohttpd: answers url on their
 * connection (GET/HEAD only; 405 otherwise). Returns the MHD result of
 * queueing the response, or -1 if url is not one of ours (then the
 * application answers it). Declared with an incomplete struct so that this
 * header does not need microhttpd.h. */
struct MHD_Connection;
int cgc_http_respond(struct MHD_Connection *connection, const char *url, const char *method);

/* Worst-case sizes of the two bodies, in bytes (the fixed buffers). */
size_t cgc_http_vars_capacity(void);
size_t cgc_http_metrics_capacity(void);

/* Referenced by the link options of the cgc_http target so the static
 * archive's CGC_DEBUG_ADDR constructor is always linked in. */
extern const int cgc_http_autostart;

#ifdef __cplusplus
}
#endif
#endif /* CGC_HTTP_H */
