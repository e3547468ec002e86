// report.go — GET /report, the same steps as examples/service/report.c:
// copy every order and customer row into structs, aggregate per customer,
// per product and per (category, month), sort, encode some MiB of JSON.
// About 20 MiB of garbage per request with the default data set.
package main

import (
	"database/sql"
	"sort"
)

type orderRec struct {
	id, customerID, productID, quantity, unitPriceCents int64
	status, created, category                           string
}

type customerRec struct {
	id, orders, items, revenueCents int64
	name, region                    string
	firstOrder, lastOrder           string
}

type productRec struct {
	id, units, revenueCents int64
	category                string
}

type CategoryMonth struct {
	Category     string `json:"category"`
	Month        string `json:"month"`
	Orders       int64  `json:"orders"`
	Units        int64  `json:"units"`
	RevenueCents int64  `json:"revenue_cents"`
}

type TopProduct struct {
	ID           int64  `json:"id"`
	Category     string `json:"category"`
	Units        int64  `json:"units"`
	RevenueCents int64  `json:"revenue_cents"`
}

type CustomerLine struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Region       string `json:"region"`
	Orders       int64  `json:"orders"`
	Items        int64  `json:"items"`
	RevenueCents int64  `json:"revenue_cents"`
	FirstOrder   string `json:"first_order"`
	LastOrder    string `json:"last_order"`
}

type Report struct {
	Orders          int             `json:"orders"`
	RevenueCents    int64           `json:"revenue_cents"`
	ByCategoryMonth []CategoryMonth `json:"by_category_month"`
	TopProducts     []TopProduct    `json:"top_products"`
	Customers       []CustomerLine  `json:"customers"`
}

func loadCustomers(db *sql.DB) ([]*customerRec, error) {
	rows, err := db.Query("SELECT id, name, region FROM customers ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var byID []*customerRec
	for rows.Next() {
		c := &customerRec{}
		if err := rows.Scan(&c.id, &c.name, &c.region); err != nil {
			return nil, err
		}
		if c.id < 0 || c.id > 100000000 {
			continue
		}
		for int64(len(byID)) <= c.id {
			byID = append(byID, nil)
		}
		byID[c.id] = c
	}
	return byID, rows.Err()
}

func loadOrders(db *sql.DB) ([]*orderRec, error) {
	rows, err := db.Query("SELECT o.id, o.customer_id, o.product_id, o.quantity, o.unit_price_cents," +
		" o.status, o.created, p.category FROM orders o JOIN products p ON p.id = o.product_id ORDER BY o.id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var orders []*orderRec
	for rows.Next() {
		o := &orderRec{}
		if err := rows.Scan(&o.id, &o.customerID, &o.productID, &o.quantity, &o.unitPriceCents,
			&o.status, &o.created, &o.category); err != nil {
			return nil, err
		}
		orders = append(orders, o)
	}
	return orders, rows.Err()
}

func report(db *sql.DB) (*Report, error) {
	customers, err := loadCustomers(db)
	if err != nil {
		return nil, err
	}
	orders, err := loadOrders(db)
	if err != nil {
		return nil, err
	}
	rep := &Report{Orders: len(orders)}

	// Per-customer and per-product totals; cancelled orders count as
	// orders but bring neither items nor revenue.
	var products []*productRec
	for _, o := range orders {
		for int64(len(products)) <= o.productID {
			products = append(products, nil)
		}
		p := products[o.productID]
		if p == nil {
			p = &productRec{id: o.productID, category: o.category}
			products[o.productID] = p
		}
		live := o.status != "cancelled"
		var amount, units int64
		if live {
			amount, units = o.quantity*o.unitPriceCents, o.quantity
		}
		rep.RevenueCents += amount
		p.units += units
		p.revenueCents += amount
		if o.customerID >= 0 && o.customerID < int64(len(customers)) && customers[o.customerID] != nil {
			c := customers[o.customerID]
			c.orders++
			c.items += units
			c.revenueCents += amount
			if c.firstOrder == "" || o.created < c.firstOrder {
				c.firstOrder = o.created
			}
			if c.lastOrder == "" || o.created > c.lastOrder {
				c.lastOrder = o.created
			}
		}
	}

	// Runs of equal (category, month) after sorting by category, month, id.
	sort.Slice(orders, func(i, j int) bool {
		x, y := orders[i], orders[j]
		if x.category != y.category {
			return x.category < y.category
		}
		if x.created[:7] != y.created[:7] {
			return x.created[:7] < y.created[:7]
		}
		return x.id < y.id
	})
	rep.ByCategoryMonth = []CategoryMonth{}
	for i := 0; i < len(orders); {
		first := orders[i]
		row := CategoryMonth{Category: first.category, Month: first.created[:7]}
		j := i
		for ; j < len(orders); j++ {
			o := orders[j]
			if o.category != first.category || o.created[:7] != row.Month {
				break
			}
			row.Orders++
			if o.status != "cancelled" {
				row.Units += o.quantity
				row.RevenueCents += o.quantity * o.unitPriceCents
			}
		}
		rep.ByCategoryMonth = append(rep.ByCategoryMonth, row)
		i = j
	}

	// Revenue descending, id ascending: a total order, so C and Go agree.
	ranked := products[:0]
	for _, p := range products {
		if p != nil {
			ranked = append(ranked, p)
		}
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].revenueCents != ranked[j].revenueCents {
			return ranked[i].revenueCents > ranked[j].revenueCents
		}
		return ranked[i].id < ranked[j].id
	})
	rep.TopProducts = []TopProduct{}
	for i := 0; i < len(ranked) && i < 100; i++ {
		p := ranked[i]
		rep.TopProducts = append(rep.TopProducts, TopProduct{p.id, p.category, p.units, p.revenueCents})
	}

	active := customers[:0]
	for _, c := range customers {
		if c != nil && c.orders > 0 {
			active = append(active, c)
		}
	}
	sort.Slice(active, func(i, j int) bool {
		if active[i].revenueCents != active[j].revenueCents {
			return active[i].revenueCents > active[j].revenueCents
		}
		return active[i].id < active[j].id
	})
	rep.Customers = make([]CustomerLine, 0, len(active))
	for _, c := range active {
		rep.Customers = append(rep.Customers, CustomerLine{c.id, c.name, c.region, c.orders, c.items,
			c.revenueCents, c.firstOrder, c.lastOrder})
	}
	return rep, nil
}
