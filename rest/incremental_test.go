package rest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// eventsServer serves events 1..n with updated_at "2024-01-<id>T00:00:00Z"
// and epoch seconds, recording each request's since/until values.
type eventsServer struct {
	mu   sync.Mutex
	reqs []string
	n    int
}

func (s *eventsServer) handler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	body, _ := readBody(r)
	s.mu.Lock()
	s.reqs = append(s.reqs, fmt.Sprintf("path=%s since=%s until=%s hdr=%s body=%s", r.URL.Path, q.Get("since"), q.Get("until"), r.Header.Get("X-Since"), body))
	s.mu.Unlock()
	var rows []map[string]any
	for i := 1; i <= s.n; i++ {
		rows = append(rows, map[string]any{"id": i, "updated_at": fmt.Sprintf("2024-01-%02dT00:00:00Z", i), "epoch": 1704067200 + (i-1)*86400})
	}
	writeJSON(w, map[string]any{"data": rows})
}

func TestIncrementalFirstRun(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		want     []int64
		req      string
	}{
		{"placeholder in params", `{"path":"events","params":{"since":"{incremental.start_value}"},
			"incremental":{"cursor_path":"updated_at","initial_value":"2024-01-03T00:00:00Z"}}`,
			seq(3, 5), "path=/events since=2024-01-03T00:00:00Z until= hdr= body="},
		{"placeholder in path", `{"path":"events/{incremental.start_value}","incremental":{"cursor_path":"id","initial_value":4}}`,
			seq(4, 5), "path=/events/4 since= until= hdr= body="},
		{"placeholder in header", `{"path":"events","headers":{"X-Since":"{incremental.initial_value}"},
			"incremental":{"cursor_path":"updated_at","initial_value":"2024-01-02T00:00:00Z"}}`,
			seq(2, 5), "path=/events since= until= hdr=2024-01-02T00:00:00Z body="},
		{"placeholder in json keeps type", `{"path":"events","method":"POST","json":{"from":"{incremental.start_value}","to":"{incremental.end_value}","label":"from {incremental.start_value}"},
			"incremental":{"cursor_path":"id","initial_value":2,"end_value":4}}`,
			seq(2, 3), `path=/events since= until= hdr= body={"from":2,"label":"from 2","to":4}`},
		{"legacy incremental param", `{"path":"events","params":{"since":{"type":"incremental","cursor_path":"updated_at","initial_value":"2024-01-04T00:00:00Z"}}}`,
			seq(4, 5), "path=/events since=2024-01-04T00:00:00Z until= hdr= body="},
		{"legacy start_param end_param", `{"path":"events","incremental":{"start_param":"since","end_param":"until","cursor_path":"id","initial_value":2,"end_value":5}}`,
			seq(2, 4), "path=/events since=2 until=5 hdr= body="},
		{"convert", `{"path":"events","params":{"since":"{incremental.start_value}"},
			"incremental":{"cursor_path":"epoch","initial_value":1704240000,"convert":"date('1970-01-01').Add(duration(string(int(value)) + 's')).Format('2006-01-02')"}}`,
			seq(3, 5), "path=/events since=2024-01-03 until= hdr= body="},
		{"legacy param convert", `{"path":"events","params":{"since":{"type":"incremental","cursor_path":"epoch","initial_value":"1704240000","convert":"'epoch:' + value"}}}`,
			seq(3, 5), "path=/events since=epoch:1704240000 until= hdr= body="},
		{"min last_value_func", `{"path":"events","params":{"since":"{incremental.start_value}"},
			"incremental":{"cursor_path":"id","initial_value":3,"last_value_func":"min"}}`,
			seq(1, 3), "path=/events since=3 until= hdr= body="},
		{"range_start open", `{"path":"events","params":{"since":"{incremental.start_value}"},
			"incremental":{"cursor_path":"id","initial_value":3,"range_start":"open"}}`,
			seq(4, 5), "path=/events since=3 until= hdr= body="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es := &eventsServer{n: 5}
			srv := serve(t, map[string]http.HandlerFunc{"/": es.handler})
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"events","endpoint":%s}]}`, srv.URL, tc.endpoint))
			rows := collect(t, cfg, "events")
			if got := ids(rows); !slices.Equal(got, tc.want) {
				t.Fatalf("ids = %v, want %v", got, tc.want)
			}
			if len(es.reqs) != 1 || es.reqs[0] != tc.req {
				t.Fatalf("requests = %q, want %q", es.reqs, tc.req)
			}
		})
	}
}

func TestIncrementalCursorMissing(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{"/events": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []map[string]any{{"id": 1, "ts": 5}, {"id": 2}})
	}})
	for _, tc := range []struct {
		mode string
		want []int64
		err  bool
	}{{"raise", nil, true}, {"include", []int64{1, 2}, false}, {"exclude", []int64{1}, false}} {
		cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"events","endpoint":{"incremental":{"cursor_path":"ts","initial_value":0,"on_cursor_value_missing":%q}}}]}`, srv.URL, tc.mode))
		rows, err := tryCollect(cfg, "events")
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), "ts") {
				t.Fatalf("%s: err = %v", tc.mode, err)
			}
			continue
		}
		if err != nil || !slices.Equal(ids(rows), tc.want) {
			t.Fatalf("%s: ids = %v, err = %v", tc.mode, ids(rows), err)
		}
	}
}

func TestProcessingSteps(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{"/posts": func(w http.ResponseWriter, r *http.Request) {
		var rows []map[string]any
		for i := 1; i <= 20; i++ {
			rows = append(rows, map[string]any{"id": i, "title": fmt.Sprintf("Post %d", i), "email": "a@b.c"})
		}
		writeJSON(w, rows)
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"posts","processing_steps":[
		{"filter":"id < 10"},
		{"map":{"title":"lower(title)","email":"'REDACTED'"}},
		{"filter":"id %% 2 == 1"},
		{"map":"{'id': id, 'title': title, 'double': id * 2}"}]}]}`, srv.URL))
	rows := collect(t, cfg, "posts",
		ProcessingSteps("posts", ProcessingStep{FilterFunc: func(item any) (bool, error) { return item.(map[string]any)["id"] != int64(5), nil }}))
	if got := ids(rows); !slices.Equal(got, []int64{1, 3, 7, 9}) {
		t.Fatalf("ids = %v", got)
	}
	r := rows[0]
	if r["title"] != "post 1" || r["email"] != nil || fmt.Sprint(r["double"]) != "2" {
		t.Fatalf("row = %v", r)
	}
}

func TestDataSelector(t *testing.T) {
	body := `{"data":[{"id":1}],"items":[{"id":2},{"id":3}],"results":{"posts":[{"id":4}],"one":{"id":5}},
		"odd-key":[{"id":6}],"deep":{"a":[{"b":{"id":7}},{"b":{"id":8}}]}}`
	tests := []struct {
		sel  string
		want []int64
	}{
		{"data", []int64{1}},
		{"$.items", []int64{2, 3}},
		{"$.items[*]", []int64{2, 3}},
		{"items[1]", []int64{3}},
		{"items[-1]", []int64{3}},
		{"results.posts", []int64{4}},
		{"$.results.one", []int64{5}},
		{"$['odd-key']", []int64{6}},
		{"deep.a[*].b", []int64{7, 8}},
		{"$..b", []int64{7, 8}},
		{"missing", nil},
	}
	srv := serve(t, map[string]http.HandlerFunc{"/x": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }})
	for _, tc := range tests {
		t.Run(tc.sel, func(t *testing.T) {
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"x","endpoint":{"data_selector":%q}}]}`, srv.URL, tc.sel))
			if got := ids(collect(t, cfg, "x")); !slices.Equal(got, tc.want) {
				t.Fatalf("ids = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDataAutoDetect(t *testing.T) {
	tests := []struct {
		body string
		want []int64
	}{
		{`[{"id":1},{"id":2}]`, []int64{1, 2}},
		{`{"data":[{"id":1}],"meta":{"total":1}}`, []int64{1}},
		{`{"items":[{"id":2}],"links":[{"id":99}]}`, []int64{2}},
		{`{"results":[{"id":3}]}`, []int64{3}},
		{`{"response":{"items":[{"id":4}]}}`, []int64{4}},
		{`{"users":[{"id":5}],"errors":[]}`, []int64{5}},
		{`{"id":6,"data":{"id":60}}`, []int64{6}}, // an object under data is not the records
		{`{"id":7,"name":"single"}`, []int64{7}},
	}
	for _, tc := range tests {
		srv := serve(t, map[string]http.HandlerFunc{"/x": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(tc.body)) }})
		cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":"single_page"},"resources":["x"]}`, srv.URL))
		if got := ids(collect(t, cfg, "x")); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ids = %v, want %v", tc.body, got, tc.want)
		}
	}
}
