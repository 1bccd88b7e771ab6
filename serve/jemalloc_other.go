//go:build !linux

package serve

// returnFreedMemory is a no-op: DuckDB uses jemalloc on Linux only.
func returnFreedMemory() bool { return false }
