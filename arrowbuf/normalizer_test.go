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

// TestTextIntoBool checks dlt's str2bool: a bool column takes yes/no words
// in any case and nothing else; other text goes to the variant column.
func TestTextIntoBool(t *testing.T) {
	for _, tc := range []struct {
		text    string
		want    string // the bool column's value, "" for null
		variant bool   // the text went to flag__v_text
	}{
		{"true", "true", false}, {"YES", "true", false}, {"t", "true", false}, {"1", "true", false},
		{"No", "false", false}, {"f", "false", false}, {"0", "false", false},
		{"on", "", true}, {"OFF", "", true}, {" true", "", true}, {"false ", "", true},
	} {
		t.Run(tc.text, func(t *testing.T) {
			var recs []TableBatch
			n := NewNormalizer(NewSchema("e"), "1", func(tb TableBatch) error { recs = append(recs, tb); return nil })
			defer n.Release()
			var p fastjson.Parser
			rows, _ := json.Marshal([]map[string]any{{"flag": true}, {"flag": tc.text}})
			if err := n.AppendJSON("t", parseRows(t, &p, string(rows))); err != nil {
				t.Fatal(err)
			}
			if err := n.Flush(); err != nil {
				t.Fatal(err)
			}
			rec := recs[0].Record
			defer rec.Release()
			flag := rec.Column(rec.Schema().FieldIndices("flag")[0])
			got := ""
			if flag.IsValid(1) {
				got = flag.ValueStr(1)
			}
			hasVariant := len(rec.Schema().FieldIndices("flag__v_text")) == 1
			if got != tc.want || hasVariant != tc.variant {
				t.Errorf("%q: flag %q, variant column %v; want %q, %v", tc.text, got, hasVariant, tc.want, tc.variant)
			}
		})
	}
}

func TestNumberTooBigForDecimal(t *testing.T) {
	n := NewNormalizer(NewSchema("e"), "1", func(tb TableBatch) error { tb.Record.Release(); return nil })
	defer n.Release()
	var p fastjson.Parser
	err := n.AppendJSON("t", parseRows(t, &p, `[{"v":123456789012345678901234567890123}]`))
	if err == nil {
		err = n.Flush()
	}
	if err == nil || !strings.Contains(err.Error(), `column "v": the number 123456789012345678901234567890123 does not fit its type decimal(38,9)`) {
		t.Fatalf("err = %v", err)
	}
}

// TestListOfListsNesting checks dlt's levels for lists of lists: the
// intermediate row holding an inner list counts as one level deeper than
// its list, so a max_table_nesting of 2 keeps the inner lists as a json
// "list" column of the first child table.
func TestListOfListsNesting(t *testing.T) {
	const rows = `[{"id":1,"grid":[[[1,2],[3]],[[4]]]}]`
	for _, tc := range []struct {
		nesting int // 0: dlt's default
		want    string
	}{
		{1, "n: id _dlt_load_id _dlt_id | n__grid: list _dlt_parent_id _dlt_list_idx _dlt_id"},
		{2, "n: id _dlt_load_id _dlt_id | n__grid: list _dlt_parent_id _dlt_list_idx _dlt_id"},
		{3, "n: id _dlt_load_id _dlt_id | n__grid: _dlt_parent_id _dlt_list_idx _dlt_id | n__grid__list: list _dlt_parent_id _dlt_list_idx _dlt_id"},
		{0, "n: id _dlt_load_id _dlt_id | n__grid: _dlt_parent_id _dlt_list_idx _dlt_id | n__grid__list: _dlt_parent_id _dlt_list_idx _dlt_id | n__grid__list__list: value _dlt_parent_id _dlt_list_idx _dlt_id"},
	} {
		t.Run(fmt.Sprint(tc.nesting), func(t *testing.T) {
			s := NewSchema("e")
			h := TableHints{}
			if tc.nesting > 0 {
				h.MaxTableNesting = &tc.nesting
			}
			if err := s.ApplyHints("n", "n", h); err != nil {
				t.Fatal(err)
			}
			var tables []string
			n := NewNormalizer(s, "1", func(tb TableBatch) error {
				defer tb.Record.Release()
				var cols []string
				for _, f := range tb.Record.Schema().Fields() {
					cols = append(cols, f.Name)
				}
				tables = append(tables, tb.Table.Name+": "+strings.Join(cols, " "))
				return nil
			})
			defer n.Release()
			var p fastjson.Parser
			if err := n.AppendJSON("n", parseRows(t, &p, rows)); err != nil {
				t.Fatal(err)
			}
			if err := n.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tables, " | "); got != tc.want {
				t.Errorf("tables\n %s\nwant\n %s", got, tc.want)
			}
		})
	}
}

// TestNotNullableColumn checks dlt's nullable: false hint (and primary
// keys, which are not nullable): the column is stored as not nullable, and
// a row with null there or without the key fails the normalizer, as dlt's
// CannotCoerceNullException fails the run.
func TestNotNullableColumn(t *testing.T) {
	xHint := TableHints{Columns: []Column{{Name: "x", DataType: TypeText}}}
	pk := TableHints{PrimaryKey: []string{"id"}}
	for _, tc := range []struct {
		name  string
		hints TableHints
		rows  string
		items []any  // rows as Go values instead of JSON
		err   string // "" when the rows load
	}{
		{"value", xHint, `[{"id":1,"x":"a"},{"id":2,"x":"b"}]`, nil, ""},
		{"null", xHint, `[{"id":1,"x":"a"},{"id":2,"x":null}]`, nil, `table "t" column "x" is not nullable`},
		{"missing", xHint, `[{"id":1,"x":"a"},{"id":2}]`, nil, `table "t" column "x" is not nullable`},
		{"first row null", xHint, `[{"id":1,"x":null}]`, nil, `table "t" column "x" is not nullable`},
		{"coerced", xHint, `[{"id":1,"x":5}]`, nil, ""},
		{"null in a variant row", TableHints{Columns: []Column{{Name: "x", DataType: TypeBigint}}}, `[{"x":"many"}]`, nil,
			`table "t" column "x": a row has a text value, but the column has type bigint and, as nullable: false, cannot leave the value to a variant column (x__v_text)`},
		{"go null", xHint, "", []any{map[string]any{"id": 1, "x": nil}}, `table "t" column "x" is not nullable`},
		{"go value", xHint, "", []any{map[string]any{"id": 1, "x": "a"}}, ""},
		{"nested rows", xHint, `[{"id":1,"x":"a","kids":[{"k":1},{"k":2}]}]`, nil, ""},
		{"primary key", pk, `[{"id":1},{"id":2}]`, nil, ""},
		{"primary key null", pk, `[{"id":1},{"id":null}]`, nil, `table "t" column "id" is not nullable`},
		{"primary key after rows without", pk, `[{"a":1},{"id":2}]`, nil, `table "t" column "id" is not nullable`},
		{"primary key never seen", pk, `[{"a":1}]`, nil, ""},
		{"primary key changes type", pk, `[{"id":1},{"id":"a-1"}]`, nil,
			`table "t" column "id": a row has a text value, but the column has type bigint and, as a primary key, cannot leave the value to a variant column (id__v_text)`},
		{"primary key changes type in go", pk, "", []any{map[string]any{"id": 1.5}, map[string]any{"id": true}}, `column "id": a row has a bool value, but the column has type double`},
		{"primary key coerced", pk, `[{"id":1},{"id":"2"}]`, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSchema("e")
			h := tc.hints
			for i := range h.Columns {
				h.Columns[i].NotNull = true
			}
			if err := s.ApplyHints("t", "t", h); err != nil {
				t.Fatal(err)
			}
			n := NewNormalizer(s, "1", func(tb TableBatch) error {
				defer tb.Record.Release()
				for _, f := range tb.Record.Schema().Fields() {
					if f.Name == "x" && f.Nullable {
						t.Errorf("field x is nullable")
					}
				}
				return nil
			})
			defer n.Release()
			var err error
			if tc.items != nil {
				err = n.AppendItems("t", tc.items)
			} else {
				var p fastjson.Parser
				err = n.AppendJSON("t", parseRows(t, &p, tc.rows))
			}
			if err == nil {
				err = n.Flush()
			}
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want %s", err, tc.err)
			}
			raw, _ := s.MarshalJSON()
			if len(h.Columns) > 0 && !strings.Contains(string(raw), `"x":{"name":"x","data_type":"`+string(h.Columns[0].DataType)+`","nullable":false}`) {
				t.Errorf("schema document: %s", raw)
			}
		})
	}
}

// TestNotNullableRecord checks that an Arrow record with a null in a not
// nullable column fails like JSON rows do, not passing the columnar path.
func TestNotNullableRecord(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sch := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", ""}, []bool{true, false})
	rec := b.NewRecordBatch()
	defer rec.Release()
	s := NewSchema("e")
	if err := s.ApplyHints("t", "t", TableHints{Columns: []Column{{Name: "x", DataType: TypeText, NotNull: true}}}); err != nil {
		t.Fatal(err)
	}
	n := NewNormalizer(s, "1", func(tb TableBatch) error { tb.Record.Release(); return nil }, WithAllocator(mem))
	defer n.Release()
	err := n.AppendRecord("t", rec)
	if err == nil {
		err = n.Flush()
	}
	if err == nil || !strings.Contains(err.Error(), `table "t" column "x" is not nullable`) {
		t.Fatalf("err = %v", err)
	}
}

// TestWeiColumn checks dlt's coercion into a wei column (DECIMAL(38,0)):
// numbers and numeric text become the integer, a fraction rounded half
// away from zero as DuckDB casts dlt's Wei into the column; what is no
// number or needs more than 38 digits becomes a variant.
func TestWeiColumn(t *testing.T) {
	for _, tc := range []struct {
		in      string // the JSON value of w
		want    string // w, "" for null; the error with variant "error"
		variant string // the variant column that got the value
	}{
		{`5`, "5", ""},
		{`-7`, "-7", ""},
		{`"5"`, "5", ""},
		{`" 12345678901234567890123 "`, "12345678901234567890123", ""},
		{`12345678901234567890123`, "12345678901234567890123", ""},
		{`"99999999999999999999999999999999999999"`, "99999999999999999999999999999999999999", ""},
		{`2.5`, "3", ""},
		{`-2.5`, "-3", ""},
		{`2.4`, "2", ""},
		{`1e20`, "100000000000000000000", ""},
		{`"1.5e3"`, "1500", ""},
		{`"1e-0009"`, "0", ""},
		{`"1e99999"`, "", "w__v_text"},
		{`"+4"`, "4", ""},
		{`"0x1F"`, "31", ""},
		{`"100000000000000000000000000000000000000"`, "", "w__v_text"},
		{`1e40`, "", "w__v_double"},
		{`"1/2"`, "", "w__v_text"},
		{`"0b101"`, "", "w__v_text"},
		{`"abc"`, "", "w__v_text"},
		{`""`, "", "w__v_text"},
		{`true`, "", "w__v_bool"},
		// A whole number of 39 digits goes to a decimal variant, which
		// cannot hold it either: the run fails naming the number.
		{`123456789012345678901234567890123456789`, "the number 123456789012345678901234567890123456789 does not fit its type decimal(38,9)", "error"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			n, recs := hintedNormalizer(t, Column{Name: "w", DataType: TypeWei, Nullable: true})
			var p fastjson.Parser
			err := n.AppendJSON("t", parseRows(t, &p, `[{"id":1,"w":`+tc.in+`}]`))
			if err == nil {
				err = n.Flush()
			}
			if tc.variant == "error" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec := (*recs)[0].Record
			defer rec.Release()
			if w := rec.Column(rec.Schema().FieldIndices("w")[0]); !arrow.TypeEqual(w.DataType(), &arrow.Decimal128Type{Precision: 38, Scale: 0}) {
				t.Errorf("w is %s", w.DataType())
			}
			if got, variants := firstCell(rec, "w"); got != tc.want || variants != tc.variant {
				t.Errorf("w = %q, variants %v; want %q, %q", got, variants, tc.want, tc.variant)
			}
		})
	}
}

// TestTextIntoJSONColumn checks dlt's json.loads for text headed for a
// json column: text holding JSON lands there as the document it holds
// (compact, as other json values), null JSON as null; other text and
// scalars that are not text become variants.
func TestTextIntoJSONColumn(t *testing.T) {
	for _, tc := range []struct {
		in      string // the JSON value of j
		want    string // j, "" for null
		variant string // the variant column that got the value
	}{
		{`{"k": 1}`, `{"k":1}`, ""},
		{`"5"`, `5`, ""},
		{`"[1, 2]"`, `[1,2]`, ""},
		{`"{\"a\": 1, \"b\": [true, null]}"`, `{"a":1,"b":[true,null]}`, ""},
		{`" [1] "`, `[1]`, ""},
		{`"\"abc\""`, `"abc"`, ""},
		{`"2.50"`, `2.50`, ""},
		{`"null"`, "", ""},
		{`"abc"`, "", "j__v_text"},
		{`""`, "", "j__v_text"},
		{`"[1,"`, "", "j__v_text"},
		{`"[1] x"`, "", "j__v_text"},
		{`"NaN"`, "", "j__v_text"},
		{`"[\"a\u0001\"]"`, "", "j__v_text"},
		{`5`, "", "j__v_bigint"},
		{`true`, "", "j__v_bool"},
	} {
		for _, via := range []string{"json", "items"} {
			t.Run(via+" "+tc.in, func(t *testing.T) {
				n, recs := hintedNormalizer(t, Column{Name: "j", DataType: TypeJSON, Nullable: true})
				row := `[{"id":1,"j":` + tc.in + `}]`
				var err error
				if via == "items" {
					var items []any
					d := json.NewDecoder(strings.NewReader(row))
					d.UseNumber()
					if err := d.Decode(&items); err != nil {
						t.Fatal(err)
					}
					err = n.AppendItems("t", items)
				} else {
					var p fastjson.Parser
					err = n.AppendJSON("t", parseRows(t, &p, row))
				}
				if err == nil {
					err = n.Flush()
				}
				if err != nil {
					t.Fatal(err)
				}
				rec := (*recs)[0].Record
				defer rec.Release()
				if j := rec.Column(rec.Schema().FieldIndices("j")[0]); j.DataType().ID() != arrow.STRING {
					t.Fatalf("j is %s", j.DataType())
				}
				if got, variants := firstCell(rec, "j"); got != tc.want || variants != tc.variant {
					t.Errorf("j = %q, variants %v; want %q, %q", got, variants, tc.want, tc.variant)
				}
			})
		}
	}
}

// firstCell returns column col's first value as text ("" for null) and the
// names of col's variant columns, comma-separated.
func firstCell(rec arrow.RecordBatch, col string) (val, variants string) {
	c := rec.Column(rec.Schema().FieldIndices(col)[0])
	if c.IsValid(0) {
		val = c.ValueStr(0)
	}
	var names []string
	for _, f := range rec.Schema().Fields() {
		if strings.HasPrefix(f.Name, col+"__v_") {
			names = append(names, f.Name)
		}
	}
	return val, strings.Join(names, ",")
}

// hintedNormalizer returns a normalizer of table t with column c hinted,
// and the batches it emits; it is released when the test ends.
func hintedNormalizer(t *testing.T, c Column) (*Normalizer, *[]TableBatch) {
	t.Helper()
	s := NewSchema("e")
	if err := s.ApplyHints("t", "t", TableHints{Columns: []Column{c}}); err != nil {
		t.Fatal(err)
	}
	recs := &[]TableBatch{}
	n := NewNormalizer(s, "1", func(tb TableBatch) error { *recs = append(*recs, tb); return nil })
	t.Cleanup(n.Release)
	return n, recs
}
