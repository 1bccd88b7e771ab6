package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
)

// flatTable is the table the flat shape normalizes to.
func flatTable() *arrowbuf.Table {
	col := func(name string, t arrowbuf.DataType, nullable bool) *arrowbuf.Column {
		return &arrowbuf.Column{Name: name, DataType: t, Nullable: nullable}
	}
	return &arrowbuf.Table{Name: "users", Resource: "users", WriteDisposition: arrowbuf.Append, Columns: []*arrowbuf.Column{
		col("id", arrowbuf.TypeBigint, true), col("name", arrowbuf.TypeText, true),
		col("email", arrowbuf.TypeText, true), col("age", arrowbuf.TypeBigint, true),
		col("score", arrowbuf.TypeDouble, true), col("active", arrowbuf.TypeBool, true),
		col("created_at", arrowbuf.TypeTimestamp, true), col("country", arrowbuf.TypeText, true),
		col("address__city", arrowbuf.TypeText, true), col("address__zip", arrowbuf.TypeText, true),
		col("_dlt_load_id", arrowbuf.TypeText, false), {Name: "_dlt_id", DataType: arrowbuf.TypeText, Unique: true, RowKey: true},
	}}
}

// Ceiling loads n flat pages (cycling through pages) with no pipeline: one
// goroutine parses each page with fastjson, appends the known columns to
// Arrow builders, and inserts batches of batchRows through the destination.
// It returns rows loaded.
func Ceiling(ctx context.Context, dest flow.Destination, pages [][]byte, n, batchRows int) (int64, error) {
	table := flatTable()
	fields := make([]arrow.Field, len(table.Columns))
	for i, c := range table.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowbuf.ArrowType(c), Nullable: c.Nullable}
	}
	schema := arrow.NewSchema(fields, nil)
	loadID := fmt.Sprintf("%d.000000", time.Now().Unix())
	load, err := dest.Begin(ctx, flow.LoadRequest{Dataset: "bench", LoadID: loadID, SchemaName: "bench"})
	if err != nil {
		return 0, err
	}
	defer load.Rollback()

	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer bld.Release()
	var (
		p       fastjson.Parser
		total   int64
		pending int
		idBuf   [10]byte
		idText  = make([]byte, 14)
		rng     = rand.NewChaCha8([32]byte{1})
	)
	flush := func() error {
		if pending == 0 {
			return nil
		}
		rec := bld.NewRecordBatch()
		pending = 0
		return load.Write(ctx, arrowbuf.TableBatch{Table: table.Clone(), Record: rec})
	}
	b := func(i int) array.Builder { return bld.Field(i) }
	for i := range n {
		v, err := p.ParseBytes(pages[i%len(pages)])
		if err != nil {
			return total, err
		}
		for _, r := range v.GetArray("data") {
			b(0).(*array.Int64Builder).Append(r.GetInt64("id"))
			b(1).(*array.StringBuilder).BinaryBuilder.Append(r.GetStringBytes("name"))
			b(2).(*array.StringBuilder).BinaryBuilder.Append(r.GetStringBytes("email"))
			b(3).(*array.Int64Builder).Append(r.GetInt64("age"))
			b(4).(*array.Float64Builder).Append(r.GetFloat64("score"))
			b(5).(*array.BooleanBuilder).Append(r.GetBool("active"))
			ts, err := time.Parse(time.RFC3339, string(r.GetStringBytes("created_at")))
			if err != nil {
				return total, err
			}
			b(6).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
			b(7).(*array.StringBuilder).BinaryBuilder.Append(r.GetStringBytes("country"))
			b(8).(*array.StringBuilder).BinaryBuilder.Append(r.GetStringBytes("address", "city"))
			b(9).(*array.StringBuilder).BinaryBuilder.Append(r.GetStringBytes("address", "zip"))
			b(10).(*array.StringBuilder).Append(loadID)
			_, _ = rng.Read(idBuf[:])
			base64.RawURLEncoding.Encode(idText, idBuf[:])
			b(11).(*array.StringBuilder).BinaryBuilder.Append(idText)
			total++
			pending++
			if pending == batchRows {
				if err := flush(); err != nil {
					return total, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return total, err
	}
	return total, load.Commit(ctx, flow.Commit{Schema: arrowbuf.NewSchema("bench")})
}
