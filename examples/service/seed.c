/* seed.c — the demo's data set: a shop's products, customers and orders,
 * generated from a fixed seed so that every run, and the Go service
 * (examples/go-service/seed.go, which draws the same numbers in the same
 * order), starts from identical rows.
 */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: tiny, well mixed, and trivially identical in Go. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A draw in [0, n); the modulo bias is irrelevant for test data. */
static int rng_below(int n)
{
    return (int)(rng_next() % (uint64_t)n);
}

static const char *const adjectives[16] = {
    "Classic", "Compact", "Deluxe", "Durable", "Elegant", "Ergonomic", "Heavy", "Light",
    "Modern", "Portable", "Premium", "Rugged", "Sleek", "Smart", "Vintage", "Wireless"};
static const char *const nouns[16] = {
    "Backpack", "Blender", "Chair", "Desk", "Drill", "Headphones", "Kettle", "Lamp",
    "Monitor", "Mug", "Notebook", "Router", "Speaker", "Tent", "Toaster", "Watch"};
static const char *const categories[8] = {
    "books", "electronics", "garden", "home", "kitchen", "outdoor", "sports", "toys"};
static const char *const words[32] = {
    "reliable", "quality", "everyday", "designed", "for", "with", "and", "the",
    "durable", "finish", "steel", "cotton", "battery", "warranty", "compact", "storage",
    "travel", "office", "family", "gift", "easy", "clean", "fast", "quiet",
    "bright", "soft", "strong", "water", "resistant", "premium", "classic", "modern"};
static const char *const first_names[16] = {
    "Ada", "Alan", "Barbara", "Dennis", "Edsger", "Frances", "Grace", "Hedy",
    "John", "Ken", "Linus", "Margaret", "Niklaus", "Radia", "Rob", "Sophie"};
static const char *const last_names[16] = {
    "Allen", "Backus", "Cerf", "Dijkstra", "Engelbart", "Hamilton", "Hopper", "Kay",
    "Knuth", "Lamport", "Liskov", "Perlman", "Ritchie", "Thompson", "Torvalds", "Wirth"};
static const char *const regions[6] = {"north", "south", "east", "west", "central", "islands"};
static const char *const statuses[4] = {"paid", "shipped", "delivered", "cancelled"};

/* Writes the date `days` after 2022-01-01 as YYYY-MM-DD. Hinnant's
 * days-to-civil algorithm: shift the year to start in March so the leap
 * day is last, then split into 400-year eras of 146097 days. */
static void format_day(int days, char out[11])
{
    long z = 18993 + days + 719468;  /* 18993 = days from 1970-01-01 to 2022-01-01 */
    long era = z / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    char buf[64];
    snprintf(buf, sizeof buf, "%04ld-%02ld-%02ld", y + (m <= 2), m, d);
    memcpy(out, buf, 10);
    out[10] = 0;
}

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE products(id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL,"
    " category TEXT NOT NULL, description TEXT NOT NULL, price_cents INTEGER NOT NULL,"
    " stock INTEGER NOT NULL);"
    "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,"
    " region TEXT NOT NULL, created TEXT NOT NULL);"
    "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),"
    " product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,"
    " unit_price_cents INTEGER NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL);"
    "CREATE INDEX orders_by_product ON orders(product_id, id);";

/* Runs one prepared insert with the bound values and resets it. */
static int step_reset(sqlite3 *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "shop: seeding: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

/* The product rows; their prices are kept because orders copy them. */
static int seed_products(sqlite3 *db, int n, int *price)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO products VALUES(?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = 0;
    for (int id = 1; id <= n && rc == 0; id++) {
        int a = rng_below(16), b = rng_below(16), c = rng_below(8);
        int nwords = 12 + rng_below(13);
        char desc[512], name[64], sku[16];
        size_t len = 0;
        for (int w = 0; w < nwords; w++)
            len += (size_t)snprintf(desc + len, sizeof desc - len, "%s%s", w ? " " : "", words[rng_below(32)]);
        price[id] = 199 + rng_below(49800);
        int stock = rng_below(500);
        snprintf(name, sizeof name, "%s %s %d", adjectives[a], nouns[b], id);
        snprintf(sku, sizeof sku, "SKU-%06d", id);
        sqlite3_bind_int(st, 1, id);
        sqlite3_bind_text(st, 2, sku, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, categories[c], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, desc, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 6, price[id]);
        sqlite3_bind_int(st, 7, stock);
        rc = step_reset(db, st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int seed_customers(sqlite3 *db, int n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO customers VALUES(?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = 0;
    for (int id = 1; id <= n && rc == 0; id++) {
        int f = rng_below(16), l = rng_below(16), r = rng_below(6), day = rng_below(730);
        char name[64], email[64], date[11];
        snprintf(name, sizeof name, "%s %s", first_names[f], last_names[l]);
        snprintf(email, sizeof email, "customer%d@example.com", id);
        format_day(day, date);
        sqlite3_bind_int(st, 1, id);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, email, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, regions[r], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, date, -1, SQLITE_TRANSIENT);
        rc = step_reset(db, st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int seed_orders(sqlite3 *db, int n, int ncustomers, int nproducts, const int *price)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO orders VALUES(?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = 0;
    for (int id = 1; id <= n && rc == 0; id++) {
        int cust = 1 + rng_below(ncustomers), prod = 1 + rng_below(nproducts);
        int qty = 1 + rng_below(5), s = rng_below(4), day = rng_below(730);
        char date[11];
        format_day(day, date);
        sqlite3_bind_int(st, 1, id);
        sqlite3_bind_int(st, 2, cust);
        sqlite3_bind_int(st, 3, prod);
        sqlite3_bind_int(st, 4, qty);
        sqlite3_bind_int(st, 5, price[prod]);
        sqlite3_bind_text(st, 6, statuses[s], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, date, -1, SQLITE_TRANSIENT);
        rc = step_reset(db, st);
    }
    sqlite3_finalize(st);
    return rc;
}

int svc_seed(sqlite3 *db, int orders)
{
    sqlite3_stmt *st;
    int have = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name='orders'", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            have = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (have)
        return 0;

    int nproducts = SVC_PRODUCTS(orders), ncustomers = SVC_CUSTOMERS(orders);
    if (nproducts < 1 || ncustomers < 1) {
        fprintf(stderr, "shop: DEMO_ORDERS=%d is too small (at least 12)\n", orders);
        return -1;
    }
    /* Seeding runs before the server starts; system memory, freed here. */
    int *price = calloc((size_t)nproducts + 1, sizeof *price);
    if (!price)
        return -1;
    rng_state = 20240601;  /* the fixed seed; seed.go uses the same */
    char *err = NULL;
    int rc = sqlite3_exec(db, schema, NULL, NULL, &err);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "BEGIN", NULL, NULL, &err);
    if (rc == SQLITE_OK)
        rc = seed_products(db, nproducts, price) || seed_customers(db, ncustomers) ||
             seed_orders(db, orders, ncustomers, nproducts, price);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &err);
    free(price);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "shop: seeding %s failed: %s\n", svc_cfg.db_path, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        return -1;
    }
    return 0;
}
