package transform

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/flow"
)

// filterRecord is the incremental step on an Arrow record batch: rows are
// kept or dropped by the value in the cursor column exactly as Go and JSON
// rows are (boundary deduplication included), and the batch stays Arrow
// with its types. Cursor columns may be integers, floats, strings,
// timestamps or dates (dates compare and are stored as "2006-01-02").
func (in *Incremental) filterRecord(r *incRun, b flow.Batch) (flow.Batch, error) {
	rec := b.Record
	col := findColumn(rec, in.path)
	var value func(i int) any
	switch {
	case col != nil:
		var err error
		if value, err = cursorReader(col); err != nil {
			return b, fmt.Errorf("transform: incremental cursor %q: %w", in.CursorPath, err)
		}
	case in.OnMissing != "include" && in.OnMissing != "exclude":
		names := make([]string, 0, rec.NumCols())
		for _, f := range rec.Schema().Fields() {
			names = append(names, f.Name)
		}
		return b, fmt.Errorf("transform: incremental cursor %q: the Arrow record batch has no such column (it has %s)",
			in.CursorPath, strings.Join(names, ", "))
	}
	// Boundary rows are told apart by their primary key, else all columns.
	keyCols := rec.Columns()
	if len(in.keyPath) > 0 {
		keyCols = make([]arrow.Array, len(in.keyPath))
		for k, p := range in.keyPath {
			keyCols[k] = findColumn(rec, p)
		}
	}
	n := int(rec.NumRows())
	var buf []byte
	var runs [][2]int64 // kept rows, as [start, end) runs
	for i := range n {
		var ok bool
		var err error
		if col == nil || col.IsNull(i) {
			ok, err = in.keepMissing()
		} else {
			hash := ""
			ok, err = in.keepValue(r, value(i), func() string {
				if hash == "" {
					hash, buf = rowHashArrow(buf, keyCols, i)
				}
				return hash
			})
		}
		if err != nil {
			return b, err
		}
		switch {
		case !ok:
		case len(runs) > 0 && runs[len(runs)-1][1] == int64(i):
			runs[len(runs)-1][1]++
		default:
			runs = append(runs, [2]int64{int64(i), int64(i) + 1})
		}
	}
	in.save(r)
	switch {
	case len(runs) == 1 && runs[0] == [2]int64{0, int64(n)}:
		return b, nil
	case len(runs) == 0:
		b.Record = nil // an empty batch: the engine drops it and releases rec
		return b, nil
	}
	kept, err := pick(rec, runs)
	if err != nil {
		return b, fmt.Errorf("transform: incremental cursor %q: %w", in.CursorPath, err)
	}
	b.Record = kept
	b.OnRelease(kept.Release)
	return b, nil
}

// findColumn returns the column at path p, through struct columns, or nil.
func findColumn(rec arrow.RecordBatch, p Path) arrow.Array {
	fields, cols := rec.Schema().Fields(), rec.Columns()
	for depth, name := range p {
		var col arrow.Array
		for i, f := range fields {
			if f.Name == name {
				col = cols[i]
				break
			}
		}
		if col == nil || depth == len(p)-1 {
			return col
		}
		st, ok := col.(*array.Struct)
		if !ok {
			return nil
		}
		fields = st.DataType().(*arrow.StructType).Fields()
		cols = make([]arrow.Array, st.NumField())
		for i := range cols {
			cols[i] = st.Field(i)
		}
	}
	return nil
}

// cursorReader returns a reader of a cursor column's values as the Go
// values Compare orders: int64, float64, string or time.Time.
func cursorReader(col arrow.Array) (func(i int) any, error) {
	switch a := col.(type) {
	case *array.Int8:
		return func(i int) any { return int64(a.Value(i)) }, nil
	case *array.Int16:
		return func(i int) any { return int64(a.Value(i)) }, nil
	case *array.Int32:
		return func(i int) any { return int64(a.Value(i)) }, nil
	case *array.Int64:
		return func(i int) any { return a.Value(i) }, nil
	case *array.Uint8:
		return func(i int) any { return int64(a.Value(i)) }, nil
	case *array.Uint16:
		return func(i int) any { return int64(a.Value(i)) }, nil
	case *array.Uint32:
		return func(i int) any { return int64(a.Value(i)) }, nil
	case *array.Uint64:
		return func(i int) any { return a.Value(i) }, nil
	case *array.Float32:
		return func(i int) any { return float64(a.Value(i)) }, nil
	case *array.Float64:
		return func(i int) any { return a.Value(i) }, nil
	case *array.String:
		return func(i int) any { return a.Value(i) }, nil
	case *array.LargeString:
		return func(i int) any { return a.Value(i) }, nil
	case *array.StringView:
		return func(i int) any { return a.Value(i) }, nil
	case *array.Timestamp:
		toTime, err := a.DataType().(*arrow.TimestampType).GetToTimeFunc()
		if err != nil {
			return nil, err
		}
		return func(i int) any { return toTime(a.Value(i)) }, nil
	case *array.Date32:
		return func(i int) any { return a.Value(i).ToTime().Format(dateLayout) }, nil
	case *array.Date64:
		return func(i int) any { return a.Value(i).ToTime().Format(dateLayout) }, nil
	}
	return nil, fmt.Errorf("an Arrow column of type %s cannot be a cursor (want an integer, float, string, timestamp or date)", col.DataType())
}

const dateLayout = "2006-01-02"

// rowHashArrow hashes row i of cols (a missing column counts as null),
// reusing buf.
func rowHashArrow(buf []byte, cols []arrow.Array, i int) (string, []byte) {
	buf = buf[:0]
	for _, c := range cols {
		if c == nil || c.IsNull(i) {
			buf = append(buf, 0)
			continue
		}
		v := c.ValueStr(i)
		buf = binary.AppendUvarint(append(buf, 1), uint64(len(v))) // no two rows run together
		buf = append(buf, v...)
	}
	sum := sha256.Sum256(buf)
	return base64.RawURLEncoding.EncodeToString(sum[:12]), buf
}

// pick returns the rows of rec in runs as a new record: a zero-copy slice
// for one run, else the runs' slices concatenated column by column.
func pick(rec arrow.RecordBatch, runs [][2]int64) (arrow.RecordBatch, error) {
	if len(runs) == 1 {
		return rec.NewSlice(runs[0][0], runs[0][1]), nil
	}
	var rows int64
	for _, r := range runs {
		rows += r[1] - r[0]
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(runs))
	for c := range cols {
		for k, r := range runs {
			parts[k] = array.NewSlice(rec.Column(c), r[0], r[1])
		}
		col, err := array.Concatenate(parts, memory.DefaultAllocator)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, err
		}
		cols[c] = col
	}
	return array.NewRecordBatch(rec.Schema(), cols, rows), nil
}
