package duckdb

import (
	"runtime"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"122.0 MiB", 122 << 20, true},
		{"19.5 GiB", 39 << 29, true},
		{"512 bytes", 512, true},
		{"1.5 KiB", 1536, true},
		{"2 GB", 2e9, true},
		{"12 parsecs", 0, false},
		{"lots", 0, false},
	} {
		got, err := parseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestInsertNeedGrowsWithWidth(t *testing.T) {
	narrow, wide := insertNeed(300, 2), insertNeed(6000, 2)
	// The bench's flat rows fit the default 128MB; 400 text columns
	// (measured to need about 1GB on 2 threads) do not.
	if narrow > 128<<20 || wide < 1<<30 {
		t.Errorf("insertNeed: narrow %d MiB, wide %d MiB", narrow>>20, wide>>20)
	}
}

func TestReturnFreedMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("DuckDB uses jemalloc on Linux only")
	}
	if !returnFreedMemory() {
		t.Error("DuckDB's jemalloc (duckdb_je_mallctl) not found in the linked DuckDB")
	}
}
