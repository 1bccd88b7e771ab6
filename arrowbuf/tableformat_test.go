package arrowbuf

import (
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// loadNested normalizes one row with a nested list into a schema whose
// root table "orders" has hints h, and returns the batches' tables by name.
func loadNested(t *testing.T, s *Schema, h TableHints) map[string]*Table {
	t.Helper()
	if err := s.ApplyHints("Orders", "orders", h); err != nil {
		t.Fatal(err)
	}
	got := map[string]*Table{}
	var p fastjson.Parser
	n := NewNormalizer(s, "1", func(tb TableBatch) error {
		got[tb.Table.Name] = tb.Table
		tb.Release()
		return nil
	})
	defer n.Release()
	if err := n.AppendJSON("Orders", parseRows(t, &p, `[{"id":1,"items":[{"sku":"a","parts":[{"n":1}]}]}]`)); err != nil {
		t.Fatal(err)
	}
	if err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestTableFormatSnapshots: a root table's table_format reaches the
// snapshots a destination sees (TableBatch.Table, Table, Tables,
// TableFormatOf) for the root and every nested table under it.
func TestTableFormatSnapshots(t *testing.T) {
	for _, f := range []TableFormat{"", Iceberg, Delta, Native} {
		t.Run(string(f)+"_", func(t *testing.T) {
			s := NewSchema("tf")
			batches := loadNested(t, s, TableHints{TableFormat: f})
			for _, name := range []string{"orders", "orders__items", "orders__items__parts"} {
				if b := batches[name]; b == nil || b.TableFormat != f {
					t.Errorf("batch table %s: %+v, want table format %q", name, b, f)
				}
				if got := s.Table(name).TableFormat; got != f {
					t.Errorf("Table(%s).TableFormat = %q, want %q", name, got, f)
				}
				if got := s.TableFormatOf(name); got != f {
					t.Errorf("TableFormatOf(%s) = %q, want %q", name, got, f)
				}
			}
			for _, tb := range s.Tables() {
				if tb.TableFormat != f {
					t.Errorf("Tables(): %s has %q, want %q", tb.Name, tb.TableFormat, f)
				}
			}
			if got := s.TableFormatOf("nope"); got != "" {
				t.Errorf("TableFormatOf(unknown) = %q", got)
			}
		})
	}
}

// TestTableFormatLaterHint: a format hinted after nested tables exist
// applies to them too (they follow their root), and no hint keeps it.
func TestTableFormatLaterHint(t *testing.T) {
	s := NewSchema("tf")
	loadNested(t, s, TableHints{})
	if err := s.ApplyHints("orders", "orders", TableHints{TableFormat: Iceberg}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyHints("orders", "orders", TableHints{}); err != nil {
		t.Fatal(err)
	}
	if got := s.Table("orders__items__parts").TableFormat; got != Iceberg {
		t.Errorf("nested table format = %q, want iceberg", got)
	}
}

// TestTableFormatSchemaJSON: table_format is written on the root table as
// dlt does (not on nested tables, which inherit it) and read back.
func TestTableFormatSchemaJSON(t *testing.T) {
	s := NewSchema("tf")
	loadNested(t, s, TableHints{TableFormat: Iceberg, WriteDisposition: Merge, PrimaryKey: []string{"id"}})
	raw, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var p fastjson.Parser
	doc, err := p.ParseBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(doc.GetStringBytes("tables", "orders", "table_format")); got != "iceberg" {
		t.Errorf(`tables.orders.table_format = %q, want "iceberg"`, got)
	}
	if doc.Exists("tables", "orders__items", "table_format") {
		t.Errorf("nested table has its own table_format: %s", doc.Get("tables", "orders__items"))
	}
	back, err := LoadSchema(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"orders", "orders__items", "orders__items__parts"} {
		if got := back.Table(name).TableFormat; got != Iceberg {
			t.Errorf("loaded %s: table format %q, want iceberg", name, got)
		}
	}
	raw2, _ := back.MarshalJSON()
	if string(raw) != string(raw2) {
		t.Errorf("round trip differs:\n%s\n%s", raw, raw2)
	}
	if back.VersionHash() != s.VersionHash() {
		t.Errorf("hash %s, want %s", back.VersionHash(), s.VersionHash())
	}

	// dlt's own document: the hint on the root, read by name.
	dlt := `{"version":1,"name":"d","tables":{"a":{"name":"a","columns":{},"write_disposition":"append","table_format":"delta"},"a__b":{"name":"a__b","parent":"a","columns":{}}}}`
	ds, err := LoadSchema([]byte(dlt))
	if err != nil {
		t.Fatal(err)
	}
	if ds.TableFormatOf("a__b") != Delta || ds.Table("a").TableFormat != Delta {
		t.Errorf("dlt document: %q / %q, want delta", ds.TableFormatOf("a__b"), ds.Table("a").TableFormat)
	}

	// No format: the document has no table_format key, so hashes of
	// schemas without it do not change.
	plain := NewSchema("tf")
	loadNested(t, plain, TableHints{})
	raw, _ = plain.MarshalJSON()
	if strings.Contains(string(raw), "table_format") {
		t.Errorf("table_format written without a hint: %s", raw)
	}
}

func TestTableFormatErrors(t *testing.T) {
	tests := []struct {
		name string
		h    TableHints
		want string
	}{
		{"unknown", TableHints{TableFormat: "hudi"}, `arrowbuf: table "orders": unknown table_format "hudi" (want iceberg, delta or native)`},
		{"case matters, as in dlt", TableHints{TableFormat: "Iceberg"}, `arrowbuf: table "orders": unknown table_format "Iceberg" (want iceberg, delta or native)`},
		{"nested hint", TableHints{NestedHints: map[string]TableHints{"items": {TableFormat: Iceberg}}},
			`arrowbuf: table "orders": nested hints "items": table_format is a root table hint (nested tables take their root's)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSchema("tf")
			err := s.ApplyHints("Orders", "orders", tt.h)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
			if s.Table("orders") != nil {
				t.Errorf("a refused hint created the table")
			}
		})
	}
}
