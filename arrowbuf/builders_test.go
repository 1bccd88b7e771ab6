package arrowbuf

import (
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"
)

// op is one builder call: append value i, or k nulls, or reserve k.
type op struct {
	kind byte // 'v' value, 'n' nulls, 'r' reserve, 'a' new array
	i, k int
}

func ops(spec string) []op {
	var out []op
	for _, f := range strings.Fields(spec) {
		k, _ := strconv.Atoi(f[1:])
		switch f[0] {
		case 'v': // vN: N values
			for range k {
				out = append(out, op{kind: 'v', i: len(out)})
			}
		default:
			out = append(out, op{kind: f[0], k: k})
		}
	}
	return out
}

// TestBuildersMatchArrow runs the same calls on sluice's builders and on
// arrow's and compares every array they produce, nulls included, with a
// checked allocator that fails on a leaked or double-freed buffer.
func TestBuildersMatchArrow(t *testing.T) {
	cases := []struct{ name, spec string }{
		{"empty", "a0"},
		{"values", "v3 a0"},
		{"leading nulls", "n2 v3 a0"},
		{"trailing nulls", "v3 n1 a0"},
		{"null after growth", "v600 n1 v5 a0"},
		{"nulls across growth", "v2 n1 v1000 n300 v2 a0"},
		{"all null", "n700 a0"},
		{"batches", "v5 n1 a0 v3 a0 n2 a0 r100 v10 a0"},
		{"reserve then grow", "r10 v50 n1 v500 a0"},
	}
	allocators := []struct {
		name string
		mem  memory.Allocator
	}{{"zeroed", memory.NewGoAllocator()}, {"dirty", dirtyAllocator{memory.NewGoAllocator()}}}
	for _, a := range allocators {
		for _, c := range cases {
			t.Run(a.name+"/"+c.name, func(t *testing.T) { checkBuildersMatchArrow(t, a.mem, c.spec) })
		}
	}
}

// dirtyAllocator hands out memory full of set bits, as an allocator that
// does not zero may.
type dirtyAllocator struct{ memory.Allocator }

func (d dirtyAllocator) Allocate(size int) []byte {
	b := d.Allocator.Allocate(size)
	for i := range b {
		b[i] = 0xFF
	}
	return b
}

func (d dirtyAllocator) Reallocate(size int, b []byte) []byte {
	old := len(b)
	b = d.Allocator.Reallocate(size, b)
	for i := old; i < len(b); i++ {
		b[i] = 0xFF
	}
	return b
}

func checkBuildersMatchArrow(t *testing.T, alloc memory.Allocator, spec string) {
	mem := memory.NewCheckedAllocator(alloc)
	defer mem.AssertSize(t, 0)
	str := newVarCol(mem, arrow.BinaryTypes.String, nil)
	ref := array.NewStringBuilder(mem)
	i64 := newFixedCol[int64](mem, arrow.PrimitiveTypes.Int64)
	refI := array.NewInt64Builder(mem)
	d32 := newFixedCol[int32](mem, arrow.FixedWidthTypes.Date32)
	refD := array.NewDate32Builder(mem)
	defer func() {
		for _, b := range []colBuilder{str, ref, i64, refI, d32, refD} {
			b.Release()
		}
	}()
	for n, o := range ops(spec) {
		switch o.kind {
		case 'v':
			s := strings.Repeat("x", o.i%7) + strconv.Itoa(o.i)
			str.AppendString(s)
			ref.Append(s)
			i64.Append(int64(o.i) * 1e12)
			refI.Append(int64(o.i) * 1e12)
			d32.Append(int32(o.i))
			refD.Append(arrow.Date32(o.i))
		case 'n':
			for _, b := range []colBuilder{str, ref, i64, refI, d32, refD} {
				b.AppendNulls(o.k)
			}
		case 'r':
			for _, b := range []colBuilder{str, ref, i64, refI, d32, refD} {
				b.Reserve(o.k)
			}
			str.ReserveData(o.k * 10)
		case 'a':
			if str.Len() != ref.Len() || i64.Len() != refI.Len() {
				t.Fatalf("op %d: Len %d/%d, want %d/%d", n, str.Len(), i64.Len(), ref.Len(), refI.Len())
			}
			for _, pair := range [][2]colBuilder{{str, ref}, {i64, refI}, {d32, refD}} {
				got, want := pair[0].NewArray(), pair[1].NewArray()
				if !array.Equal(got, want) || got.NullN() != want.NullN() {
					t.Errorf("op %d: got %v (%d nulls), want %v (%d nulls)", n, got, got.NullN(), want, want.NullN())
				}
				got.Release()
				want.Release()
			}
		}
	}
}

// TestNormalizerFlushesBigStrings: a table whose text passes the batch's
// byte cap is flushed early, so int32 offsets cannot overflow.
func TestNormalizerFlushesBigStrings(t *testing.T) {
	old := maxBatchData
	maxBatchData = 1000
	defer func() { maxBatchData = old }()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var sizes []int64
	var total int
	n := NewNormalizer(NewSchema("s"), "1", func(tb TableBatch) error {
		defer tb.Record.Release()
		sizes = append(sizes, tb.Record.NumRows())
		text := tb.Record.Column(0).(*array.String)
		for i := range text.Len() {
			if got, want := text.Value(i), strings.Repeat("a", 100); got != want {
				t.Fatalf("row %d: %q", i, got)
			}
		}
		total += int(tb.Record.NumRows())
		return nil
	}, WithAllocator(mem))
	defer n.Release()
	var rows []*fastjson.Value
	for range 25 {
		rows = append(rows, fastjson.MustParse(`{"t":"`+strings.Repeat("a", 100)+`"}`))
	}
	if err := n.AppendJSON("x", rows); err != nil {
		t.Fatal(err)
	}
	if err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	// 100 bytes a row: the 11th row passes 1,000 bytes and ends a batch.
	if len(sizes) != 3 || sizes[0] != 11 || sizes[1] != 11 || total != 25 {
		t.Fatalf("batches %v (total %d), want [11 11 3]", sizes, total)
	}
}
