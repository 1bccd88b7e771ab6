package arrowbuf

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

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
