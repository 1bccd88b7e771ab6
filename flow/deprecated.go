package flow

import (
	"context"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/internal/jsonconv"
	"github.com/sluicehq/sluice/internal/runctx"
)

// These forwarders keep code written against the old plumbing compiling
// while it moves to the module's internal packages; nothing in this module
// calls them. Delete this file once every caller has moved.

// CatchPanic runs fn, returning a panic in it as a *PanicError.
//
// Deprecated: plumbing for sluice's own sources; it will be removed.
func CatchPanic(fn func() error) error { return callSafe(fn) }

// YieldsLeft returns how many more batches the resource running in ctx may
// yield before its Limit stops it; ok is false without a count limit.
//
// Deprecated: plumbing for sluice's own sources; it will be removed.
func YieldsLeft(ctx context.Context) (n int, ok bool) { return runctx.YieldsLeft(ctx) }

// JSONToGo converts a fastjson value to Go values, numbers as int64 (when
// they fit) or float64.
//
// Deprecated: use Batch.Values; it will be removed.
func JSONToGo(v *fastjson.Value) any { return jsonconv.ToGo(v, jsonconv.Native) }

// GoToJSON marshals a Go value and parses it into a fastjson value.
//
// Deprecated: plumbing for sluice's own steps; it will be removed.
func GoToJSON(v any) (*fastjson.Value, error) { return jsonconv.FromGo(v) }
