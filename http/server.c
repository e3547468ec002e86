/* server.c — the HTTP side of cgc_http on libmicrohttpd: a daemon on one
 * internal polling thread (epoll/poll), loopback unless told otherwise,
 * answering GET and HEAD of /debug/vars and /metrics and nothing else.
 *
 * Hostile or broken clients must never crash or block the service, so:
 *   - MHD parses HTTP (no hand-written parser); a malformed request line or
 *     header gets MHD's own 400 (505 for an unsupported version), headers
 *     over the per-connection memory limit get 431/413 and the connection
 *     is closed; a first line without a space after a method (one word)
 *     MHD 0.9.75 cannot parse at all: it closes at once, unanswered, and
 *     has no option to answer 400 (docs/observability.md);
 *   - every connection may use at most CONN_MEMORY bytes, idles out after
 *     CONN_TIMEOUT seconds, and at most CONN_LIMIT connections are open at
 *     once; since MHD's timeout counts inactivity only, a client that
 *     trickles bytes is cut off by the whole-request deadline of
 *     deadline.c instead, so slow clients cannot hold every connection;
 *   - bound to a non-loopback address, one client address may hold at
 *     most PER_IP_LIMIT connections;
 *   - one polling thread serves all connections without blocking on any of
 *     them, so a slow client does not delay the others;
 *   - a request with a body is refused (413) before the body is read;
 *   - each body is rendered into a buffer allocated once, at start, with the
 *     worst-case size of its document: no allocation proportional to the
 *     request, and no truncated document.
 *
 * fork: threads do not survive it, so in a child the daemon is gone. The
 * child handler (pthread_atfork) forgets it, closes the child's copies of
 * its sockets (the parent keeps serving on its own) and, if the endpoint
 * was started by CGC_DEBUG_ADDR, starts a takeover thread that binds the
 * same address once it is free: a daemon that forks and lets its parent
 * exit keeps its endpoint. cgc_http_restart() starts it again by hand. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cgc_http.h"
#include "deadline.h"
#include "internal.h"

#define CONN_MEMORY  (32 * 1024) /* bytes per connection: request line, headers, MHD bookkeeping */
#define CONN_TIMEOUT 5           /* seconds of inactivity before a connection is closed */
#define CONN_LIMIT   CGC__HTTP_MAX_CONNECTIONS /* simultaneous connections; at the limit MHD stops
                                                 * accepting (new clients wait in the backlog) */
#define PER_IP_LIMIT 32          /* connections from one address, when not bound to loopback */

#define TYPE_JSON    "application/json; charset=utf-8"
#define TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static struct MHD_Daemon *daemon_;
static int port_ = -1;
/* The daemon's listening and epoll descriptors, closed in a forked child. */
static int listen_fd_ = -1, epoll_fd_ = -1;
/* The address of the last successful start (for cgc_http_restart and the
 * takeover after fork), and whether CGC_DEBUG_ADDR started it. */
static char last_addr_[512];
static int auto_started_;
/* A forked child's takeover thread waits for the address; its generation,
 * so that one cancelled (and maybe replaced by another) stops. */
static int takeover_pending_;
static unsigned takeover_gen_;
/* The daemon's buffers: used only by its single polling thread. */
static char *vars_mem, *metrics_mem;
static size_t vars_cap, metrics_cap;

/* Which of our documents url names: 1 vars, 2 metrics, 0 neither. */
static int which(const char *url)
{
    if (!url)
        return 0;
    if (strcmp(url, "/debug/vars") == 0)
        return 1;
    if (strcmp(url, "/metrics") == 0)
        return 2;
    return 0;
}

/* Renders document w into mem (capacity cap); returns its length or -1. */
static long render(int w, char *mem, size_t cap)
{
    cgc__buf b = {mem, 0, cap, 0};
    int r = w == 1 ? cgc__http_render_vars(&b) : cgc__http_render_metrics(&b);
    return r == 0 && !b.overflow ? (long)b.len : -1;
}

int cgc_http_render(const char *url, char **text, size_t *len, const char **content_type)
{
    int w = which(url);
    *text = NULL;
    *len = 0;
    if (!w)
        return 404;
    size_t cap = w == 1 ? cgc_http_vars_capacity() : cgc_http_metrics_capacity();
    char *mem = malloc(cap);
    if (!mem)
        return -1;
    long n = render(w, mem, cap);
    if (n < 0) {
        free(mem);
        return -1;
    }
    *text = mem;
    *len = (size_t)n;
    if (content_type)
        *content_type = w == 1 ? TYPE_JSON : TYPE_METRICS;
    return 200;
}

/* Queues a short fixed text answer (errors), with extra header if given. */
static mhd_result answer_text(struct MHD_Connection *c, unsigned status, const char *text, const char *hname,
                              const char *hvalue)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (hname)
        MHD_add_response_header(r, hname, hvalue);
    mhd_result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Checks method and body; queues the error answer and returns 1 if the
 * request is refused, 0 if it may be served. */
static int refuse(struct MHD_Connection *c, const char *method, mhd_result *ret)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        *ret = answer_text(c, 405, "method not allowed: GET or HEAD only\n", MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        return 1;
    }
    /* GET has no meaningful body; refusing one here means its bytes are
     * never read (MHD closes the connection after this answer). */
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te || (cl && strspn(cl, "0") != strlen(cl))) {
        *ret = answer_text(c, 413, "request body not accepted\n", NULL, NULL);
        return 1;
    }
    return 0;
}

/* Queues a rendered document (len bytes at mem, copied or handed over). */
static mhd_result answer_doc(struct MHD_Connection *c, int w, char *mem, long len, enum MHD_ResponseMemoryMode mode)
{
    if (len < 0)
        return answer_text(c, 500, "statistics did not fit the response buffer\n", NULL, NULL);
    struct MHD_Response *r = MHD_create_response_from_buffer((size_t)len, mem, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, w == 1 ? TYPE_JSON : TYPE_METRICS);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    mhd_result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

int cgc_http_respond(struct MHD_Connection *c, const char *url, const char *method)
{
    int w = which(url);
    if (!w)
        return -1;
    mhd_result ret;
    if (refuse(c, method, &ret))
        return (int)ret;
    /* The application's threads may call this concurrently: a buffer per
     * call, of the document's fixed worst-case size, freed by MHD. */
    size_t cap = w == 1 ? cgc_http_vars_capacity() : cgc_http_metrics_capacity();
    char *mem = malloc(cap);
    if (!mem)
        return (int)answer_text(c, 500, "out of memory\n", NULL, NULL);
    long n = render(w, mem, cap);
    if (n < 0) {
        free(mem);
        return (int)answer_text(c, 500, "statistics did not fit the response buffer\n", NULL, NULL);
    }
    return (int)answer_doc(c, w, mem, n, MHD_RESPMEM_MUST_FREE);
}

/* The daemon's request handler. Answers on the first call for every
 * request (before any body is read), so no per-request state is kept. */
static mhd_result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                         const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    mhd_result ret;
    /* RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400. */
    if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
        !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
        return answer_text(c, 400, "HTTP/1.1 request without Host\n", NULL, NULL);
    if (refuse(c, method, &ret))
        return ret;
    int w = which(url);
    if (!w)
        return answer_text(c, 404, "not found: /debug/vars and /metrics only\n", NULL, NULL);
    char *mem = w == 1 ? vars_mem : metrics_mem;
    long n = render(w, mem, w == 1 ? vars_cap : metrics_cap);
    return answer_doc(c, w, mem, n, MHD_RESPMEM_MUST_COPY);
}

/* MHD's unescape callback: leaves the URL as sent. Our two paths contain
 * nothing to unescape, and decoding would let "/debug/vars%00" reach us as
 * the C string "/debug/vars"; undecoded, anything escaped is simply 404. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

/* Parses "host:port", "[ipv6]:port" or ":port" into sa; the host is
 * numeric or a name resolved now (e.g. "localhost"), empty = 127.0.0.1.
 * Returns 0, or -1 (EINVAL) if malformed or unresolvable. */
static int parse_addr(const char *addr, struct sockaddr_storage *sa, socklen_t *salen)
{
    char host[256];
    const char *colon;
    if (!addr || !*addr)
        addr = "127.0.0.1:0";
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= sizeof host)
            return -1;
        memcpy(host, addr + 1, (size_t)(close - addr - 1));
        host[close - addr - 1] = 0;
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof host || memchr(addr, ':', (size_t)(colon - addr)))
            return -1;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = 0;
    }
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
        return -1;
    long port = strtol(p, NULL, 10);
    if (port > 65535)
        return -1;
    if (!host[0])
        strcpy(host, "127.0.0.1");
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    if (getaddrinfo(host, p, &hints, &res) != 0 || !res)
        return -1;
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Whether sa is a loopback address (127/8 or ::1, or v4-mapped 127/8). */
static int is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

static void install_fork_handlers(void);

/* Stops the daemon and waits for its thread; state_lock held. */
static void stop_locked(void)
{
    MHD_stop_daemon(daemon_);
    cgc__deadline_stop();
    daemon_ = NULL;
    port_ = -1;
    listen_fd_ = epoll_fd_ = -1;
    free(vars_mem), free(metrics_mem);
    vars_mem = metrics_mem = NULL;
}

/* Starts the daemon on addr; state_lock held. 0, or -1 with errno. */
static int start_locked(const char *addr)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    if (!addr || !*addr)
        addr = "127.0.0.1:0";
    if (strlen(addr) >= sizeof last_addr_ || parse_addr(addr, &sa, &salen) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (daemon_) {
        errno = EALREADY;
        return -1;
    }
    vars_cap = cgc_http_vars_capacity();
    metrics_cap = cgc_http_metrics_capacity();
    vars_mem = malloc(vars_cap);
    metrics_mem = malloc(metrics_cap);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* On loopback every client has the same address, so a per-address
     * limit would only lower CONN_LIMIT; elsewhere it keeps one host from
     * taking every connection. */
    unsigned per_ip = is_loopback(&sa) ? 0 : PER_IP_LIMIT;
    if (vars_mem && metrics_mem && cgc__deadline_start() == 0) {
        daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
                                   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT,
                                   MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
                                   MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                                   MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
                                   MHD_OPTION_NOTIFY_CONNECTION, cgc__deadline_notify, NULL,
                                   MHD_OPTION_NOTIFY_COMPLETED, cgc__deadline_completed, NULL,
                                   MHD_OPTION_END);
        if (!daemon_)
            cgc__deadline_stop();
    }
    if (!daemon_) {
        int e = errno ? errno : EADDRNOTAVAIL;
        free(vars_mem), free(metrics_mem);
        vars_mem = metrics_mem = NULL;
        errno = e;
        return -1;
    }
    /* The port actually bound (port 0 picks one): from the listening socket. */
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    port_ = -1;
    listen_fd_ = info ? info->listen_fd : -1;
    if (info && getsockname(info->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
        port_ = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    /* -1 unless MHD chose epoll. */
    info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
    epoll_fd_ = info ? info->epoll_fd : -1;
    /* cgc_http_restart passes last_addr_ itself: strcpy of a string onto
     * itself is undefined (ASan: strcpy-param-overlap in http_fork). */
    if (addr != last_addr_)
        strcpy(last_addr_, addr);
    auto_started_ = 0;
    return 0;
}

int cgc_http_start(const char *addr)
{
    install_fork_handlers();
    pthread_mutex_lock(&state_lock);
    takeover_pending_ = 0; /* an explicit start replaces a waiting takeover */
    int r = start_locked(addr);
    int e = errno;
    pthread_mutex_unlock(&state_lock);
    errno = e;
    return r;
}

/* CGC_DEBUG_ADDR's start (autostart.c): cgc_http_start, remembered as
 * automatic, so that a forked child takes the endpoint over. */
int cgc__http_start_auto(const char *addr)
{
    install_fork_handlers();
    pthread_mutex_lock(&state_lock);
    int r = start_locked(addr);
    int e = errno;
    if (r == 0)
        auto_started_ = 1;
    pthread_mutex_unlock(&state_lock);
    errno = e;
    return r;
}

int cgc_http_restart(void)
{
    pthread_mutex_lock(&state_lock);
    takeover_pending_ = 0;
    if (!last_addr_[0]) {
        pthread_mutex_unlock(&state_lock);
        errno = ENOENT;
        return -1;
    }
    int was_auto = auto_started_;
    if (daemon_)
        stop_locked();
    int r = start_locked(last_addr_);
    int e = errno;
    auto_started_ = was_auto; /* kept, so a later fork still takes over */
    pthread_mutex_unlock(&state_lock);
    errno = e;
    return r;
}

int cgc_http_port(void)
{
    pthread_mutex_lock(&state_lock);
    int p = daemon_ ? port_ : -1;
    pthread_mutex_unlock(&state_lock);
    return p;
}

void cgc_http_stop(void)
{
    pthread_mutex_lock(&state_lock);
    takeover_pending_ = 0;
    if (daemon_)
        stop_locked();
    pthread_mutex_unlock(&state_lock);
}

/* ---- fork ---------------------------------------------------------------- */

#define TAKEOVER_FIRST_MS 50   /* the child's first retry; the wait doubles ... */
#define TAKEOVER_MAX_MS   1000 /* ... up to this: it serves within about 1 s of the address coming free */

/* Whether addr can be bound now: 0, or -1 with errno (EADDRINUSE: the
 * parent still has it). A plain socket, bound with SO_REUSEADDR as MHD's
 * is, and closed. */
static int bindable(const char *addr)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    if (parse_addr(addr, &sa, &salen) != 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int r = bind(fd, (struct sockaddr *)&sa, salen);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* A forked child's takeover thread: waits until the address is free (the
 * parent exited or stopped its endpoint), then starts the endpoint there.
 * It gives up if the program starts, stops or restarts the endpoint itself
 * meanwhile, or if the address fails otherwise than by being in use. */
static void *takeover(void *arg)
{
    prctl(PR_SET_NAME, (unsigned long)"cgc-http-resume", 0, 0, 0);   /* for top -H and gdb */
    unsigned gen = (unsigned)(uintptr_t)arg;
    unsigned wait_ms = TAKEOVER_FIRST_MS;
    char addr[sizeof last_addr_];
    pthread_mutex_lock(&state_lock);
    strcpy(addr, last_addr_); /* the program may start elsewhere meanwhile */
    pthread_mutex_unlock(&state_lock);
    for (;;) {
        int r = bindable(addr), e = errno;
        pthread_mutex_lock(&state_lock);
        if (!takeover_pending_ || takeover_gen_ != gen || daemon_) {
            pthread_mutex_unlock(&state_lock);
            return NULL;
        }
        if (r == 0) {
            r = start_locked(addr);
            e = errno;
            if (r == 0)
                auto_started_ = 1;
        }
        if (r == 0 || e != EADDRINUSE) {
            takeover_pending_ = 0;
            pthread_mutex_unlock(&state_lock);
            if (r != 0)
                fprintf(stderr, "cgc: CGC_DEBUG_ADDR=\"%s\": cannot serve there after fork (%s); endpoint not started\n",
                        addr, strerror(e));
            return NULL;
        }
        pthread_mutex_unlock(&state_lock);
        struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        wait_ms = wait_ms * 2 > TAKEOVER_MAX_MS ? TAKEOVER_MAX_MS : wait_ms * 2;
    }
}

/* prepare holds state_lock (and the deadline table's lock) across fork, so
 * the child never sees a start or stop half done. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&state_lock);
    cgc__deadline_fork_prepare();
}

static void fork_parent(void)
{
    cgc__deadline_fork_parent();
    pthread_mutex_unlock(&state_lock);
}

/* In the child only the forking thread exists: the daemon's thread and the
 * reaper are gone. Their memory is abandoned (MHD_stop_daemon would wait
 * for threads that do not exist); their descriptors are closed, the
 * listening socket above all, so that the parent's port is free once the
 * parent lets it go. (MHD's internal wake-up descriptor is not reachable
 * through its API: the child keeps that one open.) */
static void fork_child(void)
{
    int was_serving = daemon_ != NULL;
    cgc__deadline_fork_child();
    if (daemon_) {
        if (listen_fd_ >= 0)
            close(listen_fd_);
        if (epoll_fd_ >= 0)
            close(epoll_fd_);
        daemon_ = NULL;
        port_ = -1;
        listen_fd_ = epoll_fd_ = -1;
        free(vars_mem), free(metrics_mem);
        vars_mem = metrics_mem = NULL;
    }
    /* CGC_DEBUG_ADDR's endpoint follows the process into the child, and
     * into a grandchild forked while the child's takeover still waits
     * (the classic double fork of a daemon). */
    int take = auto_started_ && (was_serving || takeover_pending_);
    takeover_pending_ = 0;
    if (take) {
        pthread_attr_t attr;
        pthread_t t;
        unsigned gen = ++takeover_gen_;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, takeover, (void *)(uintptr_t)gen) == 0)
            takeover_pending_ = 1;
        pthread_attr_destroy(&attr);
    }
    pthread_mutex_unlock(&state_lock);
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void register_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Registers the handlers once. Called by the start functions before they
 * take state_lock: fork runs the prepare handlers (which take it) holding
 * glibc's handler-list lock, which pthread_atfork takes too. */
static void install_fork_handlers(void)
{
    pthread_once(&fork_once, register_fork_handlers);
}
