/* router.c — the HTTP side of the service: libmicrohttpd with one thread per
 * connection, request routing, input validation and JSON responses.
 *
 * Endpoints (the Go service has the same):
 *   GET  /products?page=N&per_page=M    list, paginated (per_page <= 100)
 *   GET  /products/search?q=T&limit=M   LIKE search on name and description
 *   GET  /products/{id}                 one product and its 10 latest orders
 *   POST /orders                        {"customer_id":..,"product_id":..,"quantity":..}
 *   GET  /report                        the large aggregate (report.c)
 *   GET  /healthz
 *   GET  /debug/vars, /metrics          the collector's statistics (cgc_http_respond)
 *
 * Threads: libmicrohttpd creates its threads itself, so each one registers
 * with cgc the first time it runs a handler (SPEC §3: a thread holding
 * pointers to collected objects must be registered); cgc unregisters it when
 * it exits. libmicrohttpd's own memory (its connection state, our request
 * state below) is system malloc, which the collector does not scan, so
 * nothing collected is ever stored there.
 */
#include "service.h"

#include <arpa/inet.h>
#include <cgc.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cgc_http.h>

#define MAX_BODY 65536

/* Per-request state, in malloc memory owned by libmicrohttpd's connection:
 * the request body as it arrives, and when the request started. */
typedef struct request {
    char *body;
    size_t len;
    int too_large;
    struct timespec start;
} request;

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* json_dump_callback sink: appends to an uncollectable cgc buffer. */
typedef struct text_buf {
    char *p;
    size_t len, cap;
} text_buf;

static int append_text(const char *s, size_t n, void *data)
{
    text_buf *b = data;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = cgc_realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

/* The response text goes into an *uncollectable* object because
 * libmicrohttpd keeps the pointer in its own (unscanned) memory until the
 * response is sent; it is freed by the response's free callback. Being cgc
 * memory, it still counts against the soft limit, as Go's buffers do. */
char *svc_json_text(json_t *v, size_t *len)
{
    text_buf b = {cgc_malloc_uncollectable(4096), 0, 4096};
    if (!b.p || json_dump_callback(v, append_text, &b, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
        cgc_free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static void free_text(void *p)
{
    cgc_free(p);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, int status, char *text, size_t len,
                                 const char *type, const char *allow)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, text, free_text);
    if (!resp) {
        cgc_free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, json_t *v, const char *allow)
{
    size_t len = 0;
    char *text = v ? svc_json_text(v, &len) : NULL;
    if (!text) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        text = cgc_malloc_uncollectable(sizeof oom);
        if (!text)
            return MHD_NO;
        memcpy(text, oom, sizeof oom);
        len = sizeof oom - 1;
        status = 500;
    }
    return send_text(conn, status, text, len, "application/json", allow);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *msg, const char *allow)
{
    return send_json(conn, status, json_pack("{s:s}", "error", msg), allow);
}

/* A query parameter as a positive int in [1, max]; def when absent;
 * -1 when present but anything else (so "10x", "-1", "" are rejected). */
static int int_param(struct MHD_Connection *conn, const char *name, int def, int max)
{
    const char *s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    if (!s)
        return def;
    long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    return v >= 1 ? (int)v : -1;
}

/* Reads a JSON integer member in [lo, hi]; 0 on success. */
static int int_member(json_t *obj, const char *key, json_int_t lo, json_int_t hi, json_int_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static enum MHD_Result create_order(struct MHD_Connection *conn, request *r)
{
    if (r->too_large)
        return send_error(conn, 413, "request body larger than 64 KiB", NULL);
    json_error_t err;
    json_t *body = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &err);
    json_int_t cust, prod, qty;
    if (!body)
        return send_error(conn, 400, "malformed JSON body", NULL);
    if (!json_is_object(body) || int_member(body, "customer_id", 1, INT64_MAX, &cust) ||
        int_member(body, "product_id", 1, INT64_MAX, &prod) || int_member(body, "quantity", 1, 100, &qty))
        return send_error(conn, 400, "expected {\"customer_id\": int>0, \"product_id\": int>0, \"quantity\": 1..100}",
                          NULL);
    int status = 201;
    json_t *order = svc_create_order(cust, prod, (int)qty, &status);
    if (!order)
        return send_error(conn, status, status == 422 ? "unknown customer or product" : "database error", NULL);
    return send_json(conn, 201, order, NULL);
}


/* Dispatches a complete request; returns the status sent through *status. */
static enum MHD_Result route(struct MHD_Connection *conn, const char *url, const char *method, request *r,
                             int *status)
{
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    json_t *v = NULL;
    *status = 200;

    /* The collector's own endpoints, answered by cgc_http on this server's
     * connection: one port for the service and its statistics. */
    if (strcmp(url, "/debug/vars") == 0 || strcmp(url, "/metrics") == 0) {
        int rc = cgc_http_respond(conn, url, method);
        if (rc >= 0)
            return (enum MHD_Result)rc;
    }

    if (strcmp(url, "/orders") == 0) {
        if (!post)
            return *status = 405, send_error(conn, 405, "method not allowed", "POST");
        enum MHD_Result rc = create_order(conn, r);
        return rc;
    }
    if (!get) {
        *status = 405;
        return send_error(conn, 405, "method not allowed", "GET");
    }
    if (strcmp(url, "/healthz") == 0) {
        v = json_pack("{s:s}", "status", "ok");
    } else if (strcmp(url, "/products") == 0) {
        int page = int_param(conn, "page", 1, 1000000), per = int_param(conn, "per_page", 20, 100);
        if (page < 0 || per < 0)
            return *status = 400, send_error(conn, 400, "page must be 1..1000000 and per_page 1..100", NULL);
        v = svc_list_products(page, per, status);
    } else if (strcmp(url, "/products/search") == 0) {
        const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "q");
        int limit = int_param(conn, "limit", 20, 100);
        if (!q || !*q || strlen(q) > 100 || limit < 0)
            return *status = 400, send_error(conn, 400, "q must be 1..100 bytes and limit 1..100", NULL);
        v = svc_search_products(q, limit, status);
    } else if (strncmp(url, "/products/", 10) == 0) {
        const char *s = url + 10;
        int64_t id = 0;
        int ok = *s != 0;
        for (; *s && ok; s++) {
            ok = *s >= '0' && *s <= '9' && id < 100000000000LL;
            id = id * 10 + (*s - '0');
        }
        if (!ok)
            return *status = 400, send_error(conn, 400, "product id must be a positive integer", NULL);
        v = svc_get_product(id, status);
    } else if (strcmp(url, "/report") == 0) {
        v = svc_report(status);
    } else {
        *status = 404;
        return send_error(conn, 404, "no such endpoint", NULL);
    }
    if (!v)
        return send_error(conn, *status, *status == 404 ? "not found" : "internal error", NULL);
    return send_json(conn, 200, v, NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    static __thread int registered;
    if (!registered) {
        cgc_register_thread();
        registered = 1;
    }
    request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large || r->len + n > MAX_BODY) {
            r->too_large = 1;
            return MHD_YES;
        }
        char *b = realloc(r->body, r->len + n + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + r->len, upload, n);
        r->body = b;
        r->len += n;
        r->body[r->len] = 0;
        return MHD_YES;
    }
    int status = 0;
    enum MHD_Result rc = route(conn, url, method, r, &status);
    svc_db_release();
    if (svc_cfg.log_requests)
        fprintf(stderr, "%s %s %d %.2fms\n", method, url, status, ms_since(&r->start));
    return rc;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    request *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

struct MHD_Daemon *svc_http_start(void)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)svc_cfg.port);
    if (inet_pton(AF_INET, svc_cfg.host, &addr.sin_addr) != 1) {
        fprintf(stderr, "shop: HOST=%s is not an IPv4 address\n", svc_cfg.host);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        (uint16_t)svc_cfg.port, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
    if (!d)
        fprintf(stderr, "shop: cannot listen on %s:%d\n", svc_cfg.host, svc_cfg.port);
    return d;
}
