package rest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestPrefetchKnownTotal(t *testing.T) {
	var mu sync.Mutex
	inFlight, maxInFlight, calls := 0, 0, 0
	release := make(chan struct{})
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		off := atoi(r.URL.Query().Get("offset"), -1)
		mu.Lock()
		calls++
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		if inFlight >= 4 {
			select {
			case <-release:
			default:
				close(release)
			}
		}
		mu.Unlock()
		if off > 0 {
			<-release // hold until several pages are in flight at once
		}
		writeJSON(w, map[string]any{"data": window(off, 10, 95), "total": 95})
		mu.Lock()
		inFlight--
		mu.Unlock()
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"items","endpoint":{"paginator":{"type":"offset","limit":10}}}]}`, srv.URL))
	rows := collect(t, cfg, "items")
	if got := ids(rows); !slices.Equal(got, seq(1, 95)) {
		t.Fatalf("ids = %v", got)
	}
	// Pages finish in any order but are handed on in page order.
	for i, r := range rows {
		if r["id"] != int64(i+1) {
			t.Fatalf("row %d has id %v: pages out of order", i, r["id"])
		}
	}
	if calls != 10 || maxInFlight < 4 {
		t.Fatalf("calls = %d, max in flight = %d; want 10 calls with >= 4 concurrent", calls, maxInFlight)
	}
}

// TestPrefetchParsesInOrder: planned pages are fetched ahead as bytes and
// parsed one at a time as they are handed on, in page order, however the
// responses arrive: parsed pages waiting in the window cost the garbage
// collector and the CPU caches (a nested load peaked at 1.2 GB).
func TestPrefetchParsesInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var parsed []int
		testHookParse = func(r *Request) {
			mu.Lock()
			parsed = append(parsed, atoi(r.URL.Query().Get("offset"), -1))
			mu.Unlock()
		}
		t.Cleanup(func() { testHookParse = nil })
		srv := serveMem(map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
			off := atoi(r.URL.Query().Get("offset"), -1)
			if off > 0 {
				// Later pages answer first.
				time.Sleep(time.Duration(100-off) * time.Millisecond)
			}
			writeJSON(w, map[string]any{"data": window(off, 10, 95), "total": 95})
		}})
		cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"items","endpoint":{"paginator":{"type":"offset","limit":10}}}]}`, srv.URL))
		if got := ids(collect(t, cfg, "items", srv.Option())); !slices.Equal(got, seq(1, 95)) {
			t.Fatalf("ids = %v", got)
		}
		if want := []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}; !slices.Equal(parsed, want) {
			t.Fatalf("pages parsed in the order %v, want %v", parsed, want)
		}
	})
}

// TestPrefetchStopsAtEmptyPage: planned pages still end at the first empty
// page (stop_after_empty_page, dlt's default), which APIs that overstate
// their total need; the requests past it stay bounded.
func TestPrefetchStopsAtEmptyPage(t *testing.T) {
	// gap's page 1 is empty; page 2 holds ids 21-25.
	gap := func(p int) []map[string]any {
		if p == 1 {
			return nil
		}
		return window(p*10, 10, 25)
	}
	tests := []struct {
		name, paginator string
		total           int
		rows            func(page int) []map[string]any // page: 0-based
		want            []int64
		maxCalls        int
	}{
		{
			name: "overstated total", paginator: `{"type":"offset","limit":10}`, total: 100_000,
			rows: func(p int) []map[string]any { return window(p*10, 10, 25) },
			want: seq(1, 25), maxCalls: 3 + DefaultMaxConcurrency + 1,
		},
		{
			name: "empty page before the last", paginator: `{"type":"offset","limit":10}`, total: 40,
			rows: gap,
			want: seq(1, 10), maxCalls: 4,
		},
		{
			name: "page_number, empty page before the last", paginator: `{"type":"page_number","base_page":1}`, total: 4,
			rows: gap,
			want: seq(1, 10), maxCalls: 4,
		},
		{
			name: "stop_after_empty_page false", paginator: `{"type":"offset","limit":10,"stop_after_empty_page":false}`, total: 40,
			rows: gap,
			want: append(seq(1, 10), seq(21, 25)...), maxCalls: 4,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				q := r.URL.Query()
				p := atoi(q.Get("offset"), 0) / 10
				if q.Has("page") {
					p = atoi(q.Get("page"), 1) - 1
				}
				rows := tc.rows(p)
				if rows == nil {
					rows = []map[string]any{}
				}
				writeJSON(w, map[string]any{"data": rows, "total": tc.total})
			}})
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":%s},"resources":["items"]}`, srv.URL, tc.paginator))
			if got := ids(collect(t, cfg, "items")); !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
			if n := calls.Load(); n > int64(tc.maxCalls) {
				t.Errorf("%d requests, want at most %d", n, tc.maxCalls)
			}
		})
	}
}

// TestRangeBodyPathsPOST: offset and page_number put their values in the
// JSON body of a POST when given *_body_path, as dlt's paginators do.
func TestRangeBodyPathsPOST(t *testing.T) {
	tests := []struct {
		name, paginator string
		first, second   string // the bodies of the first two requests
	}{
		{"offset", `{"type":"offset","limit":5,"offset_body_path":"page.offset","limit_body_path":"page.limit","total_path":"total"}`,
			"map[page:map[limit:5 offset:0] q:x]", "map[page:map[limit:5 offset:5] q:x]"},
		{"page_number", `{"type":"page_number","base_page":1,"page_body_path":"p","total_path":"pages"}`,
			"map[p:1 q:x]", "map[p:2 q:x]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			bodies := map[string]bool{}
			srv := serve(t, map[string]http.HandlerFunc{"/search": func(w http.ResponseWriter, r *http.Request) {
				if len(r.URL.RawQuery) > 0 {
					http.Error(w, "no query params expected: "+r.URL.RawQuery, 400)
					return
				}
				var body map[string]any
				_ = jsonDecode(r, &body)
				mu.Lock()
				bodies[fmt.Sprint(body)] = true
				mu.Unlock()
				off := 0
				if pg, ok := body["page"].(map[string]any); ok {
					off = int(pg["offset"].(float64))
				} else if p, ok := body["p"].(float64); ok {
					off = (int(p) - 1) * 5
				}
				writeJSON(w, map[string]any{"hits": window(off, 5, 12), "total": 12, "pages": 3})
			}})
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"s","endpoint":{"path":"search","method":"POST",
				"json":{"q":"x"},"data_selector":"hits","paginator":%s}}]}`, srv.URL, tc.paginator))
			if got := ids(collect(t, cfg, "s")); !slices.Equal(got, seq(1, 12)) {
				t.Fatalf("ids = %v", got)
			}
			if !bodies[tc.first] || !bodies[tc.second] || len(bodies) != 3 {
				t.Errorf("bodies = %v, want %s, %s and a third", bodies, tc.first, tc.second)
			}
		})
	}
	_, err := DecodeConfig(map[string]any{"client": map[string]any{"base_url": "http://x", "paginator": map[string]any{
		"type": "offset", "limit": 5, "offset_param": "o", "offset_body_path": "o"}}, "resources": []any{"r"}}, "source")
	if err == nil || !strings.Contains(err.Error(), "offset_body_path") || !strings.Contains(err.Error(), "not both") {
		t.Errorf("param and body path together: err = %v", err)
	}
}

// TestPrefetchWithinLimit: a resource limit (add_limit) caps the planned
// pages requested, not only the pages kept.
func TestPrefetchWithinLimit(t *testing.T) {
	var calls atomic.Int64
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		off := atoi(r.URL.Query().Get("offset"), 0)
		writeJSON(w, map[string]any{"data": window(off, 10, 500), "total": 500})
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":{"type":"offset","limit":10}},"resources":["items"]}`, srv.URL))
	checkLimit3(t, cfg, &calls)
}
