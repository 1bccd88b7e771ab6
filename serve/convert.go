package serve

import (
	"encoding/hex"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/sluicehq/sluice/arrowbuf"
)

// colType is a result column's DuckDB type and the Arrow type it is sent
// as. It reads DuckDB's vectors directly (their C layout is DuckDB's stable
// C API), so no build tag is needed and a fixed-width column is copied, not
// converted value by value.
type colType struct {
	id       bindings.Type
	arrow    arrow.DataType
	internal bindings.Type   // storage of DECIMAL and ENUM
	dict     []string        // ENUM values
	size     int             // ARRAY size
	children []*colType      // LIST, ARRAY: one; MAP: key, value; STRUCT: fields
	names    []string        // STRUCT field names
	meta     *arrow.Metadata // field metadata
}

// unsupportedTypeError names a column type serve cannot send as Arrow.
type unsupportedTypeError struct{ column, typ string }

func (e *unsupportedTypeError) Error() string {
	return fmt.Sprintf("column %q has DuckDB type %s, which serve cannot send as Arrow: cast it in the query, e.g. CAST(%q AS VARCHAR)",
		e.column, e.typ, e.column)
}

// typeNames names DuckDB types in errors.
var typeNames = map[bindings.Type]string{
	bindings.TypeBit: "BIT", bindings.TypeBigNum: "BIGNUM", bindings.TypeUnion: "UNION",
	bindings.TypeTimeTZ: "TIME WITH TIME ZONE", bindings.TypeUHugeInt: "UHUGEINT",
	bindings.TypeAny: "ANY", bindings.TypeGeometry: "GEOMETRY", bindings.TypeVariant: "VARIANT",
	bindings.TypeInvalid: "unknown",
}

// newColType reads a DuckDB logical type. It does not take ownership of lt.
func newColType(column string, lt bindings.LogicalType) (*colType, error) {
	id := bindings.GetTypeId(lt)
	c := &colType{id: id}
	switch id {
	case bindings.TypeBoolean:
		c.arrow = arrow.FixedWidthTypes.Boolean
	case bindings.TypeTinyInt:
		c.arrow = arrow.PrimitiveTypes.Int8
	case bindings.TypeSmallInt:
		c.arrow = arrow.PrimitiveTypes.Int16
	case bindings.TypeInteger:
		c.arrow = arrow.PrimitiveTypes.Int32
	case bindings.TypeBigInt:
		c.arrow = arrow.PrimitiveTypes.Int64
	case bindings.TypeUTinyInt:
		c.arrow = arrow.PrimitiveTypes.Uint8
	case bindings.TypeUSmallInt:
		c.arrow = arrow.PrimitiveTypes.Uint16
	case bindings.TypeUInteger:
		c.arrow = arrow.PrimitiveTypes.Uint32
	case bindings.TypeUBigInt:
		c.arrow = arrow.PrimitiveTypes.Uint64
	case bindings.TypeFloat:
		c.arrow = arrow.PrimitiveTypes.Float32
	case bindings.TypeDouble:
		c.arrow = arrow.PrimitiveTypes.Float64
	case bindings.TypeVarchar:
		c.arrow = arrow.BinaryTypes.String
		if bindings.LogicalTypeGetAlias(lt) == "JSON" {
			// As the dataset readers do: JSON is text, marked as JSON.
			md := arrow.NewMetadata([]string{arrowbuf.MetaDataType}, []string{"json"})
			c.meta = &md
		}
	case bindings.TypeBlob:
		c.arrow = arrow.BinaryTypes.Binary
	case bindings.TypeDate:
		c.arrow = arrow.FixedWidthTypes.Date32
	case bindings.TypeTime:
		c.arrow = arrow.FixedWidthTypes.Time64us
	case bindings.TypeTimeNS:
		c.arrow = arrow.FixedWidthTypes.Time64ns
	case bindings.TypeTimestamp:
		c.arrow = &arrow.TimestampType{Unit: arrow.Microsecond}
	case bindings.TypeTimestampS:
		c.arrow = &arrow.TimestampType{Unit: arrow.Second}
	case bindings.TypeTimestampMS:
		c.arrow = &arrow.TimestampType{Unit: arrow.Millisecond}
	case bindings.TypeTimestampNS:
		c.arrow = &arrow.TimestampType{Unit: arrow.Nanosecond}
	case bindings.TypeTimestampTZ:
		c.arrow = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case bindings.TypeInterval:
		c.arrow = arrow.FixedWidthTypes.MonthDayNanoInterval
	case bindings.TypeHugeInt:
		c.arrow = &arrow.Decimal128Type{Precision: 38, Scale: 0}
	case bindings.TypeUUID:
		c.arrow = arrow.BinaryTypes.String
	case bindings.TypeDecimal:
		c.internal = bindings.DecimalInternalType(lt)
		c.arrow = &arrow.Decimal128Type{Precision: int32(bindings.DecimalWidth(lt)), Scale: int32(bindings.DecimalScale(lt))}
	case bindings.TypeEnum:
		c.internal = bindings.EnumInternalType(lt)
		n := bindings.EnumDictionarySize(lt)
		c.dict = make([]string, n)
		for i := range c.dict {
			c.dict[i] = bindings.EnumDictionaryValue(lt, bindings.IdxT(i))
		}
		c.arrow = arrow.BinaryTypes.String
	case bindings.TypeList, bindings.TypeArray:
		var child bindings.LogicalType
		if id == bindings.TypeList {
			child = bindings.ListTypeChildType(lt)
		} else {
			child = bindings.ArrayTypeChildType(lt)
			c.size = int(bindings.ArrayTypeArraySize(lt))
		}
		ct, err := newColType(column, child)
		bindings.DestroyLogicalType(&child)
		if err != nil {
			return nil, err
		}
		c.children = []*colType{ct}
		if id == bindings.TypeList {
			c.arrow = arrow.ListOf(ct.arrow)
		} else {
			c.arrow = arrow.FixedSizeListOf(int32(c.size), ct.arrow)
		}
	case bindings.TypeMap:
		k, v := bindings.MapTypeKeyType(lt), bindings.MapTypeValueType(lt)
		kt, err := newColType(column, k)
		var vt *colType
		if err == nil {
			vt, err = newColType(column, v)
		}
		bindings.DestroyLogicalType(&k)
		bindings.DestroyLogicalType(&v)
		if err != nil {
			return nil, err
		}
		c.children = []*colType{kt, vt}
		c.arrow = arrow.MapOf(kt.arrow, vt.arrow)
	case bindings.TypeStruct:
		n := int(bindings.StructTypeChildCount(lt))
		fields := make([]arrow.Field, n)
		for i := range n {
			ch := bindings.StructTypeChildType(lt, bindings.IdxT(i))
			ct, err := newColType(column, ch)
			bindings.DestroyLogicalType(&ch)
			if err != nil {
				return nil, err
			}
			name := bindings.StructTypeChildName(lt, bindings.IdxT(i))
			c.children = append(c.children, ct)
			c.names = append(c.names, name)
			fields[i] = ct.field(name)
		}
		c.arrow = arrow.StructOf(fields...)
	default:
		name := typeNames[id]
		if name == "" {
			name = fmt.Sprintf("#%d", int(id))
		}
		return nil, &unsupportedTypeError{column: column, typ: name}
	}
	return c, nil
}

// field is the Arrow field of a column of this type.
func (c *colType) field(name string) arrow.Field {
	f := arrow.Field{Name: name, Type: c.arrow, Nullable: true}
	if c.meta != nil {
		f.Metadata = *c.meta
	}
	return f
}

// column appends rows of DuckDB vectors to an Arrow builder.
type column interface {
	// appendRows appends rows [from, to) of vec, a flat vector, and
	// returns about how many bytes that added.
	appendRows(vec bindings.Vector, from, to int) int
}

// newColumn returns the column appending vectors of type c to b.
func (c *colType) newColumn(b array.Builder) column {
	switch c.id {
	case bindings.TypeBoolean:
		return &boolColumn{b: b.(*array.BooleanBuilder)}
	case bindings.TypeTinyInt:
		return &fixedColumn[int8]{b: b.(*array.Int8Builder)}
	case bindings.TypeSmallInt:
		return &fixedColumn[int16]{b: b.(*array.Int16Builder)}
	case bindings.TypeInteger:
		return &fixedColumn[int32]{b: b.(*array.Int32Builder)}
	case bindings.TypeBigInt:
		return &fixedColumn[int64]{b: b.(*array.Int64Builder)}
	case bindings.TypeUTinyInt:
		return &fixedColumn[uint8]{b: b.(*array.Uint8Builder)}
	case bindings.TypeUSmallInt:
		return &fixedColumn[uint16]{b: b.(*array.Uint16Builder)}
	case bindings.TypeUInteger:
		return &fixedColumn[uint32]{b: b.(*array.Uint32Builder)}
	case bindings.TypeUBigInt:
		return &fixedColumn[uint64]{b: b.(*array.Uint64Builder)}
	case bindings.TypeFloat:
		return &fixedColumn[float32]{b: b.(*array.Float32Builder)}
	case bindings.TypeDouble:
		return &fixedColumn[float64]{b: b.(*array.Float64Builder)}
	case bindings.TypeDate:
		return &fixedColumn[arrow.Date32]{b: b.(*array.Date32Builder)}
	case bindings.TypeTime, bindings.TypeTimeNS:
		return &fixedColumn[arrow.Time64]{b: b.(*array.Time64Builder)}
	case bindings.TypeTimestamp, bindings.TypeTimestampS, bindings.TypeTimestampMS,
		bindings.TypeTimestampNS, bindings.TypeTimestampTZ:
		return &fixedColumn[arrow.Timestamp]{b: b.(*array.TimestampBuilder)}
	case bindings.TypeVarchar:
		return &bytesColumn{b: b.(*array.StringBuilder).BinaryBuilder}
	case bindings.TypeBlob:
		return &bytesColumn{b: b.(*array.BinaryBuilder)}
	case bindings.TypeInterval:
		return &intervalColumn{b: b.(*array.MonthDayNanoIntervalBuilder)}
	case bindings.TypeHugeInt:
		return &decimalColumn{b: b.(*array.Decimal128Builder), internal: bindings.TypeHugeInt}
	case bindings.TypeDecimal:
		return &decimalColumn{b: b.(*array.Decimal128Builder), internal: c.internal}
	case bindings.TypeUUID:
		return &uuidColumn{b: b.(*array.StringBuilder)}
	case bindings.TypeEnum:
		return &enumColumn{b: b.(*array.StringBuilder), dict: c.dict, internal: c.internal}
	case bindings.TypeList:
		lb := b.(*array.ListBuilder)
		return &listColumn{b: lb, child: c.children[0].newColumn(lb.ValueBuilder())}
	case bindings.TypeMap:
		mb := b.(*array.MapBuilder)
		return &mapColumn{b: mb, key: c.children[0].newColumn(mb.KeyBuilder()), item: c.children[1].newColumn(mb.ItemBuilder())}
	case bindings.TypeArray:
		fb := b.(*array.FixedSizeListBuilder)
		return &arrayColumn{b: fb, size: c.size, child: c.children[0].newColumn(fb.ValueBuilder())}
	case bindings.TypeStruct:
		sb := b.(*array.StructBuilder)
		s := &structColumn{b: sb}
		for i, ch := range c.children {
			s.fields = append(s.fields, ch.newColumn(sb.FieldBuilder(i)))
		}
		return s
	}
	// newColType refuses every other type.
	panic(fmt.Sprintf("serve: no column for DuckDB type %d", int(c.id)))
}

// validity returns rows [0, to) of vec's validity mask, nil when all are
// valid. DuckDB's mask has Arrow's bit order: bit i%64 of word i/64.
func validity(vec bindings.Vector, to int) []uint64 {
	p := bindings.VectorGetValidity(vec)
	if p == nil {
		return nil
	}
	return unsafe.Slice((*uint64)(p), (to+63)/64)
}

func isValid(mask []uint64, i int) bool { return mask == nil || mask[i/64]&(1<<(i%64)) != 0 }

// valids fills buf with the validity of rows [from, to).
func valids(buf []bool, mask []uint64, from, to int) []bool {
	buf = buf[:0]
	for i := from; i < to; i++ {
		buf = append(buf, isValid(mask, i))
	}
	return buf
}

// fixedColumn copies a fixed-width vector whose values have the Arrow
// type's layout.
type fixedColumn[T any] struct {
	b interface {
		AppendValues([]T, []bool)
	}
	valid []bool
}

func (c *fixedColumn[T]) appendRows(vec bindings.Vector, from, to int) int {
	data := unsafe.Slice((*T)(bindings.VectorGetData(vec)), to)[from:to]
	if mask := validity(vec, to); mask != nil {
		c.valid = valids(c.valid, mask, from, to)
		c.b.AppendValues(data, c.valid)
	} else {
		c.b.AppendValues(data, nil)
	}
	var zero T
	return len(data) * int(unsafe.Sizeof(zero))
}

type boolColumn struct {
	b         *array.BooleanBuilder
	vals, oks []bool
}

func (c *boolColumn) appendRows(vec bindings.Vector, from, to int) int {
	data := unsafe.Slice((*byte)(bindings.VectorGetData(vec)), to)
	mask := validity(vec, to)
	c.vals = c.vals[:0]
	for i := from; i < to; i++ {
		c.vals = append(c.vals, data[i] != 0)
	}
	c.oks = valids(c.oks, mask, from, to)
	c.b.AppendValues(c.vals, c.oks)
	return to - from
}

// stringAt returns the bytes of the duckdb_string_t at row i of base: up to
// 12 bytes inline after the length, longer ones behind a pointer at offset 8.
func stringAt(base unsafe.Pointer, i int) []byte {
	p := unsafe.Add(base, i*16)
	n := *(*uint32)(p)
	if n <= 12 {
		return unsafe.Slice((*byte)(unsafe.Add(p, 4)), n)
	}
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Add(p, 8))), n)
}

// bytesColumn copies VARCHAR and BLOB values.
type bytesColumn struct{ b *array.BinaryBuilder }

func (c *bytesColumn) appendRows(vec bindings.Vector, from, to int) int {
	base := bindings.VectorGetData(vec)
	mask := validity(vec, to)
	c.b.Reserve(to - from)
	n := 0
	for i := from; i < to; i++ {
		if !isValid(mask, i) {
			c.b.AppendNull()
			continue
		}
		v := stringAt(base, i)
		c.b.Append(v)
		n += len(v) + 4
	}
	return n
}

type intervalColumn struct {
	b *array.MonthDayNanoIntervalBuilder
}

func (c *intervalColumn) appendRows(vec bindings.Vector, from, to int) int {
	type interval struct {
		months, days int32
		micros       int64
	}
	data := unsafe.Slice((*interval)(bindings.VectorGetData(vec)), to)
	mask := validity(vec, to)
	for i := from; i < to; i++ {
		if !isValid(mask, i) {
			c.b.AppendNull()
			continue
		}
		v := data[i]
		c.b.Append(arrow.MonthDayNanoInterval{Months: v.months, Days: v.days, Nanoseconds: v.micros * 1000})
	}
	return (to - from) * 16
}

// hugeint is DuckDB's 128-bit integer.
type hugeint struct {
	lower uint64
	upper int64
}

// decimalColumn widens DECIMAL (stored in 2, 4, 8 or 16 bytes by width)
// and HUGEINT to Arrow's 128-bit decimal.
type decimalColumn struct {
	b        *array.Decimal128Builder
	internal bindings.Type
}

func (c *decimalColumn) appendRows(vec bindings.Vector, from, to int) int {
	p := bindings.VectorGetData(vec)
	mask := validity(vec, to)
	for i := from; i < to; i++ {
		if !isValid(mask, i) {
			c.b.AppendNull()
			continue
		}
		var v decimal128.Num
		switch c.internal {
		case bindings.TypeSmallInt:
			v = decimal128.FromI64(int64(unsafe.Slice((*int16)(p), to)[i]))
		case bindings.TypeInteger:
			v = decimal128.FromI64(int64(unsafe.Slice((*int32)(p), to)[i]))
		case bindings.TypeBigInt:
			v = decimal128.FromI64(unsafe.Slice((*int64)(p), to)[i])
		default:
			h := unsafe.Slice((*hugeint)(p), to)[i]
			v = decimal128.New(h.upper, h.lower)
		}
		c.b.Append(v)
	}
	return (to - from) * 16
}

// uuidColumn formats UUIDs, stored as a HUGEINT with the top bit flipped.
type uuidColumn struct {
	b   *array.StringBuilder
	buf [36]byte
}

func (c *uuidColumn) appendRows(vec bindings.Vector, from, to int) int {
	data := unsafe.Slice((*hugeint)(bindings.VectorGetData(vec)), to)
	mask := validity(vec, to)
	for i := from; i < to; i++ {
		if !isValid(mask, i) {
			c.b.AppendNull()
			continue
		}
		var raw [16]byte
		hi, lo := uint64(data[i].upper)^(1<<63), data[i].lower
		for k := range 8 {
			raw[k] = byte(hi >> (56 - 8*k))
			raw[8+k] = byte(lo >> (56 - 8*k))
		}
		b := c.buf[:0]
		for k, part := range [][]byte{raw[0:4], raw[4:6], raw[6:8], raw[8:10], raw[10:16]} {
			if k > 0 {
				b = append(b, '-')
			}
			b = hex.AppendEncode(b, part)
		}
		c.b.BinaryBuilder.Append(b)
	}
	return (to - from) * 40
}

type enumColumn struct {
	b        *array.StringBuilder
	dict     []string
	internal bindings.Type
}

func (c *enumColumn) appendRows(vec bindings.Vector, from, to int) int {
	p := bindings.VectorGetData(vec)
	mask := validity(vec, to)
	n := 0
	for i := from; i < to; i++ {
		if !isValid(mask, i) {
			c.b.AppendNull()
			continue
		}
		var k int
		switch c.internal {
		case bindings.TypeUTinyInt:
			k = int(unsafe.Slice((*uint8)(p), to)[i])
		case bindings.TypeUSmallInt:
			k = int(unsafe.Slice((*uint16)(p), to)[i])
		default:
			k = int(unsafe.Slice((*uint32)(p), to)[i])
		}
		if k >= len(c.dict) {
			c.b.AppendNull()
			continue
		}
		c.b.Append(c.dict[k])
		n += len(c.dict[k]) + 4
	}
	return n
}

// listEntry is DuckDB's duckdb_list_entry.
type listEntry struct{ offset, length uint64 }

type listColumn struct {
	b     *array.ListBuilder
	child column
}

func (c *listColumn) appendRows(vec bindings.Vector, from, to int) int {
	entries := unsafe.Slice((*listEntry)(bindings.VectorGetData(vec)), to)
	mask := validity(vec, to)
	child := bindings.ListVectorGetChild(vec)
	n := 0
	for i := from; i < to; i++ {
		if !isValid(mask, i) {
			c.b.AppendNull()
			continue
		}
		c.b.Append(true)
		if e := entries[i]; e.length > 0 {
			n += c.child.appendRows(child, int(e.offset), int(e.offset+e.length))
		}
	}
	return n + (to-from)*4
}

type mapColumn struct {
	b         *array.MapBuilder
	key, item column
}

func (c *mapColumn) appendRows(vec bindings.Vector, from, to int) int {
	entries := unsafe.Slice((*listEntry)(bindings.VectorGetData(vec)), to)
	mask := validity(vec, to)
	kv := bindings.ListVectorGetChild(vec)
	keys, items := bindings.StructVectorGetChild(kv, 0), bindings.StructVectorGetChild(kv, 1)
	n := 0
	for i := from; i < to; i++ {
		if !isValid(mask, i) {
			c.b.AppendNull()
			continue
		}
		c.b.Append(true)
		if e := entries[i]; e.length > 0 {
			lo, hi := int(e.offset), int(e.offset+e.length)
			n += c.key.appendRows(keys, lo, hi) + c.item.appendRows(items, lo, hi)
		}
	}
	return n + (to-from)*4
}

type arrayColumn struct {
	b     *array.FixedSizeListBuilder
	size  int
	child column
	valid []bool
}

func (c *arrayColumn) appendRows(vec bindings.Vector, from, to int) int {
	c.valid = valids(c.valid, validity(vec, to), from, to)
	c.b.AppendValues(c.valid)
	return c.child.appendRows(bindings.ArrayVectorGetChild(vec), from*c.size, to*c.size)
}

type structColumn struct {
	b      *array.StructBuilder
	fields []column
	valid  []bool
}

func (c *structColumn) appendRows(vec bindings.Vector, from, to int) int {
	c.valid = valids(c.valid, validity(vec, to), from, to)
	c.b.AppendValues(c.valid)
	n := 0
	for i, f := range c.fields {
		n += f.appendRows(bindings.StructVectorGetChild(vec, bindings.IdxT(i)), from, to)
	}
	return n
}
