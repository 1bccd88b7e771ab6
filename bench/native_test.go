package bench_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/bench"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

// TestNativeLoadsWhatTheAPIServes checks that the duckdb-native runs load
// the records the REST runs do, cycled the same way: the pipeline's users
// rows (and child rows) from the same pages, value for value, in DuckDB
// and in Parquet.
func TestNativeLoadsWhatTheAPIServes(t *testing.T) {
	const pool, pageSize = 1000, 250
	for _, tc := range []struct {
		shape bench.Shape
		rows  int
		files int
	}{
		{bench.Flat, 3000, 3},   // whole cycles: the pool file three times
		{bench.Nested, 2500, 3}, // a partial cycle in a file of its own
	} {
		t.Run(string(tc.shape), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			nd, err := bench.WriteNDJSON(dir, tc.rows, pool, tc.shape)
			if err != nil {
				t.Fatal(err)
			}
			if len(nd.Files) != tc.files || nd.Bytes == 0 {
				t.Fatalf("NDJSON files %v (%d bytes), want %d files", nd.Files, nd.Bytes, tc.files)
			}

			pages := bench.Pages(pool, pageSize, tc.shape)
			p, err := flow.NewPipeline("b", duckdb.New(filepath.Join(dir, "p.duckdb")), flow.PipelinesDir(dir), flow.DatasetName("bench"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Run(ctx, bench.PagesResource("users", pages, tc.rows/pageSize)); err != nil {
				t.Fatal(err)
			}
			want := nativeValues(t, filepath.Join(dir, "p.duckdb"), "bench.users", "address__city", "address__zip",
				"(SELECT count(*) FROM bench.users__orders)", tc.shape)

			native := filepath.Join(dir, "n.duckdb")
			n, err := bench.NativeDuckDB(ctx, native, nd.Files)
			if err != nil || n != int64(tc.rows) {
				t.Fatalf("NativeDuckDB loaded %d rows, err %v; want %d", n, err, tc.rows)
			}
			orders := "(SELECT sum(len(orders)) FROM %s)"
			if got := nativeValues(t, native, "users", "address.city", "address.zip", orders, tc.shape); got != want {
				t.Errorf("duckdb-native loaded\n%.300s\nthe pipeline\n%.300s", got, want)
			}

			pq := filepath.Join(dir, "n.parquet")
			n, err = bench.NativeParquet(ctx, pq, nd.Files)
			if err != nil || n != int64(tc.rows) {
				t.Fatalf("NativeParquet wrote %d rows, err %v; want %d", n, err, tc.rows)
			}
			if got := nativeValues(t, "", "'"+pq+"'", "address.city", "address.zip", orders, tc.shape); got != want {
				t.Errorf("duckdb-native-parquet wrote\n%.300s\nthe pipeline\n%.300s", got, want)
			}
		})
	}
}

// nativeValues renders the users rows of table in the DuckDB file at path
// (or an in-memory DuckDB), in a fixed order, and for nested records the
// child row count that children (a query, %s: table) gives.
func nativeValues(t *testing.T, path, table, city, zip, children string, shape bench.Shape) string {
	t.Helper()
	if path != "" {
		path += "?access_mode=read_only"
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := `SELECT count(*) || ':' || string_agg(concat_ws('|', id, name, email, age, score, active, epoch(created_at), country, ` +
		city + `, ` + zip + `), ';' ORDER BY id) FROM ` + table
	if shape == bench.Nested {
		q = `SELECT (` + q + `) || ' children ' || ` + strings.ReplaceAll(children, "%s", table)
	}
	var s string
	if err := db.QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}
