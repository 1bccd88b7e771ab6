package jsonpath

import (
	"errors"
	"strconv"
)

// The views of a Path below serve its users that need its shape rather
// than its matches: the big-page scan, which follows "keys[*]rest" into
// parts of an array, and transform's dotted paths.

// IsRoot reports whether p is the root ("", "$"): it matches the whole
// value.
func (p *Path) IsRoot() bool { return len(p.steps) == 0 }

// CutWild splits p at its first step that is not an object key: keys is
// the path of the leading keys; when that step is a wildcard ([*] or .*),
// wild is true and rest is the path after it ("data[*].id": keys "data",
// rest ".id"). For a path of keys only, keys is p and wild is false.
func (p *Path) CutWild() (keys *Path, wild bool, rest *Path) {
	k := 0
	for k < len(p.steps) && p.steps[k].kind == stepKey {
		k++
	}
	keys = &Path{raw: p.raw, steps: p.steps[:k:k]}
	if k < len(p.steps) && p.steps[k].kind == stepWild {
		return keys, true, &Path{raw: p.raw, steps: p.steps[k+1:]}
	}
	return keys, false, nil
}

// Names returns p's steps as names, an index as its decimal text
// ("a[0]['b-c']": a, 0, b-c), and false when p has a wildcard or a
// recursive descent, which match more than one value.
func (p *Path) Names() ([]string, bool) {
	out := make([]string, 0, len(p.steps))
	for _, st := range p.steps {
		switch st.kind {
		case stepKey:
			out = append(out, st.key)
		case stepIndex:
			out = append(out, strconv.Itoa(st.index))
		default:
			return nil, false
		}
	}
	return out, true
}

// errNotKeys is Set's error for a path with more than object keys.
var errNotKeys = errors.New("want a path of object keys (\"page.offset\")")

// Set puts v at p in body, a JSON request body as Go values, creating the
// body (when it is not an object) and the objects on the way (replacing
// what is not an object), and returns the body. p must be object keys
// only, at least one (KeysOnly(false) and not IsRoot); paginators check
// that when they are configured.
func (p *Path) Set(body any, v any) (map[string]any, error) {
	if p.IsRoot() || !p.KeysOnly(false) {
		return nil, errNotKeys
	}
	root, _ := body.(map[string]any)
	if root == nil {
		root = map[string]any{}
	}
	m := root
	last := len(p.steps) - 1
	for _, st := range p.steps[:last] {
		c, _ := m[st.key].(map[string]any)
		if c == nil {
			c = map[string]any{}
			m[st.key] = c
		}
		m = c
	}
	m[p.steps[last].key] = v
	return root, nil
}
