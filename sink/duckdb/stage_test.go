package duckdb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// stagingEntries lists the staging folder beside the database.
func stagingEntries(t *testing.T, db string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(filepath.Dir(db), "."+filepath.Base(db)+".sluice-staging"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestStrayStagesRemoved: a load removes the stage folders of killed loads
// (their lock is free, or gone) but not those of running ones, in this
// process or another; a finished load leaves nothing.
func TestStrayStagesRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.duckdb")
	d := duckdb.New(path)
	ctx := context.Background()
	live, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Rollback()
	if err := live.Write(ctx, sinktest.Batch(t, countTable, []any{1})); err != nil {
		t.Fatal(err)
	}
	liveEntries := stagingEntries(t, path)
	root := filepath.Join(filepath.Dir(path), ".s.duckdb.sluice-staging")
	for _, p := range []string{"0.dead/stage-1.parquet", "0.dead.lock", "0.unlocked/stage-2.parquet"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	next, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "2"})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Rollback()
	got := stagingEntries(t, path)
	for _, e := range liveEntries {
		if !slices.Contains(got, e) {
			t.Errorf("the running load's %s was removed: %v", e, got)
		}
	}
	for _, e := range []string{"0.dead", "0.dead.lock", "0.unlocked"} {
		if slices.Contains(got, e) {
			t.Errorf("stray %s not removed: %v", e, got)
		}
	}
	if err := next.Commit(ctx, sink.Commit{}); err != nil {
		t.Fatal(err)
	}
	if err := live.Commit(ctx, sink.Commit{}); err != nil {
		t.Fatalf("the running load after another began: %v", err)
	}
	if got := rows(t, d, "ds", "SELECT id FROM c"); !reflect.DeepEqual(got, [][]any{{int64(1)}}) {
		t.Errorf("rows %v", got)
	}
	if got := stagingEntries(t, path); got != nil {
		t.Errorf("staging left after the loads: %v", got)
	}
}

// TestImportedFileKept: a file imported into a staged load may be removed
// by its source once yielded (it is linked into the stage folder).
func TestImportedFileKept(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []duckdb.Option
	}{{"staged", nil}, {"during extract", []duckdb.Option{duckdb.WithLoadDuringExtract()}}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			csv := filepath.Join(dir, "in.csv")
			if err := os.WriteFile(csv, []byte("id,name\n1,a\n2,b\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			d := duckdb.New(filepath.Join(dir, "i.duckdb"), tc.opts...)
			ctx := context.Background()
			l, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "1"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Rollback()
			tb := &arrowbuf.Table{Name: "imp", WriteDisposition: arrowbuf.Append}
			if err := l.Write(ctx, arrowbuf.TableBatch{Table: tb, File: &arrowbuf.ImportFile{Path: csv, Format: "csv"}}); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(csv); err != nil {
				t.Fatal(err)
			}
			if err := l.Commit(ctx, sink.Commit{}); err != nil {
				t.Fatal(err)
			}
			if got := rows(t, d, "ds", "SELECT id, name FROM imp ORDER BY id"); !reflect.DeepEqual(got, [][]any{{int64(1), "a"}, {int64(2), "b"}}) {
				t.Errorf("rows %v", got)
			}
		})
	}
}

// TestStateChangedByAnotherRun: two runs of one pipeline from different
// working folders start from the same state (a staged load holds no lock,
// so both run). The second to commit fails and keeps nothing: its
// incremental window would be loaded twice.
func TestStateChangedByAnotherRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "two.duckdb")
	started, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	res := func(id int64, block bool) *flow.Resource {
		return flow.NewResource("events", func(ctx context.Context, yield flow.Yield) error {
			if block {
				once.Do(func() { close(started) })
				select {
				case <-proceed:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return yield(flow.ItemsBatch(map[string]any{"id": id}))
		})
	}
	run := func(id int64, block bool) error {
		p, err := flow.NewPipeline("twice", duckdb.New(path), flow.PipelinesDir(t.TempDir()), flow.DatasetName("ds"))
		if err != nil {
			return err
		}
		_, err = p.Run(context.Background(), res(id, block))
		return err
	}
	var g errgroup.Group
	var first error
	g.Go(func() error { first = run(1, true); return nil })
	<-started
	if err := run(2, false); err != nil {
		t.Fatalf("the run that finished first: %v", err)
	}
	close(proceed)
	_ = g.Wait()
	if !errors.Is(first, duckdb.ErrStateChanged) {
		t.Fatalf("the run that committed second = %v, want ErrStateChanged", first)
	}
	if got := rows(t, duckdb.New(path), "ds", "SELECT id FROM events"); !reflect.DeepEqual(got, [][]any{{int64(2)}}) {
		t.Errorf("events %v, want the first commit's only", got)
	}
}
