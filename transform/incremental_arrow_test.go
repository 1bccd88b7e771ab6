package transform_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/transform"
)

// record builds an Arrow record batch of rows given as a JSON array.
func record(t *testing.T, mem memory.Allocator, schema *arrow.Schema, rows string) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// arrowCursorCases are cursor columns of each supported Arrow type: three
// rows at v[0..2] for the first run, then rows at v[1], v[2] (once loaded,
// once new) and v[3] for the second.
var arrowCursorCases = []struct {
	name    string
	typ     arrow.DataType
	v       [4]string // JSON values
	initial any
	sqlType string
}{
	{"int64", arrow.PrimitiveTypes.Int64, [4]string{`1`, `2`, `3`, `4`}, int64(0), "BIGINT"},
	{"int32", arrow.PrimitiveTypes.Int32, [4]string{`1`, `2`, `3`, `4`}, int64(0), "BIGINT"}, // dlt has one integer type
	{"float64", arrow.PrimitiveTypes.Float64, [4]string{`1.5`, `2.5`, `3.5`, `4.5`}, 0.0, "DOUBLE"},
	{"string", arrow.BinaryTypes.String, [4]string{`"a"`, `"b"`, `"c"`, `"d"`}, "", "VARCHAR"},
	{"timestamp", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
		[4]string{`"2024-01-01T00:00:00Z"`, `"2024-01-02T00:00:00Z"`, `"2024-01-03T00:00:00Z"`, `"2024-01-04T00:00:00Z"`},
		"2023-12-31T00:00:00Z", "TIMESTAMP WITH TIME ZONE"},
	{"date", arrow.FixedWidthTypes.Date32,
		[4]string{`"2024-01-01"`, `"2024-01-02"`, `"2024-01-03"`, `"2024-01-04"`}, "2023-12-31", "DATE"},
}

// TestIncrementalArrow loads Arrow record batches through an incremental
// twice: the second run keeps only rows past the stored last value, drops
// the row loaded before at that value (dlt's boundary deduplication) and
// keeps a new row there, and the column keeps its Arrow type.
func TestIncrementalArrow(t *testing.T) {
	for _, tc := range arrowCursorCases {
		t.Run(tc.name, func(t *testing.T) {
			schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "c", Type: tc.typ, Nullable: true}}, nil)
			v := tc.v
			runs := []string{
				`[{"id":1,"c":` + v[0] + `},{"id":2,"c":` + v[1] + `},{"id":3,"c":` + v[2] + `}]`,
				`[{"id":2,"c":` + v[1] + `},{"id":3,"c":` + v[2] + `},{"id":33,"c":` + v[2] + `},{"id":4,"c":` + v[3] + `}]`,
			}
			dir := t.TempDir()
			db := filepath.Join(dir, "a.duckdb")
			p, err := flow.NewPipeline("arrow_inc", duckdb.New(db), flow.PipelinesDir(dir), flow.DatasetName("ds"))
			if err != nil {
				t.Fatal(err)
			}
			var loaded []int64
			for _, rows := range runs {
				inc, err := transform.NewIncremental("c", tc.initial)
				if err != nil {
					t.Fatal(err)
				}
				r := flow.NewResource("events", func(ctx context.Context, yield flow.Yield) error {
					return yield(flow.ArrowBatch(record(t, memory.DefaultAllocator, schema, rows)))
				}).AddStep(inc.Step())
				info, err := p.Run(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				loaded = append(loaded, info.RowCounts["events"])
			}
			if loaded[0] != 3 || loaded[1] != 2 {
				t.Errorf("rows loaded per run = %v, want [3 2]", loaded)
			}
			conn, err := sql.Open("duckdb", db+"?access_mode=read_only")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var ids, typ string
			if err := conn.QueryRow(`SELECT string_agg(id::VARCHAR, ',' ORDER BY id), any_value(typeof(c)) FROM ds.events`).Scan(&ids, &typ); err != nil {
				t.Fatal(err)
			}
			if ids != "1,2,3,4,33" || typ != tc.sqlType {
				t.Errorf("ids %s, c %s; want 1,2,3,4,33 and %s", ids, typ, tc.sqlType)
			}
		})
	}
}

// TestIncrementalArrowFilter checks the filtered batches themselves: kept
// rows in order (also when they are not one run), whole batches dropped,
// end values and nulls, errors for a missing or unusable cursor column,
// and every Arrow buffer released.
func TestIncrementalArrowFilter(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "at", Type: arrow.PrimitiveTypes.Int64})},
	}, nil)
	rows := `[{"id":1,"n":5,"flag":true,"s":{"at":5}},{"id":2,"n":1,"flag":true,"s":{"at":1}},{"id":3,"n":7,"flag":true,"s":{"at":7}},
		{"id":4,"n":null,"flag":true,"s":{"at":0}},{"id":5,"n":9,"flag":true,"s":{"at":9}}]`
	for _, tc := range []struct {
		name string
		inc  *transform.Incremental
		want string // ids of kept rows per batch
		err  string
	}{
		{"gaps", &transform.Incremental{CursorPath: "n", InitialValue: int64(4), OnMissing: "exclude"}, "1,3,5", ""},
		{"end value", &transform.Incremental{CursorPath: "n", InitialValue: int64(2), EndValue: int64(9), OnMissing: "exclude"}, "1,3", ""},
		{"include nulls", &transform.Incremental{CursorPath: "n", InitialValue: int64(6), OnMissing: "include"}, "3,4,5", ""},
		{"struct field", &transform.Incremental{CursorPath: "s.at", InitialValue: int64(6)}, "3,5", ""},
		{"all dropped", &transform.Incremental{CursorPath: "n", InitialValue: int64(100), OnMissing: "exclude"}, "", ""},
		{"null is missing", &transform.Incremental{CursorPath: "n", InitialValue: int64(0)}, "", `cursor "n" missing in a row`},
		{"no column", &transform.Incremental{CursorPath: "updated", InitialValue: int64(0)}, "", `no such column (it has id, n, flag, s)`},
		{"bool column", &transform.Incremental{CursorPath: "flag", InitialValue: int64(0)}, "", `type bool cannot be a cursor`},
		{"kinds differ", &transform.Incremental{CursorPath: "n", InitialValue: "x"}, "", `cannot be compared`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := flow.NewResource("r", func(ctx context.Context, yield flow.Yield) error {
				return yield(flow.ArrowBatch(record(t, mem, schema, rows)))
			}).AddStep(tc.inc.Step())
			var got []string
			_, err := flow.Extract(context.Background(), func(_ string, b flow.Batch) error {
				if b.Record == nil {
					t.Fatalf("batch is no longer Arrow: %+v", b)
				}
				ids := b.Record.Column(0).(*array.Int64)
				for i := range ids.Len() {
					got = append(got, ids.ValueStr(i))
				}
				return nil
			}, r)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, ","); s != tc.want {
				t.Errorf("kept %s, want %s", s, tc.want)
			}
		})
	}
}

// BenchmarkIncrementalArrow filters 50,000-row record batches on an
// ascending int64 cursor (every row a new last value, as in a full load).
func BenchmarkIncrementalArrow(b *testing.B) {
	const rows = 50_000
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer bld.Release()
	for i := range int64(rows) {
		bld.Field(0).(*array.Int64Builder).Append(i)
		bld.Field(1).(*array.StringBuilder).Append("some name")
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	for b.Loop() {
		inc, _ := transform.NewIncremental("id", int64(-1))
		r := flow.NewResource("r", func(ctx context.Context, yield flow.Yield) error {
			rec.Retain()
			return yield(flow.ArrowBatch(rec))
		}).AddStep(inc.Step())
		if _, err := flow.Extract(context.Background(), nil, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
