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

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

// dump is what a normalizer made of a table: its columns (name, type,
// nullability, keys) and its rows as text, with row ids replaced by their
// order of first appearance so that two runs compare, links included.
type dump struct {
	cols []string
	rows [][]string
}

// normalizeDump runs feed on a fresh normalizer of a schema with hints on
// table t, and dumps every table it made, by name.
func normalizeDump(t *testing.T, hints *TableHints, feed func(n *Normalizer) error) (map[string]*dump, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewSchema("d")
	if hints != nil {
		if err := s.ApplyHints("t", "t", *hints); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*dump{}
	ids := map[string]string{}
	n := NewNormalizer(s, "1", func(tb TableBatch) error {
		defer tb.Record.Release()
		if err := checkBatch(tb); err != nil {
			return err
		}
		d := out[tb.Table.Name]
		if d == nil {
			d = &dump{}
			out[tb.Table.Name] = d
		}
		var cols []string
		for _, c := range tb.Table.Columns {
			desc := fmt.Sprintf("%s %s", c.Name, c.DataType)
			if c.Precision != 0 {
				desc += fmt.Sprintf("(%d,%d)", c.Precision, c.Scale)
			}
			if !c.Nullable {
				desc += " not null"
			}
			if c.PrimaryKey {
				desc += " pk"
			}
			if c.MergeKey {
				desc += " mk"
			}
			cols = append(cols, desc)
		}
		if d.cols != nil && !slices.Equal(d.cols, cols) {
			return fmt.Errorf("table %s: batches with columns %v and %v", tb.Table.Name, d.cols, cols)
		}
		d.cols = cols
		for r := range int(tb.Record.NumRows()) {
			var row []string
			for i, c := range tb.Table.Columns {
				a := tb.Record.Column(i)
				v := "null"
				if a.IsValid(r) {
					v = a.ValueStr(r)
				}
				switch c.Name {
				case ColID, ColParentID, ColRootID:
					if ids[v] == "" {
						ids[v] = fmt.Sprintf("id%d", len(ids)+1)
					}
					v = ids[v]
				}
				row = append(row, v)
			}
			d.rows = append(d.rows, row)
		}
		return nil
	}, WithAllocator(mem))
	defer n.Release()
	if err := feed(n); err != nil {
		return nil, err
	}
	return out, n.Flush()
}

// jsonFeed normalizes JSON rows.
func jsonFeed(t *testing.T, text string) func(n *Normalizer) error {
	var p fastjson.Parser
	rows := parseRows(t, &p, text)
	return func(n *Normalizer) error { return n.AppendJSON("t", rows) }
}

type flatAddr struct {
	City string `json:"city"`
	Zip  string `json:"zip"`
}

// flatUser is the bench's flat record as a struct.
type flatUser struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Age       int       `json:"age"`
	Score     float64   `json:"score"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	Country   string    `json:"country"`
	Address   flatAddr  `json:"address"`
}

type line struct {
	SKU string  `json:"sku"`
	Qty float64 `json:"qty"`
}

type order struct {
	OrderID int64  `json:"order_id"`
	Lines   []line `json:"lines"`
	Notes   []string
}

type customer struct {
	ID     int64    `json:"id"`
	Name   string   `json:"name"`
	Orders []order  `json:"orders"`
	Tags   []string `json:"tags"`
	Nick   *string  `json:"nick"`
	Meta   struct {
		Source string `json:"source"`
		Level  *int   `json:"level"`
	} `json:"meta"`
}

type base struct {
	ID      int64 `json:"id"`
	Created string
}

type embedded struct {
	base
	Title    string `json:"title"`
	Hidden   string `json:"-"`
	internal string
	Skipped  int `sluice:"-"`
}

// cents has its own JSON form.
type cents int64

func (c cents) MarshalJSON() ([]byte, error) { return fmt.Appendf(nil, `"%d.%02d"`, c/100, c%100), nil }

// grids holds lists whose items are not structs or plain scalars.
type grids struct {
	ID     int64            `json:"id"`
	Grid   [][]int          `json:"grid"`
	Counts []map[string]int `json:"counts"`
	Prices []cents          `json:"prices"`
}

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// TestTypedMatchesJSON checks that structs make the very tables the JSON
// path makes of the same data: names, system columns, column order, types
// and values, nested tables and their links included.
func TestTypedMatchesJSON(t *testing.T) {
	nick := "ann"
	lvl1 := customer{}.Meta
	lvl1.Level = ptr(1)
	cases := []struct {
		name  string
		hints *TableHints
		items any
		json  string
	}{
		{
			name: "flat record",
			items: []flatUser{
				{ID: 1, Name: "user 1", Email: "u1@example.com", Age: 19, Score: 0.5, Active: true, CreatedAt: t0, Country: "DE", Address: flatAddr{"Berlin", "00001"}},
				{ID: 2, Name: "user 2", Email: "u2@example.com", Age: 20, Score: 1.25, CreatedAt: t0.Add(time.Second), Country: "FR", Address: flatAddr{"Paris", "00002"}},
			},
			json: `[{"id":1,"name":"user 1","email":"u1@example.com","age":19,"score":0.5,"active":true,"created_at":"2024-01-01T00:00:00Z","country":"DE","address":{"city":"Berlin","zip":"00001"}},
				{"id":2,"name":"user 2","email":"u2@example.com","age":20,"score":1.25,"active":false,"created_at":"2024-01-01T00:00:01Z","country":"FR","address":{"city":"Paris","zip":"00002"}}]`,
		},
		{
			name: "nested lists, pointers and nulls",
			items: []customer{
				{ID: 1, Name: "a", Orders: []order{{OrderID: 10, Lines: []line{{"x", 1.5}, {"y", 2.5}}, Notes: []string{"n1"}}, {OrderID: 11}},
					Tags: []string{"t1", "t2"}, Nick: &nick, Meta: struct {
						Source string `json:"source"`
						Level  *int   `json:"level"`
					}{"web", ptr(3)}},
				{ID: 2, Name: "b"},
			},
			json: `[{"id":1,"name":"a","orders":[{"order_id":10,"lines":[{"sku":"x","qty":1.5},{"sku":"y","qty":2.5}],"Notes":["n1"]},{"order_id":11}],"tags":["t1","t2"],"nick":"ann","meta":{"source":"web","level":3}},
				{"id":2,"name":"b","nick":null,"meta":{"source":"","level":null}}]`,
		},
		{
			name:  "merge: root ids in nested tables",
			hints: &TableHints{WriteDisposition: Merge, PrimaryKey: []string{"id"}},
			items: []customer{{ID: 1, Name: "a", Orders: []order{{OrderID: 10, Lines: []line{{"x", 1.5}}}}, Tags: []string{"t"}, Nick: &nick, Meta: lvl1}},
			json:  `[{"id":1,"name":"a","orders":[{"order_id":10,"lines":[{"sku":"x","qty":1.5}]}],"tags":["t"],"nick":"ann","meta":{"source":"","level":1}}]`,
		},
		{
			name:  "max_table_nesting 1 keeps deeper data as json",
			hints: &TableHints{MaxTableNesting: ptr(1)},
			items: []customer{{ID: 1, Name: "a", Orders: []order{{OrderID: 10, Lines: []line{{"x", 1.5}}, Notes: []string{"n"}}}, Tags: []string{"t"}, Nick: &nick, Meta: lvl1}},
			json:  `[{"id":1,"name":"a","orders":[{"order_id":10,"lines":[{"sku":"x","qty":1.5}],"Notes":["n"]}],"tags":["t"],"nick":"ann","meta":{"source":"","level":1}}]`,
		},
		{
			name:  "embedded fields promoted, json:\"-\", sluice:\"-\" and unexported skipped",
			items: []embedded{{base: base{ID: 7, Created: "yesterday"}, Title: "t", Hidden: "h", internal: "i", Skipped: 1}},
			json:  `[{"id":7,"Created":"yesterday","title":"t"}]`,
		},
		{
			name:  "lists of typed lists, typed maps and marshalers",
			items: []grids{{ID: 1, Grid: [][]int{{1, 2}, {3}, nil}, Counts: []map[string]int{{"a": 1}, nil}, Prices: []cents{1234, 5}}},
			json:  `[{"id":1,"grid":[[1,2],[3],null],"counts":[{"a":1},null],"prices":["12.34","0.05"]}]`,
		},
		{
			name:  "pointers to structs",
			items: []*flatAddr{{City: "Pune", Zip: "1"}, nil, {City: "Tokyo"}},
			json:  `[{"city":"Pune","zip":"1"},{"city":"Tokyo","zip":""}]`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := normalizeDump(t, c.hints, jsonFeed(t, c.json))
			if err != nil {
				t.Fatal(err)
			}
			rv := reflect.ValueOf(c.items)
			feeds := map[string]func(n *Normalizer) error{
				"typed": func(n *Normalizer) error { return n.AppendTyped("t", typedOfValue(rv)) },
				"items": func(n *Normalizer) error {
					items := make([]any, rv.Len())
					for i := range items {
						items[i] = rv.Index(i).Interface()
					}
					return n.AppendItems("t", items)
				},
			}
			for path, feed := range feeds {
				got, err := normalizeDump(t, c.hints, feed)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				compareDumps(t, path, got, want)
			}
		})
	}
}

// typedOfValue makes a Typed of a slice held in a reflect.Value.
func typedOfValue(rv reflect.Value) Typed {
	switch s := rv.Interface().(type) {
	case []flatUser:
		return TypedOf(s)
	case []customer:
		return TypedOf(s)
	case []embedded:
		return TypedOf(s)
	case []*flatAddr:
		return TypedOf(s)
	case []grids:
		return TypedOf(s)
	}
	panic(fmt.Sprintf("typedOfValue: add %T", rv.Interface()))
}

func compareDumps(t *testing.T, path string, got, want map[string]*dump) {
	t.Helper()
	var gotNames, wantNames []string
	for k := range got {
		gotNames = append(gotNames, k)
	}
	for k := range want {
		wantNames = append(wantNames, k)
	}
	slices.Sort(gotNames)
	slices.Sort(wantNames)
	if !slices.Equal(gotNames, wantNames) {
		t.Fatalf("%s: tables %v, want %v", path, gotNames, wantNames)
	}
	for _, name := range wantNames {
		g, w := got[name], want[name]
		if !slices.Equal(g.cols, w.cols) {
			t.Errorf("%s: table %s columns\n got  %v\n want %v", path, name, g.cols, w.cols)
			continue
		}
		if !slices.EqualFunc(g.rows, w.rows, slices.Equal) {
			t.Errorf("%s: table %s rows\n got  %v\n want %v", path, name, g.rows, w.rows)
		}
	}
}

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
