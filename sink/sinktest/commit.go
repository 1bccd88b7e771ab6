package sinktest

import (
	"github.com/sluicehq/sluice/sink"

	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
)

func testRollback(t *testing.T, d sink.Destination) {
	ctx := context.Background()
	tb := &arrowbuf.Table{Name: "rb", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", sink.Commit{}, Batch(t, tb, []any{1, "1", "a"}))
	l, err := d.Begin(ctx, sink.LoadRequest{Dataset: ds, LoadID: "2", SchemaName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(ctx, Batch(t, tb, []any{2, "2", "b"})); err != nil {
		t.Fatal(err)
	}
	newTb := &arrowbuf.Table{Name: "rb_new", Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	if err := l.Write(ctx, Batch(t, newTb, []any{2, "2", "b"})); err != nil {
		t.Fatal(err)
	}
	if err := l.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := l.Rollback(); err != nil {
		t.Fatalf("second Rollback: %v", err)
	}
	check(t, d, ds, "SELECT id FROM rb", []any{int64(1)})
	if got := tables(t, d, ds); got["rb_new"] != 0 {
		t.Errorf("rolled back table has rows: %v", got)
	}
	if got := loads(t, d, ds); !reflect.DeepEqual(got, []string{"1"}) {
		t.Errorf("Loads = %v", got)
	}
	if _, err := d.LastState(ctx, ds, "p"); !errors.Is(err, sink.ErrNoState) {
		t.Errorf("LastState = %v, want ErrNoState", err)
	}
}

func testFailedCommit(t *testing.T, d sink.Destination) {
	tb := &arrowbuf.Table{Name: "fc", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", sink.Commit{}, Batch(t, tb, []any{1, "1", "a"}))
	ctx, cancel := context.WithCancel(context.Background())
	l, err := d.Begin(ctx, sink.LoadRequest{Dataset: ds, LoadID: "2", SchemaName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(ctx, Batch(t, tb, []any{2, "2", "b"})); err != nil {
		t.Fatal(err)
	}
	cancel()
	st := &sink.StoredState{PipelineName: "p", Version: 1, EngineVersion: 4, State: "s", Hash: "h"}
	if err := l.Commit(ctx, sink.Commit{State: st}); err == nil {
		t.Fatal("Commit with a cancelled context succeeded")
	}
	_ = l.Rollback()
	check(t, d, ds, "SELECT id FROM fc", []any{int64(1)})
	if got := loads(t, d, ds); !reflect.DeepEqual(got, []string{"1"}) {
		t.Errorf("Loads = %v", got)
	}
	if _, err := d.LastState(context.Background(), ds, "p"); !errors.Is(err, sink.ErrNoState) {
		t.Errorf("LastState = %v, want ErrNoState", err)
	}
}

func testState(t *testing.T, d sink.Destination) {
	ctx := context.Background()
	if _, err := d.LastState(ctx, ds, "p"); !errors.Is(err, sink.ErrNoState) {
		t.Fatalf("LastState on empty destination = %v, want ErrNoState", err)
	}
	if _, err := d.LastSchema(ctx, ds, "test"); !errors.Is(err, sink.ErrNoState) {
		t.Fatalf("LastSchema on empty destination = %v, want ErrNoState", err)
	}
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	s1 := &sink.StoredState{PipelineName: "p", Version: 1, EngineVersion: 4, State: "eNoBAAAA", Hash: "h1", CreatedAt: created}
	Load(t, d, ds, "1", sink.Commit{State: s1, SchemaJSON: []byte(`{"name":"test","version":1}`), SchemaVersion: 1, SchemaHash: "sh1"})
	s2 := &sink.StoredState{PipelineName: "p", Version: 2, EngineVersion: 4, State: "eNoCAAAA", Hash: "h2", CreatedAt: created.Add(time.Hour)}
	other := &sink.StoredState{PipelineName: "q", Version: 9, EngineVersion: 4, State: "other", Hash: "hq", CreatedAt: created}
	Load(t, d, ds, "2", sink.Commit{State: s2, SchemaJSON: []byte(`{"name":"test","version":2}`), SchemaVersion: 2, SchemaHash: "sh2"})
	Load(t, d, ds, "3", sink.Commit{State: other})
	got, err := d.LastState(ctx, ds, "p")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s2) {
		t.Errorf("LastState = %+v, want %+v", got, s2)
	}
	sch, err := d.LastSchema(ctx, ds, "test")
	if err != nil {
		t.Fatal(err)
	}
	if string(sch) != `{"name":"test","version":2}` {
		t.Errorf("LastSchema = %s", sch)
	}
	if _, err := d.LastState(ctx, ds, "nobody"); !errors.Is(err, sink.ErrNoState) {
		t.Errorf("LastState of unknown pipeline = %v", err)
	}
	if _, err := d.LastState(ctx, "no_such_dataset", "p"); !errors.Is(err, sink.ErrNoState) {
		t.Errorf("LastState of unknown dataset = %v", err)
	}
}

func testTruncateDrop(t *testing.T, d sink.Destination) {
	a := &arrowbuf.Table{Name: "ta", WriteDisposition: arrowbuf.Append, Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	b := &arrowbuf.Table{Name: "tb", WriteDisposition: arrowbuf.Append, Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", sink.Commit{}, Batch(t, a, []any{1, "1", "a"}), Batch(t, b, []any{1, "1", "b"}))
	Load(t, d, ds, "2", sink.Commit{Truncate: []string{"ta", "missing"}, Drop: []string{"tb", "missing_too"}})
	got := tables(t, d, ds)
	if _, ok := got["tb"]; ok {
		t.Errorf("dropped table still listed: %v", got)
	}
	if n, ok := got["ta"]; !ok || n != 0 {
		t.Errorf("truncated table: %v", got)
	}
}
