package nospace

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestWrap(t *testing.T) {
	const path = "/data/x.duckdb"
	for _, tc := range []struct {
		name string
		err  error
		full bool
	}{
		{"nil", nil, false},
		{"other", errors.New("Constraint Error: NOT NULL constraint failed"), false},
		{"enospc", fmt.Errorf("stage parquet: %w", &fs.PathError{Op: "write", Path: "/data/.x.duckdb.stage-1.parquet", Err: syscall.ENOSPC}), true},
		{"duckdb write", errors.New(`IO Error: Could not write file "/data/x.duckdb": No space left on device`), true},
		{"duckdb offload", errors.New("Out of Memory Error: failed to offload data block of size 256.0 KiB (17.8 MiB/17.9 MiB used).\n" +
			"This limit was set by the 'max_temp_directory_size' setting.\nBy default, this setting utilizes the available disk space"), true},
		// Out of memory for other reasons is not a full disk.
		{"duckdb memory", errors.New("Out of Memory Error: could not allocate block of size 256.0 KiB (64.0 MiB/64.0 MiB used)"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Wrap(tc.err, path)
			if !tc.full {
				if got != tc.err {
					t.Errorf("Wrap changed %v into %v", tc.err, got)
				}
				return
			}
			if want := "no space left on device: " + path; got.Error() != want {
				t.Errorf("Wrap = %q, want %q", got, want)
			}
			if !errors.Is(got, syscall.ENOSPC) || !errors.Is(got, tc.err) {
				t.Errorf("Wrap(%v) does not wrap ENOSPC and the original", tc.err)
			}
			// Wrapping twice (at the write and again at the load) names the
			// path once.
			if again := Wrap(fmt.Errorf("load: %w", got), "/other"); strings.Count(again.Error(), "no space") != 1 || strings.Contains(again.Error(), "/other") {
				t.Errorf("second Wrap = %q", again)
			}
		})
	}
}
