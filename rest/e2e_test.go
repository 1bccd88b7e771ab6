package rest

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

// e2e runs sources through a real pipeline into a DuckDB file.
type e2e struct {
	t    *testing.T
	db   string
	pipe *flow.Pipeline
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	db := filepath.Join(t.TempDir(), "x.duckdb")
	p, err := flow.NewPipeline("rest_e2e", duckdb.New(db), flow.PipelinesDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{t: t, db: db, pipe: p}
}

func (e *e2e) run(cfg *Config, opts ...SourceOption) {
	e.t.Helper()
	opts = append([]SourceOption{WithRetry(fastRetry), Logger(quietLog())}, opts...)
	src, err := NewSource(cfg, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := e.pipe.Run(ctx, src); err != nil {
		e.t.Fatalf("run: %v", err)
	}
}

// query returns the rows of a query, each row's columns joined by "|".
func (e *e2e) query(q string) []string {
	e.t.Helper()
	db, err := sql.Open("duckdb", e.db+"?access_mode=read_only")
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
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if tm, ok := v.(time.Time); ok {
				parts[i] = tm.UTC().Format(time.RFC3339)
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

func TestE2EParentChildIntoDuckDB(t *testing.T) {
	b := &blogServer{n: 3}
	srv := serve(t, b.routes())
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[
		{"name":"posts","selected":false},
		{"name":"comments","parallelized":true,"endpoint":"posts/{resources.posts.id}/comments","include_from_parent":["id"],"primary_key":["_posts_id","id"],"write_disposition":"merge"}]}`, srv.URL))
	e := newE2E(t)
	e.run(cfg)
	e.run(cfg) // merge: no duplicates
	got := e.query(`SELECT _posts_id, id, post FROM rest_e2e_dataset.comments ORDER BY 1, 2`)
	want := []string{"1|1|1", "1|2|1", "2|1|2", "2|2|2", "3|1|3", "3|2|3"}
	if !slices.Equal(got, want) {
		t.Fatalf("comments = %v, want %v", got, want)
	}
	tables := e.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'rest_e2e_dataset' AND table_name = 'posts'`)
	if len(tables) != 0 {
		t.Fatalf("posts is selected: false but was loaded")
	}
}

func TestE2EPaginationAndNesting(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{"/users": func(w http.ResponseWriter, r *http.Request) {
		p := atoi(r.URL.Query().Get("page"), 1)
		var rows []map[string]any
		for i := (p-1)*2 + 1; i <= min(p*2, 5); i++ {
			rows = append(rows, map[string]any{"id": i, "name": fmt.Sprintf("u%d", i), "address": map[string]any{"city": "c"}, "tags": []string{"a", "b"}})
		}
		writeJSON(w, map[string]any{"data": rows, "page": p, "total_pages": 3})
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["users",{"name":"flat","endpoint":"users","max_table_nesting":0}]}`, srv.URL))
	e := newE2E(t)
	e.run(cfg, MaxTableNesting(1))
	if got := e.query(`SELECT count(*), min(id), max(id), min(address__city) FROM rest_e2e_dataset.users`); got[0] != "5|1|5|c" {
		t.Fatalf("users = %v", got)
	}
	if got := e.query(`SELECT count(*) FROM rest_e2e_dataset.users__tags`); got[0] != "10" {
		t.Fatalf("users__tags = %v", got)
	}
	// max_table_nesting 0: lists and objects stay JSON on the root table.
	if got := e.query(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'rest_e2e_dataset' AND table_name = 'flat__tags'`); got[0] != "0" {
		t.Fatalf("flat__tags exists: %v", got)
	}
}

// incServer serves events with updated_at and a numeric seq; the client's
// since filter is applied inclusively, as APIs do. New events can be added
// between runs.
type incServer struct {
	mu     sync.Mutex
	events []map[string]any
	reqs   []string
}

func (s *incServer) add(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, map[string]any{"id": id, "updated_at": fmt.Sprintf("2024-01-%02dT00:00:00Z", id), "seq": 1704067200 + (id-1)*86400})
}

func (s *incServer) handler(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	since := r.URL.Query().Get("since")
	if since == "" {
		since = r.Header.Get("X-Since")
	}
	if since == "" && r.Method == http.MethodPost {
		body, _ := readBody(r)
		since = body
	}
	if strings.HasPrefix(r.URL.Path, "/since/") {
		since = strings.TrimPrefix(r.URL.Path, "/since/")
	}
	s.reqs = append(s.reqs, since)
	var out []map[string]any
	for _, ev := range s.events {
		if ev["updated_at"].(string) >= since || strings.Contains(since, "from") || strings.HasPrefix(since, "day:") {
			out = append(out, ev)
		}
	}
	writeJSON(w, map[string]any{"data": out})
}

func TestE2EIncrementalTwoRuns(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		reqs     []string // what the API saw as "since" in run 1 and run 2
	}{
		{"placeholder param", `{"path":"events","params":{"since":"{incremental.start_value}"},
			"incremental":{"cursor_path":"updated_at","initial_value":"2024-01-02T00:00:00Z"}}`,
			[]string{"2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"}},
		// A path ending in a placeholder is a single entity to dlt: the
		// whole response is the record unless data_selector says otherwise.
		{"placeholder path", `{"path":"since/{incremental.start_value}","data_selector":"data","incremental":{"cursor_path":"updated_at","initial_value":"2024-01-02T00:00:00Z"}}`,
			[]string{"2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"}},
		{"placeholder header", `{"path":"events","headers":{"X-Since":"{incremental.start_value}"},"incremental":{"cursor_path":"updated_at","initial_value":"2024-01-02T00:00:00Z"}}`,
			[]string{"2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"}},
		{"placeholder json", `{"path":"events","method":"POST","json":{"from":"{incremental.start_value}"},"incremental":{"cursor_path":"seq","initial_value":1704153600}}`,
			[]string{`{"from":1704153600}`, `{"from":1704240000}`}},
		{"legacy param", `{"path":"events","params":{"since":{"type":"incremental","cursor_path":"updated_at","initial_value":"2024-01-02T00:00:00Z"}}}`,
			[]string{"2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"}},
		{"legacy start_param", `{"path":"events","incremental":{"start_param":"since","cursor_path":"updated_at","initial_value":"2024-01-02T00:00:00Z"}}`,
			[]string{"2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"}},
		{"convert", `{"path":"events","params":{"since":"{incremental.start_value}"},
			"incremental":{"cursor_path":"seq","initial_value":1704153600,"convert":"'day:' + string(int(value))"}}`,
			[]string{"day:1704153600", "day:1704240000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &incServer{}
			for i := 1; i <= 3; i++ {
				s.add(i)
			}
			srv := serve(t, map[string]http.HandlerFunc{"/": s.handler})
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"events","endpoint":%s}]}`, srv.URL, tc.endpoint))
			e := newE2E(t)
			e.run(cfg)
			s.add(4)
			s.add(5)
			e.run(cfg)
			got := e.query(`SELECT id FROM rest_e2e_dataset.events ORDER BY id`)
			// Run 1 loads 2..3; run 2 gets 3 again (inclusive boundary) and
			// drops it, then loads 4 and 5.
			if want := []string{"2", "3", "4", "5"}; !slices.Equal(got, want) {
				t.Fatalf("ids = %v, want %v", got, want)
			}
			if !slices.Equal(s.reqs, tc.reqs) {
				t.Fatalf("since values = %q, want %q", s.reqs, tc.reqs)
			}
		})
	}
}

// Body buffers are reused once a page's rows are released: every value
// loaded must come from its own page, never from a later body read into a
// reused buffer (poisoned here when put back).
func TestE2EReusedBodies(t *testing.T) {
	poisonBodies = true
	defer func() { poisonBodies = false }()
	const pages, per = 60, 200
	pad := strings.Repeat("x", 100) // pages above the smallest kept buffer
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		p := atoi(r.URL.Query().Get("page"), 0)
		rows := make([]map[string]any, per)
		for i := range rows {
			id := p*per + i
			rows[i] = map[string]any{"id": id, "name": fmt.Sprintf("item %d %s", id, pad), "tags": []string{fmt.Sprint("t", id)}}
		}
		body := map[string]any{"data": rows}
		if p+1 < pages {
			body["next"] = fmt.Sprintf("%s/items?page=%d", "http://"+r.Host, p+1)
		}
		writeJSON(w, body)
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":{"type":"json_link","next_url_path":"next"}},"resources":["items"]}`, srv.URL))
	e := newE2E(t)
	e.run(cfg)
	want := fmt.Sprintf("%d|%d|0", pages*per, pages*per)
	if got := e.query(`SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE name <> 'item ' || id || ' ` + pad + `') FROM rest_e2e_dataset.items`); got[0] != want {
		t.Errorf("items: count, distinct ids, wrong names = %v, want %s", got, want)
	}
	if got := e.query(`SELECT count(*) FILTER (WHERE t.value <> 't' || i.id) FROM rest_e2e_dataset.items__tags t JOIN rest_e2e_dataset.items i ON t._dlt_parent_id = i._dlt_id`); got[0] != "0" {
		t.Errorf("tags not matching their item: %v", got)
	}
}
