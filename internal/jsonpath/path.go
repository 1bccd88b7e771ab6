package jsonpath

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// Path is a compiled JSONPath of the forms dlt's data selectors and
// paginator paths use: "data", "results.posts", "$.data[*]", "$.items",
// "$['a-b'].c", "items[0].id", "$..id".
type Path struct {
	raw   string
	steps []pathStep
}

type stepKind uint8

const (
	stepKey     stepKind = iota // .name or ['name']
	stepIndex                   // [3] or [-1]
	stepWild                    // .* or [*]
	stepRecurse                 // ..name or ..*
)

type pathStep struct {
	kind  stepKind
	key   string // stepKey, stepRecurse ("" means any)
	index int    // stepIndex
}

// Parse compiles a JSONPath. An empty path or "$" is the root.
func Parse(s string) (*Path, error) {
	p := &Path{raw: s}
	s = strings.TrimSpace(s)
	i := 0
	if strings.HasPrefix(s, "$") {
		i = 1
	} else if s != "" && s[0] != '[' && s[0] != '.' {
		// A bare name starts the path: "data.items".
		j := nameEnd(s, 0)
		if j == 0 {
			return nil, fmt.Errorf("bad JSONPath %q", s)
		}
		p.steps = append(p.steps, nameStep(s[:j], stepKey))
		i = j
	}
	for i < len(s) {
		switch s[i] {
		case '.':
			kind := stepKey
			i++
			if i < len(s) && s[i] == '.' {
				kind = stepRecurse
				i++
			}
			if i < len(s) && s[i] == '[' {
				if kind != stepRecurse {
					return nil, fmt.Errorf("bad JSONPath %q: '.' before '['", s)
				}
				st, n, err := parseBracket(s, i)
				if err != nil {
					return nil, err
				}
				if st.kind == stepWild {
					st = pathStep{kind: stepRecurse}
				} else if st.kind == stepKey {
					st.kind = stepRecurse
				} else {
					return nil, fmt.Errorf("bad JSONPath %q: index after '..'", s)
				}
				p.steps = append(p.steps, st)
				i = n
				continue
			}
			j := nameEnd(s, i)
			if j == i {
				return nil, fmt.Errorf("bad JSONPath %q: empty name at %d", s, i)
			}
			p.steps = append(p.steps, nameStep(s[i:j], kind))
			i = j
		case '[':
			st, n, err := parseBracket(s, i)
			if err != nil {
				return nil, err
			}
			p.steps = append(p.steps, st)
			i = n
		default:
			return nil, fmt.Errorf("bad JSONPath %q: unexpected %q at %d", s, s[i], i)
		}
	}
	return p, nil
}

func nameStep(name string, kind stepKind) pathStep {
	if name == "*" {
		if kind == stepRecurse {
			return pathStep{kind: stepRecurse}
		}
		return pathStep{kind: stepWild}
	}
	return pathStep{kind: kind, key: name}
}

func nameEnd(s string, i int) int {
	for i < len(s) && s[i] != '.' && s[i] != '[' {
		i++
	}
	return i
}

// parseBracket parses [*], [3], ['name'] or ["name"] at s[i] == '['.
func parseBracket(s string, i int) (pathStep, int, error) {
	i++
	if i >= len(s) {
		return pathStep{}, 0, fmt.Errorf("bad JSONPath %q: unclosed [", s)
	}
	if q := s[i]; q == '\'' || q == '"' {
		end := strings.IndexByte(s[i+1:], q)
		if end < 0 {
			return pathStep{}, 0, fmt.Errorf("bad JSONPath %q: unclosed quote", s)
		}
		key := s[i+1 : i+1+end]
		j := i + 1 + end + 1
		if j >= len(s) || s[j] != ']' {
			return pathStep{}, 0, fmt.Errorf("bad JSONPath %q: want ] after quoted name", s)
		}
		return pathStep{kind: stepKey, key: key}, j + 1, nil
	}
	end := strings.IndexByte(s[i:], ']')
	if end < 0 {
		return pathStep{}, 0, fmt.Errorf("bad JSONPath %q: unclosed [", s)
	}
	inner := strings.TrimSpace(s[i : i+end])
	next := i + end + 1
	if inner == "*" {
		return pathStep{kind: stepWild}, next, nil
	}
	n, err := strconv.Atoi(inner)
	if err != nil {
		return pathStep{}, 0, fmt.Errorf("bad JSONPath %q: bad index", s)
	}
	return pathStep{kind: stepIndex, index: n}, next, nil
}

// String returns the path as written.
func (p *Path) String() string { return p.raw }

// Find appends every value matching p in v to out.
func (p *Path) Find(v *fastjson.Value, out []*fastjson.Value) []*fastjson.Value {
	if v == nil {
		return out
	}
	return evalSteps(p.steps, v, out)
}

// First returns the first match, or nil.
func (p *Path) First(v *fastjson.Value) *fastjson.Value {
	if v == nil {
		return nil
	}
	if p.Simple() {
		for _, st := range p.steps {
			switch st.kind {
			case stepKey:
				if v.Type() != fastjson.TypeObject {
					return nil
				}
				v = v.Get(st.key)
			case stepIndex:
				a, err := v.Array()
				if err != nil {
					return nil
				}
				i := st.index
				if i < 0 {
					i += len(a)
				}
				if i < 0 || i >= len(a) {
					return nil
				}
				v = a[i]
			}
			if v == nil {
				return nil
			}
		}
		return v
	}
	var buf [4]*fastjson.Value
	m := p.Find(v, buf[:0])
	if len(m) == 0 {
		return nil
	}
	return m[0]
}

// Simple reports whether the path has only keys and indexes (one match).
func (p *Path) Simple() bool {
	for _, st := range p.steps {
		if st.kind != stepKey && st.kind != stepIndex {
			return false
		}
	}
	return true
}

// KeysOnly reports whether the path is object keys only, or with
// trailingWild, keys then one [*] or .* ("$.data[*]").
func (p *Path) KeysOnly(trailingWild bool) bool {
	steps := p.steps
	if trailingWild {
		if len(steps) == 0 || steps[len(steps)-1].kind != stepWild {
			return false
		}
		steps = steps[:len(steps)-1]
	}
	for _, st := range steps {
		if st.kind != stepKey {
			return false
		}
	}
	return true
}

func evalSteps(steps []pathStep, v *fastjson.Value, out []*fastjson.Value) []*fastjson.Value {
	if len(steps) == 0 {
		return append(out, v)
	}
	st, rest := steps[0], steps[1:]
	switch st.kind {
	case stepKey:
		if v.Type() == fastjson.TypeObject {
			if c := v.Get(st.key); c != nil {
				out = evalSteps(rest, c, out)
			}
		}
	case stepIndex:
		if a, err := v.Array(); err == nil {
			i := st.index
			if i < 0 {
				i += len(a)
			}
			if i >= 0 && i < len(a) {
				out = evalSteps(rest, a[i], out)
			}
		}
	case stepWild:
		switch v.Type() {
		case fastjson.TypeArray:
			a, _ := v.Array()
			for _, c := range a {
				out = evalSteps(rest, c, out)
			}
		case fastjson.TypeObject:
			o, _ := v.Object()
			o.Visit(func(_ []byte, c *fastjson.Value) { out = evalSteps(rest, c, out) })
		}
	case stepRecurse:
		out = recurse(st.key, rest, v, out)
	}
	return out
}

// recurse applies "..key" (key "" = any member) to v and all its descendants.
func recurse(key string, rest []pathStep, v *fastjson.Value, out []*fastjson.Value) []*fastjson.Value {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(k []byte, c *fastjson.Value) {
			if key == "" || string(k) == key {
				out = evalSteps(rest, c, out)
			}
		})
		o.Visit(func(_ []byte, c *fastjson.Value) { out = recurse(key, rest, c, out) })
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, c := range a {
			if key == "" {
				out = evalSteps(rest, c, out)
			}
		}
		for _, c := range a {
			out = recurse(key, rest, c, out)
		}
	}
	return out
}
