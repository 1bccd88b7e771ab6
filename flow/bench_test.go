package flow_test

import (
	"github.com/sluicehq/sluice/sink"

	"context"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
)

// discard is a destination that drops what it gets: what remains is the
// engine's own cost (stages, channels, normalization).
type discard struct{}

type discardLoad struct{}

var (
	_ sink.Destination = discard{}
	_ sink.Load        = discardLoad{}
)

func (discard) Kind() string     { return "discard" }
func (discard) Location() string { return "" }
func (discard) Begin(context.Context, sink.LoadRequest) (sink.Load, error) {
	return discardLoad{}, nil
}
func (discard) LastState(context.Context, string, string) (*sink.StoredState, error) {
	return nil, sink.ErrNoState
}
func (discard) LastSchema(context.Context, string, string) ([]byte, error) {
	return nil, sink.ErrNoState
}
func (discard) OpenDataset(context.Context, string) (sink.DatasetReader, error) {
	return nil, fmt.Errorf("discard has no data")
}
func (discardLoad) Write(_ context.Context, b arrowbuf.TableBatch) error { b.Release(); return nil }
func (discardLoad) Commit(context.Context, sink.Commit) error            { return nil }
func (discardLoad) Rollback() error                                      { return nil }

// BenchmarkStageOverhead runs tiny records through the whole engine into a
// destination that drops them, per batch size: small batches show the cost
// per batch (channels, steps, fan-out), large ones the cost per row.
func BenchmarkStageOverhead(b *testing.B) {
	const rows = 100_000
	for _, per := range []int{1, 100, 10_000} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("batch=%d/workers=%d", per, workers), func(b *testing.B) {
				items := make([]any, per)
				for i := range items {
					items[i] = map[string]any{"id": i, "ok": true}
				}
				res := flow.NewResource("r", func(ctx context.Context, yield flow.Yield) error {
					for range rows / per {
						if err := yield(flow.ItemsBatch(items...)); err != nil {
							return err
						}
					}
					return nil
				})
				b.ReportAllocs()
				for b.Loop() {
					p, err := flow.NewPipeline("bench", discard{}, flow.PipelinesDir(b.TempDir()), flow.NormalizeWorkers(workers))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := p.Run(context.Background(), res); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(rows/per*b.N)/b.Elapsed().Seconds(), "batches/s")
			})
		}
	}
}
