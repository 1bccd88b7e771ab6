package sinktest

import (
	"github.com/sluicehq/sluice/sink"

	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/arrowbuf"
)

// Run runs the destination suite. newDest returns a fresh, empty destination
// for each subtest.
func Run(t *testing.T, newDest func(t *testing.T) sink.Destination) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d sink.Destination)
	}{
		{"Append", testAppend},
		{"Replace", testReplace},
		{"Merge", testMerge},
		{"MergeCases", testMergeCases},
		{"MergeKeyless", testMergeKeyless},
		{"SchemaEvolution", testSchemaEvolution},
		{"Rollback", testRollback},
		{"FailedCommit", testFailedCommit},
		{"State", testState},
		{"TruncateDrop", testTruncateDrop},
		{"Types", testTypes},
		{"ManyRows", testManyRows},
		{"QueryReadOnly", testQueryReadOnly},
		{"InvalidUTF8", testInvalidUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newDest(t)) })
	}
}

// Col returns a column; nullable unless notNull.
func Col(name string, typ arrowbuf.DataType) *arrowbuf.Column {
	return &arrowbuf.Column{Name: name, DataType: typ, Nullable: true}
}

func sysCols(c ...*arrowbuf.Column) []*arrowbuf.Column {
	return append(c,
		&arrowbuf.Column{Name: "_dlt_load_id", DataType: arrowbuf.TypeText},
		&arrowbuf.Column{Name: "_dlt_id", DataType: arrowbuf.TypeText, Unique: true, RowKey: true})
}

func nestedCols(c ...*arrowbuf.Column) []*arrowbuf.Column {
	return append(c,
		&arrowbuf.Column{Name: "_dlt_root_id", DataType: arrowbuf.TypeText, RootKey: true},
		&arrowbuf.Column{Name: "_dlt_parent_id", DataType: arrowbuf.TypeText, ParentKey: true},
		&arrowbuf.Column{Name: "_dlt_list_idx", DataType: arrowbuf.TypeBigint},
		&arrowbuf.Column{Name: "_dlt_id", DataType: arrowbuf.TypeText, Unique: true, RowKey: true})
}

// ArrowType is the Arrow type a normalized batch carries for a column.
//
// Deprecated: use arrowbuf.ArrowType; this copy had drifted from it.
func ArrowType(c *arrowbuf.Column) arrow.DataType { return arrowbuf.ArrowType(c) }

// Batch builds a TableBatch from rows of Go values in column order: int64,
// float64, bool, string (text, json, decimal), time.Time, []byte or nil.
func Batch(t testing.TB, table *arrowbuf.Table, rows ...[]any) arrowbuf.TableBatch {
	t.Helper()
	fields := make([]arrow.Field, len(table.Columns))
	for i, c := range table.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowbuf.ArrowType(c), Nullable: true}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, row := range rows {
		if len(row) != len(table.Columns) {
			t.Fatalf("sinktest: row %v has %d values, table %s %d columns", row, len(row), table.Name, len(table.Columns))
		}
		for i, v := range row {
			fb := b.Field(i)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int64Builder:
				fb.Append(toInt(v))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.BinaryBuilder:
				fb.Append(v.([]byte))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
			case *array.Date32Builder:
				fb.Append(arrow.Date32FromTime(v.(time.Time)))
			case *array.Time64Builder:
				fb.Append(arrow.Time64(v.(time.Duration).Microseconds()))
			case *array.Decimal128Builder:
				dt := fb.Type().(*arrow.Decimal128Type)
				n, err := decimal128.FromString(v.(string), dt.Precision, dt.Scale)
				if err != nil {
					t.Fatal(err)
				}
				fb.Append(n)
			default:
				t.Fatalf("sinktest: unsupported builder %T", fb)
			}
		}
	}
	return arrowbuf.TableBatch{Table: table.Clone(), Record: b.NewRecordBatch()}
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	}
	panic(fmt.Sprintf("sinktest: %T is not an integer", v))
}

// Load runs one load of batches and commits c; it fails the test on error.
func Load(t testing.TB, d sink.Destination, dataset, loadID string, c sink.Commit, batches ...arrowbuf.TableBatch) {
	t.Helper()
	if err := tryLoad(d, dataset, loadID, c, batches...); err != nil {
		t.Fatalf("load %s: %v", loadID, err)
	}
}

func tryLoad(d sink.Destination, dataset, loadID string, c sink.Commit, batches ...arrowbuf.TableBatch) error {
	ctx := context.Background()
	l, err := d.Begin(ctx, sink.LoadRequest{Dataset: dataset, LoadID: loadID, SchemaName: "test", Schema: arrowbuf.NewSchema("test")})
	if err != nil {
		for _, b := range batches {
			b.Record.Release()
		}
		return err
	}
	defer l.Rollback()
	for i, b := range batches {
		if err := l.Write(ctx, b); err != nil {
			for _, rest := range batches[i+1:] {
				rest.Record.Release()
			}
			return err
		}
	}
	return l.Commit(ctx, c)
}

// Rows reads a query over the dataset as Go values (int64, float64, bool,
// string, time.Time in UTC, []byte; dates as "2006-01-02", decimals as text).
func Rows(t testing.TB, d sink.Destination, dataset, sql string) [][]any {
	t.Helper()
	ctx := context.Background()
	r, err := d.OpenDataset(ctx, dataset)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr, err := r.Query(ctx, sql)
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	defer rr.Release()
	var out [][]any
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]any, rec.NumCols())
			for c, col := range rec.Columns() {
				row[c] = goValue(col, i)
			}
			out = append(out, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func goValue(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...)
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC()
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02")
	case *array.Time64:
		return time.Duration(a.Value(i)) * time.Microsecond
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	}
	return col.ValueStr(i)
}

func check(t *testing.T, d sink.Destination, dataset, sql string, want ...[]any) {
	t.Helper()
	got := Rows(t, d, dataset, sql)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", sql, got, want)
	}
}

func tables(t *testing.T, d sink.Destination, dataset string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	r, err := d.OpenDataset(ctx, dataset)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ts, err := r.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, ti := range ts {
		out[ti.Name] = ti.Rows
	}
	return out
}

func loads(t *testing.T, d sink.Destination, dataset string) []string {
	t.Helper()
	ctx := context.Background()
	r, err := d.OpenDataset(ctx, dataset)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ls, err := r.Loads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range ls {
		if l.Status != 0 {
			t.Errorf("load %s status %d", l.LoadID, l.Status)
		}
		ids = append(ids, l.LoadID)
	}
	return ids
}

const ds = "suite_data"
