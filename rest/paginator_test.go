package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
)

// pageOf returns rows [from, to] limited to 1..total.
func window(offset, limit, total int) []map[string]any {
	from, to := offset+1, min(offset+limit, total)
	if from > to {
		return []map[string]any{}
	}
	return rowsOf(from, to)
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func TestPaginators(t *testing.T) {
	const total = 23
	tests := []struct {
		name      string
		paginator string // JSON, or "" for none (auto)
		handler   func(srv *string) http.HandlerFunc
		want      []int64
		firstURL  string // query of the first request, when checked
	}{
		{
			name:      "json_link",
			paginator: `{"type":"json_link","next_url_path":"paging.next"}`,
			handler: func(srv *string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("p"), 0)
					body := map[string]any{"data": window(p*10, 10, total), "paging": map[string]any{"next": nil}}
					if (p+1)*10 < total {
						body["paging"] = map[string]any{"next": fmt.Sprintf("%s/items?p=%d", *srv, p+1)}
					}
					writeJSON(w, body)
				}
			},
			want: seq(1, total),
		},
		{
			name:      "json_link relative",
			paginator: `{"type":"json_link","next_url_path":"$.links.next"}`,
			handler: func(srv *string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("p"), 0)
					body := map[string]any{"items": window(p*10, 10, total), "links": map[string]any{}}
					if (p+1)*10 < total {
						body["links"] = map[string]any{"next": fmt.Sprintf("/items?p=%d", p+1)}
					}
					writeJSON(w, body)
				}
			},
			want: seq(1, total),
		},
		{
			name:      "header_link",
			paginator: `{"type":"header_link"}`,
			handler: func(srv *string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("p"), 0)
					if (p+1)*10 < total {
						w.Header().Set("Link", fmt.Sprintf(`<%s/items?p=%d>; rel="next", <%s/items?p=9>; rel="last"`, *srv, p+1, *srv))
					}
					writeJSON(w, window(p*10, 10, total))
				}
			},
			want: seq(1, total),
		},
		{
			name:      "offset with total",
			paginator: `{"type":"offset","limit":5}`,
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					q := r.URL.Query()
					writeJSON(w, map[string]any{"data": window(atoi(q.Get("offset"), -1), atoi(q.Get("limit"), -1), total), "total": total})
				}
			},
			want:     seq(1, total),
			firstURL: "limit=5&offset=0",
		},
		{
			name:      "offset without total stops on empty page",
			paginator: `{"type":"offset","limit":10,"offset_param":"skip","limit_param":"take","total_path":null}`,
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					q := r.URL.Query()
					writeJSON(w, window(atoi(q.Get("skip"), -1), atoi(q.Get("take"), -1), total))
				}
			},
			want:     seq(1, total),
			firstURL: "skip=0&take=10",
		},
		{
			name:      "offset maximum_offset",
			paginator: `{"type":"offset","limit":10,"total_path":null,"maximum_offset":20,"stop_after_empty_page":false}`,
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					q := r.URL.Query()
					writeJSON(w, window(atoi(q.Get("offset"), -1), atoi(q.Get("limit"), -1), total))
				}
			},
			want: seq(1, 20),
		},
		{
			name:      "page_number base 1 with total pages",
			paginator: `{"type":"page_number","base_page":1,"total_path":"meta.pages"}`,
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("page"), -100)
					writeJSON(w, map[string]any{"results": window((p-1)*10, 10, total), "meta": map[string]any{"pages": 3}})
				}
			},
			want:     seq(1, total),
			firstURL: "page=1",
		},
		{
			name:      "page_number base 0 until empty",
			paginator: `{"type":"page_number","page_param":"pg","total_path":null}`,
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("pg"), -100)
					writeJSON(w, map[string]any{"data": window(p*10, 10, total)})
				}
			},
			want:     seq(1, total),
			firstURL: "pg=0",
		},
		{
			name:      "page_number maximum_page",
			paginator: `{"type":"page_number","base_page":1,"maximum_page":3,"total_path":null}`,
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("page"), -100)
					writeJSON(w, map[string]any{"data": window((p-1)*5, 5, total)})
				}
			},
			want: seq(1, 10),
		},
		{
			name:      "cursor param",
			paginator: `{"type":"cursor","cursor_path":"meta.next","cursor_param":"after"}`,
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					after := atoi(r.URL.Query().Get("after"), 0)
					var next any
					if after+10 < total {
						next = strconv.Itoa(after + 10)
					}
					writeJSON(w, map[string]any{"data": window(after, 10, total), "meta": map[string]any{"next": next}})
				}
			},
			want: seq(1, total),
		},
		{
			name:      "cursor default path and param",
			paginator: `{"type":"cursor"}`,
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					c := atoi(r.URL.Query().Get("cursor"), 0)
					cur := map[string]any{}
					if c+10 < total {
						cur["next"] = c + 10
					}
					writeJSON(w, map[string]any{"data": window(c, 10, total), "cursors": cur})
				}
			},
			want: seq(1, total),
		},
		{
			name:      "single_page ignores next links",
			paginator: `"single_page"`,
			handler: func(srv *string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, map[string]any{"data": window(0, 10, total), "next": *srv + "/items?p=1"})
				}
			},
			want: seq(1, 10),
		},
		{
			name: "auto json_link",
			handler: func(srv *string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("p"), 0)
					body := map[string]any{"data": window(p*10, 10, total), "next": nil}
					if (p+1)*10 < total {
						body["next"] = fmt.Sprintf("%s/items?p=%d", *srv, p+1)
					}
					writeJSON(w, body)
				}
			},
			want: seq(1, total),
		},
		{
			name:      "auto header_link",
			paginator: `"auto"`,
			handler: func(srv *string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("p"), 0)
					if (p+1)*10 < total {
						w.Header().Set("Link", fmt.Sprintf(`<%s/items?p=%d>; rel="next"`, *srv, p+1))
					}
					writeJSON(w, window(p*10, 10, total))
				}
			},
			want: seq(1, total),
		},
		{
			// dlt fetches page 1 twice and never the last; we start from the
			// page the API reports and stop after total_pages.
			name: "auto page_number",
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("page"), 1)
					writeJSON(w, map[string]any{"data": window((p-1)*10, 10, total), "page": p, "total_pages": 3})
				}
			},
			want:     seq(1, total),
			firstURL: "",
		},
		{
			name: "auto page_number has_more",
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p := atoi(r.URL.Query().Get("page"), 0)
					writeJSON(w, map[string]any{"items": window(p*10, 10, total), "meta": map[string]any{"page": p, "has_more": (p+1)*10 < total}})
				}
			},
			want: seq(1, total),
		},
		{
			name: "auto offset",
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					q := r.URL.Query()
					off, lim := atoi(q.Get("offset"), 0), atoi(q.Get("limit"), 10)
					writeJSON(w, map[string]any{"results": window(off, lim, total), "offset": off, "limit": lim, "count": total})
				}
			},
			want: seq(1, total),
		},
		{
			name: "auto single page",
			handler: func(*string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, map[string]any{"data": window(0, 7, total), "meta": map[string]any{"generated": "now"}})
				}
			},
			want: seq(1, 7),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var queries []string
			var base string
			h := tc.handler(&base)
			srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				queries = append(queries, r.URL.RawQuery)
				mu.Unlock()
				h(w, r)
			}})
			base = srv.URL
			pag := ""
			if tc.paginator != "" {
				pag = `,"paginator":` + tc.paginator
			}
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q%s},"resources":["items"]}`, srv.URL, pag))
			rows := collect(t, cfg, "items")
			if got := ids(rows); !slices.Equal(got, tc.want) {
				t.Fatalf("ids = %v, want %v", got, tc.want)
			}
			if tc.firstURL != "" || strings.HasPrefix(tc.name, "auto page_number") {
				if queries[0] != tc.firstURL {
					t.Errorf("first request query = %q, want %q", queries[0], tc.firstURL)
				}
			}
			seen := map[string]bool{}
			for _, q := range queries {
				if seen[q] {
					t.Errorf("page %q fetched twice", q)
				}
				seen[q] = true
			}
		})
	}
}

func TestAutoPaginatorFailsLoudly(t *testing.T) {
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"data": rowsOf(1, 3), "next_cursor": "abc"})
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["items"]}`, srv.URL))
	_, err := tryCollect(cfg, "items")
	if err == nil || !strings.Contains(err.Error(), "could not detect the paginator") || !strings.Contains(err.Error(), "next_cursor") {
		t.Fatalf("err = %v, want a paginator detection error naming next_cursor", err)
	}
}

func TestCursorBodyPathPOST(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	srv := serve(t, map[string]http.HandlerFunc{"/search": func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "want POST", 405)
			return
		}
		var body map[string]any
		_ = jsonDecode(r, &body)
		mu.Lock()
		bodies = append(bodies, fmt.Sprint(body))
		mu.Unlock()
		page, _ := body["page"].(map[string]any)
		after := 0
		if page != nil {
			after = int(page["after"].(float64))
		}
		var next any
		if after+5 < 12 {
			next = after + 5
		}
		writeJSON(w, map[string]any{"hits": window(after, 5, 12), "next": next})
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"s","endpoint":{"path":"search","method":"POST",
		"json":{"q":"x"},"data_selector":"hits","paginator":{"type":"cursor","cursor_path":"next","cursor_body_path":"page.after"}}}]}`, srv.URL))
	rows := collect(t, cfg, "s")
	if got := ids(rows); !slices.Equal(got, seq(1, 12)) {
		t.Fatalf("ids = %v", got)
	}
	if bodies[0] != "map[q:x]" || bodies[1] != "map[page:map[after:5] q:x]" {
		t.Fatalf("bodies = %v", bodies)
	}
}

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

func TestCustomPaginator(t *testing.T) {
	RegisterPaginator("test_two_pages", func(p map[string]any) (PaginatorFactory, error) {
		o, _ := newObj("", p)
		param, _, err := o.str("param")
		if err != nil {
			return nil, err
		}
		return func() Paginator { return &twoPages{param: param} }, o.done()
	})
	srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
		p := atoi(r.URL.Query().Get("n"), 0)
		writeJSON(w, window(p*2, 2, 10))
	}})
	cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":{"type":"test_two_pages","param":"n"}},"resources":["items"]}`, srv.URL))
	if got := ids(collect(t, cfg, "items")); !slices.Equal(got, seq(1, 4)) {
		t.Fatalf("ids = %v", got)
	}
}

func TestDetectPaginator(t *testing.T) {
	tests := []struct {
		body string
		link string
		want string // prefix of the description, or "error"
	}{
		{`{"data":[],"next":""}`, "", "json_link (next_url_path: next, last page)"},
		{`{"data":[{}],"_links":{"next":{"href":"/x?p=2"}}}`, "", "json_link (next_url_path: _links.next.href)"},
		{`{"data":[{}],"@odata.nextLink":"https://x/y?skip=2"}`, "", "json_link (next_url_path: $['@odata.nextLink'])"},
		{`[{}]`, `<https://x/y?p=2>; rel="next"`, "header_link"},
		{`{"data":[{}],"meta":{"current_page":1,"last_page":4}}`, "", "page_number (page_param: page, base_page: 1, maximum_page: 5)"},
		{`{"data":[{}],"page":0,"per_page":10,"total":25}`, "", "page_number (page_param: page, base_page: 0, 25 items of 10 per page)"},
		{`{"data":[{}],"pagination":{"skip":0,"limit":2,"total":9}}`, "", "offset (offset_param: skip, limit_param: limit, limit: 2, total_path: pagination.total)"},
		{`{"data":[{}],"offset":0}`, "", "offset (offset_param: offset, limit_param: limit, limit: 1, until an empty page)"},
		{`{"data":[{}],"has_more":true}`, "", "error"},
		{`{"data":[{}],"total":10}`, "", "error"},
		{`{"data":[{}],"total":1}`, "", "single_page"},
		{`{"id":1}`, "", "single_page"},
	}
	for _, tc := range tests {
		root := fastjson.MustParse(tc.body)
		resp := &Response{StatusCode: 200, Header: http.Header{}, json: root}
		if tc.link != "" {
			resp.Header.Set("Link", tc.link)
		}
		_, desc, err := detectPaginator(resp, selectData(root, nil))
		if tc.want == "error" {
			if err == nil {
				t.Errorf("%s: want an error, got %s", tc.body, desc)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(desc, tc.want) {
			t.Errorf("%s: got %q, %v; want %q", tc.body, desc, err, tc.want)
		}
	}
}

// TestDetectPaginatorErrors: what detection cannot use is said in whole
// clauses about the first response.
func TestDetectPaginatorErrors(t *testing.T) {
	const (
		pre  = "could not detect the paginator from the first response: "
		post = "; set endpoint.paginator (paginator: single_page loads the first page only)"
	)
	tests := []struct {
		body, want string
	}{
		{`{"data":[{},{}],"total":25}`, "total says there are 25 items but the page has 2"},
		{`{"data":[{}],"meta":{"total_count":"9"}}`, "meta.total_count says there are 9 items but the page has 1"},
		{`{"data":[{}],"has_more":true}`, "has_more is true but there is no next link, page number or offset to follow"},
		{`{"data":[{}],"next_cursor":"abc"}`, "it has a cursor at next_cursor (paginator type cursor with cursor_path: next_cursor follows it)"},
		{`{"data":[{}],"next":"abc"}`, "next is set but is not a URL"},
		{`{"data":[{}],"page":1}`, "it has a page number at page but no total, page count or has_more to tell when to stop"},
		{`{"data":[{}],"total_pages":3}`, "total_pages says there are 3 pages but there is no page number to follow"},
		{`{"data":[{}],"paging":{"cursor":"x"},"count":5}`, "it has a cursor at paging.cursor (paginator type cursor with cursor_path: paging.cursor follows it); count says there are 5 items but the page has 1"},
	}
	for _, tc := range tests {
		root := fastjson.MustParse(tc.body)
		resp := &Response{StatusCode: 200, Header: http.Header{}, json: root}
		_, _, err := detectPaginator(resp, selectData(root, nil))
		if want := pre + tc.want + post; err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tc.body, err, want)
		}
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

// checkLimit3 runs resource items of cfg limited to 3 pages (of 10 rows)
// and checks that only those were requested.
func checkLimit3(t *testing.T, cfg *Config, calls *atomic.Int64, opts ...SourceOption) {
	t.Helper()
	src, err := NewSource(cfg, append([]SourceOption{WithRetry(fastRetry), Logger(quietLog())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	items, err := flow.Collect(context.Background(), src.Resource("items").Limit(3, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 30 || calls.Load() != 3 {
		t.Errorf("%d items from %d requests, want 30 from 3", len(items), calls.Load())
	}
}

// TestLinkLookahead: with json_link and cursor (when the raw body shows the
// link or cursor for certain) and header_link, the next page is requested while this one is
// parsed; every page is still requested once and its rows kept in order,
// and a resource limit is not overstepped by the page requested ahead.
func TestLinkLookahead(t *testing.T) {
	const pages = 4
	for _, tc := range []struct {
		name      string
		paginator string
		body      func(page int, next string) string // next "" on the last page
		header    bool
		ahead     bool // page 2 is requested before page 1 is parsed
	}{
		{name: "json_link last member", paginator: `{"type":"json_link","next_url_path":"next"}`, ahead: true,
			body: func(page int, next string) string {
				return fmt.Sprintf(`{"data":%s,"next":%s}`, rowsJSON(page), quoteOrNull(next))
			}},
		{name: "json_link before the data", paginator: `{"type":"json_link","next_url_path":"next"}`, ahead: true,
			body: func(page int, next string) string {
				return fmt.Sprintf(`{"count": 40, "next" : %s, "previous":null,"data":%s}`, quoteOrNull(next), rowsJSON(page))
			}},
		{name: "json_link escaped", paginator: `{"type":"json_link","next_url_path":"$.next"}`, ahead: true,
			body: func(page int, next string) string {
				return fmt.Sprintf(`{"data":%s,"next":%s}`, rowsJSON(page), strings.ReplaceAll(quoteOrNull(next), "/", `\/`))
			}},
		{name: "json_link key also in rows", paginator: `{"type":"json_link","next_url_path":"next"}`,
			body: func(page int, next string) string {
				return fmt.Sprintf(`{"data":[{"id":%d,"next":"x"}],"next":%s}`, page, quoteOrNull(next))
			}},
		{name: "json_link nested path", paginator: `{"type":"json_link","next_url_path":"links.next"}`,
			body: func(page int, next string) string {
				return fmt.Sprintf(`{"data":%s,"links":{"next":%s}}`, rowsJSON(page), quoteOrNull(next))
			}},
		{name: "cursor", paginator: `{"type":"cursor","cursor_path":"cursor","cursor_param":"page"}`, ahead: true,
			body: func(page int, next string) string {
				cursor := "null"
				if next != "" {
					cursor = fmt.Sprintf(`"%d"`, page+1)
				}
				return fmt.Sprintf(`{"data":%s,"cursor":%s}`, rowsJSON(page), cursor)
			}},
		{name: "cursor number", paginator: `{"type":"cursor","cursor_path":"cursor","cursor_param":"page"}`,
			body: func(page int, next string) string {
				cursor := "null"
				if next != "" {
					cursor = strconv.Itoa(page + 1)
				}
				return fmt.Sprintf(`{"data":%s,"cursor":%s}`, rowsJSON(page), cursor)
			}},
		{name: "header_link", paginator: `{"type":"header_link"}`, header: true, ahead: true,
			body: func(page int, next string) string { return fmt.Sprintf(`{"data":%s}`, rowsJSON(page)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					mu       sync.Mutex
					requests []int
				)
				requested2 := make(chan struct{})
				var srvURL string
				srv := serveMem(map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
					page := atoi(r.URL.Query().Get("page"), 1)
					mu.Lock()
					requests = append(requests, page)
					mu.Unlock()
					if page == 2 {
						close(requested2)
					}
					next := ""
					if page < pages {
						next = fmt.Sprintf("%s/items?page=%d", srvURL, page+1)
					}
					if tc.header && next != "" {
						w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
					}
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, tc.body(page, next))
				}})
				srvURL = srv.URL
				// Parsing page 1 waits (300ms of fake time) for page 2's request.
				var aheadSeen atomic.Bool
				testHookParse = func(r *Request) {
					if r.URL.Query().Get("page") != "" {
						return
					}
					select {
					case <-requested2:
						aheadSeen.Store(true)
					case <-time.After(300 * time.Millisecond):
					}
				}
				t.Cleanup(func() { testHookParse = nil })
				cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":%s},"resources":["items"]}`, srv.URL, tc.paginator))
				rows := collect(t, cfg, "items", srv.Option())
				if got := ids(rows); !slices.Equal(got, seq(1, int64(len(got)))) || len(got) < pages {
					t.Errorf("ids = %v, want 1..n over %d pages", got, pages)
				}
				if !slices.Equal(requests, []int{1, 2, 3, 4}) {
					t.Errorf("requests for pages %v, want each of 1-4 once", requests)
				}
				if aheadSeen.Load() != tc.ahead {
					t.Errorf("page 2 requested before page 1 was parsed: %v, want %v", aheadSeen.Load(), tc.ahead)
				}
			})
		})
	}
	t.Run("limit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int64
			var srvURL string
			srv := serveMem(map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				page := atoi(r.URL.Query().Get("page"), 1)
				io.WriteString(w, fmt.Sprintf(`{"data":%s,"next":"%s/items?page=%d"}`, rowsJSON(page), srvURL, page+1))
			}})
			srvURL = srv.URL
			// A slow parse of the last page lets a page requested ahead of it
			// reach the server.
			testHookParse = func(r *Request) {
				if r.URL.Query().Get("page") == "3" {
					time.Sleep(100 * time.Millisecond)
				}
			}
			t.Cleanup(func() { testHookParse = nil })
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":{"type":"json_link","next_url_path":"next"}},"resources":["items"]}`, srv.URL))
			checkLimit3(t, cfg, &calls, srv.Option())
		})
	})
}

// rowsJSON is page's 10 rows, ids 10*(page-1)+1 on.
func rowsJSON(page int) string {
	b, _ := json.Marshal(rowsOf(10*(page-1)+1, 10*page))
	return string(b)
}

func quoteOrNull(s string) string {
	if s == "" {
		return "null"
	}
	return strconv.Quote(s)
}

// stopOnEmptyLink is a user's paginator: json_link that also stops at the
// first page without rows. It embeds *JSONLink and overrides Next only.
type stopOnEmptyLink struct{ *JSONLink }

func (p stopOnEmptyLink) Next(resp *Response, rows []*fastjson.Value, req *Request) (bool, error) {
	if len(rows) == 0 {
		return false, nil
	}
	return p.JSONLink.Next(resp, rows, req)
}

// TestLookaheadLimits: no page is requested ahead where that would change
// what paging does: a paginator embedding JSONLink keeps its own Next, an
// HTML page or a POST endpoint is not followed by a request ahead, and a
// panic in a response hook of a page requested ahead (or planned) fails the
// run with a *flow.PanicError instead of ending the process.
func TestLookaheadLimits(t *testing.T) {
	// pagesServer serves pages with a next link in the header and (as body
	// wants) in the body; requests returns the pages requested so far.
	pagesServer := func(body func(page int, next string) string) (srv *memServer, requests func() []int) {
		var mu sync.Mutex
		var pages []int
		var srvURL string
		srv = serveMem(map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
			page := atoi(r.URL.Query().Get("page"), 1)
			mu.Lock()
			pages = append(pages, page)
			mu.Unlock()
			next := fmt.Sprintf("%s/items?page=%d", srvURL, page+1)
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
			io.WriteString(w, body(page, next))
		}})
		srvURL = srv.URL
		return srv, func() []int {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(pages)
		}
	}
	// A slow parse (in fake time) gives a request sent ahead the time to
	// reach the server.
	testHookParse = func(*Request) { time.Sleep(30 * time.Millisecond) }
	t.Cleanup(func() { testHookParse = nil })

	t.Run("embedded JSONLink", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv, requests := pagesServer(func(page int, next string) string {
				data := "[]"
				if page <= 3 {
					data = rowsJSON(page)
				}
				if page == 8 {
					next = ""
				}
				return fmt.Sprintf(`{"data":%s,"next":%s}`, data, quoteOrNull(next))
			})
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":["items"]}`, srv.URL))
			cfg.Client.Paginator = &PaginatorConfig{New: func() Paginator {
				jl, _ := NewJSONLink("next")
				return stopOnEmptyLink{jl}
			}}
			collect(t, cfg, "items", srv.Option())
			if got := requests(); !slices.Equal(got, []int{1, 2, 3, 4}) {
				t.Errorf("requested pages %v, want [1 2 3 4]: the paginator's Next stops at the empty page 4", got)
			}
		})
	})
	t.Run("HTML page", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv, requests := pagesServer(func(int, string) string { return `<html><body>maintenance</body></html>` })
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":"header_link"},"resources":["items"]}`, srv.URL))
			if _, err := tryCollect(cfg, "items", srv.Option()); err == nil || !strings.Contains(err.Error(), "not JSON") {
				t.Errorf("err = %v, want not JSON", err)
			}
			if got := requests(); len(got) != 1 {
				t.Errorf("requested pages %v, want [1]", got)
			}
		})
	})
	t.Run("POST", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv, requests := pagesServer(func(page int, next string) string {
				if page == 2 {
					return `{"data":[],"next":null}`
				}
				return fmt.Sprintf(`{"data":%s,"next":%q}`, rowsJSON(page), next)
			})
			var aheadSeen atomic.Bool
			testHookParse = func(r *Request) {
				time.Sleep(30 * time.Millisecond)
				if r.URL.Query().Get("page") == "" && len(requests()) > 1 {
					aheadSeen.Store(true)
				}
			}
			cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q},"resources":[{"name":"items","endpoint":{"method":"POST","json":{"q":1},"paginator":{"type":"json_link","next_url_path":"next"}}}]}`, srv.URL))
			collect(t, cfg, "items", srv.Option())
			if got := requests(); aheadSeen.Load() || !slices.Equal(got, []int{1, 2}) {
				t.Errorf("requested pages %v (page 2 before page 1 was parsed: %v), want [1 2] one by one", got, aheadSeen.Load())
			}
		})
	})
	t.Run("panic in a hook", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			links, _ := pagesServer(func(page int, next string) string {
				return fmt.Sprintf(`{"data":%s,"next":%q}`, rowsJSON(page), next)
			})
			planned := serveMem(map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
				off := atoi(r.URL.Query().Get("offset"), 0)
				writeJSON(w, map[string]any{"data": window(off, 10, 50), "total": 50})
			}})
			for _, tc := range []struct {
				srv                     *memServer
				paginator, param, value string
			}{
				{links, `{"type":"json_link","next_url_path":"next"}`, "page", "2"}, // requested ahead
				{planned, `{"type":"offset","limit":10}`, "offset", "20"},           // planned
			} {
				cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":%s},"resources":["items"]}`, tc.srv.URL, tc.paginator))
				hook := ResponseAction{Hook: func(ctx context.Context, resp *Response) error {
					if resp.Request.URL.Query().Get(tc.param) == tc.value {
						panic("kaboom")
					}
					return nil
				}}
				_, err := tryCollect(cfg, "items", ResponseActions("items", hook), tc.srv.Option())
				var pe *flow.PanicError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), "panic: kaboom") {
					t.Errorf("%s: err = %v, want a *flow.PanicError", tc.paginator, err)
				}
			}
		})
	})
}

// TestLookaheadFaults: a fault on the page requested ahead (retried 429
// and 503, an ignored 404, a 400) plays out as it does paging one by one:
// the same rows, requests and error.
func TestLookaheadFaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    func(w http.ResponseWriter, page, attempt int) bool
		endpoint string
		ids      []int64
		requests []int
		err      string
	}{
		{name: "retried", fault: func(w http.ResponseWriter, page, attempt int) bool {
			switch {
			case page == 3 && attempt <= 2:
				w.Header().Set("Retry-After", "0.02")
				http.Error(w, "slow", http.StatusTooManyRequests)
			case page == 2 && attempt == 1:
				http.Error(w, "x", http.StatusServiceUnavailable)
			default:
				return false
			}
			return true
		}, ids: seq(1, 40), requests: []int{1, 2, 2, 3, 3, 3, 4}},
		{name: "ignored", fault: func(w http.ResponseWriter, page, _ int) bool {
			if page == 3 {
				http.Error(w, "gone", http.StatusNotFound)
			}
			return page == 3
		}, endpoint: `,"response_actions":[{"status_code":404,"action":"ignore"}]`, ids: seq(1, 20), requests: []int{1, 2, 3}},
		{name: "failed", fault: func(w http.ResponseWriter, page, _ int) bool {
			if page == 2 {
				http.Error(w, "bad", http.StatusBadRequest)
			}
			return page == 2
		}, ids: seq(1, 10), requests: []int{1, 2}, err: "rest: GET /items: 400 Bad Request"},
	} {
		for _, paginator := range []string{`{"type":"json_link","next_url_path":"next"}`, `{"type":"header_link"}`} {
			t.Run(tc.name+" "+paginator, func(t *testing.T) {
				var mu sync.Mutex
				var requests []int
				attempts := map[int]int{}
				var srvURL string
				srv := serve(t, map[string]http.HandlerFunc{"/items": func(w http.ResponseWriter, r *http.Request) {
					page := atoi(r.URL.Query().Get("page"), 1)
					mu.Lock()
					requests = append(requests, page)
					attempts[page]++
					attempt := attempts[page]
					mu.Unlock()
					if tc.fault(w, page, attempt) {
						return
					}
					next := ""
					if page < 4 {
						next = fmt.Sprintf("%s/items?page=%d", srvURL, page+1)
						w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
					}
					io.WriteString(w, fmt.Sprintf(`{"data":%s,"next":%s}`, rowsJSON(page), quoteOrNull(next)))
				}})
				srvURL = srv.URL
				cfg := decode(t, fmt.Sprintf(`{"client":{"base_url":%q,"paginator":%s},"resources":[{"name":"items","endpoint":{"path":"items"%s}}]}`, srv.URL, paginator, tc.endpoint))
				src, err := NewSource(cfg, WithRetry(fastRetry), Logger(quietLog()))
				if err != nil {
					t.Fatal(err)
				}
				items, err := flow.Collect(context.Background(), src.Resource("items"))
				if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err = %v, want %q", err, tc.err)
				}
				var got []int64
				for _, it := range items {
					got = append(got, it.(map[string]any)["id"].(int64))
				}
				if !slices.Equal(got, tc.ids) {
					t.Errorf("ids = %v, want %v", got, tc.ids)
				}
				mu.Lock()
				defer mu.Unlock()
				if !slices.Equal(requests, tc.requests) {
					t.Errorf("requests for pages %v, want %v", requests, tc.requests)
				}
			})
		}
	}
}
