// Package sinktest is the test suite every destination passes: Run builds
// normalized batches by hand and checks the dataset through DatasetReader.
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
)

// Run runs the destination suite. newDest returns a fresh, empty destination
// for each subtest.
func Run(t *testing.T, newDest func(t *testing.T) flow.Destination) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d flow.Destination)
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
func Load(t testing.TB, d flow.Destination, dataset, loadID string, c flow.Commit, batches ...arrowbuf.TableBatch) {
	t.Helper()
	if err := tryLoad(d, dataset, loadID, c, batches...); err != nil {
		t.Fatalf("load %s: %v", loadID, err)
	}
}

func tryLoad(d flow.Destination, dataset, loadID string, c flow.Commit, batches ...arrowbuf.TableBatch) error {
	ctx := context.Background()
	l, err := d.Begin(ctx, flow.LoadRequest{Dataset: dataset, LoadID: loadID, SchemaName: "test", Schema: arrowbuf.NewSchema("test")})
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
func Rows(t testing.TB, d flow.Destination, dataset, sql string) [][]any {
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

func check(t *testing.T, d flow.Destination, dataset, sql string, want ...[]any) {
	t.Helper()
	got := Rows(t, d, dataset, sql)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", sql, got, want)
	}
}

func tables(t *testing.T, d flow.Destination, dataset string) map[string]int64 {
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

func loads(t *testing.T, d flow.Destination, dataset string) []string {
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

func testAppend(t *testing.T, d flow.Destination) {
	items := &arrowbuf.Table{Name: "items", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint), Col("name", arrowbuf.TypeText))}
	Load(t, d, ds, "1700000000.1", flow.Commit{}, Batch(t, items, []any{1, "a", "1700000000.1", "r1"}, []any{2, "b", "1700000000.1", "r2"}))
	Load(t, d, ds, "1700000001.1", flow.Commit{}, Batch(t, items, []any{3, nil, "1700000001.1", "r3"}))
	check(t, d, ds, "SELECT id, name, _dlt_load_id FROM items ORDER BY id",
		[]any{int64(1), "a", "1700000000.1"}, []any{int64(2), "b", "1700000000.1"}, []any{int64(3), nil, "1700000001.1"})
	if got := tables(t, d, ds); !reflect.DeepEqual(got, map[string]int64{"items": 3}) {
		t.Errorf("Tables = %v", got)
	}
	if got := loads(t, d, ds); !reflect.DeepEqual(got, []string{"1700000001.1", "1700000000.1"}) {
		t.Errorf("Loads = %v, want newest first", got)
	}
}

func replaceTables() (*arrowbuf.Table, *arrowbuf.Table) {
	root := &arrowbuf.Table{Name: "r", WriteDisposition: arrowbuf.Replace,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	tags := &arrowbuf.Table{Name: "r__tags", Parent: "r",
		Columns: nestedCols(Col("value", arrowbuf.TypeText))}
	return root, tags
}

func testReplace(t *testing.T, d flow.Destination) {
	root, tags := replaceTables()
	Load(t, d, ds, "1", flow.Commit{Truncate: []string{"r", "r__tags"}},
		Batch(t, root, []any{1, "1", "a"}, []any{2, "1", "b"}),
		Batch(t, tags, []any{"x", "a", "a", 0, "t1"}, []any{"y", "a", "a", 1, "t2"}, []any{"z", "b", "b", 0, "t3"}))
	Load(t, d, ds, "2", flow.Commit{Truncate: []string{"r", "r__tags"}},
		Batch(t, root, []any{3, "2", "c"}),
		Batch(t, root, []any{4, "2", "d"}),
		Batch(t, tags, []any{"w", "c", "c", 0, "t4"}))
	check(t, d, ds, "SELECT id FROM r ORDER BY id", []any{int64(3)}, []any{int64(4)})
	check(t, d, ds, "SELECT value, _dlt_parent_id FROM r__tags", []any{"w", "c"})
	// A load whose nested table gets no rows still empties it.
	Load(t, d, ds, "3", flow.Commit{Truncate: []string{"r", "r__tags"}}, Batch(t, root, []any{5, "3", "e"}))
	check(t, d, ds, "SELECT id FROM r", []any{int64(5)})
	check(t, d, ds, "SELECT count(*) FROM r__tags", []any{int64(0)})
}

func mergeTables() (*arrowbuf.Table, *arrowbuf.Table) {
	id := Col("id", arrowbuf.TypeBigint)
	id.PrimaryKey, id.Nullable = true, false
	root := &arrowbuf.Table{Name: "m", WriteDisposition: arrowbuf.Merge,
		Columns: sysCols(id, Col("name", arrowbuf.TypeText))}
	items := &arrowbuf.Table{Name: "m__items", Parent: "m",
		Columns: nestedCols(Col("value", arrowbuf.TypeBigint))}
	return root, items
}

func testMerge(t *testing.T, d flow.Destination) {
	root, items := mergeTables()
	Load(t, d, ds, "1", flow.Commit{},
		Batch(t, root, []any{1, "one", "1", "a1"}, []any{2, "two", "1", "a2"}),
		Batch(t, items, []any{10, "a1", "a1", 0, "i1"}, []any{11, "a1", "a1", 1, "i2"}, []any{20, "a2", "a2", 0, "i3"}))
	// id 1 twice in one load: the later row wins, with its nested rows.
	Load(t, d, ds, "2", flow.Commit{},
		Batch(t, root, []any{1, "uno", "2", "b1"}, []any{3, "three", "2", "b3"}),
		Batch(t, items, []any{12, "b1", "b1", 0, "i4"}, []any{30, "b3", "b3", 0, "i5"}),
		Batch(t, root, []any{1, "eins", "2", "c1"}),
		Batch(t, items, []any{13, "c1", "c1", 0, "i6"}, []any{14, "c1", "c1", 1, "i7"}))
	check(t, d, ds, "SELECT id, name, _dlt_load_id FROM m ORDER BY id",
		[]any{int64(1), "eins", "2"}, []any{int64(2), "two", "1"}, []any{int64(3), "three", "2"})
	check(t, d, ds, "SELECT i.value, m.id FROM m__items i JOIN m ON i._dlt_root_id = m._dlt_id ORDER BY i.value",
		[]any{int64(13), int64(1)}, []any{int64(14), int64(1)}, []any{int64(20), int64(2)}, []any{int64(30), int64(3)})
	check(t, d, ds, "SELECT count(*) FROM m__items", []any{int64(4)})
	if got := tables(t, d, ds); !reflect.DeepEqual(got, map[string]int64{"m": 3, "m__items": 4}) {
		t.Errorf("Tables = %v", got)
	}
}

// testMergeCases runs merges of several key kinds, each into a dataset of
// its own: loads run in order, then each query returns its rows.
func testMergeCases(t *testing.T, d flow.Destination) {
	pkCol := func(name string, typ arrowbuf.DataType) *arrowbuf.Column {
		c := Col(name, typ)
		c.PrimaryKey = true
		return c
	}
	root := func(name string, cols ...*arrowbuf.Column) *arrowbuf.Table {
		return &arrowbuf.Table{Name: name, WriteDisposition: arrowbuf.Merge, Columns: sysCols(cols...)}
	}
	nested := func(name, parent string) *arrowbuf.Table {
		return &arrowbuf.Table{Name: name, Parent: parent, Columns: nestedCols(Col("value", arrowbuf.TypeBigint))}
	}
	// keyType: a primary key of one column of a type; load 2 updates k1.
	type query struct {
		query string
		want  [][]any
	}
	type mergeCase struct {
		name   string
		loads  func(t *testing.T) [][]arrowbuf.TableBatch
		checks []query
	}
	keyType := func(name string, key *arrowbuf.Column, k1, k2 any) mergeCase {
		key.PrimaryKey = true
		tb := root("k", key, Col("v", arrowbuf.TypeBigint))
		return mergeCase{name, func(t *testing.T) [][]arrowbuf.TableBatch {
			return [][]arrowbuf.TableBatch{
				{Batch(t, tb, []any{k1, 1, "1", "a"}, []any{k2, 2, "1", "b"})},
				{Batch(t, tb, []any{k1, 3, "2", "c"})},
			}
		}, []query{{"SELECT v, _dlt_load_id FROM k ORDER BY v", [][]any{{int64(2), "1"}, {int64(3), "2"}}}}}
	}
	dec := Col("key", arrowbuf.TypeDecimal)
	dec.Precision, dec.Scale = 10, 2
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	cases := []mergeCase{
		{"CompoundPrimaryKey", func(t *testing.T) [][]arrowbuf.TableBatch {
			tb := root("c", pkCol("a", arrowbuf.TypeBigint), pkCol("b", arrowbuf.TypeText), Col("v", arrowbuf.TypeText))
			return [][]arrowbuf.TableBatch{
				{Batch(t, tb, []any{1, "x", "one", "1", "a"}, []any{1, "y", "two", "1", "b"}, []any{2, "x", "three", "1", "c"})},
				{Batch(t, tb, []any{1, "y", "TWO", "2", "d"}, []any{2, "y", "four", "2", "e"})},
			}
		}, []query{{"SELECT a, b, v, _dlt_load_id FROM c ORDER BY a, b", [][]any{
			{int64(1), "x", "one", "1"}, {int64(1), "y", "TWO", "2"}, {int64(2), "x", "three", "1"}, {int64(2), "y", "four", "2"}}}}},
		// A merge key replaces every earlier row of its values; rows of one
		// load are not deduplicated by it.
		{"MergeKey", func(t *testing.T) [][]arrowbuf.TableBatch {
			dk := Col("day", arrowbuf.TypeText)
			dk.MergeKey = true
			tb := root("e", dk, Col("v", arrowbuf.TypeBigint))
			return [][]arrowbuf.TableBatch{
				{Batch(t, tb, []any{"d1", 1, "1", "a"}, []any{"d1", 2, "1", "b"}, []any{"d2", 3, "1", "c"})},
				{Batch(t, tb, []any{"d1", 4, "2", "d"}, []any{"d1", 5, "2", "e"})},
			}
		}, []query{{"SELECT day, v FROM e ORDER BY v", [][]any{{"d2", int64(3)}, {"d1", int64(4)}, {"d1", int64(5)}}}}},
		// Both keys: an earlier row goes when either matches.
		{"PrimaryAndMergeKey", func(t *testing.T) [][]arrowbuf.TableBatch {
			dk := Col("day", arrowbuf.TypeText)
			dk.MergeKey = true
			tb := root("e", pkCol("id", arrowbuf.TypeBigint), dk)
			return [][]arrowbuf.TableBatch{
				{Batch(t, tb, []any{1, "d1", "1", "a"}, []any{2, "d1", "1", "b"}, []any{3, "d2", "1", "c"}, []any{4, "d3", "1", "d"})},
				{Batch(t, tb, []any{3, "d1", "2", "e"})},
			}
		}, []query{{"SELECT id, day, _dlt_load_id FROM e ORDER BY id", [][]any{{int64(3), "d1", "2"}, {int64(4), "d3", "1"}}}}},
		// Nested rows two levels deep go with their root row, through
		// _dlt_root_id: replaced by a later load, or losing within one.
		{"NestedTwoLevels", func(t *testing.T) [][]arrowbuf.TableBatch {
			r := root("r", pkCol("id", arrowbuf.TypeBigint))
			a, b := nested("r__a", "r"), nested("r__a__b", "r__a")
			return [][]arrowbuf.TableBatch{
				{Batch(t, r, []any{1, "1", "r1"}, []any{2, "1", "r2"}),
					Batch(t, a, []any{10, "r1", "r1", 0, "a1"}, []any{20, "r2", "r2", 0, "a2"}),
					Batch(t, b, []any{100, "r1", "a1", 0, "b1"}, []any{200, "r2", "a2", 0, "b2"})},
				{Batch(t, r, []any{1, "2", "s1"}),
					Batch(t, a, []any{11, "s1", "s1", 0, "a3"}),
					Batch(t, b, []any{110, "s1", "a3", 0, "b3"}, []any{111, "s1", "a3", 1, "b4"})},
				{Batch(t, r, []any{2, "3", "t2"}),
					Batch(t, a, []any{21, "t2", "t2", 0, "a4"}),
					Batch(t, b, []any{210, "t2", "a4", 0, "b5"}),
					Batch(t, r, []any{2, "3", "u2"}),
					Batch(t, a, []any{22, "u2", "u2", 0, "a5"}),
					Batch(t, b, []any{220, "u2", "a5", 0, "b6"})},
			}
		}, []query{
			{"SELECT id, _dlt_load_id FROM r ORDER BY id", [][]any{{int64(1), "2"}, {int64(2), "3"}}},
			{"SELECT value FROM r__a ORDER BY value", [][]any{{int64(11)}, {int64(22)}}},
			{"SELECT value FROM r__a__b ORDER BY value", [][]any{{int64(110)}, {int64(111)}, {int64(220)}}},
		}},
		// A null key matches no earlier row, not even another null.
		{"NullKey", func(t *testing.T) [][]arrowbuf.TableBatch {
			tb := root("n", pkCol("id", arrowbuf.TypeBigint), Col("v", arrowbuf.TypeBigint))
			return [][]arrowbuf.TableBatch{
				{Batch(t, tb, []any{nil, 1, "1", "a"}, []any{1, 2, "1", "b"})},
				{Batch(t, tb, []any{nil, 3, "2", "c"}, []any{1, 4, "2", "d"})},
			}
		}, []query{{"SELECT v FROM n ORDER BY v", [][]any{{int64(1)}, {int64(3)}, {int64(4)}}}}},
		keyType("TextKey", Col("key", arrowbuf.TypeText), "k1", "k2"),
		keyType("TimestampKey", Col("key", arrowbuf.TypeTimestamp), time.Date(2024, 3, 1, 12, 0, 0, 5000, time.UTC), time.Date(2024, 3, 1, 12, 0, 0, 6000, time.UTC)),
		keyType("DateKey", Col("key", arrowbuf.TypeDate), day(1), day(2)),
		keyType("DecimalKey", dec, "1.50", "1.51"),
		keyType("DoubleKey", Col("key", arrowbuf.TypeDouble), 0.5, 1.5),
		keyType("BoolKey", Col("key", arrowbuf.TypeBool), true, false),
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dataset := fmt.Sprintf("mc%d", i)
			for j, batches := range tc.loads(t) {
				Load(t, d, dataset, fmt.Sprint(j+1), flow.Commit{}, batches...)
			}
			for _, c := range tc.checks {
				got := Rows(t, d, dataset, c.query)
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s:\n got %v\nwant %v", c.query, got, c.want)
				}
			}
		})
	}
}

func testMergeKeyless(t *testing.T, d flow.Destination) {
	tb := &arrowbuf.Table{Name: "k", WriteDisposition: arrowbuf.Merge,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", flow.Commit{}, Batch(t, tb, []any{1, "1", "a"}))
	Load(t, d, ds, "2", flow.Commit{}, Batch(t, tb, []any{1, "2", "b"}))
	check(t, d, ds, "SELECT count(*) FROM k", []any{int64(2)})
}

func testSchemaEvolution(t *testing.T, d flow.Destination) {
	v1 := &arrowbuf.Table{Name: "e", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	v2 := v1.Clone()
	v2.Columns = append(v2.Columns, Col("extra", arrowbuf.TypeText))
	other := &arrowbuf.Table{Name: "late", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("x", arrowbuf.TypeDouble))}
	Load(t, d, ds, "1", flow.Commit{},
		Batch(t, v1, []any{1, "1", "a"}),
		Batch(t, v2, []any{2, "1", "b", "more"}),
		Batch(t, other, []any{1.5, "1", "c"}))
	check(t, d, ds, "SELECT id, extra FROM e ORDER BY id", []any{int64(1), nil}, []any{int64(2), "more"})
	check(t, d, ds, "SELECT x FROM late", []any{1.5})
	// A later load with the old snapshot still works.
	Load(t, d, ds, "2", flow.Commit{}, Batch(t, v1, []any{3, "2", "d"}))
	check(t, d, ds, "SELECT count(*), count(extra) FROM e", []any{int64(3), int64(1)})
}

func testRollback(t *testing.T, d flow.Destination) {
	ctx := context.Background()
	tb := &arrowbuf.Table{Name: "rb", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", flow.Commit{}, Batch(t, tb, []any{1, "1", "a"}))
	l, err := d.Begin(ctx, flow.LoadRequest{Dataset: ds, LoadID: "2", SchemaName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(ctx, Batch(t, tb, []any{2, "2", "b"})); err != nil {
		t.Fatal(err)
	}
	newTb := &arrowbuf.Table{Name: "rb_new", Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	if err := l.Write(ctx, Batch(t, newTb, []any{2, "2", "b"})); err != nil {
		t.Fatal(err)
	}
	if err := l.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := l.Rollback(); err != nil {
		t.Fatalf("second Rollback: %v", err)
	}
	check(t, d, ds, "SELECT id FROM rb", []any{int64(1)})
	if got := tables(t, d, ds); got["rb_new"] != 0 {
		t.Errorf("rolled back table has rows: %v", got)
	}
	if got := loads(t, d, ds); !reflect.DeepEqual(got, []string{"1"}) {
		t.Errorf("Loads = %v", got)
	}
	if _, err := d.LastState(ctx, ds, "p"); !errors.Is(err, flow.ErrNoState) {
		t.Errorf("LastState = %v, want ErrNoState", err)
	}
}

func testFailedCommit(t *testing.T, d flow.Destination) {
	tb := &arrowbuf.Table{Name: "fc", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", flow.Commit{}, Batch(t, tb, []any{1, "1", "a"}))
	ctx, cancel := context.WithCancel(context.Background())
	l, err := d.Begin(ctx, flow.LoadRequest{Dataset: ds, LoadID: "2", SchemaName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(ctx, Batch(t, tb, []any{2, "2", "b"})); err != nil {
		t.Fatal(err)
	}
	cancel()
	st := &flow.StoredState{PipelineName: "p", Version: 1, EngineVersion: 4, State: "s", Hash: "h"}
	if err := l.Commit(ctx, flow.Commit{State: st}); err == nil {
		t.Fatal("Commit with a cancelled context succeeded")
	}
	_ = l.Rollback()
	check(t, d, ds, "SELECT id FROM fc", []any{int64(1)})
	if got := loads(t, d, ds); !reflect.DeepEqual(got, []string{"1"}) {
		t.Errorf("Loads = %v", got)
	}
	if _, err := d.LastState(context.Background(), ds, "p"); !errors.Is(err, flow.ErrNoState) {
		t.Errorf("LastState = %v, want ErrNoState", err)
	}
}

func testState(t *testing.T, d flow.Destination) {
	ctx := context.Background()
	if _, err := d.LastState(ctx, ds, "p"); !errors.Is(err, flow.ErrNoState) {
		t.Fatalf("LastState on empty destination = %v, want ErrNoState", err)
	}
	if _, err := d.LastSchema(ctx, ds, "test"); !errors.Is(err, flow.ErrNoState) {
		t.Fatalf("LastSchema on empty destination = %v, want ErrNoState", err)
	}
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	s1 := &flow.StoredState{PipelineName: "p", Version: 1, EngineVersion: 4, State: "eNoBAAAA", Hash: "h1", CreatedAt: created}
	Load(t, d, ds, "1", flow.Commit{State: s1, SchemaJSON: []byte(`{"name":"test","version":1}`), SchemaVersion: 1, SchemaHash: "sh1"})
	s2 := &flow.StoredState{PipelineName: "p", Version: 2, EngineVersion: 4, State: "eNoCAAAA", Hash: "h2", CreatedAt: created.Add(time.Hour)}
	other := &flow.StoredState{PipelineName: "q", Version: 9, EngineVersion: 4, State: "other", Hash: "hq", CreatedAt: created}
	Load(t, d, ds, "2", flow.Commit{State: s2, SchemaJSON: []byte(`{"name":"test","version":2}`), SchemaVersion: 2, SchemaHash: "sh2"})
	Load(t, d, ds, "3", flow.Commit{State: other})
	got, err := d.LastState(ctx, ds, "p")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s2) {
		t.Errorf("LastState = %+v, want %+v", got, s2)
	}
	sch, err := d.LastSchema(ctx, ds, "test")
	if err != nil {
		t.Fatal(err)
	}
	if string(sch) != `{"name":"test","version":2}` {
		t.Errorf("LastSchema = %s", sch)
	}
	if _, err := d.LastState(ctx, ds, "nobody"); !errors.Is(err, flow.ErrNoState) {
		t.Errorf("LastState of unknown pipeline = %v", err)
	}
	if _, err := d.LastState(ctx, "no_such_dataset", "p"); !errors.Is(err, flow.ErrNoState) {
		t.Errorf("LastState of unknown dataset = %v", err)
	}
}

func testTruncateDrop(t *testing.T, d flow.Destination) {
	a := &arrowbuf.Table{Name: "ta", WriteDisposition: arrowbuf.Append, Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	b := &arrowbuf.Table{Name: "tb", WriteDisposition: arrowbuf.Append, Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", flow.Commit{}, Batch(t, a, []any{1, "1", "a"}), Batch(t, b, []any{1, "1", "b"}))
	Load(t, d, ds, "2", flow.Commit{Truncate: []string{"ta", "missing"}, Drop: []string{"tb", "missing_too"}})
	got := tables(t, d, ds)
	if _, ok := got["tb"]; ok {
		t.Errorf("dropped table still listed: %v", got)
	}
	if n, ok := got["ta"]; !ok || n != 0 {
		t.Errorf("truncated table: %v", got)
	}
}

func testTypes(t *testing.T, d flow.Destination) {
	noTZ := false
	ts := Col("ts_naive", arrowbuf.TypeTimestamp)
	ts.Timezone = &noTZ
	dec := Col("amount", arrowbuf.TypeDecimal)
	dec.Precision, dec.Scale = 18, 3
	// A scale without a precision takes dlt's default precision only:
	// decimal(38,2), as arrowbuf.ArrowType gives it.
	scaled := Col("cents", arrowbuf.TypeDecimal)
	scaled.Scale = 2
	tb := &arrowbuf.Table{Name: "typed", WriteDisposition: arrowbuf.Append, Columns: sysCols(
		Col("i", arrowbuf.TypeBigint), Col("f", arrowbuf.TypeDouble), Col("b", arrowbuf.TypeBool),
		Col("s", arrowbuf.TypeText), Col("ts", arrowbuf.TypeTimestamp), ts, Col("d", arrowbuf.TypeDate),
		Col("tm", arrowbuf.TypeTime), dec, Col("dd", arrowbuf.TypeDecimal), scaled, Col("j", arrowbuf.TypeJSON),
		Col("bin", arrowbuf.TypeBinary))}
	when := time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)
	Load(t, d, ds, "1", flow.Commit{}, Batch(t, tb,
		[]any{-7, 2.5, true, "héllo", when, when, when, 13*time.Hour + 14*time.Minute + 15*time.Second + 16*time.Microsecond,
			"12345.678", "1.5", "9.99", `{"a":[1,2,{"b":null}]}`, []byte{0, 1, 255}, "1", "x"},
		[]any{nil, nil, false, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, "1", "y"}))
	// Decimals read as Arrow decimals, formatted at their scale: dd is
	// dlt's default decimal(38,9).
	check(t, d, ds, "SELECT i, f, b, s, ts, ts_naive, d, tm, amount, dd, cents, j, bin FROM typed ORDER BY _dlt_id",
		[]any{int64(-7), 2.5, true, "héllo", when, when, "2024-02-29", 13*time.Hour + 14*time.Minute + 15*time.Second + 16*time.Microsecond,
			"12345.678", "1.500000000", "9.99", `{"a":[1,2,{"b":null}]}`, []byte{0, 1, 255}},
		[]any{nil, nil, false, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil})
	// Table streams the columns with the Arrow types the batches carried.
	r, err := d.OpenDataset(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr, err := r.Table(context.Background(), "typed")
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	sch := rr.Schema()
	for _, c := range tb.Columns {
		i := sch.FieldIndices(c.Name)
		if len(i) != 1 {
			t.Errorf("Table(typed): column %s missing from %s", c.Name, sch)
			continue
		}
		if f := sch.Field(i[0]); !arrow.TypeEqual(f.Type, arrowbuf.ArrowType(c)) {
			t.Errorf("Table(typed): column %s is %s, want %s", c.Name, f.Type, arrowbuf.ArrowType(c))
		}
	}
}

func testManyRows(t *testing.T, d flow.Destination) {
	tb := &arrowbuf.Table{Name: "many", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint), Col("maybe", arrowbuf.TypeText))}
	const n = 10000
	rows := make([][]any, n)
	for i := range rows {
		var maybe any
		if i%3 == 0 {
			maybe = fmt.Sprint(i)
		}
		rows[i] = []any{i, maybe, "1", fmt.Sprintf("id%d", i)}
	}
	Load(t, d, ds, "1", flow.Commit{}, Batch(t, tb, rows...))
	check(t, d, ds, "SELECT count(*), count(maybe), CAST(sum(id) AS BIGINT), count(DISTINCT _dlt_id) FROM many",
		[]any{int64(n), int64((n + 2) / 3), int64(n * (n - 1) / 2), int64(n)})
	check(t, d, ds, "SELECT count(*) FROM many WHERE (id % 3 = 0) <> (maybe IS NOT NULL) OR maybe <> CAST(id AS VARCHAR)", []any{int64(0)})
}

// testQueryReadOnly: the reader's Query cannot change the dataset, and the
// connection it used serves reads again afterwards.
func testQueryReadOnly(t *testing.T, d flow.Destination) {
	tb := &arrowbuf.Table{Name: "ro", WriteDisposition: arrowbuf.Append, Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", flow.Commit{}, Batch(t, tb, []any{1, "1", "a"}))
	ctx := context.Background()
	r, err := d.OpenDataset(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, q := range []string{"DELETE FROM ro", "DROP TABLE ro", "CREATE TABLE junk AS SELECT 1 AS x", "INSERT INTO ro SELECT * FROM ro"} {
		for range 3 { // more times than the pool has idle connections
			rr, err := r.Query(ctx, q)
			if err == nil {
				for rr.Next() {
				}
				err = rr.Err()
				rr.Release()
			}
			if err == nil {
				t.Errorf("Query(%q) succeeded on a read-only reader", q)
			}
		}
	}
	check(t, d, ds, "SELECT count(*) FROM ro", []any{int64(1)})
	if got := tables(t, d, ds); !reflect.DeepEqual(got, map[string]int64{"ro": 1}) {
		t.Errorf("Tables = %v", got)
	}
}
