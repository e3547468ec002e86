// db.go — SQLite access for the Go twin of the shop service (the queries of
// examples/service/db.c), through database/sql and mattn/go-sqlite3 linked
// against the system's libsqlite3.
package main

import (
	"database/sql"
	"errors"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Every connection gets the settings db.c gives its connections: a small
// page cache and mmap reads, to keep SQLite's own memory (outside Go's
// accounting, as it is outside cgc's) small and bounded.
func init() {
	sql.Register("sqlite3_shop", &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA cache_size=-256; PRAGMA mmap_size=268435456;", nil)
			return err
		},
	})
}

func openDB(path string) (*sql.DB, error) {
	// _txlock=immediate: Begin takes the write lock at once, as db.c's
	// BEGIN IMMEDIATE, so the price read and the insert agree.
	return sql.Open("sqlite3_shop", "file:"+path+"?_busy_timeout=5000&_txlock=immediate")
}

type Product struct {
	ID          int64    `json:"id"`
	SKU         string   `json:"sku"`
	Name        string   `json:"name"`
	Category    string   `json:"category"`
	Description string   `json:"description"`
	PriceCents  int64    `json:"price_cents"`
	Stock       int64    `json:"stock"`
	Recent      *[]Order `json:"recent_orders,omitempty"`
}

type Order struct {
	ID             int64  `json:"id"`
	CustomerID     int64  `json:"customer_id"`
	ProductID      int64  `json:"product_id"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
	Status         string `json:"status"`
	Created        string `json:"created"`
}

const productColumns = "id, sku, name, category, description, price_cents, stock"
const orderColumns = "id, customer_id, product_id, quantity, unit_price_cents, status, created"

type scanner interface{ Scan(...any) error }

func scanProduct(s scanner) (Product, error) {
	var p Product
	err := s.Scan(&p.ID, &p.SKU, &p.Name, &p.Category, &p.Description, &p.PriceCents, &p.Stock)
	return p, err
}

func scanOrder(s scanner) (Order, error) {
	var o Order
	err := s.Scan(&o.ID, &o.CustomerID, &o.ProductID, &o.Quantity, &o.UnitPriceCents, &o.Status, &o.Created)
	return o, err
}

func queryProducts(db *sql.DB, q string, args ...any) ([]Product, error) {
	rows, err := db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []Product{}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, p)
	}
	return items, rows.Err()
}

type ProductPage struct {
	Page    int       `json:"page"`
	PerPage int       `json:"per_page"`
	Total   int64     `json:"total"`
	Items   []Product `json:"items"`
}

func listProducts(db *sql.DB, page, perPage int) (*ProductPage, error) {
	res := &ProductPage{Page: page, PerPage: perPage}
	if err := db.QueryRow("SELECT count(*) FROM products").Scan(&res.Total); err != nil {
		return nil, err
	}
	var err error
	res.Items, err = queryProducts(db, "SELECT "+productColumns+" FROM products ORDER BY id LIMIT ? OFFSET ?",
		perPage, (page-1)*perPage)
	return res, err
}

type SearchResult struct {
	Query string    `json:"query"`
	Count int       `json:"count"`
	Items []Product `json:"items"`
}

func searchProducts(db *sql.DB, q string, limit int) (*SearchResult, error) {
	// %q% with the LIKE wildcards in q escaped, as db.c does.
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
	items, err := queryProducts(db, "SELECT "+productColumns+" FROM products WHERE name LIKE ?1 ESCAPE '\\'"+
		" OR description LIKE ?1 ESCAPE '\\' ORDER BY id LIMIT ?2", "%"+esc+"%", limit)
	if err != nil {
		return nil, err
	}
	return &SearchResult{Query: q, Count: len(items), Items: items}, nil
}

var errNotFound = errors.New("not found")
var errUnknownRef = errors.New("unknown customer or product")

func getProduct(db *sql.DB, id int64) (*Product, error) {
	p, err := scanProduct(db.QueryRow("SELECT "+productColumns+" FROM products WHERE id = ?", id))
	if err == sql.ErrNoRows {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	rows, err := db.Query("SELECT "+orderColumns+" FROM orders WHERE product_id = ? ORDER BY id DESC LIMIT 10", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	recent := []Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		recent = append(recent, o)
	}
	p.Recent = &recent
	return &p, rows.Err()
}

func createOrder(db *sql.DB, customerID, productID, quantity int64) (*Order, error) {
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var one, price int64
	if err := tx.QueryRow("SELECT id FROM customers WHERE id = ?", customerID).Scan(&one); err == sql.ErrNoRows {
		return nil, errUnknownRef
	} else if err != nil {
		return nil, err
	}
	if err := tx.QueryRow("SELECT price_cents FROM products WHERE id = ?", productID).Scan(&price); err == sql.ErrNoRows {
		return nil, errUnknownRef
	} else if err != nil {
		return nil, err
	}
	o, err := scanOrder(tx.QueryRow("INSERT INTO orders(customer_id, product_id, quantity, unit_price_cents,"+
		" status, created) VALUES(?, ?, ?, ?, 'paid', date('now')) RETURNING "+orderColumns,
		customerID, productID, quantity, price))
	if err != nil {
		return nil, err
	}
	return &o, tx.Commit()
}
