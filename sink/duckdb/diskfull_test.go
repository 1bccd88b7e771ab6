package duckdb_test

import (
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// TestDiskFull loads into a DuckDB file on a small disk until it is full.
// In the field this aborted the process in 2 of 4 tries ("terminate called
// after throwing an instance of 'duckdb::OutOfMemoryException'"): DuckDB
// failed to spill while the Go table function that staged merge rows was
// filling its vectors, and a C++ exception cannot unwind through Go. Now
// no insert runs Go code inside DuckDB (the scan counter stays put), and
// the load fails with one line naming the file; the load before it stays,
// no staged file is left, and the file takes loads again once there is
// space.
func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name  string
		merge bool
	}{{"append", false}, {"merge", true}} {
		t.Run(tc.name, func(t *testing.T) {
			scans := duckdb.ScanJobs()
			sinktest.DiskFull(t, func(dir string) sink.Destination {
				return duckdb.New(filepath.Join(dir, "full.duckdb"))
			}, tc.merge, func(dir string) {
				if stray, _ := filepath.Glob(filepath.Join(dir, ".full.duckdb.stage-*")); len(stray) > 0 {
					t.Errorf("staged files left: %v", stray)
				}
			})
			if n := duckdb.ScanJobs() - scans; n > 0 {
				t.Errorf("%d inserts ran the Go table function inside DuckDB", n)
			}
		})
	}
}
