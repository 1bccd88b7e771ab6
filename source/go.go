package source

import (
	"context"
	"iter"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/internal/runctx"
)

// ChunkSize is how many items the Go-value sources put in one batch.
const ChunkSize = 10_000

// chunkSize is how many items go in one batch: ChunkSize, or one under a
// count Limit, since dlt's add_limit counts each item of a list or an
// iterator as one yield (Limit(10) samples 10 items, not 10 chunks).
func chunkSize(ctx context.Context) int {
	if _, ok := runctx.YieldsLeft(ctx); ok {
		return 1
	}
	return ChunkSize
}

// batchOf makes a batch of a chunk: a typed batch (flow.TypedBatch), so
// that structs load through their type's plan; a chunk of interface values
// is copied into an items batch.
func batchOf[T any](chunk []T) flow.Batch {
	if vals, ok := any(chunk).([]any); ok {
		return flow.ItemsBatch(append([]any(nil), vals...)...)
	}
	return flow.TypedBatch(chunk)
}

// Slice returns a resource yielding items in chunks of ChunkSize (one item
// per yield under a count Limit, as dlt counts a list's items). The chunks
// are parts of items, not copies: items must not change while a run uses
// them.
func Slice[T any](name string, items []T, opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		size := chunkSize(ctx)
		for i := 0; i < len(items); i += size {
			end := min(i+size, len(items))
			if err := yield(batchOf(items[i:end:end])); err != nil {
				return err
			}
		}
		return nil
	}, opts...)
}

// Seq returns a resource yielding the items of seq in chunks (one item per
// yield under a count Limit). seq is called once per run.
func Seq[T any](name string, seq iter.Seq[T], opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		size := chunkSize(ctx)
		chunk := make([]T, 0, min(size, 256))
		for it := range seq {
			chunk = append(chunk, it)
			if len(chunk) == size {
				if err := yield(batchOf(chunk)); err != nil {
					return err
				}
				chunk = make([]T, 0, min(size, 256))
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
// chunk is passed on when it is full (one item under a count Limit) or when
// ch has nothing ready.
func Chan[T any](name string, ch <-chan T, opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		size := chunkSize(ctx)
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
				if len(chunk) >= size || len(ch) == 0 {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
	}, opts...)
}
