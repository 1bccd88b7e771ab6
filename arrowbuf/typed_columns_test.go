package arrowbuf

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTypedColumnTypes checks the Go type -> dlt type mapping on a
// normalizer, values included: floats are double whatever the value,
// every column exists from the first row in field order, nulls where a
// pointer is nil or a sql.Null is not valid.
func TestTypedColumnTypes(t *testing.T) {
	type row struct {
		I    int
		I8   int8
		U16  uint16
		U64  uint64
		F32  float32
		F    float64
		B    bool
		S    string
		Blob []byte
		At   time.Time
		Day  Date
		Raw  json.RawMessage
		Any  any
		M    map[string]any
		P    *int64
		NS   sql.NullString
		NT   sql.NullTime
		NI   sql.Null[int32]
	}
	rows := []row{
		{I: 1, I8: -2, U16: 3, U64: 4, F32: 1, F: 3, B: true, S: "s", Blob: []byte{0, 1}, At: t0, Day: Date{2024, 2, 29},
			Raw: json.RawMessage(`{ "a" : [1, 2] }`), Any: "x", M: map[string]any{"k": 1}, P: ptr(int64(5)),
			NS: sql.NullString{String: "n", Valid: true}, NT: sql.NullTime{Time: t0, Valid: true}, NI: sql.Null[int32]{V: 6, Valid: true}},
		{F: 4.5},
	}
	got, err := normalizeDump(t, nil, func(n *Normalizer) error { return n.AppendTyped("t", TypedOf(rows)) })
	if err != nil {
		t.Fatal(err)
	}
	d := got["t"]
	// An any field keeps its place; a map's keys come after the type's
	// columns, as they are known only from the data.
	wantCols := "i bigint, i8 bigint, u16 bigint, u64 bigint, f32 double, f double, b bool, s text, blob binary, " +
		"at timestamp, day date, raw json, any text, p bigint, ns text, nt timestamp, ni bigint, m__k bigint, " +
		"_dlt_load_id text not null, _dlt_id text not null"
	if g := strings.Join(d.cols, ", "); g != wantCols {
		t.Errorf("columns\n got  %s\n want %s", g, wantCols)
	}
	want := [][]string{
		{"1", "-2", "3", "4", "1", "3", "true", "s", "AAE=", "2024-01-01T00:00:00Z", "2024-02-29", `{"a":[1,2]}`, "x", "5", "n", "2024-01-01T00:00:00Z", "6", "1", "1", "id1"},
		{"0", "0", "0", "0", "0", "4.5", "false", "", "null", "0001-01-01T00:00:00Z", "null", "null", "null", "null", "null", "null", "null", "null", "1", "id2"},
	}
	if !slices.EqualFunc(d.rows, want, slices.Equal) {
		t.Errorf("rows\n got  %v\n want %v", d.rows, want)
	}
}

// TestTypedTags checks the sluice tag's hints on the columns a type makes,
// and values coerced to a hinted type other than the Go type's.
func TestTypedTags(t *testing.T) {
	type row struct {
		ID     int64    `sluice:"user_id,primary_key"`
		Price  float64  `sluice:",data_type=decimal(10,2)"`
		Amount string   `json:"amount" sluice:",data_type=decimal,precision=12,scale=3"`
		Code   int      `sluice:"code,data_type=text,not_null"`
		Group  string   `sluice:",merge_key"`
		Attrs  flatAddr `sluice:"attrs,data_type=json"`
		Never  *string
	}
	got, err := normalizeDump(t, nil, func(n *Normalizer) error {
		return n.AppendTyped("t", TypedOf([]row{{ID: 1, Price: 9.99, Amount: "1.5", Code: 42, Group: "g", Attrs: flatAddr{City: "Pune"}}}))
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCols := "user_id bigint not null pk, price decimal(10,2), amount decimal(12,3), code text not null, group text mk, attrs json, never text, _dlt_load_id text not null, _dlt_id text not null"
	if g := strings.Join(got["t"].cols, ", "); g != wantCols {
		t.Errorf("columns\n got  %s\n want %s", g, wantCols)
	}
	wantRow := []string{"1", "9.99", "1.5", "42", "g", `{"city":"Pune","zip":""}`, "null", "1", "id1"}
	if !slices.Equal(got["t"].rows[0], wantRow) {
		t.Errorf("row %v, want %v", got["t"].rows[0], wantRow)
	}
}

// TestTypedValuesMeetOtherTypes checks that a column whose type is not the
// Go type's (from hints or an earlier load) gets values coerced as the
// maps path coerces them, and variant columns where they do not fit.
func TestTypedValuesMeetOtherTypes(t *testing.T) {
	type row struct {
		N   uint64 `json:"n"`
		Txt int    `json:"txt"`
	}
	hints := &TableHints{Columns: []Column{{Name: "txt", DataType: TypeText, Nullable: true}}}
	items := []row{{N: 1, Txt: 5}, {N: math.MaxUint64, Txt: 6}}
	got, err := normalizeDump(t, hints, func(n *Normalizer) error { return n.AppendTyped("t", TypedOf(items)) })
	if err != nil {
		t.Fatal(err)
	}
	maps, err := normalizeDump(t, hints, func(n *Normalizer) error {
		return n.AppendItems("t", []any{map[string]any{"n": uint64(1), "txt": 5}, map[string]any{"n": uint64(math.MaxUint64), "txt": 6}})
	})
	if err != nil {
		t.Fatal(err)
	}
	compareDumps(t, "typed", got, maps)
	if cols := strings.Join(got["t"].cols, ", "); !strings.Contains(cols, "n__v_decimal") {
		t.Errorf("columns %s: want a decimal variant of n", cols)
	}
}

// TestTypedErrors checks that a bad type or value fails with one line
// naming the type, field or column.
func TestTypedErrors(t *testing.T) {
	type badTag struct {
		A int `sluice:",primarykey"`
	}
	type badType struct {
		C chan int
	}
	type dup struct {
		A int `json:"x"`
		B int `json:"X"`
	}
	type flatDup struct {
		AB string `json:"a__b"`
		A  struct{ B string }
	}
	type notNull struct {
		A *int `sluice:",not_null"`
	}
	cases := []struct {
		name  string
		items Typed
		want  string
	}{
		{"unknown tag option", TypedOf([]badTag{{}}), `type arrowbuf.badTag: field A: sluice tag: unknown option "primarykey"`},
		{"unsupported field type", TypedOf([]badType{{}}), "field C: unsupported Go type chan int"},
		{"two fields, one column", TypedOf([]dup{{}}), `fields A and B both make column "x"`},
		{"flattened names meet", TypedOf([]flatDup{{}}), `fields AB and B both make column "a__b"`},
		{"nil in a not null column", TypedOf([]notNull{{}}), `column "a" is not nullable`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := normalizeDump(t, nil, func(n *Normalizer) error { return n.AppendTyped("t", c.items) })
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line with %q", err, c.want)
			}
		})
	}
}

// TestTypedSelfNesting checks a type that contains itself: lists of it are
// nested tables of nested tables, a pointer to it is read as its data goes.
func TestTypedSelfNesting(t *testing.T) {
	type node struct {
		Name string  `json:"name"`
		Kids []node  `json:"kids"`
		Up   *node   `json:"up"`
		W    float64 `json:"w"`
	}
	items := []node{{Name: "root", W: 0.5, Kids: []node{{Name: "kid", W: 1.5, Kids: []node{{Name: "grandkid", W: 2.5}}}}, Up: &node{Name: "top", W: 0.25}}}
	// The pointer's columns come from its data, after the type's own.
	want, err := normalizeDump(t, nil, jsonFeed(t, `[{"name":"root","kids":[{"name":"kid","kids":[{"name":"grandkid","kids":null,"w":2.5,"up":null}],"w":1.5,"up":null}],"w":0.5,"up":{"name":"top","kids":null,"w":0.25,"up":null}}]`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := normalizeDump(t, nil, func(n *Normalizer) error { return n.AppendTyped("t", TypedOf(items)) })
	if err != nil {
		t.Fatal(err)
	}
	compareDumps(t, "typed", got, want)
}

// TestColumnsOf checks the columns a type declares, without data.
func TestColumnsOf(t *testing.T) {
	type row struct {
		ID    int64 `sluice:",primary_key"`
		Addr  flatAddr
		Items []line
		Extra map[string]any
		Note  *string `sluice:",data_type=text"`
	}
	cols, err := ColumnsOf(reflect.TypeFor[*row]())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cols {
		got = append(got, fmt.Sprintf("%s:%s:%v:%v", c.Name, c.DataType, c.Nullable, c.PrimaryKey))
	}
	want := "id:bigint:false:true addr__city:text:true:false addr__zip:text:true:false note:text:true:false"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
	if _, err := ColumnsOf(reflect.TypeFor[int]()); err == nil {
		t.Error("ColumnsOf(int): no error")
	}
}

type keyedUser struct {
	ID   int64  `sluice:",primary_key"`
	Name string `sluice:",not_null"`
	Tags []string
}

// TestTypedAllocations checks that appending typed rows allocates nothing
// per row once the builders have grown (a type's layout is made once, not
// per batch or per row), nested rows included.
func TestTypedAllocations(t *testing.T) {
	flat := make([]flatUser, 1000)
	keyed := make([]keyedUser, 1000)
	for i := range flat {
		flat[i] = flatUser{ID: int64(i), Name: "n", Email: "e", Score: float64(i) / 7, CreatedAt: t0, Address: flatAddr{"c", "z"}}
		keyed[i] = keyedUser{ID: int64(i), Name: "n"}
	}
	cases := []struct {
		name   string
		batch  Typed
		hints  TableHints
		perRow float64
	}{
		{"flat", TypedOf(flat), TableHints{}, 0.01},
		{"keys and not null", TypedOf(keyed), TableHints{}, 0.01},
		{"merge: nested table ids", TypedOf([]keyedUser{{ID: 1, Name: "n", Tags: []string{"a", "b"}}}), TableHints{WriteDisposition: Merge}, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewSchema("a")
			if err := s.ApplyHints("t", "t", c.hints); err != nil {
				t.Fatal(err)
			}
			n := NewNormalizer(s, "1", func(tb TableBatch) error { tb.Release(); return nil }, WithBatchRows(1<<30))
			defer n.Release()
			if err := n.AppendTyped("t", c.batch); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(20, func() {
				if err := n.AppendTyped("t", c.batch); err != nil {
					t.Fatal(err)
				}
			})
			if perRow := allocs / float64(c.batch.Len()); perRow > c.perRow {
				t.Errorf("%.3f allocations per row, want at most %v", perRow, c.perRow)
			}
		})
	}
}

// TestMapsKeySetChanges checks the maps path's cache of sorted keys: maps
// whose keys change from row to row (the same number of keys, another
// set) load as their JSON in sorted key order does, each list once.
func TestMapsKeySetChanges(t *testing.T) {
	rows := []any{
		map[string]any{"a": []any{1}, "b": 1},
		map[string]any{"a": []any{2}, "c": 1},
		map[string]any{"a": []any{3}, "c": 2},
		map[string]any{"a": []any{4}, "b": 2, "n": map[string]any{"x": 1}},
		map[string]any{"a": []any{5}, "b": 3, "n": map[string]any{"y": 1}},
	}
	want, err := normalizeDump(t, nil, jsonFeed(t, `[{"a":[1],"b":1},{"a":[2],"c":1},{"a":[3],"c":2},{"a":[4],"b":2,"n":{"x":1}},{"a":[5],"b":3,"n":{"y":1}}]`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := normalizeDump(t, nil, func(n *Normalizer) error { return n.AppendItems("t", rows) })
	if err != nil {
		t.Fatal(err)
	}
	compareDumps(t, "maps", got, want)
	if len(got["t__a"].rows) != 5 {
		t.Errorf("t__a has %d rows, want 5", len(got["t__a"].rows))
	}
}

// TestTypedContractDiscards checks that a contract that discards rows or
// values sees struct rows as it sees their JSON: nothing is appended of a
// row it drops.
func TestTypedContractDiscards(t *testing.T) {
	type row struct {
		N string `json:"n"`
		M string `json:"m"`
	}
	for _, mode := range []ContractMode{DiscardRow, DiscardValue} {
		t.Run(string(mode), func(t *testing.T) {
			hints := &TableHints{Contract: &Contract{DataType: mode}, Columns: []Column{{Name: "n", DataType: TypeBigint, Nullable: true}}}
			// Contracts apply once the table has seen data: a first load.
			first, rest := jsonFeed(t, `[{"n":"0","m":"-"}]`), jsonFeed(t, `[{"n":"1","m":"a"},{"n":"x","m":"b"},{"n":"3","m":"c"}]`)
			want, err := normalizeDump(t, hints, func(n *Normalizer) error {
				if err := first(n); err != nil {
					return err
				}
				if err := n.Flush(); err != nil {
					return err
				}
				return rest(n)
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := normalizeDump(t, hints, func(n *Normalizer) error {
				if err := n.AppendTyped("t", TypedOf([]row{{"0", "-"}})); err != nil {
					return err
				}
				if err := n.Flush(); err != nil {
					return err
				}
				return n.AppendTyped("t", TypedOf([]row{{"1", "a"}, {"x", "b"}, {"3", "c"}}))
			})
			if err != nil {
				t.Fatal(err)
			}
			compareDumps(t, "typed", got, want)
		})
	}
}
