// Package bench measures sluice against the machine's raw ceiling: the same
// data parsed with fastjson, appended to hand-written Arrow builders (the
// parent table and, for nested records, the child table with its row ids)
// and inserted into DuckDB or written to Parquet with no pipeline around
// it. Both run on the same pre-generated pages and the same cores, so their
// ratio is what the pipeline costs; the REST runs fetch the pages from a
// loopback API in the same process, which serves them from a file
// (sendfile), so peak RSS is the pipeline's own. The native runs
// (NativeDuckDB, NativeParquet) are the anchor beyond the ceiling: DuckDB's
// own read_ndjson over the same records as local NDJSON files, all threads,
// no HTTP and no dlt normalization. `go run
// ./bench/cmd/sluicebench` prints the table (the median of -repeat rounds,
// 3 by default, each running every measurement once); the Go benchmarks in
// this package report rows/s and allocations.
package bench
