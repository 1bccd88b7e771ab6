package transform

import (
	"github.com/sluicehq/sluice/internal/jsonconv"

	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/internal/jsonpath"
)

// Path is a compiled field path: "a.b", "$.a.b", "a[0].b", "['a-b'].c".
// It addresses one value in an item; it does not do wildcards. It is
// parsed by sluice's one JSONPath (the REST source's selectors and
// paginator paths use the same) and kept as its names.
type Path []string

// ParsePath compiles a field path: a JSONPath of names and indexes.
func ParsePath(s string) (Path, error) {
	jp, err := jsonpath.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	if jp.IsRoot() {
		return nil, fmt.Errorf("transform: empty path")
	}
	names, ok := jp.Names()
	if !ok {
		return nil, fmt.Errorf("transform: path %q: wildcards are not allowed here", s)
	}
	if slices.Contains(names, "") {
		return nil, fmt.Errorf("transform: path %q: empty name", s)
	}
	return Path(names), nil
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
	return jsonconv.ToGo(v, jsonconv.Native)
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
