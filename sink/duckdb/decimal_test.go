package duckdb_test

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// TestDecimalScaleOfBatch: a batch written straight to a Load may carry a
// decimal of another scale than its column's; every insert path keeps the
// value (9.99 stays 9.99 in a decimal(38,4) column).
func TestDecimalScaleOfBatch(t *testing.T) {
	modes := map[string][]duckdb.Option{"staged": nil}
	for _, m := range []duckdb.InsertMethod{duckdb.InsertParquet, duckdb.InsertScan, duckdb.InsertAppender} {
		modes["during extract "+m.String()] = []duckdb.Option{duckdb.WithInsertMethod(m), duckdb.WithLoadDuringExtract()}
	}
	for name, opts := range modes {
		t.Run(name, func(t *testing.T) {
			d := newDest(t, opts...)
			amount := &arrowbuf.Column{Name: "amount", DataType: arrowbuf.TypeDecimal, Precision: 38, Scale: 4, Nullable: true}
			table := &arrowbuf.Table{Name: "prices", WriteDisposition: arrowbuf.Append, Columns: []*arrowbuf.Column{
				amount,
				{Name: "_dlt_load_id", DataType: arrowbuf.TypeText},
				{Name: "_dlt_id", DataType: arrowbuf.TypeText, Unique: true, RowKey: true},
			}}
			schema := arrow.NewSchema([]arrow.Field{
				{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
				{Name: "_dlt_load_id", Type: arrow.BinaryTypes.String},
				{Name: "_dlt_id", Type: arrow.BinaryTypes.String},
			}, nil)
			b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
			defer b.Release()
			b.Field(0).(*array.Decimal128Builder).Append(decimal128.FromI64(999))
			b.Field(1).(*array.StringBuilder).Append("1")
			b.Field(2).(*array.StringBuilder).Append("r1")
			sinktest.Load(t, d, "ds", "1", sink.Commit{}, arrowbuf.TableBatch{Table: table, Record: b.NewRecordBatch()})
			got := rows(t, d, "ds", "SELECT amount::VARCHAR FROM prices")
			if len(got) != 1 || fmt.Sprint(got[0][0]) != "9.9900" {
				t.Errorf("amount = %v, want 9.9900", got)
			}
		})
	}
}
