package source_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/source"
)

func load(t *testing.T, r *flow.Resource) (*flow.Pipeline, *flow.LoadInfo) {
	t.Helper()
	dir := t.TempDir()
	p, err := flow.NewPipeline("src", duckdb.New(filepath.Join(dir, "s.duckdb")), flow.PipelinesDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.Run(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return p, info
}

func columns(t *testing.T, p *flow.Pipeline, table string) []string {
	t.Helper()
	rr, err := p.Dataset().Table(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var out []string
	for _, f := range rr.Schema().Fields() {
		out = append(out, f.Name+":"+f.Type.String())
	}
	return out
}

func TestGoSources(t *testing.T) {
	type user struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	many := make([]user, source.ChunkSize+5)
	for i := range many {
		many[i] = user{ID: i, Name: fmt.Sprint("u", i)}
	}
	ch := make(chan map[string]any, 3)
	go func() {
		for i := range 7 {
			ch <- map[string]any{"id": i}
		}
		close(ch)
	}()
	tests := []struct {
		name string
		res  *flow.Resource
		want int64
	}{
		{"slice of structs", source.Slice("users", many), int64(len(many))},
		{"seq", source.Seq("users", slices.Values([]int{1, 2, 3})), 3},
		{"chan", source.Chan("users", ch), 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, info := load(t, tc.res)
			if info.RowCounts["users"] != tc.want {
				t.Fatalf("loaded %v, want %d", info.RowCounts, tc.want)
			}
		})
	}
}

func TestJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	var b strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&b, `{"id":%d,"kind":"k%d","meta":{"ok":true}}`+"\n\n", i, i%3)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p, info := load(t, source.JSONL("events", path))
	if info.RowCounts["events"] != 2500 {
		t.Fatalf("rows %v", info.RowCounts)
	}
	if got := columns(t, p, "events"); got[2] != "meta__ok:bool" {
		t.Fatalf("columns %v", got)
	}

	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"id\":1}\n{\"id\":\n"), 0o644)
	_, err := flow.Collect(context.Background(), source.JSONL("bad", bad))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want line 2", err)
	}
}

func TestCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "people.csv")
	os.WriteFile(path, []byte("Id,Full Name,Score\n1,Ann,1.5\n2,Bo,\n"), 0o644)
	p, info := load(t, source.CSV("people", path))
	if info.RowCounts["people"] != 2 {
		t.Fatalf("rows %v", info.RowCounts)
	}
	got := columns(t, p, "people")
	if got[0] != "id:int64" || got[1] != "full_name:utf8" || got[2] != "score:float64" {
		t.Fatalf("columns %v", got)
	}
}

func TestParquet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.parquet")
	schema := arrow.NewSchema([]arrow.Field{{Name: "ID", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	for i := range 100 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprint("n", i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, _ := os.Create(path)
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p, info := load(t, source.Parquet("things", path))
	if info.RowCounts["things"] != 100 {
		t.Fatalf("rows %v", info.RowCounts)
	}
	if got := columns(t, p, "things"); got[0] != "id:int64" {
		t.Fatalf("columns %v", got)
	}
}
