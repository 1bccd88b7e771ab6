package duckdb

// SetScanThreads sets how many DuckDB threads fill chunks, for benchmarks.
func SetScanThreads(n int) { scanThreads = n }

// SetFlushRows sets how many buffered rows trigger an insert, for benchmarks.
func SetFlushRows(n int64) { flushRows = n }

// SetStageRows sets how many rows a staged Parquet file gathers before it
// is inserted, and returns the previous value.
func SetStageRows(n int64) int64 { old := stageRows; stageRows = n; return old }

// ScanJobs is how many inserts went through the Go table function.
func ScanJobs() int64 { return scanJobID.Load() }

// SetLockWaitHook sets a func run when a load starts to wait for the
// file's lock; the returned func restores the previous one.
func SetLockWaitHook(f func()) func() {
	old := lockWaitHook
	lockWaitHook = f
	return func() { lockWaitHook = old }
}

// SetCreateHook sets a func run when a new database file is complete but
// not yet in place.
func SetCreateHook(f func()) { createHook = f }
