package rest

import (
	"context"
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

	"github.com/sluicehq/sluice/flow"
)

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
