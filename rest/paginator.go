package rest

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"sync"

	"github.com/sluicehq/sluice/internal/confspec"
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

// earlyOf returns pg as an earlyPaginator when its type is one a
// built-in paginator declared early-capable, itself: a user's paginator
// embedding one of them may override Next, which nextEarly would bypass.
func earlyOf(pg Paginator) earlyPaginator {
	if pg == nil || !earlyTypes[reflect.TypeOf(pg)] {
		return nil
	}
	e, _ := pg.(earlyPaginator)
	return e
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
// {type: typ, ...}, as dlt's register_paginator does. Its builder checks
// its keys (the description, and so the key reference, lists the built-in
// paginators only).
func RegisterPaginator(typ string, b PaginatorBuilder) {
	pagMu.Lock()
	defer pagMu.Unlock()
	pagRegistry[typ] = b
}

// paginatorDecl is what a built-in paginator's file declares about it:
// adding a paginator is one file with one declarePaginator call.
type paginatorDecl struct {
	// spec is its type (Name) and its keys; build reads exactly those.
	spec  *confspec.Object
	build PaginatorBuilder
	// early is its own type when that can request the next page before a
	// page's body is parsed (an earlyPaginator); nil when it cannot.
	early reflect.Type
	// detect finds it in a first response for auto (nil: never
	// detected); detectors run by rank, lowest first.
	detect func(d *detection) (pg Paginator, desc string, ok bool)
	rank   int
}

var (
	// earlyTypes and detectors are filled by init and read-only after.
	earlyTypes = map[reflect.Type]bool{}
	detectors  []*paginatorDecl
)

// declarePaginator registers a built-in paginator from its declaration.
func declarePaginator(d paginatorDecl) {
	if d.build != nil {
		RegisterPaginator(d.spec.Name, d.build)
	}
	addVariant(specPaginator, d.spec)
	if d.early != nil {
		earlyTypes[d.early] = true
	}
	if d.detect != nil {
		detectors = append(detectors, &d)
		slices.SortStableFunc(detectors, func(a, b *paginatorDecl) int { return a.rank - b.rank })
	}
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

// paramOrBody reads where a paginator puts a value: the query parameter
// paramKey (default def) or, when bodyKey is set, a path of keys in the JSON
// body.
func paramOrBody(o *obj, paramKey, bodyKey, def string) (param string, body *jsonPath, err error) {
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
		if body, err = parseBodyPath(path); err != nil {
			return "", nil, errAt(bodyKey, "%v", err)
		}
		return "", body, nil
	case !hasParam:
		param = def
	}
	return param, nil, nil
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

var (
	_ Paginator = SinglePage{}
	_ Paginator = (*JSONLink)(nil)
	_ Paginator = (*HeaderLink)(nil)
	_ Paginator = (*Cursor)(nil)
	_ Paginator = (*RangePaginator)(nil)
)
