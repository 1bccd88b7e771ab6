package arrowbuf

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

func parseRows(t testing.TB, p *fastjson.Parser, s string) []*fastjson.Value {
	v, err := p.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	arr, _ := v.Array()
	return arr
}

func TestAppendRecord(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "UserID", Type: arrow.PrimitiveTypes.Int32},
		{Name: "Score", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}, nil)
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	b.Field(1).(*array.Float32Builder).AppendValues([]float32{1.5, 0}, []bool{true, false})
	b.Field(2).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1706181688000, 0}, nil)
	lb := b.Field(3).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).Append("a")
	lb.Append(true)
	rec := b.NewRecordBatch()
	defer rec.Release()

	s := NewSchema("t")
	var got []string
	n := NewNormalizer(s, "1.5", func(tb TableBatch) error {
		defer tb.Record.Release()
		for i, c := range tb.Table.Columns {
			got = append(got, fmt.Sprintf("%s:%s=%s", c.Name, c.DataType, tb.Record.Column(i).ValueStr(0)))
		}
		return nil
	}, WithAllocator(mem))
	defer n.Release()
	if err := n.AppendRecord("Rec", rec); err != nil {
		t.Fatal(err)
	}
	if err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "user_id:bigint=1 score:double=1.5 at:timestamp=2024-01-25T11:21:28Z tags:json=[\"a\"] _dlt_load_id:text=1.5"
	if g := strings.Join(got[:len(got)-1], " "); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
}

// TestConcurrentNormalizers shares one schema between workers; run with
// -race. Every worker must agree on the columns' types.
func TestConcurrentNormalizers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewSchema("c")
	if err := s.ApplyHints("T", "t", TableHints{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	rows := map[string]int64{}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p fastjson.Parser
			n := NewNormalizer(s, "1", func(tb TableBatch) error {
				mu.Lock()
				rows[tb.Table.Name] += tb.Record.NumRows()
				mu.Unlock()
				for i, c := range tb.Table.Columns {
					if !arrow.TypeEqual(tb.Record.Schema().Field(i).Type, ArrowType(c)) {
						return fmt.Errorf("column %s: %s vs %s", c.Name, tb.Record.Schema().Field(i).Type, ArrowType(c))
					}
				}
				tb.Record.Release()
				return nil
			}, WithAllocator(mem), WithBatchRows(7))
			defer n.Release()
			for i := range 50 {
				js := fmt.Sprintf(`[{"id":%d,"w%d":"x","v":%d,"kids":[{"k":%d}]}]`, i, w, i, i)
				if w%2 == 1 {
					js = fmt.Sprintf(`[{"v":"s%d","id":%d,"kids":[1]}]`, i, i)
				}
				if errs[w] = n.AppendJSON("T", parseRows(t, &p, js)); errs[w] != nil {
					return
				}
			}
			errs[w] = n.Flush()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if rows["t"] != 200 || rows["t__kids"] != 200 {
		t.Errorf("rows: %v", rows)
	}
}

func TestSchemaJSONRoundTrip(t *testing.T) {
	s := NewSchema("rt")
	one := 1
	if err := s.ApplyHints("Orders", "orders", TableHints{WriteDisposition: Merge, PrimaryKey: []string{"id"},
		MaxTableNesting: &one, Contract: &Contract{Columns: Freeze}, Columns: []Column{{Name: "amount", DataType: TypeDecimal, Precision: 10, Scale: 2}}}); err != nil {
		t.Fatal(err)
	}
	var p fastjson.Parser
	n := NewNormalizer(s, "1", func(tb TableBatch) error { tb.Record.Release(); return nil })
	if err := n.AppendJSON("Orders", parseRows(t, &p, `[{"id":1,"amount":"1.25","b":[{"x":true}]}]`)); err != nil {
		t.Fatal(err)
	}
	if err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	n.Release()
	v1 := s.Version()
	raw, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(raw) {
		t.Fatalf("invalid json: %s", raw)
	}
	back, err := LoadSchema(raw)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version() != v1 || back.VersionHash() != s.VersionHash() {
		t.Errorf("version %d/%s, want %d/%s", back.Version(), back.VersionHash(), v1, s.VersionHash())
	}
	raw2, _ := back.MarshalJSON()
	if string(raw) != string(raw2) {
		t.Errorf("round trip differs:\n%s\n%s", raw, raw2)
	}
	if _, err := s.AddColumn("orders", Column{Name: "new", DataType: TypeText, Nullable: true}); err != nil {
		t.Fatal(err)
	}
	if s.Version() != v1+1 {
		t.Errorf("version did not bump: %d", s.Version())
	}
	if got := back.Table("orders__b"); got == nil || got.Parent != "orders" || got.WriteDisposition != Merge {
		t.Errorf("nested table: %+v", got)
	}
}

func TestParseISODateTime(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2024-01-25T11:21:28Z", true}, {"2024-01-25 11:21:28", true}, {"2024-01-25T11:21:28.5+02:00", true},
		{"2024-01-25T11:21+0200", true}, {"2024-01-25", false}, {"11:21:28", false}, {"2024-02-30T00:00:00", false},
		{"2024-01-25T25:00:00", false}, {"2024-01-25T11:21:28 ", false}, {"123", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if _, ok := parseISODateTime(tc.in); ok != tc.ok {
				t.Errorf("parseISODateTime(%q) ok=%v", tc.in, ok)
			}
		})
	}
}

func FuzzNormalizeJSON(f *testing.F) {
	for _, s := range []string{
		`[{"a":1,"b":{"c":[1,[2,3],{"d":null}]},"e":"2024-01-25T11:21:28Z"}]`,
		`[1,"x",null,[[]],{"":{"":[]}}]`,
		`[{"a":1},{"a":"x"},{"a":2.5},{"a":true},{"a":{"b":1}},{"a":[1]}]`,
		`[{"a-b":1,"a.b":"2","A_B":null}]`,
		`[{"a":1,"b":2},{"a":"x","a__v_text":"y"}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p fastjson.Parser
		v, err := p.Parse(s)
		if err != nil {
			return
		}
		rows := []*fastjson.Value{v}
		if arr, err := v.Array(); err == nil {
			rows = arr
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		n := NewNormalizer(NewSchema("f"), "1", func(tb TableBatch) error {
			defer tb.Record.Release()
			return checkBatch(tb)
		}, WithAllocator(mem), WithBatchRows(3))
		err = n.AppendJSON("fuzz", rows)
		if ferr := n.Flush(); err == nil {
			err = ferr
		}
		n.Release()
		mem.AssertSize(t, 0)
		if errors.Is(err, errBadBatch) {
			t.Fatal(err)
		}
	})
}

var errBadBatch = errors.New("bad batch")

// checkBatch fails a batch with a column longer or shorter than the batch
// (a row that put two values in one column or none), or with text that is
// not valid UTF-8 in a string column or a column name.
func checkBatch(tb TableBatch) error {
	for i, c := range tb.Record.Columns() {
		name := tb.Record.Schema().Field(i).Name
		if int64(c.Len()) != tb.Record.NumRows() {
			return fmt.Errorf("%w: table %s column %s has %d values for %d rows", errBadBatch,
				tb.Table.Name, name, c.Len(), tb.Record.NumRows())
		}
		if !utf8.ValidString(name) {
			return fmt.Errorf("%w: table %s column name %q is not valid UTF-8", errBadBatch, tb.Table.Name, name)
		}
		if s, ok := c.(*array.String); ok {
			for r := range s.Len() {
				if s.IsValid(r) && !utf8.ValidString(s.Value(r)) {
					return fmt.Errorf("%w: table %s column %s row %d: %q is not valid UTF-8", errBadBatch, tb.Table.Name, name, r, s.Value(r))
				}
			}
		}
	}
	return nil
}

func ExampleNewNormalizer() {
	s := NewSchema("example")
	_ = s.ApplyHints("Users", "users", TableHints{PrimaryKey: []string{"id"}, WriteDisposition: Merge})
	var p fastjson.Parser
	v, _ := p.Parse(`[{"id": 1, "Name": "ann", "address": {"city": "Berlin"}, "pets": ["cat"]}]`)
	rows, _ := v.Array()
	n := NewNormalizer(s, "1700000000.1", func(b TableBatch) error {
		defer b.Record.Release()
		var cols []string
		for _, c := range b.Table.Columns {
			cols = append(cols, c.Name+" "+string(c.DataType))
		}
		fmt.Printf("%s (%d rows): %s\n", b.Table.Name, b.Record.NumRows(), strings.Join(cols, ", "))
		return nil
	})
	defer n.Release()
	_ = n.AppendJSON("Users", rows)
	_ = n.Flush()
	// Output:
	// users (1 rows): id bigint, name text, address__city text, _dlt_load_id text, _dlt_id text
	// users__pets (1 rows): value text, _dlt_root_id text, _dlt_parent_id text, _dlt_list_idx bigint, _dlt_id text
}

func ExampleNormalizePath() {
	fmt.Println(NormalizePath("HTTPResponseCode"), NormalizePath("a__b"), NormalizeIdentifier("a__b"), NormalizePath("ünïcode"))
	// Output: http_response_code a__b a_b _n_code
}

// A variant column and a key of the same name meet in one column: one value
// per row, the later key winning, every column as long as the batch. Rows
// from JSON and from Go values agree.
func TestVariantNameCollision(t *testing.T) {
	for _, tc := range []struct {
		name, rows string
		want       []string // a__v_text per row
	}{
		{"key after variant", `[{"a":1,"b":2},{"a":"x","a__v_text":"y"}]`, []string{"", "y"}},
		{"key before variant", `[{"a":1,"b":2},{"a__v_text":"y","a":"x"}]`, []string{"", "x"}},
		{"key alone", `[{"a":1,"b":2},{"a__v_text":"y"}]`, []string{"", "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var recs []TableBatch
			n := NewNormalizer(NewSchema("e"), "1", func(tb TableBatch) error { recs = append(recs, tb); return nil })
			defer n.Release()
			var p fastjson.Parser
			if err := n.AppendJSON("t", parseRows(t, &p, tc.rows)); err != nil {
				t.Fatal(err)
			}
			if err := n.Flush(); err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 {
				t.Fatalf("%d batches", len(recs))
			}
			rec := recs[0].Record
			defer rec.Release()
			for i, c := range rec.Columns() {
				if c.Len() != int(rec.NumRows()) {
					t.Fatalf("column %s has %d values for %d rows", rec.Schema().Field(i).Name, c.Len(), rec.NumRows())
				}
			}
			col := rec.Column(rec.Schema().FieldIndices("a__v_text")[0]).(*array.String)
			for i, w := range tc.want {
				if got := col.Value(i); got != w || col.IsNull(i) != (w == "") {
					t.Errorf("row %d: a__v_text = %q (null %v), want %q", i, got, col.IsNull(i), w)
				}
			}
		})
	}
}
