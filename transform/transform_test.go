package transform_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/internal/jsonconv"
	"github.com/sluicehq/sluice/transform"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"id", "id", false},
		{"$.data.updated_at", "data.updated_at", false},
		{"a[0].b", "a.0.b", false},
		{"['a-b'].c", "a-b.c", false},
		{"", "", true},
		{"$.items[*]", "", true},
		{"a[0", "", true},
		// One JSONPath (internal/jsonpath) with the REST source's
		// selectors: a quoted name may hold ']' or '.', recursive descent
		// and stray text are errors rather than dropped.
		{"['a]b'].c", "a]b.c", false},
		{`$["x.y"][2]`, "x.y.2", false},
		{"a..b", "", true},
		{"a[x]", "", true},
		{"$a", "", true},
		{"a.", "", true},
		{"['']", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := transform.ParsePath(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && p.String() != tc.want {
				t.Fatalf("got %q, want %q", p.String(), tc.want)
			}
		})
	}
}

func TestPathGet(t *testing.T) {
	js := fastjson.MustParse(`{"a":{"b":[{"c":5},{"c":"x"}]},"n":1.5}`)
	goItem := jsonconv.ToGo(js, jsonconv.Native)
	for _, item := range []any{js, goItem} {
		for path, want := range map[string]string{"a.b[0].c": "5", "a.b.1.c": "x", "n": "1.5"} {
			v, ok := transform.MustPath(path).Get(item)
			if !ok || fmt.Sprint(v) != want {
				t.Errorf("%T %s = %v (%v), want %s", item, path, v, ok, want)
			}
		}
		if _, ok := transform.MustPath("a.zz").Get(item); ok {
			t.Errorf("%T: missing path found", item)
		}
	}
}

func items(vals ...map[string]any) flow.Batch {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return flow.ItemsBatch(out...)
}

func TestExpressionSteps(t *testing.T) {
	filter, err := transform.Filter(`id < 3 && status == "open"`)
	if err != nil {
		t.Fatal(err)
	}
	mapF, err := transform.MapFields(map[string]string{"title": `upper(title)`, "big": `id * 100`})
	if err != nil {
		t.Fatal(err)
	}
	mapR, err := transform.MapRecord(`{"only": $env.id}`)
	if err != nil {
		t.Fatal(err)
	}
	in := func() flow.Batch {
		return items(map[string]any{"id": 1, "status": "open", "title": "a"},
			map[string]any{"id": 2, "status": "closed", "title": "b"},
			map[string]any{"id": 5, "status": "open", "title": "c"})
	}
	ctx := context.Background()
	b, err := filter(ctx, in())
	if err != nil || b.Len() != 1 {
		t.Fatalf("filter: %v rows, %v", b.Len(), err)
	}
	b, err = mapF(ctx, in())
	if err != nil {
		t.Fatal(err)
	}
	first := b.Items[0].(map[string]any)
	if first["title"] != "A" || fmt.Sprint(first["big"]) != "100" || first["status"] != "open" {
		t.Fatalf("map fields: %v", first)
	}
	b, err = mapR(ctx, in())
	if err != nil || fmt.Sprint(b.Items[2]) != "map[only:5]" {
		t.Fatalf("map record: %v %v", b.Items, err)
	}
	if _, err := transform.Filter(`id <`); err == nil {
		t.Fatal("bad expression compiled")
	}
	// JSON batches stay JSON through a filter.
	js := fastjson.MustParse(`[{"id":1,"status":"open"},{"id":9,"status":"open"}]`)
	arr, _ := js.Array()
	b, err = filter(ctx, flow.JSONBatch(arr, nil))
	if err != nil || len(b.JSON) != 1 {
		t.Fatalf("json filter: %v %v", b.JSON, err)
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b any
		want int
	}{
		{1, 2, -1}, {int64(5), 5.0, 0}, {"2024-01-02T00:00:00Z", "2024-01-01T23:00:00-02:00", -1},
		{"b", "a", 1}, {"2024-01-02", "2024-01-02", 0},
	}
	for _, tc := range tests {
		if got := transform.Compare(tc.a, tc.b); got != tc.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestComparable(t *testing.T) {
	ts := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		a, b any
		want bool
	}{
		{int64(1), 2.5, true}, {int64(10), "5", false}, {"5", 10, false},
		{"2024-01-02T00:00:00Z", "2024-01-01", true}, {"b", "a", true},
		{ts, "2024-01-01", true}, {ts, "soon", false}, {ts, 5, false},
		{true, false, true}, {true, 1, false}, {nil, 1, false}, {map[string]any{}, map[string]any{}, false},
	}
	for _, tc := range tests {
		if got := transform.Comparable(tc.a, tc.b); got != tc.want {
			t.Errorf("Comparable(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestApplyLag(t *testing.T) {
	tests := []struct {
		v    any
		lag  float64
		fn   transform.LastValueFunc
		want string // %v of the result, or "error"
	}{
		{int64(10), 3, transform.Max, "7"},
		{int64(10), 3, transform.Min, "13"},
		{int64(10), 0.5, transform.Max, "9.5"},
		{2.5, 1, transform.Max, "1.5"},
		{"2024-01-05T00:00:00Z", 90, transform.Max, "2024-01-04T23:58:30Z"},
		{"2024-01-05T00:00:00+02:00", 3600, transform.Min, "2024-01-05T01:00:00+02:00"},
		{"2024-01-05T10:00:00.5", 1, transform.Max, "2024-01-05T09:59:59.5"},
		{"2024-01-05 10:00:00", 60, transform.Max, "2024-01-05 09:59:00"},
		{"2024-01-05", 2, transform.Max, "2024-01-03"},
		{time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), 60, transform.Max, "2024-01-04 23:59:00 +0000 UTC"},
		{"abc", 1, transform.Max, "error"},
		{true, 1, transform.Max, "error"},
	}
	for _, tc := range tests {
		got, err := transform.ApplyLag(tc.v, tc.lag, tc.fn)
		res := fmt.Sprint(got)
		if err != nil {
			res = "error"
		}
		if res != tc.want {
			t.Errorf("ApplyLag(%v, %v, %s) = %s (%v), want %s", tc.v, tc.lag, tc.fn, res, err, tc.want)
		}
	}
}

func TestIncrementalFilter(t *testing.T) {
	rows := []map[string]any{
		{"id": 1, "ts": 10}, {"id": 2, "ts": 20}, {"id": 3, "ts": 20}, {"id": 4, "ts": 5}, {"id": 5, "ts": 40},
	}
	tests := []struct {
		name string
		inc  *transform.Incremental
		want string
	}{
		{"initial value drops older", &transform.Incremental{CursorPath: "ts", InitialValue: 10}, "[1 2 3 5]"},
		{"end value is exclusive", &transform.Incremental{CursorPath: "ts", InitialValue: 10, EndValue: 40}, "[1 2 3]"},
		{"min keeps older", &transform.Incremental{CursorPath: "ts", InitialValue: 20, LastValue: transform.Min}, "[1 2 3 4]"},
		{"start open", &transform.Incremental{CursorPath: "ts", InitialValue: 10, RangeStart: "open"}, "[2 3 5]"},
		{"end closed", &transform.Incremental{CursorPath: "ts", InitialValue: 10, EndValue: 40, RangeEnd: "closed"}, "[1 2 3 5]"},
		{"float start", &transform.Incremental{CursorPath: "ts", InitialValue: 19.5}, "[2 3 5]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inc := tc.inc
			r := flow.NewResource("r", func(ctx context.Context, yield flow.Yield) error {
				return yield(items(rows...))
			}).AddStep(inc.Step())
			got, err := flow.Collect(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			var ids []any
			for _, g := range got {
				ids = append(ids, g.(map[string]any)["id"])
			}
			if fmt.Sprint(ids) != tc.want {
				t.Fatalf("ids %v, want %s", ids, tc.want)
			}
		})
	}
	t.Run("cursor kinds", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			inc  *transform.Incremental
			want string
		}{
			{"string start", &transform.Incremental{CursorPath: "ts", InitialValue: "s3cr3t"},
				`incremental cursor "ts": value 10 (a number) cannot be compared with the start value (a string)`},
			{"string end", &transform.Incremental{CursorPath: "ts", InitialValue: 1, EndValue: "s3cr3t"},
				`incremental cursor "ts": value 10 (a number) cannot be compared with the end value (a string)`},
			{"mixed rows", &transform.Incremental{CursorPath: "id"},
				`incremental cursor "id": value "x" (a string) cannot be compared with the last value (a number)`},
		} {
			r := flow.NewResource("r", func(ctx context.Context, yield flow.Yield) error {
				return yield(items(append(rows, map[string]any{"id": "x", "ts": 50})...))
			}).AddStep(tc.inc.Step())
			_, err := flow.Collect(context.Background(), r)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, transform.ErrCursorType) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("%s: err = %v, want %s", tc.name, err, tc.want)
			}
		}
	})
	t.Run("missing cursor", func(t *testing.T) {
		for mode, want := range map[string]string{"": "error", "include": "2", "exclude": "1"} {
			inc := &transform.Incremental{CursorPath: "ts", OnMissing: mode}
			r := flow.NewResource("r", func(ctx context.Context, yield flow.Yield) error {
				return yield(items(map[string]any{"ts": 1}, map[string]any{"id": 2}))
			}).AddStep(inc.Step())
			got, err := flow.Collect(context.Background(), r)
			res := fmt.Sprint(len(got))
			if err != nil {
				res = "error"
			}
			if res != want {
				t.Errorf("on_cursor_value_missing=%q: %s, want %s", mode, res, want)
			}
		}
	})
}
