package parquet_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// BenchmarkMergeCommit times the commit of a merge load of 200k rows by
// an int64 primary key into a table of 200k rows, half of the keys new:
// the key scan, the dedup and the rewrite of the earlier files.
func BenchmarkMergeCommit(b *testing.B) {
	const rows = 200_000
	items := &arrowbuf.Table{Name: "items", WriteDisposition: arrowbuf.Merge, Columns: []*arrowbuf.Column{
		{Name: "id", DataType: arrowbuf.TypeBigint, Nullable: true, PrimaryKey: true},
		sinktest.Col("value", arrowbuf.TypeText),
		{Name: "_dlt_load_id", DataType: arrowbuf.TypeText}, {Name: "_dlt_id", DataType: arrowbuf.TypeText}}}
	batch := func(load string, from int) arrowbuf.TableBatch {
		r := make([][]any, rows)
		for i := range r {
			r[i] = []any{from + i, fmt.Sprintf("value %d", from+i), load, fmt.Sprintf("%s-%d", load, i)}
		}
		return sinktest.Batch(b, items, r...)
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		d := parquet.New(b.TempDir())
		sinktest.Load(b, d, "ds", "1", sink.Commit{}, batch("1", 0))
		l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "2"})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Write(ctx, batch("2", rows/2)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := l.Commit(ctx, sink.Commit{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
}
