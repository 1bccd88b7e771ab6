package flow_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

// A resource of Go structs loads each field straight into its column: the
// columns come from the type, in field order, with the hints of the
// sluice tags; a float64 is double whatever its value, a nil pointer is
// null, a nested struct is flattened and a slice is a nested table.
func ExampleNewResourceOf() {
	type Line struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	type Customer struct {
		Name string `json:"name"`
	}
	type Order struct {
		ID       int64     `json:"id" sluice:",primary_key"`
		Total    float64   `json:"total" sluice:",data_type=decimal(10,2)"`
		PlacedAt time.Time `json:"placed_at"`
		Coupon   *string   `json:"coupon"`
		Customer Customer  `json:"customer"`
		Lines    []Line    `json:"lines"`
	}
	orders := flow.NewResourceOf("orders", func(ctx context.Context, yield func(...Order) error) error {
		return yield(
			Order{ID: 1, Total: 20, PlacedAt: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC), Customer: Customer{"Ann"},
				Lines: []Line{{"A-1", 2}, {"B-7", 1}}},
			Order{ID: 2, Total: 7.5, PlacedAt: time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC), Customer: Customer{"Bo"}},
		)
	}, flow.WriteDisposition(arrowbuf.Merge))

	dir, _ := os.MkdirTemp("", "sluice-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "shop.duckdb")
	p, _ := flow.NewPipeline("shop", duckdb.New(path), flow.PipelinesDir(dir), flow.DatasetName("shop"))
	if _, err := p.Run(context.Background(), orders); err != nil {
		fmt.Println(err)
		return
	}
	db, _ := sql.Open("duckdb", path)
	defer db.Close()
	for _, table := range []string{"orders", "orders__lines"} {
		rows, _ := db.Query(`SELECT column_name || ' ' || data_type || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END
			FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = ? AND column_name NOT LIKE '\_dlt%' ESCAPE '\'
			ORDER BY ordinal_position`, table)
		var cols []string
		for rows.Next() {
			var c string
			rows.Scan(&c)
			cols = append(cols, c)
		}
		rows.Close()
		fmt.Printf("%s: %s\n", table, strings.Join(cols, ", "))
	}
	// Output:
	// orders: id BIGINT NOT NULL, total DECIMAL(10,2), placed_at TIMESTAMP WITH TIME ZONE, coupon VARCHAR, customer__name VARCHAR
	// orders__lines: sku VARCHAR, qty BIGINT
}

// ColumnsOf gives a struct type's columns as hints for any resource, as
// dlt's columns=Model does.
func ExampleColumnsOf() {
	type User struct {
		ID    int64   `json:"id" sluice:",primary_key"`
		Score float64 `json:"score"`
		Email *string `json:"email" sluice:"contact_email"`
	}
	cols, err := flow.ColumnsOf[User]()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cols {
		fmt.Println(c.Name, c.DataType, c.PrimaryKey)
	}
	// Output:
	// id bigint true
	// score double false
	// contact_email text false
}
