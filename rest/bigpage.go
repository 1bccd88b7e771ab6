package rest

import (
	"bytes"
	"context"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/internal/jsonpath"
	"github.com/sluicehq/sluice/internal/runctx"
)

// Big pages. A page parsed whole lives as a fastjson tree of 5-10 times its
// size (a 200 MB page peaked at 3.1 GB), and its rows went on as one batch.
// A page of at least bigPageBytes is instead scanned once without parsing:
// its large arrays (at least elideBytes) are cut into parts of about
// partBytes of rows, and the rest, the skeleton (the page with those
// arrays empty), is parsed for the selector and the paginator. When the
// rows are one of the cut arrays, or what a selector "keys[*]rest" picks
// in each of its elements, its parts are parsed one by one as they are
// handed on, each a batch of its own; otherwise the page is parsed whole,
// as a small page is, and its rows go on in batches of about a part's
// rows (emitPage).
//
// Parsed whole, a page of small records costs far more than 5-10 times:
// fastjson allocates values from one slice that it grows by append, and
// each value points into the slice it was made in, so every smaller
// slice the growth left behind stays alive with the tree. A 60 MB page of
// {"id":N,"tags":["a","b"]} is a 3.9 GB tree (about 2 KB a record).
//
// The scan trusts no byte: every byte of the page is either in the
// skeleton or in a part, both parsed by fastjson, or is a comma or white
// space between parts, which the scan checks. A page that is not valid
// JSON fails as it would parsed whole (a part may fail after the parts
// before it were handed on; the run then fails and loads nothing).
var (
	bigPageBytes = 8 << 20
	elideBytes   = 1 << 20
	partBytes    = 128 << 10
)

// maxSkeletonDepth bounds the objects the scan descends into; a deeper
// page is parsed whole.
const maxSkeletonDepth = 64

// part is a run of array elements in the body: body[start:end] holds rows
// rows (nulls included) separated by commas.
type part struct {
	start, end int
	rows       int
	nulls      int
}

// cutArray is an array of at least elideBytes, left out of the skeleton.
type cutArray struct {
	path        []string // object keys from the root to the array
	open, close int      // the offsets of its '[' and ']'
	parts       []part
	v           *fastjson.Value // its empty stand-in in the parsed skeleton
}

// elems counts the array's elements.
func (a *cutArray) elems() int {
	n := 0
	for _, p := range a.parts {
		n += p.rows
	}
	return n
}

// rows counts the array's elements that are not null.
func (a *cutArray) rows() int {
	n := 0
	for _, p := range a.parts {
		n += p.rows - p.nulls
	}
	return n
}

// skeletonScan finds the arrays of a page that are cut out of its skeleton.
type skeletonScan struct {
	b   []byte
	cut []*cutArray
}

// scanSkeleton scans body and returns its cut arrays in document order, or
// ok false when the body is not a JSON value the scan follows (the caller
// then parses it whole, which reports any error).
func scanSkeleton(body []byte) (cut []*cutArray, ok bool) {
	s := &skeletonScan{b: body}
	i := skipWS(body, 0)
	end, ok := s.value(i, nil)
	if !ok || skipWS(body, end) != len(body) {
		return nil, false
	}
	return s.cut, true
}

// skeleton returns body with the cut arrays emptied.
func skeleton(body []byte, cut []*cutArray) []byte {
	n := len(body)
	for _, a := range cut {
		n -= a.close - a.open - 1
	}
	out := make([]byte, 0, n)
	at := 0
	for _, a := range cut {
		out = append(out, body[at:a.open+1]...)
		at = a.close
	}
	return append(out, body[at:]...)
}

// value scans the value at b[i] on the path of object keys path; arrays
// reached through objects only (the ones that can hold a page's rows)
// are measured and maybe cut.
func (s *skeletonScan) value(i int, path []string) (int, bool) {
	if i >= len(s.b) {
		return 0, false
	}
	switch s.b[i] {
	case '{':
		return s.object(i, path)
	case '[':
		return s.array(i, path)
	}
	return skipValue(s.b, i)
}

func (s *skeletonScan) object(i int, path []string) (int, bool) {
	if len(path) >= maxSkeletonDepth {
		return 0, false
	}
	b := s.b
	cutBefore := len(s.cut)
	var keys []string
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		j := stringEnd(b, i)
		if j < 0 {
			return 0, false
		}
		key := b[i+1 : j-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return 0, false // an escaped key: the skeleton's path would need unescaping
		}
		keys = append(keys, string(key))
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		end, ok := s.value(skipWS(b, i+1), append(path[:len(path):len(path)], keys[len(keys)-1]))
		if !ok {
			return 0, false
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return 0, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return 0, false
		}
		i = skipWS(b, i+1)
	}
	// A key that occurs twice is found by fastjson's Get at its first
	// occurrence: a cut array under a repeated key might be mistaken for
	// another value.
	for _, a := range s.cut[cutBefore:] {
		k, n := a.path[len(path)], 0
		for _, kk := range keys {
			if kk == k {
				n++
			}
		}
		if n > 1 {
			return 0, false
		}
	}
	return i + 1, true
}

// array scans an array, grouping its elements into parts; an array of at
// least elideBytes is cut.
func (s *skeletonScan) array(open int, path []string) (int, bool) {
	b := s.b
	i := skipWS(b, open+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	var parts []part
	cur := part{start: -1}
	for {
		end, ok := skipValue(b, i)
		if !ok {
			return 0, false
		}
		if cur.start < 0 {
			cur.start = i
		}
		cur.end = end
		cur.rows++
		if end-i == 4 && string(b[i:end]) == "null" {
			cur.nulls++
		}
		if cur.end-cur.start >= partBytes {
			parts = append(parts, cur)
			cur = part{start: -1}
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return 0, false
		}
		if b[i] == ']' {
			break
		}
		if b[i] != ',' {
			return 0, false
		}
		i = skipWS(b, i+1)
	}
	if cur.start >= 0 {
		parts = append(parts, cur)
	}
	if i+1-open >= elideBytes {
		s.cut = append(s.cut, &cutArray{path: append([]string(nil), path...), open: open, close: i, parts: parts})
	}
	return i + 1, true
}

// skipValue returns the end of the JSON value at b[i] without checking
// more than it needs to find it: what it skips is parsed later.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		j := stringEnd(b, i)
		return j, j > 0
	case '{', '[':
	case ',', ':', ']', '}':
		return 0, false
	default:
		// A number, true, false or null: up to a delimiter.
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', ']', '}', ' ', '\t', '\n', '\r', ':', '"', '[', '{':
				return j, j > i
			}
			j++
		}
		return j, j > i
	}
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			k := stringEnd(b, j)
			if k < 0 {
				return 0, false
			}
			j = k - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}

// bigPage is a page parsed as its skeleton: its rows are the parts of one
// cut array, still to parse, or with rest, what rest selects in each of
// the array's elements (a selector "data[*].id").
type bigPage struct {
	parts []part
	rest  *jsonpath.Path // nil: the elements are the rows
	rows  int            // not null
}

// placeholderRow stands for every row of a big page in the rows a built-in
// paginator sees: those only count them.
var placeholderRow = fastjson.MustParse(`{}`)

func placeholderRows(n int) []*fastjson.Value {
	rows := make([]*fastjson.Value, n)
	for i := range rows {
		rows[i] = placeholderRow
	}
	return rows
}

// parseSkeleton parses a big page's skeleton and selects its rows from it:
// big is set when the rows are a cut array; otherwise rows are selected
// from the skeleton. ok is false when the skeleton cannot stand for the
// page (the selector reaches into a cut array, a selected row holds one):
// the page is then parsed whole. It needs p.parser released by the caller
// on every outcome.
func (c *client) parseSkeleton(p *page, sel *jsonPath) (rows []*fastjson.Value, matched bool, big *bigPage, ok bool) {
	body := p.resp.Body
	cut, ok := scanSkeleton(body)
	if !ok || len(cut) == 0 {
		return nil, false, nil, false
	}
	p.parser = c.parsers.Get()
	root, err := p.parser.ParseBytes(skeleton(body, cut))
	if err != nil {
		return nil, false, nil, false
	}
	byValue := make(map[*fastjson.Value]*cutArray, len(cut))
	for _, a := range cut {
		v := root
		for _, k := range a.path {
			if v = v.Get(k); v == nil {
				return nil, false, nil, false
			}
		}
		if arr, err := v.Array(); err != nil || len(arr) != 0 {
			return nil, false, nil, false
		}
		a.v = v
		byValue[v] = a
	}
	p.resp.json = root
	// What the selector matches before a single array is expanded. A cut
	// array's elements are not in the skeleton: a selector reaching into
	// them is followed only as "keys[*]rest", element by element.
	var matches []*fastjson.Value
	switch {
	case sel == nil:
		matches = []*fastjson.Value{detectData(root)}
	case sel.keysOnly(false):
		if v := sel.first(root); v != nil {
			matches = []*fastjson.Value{v}
		}
	case sel.keysOnly(true):
		// "data[*]": the elements of data, as "data" has them, but for
		// one element, which "data[*]" would expand if it is an array.
		keys, _, _ := sel.CutWild()
		v := keys.First(root)
		if a := byValue[v]; a != nil {
			if a.elems() <= 1 || !c.checkCut(body, cut, a) {
				return nil, false, nil, false
			}
			return nil, true, &bigPage{parts: a.parts, rows: a.rows()}, true
		}
		matches = sel.find(root, nil)
	default:
		// "data[*].id" and the like: the steps after the leading keys act
		// in what the keys reach. In a cut array, on each element, part by
		// part; elsewhere in the skeleton, if that holds no cut array.
		keys, wild, rest := sel.CutWild()
		base := keys.First(root)
		if a := byValue[base]; a != nil {
			if !wild {
				return nil, false, nil, false
			}
			return c.elemsBig(body, cut, a, rest)
		}
		if base != nil && holdsCut([]*fastjson.Value{base}, byValue) {
			return nil, false, nil, false
		}
		matches = sel.find(root, nil)
	}
	if a := byValue[first(matches)]; len(matches) == 1 && a != nil {
		if !c.checkCut(body, cut, a) {
			return nil, false, nil, false
		}
		return nil, true, &bigPage{parts: a.parts, rows: a.rows()}, true
	}
	if holdsCut(matches, byValue) || !c.checkCut(body, cut, nil) {
		return nil, false, nil, false
	}
	rows, matched = selectRows(root, sel)
	return rows, matched, nil, true
}

// elemsBig is parseSkeleton for a selector that applies rest to each
// element of the cut array a. Its parts are parsed once here, one at a
// time, to count the rows (the paginator sees the count before the rows
// are handed on) and to find what parsing whole would do differently:
// a single match is expanded if it is an array, so a page with one
// match is parsed whole.
func (c *client) elemsBig(body []byte, cut []*cutArray, a *cutArray, rest *jsonpath.Path) (rows []*fastjson.Value, matched bool, big *bigPage, ok bool) {
	var (
		buf        []byte
		out        []*fastjson.Value
		matches, n int
	)
	for _, pt := range a.parts {
		elems, parser, b, err := c.parsePart(body, pt, buf)
		buf = b
		if err != nil {
			return nil, false, nil, false
		}
		for _, v := range elems {
			out = rest.Find(v, out[:0])
			matches += len(out)
			for _, m := range out {
				if m.Type() != fastjson.TypeNull {
					n++
				}
			}
		}
		clear(out)
		c.parsers.Put(parser, len(buf))
	}
	if matches == 1 || !c.checkCut(body, cut, a) {
		return nil, false, nil, false
	}
	if matches == 0 {
		return nil, false, nil, true
	}
	return nil, true, &bigPage{parts: a.parts, rest: rest, rows: n}, true
}

func first(vs []*fastjson.Value) *fastjson.Value {
	if len(vs) == 0 {
		return nil
	}
	return vs[0]
}

// checkCut parses the cut arrays but rows, one part at a time, to find
// what parsing the page whole would reject: their rows are not used, but
// a page that is not JSON fails.
func (c *client) checkCut(body []byte, cut []*cutArray, rows *cutArray) bool {
	var buf []byte
	for _, a := range cut {
		if a == rows {
			continue
		}
		for _, pt := range a.parts {
			var (
				parser *fastjson.Parser
				err    error
			)
			if _, parser, buf, err = c.parsePart(body, pt, buf); err != nil {
				return false
			}
			c.parsers.Put(parser, len(buf))
		}
	}
	return true
}

// holdsCut reports whether a cut array is inside one of rows (reached
// through objects, as cut arrays are).
func holdsCut(rows []*fastjson.Value, cut map[*fastjson.Value]*cutArray) bool {
	var walk func(v *fastjson.Value) bool
	walk = func(v *fastjson.Value) bool {
		if cut[v] != nil {
			return true
		}
		o, err := v.Object()
		if err != nil {
			return false
		}
		found := false
		o.Visit(func(_ []byte, c *fastjson.Value) { found = found || walk(c) })
		return found
	}
	for _, r := range rows {
		if walk(r) {
			return true
		}
	}
	return false
}

// parsePart parses one part of a big page's rows with a parser of its own;
// buf is scratch space for the part wrapped as an array, returned for
// reuse.
func (c *client) parsePart(body []byte, pt part, buf []byte) (rows []*fastjson.Value, parser *fastjson.Parser, _ []byte, err error) {
	buf = append(append(append(buf[:0], '['), body[pt.start:pt.end]...), ']')
	parser = c.parsers.Get()
	v, err := parser.ParseBytes(buf)
	if err != nil {
		c.parsers.Put(parser, len(buf))
		return nil, nil, buf, err
	}
	a, _ := v.Array()
	return dropNulls(a), parser, buf, nil
}

// bigPart parses one part of a big page and returns its rows: the part's
// elements, or what big.rest selects in them.
func (c *client) bigPart(body []byte, big *bigPage, pt part, buf []byte) (rows []*fastjson.Value, parser *fastjson.Parser, _ []byte, err error) {
	elems, parser, buf, err := c.parsePart(body, pt, buf)
	if err != nil || big.rest == nil {
		return elems, parser, buf, err
	}
	for _, v := range elems {
		rows = big.rest.Find(v, rows)
	}
	return dropNulls(rows), parser, buf, nil
}

// streamSafe reports whether pg may page through a big page parsed in
// parts: it is one of the built-in paginators, which count the rows they
// are given and read the response at paths of object keys only (which the
// skeleton holds).
func streamSafe(pg Paginator) bool {
	switch p := pg.(type) {
	case SinglePage, *SinglePage, *HeaderLink:
		return true
	case *JSONLink:
		return p.path.keysOnly(false)
	case *Cursor:
		return p.path.keysOnly(false)
	case *RangePaginator:
		return (p.cfg.totalPath == nil || p.cfg.totalPath.keysOnly(false)) &&
			(p.cfg.hasMorePath == nil || p.cfg.hasMorePath.keysOnly(false))
	case *autoPaginator:
		// Detection reads fields under object keys; what it detects is
		// built-in.
		return p.inner == nil || streamSafe(p.inner)
	}
	return false
}

// limited reports whether the resource has a limit on its yields (dlt's
// add_limit counts pages): a page handed on in parts would count as many.
func limited(ctx context.Context) bool {
	_, ok := runctx.YieldsLeft(ctx)
	return ok
}
