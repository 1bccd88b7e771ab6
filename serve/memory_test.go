package serve

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// rssBytes is the process's resident set size, from /proc.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestLargeResultBoundedMemory streams a result of about 360 MB through a
// server and a client in this process and samples the resident set and
// the Go heap at each batch: they stay far below the result's size, as
// DuckDB computes the rows as they are fetched and one batch is in flight.
func TestLargeResultBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 3M rows")
	}
	path := newDuckDBFixture(t, t.TempDir())
	srv := startServer(t, DuckDBFile(path, testDataset), Options{})
	cl := newClient(t, srv.addr, "")
	ctx := context.Background()
	const rows = 3_000_000
	const rowBytes = 8 + 4 + 110 // id, offset, text
	const resultBytes = rows * rowBytes
	if _, err := cl.query(ctx, "SELECT 1"); err != nil { // warm up
		t.Fatal(err)
	}
	runtime.GC()
	base := rssBytes(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapInuse

	info, err := cl.Execute(ctx, "SELECT i AS id, repeat('x', 100) || lpad(i::VARCHAR, 10, '0') AS s FROM range("+strconv.Itoa(rows)+") t(i)")
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var got, peakRSS int64
	var peakHeap uint64
	batches := 0
	for rdr.Next() {
		got += rdr.RecordBatch().NumRows()
		batches++
		if r := rssBytes(t); r > peakRSS {
			peakRSS = r
		}
		if batches%8 == 0 {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	if got != rows {
		t.Fatalf("%d rows, want %d", got, rows)
	}
	growth := peakRSS - base
	t.Logf("%d rows (%d MB) in %d batches: peak RSS +%d MB, peak Go heap in use +%d MB",
		rows, resultBytes>>20, batches, growth>>20, (int64(peakHeap)-int64(baseHeap))>>20)
	// The result is ~350 MB; materialized it takes more (measured: +456
	// MB; streamed +66 MB, +136 MB with -race).
	if limit := int64(resultBytes / 2); growth > limit {
		t.Errorf("resident set grew by %d MB while streaming %d MB, want under %d MB", growth>>20, resultBytes>>20, limit>>20)
	}
	if limit := uint64(64 << 20); peakHeap > baseHeap+limit {
		t.Errorf("Go heap in use grew by %d MB, want under %d MB", (peakHeap-baseHeap)>>20, limit>>20)
	}
}

// TestSpillsPastMemoryLimit: a sort bigger than a statement's memory
// limit spills into the statement's own folder, which goes with it.
func TestSpillsPastMemoryLimit(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	tmp := t.TempDir()
	srv := startServer(t, DuckDBFile(path, testDataset), Options{MemoryLimit: "40MB", TempDir: tmp})
	cl := newClient(t, srv.addr, "")
	ctx := context.Background()
	tbl, err := cl.query(ctx, "SELECT current_setting('memory_limit') AS m")
	if err != nil {
		t.Fatal(err)
	}
	limit := tbl.Column(0).Data().Chunk(0).(*array.String).Value(0)
	tbl.Release()
	if !strings.HasPrefix(limit, "38.1 MiB") && !strings.HasPrefix(limit, "40.0 MB") {
		t.Errorf("memory_limit %q, want 40MB", limit)
	}
	// ~150 MB of rows sorted: more than the limit, so DuckDB spills.
	tbl, err = cl.query(ctx, "SELECT max(s) AS m FROM (SELECT md5(i::VARCHAR) || repeat('x', 100) AS s FROM range(1000000) t(i) ORDER BY s DESC LIMIT 900000)")
	if err != nil {
		t.Fatalf("a sort past the memory limit: %v", err)
	}
	tbl.Release()
	left, _ := filepath.Glob(filepath.Join(tmp, "sluice-serve-*", "*"))
	if len(left) != 0 {
		t.Errorf("spill folders left: %v", left)
	}
}
