package parquet_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// TestIcebergSuite runs the destination suite with every table an Iceberg
// table, on a local bucket and on versitygw, read back through the
// destination's reader (the current snapshots' data files).
func TestIcebergSuite(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sink.Destination {
			d := newDest(t.TempDir(), parquet.WithTableFormat(arrowbuf.Iceberg))
			t.Cleanup(func() { d.Close() })
			return d
		})
	})
	t.Run("versitygw", func(t *testing.T) {
		s := sinktest.Versitygw(t)
		s.CreateBucket(t, "lake")
		var n atomic.Int64
		sinktest.Run(t, func(t *testing.T) sink.Destination {
			d := newDest(fmt.Sprintf("s3://lake/run%d", n.Add(1)), parquet.WithCredentials(s3Creds(s)), parquet.WithTableFormat(arrowbuf.Iceberg))
			t.Cleanup(func() { d.Close() })
			return d
		})
	})
}

// lakeItems is a merge table keyed by id.
func lakeItems(format arrowbuf.TableFormat) *arrowbuf.Table {
	return &arrowbuf.Table{Name: "items", WriteDisposition: arrowbuf.Merge, TableFormat: format, Columns: []*arrowbuf.Column{
		{Name: "id", DataType: arrowbuf.TypeBigint, PrimaryKey: true},
		sinktest.Col("value", arrowbuf.TypeText),
		{Name: "_dlt_load_id", DataType: arrowbuf.TypeText},
		{Name: "_dlt_id", DataType: arrowbuf.TypeText, Unique: true, RowKey: true},
	}}
}

// TestIcebergLayout: a merge into an Iceberg table leaves the rewritten
// file's original in data/, which a glob over data/ would read; the
// destination's reader, iceberg-go's scan and read_parquet over the
// current snapshot's files all see the merged rows. The system files stay
// plain JSONL files, and an Iceberg and a native table share a dataset.
func TestIcebergLayout(t *testing.T) {
	ctx := context.Background()
	bucket := t.TempDir()
	d := newDest("file://" + bucket)
	defer d.Close()
	events := itemsTable(arrowbuf.Append) // native: the destination's default
	events.Name = "events"
	sinktest.Load(t, d, "ds", "1", commit("h1"),
		sinktest.Batch(t, lakeItems(arrowbuf.Iceberg), []any{1, "a", "1", "r1"}, []any{2, "b", "1", "r2"}),
		sinktest.Batch(t, events, []any{1, "1", "e1"}))
	sinktest.Load(t, d, "ds", "2", commit("h1"),
		sinktest.Batch(t, lakeItems(arrowbuf.Iceberg), []any{2, "B", "2", "r3"}, []any{3, "c", "2", "r4"}),
		sinktest.Batch(t, events, []any{2, "2", "e2"}))

	want := [][]any{{int64(1), "a"}, {int64(2), "B"}, {int64(3), "c"}}
	if got := sinktest.Rows(t, d, "ds", "SELECT id, value FROM items ORDER BY id"); !reflect.DeepEqual(got, want) {
		t.Errorf("reader: %v, want %v", got, want)
	}
	if got := sinktest.Rows(t, d, "ds", "SELECT count(*) FROM events"); got[0][0] != int64(2) {
		t.Errorf("native events: %v rows", got)
	}
	all := files(t, bucket)
	for _, f := range []string{"ds/items/metadata/v2.metadata.json", "ds/items/metadata/version-hint.text", "ds/_dlt_loads/test__2.jsonl"} {
		if !slices.Contains(all, f) {
			t.Errorf("no %s in %v", f, all)
		}
	}
	var data []string
	for _, f := range all {
		if strings.HasPrefix(f, "ds/items/data/") {
			data = append(data, filepath.Join(bucket, f))
		}
		if strings.HasPrefix(f, "ds/events/") && !strings.HasSuffix(f, ".parquet") && !strings.HasSuffix(f, "/init") {
			t.Errorf("native table with more than Parquet files: %s", f)
		}
	}

	// iceberg-go reads the table by path.
	hint, err := os.ReadFile(filepath.Join(bucket, "ds/items/metadata/version-hint.text"))
	if err != nil {
		t.Fatal(err)
	}
	loc := "file://" + filepath.Join(bucket, "ds/items/metadata", "v"+strings.TrimSpace(string(hint))+".metadata.json")
	tbl, err := table.NewFromLocation(ctx, table.Identifier{"ds", "items"}, loc, func(context.Context) (iceio.IO, error) { return iceio.LocalFS{}, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Metadata().Snapshots()); n != 2 {
		t.Errorf("%d snapshots, want one per load (2)", n)
	}
	at, err := tbl.Scan(table.WithSelectedFields("id", "value")).ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	if at.NumRows() != 3 {
		t.Errorf("iceberg-go scan: %d rows, want 3", at.NumRows())
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var snapFiles []string
	for _, task := range tasks {
		snapFiles = append(snapFiles, "'"+strings.TrimPrefix(task.File.FilePath(), "file://")+"'")
	}
	if len(snapFiles) >= len(data) {
		t.Errorf("the snapshot lists %d files of the %d in data/: the merge should have replaced one", len(snapFiles), len(data))
	}

	// DuckDB's read_parquet over the snapshot's files, and over a glob.
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids string
	if err := db.QueryRow("SELECT string_agg(id::VARCHAR || value, ',' ORDER BY id) FROM read_parquet([" + strings.Join(snapFiles, ",") + "], union_by_name = true)").Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if ids != "1a,2B,3c" {
		t.Errorf("read_parquet over the snapshot's files: %s, want 1a,2B,3c", ids)
	}
	var globbed int
	if err := db.QueryRow("SELECT count(*) FROM read_parquet('" + filepath.Join(bucket, "ds/items/data/*.parquet") + "')").Scan(&globbed); err != nil {
		t.Fatal(err)
	}
	if globbed == 3 {
		t.Errorf("a glob over data/ reads the snapshot's rows: the test shows nothing")
	}
}

// TestIcebergSettings: table_format and catalog reach the destination
// through Open's settings; delta and a REST catalog fail clearly; a SQL
// catalog holds every committed table.
func TestIcebergSettings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		options map[string]any
		hint    arrowbuf.TableFormat
		want    string
	}{
		{"delta default", map[string]any{"table_format": "delta"}, "", "table_format delta is not supported; use iceberg or native"},
		{"delta hint", nil, arrowbuf.Delta, "table items: table_format delta is not supported; use iceberg or native"},
		{"rest catalog", map[string]any{"table_format": "iceberg", "catalog": map[string]any{"type": "rest", "uri": "http://x"}}, "", "catalog type rest is not supported"},
		{"bad catalog key", map[string]any{"catalog": map[string]any{"type": "sql", "url": "x"}}, "", `catalog: unknown key "url"`},
		{"bad format", map[string]any{"table_format": 3}, "", "table_format: want a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parquet.Open(sink.Config{Location: t.TempDir(), Options: tc.options})
			if err == nil {
				defer d.(*parquet.Destination).Close()
				tbl := lakeItems(tc.hint)
				l, berr := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "1"})
				err = berr
				if berr == nil {
					err = l.Write(ctx, sinktest.Batch(t, tbl, []any{1, "a", "1", "r1"}))
					_ = l.Rollback()
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	t.Run("native hint", func(t *testing.T) {
		// An explicit native table stays plain Parquet under an Iceberg
		// default; a table without a format takes the default.
		bucket := t.TempDir()
		d := newDest(bucket, parquet.WithTableFormat(arrowbuf.Iceberg))
		defer d.Close()
		other := lakeItems("")
		other.Name = "other"
		sinktest.Load(t, d, "ds", "1", commit("h"), sinktest.Batch(t, lakeItems(arrowbuf.Native), []any{1, "a", "1", "r1"}),
			sinktest.Batch(t, other, []any{1, "a", "1", "r2"}))
		for table, want := range map[string]bool{"items": false, "other": true} {
			_, err := os.Stat(filepath.Join(bucket, "ds", table, "metadata"))
			if got := err == nil; got != want {
				t.Errorf("%s: Iceberg %v, want %v", table, got, want)
			}
		}
		if got := sinktest.Rows(t, d, "ds", "SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM other)"); got[0][0] != int64(2) {
			t.Errorf("rows %v, want 2", got)
		}
	})
	t.Run("sql catalog", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "catalog.db")
		d, err := parquet.Open(sink.Config{Location: filepath.Join(dir, "bucket"), Options: map[string]any{
			"table_format": "iceberg", "catalog": map[string]any{"type": "sql", "uri": "sqlite:///" + db}}})
		if err != nil {
			t.Fatal(err)
		}
		sinktest.Load(t, d, "ds", "1", commit("h1"), sinktest.Batch(t, lakeItems(""), []any{1, "a", "1", "r1"}))
		sinktest.Load(t, d, "ds", "2", commit("h1"), sinktest.Batch(t, lakeItems(""), []any{1, "b", "2", "r2"}))
		defer d.(*parquet.Destination).Close()
		cat, err := sql.Open("sqlite", db)
		if err != nil {
			t.Fatal(err)
		}
		defer cat.Close()
		var ns, name, loc string
		if err := cat.QueryRow("SELECT table_namespace, table_name, metadata_location FROM iceberg_tables").Scan(&ns, &name, &loc); err != nil {
			t.Fatal(err)
		}
		if ns != "ds" || name != "items" || !strings.HasSuffix(loc, "/ds/items/metadata/v2.metadata.json") {
			t.Errorf("catalog row %s.%s at %s", ns, name, loc)
		}
		// Dropping the dataset takes its tables out of the catalog.
		if err := d.(*parquet.Destination).DropDataset(ctx, "ds"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := cat.QueryRow("SELECT count(*) FROM iceberg_tables").Scan(&n); err != nil || n != 0 {
			t.Errorf("after DropDataset: %d catalog rows (%v)", n, err)
		}
	})
}

// commit is a commit with a schema document and state of hash.
func commit(hash string) sink.Commit {
	return sink.Commit{State: &sink.StoredState{Version: 1, PipelineName: "p", State: "{}", Hash: hash},
		SchemaJSON: []byte(`{"name":"test"}`), SchemaHash: hash}
}

// TestIcebergRewind: a load that committed one Iceberg table's snapshot
// and stopped before _dlt_loads (here: a panic after the snapshot, the
// load then rolled back as a killed process's would be dropped) is not
// seen by readers, and the next load's Begin takes its snapshot back, also
// when a native table sorts before the Iceberg one: the rows it loads
// again are there once.
func TestIcebergRewind(t *testing.T) {
	ctx := context.Background()
	bucket := t.TempDir()
	d := newDest(bucket)
	defer d.Close()
	native := itemsTable(arrowbuf.Append)
	native.Name = "a_native"
	items := lakeItems(arrowbuf.Iceberg)
	items.WriteDisposition = arrowbuf.Append
	load := func(id string, rows ...[]any) error {
		l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: id, SchemaName: "test"})
		if err != nil {
			return err
		}
		defer l.Rollback()
		if err := l.Write(ctx, sinktest.Batch(t, native, []any{1, id, "n" + id})); err != nil {
			return err
		}
		if err := l.Write(ctx, sinktest.Batch(t, items, rows...)); err != nil {
			return err
		}
		return l.Commit(ctx, commit("h"))
	}
	if err := load("1", []any{1, "a", "1", "r1"}); err != nil {
		t.Fatal(err)
	}
	func() {
		parquet.SetIcebergCommitHook(func(string) { panic("killed") })
		defer parquet.SetIcebergCommitHook(nil)
		defer func() { _ = recover() }()
		_ = load("2", []any{2, "b", "2", "r2"})
	}()
	if got := sinktest.Rows(t, d, "ds", "SELECT id FROM items ORDER BY id"); !reflect.DeepEqual(got, [][]any{{int64(1)}}) {
		t.Errorf("after the killed load: %v, want [[1]]", got)
	}
	if err := load("3", []any{2, "b", "3", "r3"}); err != nil {
		t.Fatal(err)
	}
	if got := sinktest.Rows(t, d, "ds", "SELECT id, _dlt_load_id FROM items ORDER BY id"); !reflect.DeepEqual(got, [][]any{{int64(1), "1"}, {int64(2), "3"}}) {
		t.Errorf("after the next load: %v, want rows 1 (load 1) and 2 (load 3) once", got)
	}
}
