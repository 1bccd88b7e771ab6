package duckdb

// SetScanThreads sets how many DuckDB threads fill chunks, for benchmarks.
func SetScanThreads(n int) { scanThreads = n }

// SetFlushRows sets how many buffered rows trigger an insert, for benchmarks.
func SetFlushRows(n int64) { flushRows = n }
