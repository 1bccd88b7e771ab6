package flow_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
	"github.com/sluicehq/sluice/source"
)

// TestLoadInfoRowsAndWarnings checks the load info's rows per table (as
// dlt's trace lists them) and its warning for a resource that loaded
// nothing: a zero-row load must not look like any other success.
func TestLoadInfoRowsAndWarnings(t *testing.T) {
	empty := flow.NewResource("empty", func(ctx context.Context, yield flow.Yield) error { return nil })
	filtered := source.Slice("filtered", users(3)).Filter(func(any) (bool, error) { return false, nil })
	for _, tc := range []struct {
		name     string
		res      []*flow.Resource
		lines    []string // lines the output has after dlt's four
		rows     map[string]int64
		warnings int
	}{
		{"rows per table", []*flow.Resource{source.Slice("users", users(3))},
			[]string{"Normalized data for the following tables:", "- users: 3 row(s)", "- users__pets: 6 row(s)"},
			map[string]int64{"users": 3}, 0},
		{"resource without rows", []*flow.Resource{source.Slice("users", users(1)), empty},
			[]string{"Normalized data for the following tables:", "- users: 1 row(s)", "- users__pets: 2 row(s)",
				`Warning: resource "empty" yielded no rows`},
			map[string]int64{"users": 1, "empty": 0}, 1},
		{"all rows filtered", []*flow.Resource{filtered},
			[]string{`Warning: resource "filtered" yielded 3 rows, but its steps (filters, incremental) kept none`},
			map[string]int64{"filtered": 0}, 1},
		{"limit of zero", []*flow.Resource{source.Slice("users", users(2)).Limit(0, 0)}, nil, map[string]int64{"users": 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			info := e.run(e.pipeline("info"), flow.NewSource("s", tc.res))
			lines := strings.Split(info.String(), "\n")
			if len(lines) < 4 || !strings.HasPrefix(lines[3], "Load package ") {
				t.Fatalf("load info:\n%s", info)
			}
			if got, want := strings.Join(lines[4:], "\n"), strings.Join(tc.lines, "\n"); got != want {
				t.Errorf("load info ends\n%s\nwant\n%s", got, want)
			}
			for r, want := range tc.rows {
				if got, ok := info.ResourceRows[r]; !ok || got != want {
					t.Errorf("ResourceRows[%s] = %d (%v), want %d", r, got, ok, want)
				}
			}
			if len(info.Warnings) != tc.warnings {
				t.Errorf("warnings %q, want %d", info.Warnings, tc.warnings)
			}
		})
	}
}

// TestLoadInfoWarnsOfUnmatchedSelector runs a REST resource whose
// data_selector matches nothing: the load succeeds with a warning naming
// the resource, not as a silent success.
func TestLoadInfoWarnsOfUnmatchedSelector(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"items":[{"id":1},{"id":2}]}}`))
	}))
	defer srv.Close()
	var spec any
	if err := json.Unmarshal([]byte(`{"client":{"base_url":"`+srv.URL+`/"},"resources":[
		{"name":"good","endpoint":{"path":"x","data_selector":"data.items","paginator":"single_page"}},
		{"name":"typo","endpoint":{"path":"x","data_selector":"data.itemz","paginator":"single_page"}}]}`), &spec); err != nil {
		t.Fatal(err)
	}
	cfg, err := rest.DecodeConfig(spec, "source")
	if err != nil {
		t.Fatal(err)
	}
	src, err := rest.NewSource(cfg, rest.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	info := e.run(e.pipeline("selector"), src)
	if !strings.Contains(info.String(), "- good: 2 row(s)") || !strings.Contains(info.String(), `Warning: resource "typo" yielded no rows`) {
		t.Errorf("load info:\n%s", info)
	}
}
