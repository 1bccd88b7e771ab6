package arrowbuf

import (
	"bytes"
	"fmt"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/valyala/fastjson"
)

func TestPoolAllocator(t *testing.T) {
	p := &PoolAllocator{poison: true}
	for _, size := range []int{0, 1, 100, 2047, 2048, 4095, 4096, 4097, 65536, 1 << 20, 3<<20 + 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			for round := range 3 { // the later rounds reuse freed buffers
				b := p.Allocate(size)
				if len(b) != size {
					t.Fatalf("round %d: len %d", round, len(b))
				}
				if size > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(b)))%alignment != 0 {
					t.Fatalf("round %d: not %d-byte aligned", round, alignment)
				}
				if i := bytes.IndexFunc(b, func(r rune) bool { return r != 0 }); i >= 0 {
					t.Fatalf("round %d: byte %d not zero", round, i)
				}
				for i := range b {
					b[i] = byte(i)
				}
				// Growing keeps the contents and zeroes the new part.
				g := p.Reallocate(2*size+10, b)
				for i := range size {
					if g[i] != byte(i) {
						t.Fatalf("round %d: reallocate lost byte %d", round, i)
					}
				}
				if i := bytes.IndexFunc(g[size:], func(r rune) bool { return r != 0 }); i >= 0 {
					t.Fatalf("round %d: grown byte %d not zero", round, size+i)
				}
				for i := range g {
					g[i] = 0xEE
				}
				p.Free(g)
			}
		})
	}
}

// Records built from pooled buffers keep their values while referenced,
// however many batches are freed and reused around them: with poisoned
// frees, a buffer handed out twice would show as wrong values.
func TestPoolNormalizerRecords(t *testing.T) {
	pool := &PoolAllocator{poison: true}
	var kept []arrow.RecordBatch
	emitted := 0
	n := NewNormalizer(NewSchema("pool"), "1", func(tb TableBatch) error {
		emitted++
		if emitted%2 == 0 {
			tb.Record.Release() // freed at once: its buffers go back to the pool
			return nil
		}
		kept = append(kept, tb.Record)
		return nil
	}, WithAllocator(pool), WithBatchRows(700))
	defer n.Release()
	var p fastjson.Parser
	const pages, perPage = 30, 500
	for pg := range pages {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := range perPage {
			if i > 0 {
				b.WriteByte(',')
			}
			id := pg*perPage + i
			fmt.Fprintf(&b, `{"id":%d,"name":"name %d","tags":[{"t":"tag %d"}]}`, id, id, id)
		}
		b.WriteByte(']')
		v, err := p.ParseBytes(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := v.Array()
		if err := n.AppendJSON("items", rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, rec := range kept {
		ids, names := -1, -1
		for i, f := range rec.Schema().Fields() {
			switch f.Name {
			case "id":
				ids = i
			case "name":
				names = i
			}
		}
		if ids < 0 { // a batch of the nested table: check its text column
			col := rec.Column(int(rec.Schema().FieldIndices("t")[0])).(*array.String)
			for i := range col.Len() {
				if v := col.Value(i); len(v) < 5 || v[:4] != "tag " {
					t.Fatalf("nested row %d: %q", i, v)
				}
			}
			rec.Release()
			continue
		}
		idc, namec := rec.Column(ids).(*array.Int64), rec.Column(names).(*array.String)
		for i := range idc.Len() {
			if want := fmt.Sprintf("name %d", idc.Value(i)); namec.Value(i) != want || idc.Value(i) < 0 || idc.Value(i) >= pages*perPage {
				t.Fatalf("row %d: id %d name %q", i, idc.Value(i), namec.Value(i))
			}
			checked++
		}
		rec.Release()
	}
	if emitted < 10 || checked == 0 {
		t.Fatalf("emitted %d batches, checked %d rows: the test did not exercise reuse", emitted, checked)
	}
}

// TestPoolRecyclesWithoutAllocating: once warm, a buffer going back and
// forth through the pool allocates nothing (the holder it travels in is
// reused too).
func TestPoolRecyclesWithoutAllocating(t *testing.T) {
	p := NewPoolAllocator()
	p.Free(p.Allocate(8 << 10))
	if n := testing.AllocsPerRun(200, func() { p.Free(p.Allocate(8 << 10)) }); n != 0 {
		t.Errorf("%v allocations per Allocate/Free, want 0", n)
	}
}
