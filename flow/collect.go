package flow

import (
	"context"
	"errors"
	"fmt"
)

// Collect runs one resource (and the parents feeding it) without a pipeline
// and returns its items as Go values, as dlt's list(resource) does. State
// starts empty and is discarded. It is meant for tests and previews: all
// items are held in memory.
func Collect(ctx context.Context, r *Resource) ([]any, error) {
	var out []any
	err := walk(ctx, r, newStateStore(nil), func(b Batch) error {
		defer b.Release()
		vals, err := b.Values()
		if err != nil {
			return err
		}
		out = append(out, vals...)
		return nil
	})
	return out, err
}

// walk runs r sequentially, handing its processed batches to yield.
func walk(ctx context.Context, r *Resource, store *stateStore, yield Yield) error {
	st := store.resource(r.source, r.name)
	emitFor := func(rctx context.Context) Yield {
		return func(b Batch) error {
			b, closing, err := applySteps(rctx, r.steps, b)
			if err != nil {
				return err
			}
			if b.Len() == 0 {
				b.Release()
				return closing
			}
			if err := yield(b); err != nil {
				return err
			}
			return closing
		}
	}
	if r.tf != nil {
		if r.parent == nil {
			return fmt.Errorf("flow: transformer %q has no parent resource (use Pipe)", r.name)
		}
		rctx := withResource(ctx, r.name, st)
		emit := emitFor(rctx)
		return walk(ctx, r.parent, store, func(b Batch) error {
			defer b.Release()
			return nameErr(r.name, callSafe(func() error { return r.tf(rctx, b, emit) }))
		})
	}
	return nameErr(r.name, runGen(ctx, r, st, emitFor))
}

// resourceError names the resource an error came from, as Run does.
type resourceError struct {
	name string
	err  error
}

func (e *resourceError) Error() string { return fmt.Sprintf("resource %q: %v", e.name, e.err) }
func (e *resourceError) Unwrap() error { return e.err }

// nameErr names the resource once: a transformer's error reaches the
// parent's generator through its yield and is already named.
func nameErr(name string, err error) error {
	var re *resourceError
	if err == nil || errors.As(err, &re) {
		return err
	}
	return &resourceError{name: name, err: err}
}
