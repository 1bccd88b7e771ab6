package flow

import (
	"context"
	"reflect"

	"github.com/sluicehq/sluice/arrowbuf"
)

// TypedBatch returns a batch of items of one Go type T. Structs (or
// pointers to structs) load through their type's plan, compiled once: each
// field is read in place and appended to its column, with no boxing and no
// JSON on the way. Columns take the types of the Go types (a float64 is
// double whatever its value; see arrowbuf.ColumnsOf for the mapping) and
// the hints of the fields' sluice tags, and every column of T exists from
// the first load. Maps and other values load as ItemsBatch's do.
//
// The batch holds items itself, not a copy: they must not change while the
// run uses the batch.
func TypedBatch[T any](items []T) Batch { return Batch{Typed: arrowbuf.TypedOf(items)} }

// NewResourceOf declares a resource whose generator yields items of type
// T: each call of yield hands its items on as one batch (a page, a chunk;
// yield(page...) passes a slice without copying it, so the generator must
// not change it afterwards). yield returns an error when the run is
// stopping, or ErrClose once the resource is closed; the generator must
// then return it.
func NewResourceOf[T any](name string, gen func(ctx context.Context, yield func(items ...T) error) error, opts ...Option) *Resource {
	return NewResource(name, func(ctx context.Context, y Yield) error {
		return gen(ctx, func(items ...T) error {
			if len(items) == 0 {
				return nil
			}
			return y(TypedBatch(items))
		})
	}, opts...)
}

// ColumnsOf returns the columns of struct type T, in field order, with the
// hints of its sluice tags: dlt's columns=Model, for use as hints on any
// resource (Columns(cols...)). A resource of T applies them itself.
func ColumnsOf[T any]() ([]arrowbuf.Column, error) {
	return arrowbuf.ColumnsOf(reflect.TypeFor[T]())
}

// filterTyped keeps the items of a typed batch for which fn is true.
func filterTyped(b Batch, fn func(item any) (bool, error)) (Batch, error) {
	var kept []int
	for i := range b.Typed.Len() {
		ok, err := fn(b.Typed.Index(i))
		if err != nil {
			return b, err
		}
		if ok {
			kept = append(kept, i)
		}
	}
	if len(kept) < b.Typed.Len() {
		b.Typed = b.Typed.Pick(kept)
	}
	return b, nil
}
