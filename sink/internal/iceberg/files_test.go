package iceberg

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// putParquet writes rows as a Parquet file into the lake's bucket as the
// Parquet destination does (pqarrow, Arrow schema stored, no field ids) and
// returns its key.
func putParquet(t *testing.T, lk *Lake, key string, sc *arrow.Schema, rows ...string) string {
	t.Helper()
	w, err := lk.st.bucket.NewWriter(context.Background(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, w, parquet.NewWriterProperties(parquet.WithVersion(parquet.V2_LATEST)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	rdr := reader(t, sc, rows...)
	for rdr.Next() {
		if err := fw.Write(rdr.RecordBatch()); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestFiles: the caller's own Parquet files become the snapshots' data
// files as they are, for each mode, with schema evolution across files.
func TestFiles(t *testing.T) {
	lk, dir := fileLake(t)
	v2 := schema(field("id", arrow.PrimitiveTypes.Int64), field("name", arrow.BinaryTypes.String), field("extra", arrow.PrimitiveTypes.Float64))
	n := 0
	put := func(sc *arrow.Schema, rows ...string) string {
		n++
		return putParquet(t, lk, fmt.Sprintf("ds/t/data/load.%d.parquet", n), sc, rows...)
	}
	steps := []struct {
		name string
		w    Write
		want []string
	}{
		{"append two files, the second with a new column", Write{LoadID: "1", Mode: Append,
			Files: []string{put(flat, `{"id":1,"name":"a"}`, `{"id":4,"name":"d"}`), put(v2, `{"id":2,"name":"b","extra":0.5}`)}},
			[]string{"1|a|<nil>", "2|b|0.5", "4|d|<nil>"}},
		{"merge", Write{LoadID: "2", Mode: Merge, Keys: [][]string{{"id"}},
			Files: []string{put(flat, `{"id":1,"name":"A"}`, `{"id":3,"name":"c"}`)}},
			[]string{"1|A|<nil>", "2|b|0.5", "3|c|<nil>", "4|d|<nil>"}},
		{"replace", Write{LoadID: "3", Mode: Replace, Files: []string{put(v2, `{"id":9,"name":"z","extra":1}`)}},
			[]string{"9|z|1"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.w.Dataset, s.w.Table = "ds", "t"
			load(t, lk, s.w)
			if got := duckRows(t, lk, dir, "ds", "t", "SELECT id, name, extra FROM $T"); !slices.Equal(got, s.want) {
				t.Errorf("read_parquet: got %v, want %v", got, s.want)
			}
			if got := scanRows(t, reopen(t, lk), "ds", "t"); len(got) != len(s.want) {
				t.Errorf("scan: %v, want %d rows", got, len(s.want))
			}
			files, err := lk.DataFiles(t.Context(), "ds", "t")
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range s.w.Files {
				if !slices.Contains(files, lk.st.root+"/"+k) {
					t.Errorf("file %s is not a data file of the snapshot %v", k, files)
				}
			}
		})
	}
	if _, err := lk.Prepare(t.Context(), Write{Dataset: "ds", Table: "t", LoadID: "4", Files: []string{"ds/t/data/load.1.parquet"},
		Rows: reader(t, flat)}); err == nil {
		t.Error("Rows and Files together: no error")
	}
}
