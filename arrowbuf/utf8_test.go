package arrowbuf

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

// stringRecord is a record of one string column "s" (LargeString when
// large), nil values being nulls.
func stringRecord(mem memory.Allocator, large bool, vals ...*string) arrow.RecordBatch {
	typ := arrow.DataType(arrow.BinaryTypes.String)
	if large {
		typ = arrow.BinaryTypes.LargeString
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "s", Type: typ, Nullable: true}}, nil))
	defer b.Release()
	for _, v := range vals {
		switch sb := b.Field(0).(type) {
		case *array.StringBuilder:
			if v == nil {
				sb.AppendNull()
			} else {
				sb.Append(*v)
			}
		case *array.LargeStringBuilder:
			if v == nil {
				sb.AppendNull()
			} else {
				sb.Append(*v)
			}
		}
	}
	return b.NewRecordBatch()
}

// TestInvalidUTF8 loads text with bytes that are not UTF-8 through every
// path into a string column: each such byte becomes U+FFFD, valid text is
// kept as it is, and every batch holds valid UTF-8 only (checkBatch).
func TestInvalidUTF8(t *testing.T) {
	jsonRows := func(n *Normalizer, doc string) error {
		var p fastjson.Parser
		v, err := p.Parse(doc)
		if err != nil {
			return err
		}
		rows, _ := v.Array()
		return n.AppendJSON("t", rows)
	}
	record := func(large bool, vals ...*string) func(*Normalizer, memory.Allocator) error {
		return func(n *Normalizer, mem memory.Allocator) error {
			rec := stringRecord(mem, large, vals...)
			defer rec.Release()
			return n.AppendRecord("t", rec)
		}
	}
	for _, tc := range []struct {
		name   string
		hints  TableHints
		loadID string
		load   func(n *Normalizer, mem memory.Allocator) error
		table  string
		// want maps a column to its values, row by row ("<null>" for null).
		want map[string][]string
	}{
		{name: "json value", load: func(n *Normalizer, _ memory.Allocator) error {
			return jsonRows(n, "[{\"s\":\"a\xff\xfeb\"},{\"s\":\"ok é\"},{\"s\":\"cut \xe2\x82\"}]")
		}, want: map[string][]string{"s": {"a\uFFFD\uFFFDb", "ok é", "cut \uFFFD\uFFFD"}}},
		{name: "json key", load: func(n *Normalizer, _ memory.Allocator) error {
			return jsonRows(n, "[{\"k\xffey\":\"v\"}]")
		}, want: map[string][]string{"k_ey": {"v"}}},
		{name: "json value in a json column", hints: TableHints{Columns: []Column{{Name: "j", DataType: TypeJSON, Nullable: true}}},
			load: func(n *Normalizer, _ memory.Allocator) error {
				return jsonRows(n, "[{\"j\":{\"a\":\"x\xff\"}}]")
			}, want: map[string][]string{"j": {`{"a":"x` + "\uFFFD" + `"}`}}},
		{name: "json text value in a variant column", load: func(n *Normalizer, _ memory.Allocator) error {
			return jsonRows(n, "[{\"n\":1},{\"n\":\"two\xff\"}]")
		}, want: map[string][]string{"n": {"1", "<null>"}, "n__v_text": {"<null>", "two\uFFFD"}}},
		{name: "json _dlt_id and its nested rows", load: func(n *Normalizer, _ memory.Allocator) error {
			return jsonRows(n, "[{\"_dlt_id\":\"id\xff\",\"l\":[1]}]")
		}, want: map[string][]string{"_dlt_id": {"id\uFFFD"}}},
		{name: "json _dlt_id and its nested rows", table: "t__l", load: func(n *Normalizer, _ memory.Allocator) error {
			return jsonRows(n, "[{\"_dlt_id\":\"id\xff\",\"l\":[1]}]")
		}, want: map[string][]string{"_dlt_parent_id": {"id\uFFFD"}}},
		{name: "load id", loadID: "1.\xff", load: func(n *Normalizer, _ memory.Allocator) error {
			return jsonRows(n, `[{"l":[1]}]`)
		}, want: map[string][]string{"_dlt_load_id": {"1.\uFFFD"}}},
		{name: "load id of a record", loadID: "1.\xff", load: record(false, ptr("a")),
			want: map[string][]string{"_dlt_load_id": {"1.\uFFFD"}}},
		{name: "go string", load: func(n *Normalizer, _ memory.Allocator) error {
			return n.AppendItems("t", []any{map[string]any{"s": "a\xff\xfeb", "k\xffey": "v"}})
		}, want: map[string][]string{"s": {"a\uFFFD\uFFFDb"}, "k_ey": {"v"}}},
		{name: "go struct", load: func(n *Normalizer, _ memory.Allocator) error {
			return n.AppendItems("t", []any{struct {
				S string `json:"s"`
			}{"a\xffb"}})
		}, want: map[string][]string{"s": {"a\uFFFDb"}}},
		{name: "typed struct batch", load: func(n *Normalizer, _ memory.Allocator) error {
			type row struct {
				S string `json:"s"`
			}
			return n.AppendTyped("t", TypedOf([]row{{"a\xffb"}}))
		}, want: map[string][]string{"s": {"a\uFFFDb"}}},
		{name: "go bytes into a text column", load: func(n *Normalizer, _ memory.Allocator) error {
			return n.AppendItems("t", []any{map[string]any{"s": "x"}, map[string]any{"s": []byte{'y', 0xff}}})
		}, want: map[string][]string{"s": {"x", "y\uFFFD"}}},
		{name: "arrow string", load: record(false, ptr("fine"), nil, ptr("a\xff\xfeb")),
			want: map[string][]string{"s": {"fine", "<null>", "a\uFFFD\uFFFDb"}}},
		// Each value is half of "é": the data buffer as a whole is valid.
		{name: "arrow string split sequence", load: record(false, ptr("\xc3"), ptr("\xa9")),
			want: map[string][]string{"s": {"\uFFFD", "\uFFFD"}}},
		{name: "arrow large string", load: record(true, ptr("a\xff")),
			want: map[string][]string{"s": {"a\uFFFD"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s := NewSchema("u")
			if err := s.ApplyHints("t", "t", tc.hints); err != nil {
				t.Fatal(err)
			}
			table := tc.table
			if table == "" {
				table = "t"
			}
			got := map[string][]string{}
			loadID := tc.loadID
			if loadID == "" {
				loadID = "1"
			}
			n := NewNormalizer(s, loadID, func(tb TableBatch) error {
				defer tb.Record.Release()
				if err := checkBatch(tb); err != nil {
					return err
				}
				if tb.Table.Name != table {
					return nil
				}
				for i, f := range tb.Record.Schema().Fields() {
					c := tb.Record.Column(i)
					for r := range c.Len() {
						v := "<null>"
						if c.IsValid(r) {
							v = c.ValueStr(r)
						}
						got[f.Name] = append(got[f.Name], v)
					}
				}
				return nil
			}, WithAllocator(mem))
			defer n.Release()
			if err := tc.load(n, mem); err != nil {
				t.Fatal(err)
			}
			if err := n.Flush(); err != nil {
				t.Fatal(err)
			}
			for col, want := range tc.want {
				if g := strings.Join(got[col], "|"); g != strings.Join(want, "|") {
					t.Errorf("column %s = %q, want %q", col, got[col], want)
				}
			}
		})
	}
}

// TestValidArrowTextStaysColumnar: a record of valid text, also multi-byte,
// still passes its arrays on without copying them.
func TestValidArrowTextStaysColumnar(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := stringRecord(mem, false, ptr("é"), nil, ptr("日本"), ptr(""))
	defer rec.Release()
	var out []TableBatch
	n := NewNormalizer(NewSchema("u"), "1", func(tb TableBatch) error { out = append(out, tb); return nil }, WithAllocator(mem))
	defer n.Release()
	if err := n.AppendRecord("t", rec); err != nil {
		t.Fatal(err)
	}
	if err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, tb := range out {
			tb.Record.Release()
		}
	}()
	if len(out) != 1 || out[0].Record.Column(0).Data().Buffers()[2] != rec.Column(0).Data().Buffers()[2] {
		t.Error("valid text was copied: the columnar path was not taken")
	}
}

func TestReplaceInvalid(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"é日本", "é日本"},
		{"\xff", "\uFFFD"},
		{"a\xff\xfeb", "a\uFFFD\uFFFDb"},
		{"\xe2\x82", "\uFFFD\uFFFD"},           // a cut 3-byte sequence
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate
		{"x\xc3", "x\uFFFD"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := validUTF8(tc.in); got != tc.want {
				t.Errorf("validUTF8(%q) = %q, want %q", tc.in, got, tc.want)
			}
			// As encoding/json and AppendJSONText read it.
			if got := string(appendJSONString(nil, []byte(tc.in))); got != `"`+tc.want+`"` {
				t.Errorf("appendJSONString(%q) = %s, want %q", tc.in, got, tc.want)
			}
		})
	}
}
