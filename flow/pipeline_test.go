package flow_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transform"
)

type env struct {
	t       *testing.T
	dbPath  string
	pipeDir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	return &env{t: t, dbPath: filepath.Join(dir, "test.duckdb"), pipeDir: filepath.Join(dir, "pipelines")}
}

func (e *env) pipeline(name string, opts ...flow.PipelineOption) *flow.Pipeline {
	e.t.Helper()
	opts = append([]flow.PipelineOption{flow.PipelinesDir(e.pipeDir), flow.DatasetName("ds")}, opts...)
	p, err := flow.NewPipeline(name, duckdb.New(e.dbPath), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) run(p *flow.Pipeline, srcs ...flow.Sourcer) *flow.LoadInfo {
	e.t.Helper()
	info, err := p.Run(context.Background(), srcs...)
	if err != nil {
		e.t.Fatalf("run: %v", err)
	}
	return info
}

// query runs SQL against the DuckDB file and returns rows as strings.
func (e *env) query(q string) [][]string {
	e.t.Helper()
	db, err := sql.Open("duckdb", e.dbPath+"?access_mode=read_only")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	return out
}

func (e *env) count(table string) int {
	e.t.Helper()
	r := e.query("SELECT count(*) FROM ds." + table)
	var n int
	fmt.Sscan(r[0][0], &n)
	return n
}

func (e *env) tableExists(table string) bool {
	r := e.query(fmt.Sprintf("SELECT count(*) FROM information_schema.tables WHERE table_schema='ds' AND table_name='%s'", table))
	return r[0][0] == "1"
}

func users(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"id": i + 1, "name": fmt.Sprintf("user%d", i+1),
			"address": map[string]any{"city": "Berlin", "zip": "10115"},
			"pets":    []any{map[string]any{"kind": "cat"}, map[string]any{"kind": "dog"}}}
	}
	return out
}

func TestRunLoadsNestedData(t *testing.T) {
	e := newEnv(t)
	p := e.pipeline("basic")
	info := e.run(p, source.Slice("users", users(3)))

	if got := e.query("SELECT id, name, address__city FROM ds.users ORDER BY id"); !slices.Equal(got[2], []string{"3", "user3", "Berlin"}) {
		t.Fatalf("users rows: %v", got)
	}
	if n := e.count("users__pets"); n != 6 {
		t.Fatalf("users__pets rows = %d, want 6", n)
	}
	// Children link to parents through _dlt_parent_id.
	orphans := e.query("SELECT count(*) FROM ds.users__pets c LEFT JOIN ds.users u ON c._dlt_parent_id = u._dlt_id WHERE u._dlt_id IS NULL")
	if orphans[0][0] != "0" {
		t.Fatalf("%s nested rows without parent", orphans[0][0])
	}
	loads := e.query("SELECT load_id, status FROM ds._dlt_loads")
	if len(loads) != 1 || loads[0][0] != info.LoadID || loads[0][1] != "0" {
		t.Fatalf("_dlt_loads = %v, load id %s", loads, info.LoadID)
	}
	ids := e.query("SELECT DISTINCT _dlt_load_id FROM ds.users")
	if len(ids) != 1 || ids[0][0] != info.LoadID {
		t.Fatalf("_dlt_load_id = %v", ids)
	}
	s := info.String()
	for _, want := range []string{"basic", "duckdb", "ds", e.dbPath, info.LoadID, "LOADED", "no failed jobs"} {
		if !strings.Contains(s, want) {
			t.Errorf("load info lacks %q:\n%s", want, s)
		}
	}
	if info.RowCounts["users"] != 3 || info.RowCounts["users__pets"] != 6 {
		t.Errorf("row counts %v", info.RowCounts)
	}
}

func TestWriteDispositions(t *testing.T) {
	tests := []struct {
		name       string
		opts       []flow.Option
		second     []map[string]any
		wantRoot   int
		wantNested int
	}{
		{"append", nil, users(2), 5, 10},
		{"replace", []flow.Option{flow.WriteDisposition(arrowbuf.Replace)}, users(2), 2, 4},
		{"merge", []flow.Option{flow.WriteDisposition(arrowbuf.Merge), flow.PrimaryKey("id")},
			[]map[string]any{{"id": 1, "name": "changed", "pets": []any{map[string]any{"kind": "fish"}}}}, 3, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.pipeline("disp")
			e.run(p, source.Slice("users", users(3), tc.opts...))
			e.run(p, source.Slice("users", tc.second, tc.opts...))
			if n := e.count("users"); n != tc.wantRoot {
				t.Errorf("users = %d rows, want %d", n, tc.wantRoot)
			}
			if n := e.count("users__pets"); n != tc.wantNested {
				t.Errorf("users__pets = %d rows, want %d", n, tc.wantNested)
			}
			if tc.name == "merge" {
				got := e.query("SELECT u.name, p.kind FROM ds.users u JOIN ds.users__pets p ON p._dlt_root_id = u._dlt_id WHERE u.id = 1")
				if len(got) != 1 || got[0][0] != "changed" || got[0][1] != "fish" {
					t.Errorf("merged row 1 = %v", got)
				}
			}
		})
	}
}

func TestReplaceWithNoRowsEmptiesTable(t *testing.T) {
	e := newEnv(t)
	p := e.pipeline("empty_replace")
	opt := flow.WriteDisposition(arrowbuf.Replace)
	e.run(p, source.Slice("users", users(3), opt))
	e.run(p, source.Slice("users", []map[string]any{}, opt))
	if n := e.count("users"); n != 0 {
		t.Fatalf("users = %d rows after an empty replace", n)
	}
}

func TestFailedRunLeavesDatasetUnchanged(t *testing.T) {
	e := newEnv(t)
	p := e.pipeline("fails")
	e.run(p, source.Slice("users", users(2)))
	before := e.query("SELECT count(*) FROM ds._dlt_loads")

	boom := errors.New("api went away")
	failing := flow.NewResource("users", func(ctx context.Context, yield flow.Yield) error {
		for i := range 5 {
			if err := yield(flow.ItemsBatch(map[string]any{"id": 100 + i, "extra": "new column"})); err != nil {
				return err
			}
		}
		return boom
	})
	other := source.Slice("orders", []map[string]any{{"id": 1}})
	_, err := p.Run(context.Background(), flow.NewSource("src", []*flow.Resource{failing, other}))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if n := e.count("users"); n != 2 {
		t.Errorf("users = %d rows, want 2 (unchanged)", n)
	}
	if e.tableExists("orders") && e.count("orders") != 0 {
		t.Errorf("orders got rows from a failed load")
	}
	if after := e.query("SELECT count(*) FROM ds._dlt_loads"); after[0][0] != before[0][0] {
		t.Errorf("_dlt_loads changed: %v -> %v", before, after)
	}
}

// TestPanicBecomesError: a panic in a resource, a step or a transformer
// fails the run with one line naming the resource, the value and where it
// was raised; the stack is on the *flow.PanicError.
func TestPanicBecomesError(t *testing.T) {
	rows := func(ctx context.Context, yield flow.Yield) error {
		return yield(flow.ItemsBatch(map[string]any{"id": 1}))
	}
	tests := []struct {
		name     string
		resource func() *flow.Resource
		prefix   string
	}{
		{"resource", func() *flow.Resource {
			return flow.NewResource("bad", func(ctx context.Context, yield flow.Yield) error { panic("kaboom") })
		}, `resource "bad": panic: kaboom (in `},
		{"step", func() *flow.Resource {
			return flow.NewResource("bad", rows).AddStep(flow.MapItems(func(any) (any, error) { panic("kaboom") }))
		}, `resource "bad": panic: kaboom (in `},
		{"transformer", func() *flow.Resource {
			tf := flow.NewTransformer("kids", func(ctx context.Context, b flow.Batch, yield flow.Yield) error { panic("kaboom") })
			return flow.Pipe(flow.NewResource("parent", rows), tf)
		}, `resource "kids": panic: kaboom (in `},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.pipeline("panics").Run(context.Background(), tc.resource())
			if err == nil || !strings.Contains(err.Error(), tc.prefix) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %q, want one line containing %q", err, tc.prefix)
			}
			var pe *flow.PanicError
			if !errors.As(err, &pe) || !strings.Contains(pe.Where, "flow_test.") || len(pe.Stack) == 0 {
				t.Errorf("PanicError = %+v, want the test's function as the site and a stack", pe)
			}
		})
	}
}

func numbers(name string, batches, perBatch int) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		for b := 0; b < batches; b++ {
			items := make([]any, perBatch)
			for i := range items {
				items[i] = map[string]any{"n": b*perBatch + i}
			}
			if err := yield(flow.ItemsBatch(items...)); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestLimit(t *testing.T) {
	double := flow.NewTransformer("double", func(ctx context.Context, in flow.Batch, yield flow.Yield) error {
		vals, _ := in.Values()
		out := make([]any, 0, 2*len(vals))
		for _, v := range vals {
			out = append(out, v, v)
		}
		return yield(flow.ItemsBatch(out...))
	})
	tests := []struct {
		name string
		res  *flow.Resource
		want int
	}{
		{"counts yields", numbers("n", 10, 3).Limit(2, 0), 6},
		{"zero yields nothing", numbers("n", 10, 3).Limit(0, 0), 0},
		{"minus one disables", numbers("n", 10, 3).Limit(-1, 0), 30},
		{"transformer not limited", numbers("n", 10, 3).Limit(1, 0).Pipe(double), 6},
		{"time limit", flow.NewResource("n", func(ctx context.Context, yield flow.Yield) error {
			// Fake time: items at 0, 7, ..., 49ms fall within the 50ms.
			for i := 0; ; i++ {
				if err := yield(flow.ItemsBatch(map[string]any{"n": i})); err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(7 * time.Millisecond):
				}
			}
		}).Limit(-1, 50*time.Millisecond), 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				items, err := flow.Collect(context.Background(), tc.res)
				if err != nil {
					t.Fatal(err)
				}
				if len(items) != tc.want {
					t.Fatalf("got %d items, want %d", len(items), tc.want)
				}
				// Through a pipeline too: a limited resource is not an error.
				e := newEnv(t)
				info, err := e.pipeline("limits").Run(context.Background(), tc.res)
				if err != nil {
					t.Fatal(err)
				}
				if tc.want > 0 && info.RowCounts[tc.res.Table()] != int64(tc.want) {
					t.Fatalf("loaded %v, want %d", info.RowCounts, tc.want)
				}
			})
		})
	}
}

// TestTransformerWorkersAndSelection: Workers(4) runs four calls at once
// (each waits 20ms of fake time, so all four start before one ends), and an
// unselected parent feeds its transformer without being loaded.
func TestTransformerWorkersAndSelection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inflight, peak atomic.Int64
		details := flow.NewTransformer("details", func(ctx context.Context, in flow.Batch, yield flow.Yield) error {
			cur := inflight.Add(1)
			defer inflight.Add(-1)
			for {
				p := peak.Load()
				if cur <= p || peak.CompareAndSwap(p, cur) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond) // I/O per parent item
			vals, _ := in.Values()
			out := make([]any, len(vals))
			for i, v := range vals {
				out[i] = map[string]any{"user_id": v.(map[string]any)["n"], "detail": "x"}
			}
			return yield(flow.ItemsBatch(out...))
		}, flow.Workers(4))

		parent := numbers("ids", 8, 1).With(flow.Selected(false))
		e := newEnv(t)
		info := e.run(e.pipeline("tx"), flow.NewSource("s", []*flow.Resource{parent, parent.Pipe(details)}))
		if info.RowCounts["details"] != 8 {
			t.Fatalf("details rows = %v", info.RowCounts)
		}
		if e.tableExists("ids") {
			t.Errorf("unselected parent was loaded")
		}
		if peak.Load() != 4 {
			t.Errorf("Workers(4) ran at most %d at once", peak.Load())
		}
	})
}

func TestStepsNamesAndDispatch(t *testing.T) {
	base := source.Slice("events", []map[string]any{
		{"id": 1, "type": "click", "secret": "s1"},
		{"id": 2, "type": "view", "secret": "s2"},
		{"id": 3, "type": "click", "secret": "s3"},
	})
	anon := base.Map(func(item any) (any, error) {
		// A copy: the other resources below read the same items at once.
		m := maps.Clone(item.(map[string]any))
		delete(m, "secret")
		return m, nil
	}).Filter(func(item any) (bool, error) { return item.(map[string]any)["id"] != 2, nil })
	dispatched := base.WithName("by_type").With(flow.TableFunc(transform.TableFromField("type", "other")))
	split := base.WithName("split").FlatMap(func(item any) ([]any, error) {
		m := item.(map[string]any)
		return []any{map[string]any{"id": m["id"], "half": 1}, map[string]any{"id": m["id"], "half": 2}}, nil
	})
	e := newEnv(t)
	e.run(e.pipeline("steps"), flow.NewSource("s", []*flow.Resource{anon, dispatched, split}))
	if got := e.query("SELECT id FROM ds.events ORDER BY id"); len(got) != 2 {
		t.Errorf("filtered events = %v", got)
	}
	if r := e.query("SELECT count(*) FROM information_schema.columns WHERE table_schema='ds' AND table_name='events' AND column_name='secret'"); r[0][0] != "0" {
		t.Errorf("map did not drop the secret column")
	}
	if e.count("click") != 2 || e.count("view") != 1 {
		t.Errorf("dispatch: click=%d view=%d", e.count("click"), e.count("view"))
	}
	if e.count("split") != 6 {
		t.Errorf("flat map rows = %d", e.count("split"))
	}
}

func TestIncrementalStateSurvivesAndRestores(t *testing.T) {
	data := []map[string]any{
		{"id": 1, "updated_at": "2024-01-01T00:00:00Z"},
		{"id": 2, "updated_at": "2024-01-02T00:00:00Z"},
		{"id": 3, "updated_at": "2024-01-03T00:00:00Z"},
	}
	var seenStart []any
	mk := func() *flow.Resource {
		inc, _ := transform.NewIncremental("updated_at", "2024-01-01T00:00:00Z")
		return flow.NewResource("items", func(ctx context.Context, yield flow.Yield) error {
			start, err := inc.StartValue(ctx)
			if err != nil {
				return err
			}
			seenStart = append(seenStart, start)
			items := make([]any, len(data))
			for i, d := range data {
				items[i] = d
			}
			return yield(flow.ItemsBatch(items...))
		}).AddStep(inc.Step())
	}
	e := newEnv(t)
	p := e.pipeline("inc")
	e.run(p, mk())
	data = append(data, map[string]any{"id": 4, "updated_at": "2024-01-04T00:00:00Z"})
	e.run(p, mk())
	if n := e.count("items"); n != 4 {
		t.Fatalf("items = %d rows, want 4 (boundary row not loaded twice)", n)
	}
	// Lose the working folder: state comes back from the destination.
	p2, err := flow.NewPipeline("inc", duckdb.New(e.dbPath), flow.PipelinesDir(t.TempDir()), flow.DatasetName("ds"))
	if err != nil {
		t.Fatal(err)
	}
	e.run(p2, mk())
	if n := e.count("items"); n != 4 {
		t.Fatalf("items = %d rows after restore, want 4", n)
	}
	if fmt.Sprint(seenStart) != "[2024-01-01T00:00:00Z 2024-01-03T00:00:00Z 2024-01-04T00:00:00Z]" {
		t.Fatalf("start values %v", seenStart)
	}
}

func TestRefresh(t *testing.T) {
	e := newEnv(t)
	p := e.pipeline("refresh")
	e.run(p, source.Slice("users", users(3)))
	if _, err := p.RunWith(context.Background(), flow.RunOptions{Refresh: flow.DropData}, source.Slice("users", users(1))); err != nil {
		t.Fatal(err)
	}
	if n := e.count("users"); n != 1 {
		t.Fatalf("drop_data: users = %d, want 1", n)
	}
	if _, err := p.RunWith(context.Background(), flow.RunOptions{Refresh: flow.DropSources}, source.Slice("people", users(2))); err != nil {
		t.Fatal(err)
	}
	if e.tableExists("users") {
		t.Errorf("drop_sources kept the users table")
	}
	if n := e.count("people"); n != 2 {
		t.Errorf("people = %d", n)
	}
}
