package rest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fastjson"
)

// Request is a request being prepared. Paginators change it between pages.
type Request struct {
	Method string
	URL    *url.URL
	Header http.Header
	// JSON is the body, encoded as JSON; nil sends no body.
	JSON any
}

// Clone returns a deep enough copy for a paginator to change.
func (r *Request) Clone() *Request {
	c := *r
	u := *r.URL
	c.URL = &u
	c.Header = r.Header.Clone()
	c.JSON = cloneJSON(r.JSON)
	return &c
}

func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, c := range x {
			m[k] = cloneJSON(c)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, c := range x {
			out[i] = cloneJSON(c)
		}
		return out
	}
	return v
}

// SetParam sets a query parameter.
func (r *Request) SetParam(k, v string) {
	q := r.URL.Query()
	q.Set(k, v)
	r.URL.RawQuery = q.Encode()
}

// Paginator walks the pages of one endpoint. A fresh paginator (from a
// PaginatorFactory) is used for every sequence of pages, so it may keep
// state; it is used by one goroutine.
type Paginator interface {
	// Init prepares the first request.
	Init(req *Request) error
	// Next reads a response and the rows selected from it, and turns req
	// into the request for the next page. It returns false when there is
	// no next page.
	Next(resp *Response, rows []*fastjson.Value, req *Request) (bool, error)
}

// Planner is a Paginator that knows, after the first page, every request
// still to make (offset and page_number with a known total); those pages
// are then fetched concurrently and handed on in order.
type Planner interface {
	Paginator
	// Plan returns the remaining pages after the first Next returned true,
	// with req the request Next prepared; ok is false when they are not
	// known.
	Plan(req *Request) (plan PagePlan, ok bool)
}

// earlyPaginator is a paginator that can often tell the next request from
// a response whose body is not parsed yet, so the next page is requested
// while this one is parsed and handed on. nextEarly is Next before the
// body is parsed: resp.JSON is nil and there are no rows. With known false
// it could not tell (or found something wrong, which Next is left to
// report) and left req as it was; Next is then called as usual.
type earlyPaginator interface {
	nextEarly(resp *Response, req *Request) (more, known bool)
}

// earlyOf returns pg as an earlyPaginator when it is one of the built-in
// paginators that can be, itself: a user's paginator embedding one of them
// may override Next, which nextEarly would bypass.
func earlyOf(pg Paginator) earlyPaginator {
	switch p := pg.(type) {
	case *JSONLink:
		return p
	case *HeaderLink:
		return p
	case *Cursor:
		return p
	}
	return nil
}

// PagePlan is the pages a Planner knows are left.
type PagePlan struct {
	Requests []*Request
	// StopAtEmpty ends paging at the first page without rows, as paging
	// one by one would: the pages after it are dropped, and at most the
	// client's concurrency of them is requested.
	StopAtEmpty bool
}

// PaginatorFactory returns a fresh paginator.
type PaginatorFactory func() Paginator

// PaginatorBuilder builds a factory from a spec's paginator map (without
// "type"). Errors should name the offending key.
type PaginatorBuilder func(params map[string]any) (PaginatorFactory, error)

var (
	pagMu       sync.RWMutex
	pagRegistry = map[string]PaginatorBuilder{}
)

// RegisterPaginator makes a paginator type usable in specs as
// {type: typ, ...}, as dlt's register_paginator does.
func RegisterPaginator(typ string, b PaginatorBuilder) {
	pagMu.Lock()
	defer pagMu.Unlock()
	pagRegistry[typ] = b
}

func paginatorTypes() []string {
	pagMu.RLock()
	defer pagMu.RUnlock()
	out := []string{"auto"}
	for k := range pagRegistry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lookupPaginator(typ string) (PaginatorBuilder, bool) {
	pagMu.RLock()
	defer pagMu.RUnlock()
	b, ok := pagRegistry[typ]
	return b, ok
}

func init() {
	RegisterPaginator("single_page", func(p map[string]any) (PaginatorFactory, error) {
		o, _ := newObj("", p)
		return func() Paginator { return SinglePage{} }, o.done()
	})
	RegisterPaginator("json_link", func(p map[string]any) (PaginatorFactory, error) {
		o, _ := newObj("", p)
		path, ok, err := o.str("next_url_path")
		if err != nil {
			return nil, err
		}
		if !ok {
			path = "next"
		}
		jp, err := parseJSONPath(path)
		if err != nil {
			return nil, errAt("next_url_path", "%v", err)
		}
		return func() Paginator { return &JSONLink{path: jp} }, o.done()
	})
	RegisterPaginator("header_link", func(p map[string]any) (PaginatorFactory, error) {
		o, _ := newObj("", p)
		key, ok, err := o.str("links_next_key")
		if err != nil {
			return nil, err
		}
		if !ok {
			key = "next"
		}
		return func() Paginator { return &HeaderLink{NextKey: key} }, o.done()
	})
	RegisterPaginator("offset", func(p map[string]any) (PaginatorFactory, error) {
		o, _ := newObj("", p)
		cfg := rangeConfig{stopAfterEmpty: true, kind: "offset"}
		limit, ok, err := o.integer("limit")
		if err != nil {
			return nil, err
		}
		if !ok || limit <= 0 {
			return nil, errAt("limit", "required: a positive integer")
		}
		cfg.step, cfg.limit = limit, limit
		if cfg.initial, _, err = o.integer("offset"); err != nil {
			return nil, err
		}
		if cfg.param, cfg.bodyPath, err = paramOrBody(o, "offset_param", "offset_body_path", "offset"); err != nil {
			return nil, err
		}
		if cfg.limitParam, cfg.limitBodyPath, err = paramOrBody(o, "limit_param", "limit_body_path", "limit"); err != nil {
			return nil, err
		}
		if err := cfg.common(o, "maximum_offset"); err != nil {
			return nil, err
		}
		return cfg.factory(), o.done()
	})
	RegisterPaginator("page_number", func(p map[string]any) (PaginatorFactory, error) {
		o, _ := newObj("", p)
		cfg := rangeConfig{step: 1, stopAfterEmpty: true, kind: "page_number"}
		var err error
		if cfg.base, _, err = o.integer("base_page"); err != nil {
			return nil, err
		}
		cfg.initial = cfg.base
		if v, ok, err := o.integer("page"); err != nil {
			return nil, err
		} else if ok {
			cfg.initial = v
		}
		if cfg.param, cfg.bodyPath, err = paramOrBody(o, "page_param", "page_body_path", "page"); err != nil {
			return nil, err
		}
		if err := cfg.common(o, "maximum_page"); err != nil {
			return nil, err
		}
		return cfg.factory(), o.done()
	})
	RegisterPaginator("cursor", func(p map[string]any) (PaginatorFactory, error) {
		o, _ := newObj("", p)
		path, ok, err := o.str("cursor_path")
		if err != nil {
			return nil, err
		}
		if !ok {
			path = "cursors.next"
		}
		jp, err := parseJSONPath(path)
		if err != nil {
			return nil, errAt("cursor_path", "%v", err)
		}
		param, bp, err := paramOrBody(o, "cursor_param", "cursor_body_path", "cursor")
		if err != nil {
			return nil, err
		}
		return func() Paginator { return &Cursor{path: jp, Param: param, bodyPath: bp} }, o.done()
	})
}

// paramOrBody reads where a paginator puts a value: the query parameter
// paramKey or the JSON body path bodyKey (one of them, as in dlt), the
// parameter def when neither is set.
func paramOrBody(o *obj, paramKey, bodyKey, def string) (param string, body []string, err error) {
	param, hasParam, err := o.str(paramKey)
	if err != nil {
		return "", nil, err
	}
	path, hasBody, err := o.str(bodyKey)
	if err != nil {
		return "", nil, err
	}
	switch {
	case hasParam && hasBody:
		return "", nil, errAt(bodyKey, "set either %s or %s, not both", paramKey, bodyKey)
	case hasBody:
		body = strings.Split(strings.TrimPrefix(strings.TrimPrefix(path, "$"), "."), ".")
		if slices.Contains(body, "") {
			return "", nil, errAt(bodyKey, "%q is not a dotted path", path)
		}
		return "", body, nil
	case !hasParam:
		param = def
	}
	return param, nil, nil
}

// setBody puts v at path in req's JSON body, creating the body and the
// objects on the way.
func setBody(req *Request, path []string, v any) {
	body, _ := req.JSON.(map[string]any)
	if body == nil {
		body = map[string]any{}
	}
	m := body
	for _, k := range path[:len(path)-1] {
		c, _ := m[k].(map[string]any)
		if c == nil {
			c = map[string]any{}
			m[k] = c
		}
		m = c
	}
	m[path[len(path)-1]] = v
	req.JSON = body
}

// SinglePage requests one page only.
type SinglePage struct{}

// Init does nothing.
func (SinglePage) Init(*Request) error { return nil }

// Next ends pagination.
func (SinglePage) Next(*Response, []*fastjson.Value, *Request) (bool, error) { return false, nil }

// JSONLink follows a next-page URL found in the body (type json_link).
type JSONLink struct{ path *jsonPath }

// NewJSONLink returns a JSONLink reading the URL at nextURLPath.
func NewJSONLink(nextURLPath string) (*JSONLink, error) {
	p, err := parseJSONPath(nextURLPath)
	if err != nil {
		return nil, err
	}
	return &JSONLink{path: p}, nil
}

// Init does nothing.
func (*JSONLink) Init(*Request) error { return nil }

// Next follows the link; a missing, null or empty link ends pagination.
func (p *JSONLink) Next(resp *Response, _ []*fastjson.Value, req *Request) (bool, error) {
	v := p.path.first(resp.JSON())
	if v == nil || v.Type() != fastjson.TypeString {
		return false, nil
	}
	next := string(v.GetStringBytes())
	if next == "" {
		return false, nil
	}
	return followLink(req, next)
}

// nextEarly follows a link that is a string member of the top-level object
// when the raw body shows it for certain (see rawRootString).
func (p *JSONLink) nextEarly(resp *Response, req *Request) (more, known bool) {
	next, ok := p.path.rawString(resp.Body)
	if !ok || next == "" {
		return false, false
	}
	more, err := followLink(req, next)
	return more, err == nil
}

// followLink points req at next (resolved against req's URL). The query
// of the link replaces req's query, as dlt does.
func followLink(req *Request, next string) (bool, error) {
	u, err := req.URL.Parse(next)
	if err != nil {
		return false, fmt.Errorf("rest: bad next page link")
	}
	req.URL = u
	return true, nil
}

// HeaderLink follows the rel="next" link of the Link header (type
// header_link).
type HeaderLink struct{ NextKey string }

// Init does nothing.
func (*HeaderLink) Init(*Request) error { return nil }

// Next follows the link.
func (p *HeaderLink) Next(resp *Response, _ []*fastjson.Value, req *Request) (bool, error) {
	key := p.NextKey
	if key == "" {
		key = "next"
	}
	next := linkHeader(resp.Header, key)
	if next == "" {
		return false, nil
	}
	return followLink(req, next)
}

// nextEarly is Next: the link is in the headers.
func (p *HeaderLink) nextEarly(resp *Response, req *Request) (more, known bool) {
	more, err := p.Next(resp, nil, req)
	return more, err == nil
}

var linkRe = regexp.MustCompile(`<([^>]*)>\s*((?:;\s*[^;,]+)*)`)

// linkHeader returns the URL of the Link header entry with rel=rel.
func linkHeader(h http.Header, rel string) string {
	for _, line := range h.Values("Link") {
		for _, m := range linkRe.FindAllStringSubmatch(line, -1) {
			for _, param := range strings.Split(m[2], ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"'`)) {
					if strings.EqualFold(r, rel) {
						return m[1]
					}
				}
			}
		}
	}
	return ""
}

// Cursor sends the cursor found in each response with the next request, as
// a query parameter or in the JSON body (type cursor).
type Cursor struct {
	path     *jsonPath
	Param    string
	bodyPath []string
}

// Init does nothing.
func (*Cursor) Init(*Request) error { return nil }

// Next sets the cursor; a missing, null or empty cursor ends pagination.
func (p *Cursor) Next(resp *Response, _ []*fastjson.Value, req *Request) (bool, error) {
	v := p.path.first(resp.JSON())
	if v == nil {
		return false, nil
	}
	var cur any
	switch v.Type() {
	case fastjson.TypeNull, fastjson.TypeFalse:
		return false, nil
	case fastjson.TypeString:
		s := string(v.GetStringBytes())
		if s == "" {
			return false, nil
		}
		cur = s
	default:
		cur = jsonToGo(v)
	}
	if p.bodyPath != nil {
		setBody(req, p.bodyPath, cur)
		return true, nil
	}
	req.SetParam(p.Param, formatText(cur))
	return true, nil
}

// nextEarly sets a cursor that is a string member of the top-level object
// when the raw body shows it for certain (see rawRootString).
func (p *Cursor) nextEarly(resp *Response, req *Request) (more, known bool) {
	cur, ok := p.path.rawString(resp.Body)
	if !ok || cur == "" {
		return false, false
	}
	if p.bodyPath != nil {
		setBody(req, p.bodyPath, cur)
	} else {
		req.SetParam(p.Param, cur)
	}
	return true, true
}

// rangeConfig is shared by offset and page_number.
type rangeConfig struct {
	kind           string
	param          string
	bodyPath       []string // instead of param
	limitParam     string   // offset only
	limitBodyPath  []string // offset only, instead of limitParam
	limit          int      // offset only
	initial        int
	base           int
	step           int
	totalPath      *jsonPath
	maximum        *int
	stopAfterEmpty bool
	hasMorePath    *jsonPath
}

func (c *rangeConfig) common(o *obj, maxKey string) error {
	tp, present := o.raw("total_path")
	switch {
	case !present:
		c.totalPath, _ = parseJSONPath("total")
	case tp == nil:
	default:
		s, ok := tp.(string)
		if !ok {
			return errAt("total_path", "want a string or null, got %s", typeName(tp))
		}
		p, err := parseJSONPath(s)
		if err != nil {
			return errAt("total_path", "%v", err)
		}
		c.totalPath = p
	}
	if m, ok, err := o.integer(maxKey); err != nil {
		return err
	} else if ok {
		c.maximum = &m
	}
	if b, ok, err := o.boolean("stop_after_empty_page"); err != nil {
		return err
	} else if ok {
		c.stopAfterEmpty = b
	}
	if s, ok, err := o.str("has_more_path"); err != nil {
		return err
	} else if ok {
		p, err := parseJSONPath(s)
		if err != nil {
			return errAt("has_more_path", "%v", err)
		}
		c.hasMorePath = p
	}
	if c.totalPath == nil && c.maximum == nil && !c.stopAfterEmpty && c.hasMorePath == nil {
		return errAt("", "%s paginator needs total_path, %s, has_more_path or stop_after_empty_page", c.kind, maxKey)
	}
	return nil
}

func (c rangeConfig) factory() PaginatorFactory {
	return func() Paginator { return &RangePaginator{cfg: c, current: c.initial} }
}

// RangePaginator is the offset and page_number paginator: it steps a query
// parameter until the total, the maximum, an empty page or has_more false.
type RangePaginator struct {
	cfg     rangeConfig
	current int
	total   *int
}

var _ Planner = (*RangePaginator)(nil)

// Init sets the first page's parameters.
func (p *RangePaginator) Init(req *Request) error {
	p.current = p.cfg.initial
	p.set(req)
	return nil
}

func (p *RangePaginator) set(req *Request) {
	if p.cfg.bodyPath != nil {
		setBody(req, p.cfg.bodyPath, p.current)
	} else {
		req.SetParam(p.cfg.param, strconv.Itoa(p.current))
	}
	switch {
	case p.cfg.limitBodyPath != nil:
		setBody(req, p.cfg.limitBodyPath, p.cfg.limit)
	case p.cfg.limitParam != "":
		req.SetParam(p.cfg.limitParam, strconv.Itoa(p.cfg.limit))
	}
}

// Next steps to the next page.
func (p *RangePaginator) Next(resp *Response, rows []*fastjson.Value, req *Request) (bool, error) {
	if p.cfg.stopAfterEmpty && len(rows) == 0 {
		return false, nil
	}
	if p.cfg.hasMorePath != nil {
		v := p.cfg.hasMorePath.first(resp.JSON())
		if v == nil || v.Type() == fastjson.TypeFalse || v.Type() == fastjson.TypeNull {
			return false, nil
		}
	}
	if p.cfg.totalPath != nil {
		v := p.cfg.totalPath.first(resp.JSON())
		if v == nil || v.Type() == fastjson.TypeNull {
			return false, fmt.Errorf("rest: %s paginator: total not found at %q in the response (set total_path: null if the API has none)", p.cfg.kind, p.cfg.totalPath)
		}
		var total int
		switch v.Type() {
		case fastjson.TypeNumber:
			total = v.GetInt()
		case fastjson.TypeString:
			n, err := strconv.Atoi(string(v.GetStringBytes()))
			if err != nil {
				return false, fmt.Errorf("rest: %s paginator: total at %q is not an integer", p.cfg.kind, p.cfg.totalPath)
			}
			total = n
		default:
			return false, fmt.Errorf("rest: %s paginator: total at %q is not an integer", p.cfg.kind, p.cfg.totalPath)
		}
		p.total = &total
	}
	p.current += p.cfg.step
	if p.done(p.current) {
		return false, nil
	}
	p.set(req)
	return true, nil
}

func (p *RangePaginator) done(v int) bool {
	if p.total != nil && v >= *p.total+p.cfg.base {
		return true
	}
	return p.cfg.maximum != nil && v >= *p.cfg.maximum
}

// Plan lists the remaining pages when a total or maximum bounds them and
// has_more may not end pagination earlier. An empty page still ends it
// (stop_after_empty_page): the plan says so.
func (p *RangePaginator) Plan(req *Request) (PagePlan, bool) {
	if p.cfg.hasMorePath != nil || (p.total == nil && p.cfg.maximum == nil) {
		return PagePlan{}, false
	}
	if p.total == nil && p.cfg.stopAfterEmpty {
		return PagePlan{}, false
	}
	plan := PagePlan{StopAtEmpty: p.cfg.stopAfterEmpty}
	for v := p.current; !p.done(v) && len(plan.Requests) < 100_000; v += p.cfg.step {
		r := req.Clone()
		p.current = v
		p.set(r)
		plan.Requests = append(plan.Requests, r)
	}
	return plan, true
}

var (
	_ Paginator = SinglePage{}
	_ Paginator = (*JSONLink)(nil)
	_ Paginator = (*HeaderLink)(nil)
	_ Paginator = (*Cursor)(nil)
	_ Paginator = (*RangePaginator)(nil)
)
