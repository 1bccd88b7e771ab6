package flow_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transform"
)

// TestComputeTableSchema checks dlt's compute_table_schema: the table a
// resource's hints describe, and that a table picked per item needs one.
func TestComputeTableSchema(t *testing.T) {
	user := source.Slice("get_users", []map[string]any{{"id": 1}}, flow.TableName("user"),
		flow.WriteDisposition(arrowbuf.Merge), flow.PrimaryKey("id"),
		flow.Columns(arrowbuf.Column{Name: "tags", DataType: arrowbuf.TypeJSON}))
	events := source.Slice("repo_events", []map[string]any{{"type": "WatchEvent"}},
		flow.TableFunc(transform.TableFromField("type", "other")))
	for _, tc := range []struct {
		name  string
		res   *flow.Resource
		item  any
		table string
		cols  string
		err   string
	}{
		{"hints", user, nil, "user", "tags:json:nullable", ""},
		{"table per item", events, map[string]any{"type": "WatchEvent", "id": 1}, "watch_event", "", ""},
		{"table per item without one", events, nil, "", "", "needs an item"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := tc.res.ComputeTableSchema(tc.item)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cols []string
			for _, c := range tb.Columns {
				if c.DataType != "" {
					n := "nullable"
					if !c.Nullable {
						n = "not null"
					}
					cols = append(cols, c.Name+":"+string(c.DataType)+":"+n)
				}
			}
			if tb.Name != tc.table || strings.Join(cols, ",") != tc.cols {
				t.Errorf("table %s columns %v, want %s %s", tb.Name, cols, tc.table, tc.cols)
			}
			if tc.res == user && (tb.WriteDisposition != arrowbuf.Merge || tb.Column("id") == nil || !tb.Column("id").PrimaryKey) {
				t.Errorf("table hints lost: %+v", tb)
			}
		})
	}
}

// TestSourceApply checks dlt's apply_hints on a source's resource (and
// setting its table_name or selected): the source loads the changed
// resource, and a transformer it feeds takes the changed copy's data.
func TestSourceApply(t *testing.T) {
	rows := []map[string]any{{"user_id": 1, "updated_at": 1, "v": "a"}, {"user_id": 2, "updated_at": 2, "v": "b"}}
	users := flow.NewResource("users", func(ctx context.Context, yield flow.Yield) error {
		items := make([]any, len(rows))
		for i, r := range rows {
			items[i] = r
		}
		return yield(flow.ItemsBatch(items...))
	})
	count := flow.NewTransformer("user_count", func(ctx context.Context, in flow.Batch, yield flow.Yield) error {
		return yield(flow.ItemsBatch(map[string]any{"n": in.Len()}))
	})
	base := flow.NewSource("tables", []*flow.Resource{users, users.Pipe(count)})
	if _, err := base.Apply("nope"); err == nil || !strings.Contains(err.Error(), `no resource "nope"`) {
		t.Fatalf("unknown resource: err = %v", err)
	}

	t.Run("merge and incremental", func(t *testing.T) {
		inc, err := transform.NewIncremental("updated_at", int64(0))
		if err != nil {
			t.Fatal(err)
		}
		src, err := base.Apply("users", flow.WriteDisposition(arrowbuf.Merge), flow.PrimaryKey("user_id"), flow.Steps(inc.Step()))
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t)
		p := e.pipeline("apply")
		e.run(p, src)
		rows = append(rows[:1:1], map[string]any{"user_id": 2, "updated_at": 3, "v": "c"})
		info := e.run(p, src)
		if got := e.query("SELECT user_id, v FROM ds.users ORDER BY user_id"); len(got) != 2 || got[1][1] != "c" {
			t.Errorf("users = %v, want one row per user, the second updated", got)
		}
		if info.RowCounts["users"] != 1 {
			t.Errorf("second run loaded %v, want only the newer row", info.RowCounts)
		}
		if base.Resource("users").Hints().WriteDisposition != "" {
			t.Errorf("Apply changed the original source")
		}
	})
	t.Run("table name and selection", func(t *testing.T) {
		first := flow.FilterItems(func(item any) (bool, error) { return item.(map[string]any)["user_id"] == 1, nil })
		src, err := base.Apply("users", flow.TableName("other_users"), flow.Selected(false), flow.Steps(first))
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t)
		info := e.run(e.pipeline("apply2"), src)
		if _, ok := info.RowCounts["other_users"]; ok || e.tableExists("users") {
			t.Errorf("an unselected resource was loaded: %v", info.RowCounts)
		}
		if got := e.query("SELECT n FROM ds.user_count"); len(got) != 1 || got[0][0] != "1" {
			t.Errorf("transformer counted %v, want the changed parent's 1 row", got)
		}
		src, err = base.Apply("users", flow.TableName("other_users"))
		if err != nil {
			t.Fatal(err)
		}
		if info = e.run(e.pipeline("apply3"), src); info.RowCounts["other_users"] != int64(len(rows)) {
			t.Errorf("table_name: %v", info.RowCounts)
		}
	})
}

// TestWithNameOwnState checks that a renamed clone keeps its own resource
// state, as dlt's with_name promises.
func TestWithNameOwnState(t *testing.T) {
	counter := flow.NewResource("counter", func(ctx context.Context, yield flow.Yield) error {
		var n float64
		flow.CurrentResourceState(ctx).Lock(func(m map[string]any) {
			n, _ = m["runs"].(float64)
			n++
			m["runs"] = n
		})
		return yield(flow.ItemsBatch(map[string]any{"runs": n}))
	})
	e := newEnv(t)
	p := e.pipeline("states")
	e.run(p, flow.NewSource("s", []*flow.Resource{counter, counter.WithName("copy")}))
	e.run(p, flow.NewSource("s", []*flow.Resource{counter}))
	raw, err := os.ReadFile(filepath.Join(p.WorkingDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Sources map[string]struct {
			Resources map[string]map[string]any `json:"resources"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	res := st.Sources["s"].Resources
	if res["counter"]["runs"] != 2.0 || res["copy"]["runs"] != 1.0 {
		t.Errorf("resource states %v, want counter 2 runs and copy 1", res)
	}
	if got := e.query("SELECT runs FROM ds.copy"); !slices.Equal(got[0], []string{"1"}) {
		t.Errorf("copy rows %v", got)
	}
}
