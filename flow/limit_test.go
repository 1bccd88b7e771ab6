package flow_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/flow"
)

// TestSourceLimit checks dlt's add_limit on a source: every generator of
// the source, and every parent feeding a transformer, stops after the
// limit's yields; transformers themselves are not limited.
func TestSourceLimit(t *testing.T) {
	// twice yields two batches per parent batch: a limit of 2 would cut it.
	twice := flow.NewTransformer("twice", func(ctx context.Context, in flow.Batch, yield flow.Yield) error {
		vals, err := in.Values()
		if err != nil {
			return err
		}
		for range 2 {
			if err := yield(flow.ItemsBatch(vals...)); err != nil {
				return err
			}
		}
		return nil
	})
	hidden := numbers("hidden", 10, 3) // a parent that is not in the source
	build := func(opts ...flow.SourceOption) *flow.Source {
		return flow.NewSource("s", []*flow.Resource{numbers("a", 10, 3), numbers("b", 10, 1).Limit(5, 0), hidden.Pipe(twice)}, opts...)
	}
	for _, tc := range []struct {
		name string
		src  *flow.Source
		want map[string]int64
	}{
		{"none", build(), map[string]int64{"a": 30, "b": 5, "twice": 60}},
		{"method", build().Limit(2, 0), map[string]int64{"a": 6, "b": 2, "twice": 12}},
		{"option", build(flow.SourceLimit(2, 0)), map[string]int64{"a": 6, "b": 2, "twice": 12}},
		{"minus one lifts the resources' limits", build().Limit(-1, 0), map[string]int64{"a": 30, "b": 10, "twice": 60}},
		{"selected subset", must(build().Limit(1, 0).With("twice")), map[string]int64{"twice": 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			info := e.run(e.pipeline("srclimit"), tc.src)
			for table, want := range tc.want {
				if got := info.RowCounts[table]; got != want {
					t.Errorf("%s: %d rows, want %d (all: %v)", table, got, want, info.RowCounts)
				}
			}
			if r := tc.src.Resource("a"); r != nil && r.IsSelected() {
				items, err := flow.Collect(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(items)) != tc.want["a"] {
					t.Errorf("Collect(a) = %d items, want %d", len(items), tc.want["a"])
				}
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestTimeLimitStartsAtFirstItem checks dlt's rule that a time limit runs
// from the first item, not from the generator's start: a slow first request
// does not use up the time.
func TestTimeLimitStartsAtFirstItem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleep := func(ctx context.Context, d time.Duration) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
				return nil
			}
		}
		slow := flow.NewResource("slow", func(ctx context.Context, yield flow.Yield) error {
			if err := sleep(ctx, 10*time.Second); err != nil { // the first request
				return err
			}
			for i := 0; ; i++ { // then an item every 2s: at 10, 12, 14 before 15
				if err := yield(flow.ItemsBatch(i)); err != nil {
					return err
				}
				if err := sleep(ctx, 2*time.Second); err != nil {
					return err
				}
			}
		})
		items, err := flow.Collect(context.Background(), slow.Limit(-1, 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 3 {
			t.Errorf("got %d items, want 3 (the 5s run from the first item at 10s)", len(items))
		}
	})
}
