package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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
		{"placeholder in path", `{"path":"events/{incremental.start_value}","data_selector":"data","incremental":{"cursor_path":"id","initial_value":4}}`,
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
		{"legacy param convert", `{"path":"events","params":{"since":{"type":"incremental","cursor_path":"epoch","initial_value":1704240000,"convert":"'epoch:' + string(int(value))"}}}`,
			seq(3, 5), "path=/events since=epoch:1704240000 until= hdr= body="},
		{"min last_value_func", `{"path":"events","params":{"since":"{incremental.start_value}"},
			"incremental":{"cursor_path":"id","initial_value":3,"last_value_func":"min"}}`,
			seq(1, 3), "path=/events since=3 until= hdr= body="},
		{"range_start open", `{"path":"events","params":{"since":"{incremental.start_value}"},
			"incremental":{"cursor_path":"id","initial_value":3,"range_start":"open"}}`,
			seq(4, 5), "path=/events since=3 until= hdr= body="},
		{"range_end closed", `{"path":"events","params":{"since":"{incremental.start_value}"},
			"incremental":{"cursor_path":"id","initial_value":2,"end_value":4,"range_end":"closed"}}`,
			seq(2, 4), "path=/events since=2 until= hdr= body="},
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

// tryRun is run that returns the run's error.
func (e *e2e) tryRun(cfg *Config) error {
	e.t.Helper()
	src, err := NewSource(cfg, WithRetry(fastRetry), Logger(quietLog()))
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = e.pipe.Run(ctx, src)
	return err
}

// ids returns the ids loaded into table, in id order ("" when the table
// does not exist).
func (e *e2e) ids(table string) string {
	e.t.Helper()
	if n := e.query(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'rest_e2e_dataset' AND table_name = '` + table + `'`); n[0] == "0" {
		return ""
	}
	return strings.Join(e.query(`SELECT id FROM rest_e2e_dataset.`+table+` ORDER BY id`), ",")
}

// incState returns the resource's incremental state from the pipeline's
// local state, as JSON ("" when there is none).
func (e *e2e) incState(resource string) string {
	e.t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.pipe.WorkingDir(), "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	} else if err != nil {
		e.t.Fatal(err)
	}
	var doc struct {
		Sources map[string]struct {
			Resources map[string]struct {
				Incremental any `json:"incremental"`
			} `json:"resources"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		e.t.Fatal(err)
	}
	inc := doc.Sources["rest_api"].Resources[resource].Incremental
	if inc == nil {
		return ""
	}
	out, _ := json.Marshal(inc)
	return string(out)
}

// rowsAPI serves the rows it holds (changeable between runs) three per
// page, linked by "next", recording each request's page and since values.
type rowsAPI struct {
	mu   sync.Mutex
	rows []map[string]any
	reqs []string
}

func (a *rowsAPI) set(rows ...map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rows, a.reqs = rows, nil
}

func (a *rowsAPI) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.reqs)
}

func (a *rowsAPI) handler(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	page := atoi(r.URL.Query().Get("page"), 1)
	a.reqs = append(a.reqs, fmt.Sprintf("page=%d since=%s", page, r.URL.Query().Get("since")))
	const per = 3
	lo, hi := min((page-1)*per, len(a.rows)), min(page*per, len(a.rows))
	body := map[string]any{"data": a.rows[lo:hi], "total_pages": (len(a.rows) + per - 1) / per}
	if hi < len(a.rows) {
		body["next"] = fmt.Sprintf("http://%s%s?page=%d", r.Host, r.URL.Path, page+1)
	}
	writeJSON(w, body)
}

func idRows(ids ...int) []map[string]any {
	out := make([]map[string]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"id": id, "updated_at": fmt.Sprintf("2024-01-%02dT00:00:00Z", id), "day": fmt.Sprintf("2024-01-%02d", id)}
	}
	return out
}

// incSpec is a spec with one resource "items" on the rowsAPI at url,
// paged by "next", with the given incremental and extra resource keys.
func incSpec(url, inc, extra string) string {
	return fmt.Sprintf(`{"client":{"base_url":%q,"paginator":{"type":"json_link","next_url_path":"next"}},
		"resources":[{"name":"items"%s,"endpoint":{"path":"items","params":{"since":"{incremental.start_value}"},"incremental":%s}}]}`, url, extra, inc)
}

// A cursor value that cannot be compared with the start value fails the
// run (dlt's IncrementalCursorInvalidCoercion) instead of dropping rows
// compared as text; the message names kinds, never the start value, which
// may be a secret.
func TestIncrementalCursorKinds(t *testing.T) {
	tests := []struct {
		name string
		inc  string
		ids  string // loaded; "" with err
		err  []string
	}{
		{"number cursor, string start", `{"cursor_path":"id","initial_value":"s3cr3t-5"}`, "",
			[]string{`resource "items": `, `incremental cursor "id": value 1 (a number) cannot be compared with the start value (a string)`}},
		{"number cursor, numeric string start", `{"cursor_path":"id","initial_value":"5"}`, "",
			[]string{`incremental cursor "id": value 1 (a number)`, `start value (a string)`}},
		{"string cursor, number start", `{"cursor_path":"updated_at","initial_value":3}`, "",
			[]string{`incremental cursor "updated_at": value "2024-01-01T00:00:00Z" (a string) cannot be compared with the start value (a number)`}},
		{"string cursor, number end", `{"cursor_path":"updated_at","initial_value":"2024-01-01T00:00:00Z","end_value":5}`, "",
			[]string{"source.resources[0].endpoint.incremental.end_value: a number cannot be compared with initial_value (a string)"}},
		{"timestamp cursor, date start", `{"cursor_path":"updated_at","initial_value":"2024-01-08"}`, "8,9,10", nil},
		{"int cursor, float start", `{"cursor_path":"id","initial_value":7.5}`, "8,9,10", nil},
		{"int cursor, int start", `{"cursor_path":"id","initial_value":5}`, "5,6,7,8,9,10", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &rowsAPI{}
			api.set(idRows(seqInts(1, 10)...)...)
			srv := serve(t, map[string]http.HandlerFunc{"/items": api.handler})
			var raw any
			_ = json.Unmarshal([]byte(incSpec(srv.URL, tc.inc, "")), &raw)
			cfg, err := DecodeConfig(raw, "source")
			e := newE2E(t)
			if err == nil {
				err = e.tryRun(cfg)
			}
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := e.ids("items"); got != tc.ids {
					t.Fatalf("ids = %s, want %s", got, tc.ids)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; loaded %s", e.ids("items"))
			}
			for _, want := range tc.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the start value: %v", err)
			}
			if cfg != nil {
				if got := e.ids("items"); got != "" {
					t.Errorf("a failed run loaded ids %s", got)
				}
				if st := e.incState("items"); st != "" {
					t.Errorf("a failed run saved state %s", st)
				}
			}
		})
	}
}

func seqInts(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestIncrementalConfigKeys(t *testing.T) {
	const at = "source.resources[0].endpoint.incremental."
	tests := []struct {
		inc string
		err string // "" decodes
	}{
		{`{"cursor_path":"id","initial_value":1,"row_order":"asc","primary_key":["id","day"],"lag":2.5,
			"allow_external_schedulers":true,"range_start":"open","range_end":"closed"}`, ""},
		{`{"cursor_path":"id","row_order":"desc","primary_key":"id","range_start":"closed","range_end":"open","lag":0}`, ""},
		{`{"cursor_path":"id","primary_key":[]}`, ""},
		{`{"cursor_path":"updated_at","initial_value":"2024-01-01","lag":86400}`, ""},
		{`{"cursor_path":"id","row_order":"up"}`, at + `row_order: unknown row_order "up" (want one of asc, desc)`},
		{`{"cursor_path":"id","range_end":"half"}`, at + `range_end: unknown range_end "half" (want one of open, closed)`},
		{`{"cursor_path":"id","range_start":"half"}`, at + `range_start: unknown range_start "half"`},
		{`{"cursor_path":"id","primary_key":5}`, at + "primary_key: want a string or a list of strings, got a number"},
		{`{"cursor_path":"id","lag":"1h"}`, at + "lag: want a number, got a string"},
		{`{"cursor_path":"id","lag":-1}`, at + "lag: want a number of seconds"},
		{`{"cursor_path":"name","initial_value":"s3cr3t","lag":1}`, at + "lag: lag needs a numeric or ISO date-time cursor, not a string that is not a date-time (initial_value is a string)"},
		{`{"cursor_path":"id","allow_external_schedulers":"yes"}`, at + "allow_external_schedulers: want true or false, got a string"},
	}
	for _, tc := range tests {
		var raw any
		if err := json.Unmarshal([]byte(incSpec("http://x", tc.inc, "")), &raw); err != nil {
			t.Fatal(err)
		}
		_, err := DecodeConfig(raw, "source")
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.inc, err)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("%s: err = %v, want %s", tc.inc, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "s3cr3t"):
			t.Errorf("error shows a value: %v", err)
		}
	}
}

// row_order: once an ordered page holds a row out of range no later page
// can load anything, so paging stops there (dlt closes the resource).
func TestIncrementalRowOrder(t *testing.T) {
	desc := seqInts(1, 12)
	slices.Reverse(desc)
	tests := []struct {
		name      string
		rows      []int
		paginator string
		inc       string
		ids       string
		pages     int
	}{
		{"asc stops past end_value", seqInts(1, 12), "", `{"cursor_path":"id","initial_value":2,"end_value":5,"row_order":"asc"}`, "2,3,4", 2},
		{"asc, end_value closed", seqInts(1, 12), "", `{"cursor_path":"id","initial_value":2,"end_value":6,"range_end":"closed","row_order":"asc"}`, "2,3,4,5,6", 3},
		{"asc with a planning paginator", seqInts(1, 12), `{"type":"page_number","base_page":1,"total_path":"total_pages"}`,
			`{"cursor_path":"id","initial_value":2,"end_value":5,"row_order":"asc"}`, "2,3,4", 2},
		{"desc stops before the start", desc, "", `{"cursor_path":"id","initial_value":8,"row_order":"desc"}`, "8,9,10,11,12", 2},
		{"desc, start open", desc, "", `{"cursor_path":"id","initial_value":9,"range_start":"open","row_order":"desc"}`, "10,11,12", 2},
		{"no row_order reads every page", seqInts(1, 12), "", `{"cursor_path":"id","initial_value":2,"end_value":5}`, "2,3,4", 4},
		{"asc without end_value reads every page", seqInts(1, 12), "", `{"cursor_path":"id","initial_value":2,"row_order":"asc"}`, "2,3,4,5,6,7,8,9,10,11,12", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &rowsAPI{}
			api.set(idRows(tc.rows...)...)
			srv := serve(t, map[string]http.HandlerFunc{"/items": api.handler})
			spec := incSpec(srv.URL, tc.inc, "")
			if tc.paginator != "" {
				spec = strings.Replace(spec, `{"type":"json_link","next_url_path":"next"}`, tc.paginator, 1)
			}
			e := newE2E(t)
			e.run(decode(t, spec))
			if got := e.ids("items"); got != tc.ids {
				t.Errorf("ids = %s, want %s", got, tc.ids)
			}
			if got := api.requests(); len(got) != tc.pages {
				t.Errorf("requests = %q, want %d pages", got, tc.pages)
			}
		})
	}
}

// Rows at the start value that the previous run loaded are dropped, matched
// by the incremental's primary_key, else the resource's, else the whole
// row; an empty primary_key turns that off.
func TestIncrementalPrimaryKey(t *testing.T) {
	row := func(id, ts int, v string) map[string]any { return map[string]any{"id": id, "ts": ts, "v": v} }
	run1 := []map[string]any{row(1, 1, "a"), row(2, 2, "a"), row(3, 2, "a")}
	// At the boundary ts 2: 2 unchanged, 3 changed, 4 new.
	run2 := []map[string]any{row(1, 1, "a"), row(2, 2, "a"), row(3, 2, "b"), row(4, 2, "a"), row(5, 3, "a")}
	tests := []struct {
		name  string
		inc   string
		extra string
		ids   string
	}{
		{"row hash", `{"cursor_path":"ts","initial_value":0}`, "", "1,2,3,3,4,5"},
		{"incremental primary_key", `{"cursor_path":"ts","initial_value":0,"primary_key":"id"}`, "", "1,2,3,4,5"},
		{"resource primary_key", `{"cursor_path":"ts","initial_value":0}`, `,"primary_key":"id"`, "1,2,3,4,5"},
		{"incremental primary_key wins", `{"cursor_path":"ts","initial_value":0,"primary_key":["v"]}`, `,"primary_key":"id"`, "1,2,3,3,5"},
		{"empty primary_key: no dedup", `{"cursor_path":"ts","initial_value":0,"primary_key":[]}`, `,"primary_key":"id"`, "1,2,2,3,3,4,5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &rowsAPI{}
			srv := serve(t, map[string]http.HandlerFunc{"/items": api.handler})
			cfg := decode(t, incSpec(srv.URL, tc.inc, tc.extra))
			e := newE2E(t)
			api.set(run1...)
			e.run(cfg)
			api.set(run2...)
			e.run(cfg)
			if got := e.ids("items"); got != tc.ids {
				t.Errorf("ids = %s, want %s", got, tc.ids)
			}
		})
	}
}

// lag starts the next run that far before the stored last value (not
// before initial_value) and reloads the rows in between: no boundary
// dedup, merge keeps one row each.
func TestIncrementalLag(t *testing.T) {
	tests := []struct {
		name   string
		inc    string
		since  []string // the since sent in run 1 and run 2
		state2 string   // last_value after run 2
		ids    string   // loaded (merged on id)
	}{
		{"number", `{"cursor_path":"id","initial_value":1,"lag":2}`, []string{"1", "3"}, `7`, "1,2,3,4,5,6,7"},
		{"fractional number", `{"cursor_path":"id","initial_value":1,"lag":1.5}`, []string{"1", "3.5"}, `7`, "1,2,3,4,5,6,7"},
		{"date-time seconds", `{"cursor_path":"updated_at","initial_value":"2024-01-01T00:00:00Z","lag":172800}`,
			[]string{"2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z"}, `"2024-01-07T00:00:00Z"`, "1,2,3,4,5,6,7"},
		{"date days", `{"cursor_path":"day","initial_value":"2024-01-01","lag":2}`, []string{"2024-01-01", "2024-01-03"}, `"2024-01-07"`, "1,2,3,4,5,6,7"},
		{"not before initial_value", `{"cursor_path":"id","initial_value":2,"lag":100}`, []string{"2", "2"}, `7`, "2,3,4,5,6,7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &rowsAPI{}
			srv := serve(t, map[string]http.HandlerFunc{"/items": api.handler})
			cfg := decode(t, incSpec(srv.URL, tc.inc, `,"write_disposition":"merge","primary_key":"id"`))
			e := newE2E(t)
			api.set(idRows(seqInts(1, 5)...)...)
			e.run(cfg)
			since := []string{api.requests()[0]}
			api.set(idRows(seqInts(1, 7)...)...)
			e.run(cfg)
			since = append(since, api.requests()[0])
			for i, s := range since {
				if want := "page=1 since=" + tc.since[i]; s != want {
					t.Errorf("run %d: request %q, want %q", i+1, s, want)
				}
			}
			if got := e.ids("items"); got != tc.ids {
				t.Errorf("ids = %s, want %s", got, tc.ids)
			}
			if st := e.incState("items"); !strings.Contains(st, `"last_value":`+tc.state2+`,`) {
				t.Errorf("state = %s, want last_value %s", st, tc.state2)
			}
		})
	}
	t.Run("reloads the lag window", func(t *testing.T) {
		api := &rowsAPI{}
		srv := serve(t, map[string]http.HandlerFunc{"/items": api.handler})
		cfg := decode(t, incSpec(srv.URL, `{"cursor_path":"id","initial_value":1,"lag":2}`, `,"write_disposition":"merge","primary_key":"id"`))
		e := newE2E(t)
		api.set(idRows(seqInts(1, 5)...)...)
		e.run(cfg)
		api.set(idRows(seqInts(1, 7)...)...)
		e.run(cfg)
		// 3 and 4 are in the window; 5, at the last value, is not dropped
		// as already loaded.
		got := e.query(`SELECT id FROM rest_e2e_dataset.items WHERE _dlt_load_id = (SELECT max(load_id) FROM rest_e2e_dataset._dlt_loads) ORDER BY id`)
		if strings.Join(got, ",") != "3,4,5,6,7" {
			t.Errorf("second load = %v, want 3..7", got)
		}
	})
	t.Run("string cursor", func(t *testing.T) {
		api := &rowsAPI{}
		srv := serve(t, map[string]http.HandlerFunc{"/items": api.handler})
		rows := []map[string]any{{"id": 1, "name": "s3cr3t-a"}, {"id": 2, "name": "s3cr3t-b"}}
		cfg := decode(t, incSpec(srv.URL, `{"cursor_path":"name","lag":1}`, ""))
		e := newE2E(t)
		api.set(rows...)
		e.run(cfg) // no last value yet: lag does not apply
		err := e.tryRun(cfg)
		if err == nil || !strings.Contains(err.Error(), `incremental cursor "name": lag needs a numeric or ISO date-time cursor`) || strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("err = %v", err)
		}
	})
}

// A run with end_value is a stateless backfill (as in dlt): it starts from
// initial_value every time and leaves the resource's state as it was.
func TestIncrementalEndValueStateless(t *testing.T) {
	api := &rowsAPI{}
	api.set(idRows(seqInts(1, 6)...)...)
	srv := serve(t, map[string]http.HandlerFunc{"/items": api.handler})
	regular := decode(t, incSpec(srv.URL, `{"cursor_path":"id","initial_value":1}`, ""))
	backfill := decode(t, incSpec(srv.URL, `{"cursor_path":"id","initial_value":1,"end_value":3}`, ""))
	e := newE2E(t)

	e.run(backfill)
	if st := e.incState("items"); st != "" {
		t.Fatalf("a backfill saved state %s", st)
	}
	e.run(backfill) // again from initial_value: no dedup against itself
	if got := e.ids("items"); got != "1,1,2,2" {
		t.Fatalf("two backfills loaded %s, want 1,1,2,2", got)
	}
	e.run(regular)
	before := e.incState("items")
	if !strings.Contains(before, `"last_value":6`) {
		t.Fatalf("state after a regular run = %s", before)
	}
	api.set(idRows(seqInts(1, 6)...)...)
	e.run(backfill)
	if got := api.requests(); got[0] != "page=1 since=1" {
		t.Errorf("backfill after a regular run started at %q, want since=1", got[0])
	}
	if after := e.incState("items"); after != before {
		t.Errorf("backfill changed state: %s, was %s", after, before)
	}
	api.set(idRows(seqInts(1, 7)...)...)
	e.run(regular)
	if got := api.requests(); got[0] != "page=1 since=6" {
		t.Errorf("regular run after a backfill started at %q, want since=6", got[0])
	}
	// Two backfills, the regular run, a backfill, and 7 (6 was loaded).
	if got := e.ids("items"); got != "1,1,1,1,2,2,2,2,3,4,5,6,7" {
		t.Errorf("ids = %s", got)
	}
}
