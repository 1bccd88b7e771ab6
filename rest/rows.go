package rest

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
)

// pageRows are the rows of a fetched page: parsed, or for a big page (see
// bigpage.go) parts still to parse.
type pageRows struct {
	rows []*fastjson.Value
	big  *bigPage
}

// count is the number of rows.
func (r pageRows) count() int {
	if r.big != nil {
		return r.big.rows
	}
	return len(r.rows)
}

// forPaginator returns the rows a paginator sees; a big page's are
// placeholders, as only built-in paginators, which count rows, page
// through big pages in parts (see streamSafe).
func (r pageRows) forPaginator() []*fastjson.Value {
	if r.big != nil {
		return placeholderRows(r.big.rows)
	}
	return r.rows
}

// rowsOf parses a fetched page and selects its rows. With inParts, a page
// of at least bigPageBytes whose rows are one large array keeps them in
// parts, parsed as they are handed on (emitPage).
func (e *endpoint) rowsOf(p *page, inParts bool) (pageRows, error) {
	if inParts && len(p.resp.Body) >= bigPageBytes && !p.ignored && p.resp.json == nil {
		rows, matched, big, ok := e.c.parseSkeleton(p, e.selector)
		if ok {
			e.noteSelected(matched)
			return pageRows{rows: rows, big: big}, nil
		}
		if p.parser != nil {
			e.c.parsers.Put(p.parser, len(p.resp.Body))
			p.parser = nil
		}
		p.resp.json = nil
	}
	if err := e.c.parse(p); err != nil {
		return pageRows{}, err
	}
	root := p.resp.JSON()
	rows, matched := selectRows(root, e.selector)
	if root != nil {
		e.noteSelected(matched)
	}
	return pageRows{rows: rows}, nil
}

// noteSelected counts a page with JSON and whether the data selector
// matched in it, for warnUnmatched.
func (e *endpoint) noteSelected(matched bool) {
	if e.selector == nil || e.selectorImplied {
		return
	}
	e.pages.Add(1)
	if matched {
		e.matched.Store(true)
	}
}

// warnUnmatched warns, once, when an explicit data_selector matched
// nothing in any page the resource got: a misspelt selector otherwise
// loads no rows without a word.
func (e *endpoint) warnUnmatched() {
	n := e.pages.Load()
	if n == 0 || e.matched.Load() || e.warned.Swap(true) {
		return
	}
	pages := "the page"
	if n > 1 {
		pages = fmt.Sprintf("any of %d pages", n)
	}
	e.log.Warn(fmt.Sprintf("rest: resource %q: data_selector %q matched nothing in %s; no rows were loaded from it", e.name, e.selector.String(), pages))
}

// emitPage hands a page's rows on and releases the page: a big page's
// parts, parsed one at a time, as a batch each, so that no more of the
// page than the parts in flight is parsed at once; the rows of a big page
// parsed whole in batches of about as many rows as a part holds (see
// splitRows); else one batch. done reports that an ordered incremental
// (row_order) saw a row past its range.
func (e *endpoint) emitPage(ctx context.Context, p *page, pr pageRows, extra []extraField, yield flow.Yield) (done bool, err error) {
	c := e.c
	if pr.big == nil {
		batches := splitRows(pr.rows, len(p.resp.Body), limited(ctx))
		// The batches share the page: the last one released releases it.
		var left atomic.Int64
		left.Store(int64(len(batches)))
		release := func() {
			if left.Add(-1) == 0 {
				p.release(c)
			}
		}
		if len(batches) == 0 {
			p.release(c)
		}
		for i, rows := range batches {
			done = done || e.inc.canClose(ctx, rows)
			if err := e.emit(rows, extra, release, yield); err != nil {
				for range batches[i+1:] {
					release()
				}
				return done, err
			}
		}
		return done, nil
	}
	defer p.release(c)
	var buf []byte
	for _, pt := range pr.big.parts {
		var (
			rows   []*fastjson.Value
			parser *fastjson.Parser
		)
		rows, parser, buf, err = c.bigPart(p.resp.Body, pr.big, pt, buf)
		if err != nil {
			return done, c.notJSON(p)
		}
		done = done || e.inc.canClose(ctx, rows)
		size := len(buf)
		if err := e.emit(rows, extra, func() { c.parsers.Put(parser, size) }, yield); err != nil {
			return done, err
		}
	}
	return done, nil
}

// splitRows cuts the rows of a page parsed whole, of size bytes, into the
// batches they go on in: one for a page under bigPageBytes, else batches
// of about partBytes of the page each, as its parts would be. Under a
// limit (add_limit counts batches as pages) a page is one batch.
func splitRows(rows []*fastjson.Value, size int, limited bool) [][]*fastjson.Value {
	if len(rows) == 0 {
		return nil
	}
	if size < bigPageBytes || limited {
		return [][]*fastjson.Value{rows}
	}
	per := max(int(int64(len(rows))*int64(partBytes)/int64(size)), 1)
	batches := make([][]*fastjson.Value, 0, len(rows)/per+1)
	for len(rows) > per {
		batches = append(batches, rows[:per:per])
		rows = rows[per:]
	}
	return append(batches, rows)
}

var arenas fastjson.ArenaPool

// emit yields rows as one JSON batch whose release calls release (which
// frees what holds the rows) and returns the arena of added fields. With
// no rows, it calls release at once.
func (e *endpoint) emit(rows []*fastjson.Value, extra []extraField, release func(), yield flow.Yield) error {
	if len(rows) == 0 {
		release()
		return nil
	}
	var arena *fastjson.Arena
	if len(extra) > 0 {
		arena = arenas.Get()
		extraParser := e.c.parsers.Get()
		vals := make([]*fastjson.Value, 0, len(extra))
		keys := make([]string, 0, len(extra))
		parsed := 0
		for _, x := range extra {
			parsed = max(parsed, len(x.raw))
			v, err := extraParser.ParseBytes(x.raw)
			if err != nil {
				continue
			}
			vals = append(vals, deepCopy(arena, v))
			keys = append(keys, x.key)
		}
		e.c.parsers.Put(extraParser, parsed)
		for _, r := range rows {
			if r.Type() != fastjson.TypeObject {
				continue
			}
			for i, k := range keys {
				r.Set(k, vals[i])
			}
		}
	}
	batch := flow.JSONBatch(rows, func() {
		release()
		if arena != nil {
			arena.Reset()
			arenas.Put(arena)
		}
	})
	return yield(batch)
}

// deepCopy copies v into a.
func deepCopy(a *fastjson.Arena, v *fastjson.Value) *fastjson.Value {
	switch v.Type() {
	case fastjson.TypeObject:
		o := a.NewObject()
		obj, _ := v.Object()
		obj.Visit(func(k []byte, c *fastjson.Value) { o.Set(string(k), deepCopy(a, c)) })
		return o
	case fastjson.TypeArray:
		arr := a.NewArray()
		items, _ := v.Array()
		for i, c := range items {
			arr.SetArrayItem(i, deepCopy(a, c))
		}
		return arr
	case fastjson.TypeString:
		return a.NewStringBytes(v.GetStringBytes())
	case fastjson.TypeNumber:
		return a.NewNumberString(v.String())
	case fastjson.TypeTrue:
		return a.NewTrue()
	case fastjson.TypeFalse:
		return a.NewFalse()
	}
	return a.NewNull()
}
