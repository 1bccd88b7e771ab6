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

// detectPaginator picks a paginator from the first response: a Link header,
// a next link in the body, page numbers with a total or has_more, offsets
// with a total or has_more; a response with none of these is a single page.
// A response that has pagination fields it cannot use is an error: dlt
// would silently load the first page only.
func detectPaginator(resp *Response, rows []*fastjson.Value) (Paginator, string, error) {
	if linkHeader(resp.Header, "next") != "" {
		return &HeaderLink{NextKey: "next"}, "header_link", nil
	}
	root := resp.JSON()
	if root == nil || root.Type() != fastjson.TypeObject {
		return SinglePage{}, "single_page (no pagination fields)", nil
	}
	// A next link, or a null where one goes (the last page of a json_link API).
	if f, ok := findField(root, nextLinkKeys); ok {
		switch f.v.Type() {
		case fastjson.TypeString:
			if len(f.v.GetStringBytes()) == 0 {
				p, _ := parseJSONPath(f.path)
				return &JSONLink{path: p}, fmt.Sprintf("json_link (next_url_path: %s, last page)", f.path), nil
			}
			if looksLikeLink(string(f.v.GetStringBytes())) {
				p, _ := parseJSONPath(f.path)
				return &JSONLink{path: p}, fmt.Sprintf("json_link (next_url_path: %s)", f.path), nil
			}
		case fastjson.TypeObject:
			if h := f.v.Get("href"); h != nil && h.Type() == fastjson.TypeString {
				p, _ := parseJSONPath(f.path + ".href")
				return &JSONLink{path: p}, fmt.Sprintf("json_link (next_url_path: %s.href)", f.path), nil
			}
		case fastjson.TypeNull:
			p, _ := parseJSONPath(f.path)
			return &JSONLink{path: p}, fmt.Sprintf("json_link (next_url_path: %s, last page)", f.path), nil
		}
	}
	hasMore, hasMoreOK := findField(root, hasMoreKeys)
	if hasMoreOK && hasMore.v.Type() != fastjson.TypeTrue && hasMore.v.Type() != fastjson.TypeFalse {
		hasMoreOK = false
	}
	limitF, limitOK := findField(root, limitKeys)
	totalF, totalOK := findField(root, totalKeys)
	total, totalInt := 0, false
	if totalOK {
		total, totalInt = intOf(totalF.v)
	}

	// Page numbers: the first request carried no page parameter, so the page
	// the API reports is its first page.
	if pf, ok := findField(root, pageKeys); ok {
		if cur, ok := intOf(pf.v); ok {
			param := lastKey(pf.path)
			if param != "page_number" && param != "pageNumber" {
				param = "page"
			}
			cfg := rangeConfig{kind: "page_number", param: param, step: 1, base: cur, initial: cur}
			p := &RangePaginator{cfg: cfg, current: cur}
			desc := fmt.Sprintf("page_number (page_param: %s, base_page: %d", param, cur)
			if tp, ok := findField(root, totalPagesKeys); ok {
				if _, isInt := intOf(tp.v); isInt {
					if lastKey(tp.path) == "last_page" || lastKey(tp.path) == "lastPage" {
						// last_page is the number of the last page, not a count.
						n, _ := intOf(tp.v)
						m := n + 1
						p.cfg.maximum = &m
						return p, desc + fmt.Sprintf(", maximum_page: %d)", m), nil
					}
					p.cfg.totalPath, _ = parseJSONPath(tp.path)
					return p, desc + ", total_path: " + tp.path + ")", nil
				}
			}
			if totalInt && limitOK {
				if size, ok := intOf(limitF.v); ok && size > 0 {
					m := cur + (total+size-1)/size
					p.cfg.maximum = &m
					return p, desc + fmt.Sprintf(", %d items of %d per page)", total, size), nil
				}
			}
			if hasMoreOK {
				p.cfg.hasMorePath, _ = parseJSONPath(hasMore.path)
				p.cfg.stopAfterEmpty = true
				return p, desc + ", has_more_path: " + hasMore.path + ")", nil
			}
		}
	}
	// Offsets.
	if of, ok := findField(root, offsetKeys); ok {
		if cur, ok := intOf(of.v); ok {
			limit := len(rows)
			limitParam := "limit"
			if limitOK {
				if n, ok := intOf(limitF.v); ok && n > 0 {
					limit = n
					limitParam = lastKey(limitF.path)
				}
			}
			if limit > 0 {
				cfg := rangeConfig{kind: "offset", param: lastKey(of.path), limitParam: limitParam, limit: limit, step: limit, initial: cur}
				p := &RangePaginator{cfg: cfg, current: cur}
				desc := fmt.Sprintf("offset (offset_param: %s, limit_param: %s, limit: %d", cfg.param, limitParam, limit)
				switch {
				case totalInt:
					p.cfg.totalPath, _ = parseJSONPath(totalF.path)
					return p, desc + ", total_path: " + totalF.path + ")", nil
				case hasMoreOK:
					p.cfg.hasMorePath, _ = parseJSONPath(hasMore.path)
					p.cfg.stopAfterEmpty = true
					return p, desc + ", has_more_path: " + hasMore.path + ")", nil
				default:
					p.cfg.stopAfterEmpty = true
					return p, desc + ", until an empty page)", nil
				}
			}
		}
	}
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
