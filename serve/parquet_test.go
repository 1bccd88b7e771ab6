package serve

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/parquet/parquetsql"
	"github.com/sluicehq/sluice/source"
)

// readerRows reads a table through a record reader as text rows.
func readerRows(t *testing.T, rr array.RecordReader) []string {
	t.Helper()
	defer rr.Release()
	var recs []arrow.RecordBatch
	for rr.Next() {
		r := rr.RecordBatch()
		r.Retain()
		recs = append(recs, r)
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	tbl := array.NewTableFromRecords(rr.Schema(), recs)
	for _, r := range recs {
		r.Release()
	}
	defer tbl.Release()
	return textRows(t, tbl)
}

// TestParquetDataset serves a Parquet dataset a pipeline loaded twice (a
// merge, so the first load's rows of merged keys are superseded): the
// server shows what the destination's own reader shows, and DuckDB reads
// no file outside the dataset's folder.
func TestParquetDataset(t *testing.T) {
	dir := t.TempDir()
	bucket := filepath.Join(dir, "bucket")
	dest := parquet.New(bucket, parquet.WithSQL(parquetsql.DuckDB()))
	p, err := flow.NewPipeline("blog", dest, flow.PipelinesDir(filepath.Join(dir, "pipelines")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, users := range [][]map[string]any{
		{{"id": 1, "name": "Ann", "tags": []any{"a"}}, {"id": 2, "name": "Bo", "tags": []any{"b", "c"}}, {"id": 3, "name": "Cy"}},
		{{"id": 2, "name": "Bob", "tags": []any{"d"}}, {"id": 4, "name": "Di"}},
	} {
		src := source.Slice("users", users, flow.WriteDisposition(arrowbuf.Merge), flow.PrimaryKey("id"))
		if _, err := p.Run(ctx, src); err != nil {
			t.Fatal(err)
		}
	}
	const dataset = "blog_dataset"
	srv := startServer(t, ParquetFiles(dest, filepath.Join(bucket, dataset), dataset), Options{})
	cl := newClient(t, srv.addr, "")

	for _, tc := range []struct{ query, reader string }{
		{"SELECT id, name FROM users ORDER BY id", ""},
		// The dataset is a schema too, as in a DuckDB file.
		{"SELECT u.name, t.value FROM blog_dataset.users u JOIN users__tags t ON t._dlt_parent_id = u._dlt_id ORDER BY 1, 2",
			"SELECT u.name, t.value FROM users u JOIN users__tags t ON t._dlt_parent_id = u._dlt_id ORDER BY 1, 2"},
		{"SELECT count(*) FROM _dlt_loads", ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			rq := tc.reader
			if rq == "" {
				rq = tc.query
			}
			rr, err := p.Dataset().Query(ctx, rq)
			if err != nil {
				t.Fatal(err)
			}
			want := readerRows(t, rr)
			tbl, err := cl.query(ctx, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Release()
			if got := textRows(t, tbl); !slices.Equal(got, want) || len(got) == 0 {
				t.Errorf("got %q, want the reader's %q", got, want)
			}
		})
	}

	t.Run("tables", func(t *testing.T) {
		info, err := cl.GetTables(ctx, &flightsql.GetTablesOpts{})
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := cl.fetch(ctx, info)
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Release()
		got := textRows(t, tbl)
		for _, w := range []string{"memory|blog_dataset|users|TABLE", "memory|blog_dataset|users__tags|TABLE"} {
			if !slices.Contains(got, w) {
				t.Errorf("GetTables %q lacks %q", got, w)
			}
		}
	})

	t.Run("no file outside the dataset", func(t *testing.T) {
		outside := filepath.Join(dir, "outside.csv")
		if err := os.WriteFile(outside, []byte("a\n1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"SELECT * FROM read_csv('" + outside + "')",
			"SELECT * FROM glob('" + bucket + "/*')",
			"COPY users TO '" + filepath.Join(bucket, dataset, "x.csv") + "'",
		} {
			if _, err := cl.query(ctx, q); status.Code(err) != codes.PermissionDenied {
				t.Errorf("%s: %v, want PermissionDenied", q, err)
			}
		}
	})
}
