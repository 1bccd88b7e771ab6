package flow

import (
	"context"
	"errors"
	"time"
)

// errLimit stops a generator that reached its Limit; it is not a failure.
var errLimit = errors.New("flow: resource limit reached")

// errTimeLimit cancels a generator whose Limit's time ran out.
var errTimeLimit = errors.New("flow: resource time limit reached")

// runGen runs generator r under its Limit (dlt's add_limit): it stops
// after maxItems yields, or maxTime after the first item (dlt starts the
// clock there), by ending the generator's yields and cancelling its
// context. Reaching a limit is not an error. emitFor makes the Yield that
// passes a batch on, given the resource's context: that one is not
// cancelled by the time limit, so a batch already yielded is not dropped.
func runGen(ctx context.Context, r *Resource, st *ResourceState, emitFor func(rctx context.Context) Yield) error {
	lim := r.limit
	if lim != nil && lim.maxItems == 0 {
		return nil
	}
	rctx := withResource(ctx, r.name, st)
	counted := func() {}
	if lim != nil && lim.maxItems > 0 {
		rctx, counted = withLimit(ctx, r.name, st, lim.maxItems)
	}
	emit := emitFor(rctx)
	gctx, stop := context.WithCancelCause(rctx)
	defer stop(nil)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	yields := 0
	yield := func(b Batch) error {
		if lim != nil && lim.maxTime > 0 && timer == nil {
			timer = time.AfterFunc(lim.maxTime, func() { stop(errTimeLimit) })
		}
		if err := emit(b); err != nil {
			return err
		}
		yields++
		counted()
		if lim != nil && lim.maxItems > 0 && yields >= lim.maxItems {
			return errLimit
		}
		if context.Cause(gctx) == errTimeLimit {
			return errTimeLimit
		}
		return nil
	}
	err := callSafe(func() error { return r.gen(gctx, yield) })
	switch {
	case err == nil, errors.Is(err, errLimit), errors.Is(err, errTimeLimit), errors.Is(err, ErrClose):
		return nil
	case ctx.Err() == nil && context.Cause(gctx) == errTimeLimit:
		return nil // the generator ended on its cancelled context
	}
	return err
}
