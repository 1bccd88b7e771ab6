package source_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/parquet/parquetsql"
	"github.com/sluicehq/sluice/source"
)

func TestImportFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id,name,ordered_at\n1,Ann,2024-01-02\n2,Bo,2024-01-03\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.csv"), []byte("id,name,ordered_at\n3,Cy,2024-01-04\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "e.jsonl"), []byte("{\"id\":1,\"kind\":\"x\"}\n{\"id\":2,\"kind\":\"y\"}\n"), 0o644)
	hints := flow.Columns(
		arrowbuf.Column{Name: "id", DataType: arrowbuf.TypeBigint, Nullable: true},
		arrowbuf.Column{Name: "name", DataType: arrowbuf.TypeText, Nullable: true},
		arrowbuf.Column{Name: "ordered_at", DataType: arrowbuf.TypeDate, Nullable: true},
	)
	dests := map[string]func() sink.Destination{
		"duckdb": func() sink.Destination { return duckdb.New(filepath.Join(t.TempDir(), "i.duckdb")) },
		"parquet": func() sink.Destination {
			return parquet.New(filepath.Join(t.TempDir(), "bucket"), parquet.WithSQL(parquetsql.DuckDB()))
		},
	}
	for name, mk := range dests {
		t.Run(name, func(t *testing.T) {
			p, err := flow.NewPipeline("imp", mk(), flow.PipelinesDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			src := flow.NewSource("files", []*flow.Resource{
				source.Import("orders", filepath.Join(dir, "*.csv"), "csv", hints),
				source.Import("events", filepath.Join(dir, "*.jsonl"), "jsonl"),
			})
			if _, err := p.Run(context.Background(), src); err != nil {
				t.Fatal(err)
			}
			counts, err := p.Dataset().RowCounts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if counts["orders"] != 3 || counts["events"] != 2 {
				t.Fatalf("counts %v", counts)
			}
			rr, err := p.Dataset().Query(context.Background(), "SELECT typeof(any_value(ordered_at)) AS t, max(id) AS m FROM orders")
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			rr.Next()
			rec := rr.RecordBatch()
			if got := rec.Column(0).ValueStr(0); got != "DATE" {
				t.Errorf("ordered_at loaded as %s, want DATE", got)
			}
			if got := rec.Column(1).ValueStr(0); got != "3" {
				t.Errorf("max(id) = %s", got)
			}
		})
	}
	_, err := flow.Collect(context.Background(), source.Import("none", filepath.Join(dir, "*.xml"), "csv"))
	if err == nil {
		t.Fatal("a pattern matching nothing gave no error")
	}
}
