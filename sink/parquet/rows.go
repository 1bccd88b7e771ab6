package parquet

// rowsReader and its helpers are a copy of sink/duckdb/reader.go's: both
// sinks should share them from an internal package.

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// readBatchRows is the number of rows per record batch a reader returns.
const readBatchRows = 64 * 1024

// rowsReader turns database/sql rows into Arrow record batches.
type rowsReader struct {
	refs   atomic.Int64
	mem    memory.Allocator
	conn   *sql.Conn
	rows   *sql.Rows
	schema *arrow.Schema
	cur    arrow.RecordBatch
	err    error
	eof    bool
	vals   []any
	ptrs   []any
}

var _ array.RecordReader = (*rowsReader)(nil)

func arrowTypeOf(ct *sql.ColumnType) arrow.DataType {
	name := strings.ToUpper(ct.DatabaseTypeName())
	switch {
	case name == "BIGINT" || name == "INTEGER" || name == "SMALLINT" || name == "TINYINT" ||
		name == "UINTEGER" || name == "USMALLINT" || name == "UTINYINT":
		return arrow.PrimitiveTypes.Int64
	case name == "DOUBLE" || name == "FLOAT":
		return arrow.PrimitiveTypes.Float64
	case name == "BOOLEAN":
		return arrow.FixedWidthTypes.Boolean
	case name == "TIMESTAMPTZ" || name == "TIMESTAMP WITH TIME ZONE":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case name == "TIMESTAMP":
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case name == "DATE":
		return arrow.FixedWidthTypes.Date32
	case name == "TIME":
		return arrow.FixedWidthTypes.Time64us
	case name == "BLOB":
		return arrow.BinaryTypes.Binary
	case strings.HasPrefix(name, "DECIMAL"):
		if p, s, ok := ct.DecimalSize(); ok {
			return &arrow.Decimal128Type{Precision: int32(p), Scale: int32(s)}
		}
	}
	return arrow.BinaryTypes.String
}

func newRowsReader(mem memory.Allocator, conn *sql.Conn, rows *sql.Rows) (*rowsReader, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	fields := make([]arrow.Field, len(cts))
	for i, ct := range cts {
		fields[i] = arrow.Field{Name: ct.Name(), Type: arrowTypeOf(ct), Nullable: true}
	}
	rr := &rowsReader{mem: mem, conn: conn, rows: rows, schema: arrow.NewSchema(fields, nil)}
	rr.refs.Store(1)
	rr.vals = make([]any, len(cts))
	rr.ptrs = make([]any, len(cts))
	for i := range rr.vals {
		rr.ptrs[i] = &rr.vals[i]
	}
	return rr, nil
}

func (r *rowsReader) Retain() { r.refs.Add(1) }

func (r *rowsReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.closeRows()
}

func (r *rowsReader) closeRows() {
	if r.rows != nil {
		r.rows.Close()
		r.rows = nil
	}
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
}

func (r *rowsReader) Schema() *arrow.Schema { return r.schema }

func (r *rowsReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch.
func (r *rowsReader) Record() arrow.RecordBatch { return r.cur }

func (r *rowsReader) Err() error { return r.err }

func (r *rowsReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.eof || r.err != nil || r.rows == nil {
		return false
	}
	b := array.NewRecordBuilder(r.mem, r.schema)
	defer b.Release()
	n := 0
	for n < readBatchRows {
		if !r.rows.Next() {
			r.eof = true
			r.err = r.rows.Err()
			r.closeRows()
			break
		}
		if err := r.rows.Scan(r.ptrs...); err != nil {
			r.err = err
			r.closeRows()
			return false
		}
		for i, v := range r.vals {
			if err := appendValue(b.Field(i), v); err != nil {
				r.err = fmt.Errorf("column %s: %w", r.schema.Field(i).Name, err)
				r.closeRows()
				return false
			}
		}
		n++
	}
	if r.err != nil || n == 0 {
		return false
	}
	r.cur = b.NewRecordBatch()
	return true
}

func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.Int64Builder:
		switch x := v.(type) {
		case int64:
			bb.Append(x)
		case int32:
			bb.Append(int64(x))
		case int16:
			bb.Append(int64(x))
		case int8:
			bb.Append(int64(x))
		case uint32:
			bb.Append(int64(x))
		case uint16:
			bb.Append(int64(x))
		case uint8:
			bb.Append(int64(x))
		default:
			return fmt.Errorf("unexpected %T for integer", v)
		}
	case *array.Float64Builder:
		switch x := v.(type) {
		case float64:
			bb.Append(x)
		case float32:
			bb.Append(float64(x))
		default:
			return fmt.Errorf("unexpected %T for double", v)
		}
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return fmt.Errorf("unexpected %T for boolean", v)
		}
		bb.Append(x)
	case *array.TimestampBuilder:
		x, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("unexpected %T for timestamp", v)
		}
		bb.Append(arrow.Timestamp(x.UnixMicro()))
	case *array.Date32Builder:
		x, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("unexpected %T for date", v)
		}
		bb.Append(arrow.Date32FromTime(x))
	case *array.Time64Builder:
		x, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("unexpected %T for time", v)
		}
		d := time.Duration(x.Hour())*time.Hour + time.Duration(x.Minute())*time.Minute +
			time.Duration(x.Second())*time.Second + time.Duration(x.Nanosecond())
		bb.Append(arrow.Time64(d.Microseconds()))
	case *array.BinaryBuilder:
		switch x := v.(type) {
		case []byte:
			bb.Append(x)
		case string:
			bb.AppendString(x)
		default:
			return fmt.Errorf("unexpected %T for blob", v)
		}
	case *array.Decimal128Builder:
		x, ok := v.(duckdb.Decimal)
		if !ok || x.Value == nil {
			return fmt.Errorf("unexpected %T for decimal", v)
		}
		bb.Append(decimal128.FromBigInt(x.Value))
	case *array.StringBuilder:
		bb.Append(textOf(v))
	default:
		return fmt.Errorf("unsupported builder %T", b)
	}
	return nil
}

// textOf formats a value of a column read as text.
func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case *big.Int:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case fmt.Stringer:
		return x.String()
	case map[string]any, []any, float64, bool, int64:
		// JSON values arrive decoded; encode them back.
		if b, err := json.Marshal(x); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}
