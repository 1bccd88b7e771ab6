package iceberg

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestS3 runs a load of each kind against an S3 server (gofakes3, in
// process) under a key prefix, and checks the layout other engines find
// by path and the rows iceberg-go reads back.
func TestS3(t *testing.T) {
	lk, b := s3Lake(t)
	v2 := schema(field("id", arrow.PrimitiveTypes.Int64), field("name", arrow.BinaryTypes.String), field("n", arrow.PrimitiveTypes.Float64))
	steps := []struct {
		name string
		w    Write
		want []string
	}{
		{"append", Write{LoadID: "1", Mode: Append, Rows: reader(t, flat, `{"id":1,"name":"a"}`, `{"id":2,"name":"b"}`)},
			[]string{`{"id":1,"n":null,"name":"a"}`, `{"id":2,"n":null,"name":"b"}`}},
		{"merge with a new column", Write{LoadID: "2", Mode: Merge, Keys: [][]string{{"id"}}, Rows: reader(t, v2, `{"id":2,"name":"B","n":0.5}`)},
			[]string{`{"id":1,"n":null,"name":"a"}`, `{"id":2,"n":0.5,"name":"B"}`}},
		{"replace", Write{LoadID: "3", Mode: Replace, Rows: reader(t, v2, `{"id":3,"name":"c","n":1}`)},
			[]string{`{"id":3,"n":1,"name":"c"}`}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.w.Dataset, s.w.Table = "ds", "t"
			load(t, lk, s.w)
			if got := scanRows(t, reopen(t, lk), "ds", "t", "id", "name", "n"); !slices.Equal(got, s.want) {
				t.Errorf("got %v, want %v", got, s.want)
			}
		})
	}
	meta := keys(t, b, "ds/t/metadata/")
	for _, k := range []string{"ds/t/metadata/v3.metadata.json", "ds/t/metadata/version-hint.text"} {
		if !slices.Contains(meta, k) {
			t.Errorf("no %s in %v", k, meta)
		}
	}
	files, err := lk.DataFiles(t.Context(), "ds", "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || !strings.HasPrefix(files[0], "s3://lake/pre/ds/t/data/") {
		t.Errorf("data files %v, want one under s3://lake/pre/ds/t/data/", files)
	}
}
