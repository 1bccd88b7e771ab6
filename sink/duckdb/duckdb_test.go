package duckdb_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/sinktest"
	"github.com/valyala/fastjson"
)

func newDest(t *testing.T, opts ...duckdb.Option) *duckdb.Destination {
	// The file is named like the suite's dataset: names must stay unambiguous.
	return duckdb.New(filepath.Join(t.TempDir(), "suite_data.duckdb"), opts...)
}

func TestSuite(t *testing.T) {
	// By default a load stages every row and inserts at Commit.
	t.Run("staged", func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sink.Destination { return newDest(t) })
	})
	// Several staged files per table, inserted in one statement.
	t.Run("staged small files", func(t *testing.T) {
		defer duckdb.SetStageRows(duckdb.SetStageRows(2))
		sinktest.Run(t, func(t *testing.T) sink.Destination { return newDest(t) })
	})
	for _, m := range []duckdb.InsertMethod{duckdb.InsertParquet, duckdb.InsertScan, duckdb.InsertAppender} {
		t.Run("during extract "+m.String(), func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) sink.Destination {
				return newDest(t, duckdb.WithInsertMethod(m), duckdb.WithLoadDuringExtract())
			})
		})
	}
	// Staged files inserted mid-load, not only at commit.
	t.Run("during extract parquet small stages", func(t *testing.T) {
		defer duckdb.SetStageRows(duckdb.SetStageRows(2))
		sinktest.Run(t, func(t *testing.T) sink.Destination { return newDest(t, duckdb.WithLoadDuringExtract()) })
	})
}

func TestKindLocation(t *testing.T) {
	d := duckdb.New("rel.duckdb")
	if d.Kind() != "duckdb" {
		t.Errorf("Kind = %q", d.Kind())
	}
	if !filepath.IsAbs(d.Location()) || filepath.Base(d.Location()) != "rel.duckdb" {
		t.Errorf("Location = %q", d.Location())
	}
}

func rows(t *testing.T, d sink.Destination, dataset, q string) [][]any {
	t.Helper()
	return sinktest.Rows(t, d, dataset, q)
}

func TestColumnTypes(t *testing.T) {
	d := newDest(t)
	noTZ := false
	naive := sinktest.Col("naive", arrowbuf.TypeTimestamp)
	naive.Timezone = &noTZ
	dec := sinktest.Col("dec", arrowbuf.TypeDecimal)
	dec.Precision, dec.Scale = 10, 2
	scaled := sinktest.Col("ds", arrowbuf.TypeDecimal) // a scale alone keeps the default precision
	scaled.Scale = 2
	id := sinktest.Col("id", arrowbuf.TypeBigint)
	id.Nullable = false
	tb := &arrowbuf.Table{Name: "types", Columns: []*arrowbuf.Column{
		id, sinktest.Col("f", arrowbuf.TypeDouble), sinktest.Col("b", arrowbuf.TypeBool),
		sinktest.Col("s", arrowbuf.TypeText), sinktest.Col("ts", arrowbuf.TypeTimestamp), naive,
		sinktest.Col("d", arrowbuf.TypeDate), sinktest.Col("tm", arrowbuf.TypeTime), dec,
		sinktest.Col("dd", arrowbuf.TypeDecimal), scaled, sinktest.Col("j", arrowbuf.TypeJSON),
		sinktest.Col("bin", arrowbuf.TypeBinary), sinktest.Col("w", arrowbuf.TypeWei),
		{Name: "_dlt_load_id", DataType: arrowbuf.TypeText}, {Name: "_dlt_id", DataType: arrowbuf.TypeText},
	}}
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, tb))
	ext := tb.Clone()
	ext.Columns = append(ext.Columns, &arrowbuf.Column{Name: "later", DataType: arrowbuf.TypeBigint})
	sinktest.Load(t, d, "ds", "2", sink.Commit{}, sinktest.Batch(t, ext))
	got := rows(t, d, "ds", `SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = 'ds' AND table_name = 'types' ORDER BY ordinal_position`)
	want := [][]any{
		{"id", "BIGINT", "NO"}, {"f", "DOUBLE", "YES"}, {"b", "BOOLEAN", "YES"}, {"s", "VARCHAR", "YES"},
		{"ts", "TIMESTAMP WITH TIME ZONE", "YES"}, {"naive", "TIMESTAMP", "YES"}, {"d", "DATE", "YES"},
		{"tm", "TIME", "YES"}, {"dec", "DECIMAL(10,2)", "YES"}, {"dd", "DECIMAL(38,9)", "YES"},
		{"ds", "DECIMAL(38,2)", "YES"}, {"j", "JSON", "YES"}, {"bin", "BLOB", "YES"}, {"w", "DECIMAL(38,0)", "YES"},
		{"_dlt_load_id", "VARCHAR", "NO"}, {"_dlt_id", "VARCHAR", "NO"}, {"later", "BIGINT", "YES"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("columns:\n got %v\nwant %v", got, want)
	}
}

func TestSystemTables(t *testing.T) {
	d := newDest(t)
	st := &sink.StoredState{PipelineName: "p", Version: 1, EngineVersion: 4, State: "x", Hash: "h"}
	sinktest.Load(t, d, "ds", "1", sink.Commit{State: st, SchemaJSON: []byte("{}"), SchemaVersion: 1, SchemaHash: "sh"})
	got := rows(t, d, "ds", `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = 'ds' ORDER BY table_name, ordinal_position`)
	want := [][]any{
		{"_dlt_loads", "load_id", "VARCHAR", "NO"},
		{"_dlt_loads", "schema_name", "VARCHAR", "YES"},
		{"_dlt_loads", "status", "BIGINT", "NO"},
		{"_dlt_loads", "inserted_at", "TIMESTAMP WITH TIME ZONE", "NO"},
		{"_dlt_loads", "schema_version_hash", "VARCHAR", "YES"},
		{"_dlt_pipeline_state", "version", "BIGINT", "NO"},
		{"_dlt_pipeline_state", "engine_version", "BIGINT", "NO"},
		{"_dlt_pipeline_state", "pipeline_name", "VARCHAR", "NO"},
		{"_dlt_pipeline_state", "state", "VARCHAR", "NO"},
		{"_dlt_pipeline_state", "created_at", "TIMESTAMP WITH TIME ZONE", "NO"},
		{"_dlt_pipeline_state", "version_hash", "VARCHAR", "NO"},
		{"_dlt_pipeline_state", "_dlt_load_id", "VARCHAR", "NO"},
		{"_dlt_pipeline_state", "_dlt_id", "VARCHAR", "NO"},
		{"_dlt_version", "version", "BIGINT", "NO"},
		{"_dlt_version", "engine_version", "BIGINT", "NO"},
		{"_dlt_version", "inserted_at", "TIMESTAMP WITH TIME ZONE", "NO"},
		{"_dlt_version", "schema_name", "VARCHAR", "NO"},
		{"_dlt_version", "version_hash", "VARCHAR", "NO"},
		{"_dlt_version", "schema", "VARCHAR", "NO"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("system columns:\n got %v\nwant %v", got, want)
	}
	got = rows(t, d, "ds", `SELECT load_id, schema_name, status, schema_version_hash FROM _dlt_loads`)
	if !reflect.DeepEqual(got, [][]any{{"1", "test", int64(0), "sh"}}) {
		t.Errorf("_dlt_loads = %v", got)
	}
	got = rows(t, d, "ds", `SELECT _dlt_load_id, length(_dlt_id) FROM _dlt_pipeline_state`)
	if !reflect.DeepEqual(got, [][]any{{"1", int64(14)}}) {
		t.Errorf("_dlt_pipeline_state = %v", got)
	}
}

// TestCancelMidLoad cancels the load's context between writes: nothing of
// the load becomes visible.
func TestCancelMidLoad(t *testing.T) {
	d := newDest(t)
	tb := &arrowbuf.Table{Name: "c", Columns: []*arrowbuf.Column{sinktest.Col("id", arrowbuf.TypeBigint)}}
	ctx, cancel := context.WithCancel(context.Background())
	l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(ctx, sinktest.Batch(t, tb, []any{1})); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := l.Write(ctx, sinktest.Batch(t, tb, []any{2})); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel = %v, want context.Canceled", err)
	}
	if err := l.Commit(context.Background(), sink.Commit{}); err == nil {
		t.Error("Commit after a failed write succeeded")
	}
	if err := l.Rollback(); err != nil {
		t.Error(err)
	}
	r, err := d.OpenDataset(context.Background(), "ds")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ts, err := r.Tables(context.Background())
	if err != nil || len(ts) != 0 {
		t.Errorf("Tables = %v, %v; want none", ts, err)
	}
	ls, err := r.Loads(context.Background())
	if err != nil || len(ls) != 0 {
		t.Errorf("Loads = %v, %v; want none", ls, err)
	}
}

// TestReadWhileLoading reads the dataset in the same process while a load
// is open: the reader sees only committed rows.
func TestReadWhileLoading(t *testing.T) {
	d := newDest(t)
	tb := &arrowbuf.Table{Name: "c", Columns: []*arrowbuf.Column{sinktest.Col("id", arrowbuf.TypeBigint)}}
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, tb, []any{1}))
	ctx := context.Background()
	l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "2"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Rollback()
	if err := l.Write(ctx, sinktest.Batch(t, tb, []any{2})); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, d, "ds", "SELECT count(*) FROM c"); !reflect.DeepEqual(got, [][]any{{int64(1)}}) {
		t.Errorf("during load: %v", got)
	}
	if err := l.Commit(ctx, sink.Commit{}); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, d, "ds", "SELECT count(*) FROM c"); !reflect.DeepEqual(got, [][]any{{int64(2)}}) {
		t.Errorf("after commit: %v", got)
	}
}

func TestTableReader(t *testing.T) {
	d := newDest(t)
	tb := &arrowbuf.Table{Name: "tr", Columns: []*arrowbuf.Column{sinktest.Col("id", arrowbuf.TypeBigint), sinktest.Col("j", arrowbuf.TypeJSON)}}
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, tb, []any{1, `{"k":1}`}))
	ctx := context.Background()
	r, err := d.OpenDataset(ctx, "ds")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr, err := r.Table(ctx, "tr")
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if !rr.Next() {
		t.Fatal("no batch", rr.Err())
	}
	rec := rr.RecordBatch()
	if rec.NumRows() != 1 || rec.Schema().Field(1).Name != "j" || rec.Column(1).ValueStr(0) != `{"k":1}` {
		t.Errorf("record = %v", rec)
	}
	if dt, _ := rec.Schema().Field(1).Metadata.GetValue("dlt.data_type"); dt != "json" {
		t.Errorf("Table: JSON column metadata %v", rec.Schema().Field(1).Metadata)
	}
	if rr.Next() {
		t.Error("second batch")
	}
	if _, err := r.Table(ctx, "missing"); err == nil {
		t.Error("Table(missing) succeeded")
	}
	// Query keeps DuckDB's JSON type visible too.
	qr, err := r.Query(ctx, "SELECT j FROM tr")
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Release()
	if dt, _ := qr.Schema().Field(0).Metadata.GetValue("dlt.data_type"); dt != "json" || !qr.Next() || qr.RecordBatch().Column(0).ValueStr(0) != `{"k":1}` {
		t.Errorf("Query: JSON column %v, err %v", qr.Schema().Field(0), qr.Err())
	}
}

// A merge joins the whole load against its table at commit; the memory
// limit meant for streaming inserts must not make it fail.
func TestMergeAboveMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 200,000 rows twice")
	}
	dest := newDest(t, duckdb.WithMemoryLimit("16MB"))
	dir := t.TempDir()
	const n = 200_000
	var p *flow.Pipeline
	for run := range 2 {
		res := flow.NewResource("items", func(ctx context.Context, yield flow.Yield) error {
			batch := make([]any, 0, n)
			for i := range n {
				batch = append(batch, map[string]any{"id": i, "name": fmt.Sprintf("item %d run %d", i, run),
					"tags": []any{map[string]any{"t": "a"}, map[string]any{"t": "b"}}})
			}
			return yield(flow.ItemsBatch(batch...))
		}, flow.WriteDisposition(arrowbuf.Merge), flow.PrimaryKey("id"))
		var err error
		p, err = flow.NewPipeline("merge_limit", dest, flow.PipelinesDir(dir), flow.DatasetName("d"))
		if err != nil {
			t.Fatal(err)
		}
		info, err := p.Run(context.Background(), res)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if info.RowCounts["items"] != n || info.RowCounts["items__tags"] != 2*n {
			t.Fatalf("run %d: row counts %v", run, info.RowCounts)
		}
	}
	counts, err := p.Dataset().RowCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts["items"] != n || counts["items__tags"] != 2*n {
		t.Errorf("after two merges: %v, want %d items and %d tags", counts, n, 2*n)
	}
}

// DuckDB keeps a row group per thread in memory while it inserts, memory
// it cannot evict: rows wider than the memory limit allows must still load.
func TestWideRowsAboveMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 250,000 rows of 40 columns")
	}
	const rows, cols, batch = 250_000, 40, 25_000
	res := flow.NewResource("wide", func(ctx context.Context, yield flow.Yield) error {
		fields := make([]arrow.Field, cols)
		for c := range fields {
			fields[c] = arrow.Field{Name: fmt.Sprintf("c%d", c), Type: arrow.BinaryTypes.String}
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
		defer b.Release()
		for start := 0; start < rows; start += batch {
			for i := start; i < start+batch; i++ {
				for c := range cols {
					b.Field(c).(*array.StringBuilder).Append(strconv.Itoa(i*cols + c))
				}
			}
			if err := yield(flow.ArrowBatch(b.NewRecordBatch())); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		name string
		opts []duckdb.Option
	}{
		{"staged", nil},
		{"during extract parquet", []duckdb.Option{duckdb.WithLoadDuringExtract()}},
		{"during extract scan", []duckdb.Option{duckdb.WithLoadDuringExtract(), duckdb.WithInsertMethod(duckdb.InsertScan)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := newDest(t, append(tc.opts, duckdb.WithMemoryLimit("16MB"))...)
			p, err := flow.NewPipeline("wide", dest, flow.PipelinesDir(t.TempDir()), flow.DatasetName("d"))
			if err != nil {
				t.Fatal(err)
			}
			info, err := p.Run(context.Background(), res)
			if err != nil {
				t.Fatal(err)
			}
			if info.RowCounts["wide"] != rows {
				t.Errorf("row counts %v, want %d", info.RowCounts, rows)
			}
		})
	}
}

// TestLinkColumnCompression checks the compression named for the _dlt
// columns of a child table: random row ids stay uncompressed, parent links
// use a dictionary. With one child per parent every link is distinct, and
// DuckDB's own pick was FSST or none (a file 20% larger).
func TestLinkColumnCompression(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 300,000 child rows")
	}
	const parents = 300_000
	res := flow.NewResource("users", func(ctx context.Context, yield flow.Yield) error {
		items := make([]any, 0, 1000)
		for i := range parents {
			items = append(items, map[string]any{"id": i, "orders": []any{map[string]any{"n": 1}}})
			if len(items) == cap(items) {
				if err := yield(flow.ItemsBatch(items...)); err != nil {
					return err
				}
				items = items[:0]
			}
		}
		return nil
	})
	dest := newDest(t)
	p, err := flow.NewPipeline("links", dest, flow.PipelinesDir(t.TempDir()), flow.DatasetName("d"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background(), res); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows(t, dest, "d", `SELECT column_name, string_agg(DISTINCT compression, ',')
		FROM pragma_storage_info('d.users__orders') WHERE segment_type = 'VARCHAR' GROUP BY column_name`) {
		got[fmt.Sprint(r[0])] = fmt.Sprint(r[1])
	}
	want := map[string]string{"_dlt_id": "Uncompressed", "_dlt_parent_id": "Dictionary"}
	for col, c := range want {
		if got[col] != c {
			t.Errorf("%s stored with %q, want %q (all: %v)", col, got[col], c, got)
		}
	}
}

// TestReplaceAddsColumns: a replace table that gets new columns in a later
// load (DuckDB cannot alter a table it deleted from in the same
// transaction) keeps its old columns, gains the new ones and holds only
// the latest load's rows.
func TestReplaceAddsColumns(t *testing.T) {
	tests := []struct {
		name    string
		loads   [][][]any // per load, its batches of items
		table   string
		query   string
		want    [][]any
		columns string // the table's columns in order
	}{
		{
			name:  "new column",
			loads: [][][]any{{{map[string]any{"id": 1}}}, {{map[string]any{"id": 2, "newcol": "n"}}}},
			table: "t", query: "SELECT id, newcol FROM d.t", want: [][]any{{int64(2), "n"}},
			columns: "id,_dlt_load_id,_dlt_id,newcol",
		},
		{
			name:  "variant column",
			loads: [][][]any{{{map[string]any{"id": 1}}}, {{map[string]any{"id": "two"}}}},
			table: "t", query: "SELECT id, id__v_text FROM d.t", want: [][]any{{nil, "two"}},
			columns: "id,_dlt_load_id,_dlt_id,id__v_text",
		},
		{
			name: "new column in a later batch of the load",
			loads: [][][]any{{{map[string]any{"id": 1}}},
				{{map[string]any{"id": 2}}, {map[string]any{"id": 3, "b": true}}}},
			table: "t", query: "SELECT id, b FROM d.t ORDER BY id", want: [][]any{{int64(2), nil}, {int64(3), true}},
			columns: "id,_dlt_load_id,_dlt_id,b",
		},
		{
			name: "nested table",
			loads: [][][]any{{{map[string]any{"id": 1, "k": []any{map[string]any{"a": 1}}}}},
				{{map[string]any{"id": 2, "k": []any{map[string]any{"a": 2, "b": 3}}}}}},
			table: "t__k", query: "SELECT a, b FROM d.t__k", want: [][]any{{int64(2), int64(3)}},
			columns: "a,_dlt_parent_id,_dlt_list_idx,_dlt_id,b",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := duckdb.New(filepath.Join(dir, "r.duckdb"))
			for i, batches := range tc.loads {
				res := flow.NewResource("t", func(ctx context.Context, yield flow.Yield) error {
					for _, items := range batches {
						if err := yield(flow.ItemsBatch(items...)); err != nil {
							return err
						}
					}
					return nil
				}, flow.WriteDisposition(arrowbuf.Replace))
				p, err := flow.NewPipeline("evo", dest, flow.PipelinesDir(dir), flow.DatasetName("d"), flow.BatchRows(1))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.Run(context.Background(), res); err != nil {
					t.Fatalf("load %d: %v", i+1, err)
				}
			}
			if got := rows(t, dest, "d", tc.query); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rows = %v, want %v", got, tc.want)
			}
			got := rows(t, dest, "d", fmt.Sprintf(`SELECT string_agg(column_name, ',' ORDER BY column_index) FROM duckdb_columns()
				WHERE schema_name = 'd' AND table_name = '%s'`, tc.table))
			if fmt.Sprint(got[0][0]) != tc.columns {
				t.Errorf("columns = %v, want %s", got[0][0], tc.columns)
			}
			got = rows(t, dest, "d", fmt.Sprintf(`SELECT is_nullable FROM duckdb_columns()
				WHERE schema_name = 'd' AND table_name = '%s' AND column_name = '_dlt_id'`, tc.table))
			if got[0][0] != false {
				t.Errorf("_dlt_id nullable = %v, want NOT NULL kept", got[0][0])
			}
		})
	}
}

// TestJSONColumnEscapes: strings with control characters and quotes inside
// a json column are written as valid JSON. fastjson writes a string it has
// unescaped (read by a step or a cursor, or built by a map step) with Go
// escapes (\a, \x01), which DuckDB refused.
func TestJSONColumnEscapes(t *testing.T) {
	const doc = `{"id":1,"j":{"s":"bell\u0007 vt\u000b del` + "\x7f" + ` \"q\" \u0001"}}`
	res := flow.NewResource("t", func(ctx context.Context, yield flow.Yield) error {
		v, err := fastjson.Parse(doc)
		if err != nil {
			return err
		}
		v.GetStringBytes("j", "s") // read, as a processing step would
		return yield(flow.JSONBatch([]*fastjson.Value{v}, nil))
	}, flow.MaxTableNesting(0))
	dir := t.TempDir()
	dest := duckdb.New(filepath.Join(dir, "j.duckdb"))
	p, err := flow.NewPipeline("esc", dest, flow.PipelinesDir(dir), flow.DatasetName("d"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background(), res); err != nil {
		t.Fatal(err)
	}
	got := rows(t, dest, "d", `SELECT j->>'s' FROM d.t`)
	if want := "bell\a vt\v del\x7f \"q\" \x01"; len(got) != 1 || got[0][0] != want {
		t.Errorf("j.s = %q, want %q", got, want)
	}
}
