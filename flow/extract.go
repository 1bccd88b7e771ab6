package flow

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
)

// ExtractStats counts what Extract saw.
type ExtractStats struct {
	Batches int64
	Rows    int64
}

// Extract runs the sources' generators, transformers and steps as a
// pipeline run would, concurrently, but normalizes and loads nothing: each
// batch bound for a table is handed to fn (which must not keep it; nil
// just counts) and released. State starts empty and is discarded. It is
// for measuring extraction (requests/s, rows/s) and for dry runs.
func Extract(ctx context.Context, fn func(table string, b Batch) error, srcs ...Sourcer) (ExtractStats, error) {
	if len(srcs) == 0 {
		return ExtractStats{}, errors.New("flow: Extract needs at least one source or resource")
	}
	var sources []*Source
	for _, s := range srcs {
		sources = append(sources, s.flowSource("extract"))
	}
	pl, err := buildPlan(sources, newStateStore(nil))
	if err != nil {
		return ExtractStats{}, err
	}
	e := &engine{p: &Pipeline{}, plan: pl}
	out := make(chan extracted, 4)
	g, gctx := errgroup.WithContext(ctx)
	goSafe(g, func() error {
		defer close(out)
		return e.extract(gctx, out)
	})
	var st ExtractStats
	goSafe(g, func() error {
		for x := range out {
			st.Batches++
			st.Rows += int64(x.batch.Len())
			var err error
			if fn != nil {
				err = fn(x.table, x.batch)
			}
			x.batch.Release()
			if err != nil {
				return err
			}
		}
		return nil
	})
	err = g.Wait()
	for x := range out {
		x.batch.Release()
	}
	return st, err
}
