package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchAPI serves 3 pages of 10 parents (/parents?page=N, json_link) and
// 2 rows per parent at /parents/{id}/children, each response after delay.
// Children whose id is in fail answer 500 on every odd attempt (a retry
// then succeeds); those in broken always answer 500.
type benchAPI struct {
	*httptest.Server
	delay  time.Duration
	fail   map[int]bool
	broken map[int]bool

	mu       sync.Mutex
	attempts map[string]int
}

const (
	benchParents     = 30
	benchParentPages = 3
	benchChildRows   = 2
	benchRequests    = benchParentPages + benchParents
	benchRows        = benchParents + benchParents*benchChildRows
	benchDelay       = 20 * time.Millisecond
	benchParentsPage = benchParents / benchParentPages
)

func newBenchAPI(t *testing.T, fail, broken []int) *benchAPI {
	api := &benchAPI{delay: benchDelay, fail: map[int]bool{}, broken: map[int]bool{}, attempts: map[string]int{}}
	for _, id := range fail {
		api.fail[id] = true
	}
	for _, id := range broken {
		api.broken[id] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /parents", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var data []map[string]any
		for i := page * benchParentsPage; i < (page+1)*benchParentsPage; i++ {
			data = append(data, map[string]any{"id": i, "name": fmt.Sprint("parent ", i)})
		}
		body := map[string]any{"data": data, "next": nil}
		if page+1 < benchParentPages {
			body["next"] = fmt.Sprintf("http://%s/parents?page=%d", r.Host, page+1)
		}
		json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("GET /parents/{id}/children", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		api.mu.Lock()
		api.attempts[r.URL.Path]++
		n := api.attempts[r.URL.Path]
		api.mu.Unlock()
		if api.broken[id] || (api.fail[id] && n%2 == 1) {
			http.Error(w, `{"error":"boom"}`, http.StatusInternalServerError)
			return
		}
		var data []map[string]any
		for k := range benchChildRows {
			data = append(data, map[string]any{"id": id*10 + k, "parent": id})
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data})
	})
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(api.delay)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	return api
}

// writeBenchSpec writes a spec for api (retries fast, at most 2 attempts)
// and returns its path.
func writeBenchSpec(t *testing.T, api *benchAPI) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bench.yaml")
	spec := fmt.Sprintf(`pipeline_name: bench_api
destination: {type: duckdb, path: ./must_not_exist.duckdb}
source:
  client:
    base_url: %s
    paginator: {type: json_link, next_url_path: next}
    max_attempts: 2
    backoff_factor: 0.001
  resource_defaults:
    endpoint: {data_selector: data}
  resources:
    - name: parents
    - name: children
      endpoint:
        path: "parents/{resources.parents.id}/children"
        paginator: single_page
`, api.URL)
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type benchTableRow struct {
	concurrency, requests, rows, errors int
	reqRate, p50, p99                   float64
	stopped                             bool
}

// parseBenchTable checks the header and parses the rows of the table.
func parseBenchTable(t *testing.T, out string) []benchTableRow {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "concurrency requests requests/s rows rows/s p50 ms p99 ms errors" {
		t.Fatalf("no table header in output:\n%s", out)
	}
	var rows []benchTableRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 8 && !(len(f) == 9 && f[8] == "stopped") {
			t.Fatalf("bad table row %q in output:\n%s", l, out)
		}
		var n [8]float64
		for i := range 8 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				t.Fatalf("column %d of row %q is not a number", i, l)
			}
			n[i] = v
		}
		rows = append(rows, benchTableRow{concurrency: int(n[0]), requests: int(n[1]), reqRate: n[2], rows: int(n[3]),
			p50: n[5], p99: n[6], errors: int(n[7]), stopped: len(f) == 9})
	}
	return rows
}

func benchCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"bench"}, args...), strings.NewReader(""), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func TestBench(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("SLUICE_PIPELINES_DIR", t.TempDir())
	type want struct {
		concurrency, requests, rows, errors int
		stopped                             bool
	}
	tests := []struct {
		name         string
		fail, broken []int
		args         []string
		want         []want
	}{
		{
			name: "parents and children",
			args: []string{"--concurrency", "1,4,16"},
			want: []want{{1, benchRequests, benchRows, 0, false}, {4, benchRequests, benchRows, 0, false}, {16, benchRequests, benchRows, 0, false}},
		},
		{
			name: "retried 500s are counted",
			fail: []int{3, 17},
			args: []string{"--concurrency", "2,8"},
			want: []want{{2, benchRequests + 2, benchRows, 2, false}, {8, benchRequests + 2, benchRows, 2, false}},
		},
		{
			// A child that always fails stops each level; the next still runs.
			name:   "failing level prints its row",
			broken: []int{0},
			args:   []string{"--concurrency", "1,1", "--limit", "1"},
			want:   []want{{1, 3, -1, 2, true}, {1, 3, -1, 2, true}},
		},
		{
			name: "limit pages",
			args: []string{"--concurrency", "8", "--limit", "1"},
			want: []want{{8, 1 + benchParentsPage, benchParentsPage * (1 + benchChildRows), 0, false}},
		},
		{
			name: "selected resources",
			args: []string{"--concurrency", "8", "--resources", "children"},
			want: []want{{8, benchRequests, benchParents * benchChildRows, 0, false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newBenchAPI(t, tc.fail, tc.broken)
			res := benchCLI(t, append([]string{writeBenchSpec(t, api)}, tc.args...)...)
			if res.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
			}
			rows := parseBenchTable(t, res.stdout)
			if len(rows) != len(tc.want) {
				t.Fatalf("%d rows, want %d:\n%s", len(rows), len(tc.want), res.stdout)
			}
			for i, w := range tc.want {
				r := rows[i]
				if r.concurrency != w.concurrency || r.requests != w.requests || r.errors != w.errors || r.stopped != w.stopped ||
					(w.rows >= 0 && r.rows != w.rows) {
					t.Errorf("row %d: %+v, want %+v\n%s", i, r, w, res.stdout)
				}
				if r.requests > 0 && (r.reqRate <= 0 || r.p50 <= 0 || r.p99 < r.p50) {
					t.Errorf("row %d: rates or latencies missing: %+v", i, r)
				}
			}
			if stops := strings.Count(res.stderr, "stopped"); stops != len(tc.broken)*len(tc.want) {
				t.Errorf("stderr has %d stop lines:\n%s", stops, res.stderr)
			} else if len(tc.broken) > 0 && !strings.Contains(res.stderr, "500") {
				t.Errorf("stderr does not name the status:\n%s", res.stderr)
			}
			if _, err := os.Stat("must_not_exist.duckdb"); err == nil {
				t.Errorf("bench created the destination")
			}
			if entries, _ := os.ReadDir(os.Getenv("SLUICE_PIPELINES_DIR")); len(entries) > 0 {
				t.Errorf("bench wrote pipeline state: %v", entries)
			}
			t.Logf("\n%s%s", res.stdout, res.stderr)
		})
	}
}

func TestBenchBadInput(t *testing.T) {
	t.Chdir(t.TempDir())
	api := newBenchAPI(t, nil, nil)
	spec := writeBenchSpec(t, api)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("pipeline_name: x\nsource: {resources: [{name: a, params: {}}]}\n"), 0o600)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"zero level", []string{spec, "--concurrency", "1,0"}, exitUsage, "--concurrency"},
		{"not a number", []string{spec, "--concurrency", "fast"}, exitUsage, "--concurrency"},
		{"negative limit", []string{spec, "--limit", "-1"}, exitUsage, "--limit"},
		{"unknown resource", []string{spec, "--resources", "nope"}, exitUsage, `no resource "nope"`},
		{"no spec", []string{}, exitUsage, "one spec file"},
		{"missing spec", []string{"nope.yaml"}, exitFailure, "does not exist"},
		{"bad spec", []string{bad}, exitFailure, "source.resources[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := benchCLI(t, tc.args...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", res.code, res.stderr, tc.code, tc.msg)
			}
		})
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.attempts) > 0 {
		t.Errorf("bad input still sent requests")
	}
}
