package runctx

import (
	"context"
	"sync/atomic"
)

type key struct{}

// Resource is the running resource, as the engine records it.
type Resource struct {
	Name string
	// State is the resource's *flow.ResourceState (any: this package
	// cannot name flow's type).
	State any
	// Left counts the yields the resource's limit still allows; nil
	// without a count limit.
	Left *atomic.Int64
}

// With returns ctx carrying r.
func With(ctx context.Context, r *Resource) context.Context {
	return context.WithValue(ctx, key{}, r)
}

// From returns the resource running in ctx, or nil outside a run.
func From(ctx context.Context) *Resource {
	r, _ := ctx.Value(key{}).(*Resource)
	return r
}

// YieldsLeft returns how many more batches the resource running in ctx may
// yield before its limit stops it; ok is false without a count limit.
func YieldsLeft(ctx context.Context) (n int, ok bool) {
	r := From(ctx)
	if r == nil || r.Left == nil {
		return 0, false
	}
	return int(max(r.Left.Load(), 0)), true
}
