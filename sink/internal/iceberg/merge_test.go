package iceberg

import (
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// manyRows is a reader of n rows (id = first..first+n-1, name "r<id>") in
// batches of batch rows.
func manyRows(t *testing.T, first, n, batch int) array.RecordReader {
	t.Helper()
	bld := array.NewRecordBuilder(memory.DefaultAllocator, flat)
	defer bld.Release()
	var recs []arrow.RecordBatch
	for i := range n {
		bld.Field(0).(*array.Int64Builder).Append(int64(first + i))
		bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("r%d", first+i))
		if (i+1)%batch == 0 || i == n-1 {
			recs = append(recs, bld.NewRecordBatch())
		}
	}
	rdr, err := array.NewRecordReader(flat, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
	t.Cleanup(rdr.Release)
	return rdr
}

// TestMergeRewritesOnlyHitFiles: a merge rewrites the data files holding
// removed rows (all their batches, keeping the others' rows) and leaves the
// other files as they are.
func TestMergeRewritesOnlyHitFiles(t *testing.T) {
	lk, dir := fileLake(t)
	// Load 1: ids 0..149999 in one file read back in several batches;
	// load 2: ids 200000..200009 in another file.
	load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "1", Mode: Append, Rows: manyRows(t, 0, 150_000, 50_000)})
	load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "2", Mode: Append, Rows: manyRows(t, 200_000, 10, 10)})
	before, err := lk.DataFiles(t.Context(), "ds", "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 {
		t.Fatalf("%d data files before the merge, want 2", len(before))
	}
	// Keys in the first file only, in its first and last read batches.
	p := load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "3", Mode: Merge, Keys: [][]string{{"id"}},
		Rows: reader(t, flat, `{"id":5,"name":"new5"}`, `{"id":149999,"name":"new149999"}`, `{"id":300000,"name":"n"}`)})
	if added, removed := p.Rows(); added != 3 || removed != 2 {
		t.Errorf("Rows() = %d, %d; want 3 added, 2 removed", added, removed)
	}
	after, err := lk.DataFiles(t.Context(), "ds", "t")
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, f := range before {
		if slices.Contains(after, f) {
			kept++
		}
	}
	if kept != 1 || len(after) != 3 {
		t.Errorf("after the merge: %d files (%d of the earlier ones); want 3 (1 earlier, 1 rewritten, 1 new)", len(after), kept)
	}
	got := duckRows(t, lk, dir, "ds", "t",
		"SELECT count(*), count(DISTINCT id), max(CASE WHEN id = 5 THEN name END), max(CASE WHEN id = 149999 THEN name END) FROM $T")
	if want := []string{"150011|150011|new5|new149999"}; !slices.Equal(got, want) {
		t.Errorf("read_parquet: got %v, want %v", got, want)
	}
}
