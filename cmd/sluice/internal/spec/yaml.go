package spec

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/sluicehq/sluice/internal/confspec"
)

// Decode parses YAML or JSON into a JSON-shaped tree: map[string]any, []any,
// string, int64, float64, bool and nil. Only one document is allowed.
func Decode(data []byte, name string) (any, error) {
	d, err := decodeOrdered(data, name)
	return d.tree, err
}

// decoded is a spec's tree with what its Go maps lose: the key order of
// every map and where each key (or list element) is written, by path
// ("source.resources[0].columns"). A value reached through an alias is
// placed where its anchor writes it.
type decoded struct {
	tree  any
	order map[string][]string
	pos   confspec.Positions
}

// decodeOrdered is Decode that also returns the key order and positions.
//
// It walks the YAML syntax tree itself rather than using go-yaml's decoder,
// which flattens a merge (`<<: *base`) into the mapping it stands in, so an
// overridden key looks like a duplicate. Here, as YAML says, a key written
// in the mapping wins over a merged one wherever the merge stands, and an
// earlier merged mapping wins over a later one.
func decodeOrdered(data []byte, name string) (decoded, error) {
	// Editors on Windows may start a file with a byte order mark; YAML
	// allows one there, go-yaml would make it part of the first key.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(bytes.TrimSpace(data)) == 0 {
		return decoded{}, &Error{File: name, Msg: "the spec is empty"}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return decoded{}, yamlError(name, err)
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			return decoded{}, &Error{File: name, Msg: "holds more than one YAML document"}
		}
		body = doc.Body
	}
	r := &reader{name: name, anchors: map[string]any{}}
	tree, err := r.node(body, "")
	if err != nil {
		return decoded{}, err
	}
	sh := shaper{budget: maxNodes, order: map[string][]string{}, pos: confspec.Positions{"": posOf(body)}}
	tree, err = sh.shape(tree, "", 0)
	return decoded{tree: tree, order: sh.order, pos: sh.pos}, err
}

// posOf is where n is written: a block mapping at its first key.
func posOf(n ast.Node) confspec.Pos {
	switch x := n.(type) {
	case nil:
		return confspec.Pos{}
	case *ast.MappingNode:
		if !x.IsFlowStyle && len(x.Values) > 0 {
			return posOf(x.Values[0])
		}
	case *ast.MappingValueNode:
		return posOf(x.Key)
	}
	if t := n.GetToken(); t != nil && t.Position != nil {
		return confspec.Pos{Line: t.Position.Line, Col: t.Position.Column}
	}
	return confspec.Pos{}
}

func yamlError(name string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg := ye.GetMessage()
		if tok := ye.GetToken(); tok != nil && tok.Position != nil {
			return &Error{File: name, Line: tok.Position.Line, Col: tok.Position.Column, Msg: msg}
		}
		return &Error{File: name, Msg: msg}
	}
	// Keep one line.
	msg := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return &Error{File: name, Msg: msg}
}

// Limits on a decoded spec: YAML aliases can make a small file expand to a
// huge tree.
const (
	maxDepth = 200
	maxNodes = 1 << 20
)

var errTooDeep = &Error{Msg: "the spec is nested too deeply"}

// omap is a YAML mapping as read: its values, its keys in order and
// where each key is written.
type omap struct {
	keys []string
	vals map[string]any
	pos  map[string]confspec.Pos
}

// oseq is a YAML sequence as read: its values and where each is written.
type oseq struct {
	vals []any
	pos  []confspec.Pos
}

// anchorBusy marks an anchor whose own value is being read: an alias to it
// there would make the tree infinite.
type anchorBusy struct{}

// reader turns a YAML syntax tree into scalars, *omap and *oseq. An alias
// shares its anchor's value; the shaper copies it where it is used.
type reader struct {
	name    string
	anchors map[string]any
	depth   int
}

func (r *reader) node(n ast.Node, path string) (any, error) {
	if r.depth++; r.depth > maxDepth {
		return nil, errTooDeep
	}
	defer func() { r.depth-- }()
	switch n := n.(type) {
	case nil:
		return nil, nil
	case *ast.MappingNode:
		return r.mapping(n.Values, path)
	case *ast.MappingValueNode: // a mapping of one key
		return r.mapping([]*ast.MappingValueNode{n}, path)
	case *ast.SequenceNode:
		out := &oseq{vals: make([]any, len(n.Values)), pos: make([]confspec.Pos, len(n.Values))}
		for i, e := range n.Values {
			v, err := r.node(e, confspec.Index(path, i))
			if err != nil {
				return nil, err
			}
			out.vals[i], out.pos[i] = v, posOf(e)
		}
		return out, nil
	case *ast.AnchorNode:
		return r.anchor(n.Name.GetToken().Value, n.Value, path)
	case *ast.AliasNode:
		name := n.Value.GetToken().Value
		v, ok := r.anchors[name]
		if !ok {
			return nil, errAt(path, "alias *%s has no anchor &%s before it", shown(name), shown(name))
		}
		if _, busy := v.(anchorBusy); busy {
			return nil, errAt(path, "alias *%s is inside its own anchor &%s", shown(name), shown(name))
		}
		return v, nil
	case *ast.TagNode:
		switch v := n.Value.(type) {
		case *ast.AnchorNode:
			if !plain(v.Value) {
				return r.node(v, path)
			}
			// `!!str &a 1`: the anchor holds the tagged value.
			t := *n
			t.Value = v.Value
			return r.anchor(v.Name.GetToken().Value, &t, path)
		default:
			if !plain(v) {
				// !!map, !!seq or an application tag: the value as it is.
				return r.node(v, path)
			}
		}
	}
	var v any
	if err := yaml.NodeToValue(n, &v); err != nil {
		return nil, yamlError(r.name, err)
	}
	return v, nil
}

// shown is an anchor name for an error: quoted when odd, to keep one line.
func shown(name string) string {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f || r > 0x7e }) {
		return strconv.Quote(name)
	}
	return name
}

// plain tells whether n is a scalar go-yaml can decode alone: no
// collection, anchor, alias or tag.
func plain(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode, *ast.AnchorNode, *ast.AliasNode, *ast.TagNode:
		return false
	}
	return true
}

func (r *reader) anchor(name string, n ast.Node, path string) (any, error) {
	r.anchors[name] = anchorBusy{}
	v, err := r.node(n, path)
	if err != nil {
		return nil, err
	}
	r.anchors[name] = v
	return v, nil
}

// mapping reads a mapping's entries in order (anchors are defined in
// document order) and then lays out its keys: each written key where it
// stands, each merged key not written in the mapping where its merge
// stands, the first merged mapping that has a key winning.
func (r *reader) mapping(items []*ast.MappingValueNode, path string) (any, error) {
	type entry struct {
		key    string
		val    any
		pos    confspec.Pos
		merged []*omap // for a merge (<<)
	}
	entries := make([]entry, 0, len(items))
	written := make(map[string]bool, len(items))
	for _, it := range items {
		if it.Key.IsMergeKey() {
			at := confspec.JoinKey(path, "<<")
			v, err := r.node(it.Value, at)
			if err != nil {
				return nil, err
			}
			srcs, err := mergeSources(v, at)
			if err != nil {
				return nil, err
			}
			entries = append(entries, entry{merged: srcs})
			continue
		}
		k, err := r.key(it.Key, path)
		if err != nil {
			return nil, err
		}
		if written[k] {
			return nil, errAt(confspec.JoinKey(path, k), "duplicate key")
		}
		written[k] = true
		v, err := r.node(it.Value, confspec.JoinKey(path, k))
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{key: k, val: v, pos: posOf(it.Key)})
	}
	m := &omap{keys: make([]string, 0, len(items)), vals: make(map[string]any, len(items)), pos: make(map[string]confspec.Pos, len(items))}
	add := func(k string, v any, pos confspec.Pos) {
		m.keys = append(m.keys, k)
		m.vals[k] = v
		m.pos[k] = pos
	}
	for _, e := range entries {
		if e.merged == nil {
			add(e.key, e.val, e.pos)
			continue
		}
		for _, src := range e.merged {
			for _, k := range src.keys {
				if _, taken := m.vals[k]; !taken && !written[k] {
					add(k, src.vals[k], src.pos[k])
				}
			}
		}
	}
	return m, nil
}

// mergeSources checks a merge's value: a mapping or a list of mappings.
func mergeSources(v any, path string) ([]*omap, error) {
	switch v := v.(type) {
	case *omap:
		return []*omap{v}, nil
	case *oseq:
		out := make([]*omap, len(v.vals))
		for i, e := range v.vals {
			m, ok := e.(*omap)
			if !ok {
				return nil, errAt(confspec.Index(path, i), "a merge (<<) takes mappings, got %s", rawKind(e))
			}
			out[i] = m
		}
		return out, nil
	}
	return nil, errAt(path, "a merge (<<) takes a mapping or a list of mappings, got %s", rawKind(v))
}

// rawKind is kindOf for what reader reads.
func rawKind(v any) string {
	switch v.(type) {
	case *omap:
		return "a mapping"
	case *oseq:
		return "a list"
	case nil, string, bool:
		return kindOf(v)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return "a number"
	}
	return "a scalar"
}

// key reads a mapping key as a string; null is "null", as go-yaml has it.
func (r *reader) key(n ast.MapKeyNode, path string) (string, error) {
	var kn ast.Node = n
	if mk, ok := n.(*ast.MappingKeyNode); ok { // `? key`
		kn = mk.Value
	}
	v, err := r.node(kn, path)
	if err != nil {
		return "", err
	}
	switch v := v.(type) {
	case nil:
		return "null", nil
	case string:
		return v, nil
	case *omap, *oseq:
		return "", errAt(path, "a key must be a scalar, not %s", rawKind(v))
	}
	return fmt.Sprint(v), nil
}

// shaper turns what reader read into JSON shapes, copying aliased values
// where they are used, counting nodes against budget and noting each map's
// key order and each value's position.
type shaper struct {
	budget int
	order  map[string][]string
	pos    confspec.Positions
}

func (sh *shaper) shape(v any, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	if sh.budget--; sh.budget < 0 {
		return nil, &Error{Msg: "the spec is too large (more than a million values, counting YAML aliases)"}
	}
	switch v := v.(type) {
	case nil, string, bool, float64, int64:
		return v, nil
	case *omap:
		m := make(map[string]any, len(v.keys))
		for _, k := range v.keys {
			at := confspec.JoinKey(path, k)
			sh.pos[at] = v.pos[k]
			n, err := sh.shape(v.vals[k], at, depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = n
		}
		sh.order[path] = v.keys
		return m, nil
	case []any: // a tagged scalar go-yaml decoded as a list
		return sh.shape(&oseq{vals: v, pos: make([]confspec.Pos, len(v))}, path, depth)
	case *oseq:
		out := make([]any, len(v.vals))
		for i, e := range v.vals {
			at := confspec.Index(path, i)
			sh.pos[at] = v.pos[i]
			n, err := sh.shape(e, at, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), nil
		}
		return float64(v), nil
	case int:
		return int64(v), nil
	case uint:
		return sh.shape(uint64(v), path, depth)
	case int8, int16, int32, uint8, uint16, uint32:
		n, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		return n, nil
	case float32:
		return float64(v), nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	case []byte:
		return string(v), nil
	}
	return fmt.Sprint(v), nil
}
