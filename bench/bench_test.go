package bench_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/bench"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

const benchRows = 200_000

func TestCeilingAndPipelineLoadTheSameRows(t *testing.T) {
	pages := bench.Pages(5000, 500, bench.Flat)
	dir := t.TempDir()
	ctx := context.Background()
	n, err := bench.Ceiling(ctx, duckdb.New(filepath.Join(dir, "c.duckdb")), pages, len(pages), 2000)
	if err != nil || n != 5000 {
		t.Fatalf("ceiling loaded %d rows, err %v", n, err)
	}
	p, err := flow.NewPipeline("b", duckdb.New(filepath.Join(dir, "p.duckdb")), flow.PipelinesDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.Run(ctx, bench.PagesResource("users", pages, 2*len(pages)))
	if err != nil {
		t.Fatal(err)
	}
	if info.RowCounts["users"] != 10000 {
		t.Fatalf("pipeline loaded %v", info.RowCounts)
	}
	rr, err := p.Dataset().Table(ctx, "users")
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	want := []string{"id", "name", "email", "age", "score", "active", "created_at", "country", "address__city", "address__zip", "_dlt_load_id", "_dlt_id"}
	for i, f := range rr.Schema().Fields() {
		if i >= len(want) || f.Name != want[i] {
			t.Fatalf("columns %v, want %v", rr.Schema(), want)
		}
	}
}

func BenchmarkCeiling(b *testing.B) {
	pages := bench.Pages(benchRows, 1000, bench.Flat)
	b.ReportAllocs()
	b.SetBytes(bench.Bytes(pages))
	for i := 0; b.Loop(); i++ {
		dest := duckdb.New(filepath.Join(b.TempDir(), fmt.Sprint(i, ".duckdb")))
		if _, err := bench.Ceiling(context.Background(), dest, pages, len(pages), 100_000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkPipelineDuckDB(b *testing.B) {
	for _, shape := range []bench.Shape{bench.Flat, bench.Nested} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", shape, workers), func(b *testing.B) {
				pages := bench.Pages(benchRows, 1000, shape)
				b.ReportAllocs()
				b.SetBytes(bench.Bytes(pages))
				for i := 0; b.Loop(); i++ {
					dir := b.TempDir()
					p, err := flow.NewPipeline("bench", duckdb.New(filepath.Join(dir, "b.duckdb")),
						flow.PipelinesDir(dir), flow.NormalizeWorkers(workers))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := p.Run(context.Background(), bench.PagesResource("users", pages, len(pages))); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
