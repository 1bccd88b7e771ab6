// Package transform holds reusable processing steps for flow resources:
// expression steps (filter and map written in expr-lang syntax, as specs use
// them), the incremental cursor filter with its state, JSON path access to
// items, and table dispatch helpers.
//
// Steps run in the goroutine of the resource they belong to, one batch at a
// time. An Incremental may be shared by the steps and the generator of one
// resource; its methods are safe for concurrent use.
//
// Where things live: expr.go (expression steps); incremental.go,
// incremental_typed.go, incremental_arrow.go, incremental_close.go and
// lag.go (the incremental cursor over JSON, struct and Arrow items, closing
// an ordered source, lag); path.go and structpath.go (paths into items).
package transform
