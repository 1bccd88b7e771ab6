package arrowbuf

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestAppendRecordColumnar(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "UserID", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "full name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "seen_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := range 3 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("n")
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()

	var got []TableBatch
	n := NewNormalizer(NewSchema("s"), "1.5", func(tb TableBatch) error { got = append(got, tb); return nil }, WithAllocator(mem))
	defer n.Release()
	if err := n.AppendRecord("Users", rec); err != nil {
		t.Fatal(err)
	}
	if err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d batches", len(got))
	}
	out := got[0].Record
	defer out.Release()
	var names []string
	for _, c := range got[0].Table.Columns {
		names = append(names, c.Name)
	}
	want := []string{"user_id", "full_name", "seen_at", "_dlt_load_id", "_dlt_id"}
	if len(names) != len(want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] || out.ColumnName(i) != want[i] {
			t.Fatalf("columns %v / %v, want %v", names, out.Schema(), want)
		}
	}
	// The data arrays are the input's, not copies.
	if out.Column(0).Data().Buffers()[1] != rec.Column(0).Data().Buffers()[1] {
		t.Error("user_id was copied")
	}
	if got[0].Table.Name != "users" || out.Column(3).ValueStr(2) != "1.5" || len(out.Column(4).ValueStr(0)) != 14 {
		t.Errorf("table %s, load id %s, id %q", got[0].Table.Name, out.Column(3).ValueStr(2), out.Column(4).ValueStr(0))
	}
}
