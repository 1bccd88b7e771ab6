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
package flow
