package parquet_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/parquet/parquetsql"
	"github.com/sluicehq/sluice/sink/sinktest"
)

func TestSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sink.Destination { return newDest(t.TempDir()) })
}

func TestBucketURL(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{dir, "file://" + dir, "file://localhost" + dir} {
		d := newDest(u)
		if d.Kind() != "filesystem" || d.Location() != dir {
			t.Errorf("New(%q): Kind %q Location %q", u, d.Kind(), d.Location())
		}
	}
	if d := newDest("rel/out"); !filepath.IsAbs(d.Location()) {
		t.Errorf("relative bucket not made absolute: %q", d.Location())
	}
	// gs:// and az:// need a bucket the caller opens (WithBucket).
	d := newDest("gs://user:hunter22@bucket/path?key=hunter23")
	_, err := d.Begin(context.Background(), sink.LoadRequest{Dataset: "ds", LoadID: "1"})
	if !errors.Is(err, parquet.ErrUnsupportedScheme) || !strings.Contains(err.Error(), "gs://bucket/path") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Begin on gs:// = %v", err)
	}
	if _, err := d.OpenDataset(context.Background(), "ds"); !errors.Is(err, parquet.ErrUnsupportedScheme) {
		t.Errorf("OpenDataset on gs:// = %v", err)
	}
	for u, ok := range map[string]bool{dir: true, "file://" + dir: true, "s3://b": true, "s3://b/p/q": true,
		"s3:///nobucket": false, "gs://b": false, "az://c/p": false} {
		if err := parquet.CheckBucketURL(u); (err == nil) != ok || err != nil && !errors.Is(err, parquet.ErrUnsupportedScheme) {
			t.Errorf("CheckBucketURL(%q) = %v", u, err)
		}
	}
}

// newDest is a destination with the DuckDB SQL engine, which the tests
// read datasets with.
func newDest(bucket string, opts ...parquet.Option) *parquet.Destination {
	return parquet.New(bucket, append(opts, parquet.WithSQL(parquetsql.DuckDB()))...)
}

func itemsTable(disp arrowbuf.WriteDisposition) *arrowbuf.Table {
	return &arrowbuf.Table{Name: "items", WriteDisposition: disp, Columns: []*arrowbuf.Column{
		sinktest.Col("id", arrowbuf.TypeBigint),
		{Name: "_dlt_load_id", DataType: arrowbuf.TypeText},
		{Name: "_dlt_id", DataType: arrowbuf.TypeText, Unique: true, RowKey: true},
	}}
}

// files lists the bucket's files relative to it, with slashes.
func files(t *testing.T, bucket string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(bucket, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(bucket, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestLayout(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	items := itemsTable(arrowbuf.Append)
	tags := &arrowbuf.Table{Name: "items__tags", Parent: "items", Columns: []*arrowbuf.Column{
		sinktest.Col("value", arrowbuf.TypeText),
		{Name: "_dlt_parent_id", DataType: arrowbuf.TypeText, ParentKey: true},
		{Name: "_dlt_list_idx", DataType: arrowbuf.TypeBigint},
		{Name: "_dlt_id", DataType: arrowbuf.TypeText},
	}}
	st := &sink.StoredState{PipelineName: "blog", Version: 1, EngineVersion: 4, State: "eNo=", Hash: "h"}
	sinktest.Load(t, d, "blog_data", "1700000000.123", sink.Commit{State: st,
		SchemaJSON: []byte(`{"name":"blog"}`), SchemaVersion: 1, SchemaHash: "AAEC/w=="},
		sinktest.Batch(t, items, []any{1, "1700000000.123", "a"}),
		sinktest.Batch(t, tags, []any{"x", "a", 0, "t"}))
	want := []*regexp.Regexp{
		regexp.MustCompile(`^blog_data/_dlt_loads/init$`),
		regexp.MustCompile(`^blog_data/_dlt_loads/test__1700000000\.123\.jsonl$`),
		regexp.MustCompile(`^blog_data/_dlt_pipeline_state/blog__1700000000\.123__000102ff\.jsonl$`),
		regexp.MustCompile(`^blog_data/_dlt_pipeline_state/init$`),
		regexp.MustCompile(`^blog_data/_dlt_version/init$`),
		regexp.MustCompile(`^blog_data/_dlt_version/test__1700000000\.123__000102ff\.jsonl$`),
		regexp.MustCompile(`^blog_data/init$`),
		regexp.MustCompile(`^blog_data/items/1700000000\.123\.[0-9a-f]{10}\.parquet$`),
		regexp.MustCompile(`^blog_data/items/init$`),
		regexp.MustCompile(`^blog_data/items__tags/1700000000\.123\.[0-9a-f]{10}\.parquet$`),
		regexp.MustCompile(`^blog_data/items__tags/init$`),
	}
	got := files(t, bucket)
	if len(got) != len(want) {
		t.Fatalf("files:\n%s", strings.Join(got, "\n"))
	}
	for i, re := range want {
		if !re.MatchString(got[i]) {
			t.Errorf("file %d = %q, want %s", i, got[i], re)
		}
	}
	// The system files are dlt's JSON documents.
	b, err := os.ReadFile(filepath.Join(bucket, got[1]))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\{"load_id":"1700000000\.123","schema_name":"test","status":0,"inserted_at":"[0-9T:.-]+\+00:00","schema_version_hash":"AAEC/w=="\}$`).Match(b) {
		t.Errorf("_dlt_loads file: %s", b)
	}
	// The system tables are queryable with the DuckDB sink's columns.
	rows := sinktest.Rows(t, d, "blog_data", `SELECT l.load_id, l.status, s.pipeline_name, s.version, s._dlt_load_id, v.schema_name, v.version, v.schema
		FROM _dlt_loads l, _dlt_pipeline_state s, _dlt_version v`)
	if want := [][]any{{"1700000000.123", int64(0), "blog", int64(1), "1700000000.123", "test", int64(1), `{"name":"blog"}`}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("system tables = %v", rows)
	}
}

func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func duck(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestTypes(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	noTZ := false
	naive := sinktest.Col("naive", arrowbuf.TypeTimestamp)
	naive.Timezone = &noTZ
	dec := sinktest.Col("dec", arrowbuf.TypeDecimal)
	dec.Precision, dec.Scale = 18, 3
	id := sinktest.Col("id", arrowbuf.TypeBigint)
	id.Nullable = false
	tb := &arrowbuf.Table{Name: "typed", Columns: []*arrowbuf.Column{
		id, sinktest.Col("f", arrowbuf.TypeDouble), sinktest.Col("b", arrowbuf.TypeBool),
		sinktest.Col("s", arrowbuf.TypeText), sinktest.Col("ts", arrowbuf.TypeTimestamp), naive,
		sinktest.Col("d", arrowbuf.TypeDate), sinktest.Col("tm", arrowbuf.TypeTime), dec,
		sinktest.Col("j", arrowbuf.TypeJSON), sinktest.Col("bin", arrowbuf.TypeBinary),
	}}
	when := time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, tb,
		[]any{1, 1.5, true, "x", when, when, when, time.Hour, "1.250", `{"a":1}`, []byte{1}}))
	fs := dataFiles(t, filepath.Join(bucket, "ds", "typed"))
	if len(fs) != 1 {
		t.Fatalf("files %v", fs)
	}
	// DuckDB's read_parquet.
	rs, err := duck(t).Query("DESCRIBE SELECT * FROM read_parquet(?)", fs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var got []string
	for rs.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := rs.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+" "+typ)
	}
	want := []string{"id BIGINT", "f DOUBLE", "b BOOLEAN", "s VARCHAR", "ts TIMESTAMP WITH TIME ZONE", "naive TIMESTAMP",
		"d DATE", "tm TIME", "dec DECIMAL(18,3)", "j VARCHAR", "bin BLOB"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DuckDB DESCRIBE:\n got %v\nwant %v", got, want)
	}
	// arrow-go's pqarrow reads the types the batch had.
	pf, err := file.OpenParquetFile(fs[0], false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	sch, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range tb.Columns {
		if f := sch.Field(i); f.Name != c.Name || !reflect.DeepEqual(f.Type, arrowbuf.ArrowType(c)) {
			t.Errorf("pqarrow field %d = %s %s, want %s %s", i, f.Name, f.Type, c.Name, arrowbuf.ArrowType(c))
		}
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != 1 {
		t.Errorf("pqarrow rows = %d", tbl.NumRows())
	}
}

func TestRollbackLeavesNoFiles(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	ctx := context.Background()
	l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(ctx, sinktest.Batch(t, itemsTable(arrowbuf.Append), []any{1, "1", "a"})); err != nil {
		t.Fatal(err)
	}
	if fs := files(t, bucket); len(fs) != 1 || !strings.HasPrefix(fs[0], "ds/.sluice-staging/") {
		t.Errorf("files during the load: %v", fs)
	}
	if err := l.Rollback(); err != nil {
		t.Fatal(err)
	}
	if fs := files(t, bucket); len(fs) != 0 {
		t.Errorf("files after rollback: %v", fs)
	}
}

func TestStrayFilesIgnoredAndCleaned(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	items := itemsTable(arrowbuf.Append)
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, items, []any{1, "1", "a"}))
	committed := dataFiles(t, filepath.Join(bucket, "ds", "items"))[0]
	// A killed process left a staging folder and a data file of a load that
	// never reached _dlt_loads.
	stray := filepath.Join(bucket, "ds", ".sluice-staging", "2.0123456789", "items", "2.aaaaaaaaaa.parquet")
	orphan := filepath.Join(bucket, "ds", "items", "3.bbbbbbbbbb.parquet")
	for _, p := range []string{stray, orphan} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(committed)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := sinktest.Rows(t, d, "ds", "SELECT count(*) FROM items"); got[0][0] != int64(1) {
		t.Errorf("reader saw stray files: %v rows", got)
	}
	sinktest.Load(t, d, "ds", "4", sink.Commit{}, sinktest.Batch(t, items, []any{4, "4", "d"}))
	for _, p := range []string{stray, orphan, filepath.Dir(filepath.Dir(stray))} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s not cleaned: %v", p, err)
		}
	}
	if got := sinktest.Rows(t, d, "ds", "SELECT id FROM items ORDER BY id"); !reflect.DeepEqual(got, [][]any{{int64(1)}, {int64(4)}}) {
		t.Errorf("rows = %v", got)
	}
}

func TestReplaceRemovesOldFiles(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	items := itemsTable(arrowbuf.Replace)
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, items, []any{1, "1", "a"}))
	sinktest.Load(t, d, "ds", "2", sink.Commit{}, sinktest.Batch(t, items, []any{2, "2", "b"}), sinktest.Batch(t, items, []any{3, "2", "c"}))
	df := dataFiles(t, filepath.Join(bucket, "ds", "items"))
	if len(df) != 1 || !strings.HasPrefix(filepath.Base(df[0]), "2.") {
		t.Errorf("files after replace: %v", df)
	}
	if got := sinktest.Rows(t, d, "ds", "SELECT id FROM items ORDER BY id"); !reflect.DeepEqual(got, [][]any{{int64(2)}, {int64(3)}}) {
		t.Errorf("rows = %v", got)
	}
	// Drop removes the folder.
	sinktest.Load(t, d, "ds", "3", sink.Commit{Drop: []string{"items"}})
	if _, err := os.Stat(filepath.Join(bucket, "ds", "items")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dropped table folder: %v", err)
	}
}

// snapshot reads every file under dir, by path relative to it.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range files(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opt  parquet.Option
		want int
	}{
		{"size", parquet.WithMaxFileSize(1), 5},
		{"rows", parquet.WithMaxFileRows(4), 3}, // 2+2 | 2+2 | 2
		{"default", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := t.TempDir()
			var opts []parquet.Option
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			d := newDest(bucket, opts...)
			items := itemsTable(arrowbuf.Append)
			var batches []arrowbuf.TableBatch
			for i := range 5 {
				batches = append(batches, sinktest.Batch(t, items, []any{2 * i, "1", "a"}, []any{2*i + 1, "1", "b"}))
			}
			sinktest.Load(t, d, "ds", "1", sink.Commit{}, batches...)
			fs := dataFiles(t, filepath.Join(bucket, "ds", "items"))
			if len(fs) != tc.want {
				t.Errorf("%d files, want %d", len(fs), tc.want)
			}
			// One row group per batch.
			groups := 0
			for _, p := range fs {
				pf, err := file.OpenParquetFile(p, false)
				if err != nil {
					t.Fatal(err)
				}
				groups += pf.NumRowGroups()
				pf.Close()
			}
			if groups != 5 {
				t.Errorf("%d row groups, want 5", groups)
			}
			r, err := d.OpenDataset(ctx, "ds")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ts, err := r.Tables(ctx)
			if err != nil || !reflect.DeepEqual(ts, []sink.TableInfo{{Name: "items", Rows: 10}}) {
				t.Errorf("Tables = %v, %v", ts, err)
			}
		})
	}
}

// A batch with new columns starts a new file; readers see all columns.
func TestNewColumnMidLoad(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	v1 := itemsTable(arrowbuf.Append)
	v2 := v1.Clone()
	v2.Columns = append(v2.Columns, sinktest.Col("extra", arrowbuf.TypeJSON))
	sinktest.Load(t, d, "ds", "1", sink.Commit{},
		sinktest.Batch(t, v1, []any{1, "1", "a"}), sinktest.Batch(t, v2, []any{2, "1", "b", `[1]`}), sinktest.Batch(t, v1, []any{3, "1", "c"}))
	if n := len(dataFiles(t, filepath.Join(bucket, "ds", "items"))); n != 3 {
		t.Errorf("%d files, want 3", n)
	}
	got := sinktest.Rows(t, d, "ds", "SELECT id, extra FROM items ORDER BY id")
	if want := [][]any{{int64(1), nil}, {int64(2), "[1]"}, {int64(3), nil}}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %v", got)
	}
}

func TestReaderReleasesMemory(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d := newDest(t.TempDir(), parquet.WithAllocator(mem))
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, itemsTable(arrowbuf.Append), []any{1, "1", "a"}, []any{2, "1", "b"}))
	ctx := context.Background()
	r, err := d.OpenDataset(ctx, "ds")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr, err := r.Table(ctx, "items")
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	n := int64(0)
	for rr.Next() {
		n += rr.RecordBatch().NumRows()
	}
	if n != 2 || rr.Err() != nil {
		t.Errorf("Table read %d rows, err %v", n, rr.Err())
	}
	if _, err := r.Table(ctx, "nope"); err == nil {
		t.Error("Table of a missing table succeeded")
	}
}

// A process killed inside a replace commit — after the _dlt_loads file,
// before the old files are deleted — must not show old and new rows
// together; killed before the _dlt_loads file, it must still show the old
// rows. Both states are made by hand here; the next Begin cleans them.
func TestKillDuringReplaceCommit(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	items := itemsTable(arrowbuf.Replace)
	dir := filepath.Join(bucket, "ds", "items")
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, items, []any{1, "1", "a"}))
	old := dataFiles(t, dir)[0]
	saved, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	sinktest.Load(t, d, "ds", "2", sink.Commit{}, sinktest.Batch(t, items, []any{2, "2", "b"}))
	want := [][]any{{int64(2)}}

	// Killed after committing load 2, before deleting load 1's file.
	os.WriteFile(old, saved, 0o644)
	os.MkdirAll(filepath.Join(bucket, "ds", ".sluice-supersede"), 0o755)
	os.WriteFile(filepath.Join(bucket, "ds", ".sluice-supersede", "2.json"), []byte(`{"tables":["items"]}`), 0o644)
	if got := sinktest.Rows(t, d, "ds", "SELECT id FROM items ORDER BY id"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a kill past the commit point: rows %v, want %v", got, want)
	}

	// Killed inside load 4 before its commit point: a marker and a data
	// file of an uncommitted load.
	os.WriteFile(filepath.Join(bucket, "ds", ".sluice-supersede", "4.json"), []byte(`{"tables":["items"]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "4.abcdef0123.parquet"), saved, 0o644)
	if got := sinktest.Rows(t, d, "ds", "SELECT id FROM items ORDER BY id"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a kill before the commit point: rows %v, want %v", got, want)
	}

	// The next load's Begin removes what both kills left.
	sinktest.Load(t, d, "ds", "5", sink.Commit{})
	if df := dataFiles(t, dir); len(df) != 1 || !strings.HasPrefix(filepath.Base(df[0]), "2.") {
		t.Errorf("files after cleanup: %v", df)
	}
	if ents, _ := os.ReadDir(filepath.Join(bucket, "ds", ".sluice-supersede")); len(ents) != 0 {
		t.Errorf("markers left: %d", len(ents))
	}
	if got := sinktest.Rows(t, d, "ds", "SELECT id FROM items ORDER BY id"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after cleanup: rows %v, want %v", got, want)
	}
}

// TestRowIDEncoding: _dlt_id is written delta-length encoded and
// uncompressed, the other columns with the destination's codec, and the
// ids read back as written, through arrow and through DuckDB.
func TestRowIDEncoding(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	rows := make([][]any, 3000)
	for i := range rows {
		rows[i] = []any{i, "1700000000.1", fmt.Sprintf("id%012d", i*7919%3000)}
	}
	sinktest.Load(t, d, "ds", "1700000000.1", sink.Commit{}, sinktest.Batch(t, itemsTable(arrowbuf.Append), rows...))
	paths := dataFiles(t, filepath.Join(bucket, "ds", "items"))
	if len(paths) != 1 {
		t.Fatalf("data files %v", paths)
	}
	r, err := file.OpenParquetFile(paths[0], false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rg := r.MetaData().RowGroup(0)
	for i := range rg.NumColumns() {
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		name := cc.PathInSchema().String()
		delta := slices.Contains(cc.Encodings(), pq.Encodings.DeltaLengthByteArray)
		if id := name == "_dlt_id"; delta != id || (cc.Compression() == compress.Codecs.Uncompressed) != id {
			t.Errorf("column %s: encodings %v, codec %v", name, cc.Encodings(), cc.Compression())
		}
	}
	got := sinktest.Rows(t, d, "ds", `SELECT count(*), count(DISTINCT _dlt_id), min(_dlt_id), max(_dlt_id) FROM items`)
	if want := [][]any{{int64(3000), int64(3000), "id000000000000", "id000000002999"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ids read back: %v, want %v", got, want)
	}
}
