/* service.h — the demo shop service: a small HTTP/JSON service on cgc.
 *
 * Every object a request builds (rows copied out of SQLite, aggregates,
 * the jansson tree of the response) is collected memory: the service never
 * frees it by hand, the collector does, exactly as the Go reference service
 * (examples/go-service) leaves its garbage to Go's collector. The two serve
 * the same endpoints over the same SQLite data set, so the demo compares
 * the runtimes and not the programs.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* ---- configuration (environment only; main.c) --------------------------- */
typedef struct svc_config {
    const char *host;       /* HOST, default 127.0.0.1 */
    int port;               /* PORT, default 8080 */
    const char *db_path;    /* DB_PATH, default shop.db */
    int orders;             /* DEMO_ORDERS: rows in the seeded orders table */
    int log_requests;       /* LOG_REQUESTS=1: one line per request on stderr */
    int db_connections;     /* DB_CONNECTIONS: size of the SQLite connection pool, default 4 */
} svc_config;

extern svc_config svc_cfg;

/* ---- the data set (seed.c) ---------------------------------------------- */
/* Sizes derived from the number of orders, the same in the Go service. */
#define SVC_CUSTOMERS(orders) ((orders) / 6)
#define SVC_PRODUCTS(orders)  ((orders) / 12)

/* Creates the schema and fills it from a fixed seed unless already there.
 * Returns 0, or -1 with a message on stderr. */
int svc_seed(sqlite3 *db, int orders);

/* ---- database access (db.c) --------------------------------------------- */
/* A connection from the pool for the calling thread, waiting for one if
 * all are taken; the same one until svc_db_release(). */
sqlite3 *svc_db(void);
void svc_db_release(void);
int svc_db_open_and_seed(void);  /* at start-up, in the main thread */
void svc_db_close(void);         /* at shutdown, after the server stopped */

/* Each returns a new JSON value in collected memory or NULL with *status set
 * to the HTTP status to answer (404 not found, 422 unknown reference, 500). */
json_t *svc_list_products(int page, int per_page, int *status);
json_t *svc_search_products(const char *q, int limit, int *status);
json_t *svc_get_product(int64_t id, int *status);
json_t *svc_create_order(int64_t customer_id, int64_t product_id, int quantity, int *status);

/* ---- the report (report.c) ---------------------------------------------- */
json_t *svc_report(int *status);

/* ---- HTTP (router.c) ---------------------------------------------------- */
struct MHD_Daemon;
struct MHD_Daemon *svc_http_start(void);

/* Appends the JSON text of v to a growing uncollectable buffer (see
 * router.c for why uncollectable); returns it and its length in *len. */
char *svc_json_text(json_t *v, size_t *len);

#endif
