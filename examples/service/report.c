/* report.c — GET /report: the request with a large transient working set.
 *
 * It does what a reporting endpoint of a real shop does, the simple way: it
 * copies every order and customer row into collected structs, aggregates
 * per customer, per product and per (category, month), sorts, and answers a
 * JSON document of some MiB. With the default data set one request holds
 * about 20 MiB of collected memory that becomes garbage the moment the
 * response is encoded; a few concurrent reports are what push a service's
 * memory towards its container limit. The Go service's report.go does the
 * same steps with the same rows.
 */
#include "service.h"

#include <cgc.h>
#include <stdlib.h>
#include <string.h>

typedef struct order_rec {
    int64_t id, customer_id, product_id, quantity, unit_price_cents;
    char *status, *created, *category;   /* collected copies */
} order_rec;

typedef struct customer_rec {
    int64_t id, orders, items, revenue_cents;
    char *name, *region;
    const char *first_order, *last_order;  /* point into order_rec.created */
} customer_rec;

typedef struct product_rec {
    int64_t id, units, revenue_cents;
    const char *category;
} product_rec;

/* A growable vector of pointers in collected memory. */
typedef struct vec {
    void **v;
    size_t n, cap;
} vec;

static void push(vec *a, void *p)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 1024;
        a->v = cgc_realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = p;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    return cgc_strndup((const char *)sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
}

/* Loads the customers into a table indexed by id. Returns the table
 * (entries may be NULL for gaps) and its length in *n, or NULL. */
static customer_rec **load_customers(size_t *n)
{
    sqlite3 *db = svc_db();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, name, region FROM customers ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    vec byid = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        customer_rec *c = cgc_malloc(sizeof *c);
        c->id = sqlite3_column_int64(st, 0);
        c->name = col_dup(st, 1);
        c->region = col_dup(st, 2);
        if (c->id < 0 || c->id > 100000000)
            continue;
        while (byid.n <= (size_t)c->id)
            push(&byid, NULL);
        byid.v[c->id] = c;
    }
    sqlite3_finalize(st);
    *n = byid.n;
    return (customer_rec **)byid.v;
}

static int load_orders(vec *orders)
{
    sqlite3 *db = svc_db();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                                  "SELECT o.id, o.customer_id, o.product_id, o.quantity, o.unit_price_cents,"
                                  " o.status, o.created, p.category FROM orders o JOIN products p"
                                  " ON p.id = o.product_id ORDER BY o.id",
                                  -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        order_rec *o = cgc_malloc(sizeof *o);
        o->id = sqlite3_column_int64(st, 0);
        o->customer_id = sqlite3_column_int64(st, 1);
        o->product_id = sqlite3_column_int64(st, 2);
        o->quantity = sqlite3_column_int64(st, 3);
        o->unit_price_cents = sqlite3_column_int64(st, 4);
        o->status = col_dup(st, 5);
        o->created = col_dup(st, 6);
        o->category = col_dup(st, 7);
        push(orders, o);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Sorts n pointers with cmp (a qsort comparator). Not qsort: glibc's qsort
 * merges through a temporary buffer from malloc, which the collector does
 * not scan, so for a moment the only reference to some object could sit in
 * unscanned memory while another thread triggers a collection. This merge
 * sort keeps its temporary array in collected (scanned) memory. */
static void sort_ptrs(void **v, size_t n, int (*cmp)(const void *, const void *))
{
    void **tmp = cgc_malloc(n * sizeof *tmp + 1);
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp(&v[j], &v[i]) < 0 ? v[j++] : v[i++];
            while (i < mid)
                tmp[k++] = v[i++];
            while (j < hi)
                tmp[k++] = v[j++];
        }
        memcpy(v, tmp, n * sizeof *v);
    }
}

/* Order by category, then month (the YYYY-MM prefix of the date), then id:
 * runs of equal (category, month) become the by_category_month rows. */
static int by_category_month(const void *a, const void *b)
{
    const order_rec *x = *(order_rec *const *)a, *y = *(order_rec *const *)b;
    int c = strcmp(x->category, y->category);
    if (!c)
        c = strncmp(x->created, y->created, 7);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* Revenue descending, id ascending: a total order, so C and Go agree. */
static int by_revenue_product(const void *a, const void *b)
{
    const product_rec *x = *(product_rec *const *)a, *y = *(product_rec *const *)b;
    if (x->revenue_cents != y->revenue_cents)
        return x->revenue_cents < y->revenue_cents ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

static int by_revenue_customer(const void *a, const void *b)
{
    const customer_rec *x = *(customer_rec *const *)a, *y = *(customer_rec *const *)b;
    if (x->revenue_cents != y->revenue_cents)
        return x->revenue_cents < y->revenue_cents ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

static json_t *category_months(vec *orders)
{
    sort_ptrs(orders->v, orders->n, by_category_month);
    json_t *rows = json_array();
    for (size_t i = 0; i < orders->n;) {
        order_rec *first = orders->v[i];
        int64_t count = 0, units = 0, revenue = 0;
        size_t j = i;
        for (; j < orders->n; j++) {
            order_rec *o = orders->v[j];
            if (strcmp(o->category, first->category) || strncmp(o->created, first->created, 7))
                break;
            count++;
            if (strcmp(o->status, "cancelled")) {
                units += o->quantity;
                revenue += o->quantity * o->unit_price_cents;
            }
        }
        json_array_append_new(rows, json_pack("{s:s, s:s%, s:I, s:I, s:I}", "category", first->category, "month",
                                              first->created, (size_t)7, "orders", (json_int_t)count, "units",
                                              (json_int_t)units, "revenue_cents", (json_int_t)revenue));
        i = j;
    }
    return rows;
}

json_t *svc_report(int *status)
{
    size_t ncust = 0;
    customer_rec **customers = load_customers(&ncust);
    vec orders = {0};
    int loaded = customers && load_orders(&orders) == 0;
    svc_db_release();   /* the rest is memory work: let others query */
    if (!loaded) {
        *status = 500;
        return NULL;
    }

    /* Per-customer and per-product totals; cancelled orders count as
     * orders but bring neither items nor revenue. */
    vec products = {0};
    int64_t revenue = 0;
    for (size_t i = 0; i < orders.n; i++) {
        order_rec *o = orders.v[i];
        while (products.n <= (size_t)o->product_id)
            push(&products, NULL);
        product_rec *p = products.v[o->product_id];
        if (!p) {
            p = cgc_malloc(sizeof *p);
            p->id = o->product_id;
            p->category = o->category;
            products.v[o->product_id] = p;
        }
        customer_rec *c = (size_t)o->customer_id < ncust ? customers[o->customer_id] : NULL;
        int live = strcmp(o->status, "cancelled") != 0;
        int64_t amount = live ? o->quantity * o->unit_price_cents : 0;
        revenue += amount;
        p->units += live ? o->quantity : 0;
        p->revenue_cents += amount;
        if (c) {
            c->orders++;
            c->items += live ? o->quantity : 0;
            c->revenue_cents += amount;
            if (!c->first_order || strcmp(o->created, c->first_order) < 0)
                c->first_order = o->created;
            if (!c->last_order || strcmp(o->created, c->last_order) > 0)
                c->last_order = o->created;
        }
    }

    json_t *cm = category_months(&orders);

    /* Drop the gaps, then rank. */
    size_t np = 0;
    for (size_t i = 0; i < products.n; i++)
        if (products.v[i])
            products.v[np++] = products.v[i];
    sort_ptrs(products.v, np, by_revenue_product);
    json_t *top = json_array();
    for (size_t i = 0; i < np && i < 100; i++) {
        product_rec *p = products.v[i];
        json_array_append_new(top, json_pack("{s:I, s:s, s:I, s:I}", "id", (json_int_t)p->id, "category",
                                             p->category, "units", (json_int_t)p->units, "revenue_cents",
                                             (json_int_t)p->revenue_cents));
    }

    size_t nc = 0;
    for (size_t i = 0; i < ncust; i++)
        if (customers[i] && customers[i]->orders)
            customers[nc++] = customers[i];
    sort_ptrs((void **)customers, nc, by_revenue_customer);
    json_t *cust = json_array();
    for (size_t i = 0; i < nc; i++) {
        customer_rec *c = customers[i];
        json_array_append_new(cust, json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "id", (json_int_t)c->id,
                                              "name", c->name, "region", c->region, "orders", (json_int_t)c->orders,
                                              "items", (json_int_t)c->items, "revenue_cents",
                                              (json_int_t)c->revenue_cents, "first_order", c->first_order,
                                              "last_order", c->last_order));
    }

    return json_pack("{s:I, s:I, s:o, s:o, s:o}", "orders", (json_int_t)orders.n, "revenue_cents",
                     (json_int_t)revenue, "by_category_month", cm, "top_products", top, "customers", cust);
}
