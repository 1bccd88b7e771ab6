// Run layer: pages requested before the paginator asks for them, while the
// page before is parsed and handed on: the next page of a link or cursor
// (pageAhead) and the planned pages of a Planner (fetchAll). Every
// goroutine is owned by an errgroup its caller waits for, so none outlives
// the paging that started it.

package rest

import (
	"github.com/sluicehq/sluice/internal/safecall"

	"github.com/sluicehq/sluice/internal/runctx"

	"context"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/sluicehq/sluice/flow"
)

// fetched is a page fetched by another goroutine.
type fetched struct {
	p   *page
	err error
}

// fetchSafe is fetchRaw for a goroutine of its own: a panic in a response
// hook or an Auth is returned as the run's error (a *flow.PanicError)
// instead of ending the process.
func (e *endpoint) fetchSafe(ctx context.Context, r *Request) (f fetched) {
	if err := safecall.Do(func() error {
		f.p, f.err = e.c.fetchRaw(ctx, r, e.auth, e.actions)
		return nil
	}); err != nil {
		return fetched{err: err}
	}
	return f
}

// pageAhead is a page being fetched while the one before it is parsed and
// handed on. Its goroutine belongs to g: wait or abandon waits for it.
type pageAhead struct {
	cancel context.CancelFunc
	g      errgroup.Group
	f      fetched // set by the goroutine, read after g.Wait
}

// fetchAhead starts fetching r in a goroutine owned by the pageAhead.
func (e *endpoint) fetchAhead(ctx context.Context, r *Request) *pageAhead {
	ctx, cancel := context.WithCancel(ctx)
	a := &pageAhead{cancel: cancel}
	a.g.Go(func() error {
		a.f = e.fetchSafe(ctx, r)
		return nil
	})
	return a
}

// wait returns the page once fetched.
func (a *pageAhead) wait() (*page, error) {
	_ = a.g.Wait() // the goroutine returns nil: its result is in a.f
	a.cancel()
	return a.f.p, a.f.err
}

// abandon cancels a page no longer wanted (paging ended or failed) and
// releases it.
func (a *pageAhead) abandon(c *client) {
	if a == nil {
		return
	}
	a.cancel()
	if _ = a.g.Wait(); a.f.p != nil {
		a.f.p.release(c)
	}
}

// aheadBytes bounds, by the size of the last body, the bytes of the pages
// a resource holds at once: the one being handed on and those requested
// ahead of it (planned pages, or the next page of a link or cursor). Pages
// of more than half of it are fetched one by one.
var aheadBytes = 64 << 20

// fetchAll fetches planned pages concurrently, at most the client's
// concurrency ahead of the page being emitted, and emits them in order, so
// that an ignored page or (with plan.StopAtEmpty) an empty one ends paging
// where paging one by one would end it.
func (e *endpoint) fetchAll(ctx context.Context, plan PagePlan, extra []extraField, yield flow.Yield) error {
	// A resource limit (add_limit, bench --limit) drops pages past it:
	// they are not requested.
	if n, ok := runctx.YieldsLeft(ctx); ok && n < len(plan.Requests) {
		plan.Requests = plan.Requests[:n]
	}
	e.log.Debug("rest: prefetching pages", "resource", e.name, "pages", len(plan.Requests))
	inParts := !limited(ctx) // planned pages are not given to the paginator
	ctx, cancel := context.WithCancel(ctx)
	// Each page's result has a slot, queued in request order. The pages
	// held as bytes (fetched or being fetched, and the one being handed
	// on) are bounded by count and, for big pages, by size: another is
	// requested while held*size < aheadBytes, or when none is held.
	slots := make(chan chan fetched, max(e.c.concurrency-1, 0))
	var held atomic.Int64
	room := make(chan struct{}, 1)
	// fetchers owns the goroutine that queues the requests and the one
	// fetching each: each fetch ends with its page in its buffered slot,
	// and the queueing ends with the requests or once ctx is cancelled, so
	// no goroutine outlives fetchAll, even if emitting panics.
	var fetchers errgroup.Group
	defer func() {
		cancel()
		_ = fetchers.Wait() // every goroutine returns nil
	}()
	fetchers.Go(func() error {
		defer close(slots)
		for _, r := range plan.Requests {
			for n := held.Load(); n > 0 && (n+1)*e.c.bodies.last.Load() > int64(aheadBytes); n = held.Load() {
				select {
				case <-room:
				case <-ctx.Done():
					return nil
				}
			}
			held.Add(1)
			slot := make(chan fetched, 1)
			select {
			case slots <- slot:
			case <-ctx.Done():
				return nil
			}
			fetchers.Go(func() error {
				slot <- e.fetchSafe(ctx, r)
				return nil
			})
		}
		return nil
	})
	var err error
	stopped := false
	for slot := range slots {
		f := <-slot
		switch {
		case stopped:
			if f.p != nil {
				f.p.release(e.c)
			}
		case f.err != nil:
			err, stopped = e.wrap(f.err), true
		case f.p.ignored:
			f.p.release(e.c)
			stopped = true
		default:
			// Parsed here, in page order, rather than where it was fetched:
			// see fetchRaw.
			var pr pageRows
			if pr, err = e.rowsOf(f.p, inParts); err != nil {
				err, stopped = e.wrap(err), true
				break
			}
			empty := pr.count() == 0
			_, err = e.emitPage(ctx, f.p, pr, extra, yield)
			stopped = err != nil || (empty && plan.StopAtEmpty)
		}
		held.Add(-1)
		select {
		case room <- struct{}{}:
		default:
		}
		// An error, an ignored page or an empty one: cancel the pages in
		// flight and release what arrives.
		if stopped {
			cancel()
		}
	}
	return err
}
