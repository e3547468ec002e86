// Command go-shop is the Go twin of the cgc demo shop service
// (examples/service): the same endpoints over the same SQLite data, so the
// demo compares Go's collector and cgc on the same work.
//
// Configuration is the environment only: PORT, HOST, DB_PATH, DEMO_ORDERS,
// LOG_REQUESTS, and Go's own GOGC and GOMEMLIMIT. SIGTERM or SIGINT stop
// it cleanly. /debug/vars is the standard expvar endpoint, plus "memlimit"
// (the soft limit in force; Go 1.19's memstats has no such field).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"expvar"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type server struct {
	db  *sql.DB
	log bool
}

func envInt(name string, def, lo, hi int) int {
	s, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		fmt.Fprintf(os.Stderr, "go-shop: invalid %s=%s (expected an integer in %d..%d)\n", name, s, lo, hi)
		os.Exit(2)
	}
	return v
}

func envStr(name, def string) string {
	if s := os.Getenv(name); s != "" {
		return s
	}
	return def
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = 500, []byte(`{"error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// intParam: a query parameter as an int in [1, max]; def when absent; -1
// when present but anything else (the same rule as router.c).
func intParam(r *http.Request, name string, def, max int) int {
	vals, ok := r.URL.Query()[name]
	if !ok {
		return def
	}
	s := vals[0]
	if s == "" || strings.TrimLeft(s, "0123456789") != "" || len(s) > 9 {
		return -1
	}
	v, _ := strconv.Atoi(s)
	if v < 1 || v > max {
		return -1
	}
	return v
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{w, 200}
	s.route(sw, r)
	if s.log {
		log.Printf("%s %s %d %.2fms", r.Method, r.URL.Path, sw.status, float64(time.Since(start))/1e6)
	}
}

func (s *server) route(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/orders" {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeError(w, 405, "method not allowed")
			return
		}
		s.createOrder(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeError(w, 405, "method not allowed")
		return
	}
	var v any
	var err error
	switch {
	case path == "/healthz":
		v = map[string]string{"status": "ok"}
	case path == "/products":
		page, per := intParam(r, "page", 1, 1000000), intParam(r, "per_page", 20, 100)
		if page < 0 || per < 0 {
			writeError(w, 400, "page must be 1..1000000 and per_page 1..100")
			return
		}
		v, err = listProducts(s.db, page, per)
	case path == "/products/search":
		q := r.URL.Query().Get("q")
		limit := intParam(r, "limit", 20, 100)
		if q == "" || len(q) > 100 || limit < 0 {
			writeError(w, 400, "q must be 1..100 bytes and limit 1..100")
			return
		}
		v, err = searchProducts(s.db, q, limit)
	case strings.HasPrefix(path, "/products/"):
		idText := path[len("/products/"):]
		id, perr := strconv.ParseInt(idText, 10, 64)
		if perr != nil || idText == "" || strings.TrimLeft(idText, "0123456789") != "" || id > 100000000000 {
			writeError(w, 400, "product id must be a positive integer")
			return
		}
		v, err = getProduct(s.db, id)
	case path == "/report":
		v, err = report(s.db)
	case path == "/debug/vars":
		expvar.Handler().ServeHTTP(w, r)
		return
	default:
		writeError(w, 404, "no such endpoint")
		return
	}
	switch {
	case err == errNotFound:
		writeError(w, 404, "not found")
	case err != nil:
		log.Printf("go-shop: %v", err)
		writeError(w, 500, "internal error")
	default:
		writeJSON(w, 200, v)
	}
}

func (s *server) createOrder(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 65537))
	if err != nil {
		writeError(w, 400, "cannot read body")
		return
	}
	if len(body) > 65536 {
		writeError(w, 413, "request body larger than 64 KiB")
		return
	}
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		writeError(w, 400, "malformed JSON body")
		return
	}
	get := func(key string, lo, hi int64) (int64, bool) {
		var v int64
		raw, ok := req[key]
		if !ok || json.Unmarshal(raw, &v) != nil || v < lo || v > hi {
			return 0, false
		}
		return v, true
	}
	cust, ok1 := get("customer_id", 1, 1<<62)
	prod, ok2 := get("product_id", 1, 1<<62)
	qty, ok3 := get("quantity", 1, 100)
	if !ok1 || !ok2 || !ok3 {
		writeError(w, 400, `expected {"customer_id": int>0, "product_id": int>0, "quantity": 1..100}`)
		return
	}
	o, err := createOrder(s.db, cust, prod, qty)
	switch {
	case err == errUnknownRef:
		writeError(w, 422, "unknown customer or product")
	case err != nil:
		log.Printf("go-shop: %v", err)
		writeError(w, 500, "database error")
	default:
		writeJSON(w, 201, o)
	}
}

func main() {
	host := envStr("HOST", "127.0.0.1")
	port := envInt("PORT", 8080, 1, 65535)
	dbPath := envStr("DB_PATH", "shop.db")
	orders := envInt("DEMO_ORDERS", 60000, 12, 10000000)
	s := &server{log: envInt("LOG_REQUESTS", 0, 0, 1) == 1}

	expvar.Publish("memlimit", expvar.Func(func() any { return debug.SetMemoryLimit(-1) }))
	db, err := openDB(dbPath)
	if err == nil {
		err = seed(db, orders)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-shop: database %s: %v\n", dbPath, err)
		os.Exit(1)
	}
	s.db = db

	addr := fmt.Sprintf("%s:%d", host, port)
	srv := &http.Server{Addr: addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		fmt.Fprintln(os.Stderr, "go-shop: shutting down")
		shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	fmt.Fprintf(os.Stderr, "go-shop: listening on http://%s (db %s)\n", addr, dbPath)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "go-shop: %v\n", err)
		os.Exit(1)
	}
	<-drained // Shutdown returns once in-flight requests have finished
	db.Close()
}
