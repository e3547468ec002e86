// seed.go — the demo's data set, drawn from the same splitmix64 stream in
// the same order as examples/service/seed.c, so both services hold
// identical rows.
package main

import (
	"database/sql"
	"fmt"
	"strings"
	"time"
)

type rng struct{ state uint64 }

// next is splitmix64, as in seed.c.
func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below draws in [0, n); the modulo bias is irrelevant for test data.
func (r *rng) below(n int) int { return int(r.next() % uint64(n)) }

var (
	adjectives = []string{"Classic", "Compact", "Deluxe", "Durable", "Elegant", "Ergonomic", "Heavy", "Light",
		"Modern", "Portable", "Premium", "Rugged", "Sleek", "Smart", "Vintage", "Wireless"}
	nouns = []string{"Backpack", "Blender", "Chair", "Desk", "Drill", "Headphones", "Kettle", "Lamp",
		"Monitor", "Mug", "Notebook", "Router", "Speaker", "Tent", "Toaster", "Watch"}
	categories = []string{"books", "electronics", "garden", "home", "kitchen", "outdoor", "sports", "toys"}
	words      = []string{"reliable", "quality", "everyday", "designed", "for", "with", "and", "the",
		"durable", "finish", "steel", "cotton", "battery", "warranty", "compact", "storage",
		"travel", "office", "family", "gift", "easy", "clean", "fast", "quiet",
		"bright", "soft", "strong", "water", "resistant", "premium", "classic", "modern"}
	firstNames = []string{"Ada", "Alan", "Barbara", "Dennis", "Edsger", "Frances", "Grace", "Hedy",
		"John", "Ken", "Linus", "Margaret", "Niklaus", "Radia", "Rob", "Sophie"}
	lastNames = []string{"Allen", "Backus", "Cerf", "Dijkstra", "Engelbart", "Hamilton", "Hopper", "Kay",
		"Knuth", "Lamport", "Liskov", "Perlman", "Ritchie", "Thompson", "Torvalds", "Wirth"}
	regions  = []string{"north", "south", "east", "west", "central", "islands"}
	statuses = []string{"paid", "shipped", "delivered", "cancelled"}
)

const schema = `PRAGMA journal_mode=WAL;
CREATE TABLE products(id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL,
 category TEXT NOT NULL, description TEXT NOT NULL, price_cents INTEGER NOT NULL,
 stock INTEGER NOT NULL);
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
 region TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
 product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,
 unit_price_cents INTEGER NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL);
CREATE INDEX orders_by_product ON orders(product_id, id);`

func day(d int) string {
	return time.Date(2022, 1, 1+d, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
}

// seed creates the schema and fills it from the fixed seed unless the
// orders table already exists.
func seed(db *sql.DB, orders int) error {
	var have int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE name='orders'").Scan(&have); err != nil {
		return err
	}
	if have > 0 {
		return nil
	}
	nproducts, ncustomers := orders/12, orders/6
	if nproducts < 1 {
		return fmt.Errorf("DEMO_ORDERS=%d is too small (at least 12)", orders)
	}
	if _, err := db.Exec(schema); err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	r := &rng{state: 20240601} // the fixed seed; seed.c uses the same
	price := make([]int, nproducts+1)

	ins, err := tx.Prepare("INSERT INTO products VALUES(?,?,?,?,?,?,?)")
	if err != nil {
		return err
	}
	for id := 1; id <= nproducts; id++ {
		a, b, c := r.below(16), r.below(16), r.below(8)
		nwords := 12 + r.below(13)
		w := make([]string, nwords)
		for i := range w {
			w[i] = words[r.below(32)]
		}
		price[id] = 199 + r.below(49800)
		stock := r.below(500)
		if _, err := ins.Exec(id, fmt.Sprintf("SKU-%06d", id), fmt.Sprintf("%s %s %d", adjectives[a], nouns[b], id),
			categories[c], strings.Join(w, " "), price[id], stock); err != nil {
			return err
		}
	}
	ins.Close()

	if ins, err = tx.Prepare("INSERT INTO customers VALUES(?,?,?,?,?)"); err != nil {
		return err
	}
	for id := 1; id <= ncustomers; id++ {
		f, l, reg, d := r.below(16), r.below(16), r.below(6), r.below(730)
		if _, err := ins.Exec(id, firstNames[f]+" "+lastNames[l], fmt.Sprintf("customer%d@example.com", id),
			regions[reg], day(d)); err != nil {
			return err
		}
	}
	ins.Close()

	if ins, err = tx.Prepare("INSERT INTO orders VALUES(?,?,?,?,?,?,?)"); err != nil {
		return err
	}
	for id := 1; id <= orders; id++ {
		cust, prod := 1+r.below(ncustomers), 1+r.below(nproducts)
		qty, s, d := 1+r.below(5), r.below(4), r.below(730)
		if _, err := ins.Exec(id, cust, prod, qty, price[prod], statuses[s], day(d)); err != nil {
			return err
		}
	}
	ins.Close()
	return tx.Commit()
}
