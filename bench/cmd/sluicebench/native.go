package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/sluicehq/sluice/bench"
)

// nativePhases are DuckDB's own JSON reader over the records the API
// serves, written as local NDJSON files: the anchor REST -> DuckDB and
// REST -> Parquet are compared with (the "vs native" column).
var nativePhases = map[string]bool{"duckdb-native": true, "duckdb-native-parquet": true}

// nativeOf names the native run a phase is compared with: its
// destination's.
func nativeOf(phase string) string {
	if isParquet(phase) {
		return "duckdb-native-parquet"
	}
	return "duckdb-native"
}

// measureNative writes the records of rows (cycled through the API's pool
// of pages, as the REST runs get them) to NDJSON files, untimed, then
// times DuckDB reading them into a new DuckDB file or a Parquet file.
func measureNative(phase string, rows, pageSize int, shape bench.Shape) (result, error) {
	dir, err := os.MkdirTemp("", "sluicebench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	nd, err := bench.WriteNDJSON(dir, rows, min(rows, 100*pageSize), shape)
	if err != nil {
		return result{}, err
	}
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	ctx := context.Background()
	start, cpu0 := time.Now(), cpuTime()
	var n int64
	if phase == "duckdb-native-parquet" {
		n, err = bench.NativeParquet(ctx, filepath.Join(dir, "users.parquet"), nd.Files)
	} else {
		n, err = bench.NativeDuckDB(ctx, filepath.Join(dir, "bench.duckdb"), nd.Files)
	}
	if err != nil {
		return result{}, err
	}
	secs, cpu := time.Since(start).Seconds(), cpuTime()-cpu0
	runtime.ReadMemStats(&ms)
	// One table: the children stay in a LIST column.
	return result{Name: phase, Shape: string(shape), Rows: n, TotalRows: n, Seconds: secs, InputBytes: nd.Bytes,
		PeakRSSMB: peakRSSMB(), AllocsPerRow: float64(ms.Mallocs-mallocs) / float64(max(n, 1)), CPUSeconds: cpu}, nil
}
