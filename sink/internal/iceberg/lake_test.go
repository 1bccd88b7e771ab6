package iceberg

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

var flat = schema(field("id", arrow.PrimitiveTypes.Int64), field("name", arrow.BinaryTypes.String))

func TestDispositions(t *testing.T) {
	lk, dir := fileLake(t)
	steps := []struct {
		name string
		w    Write
		want []string // iceberg-go scan
		duck []string // DuckDB over the snapshot's data files
	}{
		{
			name: "append creates",
			w:    Write{LoadID: "1", Mode: Append, Rows: reader(t, flat, `{"id":1,"name":"a"}`, `{"id":2,"name":"b"}`)},
			want: []string{`{"id":1,"name":"a"}`, `{"id":2,"name":"b"}`},
			duck: []string{"1|a", "2|b"},
		},
		{
			name: "append adds",
			w:    Write{LoadID: "2", Mode: Append, Rows: reader(t, flat, `{"id":2,"name":"b2"}`)},
			want: []string{`{"id":1,"name":"a"}`, `{"id":2,"name":"b"}`, `{"id":2,"name":"b2"}`},
			duck: []string{"1|a", "2|b", "2|b2"},
		},
		{
			name: "merge replaces matching keys",
			w: Write{LoadID: "3", Mode: Merge, Keys: [][]string{{"id"}},
				Rows: reader(t, flat, `{"id":2,"name":"B"}`, `{"id":3,"name":"c"}`)},
			want: []string{`{"id":1,"name":"a"}`, `{"id":2,"name":"B"}`, `{"id":3,"name":"c"}`},
			duck: []string{"1|a", "2|B", "3|c"},
		},
		{
			name: "merge without matches appends",
			w:    Write{LoadID: "4", Mode: Merge, Keys: [][]string{{"id"}}, Rows: reader(t, flat, `{"id":4,"name":"d"}`)},
			want: []string{`{"id":1,"name":"a"}`, `{"id":2,"name":"B"}`, `{"id":3,"name":"c"}`, `{"id":4,"name":"d"}`},
			duck: []string{"1|a", "2|B", "3|c", "4|d"},
		},
		{
			name: "replace leaves only the load's rows",
			w:    Write{LoadID: "5", Mode: Replace, Rows: reader(t, flat, `{"id":9,"name":"z"}`)},
			want: []string{`{"id":9,"name":"z"}`},
			duck: []string{"9|z"},
		},
		{
			name: "replace without rows empties",
			w:    Write{LoadID: "6", Mode: Replace, Rows: reader(t, flat)},
			want: nil,
			duck: nil,
		},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.w.Dataset, s.w.Table = "ds", "items"
			load(t, lk, s.w)
			if got := scanRows(t, lk, "ds", "items"); !slices.Equal(got, s.want) {
				t.Errorf("scan: got %v, want %v", got, s.want)
			}
			if got := duckRows(t, lk, dir, "ds", "items", "SELECT id, name FROM $T"); !slices.Equal(got, s.duck) {
				t.Errorf("read_parquet: got %v, want %v", got, s.duck)
			}
			tbl, err := lk.Table(t.Context(), "ds", "items")
			if err != nil {
				t.Fatal(err)
			}
			// One snapshot per load, carrying its load id.
			if n := len(tbl.Metadata().Snapshots()); n != i+1 {
				t.Errorf("%d snapshots after %d loads", n, i+1)
			}
			if got := tbl.CurrentSnapshot().Summary.Properties[LoadIDProperty]; got != s.w.LoadID {
				t.Errorf("current snapshot's load id %q, want %q", got, s.w.LoadID)
			}
		})
	}
}

func TestCompoundAndMergeKey(t *testing.T) {
	lk, _ := fileLake(t)
	sc := schema(field("a", arrow.PrimitiveTypes.Int64), field("b", arrow.BinaryTypes.String),
		field("mk", arrow.BinaryTypes.String), field("v", arrow.PrimitiveTypes.Int64))
	load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "1", Mode: Append, Rows: reader(t, sc,
		`{"a":1,"b":"x","mk":"m1","v":1}`, `{"a":1,"b":"y","mk":"m2","v":2}`,
		`{"a":2,"b":"x","mk":"m3","v":3}`, `{"a":3,"b":"z","mk":"m4","v":4}`)})
	// (1,x) matches by the compound primary key; m4 by the merge key;
	// (2,y) matches neither (a tuple, not each column alone).
	p := load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "2", Mode: Merge,
		Keys: [][]string{{"a", "b"}, {"mk"}}, Collect: "v",
		Rows: reader(t, sc, `{"a":1,"b":"x","mk":"n1","v":10}`, `{"a":2,"b":"y","mk":"m4","v":20}`)})
	got := scanRows(t, lk, "ds", "t", "v")
	want := []string{`{"v":10}`, `{"v":20}`, `{"v":2}`, `{"v":3}`}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if added, removed := p.Rows(); added != 2 || removed != 2 {
		t.Errorf("Rows() = %d added, %d removed; want 2, 2", added, removed)
	}
	if p.Removed().Len() != 2 {
		t.Errorf("Removed() holds %d values, want 2 (v of the removed rows)", p.Removed().Len())
	}
}

func TestNestedMerge(t *testing.T) {
	lk, _ := fileLake(t)
	root := schema(field("id", arrow.PrimitiveTypes.Int64), field("_dlt_id", arrow.BinaryTypes.String))
	child := schema(field("value", arrow.BinaryTypes.String), field("_dlt_root_id", arrow.BinaryTypes.String))
	mergeFamily := func(loadID string, rootRows, childRows []string) {
		r, err := lk.Prepare(t.Context(), Write{Dataset: "ds", Table: "posts", LoadID: loadID, Mode: Merge,
			Keys: [][]string{{"id"}}, Collect: "_dlt_id", Rows: reader(t, root, rootRows...)})
		if err != nil {
			t.Fatal(err)
		}
		w := Write{Dataset: "ds", Table: "posts__tags", LoadID: loadID, Mode: Merge, Drop: r.Removed().As("_dlt_root_id")}
		if childRows != nil {
			w.Rows = reader(t, child, childRows...)
		}
		c, err := lk.Prepare(t.Context(), w)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []*Pending{r, c} {
			if err := p.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	mergeFamily("1",
		[]string{`{"id":1,"_dlt_id":"r1"}`, `{"id":2,"_dlt_id":"r2"}`},
		[]string{`{"value":"a","_dlt_root_id":"r1"}`, `{"value":"b","_dlt_root_id":"r1"}`, `{"value":"c","_dlt_root_id":"r2"}`})
	mergeFamily("2",
		[]string{`{"id":1,"_dlt_id":"r1new"}`},
		[]string{`{"value":"z","_dlt_root_id":"r1new"}`})
	if got, want := scanRows(t, lk, "ds", "posts__tags", "value"), []string{`{"value":"c"}`, `{"value":"z"}`}; !slices.Equal(got, want) {
		t.Errorf("nested rows: got %v, want %v", got, want)
	}
	if got, want := scanRows(t, lk, "ds", "posts", "_dlt_id"), []string{`{"_dlt_id":"r1new"}`, `{"_dlt_id":"r2"}`}; !slices.Equal(got, want) {
		t.Errorf("root rows: got %v, want %v", got, want)
	}
	// A root row that comes back without nested rows takes its old ones
	// away all the same.
	mergeFamily("3", []string{`{"id":2,"_dlt_id":"r2new"}`}, nil) // no nested rows at all: Rows is nil
	if got, want := scanRows(t, lk, "ds", "posts__tags", "value"), []string{`{"value":"z"}`}; !slices.Equal(got, want) {
		t.Errorf("nested rows after a merge without nested rows: got %v, want %v", got, want)
	}
}

func TestSchemaEvolution(t *testing.T) {
	lk, dir := fileLake(t)
	v1 := schema(field("id", arrow.PrimitiveTypes.Int64))
	v2 := schema(field("id", arrow.PrimitiveTypes.Int64), field("extra", arrow.BinaryTypes.String))
	load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "1", Mode: Append, Rows: reader(t, v1, `{"id":1}`)})
	load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "2", Mode: Append, Rows: reader(t, v2, `{"id":2,"extra":"x"}`)})
	// A load whose rows lack a column leaves it null.
	load(t, lk, Write{Dataset: "ds", Table: "t", LoadID: "3", Mode: Append, Rows: reader(t, v1, `{"id":3}`)})

	tbl, err := lk.Table(t.Context(), "ds", "t")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range tbl.Schema().Fields() {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "id,extra" {
		t.Errorf("columns %v, want id,extra", names)
	}
	want := []string{`{"extra":"x","id":2}`, `{"extra":null,"id":1}`, `{"extra":null,"id":3}`}
	if got := scanRows(t, lk, "ds", "t", "id", "extra"); !slices.Equal(got, want) {
		t.Errorf("scan: got %v, want %v", got, want)
	}
	if got, want := duckRows(t, lk, dir, "ds", "t", "SELECT id, extra FROM $T"), []string{"1|<nil>", "2|x", "3|<nil>"}; !slices.Equal(got, want) {
		t.Errorf("read_parquet: got %v, want %v", got, want)
	}

	// A column whose type changed is refused, naming it.
	bad := schema(field("id", arrow.BinaryTypes.String))
	_, err = lk.Prepare(t.Context(), Write{Dataset: "ds", Table: "t", LoadID: "4", Mode: Append, Rows: reader(t, bad, `{"id":"x"}`)})
	if err == nil || !strings.Contains(err.Error(), "ds/t") || !strings.Contains(err.Error(), "column id") {
		t.Errorf("type change: got error %v, want one naming ds/t and column id", err)
	}
}

func TestNewTableWithoutRows(t *testing.T) {
	lk, _ := fileLake(t)
	load(t, lk, Write{Dataset: "ds", Table: "empty", LoadID: "1", Mode: Replace, Rows: reader(t, flat)})
	tbl, err := lk.Table(context.Background(), "ds", "empty")
	if err != nil {
		t.Fatalf("a new table without rows is created with its columns: %v", err)
	}
	if n := len(tbl.Schema().Fields()); n != 2 {
		t.Errorf("%d columns, want 2", n)
	}
	if got := scanRows(t, lk, "ds", "empty"); len(got) != 0 {
		t.Errorf("rows %v, want none", got)
	}
}

func TestBadWrites(t *testing.T) {
	lk, _ := fileLake(t)
	cases := []struct {
		name string
		w    Write
		want string
	}{
		{"empty load id", Write{Dataset: "ds", Table: "t", Rows: reader(t, flat)}, "empty load id"},
		{"bad table name", Write{Dataset: "ds", Table: "a/b", LoadID: "1", Rows: reader(t, flat)}, `bad table name "a/b"`},
		{"keys outside merge", Write{Dataset: "ds", Table: "t", LoadID: "1", Keys: [][]string{{"id"}}, Rows: reader(t, flat)}, "apply to merge"},
		{"missing key column", Write{Dataset: "ds", Table: "t", LoadID: "1", Mode: Merge, Keys: [][]string{{"nope"}}, Rows: reader(t, flat)}, "key column nope"},
		{"unsigned column", Write{Dataset: "ds", Table: "u", LoadID: "1",
			Rows: reader(t, schema(field("n", arrow.PrimitiveTypes.Uint64)), `{"n":1}`)}, "table u column n: arrow type uint64 has no Iceberg type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := lk.Prepare(t.Context(), c.w)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
