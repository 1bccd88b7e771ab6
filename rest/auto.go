package rest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/valyala/fastjson"
)

// autoPaginator detects the pagination from the first response (type auto,
// or no paginator at all) and then delegates to what it found.
type autoPaginator struct {
	log      *slog.Logger
	resource string
	logged   *atomic.Bool // shared by the paginators of one endpoint
	inner    Paginator
}

var _ Planner = (*autoPaginator)(nil)

func (a *autoPaginator) Init(*Request) error { return nil }

func (a *autoPaginator) Next(resp *Response, rows []*fastjson.Value, req *Request) (bool, error) {
	if a.inner == nil {
		p, desc, err := detectPaginator(resp, rows)
		if err != nil {
			return false, fmt.Errorf("rest: %w", err)
		}
		level := slog.LevelInfo
		if a.logged != nil && a.logged.Swap(true) {
			level = slog.LevelDebug // child resources detect once per parent item
		}
		a.log.Log(context.Background(), level, "rest: paginator detected", "resource", a.resource, "paginator", desc)
		a.inner = p
	}
	return a.inner.Next(resp, rows, req)
}

func (a *autoPaginator) Plan(req *Request) (PagePlan, bool) {
	if pl, ok := a.inner.(Planner); ok {
		return pl.Plan(req)
	}
	return PagePlan{}, false
}

// Where APIs put pagination fields: the root and these containers.
var pageContainers = []string{"", "meta", "pagination", "paging", "page_info", "pageInfo", "meta.pagination", "meta.page", "links", "_links", "response_metadata"}

var (
	nextLinkKeys   = []string{"next", "next_url", "nextUrl", "next_page_url", "nextPageUrl", "next_link", "nextLink", "@odata.nextLink", "next_href", "next_page"}
	pageKeys       = []string{"page", "current_page", "currentPage", "page_number", "pageNumber", "pageNo"}
	totalPagesKeys = []string{"total_pages", "totalPages", "page_count", "pageCount", "num_pages", "last_page", "lastPage", "pages"}
	offsetKeys     = []string{"offset", "skip", "start"}
	limitKeys      = []string{"limit", "per_page", "perPage", "page_size", "pageSize", "size", "max_results"}
	totalKeys      = []string{"total", "total_count", "totalCount", "total_results", "totalResults", "total_items", "totalItems", "count"}
	hasMoreKeys    = []string{"has_more", "hasMore", "has_next", "hasNext", "has_next_page", "hasNextPage", "more"}
	cursorKeys     = []string{"next_cursor", "nextCursor", "cursor", "next_token", "nextToken", "next_page_token", "nextPageToken", "continuation_token", "after", "end_cursor", "endCursor"}
)

// field is a found pagination field: its path and value.
type field struct {
	path string
	v    *fastjson.Value
}

// findField looks for the first of keys in each container of root.
func findField(root *fastjson.Value, keys []string) (field, bool) {
	for _, c := range pageContainers {
		obj := root
		if c != "" {
			obj = root.Get(strings.Split(c, ".")...)
		}
		if obj == nil || obj.Type() != fastjson.TypeObject {
			continue
		}
		for _, k := range keys {
			if v := obj.Get(k); v != nil {
				return field{path: joinKey(c, k), v: v}, true
			}
		}
	}
	return field{}, false
}

func joinKey(container, key string) string {
	if strings.ContainsAny(key, ".[]'") {
		key = "['" + key + "']"
		if container == "" {
			return "$" + key
		}
		return container + key
	}
	if container == "" {
		return key
	}
	return container + "." + key
}

func lastKey(path string) string {
	if i := strings.LastIndexAny(path, ".'"); i >= 0 {
		return strings.Trim(path[i+1:], "[]'")
	}
	return path
}

func intOf(v *fastjson.Value) (int, bool) {
	switch v.Type() {
	case fastjson.TypeNumber:
		f := v.GetFloat64()
		if f == float64(int(f)) {
			return int(f), true
		}
	case fastjson.TypeString:
		var n int
		if _, err := fmt.Sscanf(string(v.GetStringBytes()), "%d", &n); err == nil {
			return n, true
		}
	}
	return 0, false
}

func looksLikeLink(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "?")
}

// detection is a first response and the pagination fields found in it,
// which the built-in paginators' detectors share.
type detection struct {
	resp      *Response
	rows      []*fastjson.Value
	root      *fastjson.Value // an object
	hasMore   field
	hasMoreOK bool // a boolean has_more
	limit     field
	limitOK   bool
	total     field
	totalN    int
	totalInt  bool // an integer total
}

// detectPaginator picks a paginator from the first response: the first
// detector (declared by each paginator, by rank) that finds its fields; a
// response with none of these is a single page. A response that has
// pagination fields nothing can use is an error: dlt would silently load
// the first page only.
func detectPaginator(resp *Response, rows []*fastjson.Value) (Paginator, string, error) {
	d := &detection{resp: resp, rows: rows, root: resp.JSON()}
	isObj := d.root != nil && d.root.Type() == fastjson.TypeObject
	if isObj {
		d.hasMore, d.hasMoreOK = findField(d.root, hasMoreKeys)
		if d.hasMoreOK && d.hasMore.v.Type() != fastjson.TypeTrue && d.hasMore.v.Type() != fastjson.TypeFalse {
			d.hasMoreOK = false
		}
		d.limit, d.limitOK = findField(d.root, limitKeys)
		var ok bool
		if d.total, ok = findField(d.root, totalKeys); ok {
			d.totalN, d.totalInt = intOf(d.total.v)
		}
	}
	// A body that is not an object has no fields: findField finds none.
	for _, det := range detectors {
		if p, desc, ok := det.detect(d); ok {
			return p, desc, nil
		}
	}
	if !isObj {
		return SinglePage{}, "single_page (no pagination fields)", nil
	}
	root, rows := d.root, d.rows
	hasMore, hasMoreOK, totalF, total, totalInt := d.hasMore, d.hasMoreOK, d.total, d.totalN, d.totalInt
	// Fields that mean more pages exist, in a way we cannot follow: each
	// hint is a clause about the first response.
	var hints []string
	if f, ok := findField(root, cursorKeys); ok && f.v.Type() != fastjson.TypeNull {
		hints = append(hints, fmt.Sprintf("it has a cursor at %s (paginator type cursor with cursor_path: %s follows it)", f.path, f.path))
	}
	if hasMoreOK && hasMore.v.Type() == fastjson.TypeTrue {
		hints = append(hints, hasMore.path+" is true but there is no next link, page number or offset to follow")
	}
	if f, ok := findField(root, nextLinkKeys); ok && f.v.Type() != fastjson.TypeNull && f.v.Type() != fastjson.TypeFalse {
		hints = append(hints, f.path+" is set but is not a URL")
	}
	if f, ok := findField(root, pageKeys); ok {
		hints = append(hints, "it has a page number at "+f.path+" but no total, page count or has_more to tell when to stop")
	}
	if f, ok := findField(root, totalPagesKeys); ok {
		if n, isInt := intOf(f.v); isInt && n > 1 {
			hints = append(hints, fmt.Sprintf("%s says there are %d pages but there is no page number to follow", f.path, n))
		}
	}
	if totalInt && total > len(rows) {
		hints = append(hints, fmt.Sprintf("%s says there are %d items but the page has %d", totalF.path, total, len(rows)))
	}
	if len(hints) > 0 {
		return nil, "", fmt.Errorf("could not detect the paginator from the first response: %s; set endpoint.paginator (paginator: single_page loads the first page only)", strings.Join(hints, "; "))
	}
	return SinglePage{}, "single_page (no pagination fields)", nil
}
