package arrowbuf

import (
	"testing"

	"github.com/valyala/fastjson"
)

// TestKeyChangesTypeAcrossLoads: ids loaded as ints by one load, then a
// text id in the next (a new normalizer on the schema the first left). The
// primary key column cannot take the value and cannot leave it to a
// variant column: the error names the table, the column, the stored type
// and the value's type, not just "null or lacks it".
func TestKeyChangesTypeAcrossLoads(t *testing.T) {
	for _, tc := range []struct {
		name     string
		contract *Contract
		want     string
	}{
		{"variant", nil, `arrowbuf: table "items" column "id": a row has a text value, but the column has type bigint and, as a primary key, cannot leave the value to a variant column (id__v_text)`},
		{"discard_value", &Contract{DataType: DiscardValue},
			`arrowbuf: table "items" column "id": a row has a text value, but the column has type bigint and, as a primary key, cannot be left empty (the schema contract discards the value)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSchema("k")
			if err := s.ApplyHints("items", "items", TableHints{WriteDisposition: Merge, PrimaryKey: []string{"id"}, Contract: tc.contract}); err != nil {
				t.Fatal(err)
			}
			load := func(doc string) error {
				n := NewNormalizer(s, "1", func(tb TableBatch) error { tb.Record.Release(); return nil })
				defer n.Release()
				var p fastjson.Parser
				if err := n.AppendJSON("items", parseRows(t, &p, doc)); err != nil {
					return err
				}
				return n.Flush()
			}
			if err := load(`[{"id":1,"name":"a"},{"id":2,"name":"b"}]`); err != nil {
				t.Fatal(err)
			}
			if err := load(`[{"id":3,"name":"c"},{"id":"x-4","name":"d"}]`); err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}
