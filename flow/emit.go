package flow

import (
	"context"
	"errors"
	"sync/atomic"
)

// emitter returns the Yield of node n: steps, then fan-out to the
// normalizers (if n is loaded) and to n's transformers.
func (e *engine) emitter(ctx context.Context, n *node, out chan<- extracted) Yield {
	loaded := e.isLoaded(n)
	send := e.sender(ctx, n, out, loaded)
	return func(b Batch) error {
		n.yielded.Add(int64(b.Len()))
		b, closing, err := applySteps(ctx, n.res.steps, b)
		if err != nil {
			return err
		}
		if err := send(b); err != nil {
			return err
		}
		return closing
	}
}

// applySteps runs steps over b in order, for Run and Collect alike.
// closing is ErrClose when a step asked to close the resource: the batch is
// passed on first. On err, b is released.
func applySteps(ctx context.Context, steps []Step, b Batch) (out Batch, closing, err error) {
	for _, s := range steps {
		if b, err = s(ctx, b); errors.Is(err, ErrClose) {
			closing = ErrClose
		} else if err != nil {
			b.Release()
			return b, nil, err
		}
	}
	return b, closing, nil
}

// sender hands a processed batch of node n to the normalizers (if n is
// loaded) and to n's transformers.
func (e *engine) sender(ctx context.Context, n *node, out chan<- extracted, loaded bool) func(Batch) error {
	return func(b Batch) error {
		if b.Len() == 0 {
			b.Release()
			return nil
		}
		n.kept.Add(int64(b.Len()))
		e.p.progress.batches.Add(1)
		e.p.progress.rows.Add(int64(b.Len()))
		consumers := len(n.children)
		if loaded {
			consumers++
		}
		if consumers == 0 {
			b.Release()
			return nil
		}
		if consumers > 1 {
			shareRelease(&b, consumers)
			freezeJSON(b.JSON)
		}
		for _, c := range n.children {
			select {
			case c.in <- b:
			case <-ctx.Done():
				b.Release()
				return context.Cause(ctx)
			}
		}
		if !loaded {
			return nil
		}
		if n.res.tableFunc != nil {
			return e.dispatch(ctx, n, b, out)
		}
		table := b.Table
		if table == "" {
			table = n.res.Table()
		}
		select {
		case out <- extracted{node: n, table: table, batch: b}:
			return nil
		case <-ctx.Done():
			b.Release()
			return context.Cause(ctx)
		}
	}
}

// dispatch splits a batch by the table each item goes to.
func (e *engine) dispatch(ctx context.Context, n *node, b Batch, out chan<- extracted) error {
	if b.Record != nil {
		return errors.New("flow: a table function cannot dispatch Arrow record batches")
	}
	groups := map[string]*Batch{}
	var order []string
	get := func(t string) *Batch {
		if g := groups[t]; g != nil {
			return g
		}
		g := &Batch{Hints: b.Hints}
		groups[t] = g
		order = append(order, t)
		return g
	}
	if b.JSON != nil {
		for _, v := range b.JSON {
			g := get(n.res.tableFunc(v))
			g.JSON = append(g.JSON, v)
		}
	} else if !b.Typed.IsZero() {
		idx := map[string][]int{}
		for i := range b.Typed.Len() {
			t := n.res.tableFunc(b.Typed.Index(i))
			get(t)
			idx[t] = append(idx[t], i)
		}
		for t, g := range groups {
			g.Typed = b.Typed.Pick(idx[t])
		}
	} else {
		for _, v := range b.Items {
			g := get(n.res.tableFunc(v))
			g.Items = append(g.Items, v)
		}
	}
	shareRelease(&b, len(order))
	for _, t := range order {
		g := groups[t]
		g.release = b.release
		select {
		case out <- extracted{node: n, table: t, batch: *g}:
		case <-ctx.Done():
			g.Release()
			return context.Cause(ctx)
		}
	}
	return nil
}

// shareRelease makes b's release run only after it was called n times.
func shareRelease(b *Batch, n int) {
	rel := b.release
	if len(rel) == 0 || n <= 1 {
		return
	}
	var left atomic.Int64
	left.Store(int64(n))
	b.release = []func(){func() {
		if left.Add(-1) == 0 {
			for i := len(rel) - 1; i >= 0; i-- {
				rel[i]()
			}
		}
	}}
}
