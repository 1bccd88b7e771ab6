package sqlarrow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/arrowbuf"
)

// DefaultBatchRows is the number of rows per record batch a Reader returns
// unless WithBatchRows says otherwise.
const DefaultBatchRows = 64 * 1024

// MetaDataType is the Arrow field metadata key naming a column's dlt data
// type where the Arrow type does not tell it: "json" for JSON read as text.
const MetaDataType = arrowbuf.MetaDataType

// Option configures a Reader.
type Option func(*config)

type config struct {
	batchRows int
	closer    io.Closer
	dataTypes map[string]string
}

// WithBatchRows sets the number of rows per record batch (n > 0).
func WithBatchRows(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.batchRows = n
		}
	}
}

// WithCloser hands c to the Reader, which closes it after the rows: pass
// the *sql.Conn the rows were queried on.
func WithCloser(c io.Closer) Option {
	return func(cfg *config) { cfg.closer = c }
}

// WithDataTypes sets the MetaDataType field metadata of the named result
// columns, for columns whose type the query hides (a JSON column cast to
// VARCHAR, say).
func WithDataTypes(types map[string]string) Option {
	return func(c *config) { c.dataTypes = types }
}

// Reader turns database/sql rows into Arrow record batches.
type Reader struct {
	refs      atomic.Int64
	mem       memory.Allocator
	batchRows int
	closer    io.Closer
	rows      *sql.Rows
	schema    *arrow.Schema
	cur       arrow.RecordBatch
	err       error
	eof       bool
	vals      []any
	ptrs      []any
	json      []bool // columns of DuckDB's JSON type, which scan decoded
}

var _ array.RecordReader = (*Reader)(nil)

// Query runs q on conn in a read-only transaction and returns a Reader of
// its rows: datasets are read through it, and no query may change them
// (DELETE, DROP or CREATE fail). The Reader owns conn: it ends the
// transaction and closes conn with the rows, and Query does both when it
// fails.
func Query(ctx context.Context, mem memory.Allocator, conn *sql.Conn, q string, opts ...Option) (*Reader, error) {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION READ ONLY"); err != nil {
		conn.Close()
		return nil, err
	}
	tx := readTx{conn}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		tx.Close()
		return nil, err
	}
	return NewReader(mem, rows, append(opts[:len(opts):len(opts)], WithCloser(tx))...)
}

// readTx ends a query's transaction before its connection goes back to the
// pool, where the next query would otherwise find it open.
type readTx struct{ conn *sql.Conn }

func (t readTx) Close() error {
	_, err := t.conn.ExecContext(context.Background(), "ROLLBACK")
	return errors.Join(err, t.conn.Close())
}

// NewReader returns a Reader of rows, with Arrow types from the rows'
// column types (ArrowType). It takes ownership of rows and of the
// WithCloser closer, and closes them itself if it fails. A nil mem means
// memory.DefaultAllocator.
func NewReader(mem memory.Allocator, rows *sql.Rows, opts ...Option) (*Reader, error) {
	cfg := config{batchRows: DefaultBatchRows}
	for _, o := range opts {
		o(&cfg)
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	rr := &Reader{mem: mem, batchRows: cfg.batchRows, closer: cfg.closer, rows: rows}
	cts, err := rows.ColumnTypes()
	if err != nil {
		rr.closeRows()
		return nil, err
	}
	fields := make([]arrow.Field, len(cts))
	rr.json = make([]bool, len(cts))
	for i, ct := range cts {
		fields[i] = arrow.Field{Name: ct.Name(), Type: ArrowType(ct), Nullable: true}
		dt := cfg.dataTypes[ct.Name()]
		if strings.EqualFold(ct.DatabaseTypeName(), "JSON") {
			rr.json[i] = true
			if dt == "" {
				dt = "json"
			}
		}
		if dt != "" {
			fields[i].Metadata = arrow.NewMetadata([]string{MetaDataType}, []string{dt})
		}
	}
	rr.schema = arrow.NewSchema(fields, nil)
	rr.refs.Store(1)
	rr.vals = make([]any, len(cts))
	rr.ptrs = make([]any, len(cts))
	for i := range rr.vals {
		rr.ptrs[i] = &rr.vals[i]
	}
	return rr, nil
}

// ArrowType is the Arrow type a column of database type ct is read as:
// integers as int64, floats as float64, BOOLEAN, TIMESTAMP (with time zone:
// UTC), DATE, TIME, BLOB and DECIMAL as their Arrow counterparts, the rest
// as text.
func ArrowType(ct *sql.ColumnType) arrow.DataType {
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
		if p, s, ok := decimalSize(ct, name); ok {
			return &arrow.Decimal128Type{Precision: int32(p), Scale: int32(s)}
		}
	}
	return arrow.BinaryTypes.String
}

// decimalSize is a DECIMAL column's precision and scale: from the driver
// if it tells them, else from the type name "DECIMAL(p,s)", which is all
// duckdb-go gives.
func decimalSize(ct *sql.ColumnType, name string) (p, s int64, ok bool) {
	if p, s, ok = ct.DecimalSize(); ok {
		return p, s, p >= 1 && p <= 38
	}
	if _, err := fmt.Sscanf(name, "DECIMAL(%d,%d)", &p, &s); err != nil {
		return 0, 0, false
	}
	return p, s, p >= 1 && p <= 38 && s >= 0 && s <= p
}

// Retain adds a reference.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one releases the current batch and
// closes the rows and the connection.
func (r *Reader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.closeRows()
}

func (r *Reader) closeRows() {
	if r.rows != nil {
		r.rows.Close()
		r.rows = nil
	}
	if r.closer != nil {
		r.closer.Close()
		r.closer = nil
	}
}

// Schema is the result's schema.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// RecordBatch returns the current batch.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch.
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err is the error that ended the rows, if any.
func (r *Reader) Err() error { return r.err }

// Next reads the next batch of up to the batch size rows.
func (r *Reader) Next() bool {
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
	for n < r.batchRows {
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
			if r.json[i] && v != nil {
				s, err := jsonText(v)
				if err != nil {
					r.err = fmt.Errorf("column %s: %w", r.schema.Field(i).Name, err)
					r.closeRows()
					return false
				}
				v = s
			}
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

// jsonText encodes a decoded JSON value back to JSON text. The driver
// decodes objects into Go maps, so keys come back sorted and numbers as
// float64.
func jsonText(v any) (string, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(sb.String(), "\n"), nil
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
	case map[string]any, []any:
		if s, err := jsonText(x); err == nil {
			return s
		}
	}
	return fmt.Sprint(v)
}
