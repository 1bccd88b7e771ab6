package duckdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// benchTable is a flat table of 11 columns, like a REST resource's rows.
func benchTable() *arrowbuf.Table {
	c := sinktest.Col
	return &arrowbuf.Table{Name: "events", WriteDisposition: arrowbuf.Append, Columns: []*arrowbuf.Column{
		c("id", arrowbuf.TypeBigint), c("user_name", arrowbuf.TypeText), c("email", arrowbuf.TypeText),
		c("score", arrowbuf.TypeDouble), c("active", arrowbuf.TypeBool), c("created_at", arrowbuf.TypeTimestamp),
		c("count", arrowbuf.TypeBigint), c("ratio", arrowbuf.TypeDouble), c("status", arrowbuf.TypeText),
		{Name: "_dlt_load_id", DataType: arrowbuf.TypeText}, {Name: "_dlt_id", DataType: arrowbuf.TypeText},
	}}
}

func benchRecords(tb *arrowbuf.Table, total, per int) []arrow.RecordBatch {
	fields := make([]arrow.Field, len(tb.Columns))
	for i, c := range tb.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: sinktest.ArrowType(c), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var recs []arrow.RecordBatch
	for start := 0; start < total; start += per {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := start; i < start+per; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("user_%d", i%5000))
			b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("user%d@example.com", i))
			b.Field(3).(*array.Float64Builder).Append(float64(i) * 0.5)
			b.Field(4).(*array.BooleanBuilder).Append(i%2 == 0)
			b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(base + int64(i)*1000))
			if i%10 == 0 {
				b.Field(6).AppendNull()
			} else {
				b.Field(6).(*array.Int64Builder).Append(int64(i % 100))
			}
			b.Field(7).(*array.Float64Builder).Append(1 / float64(i+1))
			b.Field(8).(*array.StringBuilder).Append([]string{"new", "open", "closed"}[i%3])
			b.Field(9).(*array.StringBuilder).Append("1700000000.123")
			b.Field(10).(*array.StringBuilder).Append(fmt.Sprintf("id%012d", i))
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	return recs
}

// BenchmarkDuckDBWrite loads 1M rows x 11 columns in one load per iteration.
func BenchmarkDuckDBWrite(b *testing.B) {
	const total, per = 1_000_000, 100_000
	tb := benchTable()
	recs := benchRecords(tb, total, per)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for _, m := range []duckdb.InsertMethod{duckdb.InsertScan, duckdb.InsertAppender} {
		for _, order := range []bool{false, true} {
			name := m.String()
			if order {
				name += "/preserve_order"
			}
			if fr := os.Getenv("FLUSH_ROWS"); fr != "" {
				n, _ := strconv.Atoi(fr)
				duckdb.SetFlushRows(int64(n))
			}
			if th := os.Getenv("SCAN_THREADS"); th != "" {
				n, _ := strconv.Atoi(th)
				duckdb.SetScanThreads(n)
			}
			b.Run(name, func(b *testing.B) {
				d := duckdb.New(filepath.Join(b.TempDir(), "bench.duckdb"), duckdb.WithInsertMethod(m), duckdb.WithPreserveInsertionOrder(order))
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "bench", LoadID: fmt.Sprint(i)})
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range recs {
						r.Retain()
						if err := l.Write(ctx, arrowbuf.TableBatch{Table: tb, Record: r}); err != nil {
							b.Fatal(err)
						}
					}
					if err := l.Commit(ctx, sink.Commit{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
