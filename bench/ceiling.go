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
	"github.com/sluicehq/sluice/sink"
)

// ceilingTables are the tables shape normalizes to: users, and for nested
// records users__orders, with the columns the pipeline makes.
func ceilingTables(shape Shape) []*arrowbuf.Table {
	col := func(name string, t arrowbuf.DataType, nullable bool) *arrowbuf.Column {
		return &arrowbuf.Column{Name: name, DataType: t, Nullable: nullable}
	}
	users := &arrowbuf.Table{Name: "users", Resource: "users", WriteDisposition: arrowbuf.Append, Columns: []*arrowbuf.Column{
		col("id", arrowbuf.TypeBigint, true), col("name", arrowbuf.TypeText, true),
		col("email", arrowbuf.TypeText, true), col("age", arrowbuf.TypeBigint, true),
		col("score", arrowbuf.TypeDouble, true), col("active", arrowbuf.TypeBool, true),
		col("created_at", arrowbuf.TypeTimestamp, true), col("country", arrowbuf.TypeText, true),
		col("address__city", arrowbuf.TypeText, true), col("address__zip", arrowbuf.TypeText, true),
		col("_dlt_load_id", arrowbuf.TypeText, false), {Name: "_dlt_id", DataType: arrowbuf.TypeText, Unique: true, RowKey: true},
	}}
	if shape != Nested {
		return []*arrowbuf.Table{users}
	}
	orders := &arrowbuf.Table{Name: "users__orders", Parent: "users", Columns: []*arrowbuf.Column{
		col("order_id", arrowbuf.TypeBigint, true), col("amount", arrowbuf.TypeDouble, true),
		col("sku", arrowbuf.TypeText, true),
		{Name: "_dlt_parent_id", DataType: arrowbuf.TypeText, ParentKey: true},
		col("_dlt_list_idx", arrowbuf.TypeBigint, false),
		{Name: "_dlt_id", DataType: arrowbuf.TypeText, Unique: true, RowKey: true},
	}}
	return []*arrowbuf.Table{users, orders}
}

// ceilingTable is one table's Arrow builders and the rows not yet written.
type ceilingTable struct {
	table   *arrowbuf.Table
	bld     *array.RecordBuilder
	pending int
}

func (t *ceilingTable) int64(i int) *array.Int64Builder { return t.bld.Field(i).(*array.Int64Builder) }
func (t *ceilingTable) float(i int) *array.Float64Builder {
	return t.bld.Field(i).(*array.Float64Builder)
}
func (t *ceilingTable) text(i int) *array.BinaryBuilder {
	return t.bld.Field(i).(*array.StringBuilder).BinaryBuilder
}

// Ceiling loads n pages of shape (cycling through pages) with no pipeline:
// one goroutine parses each page with fastjson, appends the known columns
// of every table to Arrow builders, and inserts batches of batchRows rows
// through the destination. It returns the root rows loaded and the rows of
// all tables.
func Ceiling(ctx context.Context, dest sink.Destination, shape Shape, pages [][]byte, n, batchRows int) (roots, all int64, err error) {
	loadID := fmt.Sprintf("%d.000000", time.Now().Unix())
	load, err := dest.Begin(ctx, sink.LoadRequest{Dataset: "bench", LoadID: loadID, SchemaName: "bench"})
	if err != nil {
		return 0, 0, err
	}
	defer load.Rollback()

	var tabs []*ceilingTable
	for _, table := range ceilingTables(shape) {
		fields := make([]arrow.Field, len(table.Columns))
		for i, c := range table.Columns {
			fields[i] = arrow.Field{Name: c.Name, Type: arrowbuf.ArrowType(c), Nullable: c.Nullable}
		}
		t := &ceilingTable{table: table, bld: array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))}
		defer t.bld.Release()
		tabs = append(tabs, t)
	}
	var (
		p     fastjson.Parser
		idBuf [10]byte
		rng   = rand.NewChaCha8([32]byte{1})
	)
	// newID writes a random row id as dlt makes them: 10 bytes, base64.
	newID := func(dst []byte) {
		_, _ = rng.Read(idBuf[:])
		base64.RawURLEncoding.Encode(dst, idBuf[:])
	}
	flush := func(t *ceilingTable) error {
		if t.pending == 0 {
			return nil
		}
		rec := t.bld.NewRecordBatch()
		t.pending = 0
		return load.Write(ctx, arrowbuf.TableBatch{Table: t.table.Clone(), Record: rec})
	}
	added := func(t *ceilingTable) error {
		all++
		if t.pending++; t.pending == batchRows {
			return flush(t)
		}
		return nil
	}
	u := tabs[0]
	id, childID := make([]byte, 14), make([]byte, 14)
	for i := range n {
		v, err := p.ParseBytes(pages[i%len(pages)])
		if err != nil {
			return roots, all, err
		}
		for _, r := range v.GetArray("data") {
			u.int64(0).Append(r.GetInt64("id"))
			u.text(1).Append(r.GetStringBytes("name"))
			u.text(2).Append(r.GetStringBytes("email"))
			u.int64(3).Append(r.GetInt64("age"))
			u.float(4).Append(r.GetFloat64("score"))
			u.bld.Field(5).(*array.BooleanBuilder).Append(r.GetBool("active"))
			ts, err := time.Parse(time.RFC3339, string(r.GetStringBytes("created_at")))
			if err != nil {
				return roots, all, err
			}
			u.bld.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
			u.text(7).Append(r.GetStringBytes("country"))
			u.text(8).Append(r.GetStringBytes("address", "city"))
			u.text(9).Append(r.GetStringBytes("address", "zip"))
			u.bld.Field(10).(*array.StringBuilder).Append(loadID)
			newID(id)
			u.text(11).Append(id)
			roots++
			if err := added(u); err != nil {
				return roots, all, err
			}
			if shape != Nested {
				continue
			}
			o := tabs[1]
			for k, c := range r.GetArray("orders") {
				o.int64(0).Append(c.GetInt64("order_id"))
				o.float(1).Append(c.GetFloat64("amount"))
				o.text(2).Append(c.GetStringBytes("sku"))
				o.text(3).Append(id)
				o.int64(4).Append(int64(k))
				newID(childID)
				o.text(5).Append(childID)
				if err := added(o); err != nil {
					return roots, all, err
				}
			}
		}
	}
	for _, t := range tabs {
		if err := flush(t); err != nil {
			return roots, all, err
		}
	}
	return roots, all, load.Commit(ctx, sink.Commit{Schema: arrowbuf.NewSchema("bench")})
}

// ParseFloor parses n pages of shape (cycling through pages) with fastjson
// and counts their rows, and does nothing else: no Arrow, no destination.
// Any loader has to read its whole input, so this is the least work a load
// of these pages can be, and its nested/flat ratio bounds what a loader's
// nested/flat ratio can reach: a nested record is 2.3 times the bytes of a
// flat one. It returns the root rows read and the rows of all tables.
func ParseFloor(shape Shape, pages [][]byte, n int) (roots, all int64, err error) {
	var p fastjson.Parser
	for i := range n {
		v, err := p.ParseBytes(pages[i%len(pages)])
		if err != nil {
			return roots, all, err
		}
		for _, r := range v.GetArray("data") {
			roots++
			all++
			if shape == Nested {
				all += int64(len(r.GetArray("orders")))
			}
		}
	}
	return roots, all, nil
}
