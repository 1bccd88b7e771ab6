package arrowbuf

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Column builders for the types API rows are mostly made of. arrow's
// builders check capacity through several layers, append offsets through
// a closure and set a validity bit for every value: a string append took
// ~23 ns, 13% of the normalizer on nested rows. These append into plain
// slices (~6 ns) and make a validity bitmap only once a null arrives, as
// most columns of a batch have none.

// colBuilder is what the normalizer needs of a column builder; arrow's
// builders (kept for booleans and decimals) have it too.
type colBuilder interface {
	Len() int
	AppendNull()
	AppendNulls(n int)
	Reserve(n int)
	NewArray() arrow.Array
	Release()
}

// maxBatchData caps a string column's bytes in one batch: arrow's string
// offsets are int32, so a table is flushed early once a column passes it.
var maxBatchData = 1 << 30 // a variable for tests

// validity is a null bitmap made on the first null.
type validity struct {
	buf   *memory.Buffer // nil while every value is valid
	bits  []byte
	nulls int
}

// grow keeps room for capRows bits, once the bitmap exists. New bytes are
// cleared: not every allocator zeroes memory.
func (v *validity) grow(capRows int) {
	if v.buf != nil {
		old := len(v.bits)
		v.buf.Reserve(int(bitutil.BytesForBits(int64(capRows))))
		v.bits = v.buf.Buf()
		clear(v.bits[old:])
	}
}

// setNulls marks k values from i null; the builder has room for capRows.
func (v *validity) setNulls(mem memory.Allocator, i, k, capRows int) {
	if v.buf == nil {
		v.buf = memory.NewResizableBuffer(mem)
		v.grow(capRows)
		bitutil.SetBitsTo(v.bits, 0, int64(i), true)
	}
	// The bits from i on are clear: grow clears new bytes and positions
	// only move forward within a batch.
	v.nulls += k
}

// take hands the bitmap of n values to an array (nil: no nulls).
func (v *validity) take(n int) (*memory.Buffer, int) {
	buf, nulls := v.buf, v.nulls
	if buf != nil {
		buf.ResizeNoShrink(int(bitutil.BytesForBits(int64(n))))
	}
	v.buf, v.bits, v.nulls = nil, nil, 0
	return buf, nulls
}

func (v *validity) release() {
	if v.buf != nil {
		v.buf.Release()
	}
	v.buf, v.bits, v.nulls = nil, nil, 0
}

// newArray builds an array from a builder's buffers and drops the
// builder's references to them.
func newArray(dt arrow.DataType, n int, v *validity, bufs ...*memory.Buffer) arrow.Array {
	bitmap, nulls := v.take(n)
	all := append([]*memory.Buffer{bitmap}, bufs...)
	data := array.NewData(dt, n, all, nil, nulls, 0)
	arr := array.MakeFromData(data)
	data.Release()
	for _, b := range all {
		if b != nil {
			b.Release()
		}
	}
	return arr
}

// nextCap is the capacity to grow to for at least need.
func nextCap(have, need int) int {
	return max(need, 2*have, 256)
}

// fixedCol builds a column of 4- or 8-byte values: bigint, double,
// timestamp and time (int64 microseconds), date (int32 days).
type fixedCol[T int32 | int64 | float64] struct {
	mem   memory.Allocator
	dt    arrow.DataType
	buf   *memory.Buffer
	vals  []T // buf's memory, len is the capacity
	n     int
	valid validity
}

func newFixedCol[T int32 | int64 | float64](mem memory.Allocator, dt arrow.DataType) *fixedCol[T] {
	return &fixedCol[T]{mem: mem, dt: dt}
}

func (c *fixedCol[T]) grow(need int) {
	if c.buf == nil {
		c.buf = memory.NewResizableBuffer(c.mem)
	}
	capRows := nextCap(len(c.vals), need)
	var zero T
	c.buf.Reserve(capRows * int(unsafe.Sizeof(zero)))
	b := c.buf.Buf()
	c.vals = unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(zero)))
	c.valid.grow(len(c.vals))
}

// Append adds a valid value.
func (c *fixedCol[T]) Append(v T) {
	if c.n == len(c.vals) {
		c.grow(c.n + 1)
	}
	c.vals[c.n] = v
	if c.valid.bits != nil {
		bitutil.SetBit(c.valid.bits, c.n)
	}
	c.n++
}

func (c *fixedCol[T]) Len() int    { return c.n }
func (c *fixedCol[T]) AppendNull() { c.AppendNulls(1) }

func (c *fixedCol[T]) AppendNulls(k int) {
	if c.n+k > len(c.vals) {
		c.grow(c.n + k)
	}
	c.valid.setNulls(c.mem, c.n, k, len(c.vals))
	c.n += k // the value slots stay zero
}

func (c *fixedCol[T]) Reserve(k int) {
	if c.n+k > len(c.vals) {
		c.grow(c.n + k)
	}
}

// NewArray returns the values so far as an array and starts a new one.
func (c *fixedCol[T]) NewArray() arrow.Array {
	if c.buf == nil {
		c.grow(0)
	}
	var zero T
	c.buf.ResizeNoShrink(c.n * int(unsafe.Sizeof(zero)))
	arr := newArray(c.dt, c.n, &c.valid, c.buf)
	c.buf, c.vals, c.n = nil, nil, 0
	return arr
}

func (c *fixedCol[T]) Release() {
	if c.buf != nil {
		c.buf.Release()
	}
	c.valid.release()
	c.buf, c.vals, c.n = nil, nil, 0
}

// varCol builds a string or binary column.
type varCol struct {
	mem     memory.Allocator
	dt      arrow.DataType
	offBuf  *memory.Buffer
	offs    []int32 // offBuf's memory: capacity+1 offsets, offs[0] = 0
	dataBuf *memory.Buffer
	data    []byte // dataBuf's memory
	end     int    // bytes used
	n       int
	valid   validity
	// full is set once the column holds maxBatchData bytes: the table
	// flushes after the row.
	full *bool
	// text: a string column, whose values AppendString makes valid UTF-8.
	text bool
}

func newVarCol(mem memory.Allocator, dt arrow.DataType, full *bool) *varCol {
	return &varCol{mem: mem, dt: dt, full: full, text: dt.ID() == arrow.STRING}
}

func (c *varCol) growRows(need int) {
	first := c.offBuf == nil
	if first {
		c.offBuf = memory.NewResizableBuffer(c.mem)
	}
	capRows := nextCap(max(len(c.offs)-1, 0), need)
	c.offBuf.Reserve((capRows + 1) * 4)
	b := c.offBuf.Buf()
	c.offs = unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
	if first {
		c.offs[0] = 0
	}
	c.valid.grow(len(c.offs) - 1)
}

func (c *varCol) growData(need int) {
	if c.dataBuf == nil {
		c.dataBuf = memory.NewResizableBuffer(c.mem)
	}
	size := max(need, 2*len(c.data), 4096)
	if size > maxBatchData && need <= maxBatchData {
		size = maxBatchData
	}
	if need > maxBatchData && c.full != nil {
		*c.full = true
	}
	c.dataBuf.Reserve(size)
	c.data = c.dataBuf.Buf()
}

// AppendString adds a valid value. Into a string column, invalid UTF-8
// bytes become U+FFFD (see validUTF8).
func (c *varCol) AppendString(s string) {
	if c.text {
		s = validUTF8(s)
	}
	appendVar(c, s)
}

// AppendBytes adds a valid value as it is: binary data, or text the caller
// built as valid UTF-8.
func (c *varCol) AppendBytes(b []byte) { appendVar(c, b) }

// AppendValid adds text known to be valid UTF-8 (ids, load ids) as it is.
func (c *varCol) AppendValid(s string) { appendVar(c, s) }

func appendVar[S string | []byte](c *varCol, s S) {
	if c.n+1 >= len(c.offs) {
		c.growRows(c.n + 1)
	}
	if c.end+len(s) > len(c.data) {
		c.growData(c.end + len(s))
	}
	copy(c.data[c.end:], s)
	c.end += len(s)
	if c.valid.bits != nil {
		bitutil.SetBit(c.valid.bits, c.n)
	}
	c.n++
	c.offs[c.n] = int32(c.end)
}

func (c *varCol) Len() int     { return c.n }
func (c *varCol) DataLen() int { return c.end }
func (c *varCol) AppendNull()  { c.AppendNulls(1) }

func (c *varCol) Reserve(k int) {
	if c.n+k >= len(c.offs) {
		c.growRows(c.n + k)
	}
}

func (c *varCol) AppendNulls(k int) {
	c.Reserve(k)
	c.valid.setNulls(c.mem, c.n, k, len(c.offs)-1)
	for i := range k {
		c.offs[c.n+1+i] = int32(c.end)
	}
	c.n += k
}

// ReserveData keeps room for k more bytes.
func (c *varCol) ReserveData(k int) {
	if c.end+k > len(c.data) {
		c.growData(c.end + k)
	}
}

// NewArray returns the values so far as an array and starts a new one.
func (c *varCol) NewArray() arrow.Array {
	if c.offBuf == nil {
		c.growRows(0)
	}
	if c.dataBuf == nil {
		c.growData(0)
	}
	c.offBuf.ResizeNoShrink((c.n + 1) * 4)
	c.dataBuf.ResizeNoShrink(c.end)
	arr := newArray(c.dt, c.n, &c.valid, c.offBuf, c.dataBuf)
	c.offBuf, c.offs, c.dataBuf, c.data, c.end, c.n = nil, nil, nil, nil, 0, 0
	return arr
}

func (c *varCol) Release() {
	if c.offBuf != nil {
		c.offBuf.Release()
	}
	if c.dataBuf != nil {
		c.dataBuf.Release()
	}
	c.valid.release()
	c.offBuf, c.offs, c.dataBuf, c.data, c.end, c.n = nil, nil, nil, nil, 0, 0
}
