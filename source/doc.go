// Package source holds generic sources for flow pipelines: Go slices,
// iterators and channels, and JSONL, CSV and Parquet files. Each returns a
// *flow.Resource that yields batches of ChunkSize items, so downstream stages
// pay per chunk, not per item. Under a count Limit, Slice, Seq and Chan
// yield one item at a time, as dlt's add_limit counts a list's items.
// Slice, Seq and Chan yield typed batches (flow.TypedBatch): structs load
// through their type's plan, unboxed. go.go holds the Go sources, files.go
// the file sources.
package source
