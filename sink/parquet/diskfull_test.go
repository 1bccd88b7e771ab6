package parquet_test

import (
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// TestDiskFull loads into a bucket on a small disk until it is full: the
// load fails with one line naming the dataset, the load before it stays,
// no file of the failed load is left (staging included) for any reader of
// the folders to see, and the bucket takes loads again once there is space.
func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name  string
		merge bool
	}{{"append", false}, {"merge", true}} {
		t.Run(tc.name, func(t *testing.T) {
			sinktest.DiskFull(t, func(dir string) sink.Destination {
				return newDest(filepath.Join(dir, "bucket"))
			}, tc.merge, func(dir string) {
				ds := filepath.Join(dir, "bucket", "full_data")
				loads := dataFilesExt(t, filepath.Join(ds, "_dlt_loads"), ".jsonl")
				if len(loads) != 1 {
					t.Fatalf("committed loads %v, want the first only", loads)
				}
				first := loadOf(loads[0])
				_ = filepath.WalkDir(ds, func(p string, e fs.DirEntry, err error) error {
					if err != nil || e.IsDir() || e.Name() == "init" {
						return err
					}
					if rel, _ := filepath.Rel(ds, p); loadOf(rel) != first {
						t.Errorf("file of the failed load left: %s", rel)
					}
					return nil
				})
				// A reader of the folders that ignores _dlt_loads sees the
				// first load only.
				var n int64
				if err := duck(t).QueryRow("SELECT count(*) FROM read_parquet(?)", filepath.Join(ds, "items", "*.parquet")).Scan(&n); err != nil || n != 1000 {
					t.Errorf("read_parquet: %d rows, %v; want 1000", n, err)
				}
			})
		})
	}
}

// TestFailedCommitTakesBackFiles fails a commit at its last step, the
// rename of the _dlt_loads file (a full disk can fail any step): the data,
// state and marker files the commit had put in place go again, so no file
// of the failed load stays beside the dataset's, for readers of the folders
// that do not check _dlt_loads either.
func TestFailedCommitTakesBackFiles(t *testing.T) {
	for _, disp := range []arrowbuf.WriteDisposition{arrowbuf.Append, arrowbuf.Replace} {
		t.Run(string(disp), func(t *testing.T) {
			bucket := t.TempDir()
			d := newDest(bucket)
			items := itemsTable(disp)
			commit := func(hash string) sink.Commit {
				return sink.Commit{State: &sink.StoredState{Version: 1, PipelineName: "p", State: "{}", Hash: hash},
					SchemaJSON: []byte(`{"name":"test"}`), SchemaHash: hash}
			}
			sinktest.Load(t, d, "ds", "1", commit("h1"), sinktest.Batch(t, items, []any{1, "1", "a"}))
			dir := filepath.Join(bucket, "ds")
			before := snapshot(t, dir)
			// A folder where the load's _dlt_loads file goes fails its rename.
			block := filepath.Join(dir, "_dlt_loads", "test__2.jsonl")
			if err := os.Mkdir(block, 0o755); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "2", SchemaName: "test"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Rollback()
			if err := l.Write(ctx, sinktest.Batch(t, items, []any{2, "2", "b"})); err != nil {
				t.Fatal(err)
			}
			if err := l.Commit(ctx, commit("h2")); err == nil {
				t.Fatal("Commit succeeded")
			}
			if err := os.Remove(block); err != nil {
				t.Fatal(err)
			}
			if got := snapshot(t, dir); !reflect.DeepEqual(got, before) {
				t.Errorf("files after the failed commit:\n%v\nwant\n%v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(before)))
			}
		})
	}
}

func dataFilesExt(t *testing.T, dir, ext string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// loadOf is the load id in a file name of the layout (doc.go): data files
// <load_id>.<file_id>.parquet, system files <name>__<load_id>[__<hash>],
// supersede markers <load_id>.json; a staged file's folder
// (.sluice-staging/<load_id>.<id>/) is no load's.
func loadOf(path string) string {
	if strings.Contains(path, ".sluice-staging") {
		return "staging"
	}
	name := filepath.Base(path)
	if parts := strings.Split(name, "__"); len(parts) > 1 {
		return strings.TrimSuffix(parts[1], ".jsonl")
	}
	parts := strings.SplitN(name, ".", 3)
	if len(parts) < 2 {
		return name
	}
	return parts[0] + "." + parts[1]
}
