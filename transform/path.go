package transform

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
)

// Path is a compiled field path: "a.b", "$.a.b", "a[0].b", "['a-b'].c".
// It addresses one value in an item; it does not do wildcards.
type Path []string

// ParsePath compiles a dotted field path.
func ParsePath(s string) (Path, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "$")
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, fmt.Errorf("transform: empty path")
	}
	var p Path
	for i := 0; i < len(s); {
		switch s[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("transform: path %q: unclosed [", s)
			}
			part := strings.Trim(s[i+1:i+end], `'"`)
			if part == "" || part == "*" {
				return nil, fmt.Errorf("transform: path %q: wildcards are not allowed here", s)
			}
			p = append(p, part)
			i += end + 1
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			part := s[i:j]
			if part == "*" {
				return nil, fmt.Errorf("transform: path %q: wildcards are not allowed here", s)
			}
			p = append(p, part)
			i = j
		}
	}
	return p, nil
}

// MustPath is ParsePath that panics on a bad path (for constants).
func MustPath(s string) Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String renders the path dotted.
func (p Path) String() string { return strings.Join(p, ".") }

// JSON returns the value at p in v, or nil.
func (p Path) JSON(v *fastjson.Value) *fastjson.Value {
	return v.Get(p...)
}

// Go returns the value at p in a Go item (maps, slices and structs), and
// whether it was there. A struct field is found by its column name, its
// sluice or json name or its Go name (see arrowbuf.NewFieldReader).
func (p Path) Go(item any) (any, bool) {
	cur := item
	for i := 0; i < len(p); i++ {
		k := p[i]
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[k]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			j, err := strconv.Atoi(k)
			if err != nil || j < 0 || j >= len(c) {
				return nil, false
			}
			cur = c[j]
		default:
			v, used, ok := structField(cur, p[i:])
			if !ok {
				return nil, false
			}
			cur, i = v, i+used-1
		}
	}
	return cur, true
}

// Get returns the value at p in an item that is either a *fastjson.Value or
// Go values, converted to Go values.
func (p Path) Get(item any) (any, bool) {
	if v, ok := item.(*fastjson.Value); ok {
		x := p.JSON(v)
		if x == nil {
			return nil, false
		}
		return jsonScalar(x), true
	}
	return p.Go(item)
}

// jsonScalar converts a scalar to its Go value and keeps an object or a list
// as its JSON text.
func jsonScalar(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeObject, fastjson.TypeArray:
		return v.String()
	}
	return flow.JSONToGo(v)
}

// TableFromField returns a flow.TableFunc picking the table from an item's
// field (dlt's table_name=lambda i: i["type"]); items without it go to
// fallback.
func TableFromField(field, fallback string) func(item any) string {
	p := MustPath(field)
	return func(item any) string {
		v, ok := p.Get(item)
		if !ok || v == nil {
			return fallback
		}
		return fmt.Sprint(v)
	}
}
