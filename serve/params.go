package serve

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// bind binds row of rec, one column per parameter in order, to the
// statement.
func (st *stmt) bind(rec arrow.RecordBatch, row int) error {
	n := int(bindings.NParams(st.p))
	if int(rec.NumCols()) != n {
		return status.Errorf(codes.InvalidArgument, "serve: the statement takes %d parameters, got %d", n, rec.NumCols())
	}
	bindings.ClearBindings(st.p)
	for i, col := range rec.Columns() {
		if err := st.bindValue(bindings.IdxT(i+1), col, row); err != nil {
			return status.Errorf(codes.InvalidArgument, "serve: parameter %d (%s): %v", i+1, rec.ColumnName(i), err)
		}
	}
	return nil
}

func (st *stmt) bindValue(idx bindings.IdxT, col arrow.Array, row int) error {
	// A union (as some clients send parameters) binds the value it holds.
	for {
		u, ok := col.(array.Union)
		if !ok {
			break
		}
		child := u.Field(u.ChildID(row))
		if d, ok := u.(*array.DenseUnion); ok {
			row = int(d.ValueOffset(row))
		}
		col = child
	}
	if col.IsNull(row) {
		return state(bindings.BindNull(st.p, idx), st)
	}
	p := st.p
	var s bindings.State
	switch a := col.(type) {
	case *array.Boolean:
		s = bindings.BindBoolean(p, idx, a.Value(row))
	case *array.Int8:
		s = bindings.BindInt8(p, idx, a.Value(row))
	case *array.Int16:
		s = bindings.BindInt16(p, idx, a.Value(row))
	case *array.Int32:
		s = bindings.BindInt32(p, idx, a.Value(row))
	case *array.Int64:
		s = bindings.BindInt64(p, idx, a.Value(row))
	case *array.Uint8:
		s = bindings.BindUInt8(p, idx, a.Value(row))
	case *array.Uint16:
		s = bindings.BindUInt16(p, idx, a.Value(row))
	case *array.Uint32:
		s = bindings.BindUInt32(p, idx, a.Value(row))
	case *array.Uint64:
		s = bindings.BindUInt64(p, idx, a.Value(row))
	case *array.Float32:
		s = bindings.BindFloat(p, idx, a.Value(row))
	case *array.Float64:
		s = bindings.BindDouble(p, idx, a.Value(row))
	case *array.String:
		s = bindings.BindVarchar(p, idx, a.Value(row))
	case *array.LargeString:
		s = bindings.BindVarchar(p, idx, a.Value(row))
	case *array.StringView:
		s = bindings.BindVarchar(p, idx, a.Value(row))
	case *array.Binary:
		s = bindings.BindBlob(p, idx, a.Value(row))
	case *array.LargeBinary:
		s = bindings.BindBlob(p, idx, a.Value(row))
	case *array.Date32:
		s = bindings.BindDate(p, idx, bindings.NewDate(int32(a.Value(row))))
	case *array.Date64:
		s = bindings.BindDate(p, idx, bindings.NewDate(int32(a.Value(row).ToTime().Unix()/86400)))
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		us := a.Value(row).ToTime(typ.Unit).UnixMicro()
		if typ.TimeZone != "" {
			s = bindings.BindTimestampTZ(p, idx, bindings.NewTimestamp(us))
		} else {
			s = bindings.BindTimestamp(p, idx, bindings.NewTimestamp(us))
		}
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		s = bindings.BindTime(p, idx, bindings.NewTime(int64(a.Value(row).ToTime(unit).Sub(time.Unix(0, 0).UTC())/time.Microsecond)))
	default:
		// Decimals and the rest bind as their text, which DuckDB casts to
		// the parameter's type.
		s = bindings.BindVarchar(p, idx, col.ValueStr(row))
	}
	return state(s, st)
}

func state(s bindings.State, st *stmt) error {
	if s == bindings.StateError {
		if msg := bindings.PrepareError(st.p); msg != "" {
			return fmt.Errorf("%s", msg)
		}
		return fmt.Errorf("DuckDB refused the value")
	}
	return nil
}
