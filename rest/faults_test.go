package rest

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

// faultServer is a paginated API that injects one fault per test case:
// /items (and the same pages under /old/items, /moved/items and
// /v2/items, for redirects) serves
// faultPages pages of faultPerPage rows with json_link next URLs, /other
// one page of 10 rows, /token issues oauth2 tokens tok-1, tok-2, ...
// fault is consulted before every /items response with the page and the
// attempt (how many times that page was asked for); it returns true when
// it wrote the response itself.
type faultServer struct {
	*httptest.Server
	fault func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool

	mu       sync.Mutex
	attempts map[int]int
	times    map[int][]time.Time
	// token is the access token the API accepts ("" accepts any request);
	// tokens counts tokens issued.
	token     string
	tokens    int
	tokenDown bool
	requests  atomic.Int64
}

const (
	faultPages   = 5
	faultPerPage = 20
)

func newFaultServer(t *testing.T, fault func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool) *faultServer {
	fs := &faultServer{fault: fault, attempts: map[int]int{}, times: map[int][]time.Time{}}
	mux := http.NewServeMux()
	items := func(w http.ResponseWriter, r *http.Request) {
		fs.requests.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		fs.mu.Lock()
		fs.attempts[page]++
		attempt := fs.attempts[page]
		fs.times[page] = append(fs.times[page], time.Now())
		token := fs.token
		fs.mu.Unlock()
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error":"token expired"}`, http.StatusUnauthorized)
			return
		}
		if fs.fault != nil && fs.fault(fs, w, r, page, attempt) {
			return
		}
		writeJSON(w, fs.page(r, page, faultPerPage, page < faultPages-1))
	}
	for _, p := range []string{"/items", "/moved/items", "/v2/items", "/old/items"} {
		mux.HandleFunc(p, items)
	}
	mux.HandleFunc("/other", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"data": rowsOf(1, 10)})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		if fs.tokenDown {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fs.tokens++
		fs.token = fmt.Sprintf("tok-%d", fs.tokens)
		writeJSON(w, map[string]any{"access_token": fs.token, "expires_in": 3600})
	})
	fs.Server = httptest.NewServer(mux)
	t.Cleanup(fs.Close)
	return fs
}

// page builds page p of the items: ids p*per+1.., a next link when more.
func (fs *faultServer) page(r *http.Request, p, per int, more bool) map[string]any {
	rows := make([]map[string]any, 0, per)
	for i := p*per + 1; i <= p*per+per; i++ {
		rows = append(rows, map[string]any{"id": i, "name": "item " + strconv.Itoa(i), "tags": []string{"x", "y"}})
	}
	body := map[string]any{"data": rows, "next": nil}
	if more {
		body["next"] = fmt.Sprintf("http://%s/items?page=%d", r.Host, p+1)
	}
	return body
}

// hangUp closes the connection without a response.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// faultCase is one row of the fault matrix.
type faultCase struct {
	name string
	// items is the items endpoint (default "items"); client adds keys to
	// the client config.
	items, client string
	fault         func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool
	setup         func(fs *faultServer)
	// rows is the number of items rows a successful run loads; wantErr the
	// parts the error line must contain (then nothing may be loaded).
	rows    int
	wantErr []string
	verify  func(t *testing.T, fs *faultServer)
}

func TestFaultMatrix(t *testing.T) {
	all := faultPages * faultPerPage
	const huge = 50_000
	cases := []faultCase{
		{name: "5xx burst (503 x3 on page 3)", rows: all,
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 2 && attempt <= 3 {
					http.Error(w, "unavailable", http.StatusServiceUnavailable)
					return true
				}
				return false
			}},
		{name: "5xx until retries run out (500 on page 3)", wantErr: []string{`resource "items": rest: GET /items: 500 Internal Server Error`},
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 2 {
					http.Error(w, "boom", http.StatusInternalServerError)
					return true
				}
				return false
			},
			verify: func(t *testing.T, fs *faultServer) {
				if n := fs.attempts[2]; n != 5 {
					t.Errorf("page 3 asked %d times, want 5 attempts", n)
				}
			}},
		{name: "429 storm with Retry-After (x4 on page 2)", rows: all,
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 1 && attempt <= 4 {
					w.Header().Set("Retry-After", "0.03")
					http.Error(w, "slow down", http.StatusTooManyRequests)
					return true
				}
				return false
			},
			verify: func(t *testing.T, fs *faultServer) {
				ts := fs.times[1]
				for i := 1; i < len(ts); i++ {
					if gap := ts[i].Sub(ts[i-1]); gap < 25*time.Millisecond {
						t.Errorf("retry %d came %v after a Retry-After of 30ms", i, gap)
					}
				}
			}},
		{name: "429 storm that never ends", wantErr: []string{`rest: GET /items: 429 Too Many Requests`},
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				w.Header().Set("Retry-After", "0")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return true
			}},
		{name: "connection reset (x2 on page 4)", rows: all,
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 3 && attempt <= 2 {
					hangUp(w)
					return true
				}
				return false
			}},
		{name: "connection reset on every attempt", wantErr: []string{`rest: GET /items: after 5 attempts: `, "EOF"},
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 3 {
					hangUp(w)
					return true
				}
				return false
			}},
		{name: "connection closed mid-body (truncated JSON)", rows: all,
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page != 1 || attempt > 1 {
					return false
				}
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return false
				}
				body := `{"data":[{"id":21,"name":"item 21"},{"id":2`
				fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n%s", body)
				conn.Close()
				return true
			}},
		// A complete response whose JSON ends early is invalid JSON, not a
		// connection error: as in dlt, it fails without a retry.
		{name: "truncated JSON with a complete response (not retried)",
			wantErr: []string{`resource "items": rest: GET /items: 200 response is not valid JSON (content type application/json)`},
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 2 {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"data":[{"id":41,"name":"item 41"},{"id":4`)
					return true
				}
				return false
			},
			verify: func(t *testing.T, fs *faultServer) {
				if n := fs.attempts[2]; n != 1 {
					t.Errorf("page 3 asked %d times, want 1", n)
				}
			}},
		{name: "invalid JSON (not retried)", wantErr: []string{`rest: GET /items: 200 response is not valid JSON (content type application/json)`},
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 1 {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"data": [1, 2,}`)
					return true
				}
				return false
			},
			verify: func(t *testing.T, fs *faultServer) {
				if n := fs.attempts[1]; n != 1 {
					t.Errorf("page 2 asked %d times, want 1", n)
				}
			}},
		{name: "HTML error page with status 200 (not retried)", wantErr: []string{`rest: GET /items: 200 response is not JSON (content type text/html)`},
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 1 {
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					fmt.Fprint(w, "<html><body><h1>Service temporarily unavailable</h1></body></html>")
					return true
				}
				return false
			},
			verify: func(t *testing.T, fs *faultServer) {
				if n := fs.attempts[1]; n != 1 {
					t.Errorf("page 2 asked %d times, want 1", n)
				}
			}},
		{name: "slow body past the timeout (once)", client: `"timeout": "150ms"`, rows: all,
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page != 1 || attempt > 1 {
					return false
				}
				stallBody(w, r, "4096")
				return true
			}},
		{name: "slow body on every attempt", client: `"timeout": "50ms"`,
			wantErr: []string{`rest: GET /items: after 5 attempts: reading body: `},
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page != 1 {
					return false
				}
				stallBody(w, r, "")
				return true
			}},
		{name: "huge page (50k rows in one page)", rows: huge,
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				writeJSON(w, fs.page(r, 0, huge, false))
				return true
			}},
		{name: "redirects (301 first page, 302 and 307 mid-run)", items: "old/items", rows: all,
			// Same-host redirects keep the bearer token.
			client: `"auth": {"type": "bearer", "token": "static-tok"}`,
			setup:  func(fs *faultServer) { fs.token = "static-tok" },
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				q := r.URL.RawQuery
				switch {
				case r.URL.Path == "/old/items":
					http.Redirect(w, r, "/items?"+q, http.StatusMovedPermanently)
				case page == 2 && r.URL.Path == "/items":
					http.Redirect(w, r, "/moved/items?"+q, http.StatusFound)
				case page == 3 && r.URL.Path == "/items":
					http.Redirect(w, r, "/v2/items?"+q, http.StatusTemporaryRedirect)
				default:
					return false
				}
				return true
			}},
		{name: "redirect loop", items: "loop/items", wantErr: []string{`rest: GET /loop/items: `, "stopped after 10 redirects"},
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool { return false }},
		{name: "404 mid-pagination", wantErr: []string{`rest: GET /items: 404 Not Found`},
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 3 {
					http.NotFound(w, r)
					return true
				}
				return false
			}},
		{name: "bearer token expires mid-run", client: `"auth": {"type": "bearer", "token": "static-tok"}`,
			wantErr: []string{`rest: GET /items: 401 Unauthorized`},
			setup:   func(fs *faultServer) { fs.token = "static-tok" },
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 2 {
					fs.mu.Lock()
					fs.token = "rotated"
					fs.mu.Unlock()
					http.Error(w, `{"error":"token expired"}`, http.StatusUnauthorized)
					return true
				}
				return false
			}},
		{name: "oauth2 token expires mid-run (refreshed)", rows: all,
			client: `"auth": {"type": "oauth2_client_credentials", "access_token_url": "{base}token", "client_id": "id", "client_secret": "cs"}`,
			setup:  func(fs *faultServer) { fs.token = "none-yet" },
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 2 && attempt == 1 {
					// The token in use expires: a new one must be fetched.
					fs.mu.Lock()
					fs.token = "expired"
					fs.mu.Unlock()
					http.Error(w, `{"error":"token expired"}`, http.StatusUnauthorized)
					return true
				}
				return false
			},
			verify: func(t *testing.T, fs *faultServer) {
				if fs.tokens != 2 {
					t.Errorf("%d tokens fetched, want 2 (one refresh)", fs.tokens)
				}
			}},
		{name: "oauth2 token expires, token endpoint down", wantErr: []string{`rest: POST /token: 503 Service Unavailable`},
			client: `"auth": {"type": "oauth2_client_credentials", "access_token_url": "{base}token", "client_id": "id", "client_secret": "cs"}`,
			setup:  func(fs *faultServer) { fs.token = "none-yet" },
			fault: func(fs *faultServer, w http.ResponseWriter, r *http.Request, page, attempt int) bool {
				if page == 2 {
					fs.mu.Lock()
					fs.token, fs.tokenDown = "expired", true
					fs.mu.Unlock()
					http.Error(w, `{"error":"token expired"}`, http.StatusUnauthorized)
					return true
				}
				return false
			}},
	}
	var matrix []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFaultServer(t, tc.fault)
			if tc.items == "loop/items" {
				fs.fault = nil
				fs.Config.Handler = loopHandler(fs.Config.Handler)
			}
			if tc.setup != nil {
				tc.setup(fs)
			}
			outcome := runFaultCase(t, fs, tc)
			if tc.verify != nil {
				fs.mu.Lock()
				tc.verify(t, fs)
				fs.mu.Unlock()
			}
			matrix = append(matrix, fmt.Sprintf("%-48s -> %s", tc.name, outcome))
		})
	}
	for _, l := range matrix {
		t.Logf("fault matrix: %s", l)
	}
}

// loopHandler redirects /loop/items to itself.
func loopHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/loop/items" {
			http.Redirect(w, r, "/loop/items?"+r.URL.RawQuery, http.StatusFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// runFaultCase runs the case's source through a pipeline into a fresh
// DuckDB file and checks the outcome; it returns the matrix entry.
func runFaultCase(t *testing.T, fs *faultServer, tc faultCase) string {
	t.Helper()
	items := tc.items
	if items == "" {
		items = "items"
	}
	client := fmt.Sprintf(`"base_url": %q, "paginator": {"type": "json_link", "next_url_path": "next"}`, fs.URL+"/")
	if tc.client != "" {
		client += ", " + strings.ReplaceAll(tc.client, "{base}", fs.URL+"/")
	}
	cfg := decode(t, fmt.Sprintf(`{"client": {%s},
		"resource_defaults": {"endpoint": {"data_selector": "data"}},
		"resources": [
			{"name": "other", "endpoint": {"path": "other", "paginator": "single_page"}},
			{"name": "items", "primary_key": "id", "write_disposition": "merge", "endpoint": {"path": %q}}]}`, client, items))
	src, err := NewSource(cfg, WithRetry(Retry{MaxAttempts: 5, Backoff: time.Millisecond, MaxDelay: 100 * time.Millisecond}), Logger(quietLog()))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "faults.duckdb")
	p, err := flow.NewPipeline("faults", duckdb.New(db), flow.PipelinesDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, runErr := p.Run(ctx, src)
	counts := faultCounts(t, db)
	if tc.wantErr == nil {
		if runErr != nil {
			t.Fatalf("run failed: %v", runErr)
		}
		if counts["items"] != int64(tc.rows) || counts["items_distinct"] != int64(tc.rows) || counts["other"] != 10 ||
			counts["items__tags"] != 2*int64(tc.rows) || counts["loads"] != 1 {
			t.Fatalf("loaded %v, want %d items exactly once, %d tags, 10 other, 1 load", counts, tc.rows, 2*tc.rows)
		}
		return fmt.Sprintf("ok: %d items rows after %d requests", tc.rows, fs.requests.Load())
	}
	if runErr == nil {
		t.Fatalf("run succeeded, want an error with %q", tc.wantErr)
	}
	msg := runErr.Error()
	for _, w := range tc.wantErr {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for k, n := range counts {
		if n != 0 {
			t.Errorf("failed run left %s = %d visible", k, n)
		}
	}
	return "error: " + msg + " (nothing loaded)"
}

// faultCounts reads what the DuckDB file shows: rows per table, distinct
// item ids and committed loads; missing tables count 0.
func faultCounts(t *testing.T, path string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exists := func(table string) bool {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'faults_dataset' AND table_name = ?`, table).Scan(&n); err != nil {
			if strings.Contains(err.Error(), "does not exist") {
				return false
			}
			t.Fatal(err)
		}
		return n > 0
	}
	for q, key := range map[string]string{
		"SELECT count(*) FROM faults_dataset.items":               "items",
		"SELECT count(DISTINCT id) FROM faults_dataset.items":     "items_distinct",
		"SELECT count(*) FROM faults_dataset.items__tags":         "items__tags",
		"SELECT count(*) FROM faults_dataset.other":               "other",
		"SELECT count(*) FROM faults_dataset._dlt_loads":          "loads",
		"SELECT count(*) FROM faults_dataset._dlt_pipeline_state": "states",
	} {
		table := q[strings.LastIndex(q, ".")+1:]
		if !exists(table) {
			out[key] = 0
			continue
		}
		var n int64
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out[key] = n
	}
	return out
}

// stallBody sends the start of a page and then nothing until the client
// gives up (or 10 s pass); length, when set, promises a longer body.
func stallBody(w http.ResponseWriter, r *http.Request, length string) {
	w.Header().Set("Content-Type", "application/json")
	if length != "" {
		w.Header().Set("Content-Length", length)
	}
	fmt.Fprint(w, `{"data":[{"id":21}`)
	http.NewResponseController(w).Flush()
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}
