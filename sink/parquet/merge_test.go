package parquet_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/sinktest"
)

func mergeItems() (*arrowbuf.Table, *arrowbuf.Table) {
	items := itemsTable(arrowbuf.Merge)
	items.Columns[0].PrimaryKey = true
	tags := &arrowbuf.Table{Name: "items__tags", Parent: "items", Columns: []*arrowbuf.Column{
		sinktest.Col("value", arrowbuf.TypeText),
		{Name: "_dlt_root_id", DataType: arrowbuf.TypeText, RootKey: true},
		{Name: "_dlt_parent_id", DataType: arrowbuf.TypeText, ParentKey: true},
		{Name: "_dlt_list_idx", DataType: arrowbuf.TypeBigint},
		{Name: "_dlt_id", DataType: arrowbuf.TypeText},
	}}
	return items, tags
}

// A merge rewrites only the earlier files holding removed rows: the copy
// belongs to the merging load, keeps the rows' own _dlt_load_id, the
// file's columns and encodings; the other files stay byte for byte.
func TestMergeRewritesOnlyMatchingFiles(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket, parquet.WithMaxFileRows(2))
	items, tags := mergeItems()
	sinktest.Load(t, d, "ds", "1", sink.Commit{},
		sinktest.Batch(t, items, []any{1, "1", "a"}, []any{2, "1", "b"}),
		sinktest.Batch(t, items, []any{3, "1", "c"}, []any{4, "1", "d"}),
		sinktest.Batch(t, items, []any{5, "1", "e"}, []any{6, "1", "f"}),
		sinktest.Batch(t, tags, []any{"x", "a", "a", 0, "ta"}, []any{"y", "b", "b", 0, "tb"}),
		sinktest.Batch(t, tags, []any{"z", "c", "c", 0, "tc"}))
	dir := filepath.Join(bucket, "ds")
	before := snapshot(t, dir)
	old := dataFiles(t, filepath.Join(dir, "items"))
	oldTags := dataFiles(t, filepath.Join(dir, "items__tags"))
	if len(old) != 3 || len(oldTags) != 2 {
		t.Fatalf("load 1 files: %v %v", old, oldTags)
	}
	// id 3 gets a new version: the files holding it or its tag go.
	var keep, gone []string
	for _, p := range append(old, oldTags...) {
		var n int64
		if err := duck(t).QueryRow("SELECT count(*) FROM read_parquet(?) WHERE _dlt_id = 'c' OR _dlt_root_id = 'c'", p).Scan(&n); err != nil {
			if err := duck(t).QueryRow("SELECT count(*) FROM read_parquet(?) WHERE _dlt_id = 'c'", p).Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
		if n > 0 {
			gone = append(gone, p)
		} else {
			keep = append(keep, p)
		}
	}
	// Load 2 writes no tags: the run's schema names the nested table.
	sch := arrowbuf.NewSchema("test")
	sch.PutTable(items)
	sch.PutTable(tags)
	sinktest.Load(t, d, "ds", "2", sink.Commit{Schema: sch}, sinktest.Batch(t, items, []any{3, "2", "g"}))
	after := snapshot(t, dir)
	for _, p := range keep {
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if after[rel] != before[rel] {
			t.Errorf("%s changed or removed", rel)
		}
	}
	for _, p := range gone {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("superseded %s still there: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".sluice-supersede", "2.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("marker left after the commit: %v", err)
	}
	// The copy of the second items file holds id 4 of load 1; the second
	// tags file held only tag z of id 3: no copy.
	var copies []string
	for _, p := range dataFiles(t, filepath.Join(dir, "items")) {
		if strings.HasPrefix(filepath.Base(p), "2.") {
			copies = append(copies, p)
		}
	}
	if n := len(dataFiles(t, filepath.Join(dir, "items__tags"))); n != 1 {
		t.Errorf("%d tags files, want 1", n)
	}
	if len(copies) != 2 {
		t.Fatalf("files of load 2: %v", copies)
	}
	got := sinktest.Rows(t, d, "ds", "SELECT id, _dlt_load_id, _dlt_id FROM items ORDER BY id")
	want := [][]any{{int64(1), "1", "a"}, {int64(2), "1", "b"}, {int64(3), "2", "g"}, {int64(4), "1", "d"}, {int64(5), "1", "e"}, {int64(6), "1", "f"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("items = %v", got)
	}
	if got := sinktest.Rows(t, d, "ds", "SELECT value FROM items__tags ORDER BY value"); !reflect.DeepEqual(got, [][]any{{"x"}, {"y"}}) {
		t.Errorf("tags = %v", got)
	}
	// Any reader of the folders sees the same: DuckDB's read_parquet.
	var n, ids int64
	if err := duck(t).QueryRow("SELECT count(*), count(DISTINCT id) FROM read_parquet(?)", filepath.Join(dir, "items", "*.parquet")).Scan(&n, &ids); err != nil || n != 6 || ids != 6 {
		t.Errorf("read_parquet: %d rows, %d ids, %v", n, ids, err)
	}
	// The copy keeps the file's columns and the id column's encoding.
	for _, p := range copies {
		pf, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		sch, _ := fr.Schema()
		for i, c := range items.Columns {
			if f := sch.Field(i); f.Name != c.Name || !reflect.DeepEqual(f.Type, arrowbuf.ArrowType(c)) {
				t.Errorf("%s: field %d = %s %s", p, i, f.Name, f.Type)
			}
		}
		cc, _ := pf.MetaData().RowGroup(0).ColumnChunk(2)
		if !slices.Contains(cc.Encodings(), pq.Encodings.DeltaLengthByteArray) {
			t.Errorf("%s: _dlt_id encodings %v", p, cc.Encodings())
		}
		pf.Close()
	}
}

// A load failing after its merge staged rewritten files leaves the dataset
// as it was, file for file.
func TestFailedMergeLeavesDataset(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	items, tags := mergeItems()
	sinktest.Load(t, d, "ds", "1", sink.Commit{},
		sinktest.Batch(t, items, []any{1, "1", "a"}, []any{2, "1", "b"}),
		sinktest.Batch(t, tags, []any{"x", "a", "a", 0, "ta"}, []any{"y", "b", "b", 0, "tb"}))
	dir := filepath.Join(bucket, "ds")
	before := snapshot(t, dir)
	ctx := context.Background()
	l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "2"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Rollback()
	if err := l.Write(ctx, sinktest.Batch(t, items, []any{1, "2", "c"})); err != nil {
		t.Fatal(err)
	}
	// The _dlt_loads file, written after the merge, cannot be staged.
	stg, _ := filepath.Glob(filepath.Join(dir, ".sluice-staging", "2.*"))
	if len(stg) != 1 {
		t.Fatalf("staging folders %v", stg)
	}
	if err := os.WriteFile(filepath.Join(stg[0], "_dlt_loads"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(ctx, sink.Commit{}); err == nil || !strings.Contains(err.Error(), "system files") {
		t.Fatalf("Commit = %v, want a failure writing the system files", err)
	}
	if got := snapshot(t, dir); !reflect.DeepEqual(got, before) {
		t.Errorf("files after the failed load:\n%v\nwant\n%v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(before)))
	}
	got := sinktest.Rows(t, d, "ds", "SELECT i.id, t.value FROM items i JOIN items__tags t ON t._dlt_root_id = i._dlt_id ORDER BY i.id")
	if want := [][]any{{int64(1), "x"}, {int64(2), "y"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %v", got)
	}
}

// A process killed inside a merge commit past the commit point, before the
// rewritten files' originals are deleted, shows the new rows only; killed
// before the commit point, the old ones. Both states are made by hand; the
// next Begin cleans them.
func TestKillDuringMergeCommit(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket)
	items, _ := mergeItems()
	dir := filepath.Join(bucket, "ds", "items")
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, items, []any{1, "1", "a"}, []any{2, "1", "b"}))
	old := dataFiles(t, dir)[0]
	saved, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	sinktest.Load(t, d, "ds", "2", sink.Commit{}, sinktest.Batch(t, items, []any{1, "2", "c"}))
	want := [][]any{{int64(1), "2"}, {int64(2), "1"}}
	rows := func() [][]any { return sinktest.Rows(t, d, "ds", "SELECT id, _dlt_load_id FROM items ORDER BY id") }
	if got := rows(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the merge: rows %v, want %v", got, want)
	}
	marker := func(id, file string) {
		os.MkdirAll(filepath.Join(bucket, "ds", ".sluice-supersede"), 0o755)
		doc := `{"tables":[],"files":["items/` + filepath.Base(file) + `"]}`
		if err := os.WriteFile(filepath.Join(bucket, "ds", ".sluice-supersede", id+".json"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Killed after committing load 2, before deleting load 1's file.
	os.WriteFile(old, saved, 0o644)
	marker("2", old)
	if got := rows(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a kill past the commit point: rows %v, want %v", got, want)
	}
	// Killed inside load 4 before its commit point: its marker hides a
	// committed file, its copy is a file of an uncommitted load.
	live := slices.DeleteFunc(dataFiles(t, dir), func(p string) bool { return p == old })
	marker("4", live[0])
	os.WriteFile(filepath.Join(dir, "4.abcdef0123.parquet"), saved, 0o644)
	if got := rows(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a kill before the commit point: rows %v, want %v", got, want)
	}
	sinktest.Load(t, d, "ds", "5", sink.Commit{})
	for _, p := range []string{old, filepath.Join(dir, "4.abcdef0123.parquet")} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s not cleaned: %v", p, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(bucket, "ds", ".sluice-supersede")); len(ents) != 0 {
		t.Errorf("markers left: %d", len(ents))
	}
	if got := rows(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after cleanup: rows %v, want %v", got, want)
	}
}

// Within one load the latest row per key wins across the load's files, and
// an earlier file left without rows goes; a nested table left without rows
// keeps an empty file, so it stays readable.
func TestMergeEmptiesFiles(t *testing.T) {
	bucket := t.TempDir()
	d := newDest(bucket, parquet.WithMaxFileRows(1))
	items, tags := mergeItems()
	sinktest.Load(t, d, "ds", "1", sink.Commit{},
		sinktest.Batch(t, items, []any{1, "1", "a"}),
		sinktest.Batch(t, tags, []any{"x", "a", "a", 0, "ta"}))
	sinktest.Load(t, d, "ds", "2", sink.Commit{},
		sinktest.Batch(t, items, []any{1, "2", "b"}),
		sinktest.Batch(t, tags, []any{"y", "b", "b", 0, "tb"}),
		sinktest.Batch(t, items, []any{1, "2", "c"}))
	if got := sinktest.Rows(t, d, "ds", "SELECT id, _dlt_id FROM items"); !reflect.DeepEqual(got, [][]any{{int64(1), "c"}}) {
		t.Errorf("items = %v", got)
	}
	if got := sinktest.Rows(t, d, "ds", "SELECT count(*) FROM items__tags"); !reflect.DeepEqual(got, [][]any{{int64(0)}}) {
		t.Errorf("tags = %v", got)
	}
	if n := len(dataFiles(t, filepath.Join(bucket, "ds", "items"))); n != 1 {
		t.Errorf("%d items files, want 1", n)
	}
}
