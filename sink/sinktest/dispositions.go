package sinktest

import (
	"github.com/sluicehq/sluice/sink"

	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
)

func testAppend(t *testing.T, d sink.Destination) {
	items := &arrowbuf.Table{Name: "items", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint), Col("name", arrowbuf.TypeText))}
	Load(t, d, ds, "1700000000.1", sink.Commit{}, Batch(t, items, []any{1, "a", "1700000000.1", "r1"}, []any{2, "b", "1700000000.1", "r2"}))
	Load(t, d, ds, "1700000001.1", sink.Commit{}, Batch(t, items, []any{3, nil, "1700000001.1", "r3"}))
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

func testReplace(t *testing.T, d sink.Destination) {
	root, tags := replaceTables()
	Load(t, d, ds, "1", sink.Commit{Truncate: []string{"r", "r__tags"}},
		Batch(t, root, []any{1, "1", "a"}, []any{2, "1", "b"}),
		Batch(t, tags, []any{"x", "a", "a", 0, "t1"}, []any{"y", "a", "a", 1, "t2"}, []any{"z", "b", "b", 0, "t3"}))
	Load(t, d, ds, "2", sink.Commit{Truncate: []string{"r", "r__tags"}},
		Batch(t, root, []any{3, "2", "c"}),
		Batch(t, root, []any{4, "2", "d"}),
		Batch(t, tags, []any{"w", "c", "c", 0, "t4"}))
	check(t, d, ds, "SELECT id FROM r ORDER BY id", []any{int64(3)}, []any{int64(4)})
	check(t, d, ds, "SELECT value, _dlt_parent_id FROM r__tags", []any{"w", "c"})
	// A load whose nested table gets no rows still empties it.
	Load(t, d, ds, "3", sink.Commit{Truncate: []string{"r", "r__tags"}}, Batch(t, root, []any{5, "3", "e"}))
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

func testMerge(t *testing.T, d sink.Destination) {
	root, items := mergeTables()
	Load(t, d, ds, "1", sink.Commit{},
		Batch(t, root, []any{1, "one", "1", "a1"}, []any{2, "two", "1", "a2"}),
		Batch(t, items, []any{10, "a1", "a1", 0, "i1"}, []any{11, "a1", "a1", 1, "i2"}, []any{20, "a2", "a2", 0, "i3"}))
	// id 1 twice in one load: the later row wins, with its nested rows.
	Load(t, d, ds, "2", sink.Commit{},
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
func testMergeCases(t *testing.T, d sink.Destination) {
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
				Load(t, d, dataset, fmt.Sprint(j+1), sink.Commit{}, batches...)
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

func testMergeKeyless(t *testing.T, d sink.Destination) {
	tb := &arrowbuf.Table{Name: "k", WriteDisposition: arrowbuf.Merge,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", sink.Commit{}, Batch(t, tb, []any{1, "1", "a"}))
	Load(t, d, ds, "2", sink.Commit{}, Batch(t, tb, []any{1, "2", "b"}))
	check(t, d, ds, "SELECT count(*) FROM k", []any{int64(2)})
}

func testSchemaEvolution(t *testing.T, d sink.Destination) {
	v1 := &arrowbuf.Table{Name: "e", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	v2 := v1.Clone()
	v2.Columns = append(v2.Columns, Col("extra", arrowbuf.TypeText))
	other := &arrowbuf.Table{Name: "late", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("x", arrowbuf.TypeDouble))}
	Load(t, d, ds, "1", sink.Commit{},
		Batch(t, v1, []any{1, "1", "a"}),
		Batch(t, v2, []any{2, "1", "b", "more"}),
		Batch(t, other, []any{1.5, "1", "c"}))
	check(t, d, ds, "SELECT id, extra FROM e ORDER BY id", []any{int64(1), nil}, []any{int64(2), "more"})
	check(t, d, ds, "SELECT x FROM late", []any{1.5})
	// A later load with the old snapshot still works.
	Load(t, d, ds, "2", sink.Commit{}, Batch(t, v1, []any{3, "2", "d"}))
	check(t, d, ds, "SELECT count(*), count(extra) FROM e", []any{int64(3), int64(1)})
}
