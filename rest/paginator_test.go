package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

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
