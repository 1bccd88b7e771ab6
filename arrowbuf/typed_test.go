package arrowbuf

import (
	"fmt"
	"reflect"
	"slices"
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
