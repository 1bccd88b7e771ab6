// Package bench measures sluice against the machine's raw ceiling: the same
// data parsed with fastjson, appended to hand-written Arrow builders and
// inserted into DuckDB with no pipeline around it. Both run in the same
// process on the same pre-generated pages, so their ratio is what the
// pipeline costs. `go run ./bench/cmd/sluicebench` prints the table; the Go
// benchmarks in this package report rows/s and allocations.
package bench
