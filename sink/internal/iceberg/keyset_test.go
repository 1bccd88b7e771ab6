package iceberg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestKeySetOwnsStrings: a KeySet keeps its own copy of string keys. A
// string value of an Arrow array is a view of the batch's buffer, which is
// reused once the batch is released: a merge then dropped no nested rows
// (the root _dlt_ids it had collected had turned into other bytes).
func TestKeySetOwnsStrings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		columns []string
	}{{"one column", []string{"id"}}, {"two columns", []string{"id", "id2"}}} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte("abcdef")
			offsets := arrow.Int32Traits.CastToBytes([]int32{0, 3, 6})
			arr := array.NewStringData(array.NewData(arrow.BinaryTypes.String, 2,
				[]*memory.Buffer{nil, memory.NewBufferBytes(offsets), memory.NewBufferBytes(data)}, nil, 0, 0))
			defer arr.Release()
			fields := []arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "id2", Type: arrow.BinaryTypes.String}}
			rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), []arrow.Array{arr, arr}, 2)
			defer rec.Release()
			k := NewKeySet(tc.columns...)
			if err := k.AddRecord(rec); err != nil {
				t.Fatal(err)
			}
			var want []string
			for key := range k.keys {
				want = append(want, key)
			}
			copy(data, "zzzzzz") // the buffer reused
			for _, key := range want {
				if _, ok := k.keys[key]; !ok {
					t.Fatalf("key lost")
				}
			}
			for key := range k.keys {
				if key != "abc" && key != "def" && key != "3:abc3:abc" && key != "3:def3:def" {
					t.Errorf("key %q changed with the batch's buffer", key)
				}
			}
		})
	}
}
