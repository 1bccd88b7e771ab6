package rest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
)

// bigRows writes rows from..to as JSON objects with some text, so that a
// few of them fill a part.
func bigRows(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"row %d with a few words","tags":["a","b"],"meta":{"n":%d}}`, i, i, i)
	}
	return b.String()
}

// wrappedRows writes bigRows from..to each wrapped as {"row":{...}}, so
// that a selector reaching into the elements ("data[*].row") finds them.
func wrappedRows(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"row":%s,"n":%d}`, bigRows(i, i), i)
	}
	return b.String()
}

// countBatches is a processing step counting the batches it sees.
func countBatches(n *atomic.Int64) ProcessingStep {
	return ProcessingStep{Step: func(_ context.Context, b flow.Batch) (flow.Batch, error) {
		n.Add(1)
		return b, nil
	}}
}

// TestBigPageInParts: the rows of a page of at least bigPageBytes go on
// in batches of about partBytes of rows, not as one page-sized batch,
// and land whole, whatever the selector and paginator.
func TestBigPageInParts(t *testing.T) {
	smallParts(t, 8<<10, 2<<10, 2<<10)
	const perPage = 300 // about 25 KB a page: 12 parts or so
	var srvURL string
	srv := serve(t, map[string]http.HandlerFunc{
		"/data": func(w http.ResponseWriter, r *http.Request) {
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			next := "null"
			if page == 0 {
				next = strconv.Quote(srvURL + "/data?page=1")
			}
			fmt.Fprintf(w, `{"meta":{"page":%d},"data":[%s],"next":%s}`, page, bigRows(page*perPage+1, (page+1)*perPage), next)
		},
		"/root": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `[%s,null]`, bigRows(1, perPage))
		},
		"/offset": func(w http.ResponseWriter, r *http.Request) {
			off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			fmt.Fprintf(w, `{"results":{"items":[%s]},"total":%d}`, bigRows(off+1, off+perPage), 3*perPage)
		},
		"/sideload": func(w http.ResponseWriter, r *http.Request) {
			// The big list is not the rows: the skeleton's rows are.
			fmt.Fprintf(w, `{"data":{"id":1},"included":[%s]}`, bigRows(2, perPage))
		},
		"/wrapped": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"data":[%s,null,{"other":1}],"meta":{"total":%d}}`, wrappedRows(1, perPage), perPage)
		},
		"/entity/1": func(w http.ResponseWriter, r *http.Request) {
			// The one row holds the big list: parsed whole.
			fmt.Fprintf(w, `{"id":1,"children":[%s]}`, bigRows(2, perPage))
		},
	})
	srvURL = srv.URL
	for _, tc := range []struct {
		name     string
		endpoint string
		want     int  // rows
		parts    bool // handed on in several batches a page
	}{
		{"json_link after the rows", `{"path":"data","data_selector":"data","paginator":{"type":"json_link","next_url_path":"next"}}`, 2 * perPage, true},
		{"selector with [*]", `{"path":"data","data_selector":"$.data[*]","paginator":"single_page"}`, perPage, true},
		{"auto-detected rows and paginator", `{"path":"data"}`, 2 * perPage, true},
		{"root list with a null", `{"path":"root"}`, perPage, true},
		{"offset pages fetched ahead", `{"path":"offset","data_selector":"results.items","paginator":{"type":"offset","limit":300}}`, 3 * perPage, true},
		{"selector into each element", `{"path":"wrapped","data_selector":"data[*].row","paginator":"single_page"}`, perPage, true},
		{"selector into each element, auto paginator", `{"path":"wrapped","data_selector":"$.data.*.row"}`, perPage, true},
		{"recursive selector, parsed whole", `{"path":"wrapped","data_selector":"$..row","paginator":"single_page"}`, perPage, true},
		{"a big list beside the rows", `{"path":"sideload","data_selector":"data","paginator":"single_page"}`, 1, false},
		{"a row holding a big list", `{"path":"entity/1","data_selector":"$","paginator":"single_page"}`, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/"},"resources":[{"name":"items","endpoint":`+tc.endpoint+`}]}`)
			var batches atomic.Int64
			rows := collect(t, cfg, "items", ProcessingSteps("items", countBatches(&batches)))
			if len(rows) != tc.want {
				t.Fatalf("%d rows, want %d", len(rows), tc.want)
			}
			if tc.want > 1 {
				if got := ids(rows); len(got) != tc.want || got[0] != 1 || got[len(got)-1] != int64(tc.want) {
					t.Fatalf("ids %v..., want 1..%d", got[:3], tc.want)
				}
			}
			pages := max(int64(tc.want/perPage), 1)
			if n := batches.Load(); tc.parts != (n > pages) {
				t.Errorf("%d batches for %d pages; want them in parts: %v", n, pages, tc.parts)
			}
		})
	}
}

// TestBigPageLimited: under add_limit (which counts batches as pages) a big
// page goes on as one batch, so a limit of one page loads the whole page,
// in parts or parsed whole.
func TestBigPageLimited(t *testing.T) {
	smallParts(t, 8<<10, 2<<10, 2<<10)
	srv := serve(t, map[string]http.HandlerFunc{
		"/data": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"data":[%s]}`, bigRows(1, 300))
		},
		"/wrapped": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"data":[%s]}`, wrappedRows(1, 300))
		},
	})
	for _, tc := range []struct{ name, endpoint string }{
		{"rows in parts", `{"path":"data","paginator":"single_page"}`},
		{"selector into each element", `{"path":"wrapped","data_selector":"data[*].row","paginator":"single_page"}`},
		{"recursive selector, parsed whole", `{"path":"wrapped","data_selector":"$..row","paginator":"single_page"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/"},"resources":[{"name":"items","endpoint":`+tc.endpoint+`}]}`)
			src, err := NewSource(cfg, Logger(quietLog()))
			if err != nil {
				t.Fatal(err)
			}
			items, err := flow.Collect(context.Background(), src.Resource("items").Limit(1, 0))
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 300 {
				t.Fatalf("%d rows under a limit of 1 page, want the page's 300", len(items))
			}
		})
	}
}

// TestBigPageBrokenInside: a big page that stops being JSON after some of
// its parts went on fails the run with the offset, and loads nothing.
func TestBigPageBrokenInside(t *testing.T) {
	smallParts(t, 8<<10, 2<<10, 2<<10)
	srv := serve(t, map[string]http.HandlerFunc{"/data": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":[%s,{"id":301,"name":"oops" "x"}]}`, bigRows(1, 300))
	}})
	cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/"},"resources":[{"name":"items","endpoint":{"path":"data","paginator":"single_page"}}]}`)
	_, err := tryCollect(cfg, "items")
	if err == nil || !strings.Contains(err.Error(), "200 response is not valid JSON") || !strings.Contains(err.Error(), `at byte`) || !strings.Contains(err.Error(), `oops\" \"x`) {
		t.Fatalf("error %v, want not valid JSON at the bad byte", err)
	}
}

// TestBigPagesAhead: pages are requested ahead of the one being handed on
// (planned offset pages, or the next link), but big ones only as many as
// aheadBytes holds with it (here none), not the client's concurrency.
func TestBigPagesAhead(t *testing.T) {
	smallParts(t, 8<<10, 2<<10, 2<<10)
	old := aheadBytes
	aheadBytes = 40 << 10 // one page of about 25 KB, not two
	t.Cleanup(func() { aheadBytes = old })
	const perPage, pages = 300, 8
	var served atomic.Int64
	var srvURL string
	srv := serve(t, map[string]http.HandlerFunc{
		"/offset": func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			fmt.Fprintf(w, `{"items":[%s],"total":%d}`, bigRows(off+1, off+perPage), pages*perPage)
		},
		"/linked": func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			next := "null"
			if off+perPage < pages*perPage {
				next = strconv.Quote(fmt.Sprintf("%s/linked?offset=%d", srvURL, off+perPage))
			}
			fmt.Fprintf(w, `{"items":[%s],"next":%s}`, bigRows(off+1, off+perPage), next)
		},
	})
	srvURL = srv.URL
	for _, tc := range []struct {
		name, endpoint string
		ahead          int64 // pages requested beyond the one handed on
	}{
		{"planned", `{"path":"offset","data_selector":"items","paginator":{"type":"offset","limit":300}}`, 0},
		{"linked", `{"path":"linked","data_selector":"items","paginator":{"type":"json_link","next_url_path":"next"}}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			served.Store(0)
			cfg := decode(t, `{"client":{"base_url":"`+srv.URL+`/"},"resources":[{"name":"items","endpoint":`+tc.endpoint+`}]}`)
			var worst atomic.Int64
			check := ProcessingStep{Step: func(_ context.Context, b flow.Batch) (flow.Batch, error) {
				page := int64(b.JSON[0].GetInt("id")-1)/perPage + 1
				if d := served.Load() - page; d > worst.Load() {
					worst.Store(d)
				}
				return b, nil
			}}
			rows := collect(t, cfg, "items", ProcessingSteps("items", check))
			if len(rows) != pages*perPage {
				t.Fatalf("%d rows, want %d", len(rows), pages*perPage)
			}
			if w := worst.Load(); w > tc.ahead {
				t.Errorf("%d pages were requested ahead of the one handed on, want at most %d", w, tc.ahead)
			}
		})
	}
}

// TestBigPageSelectorInParts: a selector that reaches into the elements of
// a page's big array ("data[*].row") keeps the page in parts, applied to
// each element part by part, rather than parsing the page whole; one that
// may reach anywhere ("$..row") parses it whole. Either way the rows are
// those of the page parsed whole.
func TestBigPageSelectorInParts(t *testing.T) {
	smallParts(t, 8<<10, 2<<10, 2<<10)
	body := []byte(`{"data":[` + wrappedRows(1, 300) + `,null,{"other":[1,2]}],"meta":{"total":300}}`)
	for _, tc := range []struct {
		sel     string
		inParts bool
	}{
		{"data[*].row", true},
		{"$.data.*.row", true},
		{"data[*].row.tags", true},
		{"data[*].row.tags[*]", true},
		{"data[*].n", true},
		{"data[*].nope", false}, // no rows: none to hand on
		{"$..row", false},
		{"data[0].row", false},
	} {
		t.Run(tc.sel, func(t *testing.T) {
			sel, err := parseJSONPath(tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			c := &client{parsers: newParserList()}
			_, _, big, ok := c.parseSkeleton(&page{resp: &Response{Body: body}}, sel)
			if got := ok && big != nil; got != tc.inParts {
				t.Errorf("in parts: %v, want %v", got, tc.inParts)
			}
			got, _, _, err := rowsInParts(body, sel)
			if err != nil {
				t.Fatal(err)
			}
			var p fastjson.Parser
			root, err := p.ParseBytes(body)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := selectRows(root, sel)
			if ok && len(got) != len(want) {
				t.Errorf("%d rows in parts, %d parsed whole", len(got), len(want))
			}
		})
	}
}
