package arrowbuf

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// directType is the dlt type an Arrow column keeps as it is: its arrays can
// be passed on without copying when they already have the Arrow type the
// column would be built with.
func directType(t arrow.DataType) (Column, bool) {
	switch tt := t.(type) {
	case *arrow.Int64Type:
		return Column{DataType: TypeBigint}, true
	case *arrow.Float64Type:
		return Column{DataType: TypeDouble}, true
	case *arrow.BooleanType:
		return Column{DataType: TypeBool}, true
	case *arrow.StringType:
		return Column{DataType: TypeText}, true
	case *arrow.BinaryType:
		return Column{DataType: TypeBinary}, true
	case *arrow.Date32Type:
		return Column{DataType: TypeDate}, true
	case *arrow.Time64Type:
		return Column{DataType: TypeTime}, tt.Unit == arrow.Microsecond
	case *arrow.TimestampType:
		if tt.Unit != arrow.Microsecond {
			return Column{}, false
		}
		switch tt.TimeZone {
		case "UTC":
			return Column{DataType: TypeTimestamp}, true
		case "":
			f := false
			return Column{DataType: TypeTimestamp, Timezone: &f}, true
		}
	case *arrow.Decimal128Type:
		return Column{DataType: TypeDecimal, Precision: int(tt.Precision), Scale: int(tt.Scale)}, true
	}
	return Column{}, false
}

// appendColumnar passes a record's arrays on as they are, adding only the
// normalized names and the _dlt_load_id and _dlt_id columns. It reports
// false, having changed nothing but the schema's new columns, when the
// record needs the row path: nested or other Arrow types, a column whose
// schema type differs (variants, coercion), text that is not valid UTF-8,
// a contract, or names that collide after normalization.
func (n *Normalizer) appendColumnar(ts *tstate, rec arrow.RecordBatch) (bool, error) {
	if !ts.isRoot || ts.propRoot {
		return false, nil
	}
	c := n.s.Table(ts.name)
	if c == nil || (c.Contract != nil && *c.Contract != Contract{}) {
		return false, nil
	}
	// The row path checks each row of a column that is not nullable.
	for _, col := range c.Columns {
		if !col.Nullable && !IsSystemColumn(col.Name) {
			return false, nil
		}
	}
	ncol := int(rec.NumCols())
	cols := make([]Column, 0, ncol+2)
	seen := make(map[string]bool, ncol)
	for i, f := range rec.Schema().Fields() {
		tmpl, ok := directType(f.Type)
		name := NormalizePath(f.Name)
		if name == "" {
			return false, nil // the row path names it
		}
		if !ok || seen[name] || IsSystemColumn(name) || rec.Column(i).NullN() == rec.Column(i).Len() {
			return false, nil
		}
		if s, isStr := rec.Column(i).(*array.String); isStr && !stringsValid(s) {
			return false, nil // the row path replaces invalid UTF-8
		}
		seen[name] = true
		tmpl.Name, tmpl.Nullable = name, true
		c, _, act, err := n.s.resolveColumn(ts.name, tmpl)
		if err != nil {
			return true, err
		}
		if act != actOK || !arrow.TypeEqual(ArrowType(&c), f.Type) {
			return false, nil
		}
		cols = append(cols, c)
	}
	for _, sys := range []Column{sysLoadCol, sysIDCol} {
		c, _, _, err := n.s.resolveColumn(ts.name, sys)
		if err != nil {
			return true, err
		}
		cols = append(cols, c)
	}

	rows := int(rec.NumRows())
	load := array.NewStringBuilder(n.mem)
	defer load.Release()
	ids := array.NewStringBuilder(n.mem)
	defer ids.Release()
	load.Reserve(rows)
	load.ReserveData(rows * len(n.loadID))
	ids.Reserve(rows)
	ids.ReserveData(rows * len(n.idBuf))
	for range rows {
		load.Append(n.loadID)
		ids.BinaryBuilder.Append(n.newID())
	}
	arrs := make([]arrow.Array, 0, len(cols))
	arrs = append(arrs, rec.Columns()...)
	la, ia := load.NewArray(), ids.NewArray()
	defer la.Release()
	defer ia.Release()
	arrs = append(arrs, la, ia)
	fields := make([]arrow.Field, len(cols))
	for i := range cols {
		fields[i] = arrowField(&cols[i])
	}
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(rows))

	snap := n.s.snapshotColumns(ts.name, cols)
	ts.seen = true
	return true, n.emit(TableBatch{Table: snap, Record: out})
}

// snapshotColumns is snapshot for columns given by value.
func (s *Schema) snapshotColumns(name string, cols []Column) *Table {
	bufs := make([]*colBuf, len(cols))
	for i := range cols {
		bufs[i] = &colBuf{col: cols[i]}
	}
	return s.snapshot(name, bufs)
}
