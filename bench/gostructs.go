package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/sluicehq/sluice/flow"
)

// Record is the benchmark's record as a Go struct: the fields of the JSON
// pages (appendRecord), the same values, the same 11 columns; Orders only
// for the nested shape.
type Record struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Age       int64     `json:"age"`
	Score     float64   `json:"score"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	Country   string    `json:"country"`
	Address   Address   `json:"address"`
	Orders    []Order   `json:"orders,omitempty"`
}

// Address is a Record's nested dict.
type Address struct {
	City string `json:"city"`
	Zip  string `json:"zip"`
}

// Order is one of a nested Record's children.
type Order struct {
	OrderID int64   `json:"order_id"`
	Amount  float64 `json:"amount"`
	SKU     string  `json:"sku"`
}

// Records returns n records of shape, as Go structs: record i holds the
// values of the pages' record i.
func Records(n int, shape Shape) []Record {
	out := make([]Record, n)
	for i := range out {
		r := &out[i]
		*r = Record{ID: int64(i), Name: fmt.Sprintf("user %d", i), Email: fmt.Sprintf("user%d@example.com", i),
			// The pages write the score with 4 decimals.
			Age: int64(18 + i%60), Score: math.Round(float64(i%1000)/7*1e4) / 1e4, Active: i%3 != 0,
			CreatedAt: base.Add(time.Duration(i) * time.Second), Country: countries[i%len(countries)],
			Address: Address{City: cities[i%len(cities)], Zip: fmt.Sprintf("%05d", i%100000)}}
		if shape == Nested {
			r.Orders = make([]Order, 5)
			for k := range r.Orders {
				r.Orders[k] = Order{OrderID: int64(i*5 + k), Amount: float64(k) + 0.5, SKU: fmt.Sprintf("SKU-%d", k)}
			}
		}
	}
	return out
}

// Maps returns the records as map[string]any, as a Go program that loads
// maps would hold them.
func Maps(recs []Record) []map[string]any {
	out := make([]map[string]any, len(recs))
	for i, r := range recs {
		m := map[string]any{"id": r.ID, "name": r.Name, "email": r.Email, "age": r.Age, "score": r.Score,
			"active": r.Active, "created_at": r.CreatedAt, "country": r.Country,
			"address": map[string]any{"city": r.Address.City, "zip": r.Address.Zip}}
		if r.Orders != nil {
			orders := make([]any, len(r.Orders))
			for k, o := range r.Orders {
				orders[k] = map[string]any{"order_id": o.OrderID, "amount": o.Amount, "sku": o.SKU}
			}
			m["orders"] = orders
		}
		out[i] = m
	}
	return out
}

// ItemsResource yields rows items in chunks of chunk, cycling through pool
// as the page runs cycle through their pages, as typed batches (as
// source.Slice yields them).
func ItemsResource[T any](name string, pool []T, rows, chunk int) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		for done := 0; done < rows; {
			start := done % len(pool)
			end := min(start+chunk, len(pool), start+rows-done)
			if err := yield(flow.TypedBatch(pool[start:end:end])); err != nil {
				return err
			}
			done += end - start
		}
		return nil
	})
}
