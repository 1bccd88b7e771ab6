package source

import (
	"context"
	"iter"

	"github.com/sluicehq/sluice/flow"
)

// ChunkSize is how many items the Go-value sources put in one batch.
const ChunkSize = 10_000

// batchOf makes a batch of a chunk: a typed batch (flow.TypedBatch), so
// that structs load through their type's plan; a chunk of interface values
// is copied into an items batch.
func batchOf[T any](chunk []T) flow.Batch {
	if vals, ok := any(chunk).([]any); ok {
		return flow.ItemsBatch(append([]any(nil), vals...)...)
	}
	return flow.TypedBatch(chunk)
}

// Slice returns a resource yielding items in chunks of ChunkSize. The
// chunks are parts of items, not copies: items must not change while a run
// uses them.
func Slice[T any](name string, items []T, opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		for i := 0; i < len(items); i += ChunkSize {
			end := min(i+ChunkSize, len(items))
			if err := yield(batchOf(items[i:end:end])); err != nil {
				return err
			}
		}
		return nil
	}, opts...)
}

// Seq returns a resource yielding the items of seq in chunks. seq is called
// once per run.
func Seq[T any](name string, seq iter.Seq[T], opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		chunk := make([]T, 0, 256)
		for it := range seq {
			chunk = append(chunk, it)
			if len(chunk) == ChunkSize {
				if err := yield(batchOf(chunk)); err != nil {
					return err
				}
				chunk = make([]T, 0, 256)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(chunk) > 0 {
			return yield(batchOf(chunk))
		}
		return nil
	}, opts...)
}

// Chan returns a resource yielding what arrives on ch until it is closed. A
// chunk is passed on when it is full or when ch has nothing ready.
func Chan[T any](name string, ch <-chan T, opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		var chunk []T
		flush := func() error {
			if len(chunk) == 0 {
				return nil
			}
			b := batchOf(chunk)
			chunk = nil
			return yield(b)
		}
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case it, ok := <-ch:
				if !ok {
					return flush()
				}
				chunk = append(chunk, it)
				if len(chunk) >= ChunkSize || len(ch) == 0 {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
	}, opts...)
}
