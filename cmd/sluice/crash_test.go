package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/parquet/parquetsql"
)

// crashAPI serves two resources for the crash tests:
//
//   - /items: crashItems items in pages of 100 (json_link), each with a
//     nested list of two tags; loaded with merge on primary key id.
//   - /events?since=S: events with updated_at = 10*id >= S in pages of 25
//     (json_link); loaded incrementally (append) on updated_at. Every run
//     (a request for the first page) sees crashEventsStep more events than
//     the one before, up to crashEvents (times killRounds), so the cursor
//     moves between runs.
//
// Every page takes pageDelay, so a run spends a while extracting.
type crashAPI struct {
	*httptest.Server
	pageDelay time.Duration
	runs      atomic.Int64
	// visible is the number of events the last run saw.
	visible atomic.Int64
	// gate, when set, is called before serving an items page after the
	// third and an events page after the first; it may block.
	mu   sync.Mutex
	gate func(r *http.Request)
}

const (
	crashItems      = 600
	crashEvents     = 400
	crashEventsBase = 40
	crashEventsStep = 12
)

func newCrashAPI(t *testing.T) *crashAPI {
	api := &crashAPI{pageDelay: 3 * time.Millisecond}
	if d, err := time.ParseDuration(os.Getenv("SLUICE_KILL_PAGE_DELAY")); err == nil {
		api.pageDelay = d
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page >= 3 {
			api.callGate(r)
		}
		var data []map[string]any
		for i := page * 100; i < min(page*100+100, crashItems); i++ {
			data = append(data, map[string]any{"id": i + 1, "name": fmt.Sprintf("item %d", i+1), "price": float64(i) / 4,
				"meta": map[string]any{"color": []string{"red", "green", "blue"}[i%3], "size": i % 7},
				"tags": []string{"t" + strconv.Itoa(i%5), "u" + strconv.Itoa(i%3)}})
		}
		body := map[string]any{"data": data, "next": nil}
		if (page+1)*100 < crashItems {
			body["next"] = fmt.Sprintf("http://%s/items?page=%d", r.Host, page+1)
		}
		api.write(w, body)
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		since, _ := strconv.Atoi(q.Get("since"))
		page, _ := strconv.Atoi(q.Get("page"))
		visible, _ := strconv.Atoi(q.Get("v"))
		if page == 0 {
			n := api.runs.Add(1)
			visible = int(min(int64(crashEvents*killRounds()), crashEventsBase+crashEventsStep*(n-1)))
			api.visible.Store(int64(visible))
		} else {
			api.callGate(r)
		}
		var match []map[string]any
		for id := 1; id <= visible; id++ {
			if 10*id >= since {
				match = append(match, map[string]any{"id": id, "updated_at": 10 * id, "kind": "e" + strconv.Itoa(id%4),
					"payload": map[string]any{"n": id, "ok": id%2 == 0}})
			}
		}
		from := min(page*25, len(match))
		to := min(from+25, len(match))
		body := map[string]any{"data": match[from:to], "next": nil}
		if to < len(match) {
			body["next"] = fmt.Sprintf("http://%s/events?since=%d&page=%d&v=%d", r.Host, since, page+1, visible)
		}
		api.write(w, body)
	})
	api.Server = httptest.NewServer(mux)
	t.Cleanup(api.Close)
	return api
}

func (api *crashAPI) write(w http.ResponseWriter, body any) {
	time.Sleep(api.pageDelay)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func (api *crashAPI) callGate(r *http.Request) {
	api.mu.Lock()
	gate := api.gate
	api.mu.Unlock()
	if gate != nil {
		gate(r)
	}
}

func (api *crashAPI) setGate(g func(r *http.Request)) {
	api.mu.Lock()
	api.gate = g
	api.mu.Unlock()
}

const crashDataset = "crash_data"

// crashSpec is the spec of the crash tests; dest is the spec's destination.
func crashSpec(baseURL, dest string) string {
	return fmt.Sprintf(`pipeline_name: crash
dataset_name: %s
destination: %s
source:
  client:
    base_url: %q
    paginator: {type: json_link, next_url_path: next}
    backoff_factor: 0.01
  resource_defaults:
    endpoint: {data_selector: data}
  resources:
    - name: items
      write_disposition: merge
      primary_key: id
      endpoint: {path: items}
    - name: events
      endpoint:
        path: events
        params: {since: "{incremental.start_value}"}
        incremental: {cursor_path: updated_at, initial_value: 0}
`, crashDataset, dest, baseURL)
}

// crashEnv is one crash test's working dir, pipelines dir, spec and
// destination.
type crashEnv struct {
	dir, pipelines, spec string
	parquet              bool
	db, bucket           string
	env                  []string
}

func newCrashEnv(t *testing.T, api *crashAPI, parquetDest bool) *crashEnv {
	e := &crashEnv{dir: t.TempDir(), parquet: parquetDest}
	e.pipelines = filepath.Join(e.dir, "pipelines")
	e.db = filepath.Join(e.dir, "crash.duckdb")
	e.bucket = filepath.Join(e.dir, "bucket")
	dest := fmt.Sprintf("{type: duckdb, path: %q}", e.db)
	if parquetDest {
		dest = fmt.Sprintf("{type: parquet, bucket_url: %q}", e.bucket)
	}
	e.spec = filepath.Join(e.dir, "spec.yaml")
	if err := os.WriteFile(e.spec, []byte(crashSpec(api.URL+"/", dest)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.env = []string{"SLUICE_PIPELINES_DIR=" + e.pipelines}
	return e
}

// snapshot is what the destination shows after a run or a kill.
type snapshot struct {
	loads      []string // committed load ids, sorted
	items      int64
	eventIDs   []int64 // sorted
	stateValue float64 // the events cursor in the newest stored state; -1: none
	localValue float64 // the events cursor in the local state.json; -1: none
}

// querier runs SQL over a dataset and returns rows as strings.
type querier interface {
	query(q string) ([][]string, error)
	close()
}

type duckQuerier struct {
	db   *sql.DB
	conn *sql.Conn
}

func (d *duckQuerier) query(q string) ([][]string, error) {
	rows, err := d.conn.QueryContext(context.Background(), q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func (d *duckQuerier) close() { d.conn.Close(); d.db.Close() }

type readerQuerier struct{ r sink.DatasetReader }

func (p *readerQuerier) query(q string) ([][]string, error) {
	rr, err := p.r.Query(context.Background(), q)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var out [][]string
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for c := range row {
				col := rec.Column(c)
				if !col.IsNull(i) {
					row[c] = col.ValueStr(i)
				}
			}
			out = append(out, row)
		}
	}
	return out, rr.Err()
}

func (p *readerQuerier) close() { p.r.Close() }

// open opens the destination for reading, or returns nil when nothing was
// ever written. DuckDB files are opened read-only: a file a killed process
// left must open as it is.
func (e *crashEnv) open(t *testing.T) querier {
	t.Helper()
	if e.parquet {
		if _, err := os.Stat(filepath.Join(e.bucket, crashDataset)); err != nil {
			return nil
		}
		r, err := parquet.New(e.bucket, parquet.WithSQL(parquetsql.DuckDB())).OpenDataset(context.Background(), crashDataset)
		if err != nil {
			t.Fatalf("open parquet dataset: %v", err)
		}
		return &readerQuerier{r: r}
	}
	if _, err := os.Stat(e.db); err != nil {
		return nil
	}
	db, err := sql.Open("duckdb", e.db+"?access_mode=read_only")
	if err != nil {
		t.Fatalf("open %s: %v", e.db, err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		t.Fatalf("open %s after a kill: %v", e.db, err)
	}
	var schemas int
	if err := conn.QueryRowContext(context.Background(), "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = '"+crashDataset+"'").Scan(&schemas); err != nil {
		t.Fatalf("open %s after a kill: %v", e.db, err)
	}
	if schemas == 0 {
		conn.Close()
		db.Close()
		return nil
	}
	if _, err := conn.ExecContext(context.Background(), "SET search_path = '"+crashDataset+",main'"); err != nil {
		conn.Close()
		db.Close()
		t.Fatalf("search_path: %v", err)
	}
	return &duckQuerier{db: db, conn: conn}
}

func mustQuery(t *testing.T, q querier, sql string) [][]string {
	t.Helper()
	rows, err := q.query(sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

func hasTable(t *testing.T, q querier, name string) bool {
	t.Helper()
	rows := mustQuery(t, q, "SELECT count(*) FROM information_schema.tables WHERE table_name = '"+name+"'")
	return rows[0][0] != "0"
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// check verifies the invariants of the destination and returns what it
// holds. Every violation is reported with what, the run or kill it follows.
//
//   - Only committed loads are visible: every root row's _dlt_load_id is in
//     _dlt_loads, every nested row's root is there.
//   - items (merge): all crashItems keys exactly once after the first
//     commit, each item with its two tags.
//   - events (incremental append): ids exactly once, contiguous from 1.
//   - The stored cursor equals the newest loaded event's updated_at (never
//     ahead of the data, never behind it); the local state is never ahead.
func (e *crashEnv) check(t *testing.T, what string) (snapshot, bool) {
	t.Helper()
	ok := true
	fail := func(format string, args ...any) {
		t.Helper()
		ok = false
		t.Errorf("%s: "+format, append([]any{what}, args...)...)
	}
	s := snapshot{stateValue: -1, localValue: -1}
	s.localValue = e.localCursor(t)
	q := e.open(t)
	if q == nil {
		if s.localValue >= 0 {
			fail("local state has cursor %v but the destination holds nothing", s.localValue)
		}
		return s, ok
	}
	defer q.close()
	if hasTable(t, q, "_dlt_loads") {
		for _, r := range mustQuery(t, q, "SELECT load_id FROM _dlt_loads WHERE status = 0 ORDER BY load_id") {
			s.loads = append(s.loads, r[0])
		}
	}
	inLoads := "(SELECT load_id FROM _dlt_loads)"
	if len(s.loads) == 0 {
		inLoads = "(SELECT NULL::VARCHAR WHERE false)"
	}
	if hasTable(t, q, "items") {
		r := mustQuery(t, q, "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE _dlt_load_id NOT IN "+inLoads+") FROM items")[0]
		s.items = atoi(r[0])
		if r[2] != "0" {
			fail("%s items rows of uncommitted loads", r[2])
		}
		if len(s.loads) > 0 && (atoi(r[0]) != crashItems || atoi(r[1]) != crashItems) {
			fail("items: %s rows, %s keys; want %d exactly once", r[0], r[1], crashItems)
		}
		if hasTable(t, q, "items__tags") {
			tags := mustQuery(t, q, "SELECT count(*) FROM items__tags")[0][0]
			if atoi(tags) != 2*s.items {
				fail("items__tags: %s rows for %d items, want 2 each", tags, s.items)
			}
			orphans := mustQuery(t, q, "SELECT count(*) FROM items__tags WHERE _dlt_root_id NOT IN (SELECT _dlt_id FROM items)")[0][0]
			if orphans != "0" {
				fail("%s items__tags rows without their item", orphans)
			}
		}
	} else if len(s.loads) > 0 {
		fail("loads committed but no items table")
	}
	maxUpdated := int64(-1)
	if hasTable(t, q, "events") {
		r := mustQuery(t, q, "SELECT count(*), count(DISTINCT id), coalesce(max(updated_at), -1), count(*) FILTER (WHERE _dlt_load_id NOT IN "+inLoads+") FROM events")[0]
		if r[0] != r[1] {
			fail("events: %s rows but %s distinct ids: loaded twice", r[0], r[1])
		}
		if r[3] != "0" {
			fail("%s events rows of uncommitted loads", r[3])
		}
		maxUpdated = atoi(r[2])
		for _, row := range mustQuery(t, q, "SELECT DISTINCT id FROM events ORDER BY id") {
			s.eventIDs = append(s.eventIDs, atoi(row[0]))
		}
		for i, id := range s.eventIDs {
			if id != int64(i+1) {
				fail("events ids not contiguous from 1: %v...", s.eventIDs[:min(len(s.eventIDs), i+3)])
				break
			}
		}
	}
	if hasTable(t, q, "_dlt_pipeline_state") {
		rows := mustQuery(t, q, "SELECT state FROM _dlt_pipeline_state WHERE pipeline_name = 'crash' ORDER BY version DESC LIMIT 1")
		if len(rows) == 1 {
			st, err := flow.DecodeState(rows[0][0])
			if err != nil {
				fail("stored state: %v", err)
			}
			s.stateValue = cursorOf(st)
		}
	}
	if s.stateValue >= 0 && maxUpdated >= 0 && s.stateValue != float64(maxUpdated) {
		fail("stored cursor %v but newest loaded event has updated_at %d", s.stateValue, maxUpdated)
	}
	if s.stateValue > 0 && maxUpdated < 0 {
		fail("stored cursor %v but no events loaded", s.stateValue)
	}
	if s.localValue > float64(max(maxUpdated, 0)) {
		fail("local cursor %v is ahead of the loaded data (max updated_at %d)", s.localValue, maxUpdated)
	}
	return s, ok
}

// cursorOf finds the events resource's incremental last_value in a state
// document, or -1.
func cursorOf(st flow.State) float64 {
	var find func(v any, inEvents bool) float64
	find = func(v any, inEvents bool) float64 {
		m, ok := v.(map[string]any)
		if !ok {
			return -1
		}
		if inEvents {
			if lv, ok := m["last_value"]; ok {
				switch x := lv.(type) {
				case float64:
					return x
				case json.Number:
					f, _ := x.Float64()
					return f
				}
			}
		}
		for k, c := range m {
			if got := find(c, inEvents || k == "events"); got >= 0 {
				return got
			}
		}
		return -1
	}
	return find(map[string]any(st), false)
}

func (e *crashEnv) localCursor(t *testing.T) float64 {
	raw, err := os.ReadFile(filepath.Join(e.pipelines, "crash", "state.json"))
	if err != nil {
		return -1
	}
	var st flow.State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Errorf("local state.json is not valid JSON after a kill: %v", err)
		return -1
	}
	return cursorOf(st)
}

// strayFiles lists Parquet data files whose load did not commit, and staging
// folders.
func (e *crashEnv) strayFiles(t *testing.T, loads []string) []string {
	var stray []string
	root := filepath.Join(e.bucket, crashDataset)
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".sluice-staging") && rel != "." {
				entries, _ := os.ReadDir(p)
				if len(entries) > 0 {
					stray = append(stray, rel+"/")
				}
			}
			return nil
		}
		if strings.HasSuffix(p, ".parquet") {
			id := strings.Join(strings.SplitN(d.Name(), ".", 3)[:2], ".")
			if !slices.Contains(loads, id) {
				stray = append(stray, rel)
			}
		}
		return nil
	})
	return stray
}
