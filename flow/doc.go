// Package flow is sluice's engine: resources and transformers that yield
// batches, the stages that move them, and the Pipeline that runs one atomic
// load into a Destination.
//
// A run is a dataflow of goroutine stages over bounded channels:
//
//	resources (generators, transformers, steps) -> normalizers -> loader
//
// Every stage passes Batches (a page, a chunk), never single items, so channel
// operations and allocations are paid per batch.
//
// Contracts:
//   - Blocking: Yield blocks while downstream stages are busy; channels hold a
//     few batches, so memory in flight is bounded by stages x buffer x batch
//     size, not by the number of rows loaded.
//   - Ordering: batches of one resource reach the normalizer in yield order;
//     resources run concurrently (Sequential runs them in declaration order);
//     a transformer with Workers(n) > 1 does not keep its parent's order.
//   - Errors: the first error (or panic, turned into an error) cancels the run
//     and Run returns it; nothing of the failed load becomes visible, and
//     pipeline state does not advance.
//   - Ownership: whoever holds a Batch releases it (Release); a stage that
//     passes a batch on passes the duty with it.
//   - Limits: Limit counts yields like dlt's add_limit and cancels the
//     generator; its time runs from the first item. Source.Limit limits
//     every generator of a source; transformers are never limited. A step
//     that returns ErrClose (an incremental past its range, with row_order)
//     closes the resource after passing its batch on.
//   - Typed items: a TypedBatch of structs is read field by field through
//     the type's plan (arrowbuf.TypedOf); it keeps the []T, so the items
//     must not change while the run uses them.
//
// Where things live: batch.go (Batch) and typed.go (typed items);
// resource.go (Resource, its options and steps) and source.go (Source);
// pipeline.go (Pipeline, its options, LoadInfo) and dataset.go (the
// loaded dataset's handle); run.go, plan.go and emit.go (the stages of a
// run), limit.go (Limit), close.go (ErrClose), state.go (resource and
// pipeline state), refresh.go, lock*.go (one run at a time); extract.go
// and collect.go (running resources without a load). Plumbing shared with
// sluice's own sources and CLI lives in the module's internal/ packages.
package flow
