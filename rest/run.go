// Run layer: an endpoint at run time. A root resource pages through one
// request sequence, a child resource one per parent item (at most the
// client's concurrency at once); each page is fetched, its rows selected
// (rows.go, bigpage.go) and handed on, and the paginator asks for the next.
// Pages requested ahead of the one handed on are prefetch.go's.

package rest

import (
	"github.com/sluicehq/sluice/internal/runctx"

	"github.com/sluicehq/sluice/internal/jsonconv"

	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/valyala/fastjson"
	"golang.org/x/sync/errgroup"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
)

// generate is the generator of a root resource.
func (e *endpoint) generate(ctx context.Context, yield flow.Yield) error {
	req, err := e.request(ctx, nil)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	if err := e.paginate(ctx, req, nil, lockedYield(&mu, yield)); err != nil {
		return err
	}
	e.warnUnmatched()
	return nil
}

func lockedYield(mu *sync.Mutex, yield flow.Yield) flow.Yield {
	return func(b flow.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		return yield(b)
	}
}

// transform is the transformer of a child resource: one request sequence
// per parent item, up to the client's concurrency at once.
func (e *endpoint) transform(ctx context.Context, in flow.Batch, yield flow.Yield) error {
	items := in.JSON
	if items == nil {
		vals, err := in.Values()
		if err != nil {
			return err
		}
		for _, v := range vals {
			j, err := jsonconv.FromGo(v)
			if err != nil {
				return fmt.Errorf("rest: parent item: %w", err)
			}
			items = append(items, j)
		}
	}
	var mu sync.Mutex
	y := lockedYield(&mu, yield)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.c.concurrency)
	for _, item := range items {
		if item.Type() != fastjson.TypeObject {
			return fmt.Errorf("rest: parent %q yielded an item that is not an object", e.parent)
		}
		req, err := e.request(ctx, item)
		if err != nil {
			_ = g.Wait()
			return err
		}
		extra, err := e.parentFields(item)
		if err != nil {
			_ = g.Wait()
			return err
		}
		g.Go(func() error { return e.paginate(gctx, req, extra, y) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// A transformer is not told when its last parent batch came: it warns
	// after the first batch of parents none of whose pages matched.
	e.warnUnmatched()
	return nil
}

// parentFields copies the include_from_parent fields of item (the parent's
// batch is released when the transformer returns; rows live longer). A
// missing field is an error, as in dlt (a null one is copied).
func (e *endpoint) parentFields(item *fastjson.Value) ([]extraField, error) {
	if len(e.include) == 0 {
		return nil, nil
	}
	out := make([]extraField, 0, len(e.include))
	for _, inc := range e.include {
		v := inc.path.first(item)
		if v == nil {
			return nil, fmt.Errorf("rest: include_from_parent field %q not found in an item of parent resource %q", inc.path.String(), e.parent)
		}
		out = append(out, extraField{key: inc.key, raw: arrowbuf.AppendJSONText(nil, v)})
	}
	return out, nil
}

type extraField struct {
	key string
	raw []byte
}

// paginate fetches req and the pages after it, yielding their rows.
func (e *endpoint) paginate(ctx context.Context, req *Request, extra []extraField, yield flow.Yield) error {
	pg := e.paginator()
	if err := pg.Init(req); err != nil {
		return err
	}
	early := earlyOf(pg)
	if e.inc != nil && e.inc.cfg.RowOrder != "" {
		early = nil // paging may stop at any row: nothing is requested ahead
	}
	inParts := streamSafe(pg) && !limited(ctx)
	// The next page, requested while this one is parsed and handed on.
	var ahead *pageAhead
	defer func() { ahead.abandon(e.c) }()
	first := true
	for {
		cur := req.Clone()
		var p *page
		var err error
		if ahead != nil {
			p, err = ahead.wait()
			ahead = nil
		} else {
			p, err = e.c.fetchRaw(ctx, cur, e.auth, e.actions)
		}
		if err != nil {
			return e.wrap(err)
		}
		if p.ignored {
			return nil
		}
		more, known := false, false
		// Not for a big page: two of them would be held at once.
		if early != nil && safeMethod(cur) && 2*len(p.resp.Body) <= aheadBytes && looksJSON(p.resp.Body) && !lastYield(ctx) {
			if more, known = early.nextEarly(p.resp, req); known && more && !sameRequest(cur, req) {
				ahead = e.fetchAhead(ctx, req.Clone())
			}
		}
		pr, err := e.rowsOf(p, inParts)
		if err != nil {
			return e.wrap(err)
		}
		if !known {
			if more, err = pg.Next(p.resp, pr.forPaginator(), req); err != nil {
				p.release(e.c)
				return e.wrap(err)
			}
		}
		done, err := e.emitPage(ctx, p, pr, extra, yield)
		if err != nil {
			return err
		}
		if !more || done {
			return nil
		}
		if sameRequest(cur, req) {
			return fmt.Errorf("rest: the paginator asked for the same page again (%s); set endpoint.paginator", req.URL.EscapedPath())
		}
		if first {
			first = false
			// Ordered rows (row_order) are paged one by one, so paging can
			// stop at the first row out of range.
			if pl, ok := pg.(Planner); ok && ahead == nil && (e.inc == nil || e.inc.cfg.RowOrder == "") {
				if plan, ok := pl.Plan(req); ok {
					return e.fetchAll(ctx, plan, extra, yield)
				}
			}
		}
	}
}

// safeMethod reports whether r is a GET (or HEAD): only such requests are
// sent ahead, since a page that then fails (not JSON, a step's error) ends
// paging with the next one already sent.
func safeMethod(r *Request) bool {
	return r.Method == "" || r.Method == http.MethodGet || r.Method == http.MethodHead
}

// looksJSON reports whether body starts like a JSON object or array, so an
// HTML error page served with 200 is not followed by a request ahead.
func looksJSON(body []byte) bool {
	i := skipWS(body, 0)
	return i < len(body) && (body[i] == '{' || body[i] == '[')
}

// lastYield reports whether a resource limit (add_limit) allows one more
// page at most: the page after it is not requested ahead.
func lastYield(ctx context.Context) bool {
	n, ok := runctx.YieldsLeft(ctx)
	return ok && n <= 1
}

// wrap prefixes a fetch or paginator error with the package once. Errors
// of a running resource do not name it: the pipeline (flow.Run, Collect)
// does, and naming it here too printed it twice.
func (e *endpoint) wrap(err error) error {
	var he *HTTPError
	if errors.As(err, &he) || strings.HasPrefix(err.Error(), "rest: ") {
		return err
	}
	return fmt.Errorf("rest: %w", err)
}

func sameRequest(a, b *Request) bool {
	if a.URL.String() != b.URL.String() {
		return false
	}
	if a.JSON == nil && b.JSON == nil {
		return true
	}
	return fmt.Sprint(a.JSON) == fmt.Sprint(b.JSON)
}
