package arrowbuf

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

// TestDataWithSystemKeys: rows whose data has keys named like the columns
// the normalizer writes (an API serving rows another dlt pipeline loaded)
// once crashed the normalizer (a non-text _dlt_id) or built a record with
// two ids for one row. Data may not fill those columns; a text _dlt_id is
// kept as the row's id, as dlt does. Found by FuzzNormalizeItems.
func TestDataWithSystemKeys(t *testing.T) {
	for _, tc := range []struct {
		doc    string
		wantID string // the root row's _dlt_id, "" for a generated one
	}{
		{`[{"_dlt_id": true, "a": 1}]`, ""},
		{`[{"_dlt_id": "given", "a": 1, "k": [{"x": 1}]}]`, "given"},
		{`[{"_dlt_load_id": 5, "a": 1}]`, ""},
		{`[{"a": 1, "_dlt_list_idx": "x", "k": [{"_dlt_parent_id": 1, "_dlt_list_idx": "y", "_dlt_root_id": 2, "x": 1}]}]`, ""},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s := NewSchema("sys")
			if err := s.ApplyHints("t", "t", TableHints{WriteDisposition: Merge, PrimaryKey: []string{"a"}}); err != nil {
				t.Fatal(err)
			}
			var p fastjson.Parser
			v, err := p.Parse(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			rows, _ := v.Array()
			got := map[string]int64{}
			n := NewNormalizer(s, "L1", func(tb TableBatch) error {
				defer tb.Record.Release()
				got[tb.Table.Name] += tb.Record.NumRows()
				for i, c := range tb.Record.Columns() {
					if int64(c.Len()) != tb.Record.NumRows() {
						t.Errorf("%s.%s has %d values for %d rows", tb.Table.Name, tb.Record.ColumnName(i), c.Len(), tb.Record.NumRows())
					}
					name := tb.Record.ColumnName(i)
					if name == ColLoadID && c.(*array.String).Value(0) != "L1" {
						t.Errorf("%s: _dlt_load_id = %q", tb.Table.Name, c.(*array.String).Value(0))
					}
					if name == ColID && tb.Table.Name == "t" && tc.wantID != "" && c.(*array.String).Value(0) != tc.wantID {
						t.Errorf("_dlt_id = %q, want %q", c.(*array.String).Value(0), tc.wantID)
					}
				}
				return nil
			}, WithAllocator(mem))
			defer n.Release()
			if err := n.AppendJSON("t", rows); err != nil {
				t.Fatal(err)
			}
			if err := n.Flush(); err != nil {
				t.Fatal(err)
			}
			if got["t"] != 1 {
				t.Errorf("rows %v", got)
			}
			for _, c := range s.Table("t").Columns {
				if IsSystemColumn(c.Name) && c.DataType != TypeText && c.Name != ColListIdx {
					t.Errorf("column %s typed %s from data", c.Name, c.DataType)
				}
			}
		})
	}
}
