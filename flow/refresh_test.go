package flow_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/transform"
)

// api is an endpoint that, like a real API, returns only the rows at or
// after the cursor the resource asks from.
type api struct {
	rows   int
	starts []any // cursor asked for, per run
}

// resource is an incremental resource on field n reading from a.
func (a *api) resource(name string) *flow.Resource {
	inc, _ := transform.NewIncremental("n", int64(0))
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		start, err := inc.StartValue(ctx)
		if err != nil {
			return err
		}
		a.starts = append(a.starts, start)
		var items []any
		for i := range int64(a.rows) {
			if transform.Compare(i+1, start) >= 0 {
				items = append(items, map[string]any{"n": i + 1})
			}
		}
		return yield(flow.ItemsBatch(items...))
	}).AddStep(inc.Step())
}

// TestRefreshResetsIncrementalState checks that every refresh mode starts
// the refreshed resources' cursors over, as dlt's refresh does: the reload
// asks the API from the initial value and loads all rows again, and the
// next run goes on from the reload's cursor. An incremental parent feeding
// a loaded transformer is refreshed too (dlt refreshes what it extracts).
func TestRefreshResetsIncrementalState(t *testing.T) {
	echo := flow.NewTransformer("copies", func(ctx context.Context, in flow.Batch, yield flow.Yield) error {
		return yield(in)
	})
	for _, mode := range []flow.Refresh{flow.DropSources, flow.DropResources, flow.DropData} {
		for _, shape := range []string{"resource", "parent of a transformer"} {
			t.Run(fmt.Sprintf("%s/%s", mode, shape), func(t *testing.T) {
				a := &api{rows: 5}
				table := "items"
				src := func() flow.Sourcer {
					r := a.resource("items")
					if shape == "resource" {
						return flow.NewSource("src", []*flow.Resource{r})
					}
					table = "copies"
					return flow.NewSource("src", []*flow.Resource{r.With(flow.Selected(false)), r.Pipe(echo)})
				}
				e := newEnv(t)
				p := e.pipeline("refresh")
				e.run(p, src())
				a.rows = 6
				if _, err := p.RunWith(context.Background(), flow.RunOptions{Refresh: mode}, src()); err != nil {
					t.Fatal(err)
				}
				if n := e.count(table); n != 6 {
					t.Errorf("after %s: %s has %d rows, want all 6 reloaded", mode, table, n)
				}
				a.rows = 7
				e.run(p, src())
				if n := e.count(table); n != 7 {
					t.Errorf("next run: %s has %d rows, want 7", table, n)
				}
				if want := []any{int64(0), int64(0), float64(6)}; !slices.Equal(a.starts, want) {
					t.Errorf("cursors asked for %v, want %v", a.starts, want)
				}
			})
		}
	}
}

// TestDropResourcesDispatchedTables checks that drop_resources and
// drop_data reach every table a resource loaded, also those it picked per
// item (dlt matches tables by their resource).
func TestDropResourcesDispatchedTables(t *testing.T) {
	events := func(types ...string) *flow.Resource {
		items := make([]any, len(types))
		for i, ty := range types {
			items[i] = map[string]any{"type": ty, "id": i}
		}
		return flow.NewResource("events", func(ctx context.Context, yield flow.Yield) error {
			return yield(flow.ItemsBatch(items...))
		}, flow.TableFunc(transform.TableFromField("type", "other")))
	}
	for _, tc := range []struct {
		mode       flow.Refresh
		viewExists bool
	}{{flow.DropResources, false}, {flow.DropData, true}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			e := newEnv(t)
			p := e.pipeline("dispatch")
			e.run(p, events("click", "view", "view"))
			if _, err := p.RunWith(context.Background(), flow.RunOptions{Refresh: tc.mode}, events("click")); err != nil {
				t.Fatal(err)
			}
			if e.tableExists("view") != tc.viewExists {
				t.Fatalf("view table exists = %v, want %v", !tc.viewExists, tc.viewExists)
			}
			if tc.viewExists && e.count("view") != 0 {
				t.Errorf("drop_data left %d rows in view", e.count("view"))
			}
			if n := e.count("click"); n != 1 {
				t.Errorf("click = %d rows, want 1", n)
			}
		})
	}
}
