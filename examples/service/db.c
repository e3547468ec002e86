/* db.c — the service's SQLite access: one connection per server thread,
 * and the queries behind list, search, fetch one and create.
 *
 * Handlers take a connection with svc_db() and give it back with
 * svc_db_release() (router.c does after each request; the report as soon
 * as its rows are loaded). Values read from SQLite are copied into collected memory (jansson's
 * allocator is cgc_malloc, see main.c) before the statement moves on, since
 * SQLite owns the text it returns only until the next step.
 */
#include "service.h"

#include <cgc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fixed pool of connections, opened at start-up, as database/sql keeps
 * one in Go: SQLite's memory then depends on the pool size, not on the
 * number of clients (libmicrohttpd runs a thread per client connection). */
static sqlite3 **pool;
static int pool_size, pool_free;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static __thread sqlite3 *held;   /* the connection this thread holds, if any */

/* SQLite's allocator: uncollectable cgc objects. SQLite frees explicitly,
 * so it needs no collection, but routing it through cgc puts its page
 * cache and statements under the soft limit: the limit then counts nearly
 * all of the service's memory (not thread stacks, libmicrohttpd's buffers,
 * code), which is what makes "soft limit = container limit" safe. The
 * objects are scanned like any uncollectable object; SQLite's few MiB add
 * little to a mark. Must run before SQLite initialises. */
static void *sq_malloc(int n) { return cgc_malloc_uncollectable((size_t)n); }
static void sq_free(void *p) { cgc_free(p); }
static void *sq_realloc(void *p, int n) { return cgc_realloc(p, (size_t)n); }
static int sq_size(void *p) { return (int)cgc_size(p); }
static int sq_roundup(int n) { return (n + 15) & ~15; }   /* cgc aligns every object to 16 */
static int sq_init(void *unused) { return SQLITE_OK; }
static void sq_shutdown(void *unused) {}

static int use_cgc_for_sqlite(void)
{
    static const sqlite3_mem_methods methods = {sq_malloc, sq_free, sq_realloc, sq_size,
                                                sq_roundup, sq_init, sq_shutdown, NULL};
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK ? 0 : -1;
}

/* Opens DB_PATH with settings chosen to keep SQLite's memory small and
 * bounded: a 256 KiB page cache, and reads through mmap of the file, whose
 * pages the kernel can drop under memory pressure. */
static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(svc_cfg.db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        fprintf(stderr, "shop: cannot open %s: %s\n", svc_cfg.db_path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_exec(db, "PRAGMA cache_size=-256; PRAGMA mmap_size=268435456;", NULL, NULL, NULL);
    return db;
}

sqlite3 *svc_db(void)
{
    if (held)
        return held;
    pthread_mutex_lock(&pool_lock);
    while (pool_free == 0)
        pthread_cond_wait(&pool_cv, &pool_lock);
    held = pool[--pool_free];
    pthread_mutex_unlock(&pool_lock);
    return held;
}

void svc_db_release(void)
{
    if (!held)
        return;
    pthread_mutex_lock(&pool_lock);
    pool[pool_free++] = held;
    held = NULL;
    pthread_cond_signal(&pool_cv);
    pthread_mutex_unlock(&pool_lock);
}

int svc_db_open_and_seed(void)
{
    if (use_cgc_for_sqlite() < 0) {
        fprintf(stderr, "shop: SQLite refused the cgc allocator\n");
        return -1;
    }
    pool_size = svc_cfg.db_connections;
    pool = cgc_malloc_uncollectable((size_t)pool_size * sizeof *pool);
    for (pool_free = 0; pool_free < pool_size; pool_free++)
        if (!(pool[pool_free] = open_db()))
            return -1;
    int rc = svc_seed(svc_db(), svc_cfg.orders);
    svc_db_release();
    return rc;
}

void svc_db_close(void)
{
    for (int i = 0; i < pool_free; i++)
        sqlite3_close_v2(pool[i]);
    pool_free = 0;
}

/* Prepares sql on the thread's connection; NULL (status 500) on failure. */
static sqlite3_stmt *prepare(const char *sql, int *status)
{
    sqlite3 *db = svc_db();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "shop: %s\n", sqlite3_errmsg(db));
        *status = 500;
        return NULL;
    }
    return st;
}

static json_t *text_col(sqlite3_stmt *st, int i)
{
    return json_stringn((const char *)sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
}

/* The product in the current row of a SELECT of PRODUCT_COLUMNS. */
#define PRODUCT_COLUMNS "id, sku, name, category, description, price_cents, stock"
static json_t *product_row(sqlite3_stmt *st)
{
    json_t *p = json_object();
    json_object_set_new(p, "id", json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(p, "sku", text_col(st, 1));
    json_object_set_new(p, "name", text_col(st, 2));
    json_object_set_new(p, "category", text_col(st, 3));
    json_object_set_new(p, "description", text_col(st, 4));
    json_object_set_new(p, "price_cents", json_integer(sqlite3_column_int64(st, 5)));
    json_object_set_new(p, "stock", json_integer(sqlite3_column_int64(st, 6)));
    return p;
}

#define ORDER_COLUMNS "id, customer_id, product_id, quantity, unit_price_cents, status, created"
static json_t *order_row(sqlite3_stmt *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(o, "customer_id", json_integer(sqlite3_column_int64(st, 1)));
    json_object_set_new(o, "product_id", json_integer(sqlite3_column_int64(st, 2)));
    json_object_set_new(o, "quantity", json_integer(sqlite3_column_int64(st, 3)));
    json_object_set_new(o, "unit_price_cents", json_integer(sqlite3_column_int64(st, 4)));
    json_object_set_new(o, "status", text_col(st, 5));
    json_object_set_new(o, "created", text_col(st, 6));
    return o;
}

/* Steps st to the end, appending fn(row) to a new array. */
static json_t *collect_rows(sqlite3_stmt *st, json_t *(*fn)(sqlite3_stmt *), int *status)
{
    json_t *items = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, fn(st));
    if (rc != SQLITE_DONE) {
        *status = 500;
        return NULL;
    }
    return items;
}

json_t *svc_list_products(int page, int per_page, int *status)
{
    sqlite3_stmt *st = prepare("SELECT count(*) FROM products", status);
    if (!st)
        return NULL;
    int64_t total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);

    st = prepare("SELECT " PRODUCT_COLUMNS " FROM products ORDER BY id LIMIT ? OFFSET ?", status);
    if (!st)
        return NULL;
    sqlite3_bind_int(st, 1, per_page);
    sqlite3_bind_int64(st, 2, (int64_t)(page - 1) * per_page);
    json_t *items = collect_rows(st, product_row, status);
    sqlite3_finalize(st);
    if (!items)
        return NULL;
    return json_pack("{s:i, s:i, s:I, s:o}", "page", page, "per_page", per_page, "total", (json_int_t)total,
                     "items", items);
}

json_t *svc_search_products(const char *q, int limit, int *status)
{
    /* LIKE pattern %q% with the wildcards in q escaped, so a search for
     * "50%" means the text "50%". Worst case every byte doubles. */
    size_t n = strlen(q);
    char *pat = cgc_malloc_atomic(2 * n + 3), *w = pat;
    *w++ = '%';
    for (const char *r = q; *r; r++) {
        if (*r == '%' || *r == '_' || *r == '\\')
            *w++ = '\\';
        *w++ = *r;
    }
    *w++ = '%';
    *w = 0;

    sqlite3_stmt *st = prepare("SELECT " PRODUCT_COLUMNS " FROM products WHERE name LIKE ?1 ESCAPE '\\'"
                               " OR description LIKE ?1 ESCAPE '\\' ORDER BY id LIMIT ?2",
                               status);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    json_t *items = collect_rows(st, product_row, status);
    sqlite3_finalize(st);
    if (!items)
        return NULL;
    return json_pack("{s:s, s:I, s:o}", "query", q, "count", (json_int_t)json_array_size(items), "items", items);
}

json_t *svc_get_product(int64_t id, int *status)
{
    sqlite3_stmt *st = prepare("SELECT " PRODUCT_COLUMNS " FROM products WHERE id = ?", status);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    json_t *p = sqlite3_step(st) == SQLITE_ROW ? product_row(st) : NULL;
    sqlite3_finalize(st);
    if (!p) {
        *status = 404;
        return NULL;
    }
    st = prepare("SELECT " ORDER_COLUMNS " FROM orders WHERE product_id = ? ORDER BY id DESC LIMIT 10", status);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    json_t *recent = collect_rows(st, order_row, status);
    sqlite3_finalize(st);
    if (!recent)
        return NULL;
    json_object_set_new(p, "recent_orders", recent);
    return p;
}

/* Runs a one-row query with one integer parameter; 1 if it returned a row,
 * with column 0 in *out (may be NULL). */
static int lookup(const char *sql, int64_t arg, int64_t *out, int *status)
{
    sqlite3_stmt *st = prepare(sql, status);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, arg);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found && out)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return found;
}

json_t *svc_create_order(int64_t customer_id, int64_t product_id, int quantity, int *status)
{
    sqlite3 *db = svc_db();
    /* IMMEDIATE takes the write lock now, so the price read and the insert
     * see the same product row; busy_timeout queues concurrent creators. */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        *status = 503;
        return NULL;
    }
    int64_t price = 0;
    int c = lookup("SELECT id FROM customers WHERE id = ?", customer_id, NULL, status);
    int p = c > 0 ? lookup("SELECT price_cents FROM products WHERE id = ?", product_id, &price, status) : c;
    json_t *order = NULL;
    if (c == 0 || p == 0)
        *status = 422;
    if (c > 0 && p > 0) {
        sqlite3_stmt *st = prepare("INSERT INTO orders(customer_id, product_id, quantity, unit_price_cents,"
                                   " status, created) VALUES(?, ?, ?, ?, 'paid', date('now'))"
                                   " RETURNING " ORDER_COLUMNS,
                                   status);
        if (st) {
            sqlite3_bind_int64(st, 1, customer_id);
            sqlite3_bind_int64(st, 2, product_id);
            sqlite3_bind_int(st, 3, quantity);
            sqlite3_bind_int64(st, 4, price);
            if (sqlite3_step(st) == SQLITE_ROW)
                order = order_row(st);
            else
                *status = 500;
            sqlite3_finalize(st);
        }
    }
    sqlite3_exec(db, order ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return order;
}
