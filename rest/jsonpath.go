package rest

import (
	"fmt"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/internal/jsonpath"
)

// jsonPath is the one JSONPath of sluice (internal/jsonpath) under the
// names this package's files call: a thin adapter, so that the paginators
// (paginator*.go) and the run layer read paths the same way. New code may
// call the exported methods of the embedded Path.
type jsonPath struct{ jsonpath.Path }

// parseJSONPath compiles a JSONPath (jsonpath.Parse). An empty path or "$"
// is the root.
func parseJSONPath(s string) (*jsonPath, error) {
	p, err := jsonpath.Parse(s)
	if err != nil {
		return nil, err
	}
	return &jsonPath{*p}, nil
}

// find appends every value matching p in v to out.
func (p *jsonPath) find(v *fastjson.Value, out []*fastjson.Value) []*fastjson.Value {
	return p.Find(v, out)
}

// first returns the first match, or nil.
func (p *jsonPath) first(v *fastjson.Value) *fastjson.Value { return p.First(v) }

// simple reports whether the path has only keys and indexes (one match).
func (p *jsonPath) simple() bool { return p.Simple() }

// keysOnly reports whether the path is object keys only, or with
// trailingWild, keys then one [*] or .* ("$.data[*]").
func (p *jsonPath) keysOnly(trailingWild bool) bool { return p.KeysOnly(trailingWild) }

// rawString is the string at a one-key path in a body not parsed yet,
// when the body shows it for certain (jsonpath.Path.RawString).
func (p *jsonPath) rawString(body []byte) (string, bool) { return p.RawString(body) }

// skipWS and stringEnd scan raw JSON (the big-page scan, secrets) as the
// raw lookahead of jsonpath does.
func skipWS(b []byte, i int) int { return jsonpath.SkipSpace(b, i) }

func stringEnd(b []byte, i int) int { return jsonpath.StringEnd(b, i) }

// parseBodyPath compiles where a paginator puts a value in the JSON body
// (offset_body_path, cursor_body_path, ...): a path of object keys,
// "$.page.offset" or "page['x-offset']".
func parseBodyPath(s string) (*jsonPath, error) {
	p, err := parseJSONPath(s)
	if err != nil {
		return nil, err
	}
	if p.IsRoot() || !p.KeysOnly(false) {
		return nil, fmt.Errorf("%q is not a path of object keys (\"page.offset\")", s)
	}
	return p, nil
}

// setIn puts v at p (from parseBodyPath) in req's JSON body, creating the
// body and the objects on the way.
func (p *jsonPath) setIn(req *Request, v any) {
	body, err := p.Set(req.JSON, v)
	if err != nil {
		return // not from parseBodyPath: nothing to set
	}
	req.JSON = body
}
