package iceberg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
)

// metaDataType is arrowbuf.MetaDataType (not imported: this package only
// needs Arrow): the field metadata key naming dlt's type where the Arrow
// type does not tell it, "json" for JSON stored as text.
const metaDataType = "dlt.data_type"

// icebergType maps the Arrow type of a column (the types arrowbuf.ArrowType
// gives the Parquet files) to its Iceberg type. Iceberg has no unsigned
// integers and sluice's schema has none either, so they are refused rather
// than widened silently.
func icebergType(dt arrow.DataType) (iceberg.Type, error) {
	switch t := dt.(type) {
	case *arrow.Int64Type:
		return iceberg.PrimitiveTypes.Int64, nil
	case *arrow.Int32Type:
		return iceberg.PrimitiveTypes.Int32, nil
	case *arrow.Float64Type:
		return iceberg.PrimitiveTypes.Float64, nil
	case *arrow.Float32Type:
		return iceberg.PrimitiveTypes.Float32, nil
	case *arrow.BooleanType:
		return iceberg.PrimitiveTypes.Bool, nil
	case *arrow.StringType, *arrow.LargeStringType:
		return iceberg.PrimitiveTypes.String, nil
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return iceberg.PrimitiveTypes.Binary, nil
	case *arrow.Date32Type:
		return iceberg.PrimitiveTypes.Date, nil
	case *arrow.Time64Type:
		if t.Unit == arrow.Microsecond {
			return iceberg.PrimitiveTypes.Time, nil
		}
	case *arrow.TimestampType:
		if t.Unit != arrow.Microsecond {
			break
		}
		// Iceberg's timestamptz stores UTC instants: any zone qualifies,
		// as in Parquet's isAdjustedToUTC.
		if t.TimeZone != "" {
			return iceberg.PrimitiveTypes.TimestampTz, nil
		}
		return iceberg.PrimitiveTypes.Timestamp, nil
	case *arrow.Decimal128Type:
		return iceberg.DecimalTypeOf(int(t.Precision), int(t.Scale)), nil
	}
	return nil, fmt.Errorf("arrow type %s has no Iceberg type", dt)
}

// fieldDoc is the Iceberg column doc: dlt's type where Iceberg's does not
// tell it (json is stored as string).
func fieldDoc(f arrow.Field) string {
	if v, ok := f.Metadata.GetValue(metaDataType); ok {
		return "dlt:" + v
	}
	return ""
}

// newSchema is the Iceberg schema of a new table from the load's Arrow
// schema, in the same column order. All columns are optional: a column a
// later load does not carry stays null, and adding a required column to an
// existing table is not a compatible change.
func newSchema(table string, sc *arrow.Schema) (*iceberg.Schema, error) {
	fields := make([]iceberg.NestedField, 0, sc.NumFields())
	for i, f := range sc.Fields() {
		t, err := icebergType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("iceberg: table %s column %s: %w", table, f.Name, err)
		}
		fields = append(fields, iceberg.NestedField{ID: i + 1, Name: f.Name, Type: t, Doc: fieldDoc(f)})
	}
	return iceberg.NewSchema(0, fields...), nil
}
