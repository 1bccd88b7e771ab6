// Package confspec describes a config's keys once: name, type, default,
// doc, whether the value is a secret, and the keys of nested maps. The
// decoders check a spec against the description (an unknown key is an
// error that suggests the closest declared one, at every level), the CLI
// places errors at file:line:col with Positions, and the key reference
// (docs/spec-keys.md) is generated from it. Benthos' service.ConfigSpec is
// the model; the rest package declares the source's keys, cmd/sluice's spec
// package the spec file's top level.
package confspec

import (
	"slices"
	"sort"
	"sync"
)

// Object is the keys of one kind of map.
type Object struct {
	// Name titles the object in the reference ("client", "paginator: offset").
	Name string
	Doc  string
	// Fields are its keys, in the order they are documented.
	Fields []*Field
	// Variants are the forms a map with a "type" key takes (auth,
	// paginator): each is an Object named after its type.
	Variants []*Object
}

// Field is one key.
type Field struct {
	Name string
	// Type is the value's type as documented: "string", "integer",
	// "duration", "string | map", "list of strings", ...
	Type    string
	Default string // as documented; "" for none
	Doc     string
	// Secret marks a credential: its value is never quoted and is masked.
	Secret bool
	// Stored marks a value the pipeline state keeps in plain text: it must
	// not hold a secret.
	Stored   bool
	Required bool
	// Object is the keys of the value's map form; for a list or a map of
	// maps (Type "list of ...", "map of ..."), of each element.
	Object *Object
}

// Lookup returns the field named name, or nil.
func (o *Object) Lookup(name string) *Field {
	if o == nil {
		return nil
	}
	for _, f := range o.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Names lists the field names in documented order.
func (o *Object) Names() []string {
	if o == nil {
		return nil
	}
	out := make([]string, len(o.Fields))
	for i, f := range o.Fields {
		out[i] = f.Name
	}
	return out
}

// Variant returns the variant for a "type" value, or nil.
func (o *Object) Variant(typ string) *Object {
	for _, v := range o.Variants {
		if v.Name == typ {
			return v
		}
	}
	return nil
}

// Walk calls fn for o and every object reachable from it, once each, with
// the path it is first reached at (fields joined with "."; a variant as
// "path (type: name)").
func Walk(o *Object, path string, fn func(path string, o *Object)) {
	seen := map[*Object]bool{}
	var walk func(string, *Object)
	walk = func(path string, o *Object) {
		if o == nil || seen[o] {
			return
		}
		seen[o] = true
		fn(path, o)
		for _, f := range o.Fields {
			walk(JoinKey(path, f.Name), f.Object)
		}
		for _, v := range o.Variants {
			walk(path+" (type: "+v.Name+")", v)
		}
	}
	walk(path, o)
}

// Check returns an unknown-key error for the first key of keys (sorted)
// that o does not declare, or nil. path names the map holding them.
func (o *Object) Check(path string, keys []string) error {
	var unknown []string
	for _, k := range keys {
		if o.Lookup(k) == nil {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return UnknownField(path, unknown[0], o.Names())
}

// UnknownField is the error for key, not one of names, in the map at path:
// `path: unknown field "paginatr" (did you mean "paginator"?)`.
func UnknownField(path, key string, names []string) *Error {
	msg := `unknown field ` + quote(key)
	if s := Suggest(key, names); s != "" {
		msg += ` (did you mean ` + quote(s) + `?)`
	}
	return &Error{Path: path, Key: key, Msg: msg}
}

// Suggest returns the name closest to key by edit distance, if it is close
// enough to be a typo (at most 2 edits, and fewer than key's length).
func Suggest(key string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(key, n); d < bestD && d < len(key) {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is Levenshtein's distance, with a transposition counting as
// one edit ("pagiantor").
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

var (
	regMu    sync.RWMutex
	registry = map[string]func() *Object{}
)

// Register makes a package's description available by name ("rest"), for
// the CLI and the generated reference; f is called at each Lookup, so it
// sees types registered later (paginators, auths).
func Register(name string, f func() *Object) {
	regMu.Lock()
	defer regMu.Unlock()
	registry[name] = f
}

// Lookup returns the description registered as name, or nil.
func Lookup(name string) *Object {
	regMu.RLock()
	f := registry[name]
	regMu.RUnlock()
	if f == nil {
		return nil
	}
	return f()
}

// StoredNames lists the names of the fields reachable from o that are
// marked Stored, sorted: the CLI refuses secrets in them.
func StoredNames(o *Object) []string {
	var out []string
	Walk(o, "", func(_ string, o *Object) {
		for _, f := range o.Fields {
			if f.Stored && !slices.Contains(out, f.Name) {
				out = append(out, f.Name)
			}
		}
	})
	sort.Strings(out)
	return out
}
