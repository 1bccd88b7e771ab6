package arrowbuf

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// A typed plan is how the normalizer reads one Go struct type: each field's
// offset, how many pointers lead to it, and how its value is read, compiled
// once per type from reflection and then used for every row without it.

// fkind is how a plan reads a field's value.
type fkind uint8

const (
	fInt fkind = iota + 1
	fInt8
	fInt16
	fInt32
	fInt64
	fUint8
	fUint16
	fUint32
	fUint    // uint: past MaxInt64 it is a decimal, as in the maps path
	fUint64  // uint64, uintptr: the same
	fFloat32 // float32 and float64 are double whatever the value
	fFloat64
	fBool
	fString
	fBytes
	fTime
	fDate
	fRawJSON // json.RawMessage: a json column
	fGo      // any other type: read as a Go value and inferred as maps are
	fStruct  // a nested struct: flattened into parent__child columns
	fList    // a slice: a nested table
)

// natural is the dlt type a kind loads as; "" when the value decides.
func (k fkind) natural() DataType {
	switch k {
	case fInt, fInt8, fInt16, fInt32, fInt64, fUint8, fUint16, fUint32, fUint, fUint64:
		return TypeBigint
	case fFloat32, fFloat64:
		return TypeDouble
	case fBool:
		return TypeBool
	case fString:
		return TypeText
	case fBytes:
		return TypeBinary
	case fTime:
		return TypeTimestamp
	case fDate:
		return TypeDate
	case fRawJSON:
		return TypeJSON
	}
	return ""
}

// step is one hop from a struct to a field: add off, then follow nptr
// pointers (a nil one makes the field null).
type step struct {
	off  uintptr
	nptr int
}

// fieldPlan is one field of a struct type.
type fieldPlan struct {
	key    string // the raw column key: sluice name, json name or Go name
	goName string
	json   string // the json tag's name, if any
	via    []step // hops through embedded pointers to the struct holding it
	off    uintptr
	nptr   int
	kind   fkind
	typ    reflect.Type // the field's type under its pointers
	valid  int          // sql.Null*: offset of Valid in the value; -1 if none
	sub    *structPlan  // fStruct (nil for a type that contains itself: fGo)
	elem   *elemPlan    // fList
	tag    fieldTag
	depth  int // embedding depth, for Go's rule that the shallower field wins
}

// structPlan is a struct type's fields in declaration order, embedded
// structs' fields promoted in place.
type structPlan struct {
	typ    reflect.Type
	fields []*fieldPlan
}

// elemPlan is the element type of a slice field.
type elemPlan struct {
	typ   reflect.Type // under its pointers
	size  uintptr      // the element's size in the slice
	nptr  int
	kind  fkind
	valid int
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	dateType        = reflect.TypeFor[Date]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	planCache       sync.Map // reflect.Type -> *planEntry
	errSelfContains = fmt.Errorf("contains itself")
)

type planEntry struct {
	plan *structPlan
	err  error
}

// planOf returns the cached plan of a struct type.
func planOf(t reflect.Type) (*structPlan, error) {
	if e, ok := planCache.Load(t); ok {
		e := e.(*planEntry)
		return e.plan, e.err
	}
	sp, err := compilePlan(t, map[reflect.Type]bool{})
	if err != nil {
		err = fmt.Errorf("arrowbuf: type %s: %w", t, err)
	}
	e, _ := planCache.LoadOrStore(t, &planEntry{plan: sp, err: err})
	return e.(*planEntry).plan, e.(*planEntry).err
}

// isCivilDate recognises cloud.google.com/go/civil.Date, which has Date's
// layout, without importing it.
func isCivilDate(t reflect.Type) bool {
	return t.Name() == "Date" && t.PkgPath() == "cloud.google.com/go/civil" && t.Kind() == reflect.Struct &&
		t.Size() == dateType.Size() && t.NumField() == 3
}

// sqlNull recognises database/sql's Null types (NullString, Null[T], ...):
// a value and then Valid. It returns the value's type and Valid's offset.
func sqlNull(t reflect.Type) (reflect.Type, int, bool) {
	if t.Kind() != reflect.Struct || t.PkgPath() != "database/sql" || !strings.HasPrefix(t.Name(), "Null") || t.NumField() != 2 {
		return nil, 0, false
	}
	v, ok := t.Field(1), t.Field(0).Offset == 0
	if !ok || v.Name != "Valid" || v.Type.Kind() != reflect.Bool {
		return nil, 0, false
	}
	return t.Field(0).Type, int(v.Offset), true
}

// marshals reports whether t writes itself as JSON or text: such a value
// is read as a Go value and inferred from what it writes, as encoding/json
// would write it.
func marshals(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || pt.Implements(jsonMarshaler) || pt.Implements(textMarshaler)
}

// leafKind classifies a type under its pointers; valid is the offset of a
// sql.Null's Valid, else -1.
func leafKind(t reflect.Type) (fkind, int, error) {
	switch {
	case t == rawMessageType:
		return fRawJSON, -1, nil
	case t == timeType:
		return fTime, -1, nil
	case t == dateType || isCivilDate(t):
		return fDate, -1, nil
	}
	if inner, valid, ok := sqlNull(t); ok {
		k, v, err := leafKind(inner)
		if err != nil || v >= 0 || k == fStruct || k == fList {
			return fGo, -1, nil
		}
		return k, valid, nil
	}
	if marshals(t) {
		return fGo, -1, nil
	}
	switch t.Kind() {
	case reflect.Int:
		return fInt, -1, nil
	case reflect.Int8:
		return fInt8, -1, nil
	case reflect.Int16:
		return fInt16, -1, nil
	case reflect.Int32:
		return fInt32, -1, nil
	case reflect.Int64:
		return fInt64, -1, nil
	case reflect.Uint8:
		return fUint8, -1, nil
	case reflect.Uint16:
		return fUint16, -1, nil
	case reflect.Uint32:
		return fUint32, -1, nil
	case reflect.Uint:
		return fUint, -1, nil
	case reflect.Uint64, reflect.Uintptr:
		return fUint64, -1, nil
	case reflect.Float32:
		return fFloat32, -1, nil
	case reflect.Float64:
		return fFloat64, -1, nil
	case reflect.Bool:
		return fBool, -1, nil
	case reflect.String:
		return fString, -1, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !marshals(t.Elem()) {
			return fBytes, -1, nil
		}
		return fList, -1, nil
	case reflect.Struct:
		return fStruct, -1, nil
	case reflect.Interface, reflect.Map, reflect.Array:
		return fGo, -1, nil
	}
	return 0, -1, fmt.Errorf("unsupported Go type %s", t)
}

// derefType strips pointers and counts them.
func derefType(t reflect.Type) (reflect.Type, int) {
	n := 0
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		n++
	}
	return t, n
}

// tagName is the name a json tag gives, and whether the tag skips the field.
func tagName(tag string) (string, bool) {
	if tag == "-" {
		return "", true
	}
	name, _, _ := strings.Cut(tag, ",")
	return name, false
}

// compilePlan reads a struct type's fields; onStack holds the structs being
// compiled, so that a struct nested in itself is read as a Go value.
func compilePlan(t reflect.Type, onStack map[reflect.Type]bool) (*structPlan, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("not a struct")
	}
	onStack[t] = true
	defer delete(onStack, t)
	sp := &structPlan{typ: t}
	for i := range t.NumField() {
		sf := t.Field(i)
		jsonName, skipJSON := tagName(sf.Tag.Get("json"))
		stag, err := parseTag(sf.Tag.Get("sluice"))
		if err != nil {
			return nil, fmt.Errorf("field %s: sluice tag: %w", sf.Name, err)
		}
		if skipJSON || stag.skip {
			continue
		}
		ft, nptr := derefType(sf.Type)
		if sf.Anonymous && jsonName == "" && stag.name == "" && ft.Kind() == reflect.Struct {
			kind, _, _ := leafKind(ft)
			// Promote an embedded struct's fields as encoding/json does:
			// an unexported embedded pointer is not followed.
			if kind == fStruct && (sf.IsExported() || nptr == 0) {
				if onStack[ft] {
					return nil, fmt.Errorf("field %s: embedded struct %s %w", sf.Name, ft, errSelfContains)
				}
				sub, err := compilePlan(ft, onStack)
				if err != nil {
					return nil, err
				}
				for _, f := range sub.fields {
					cp := *f
					cp.depth++
					if nptr == 0 && len(f.via) == 0 {
						cp.off += sf.Offset
					} else {
						cp.via = append([]step{{off: sf.Offset, nptr: nptr}}, f.via...)
					}
					sp.fields = append(sp.fields, &cp)
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		fp := &fieldPlan{key: sf.Name, goName: sf.Name, json: jsonName, off: sf.Offset, nptr: nptr, typ: ft, tag: stag}
		switch {
		case stag.name != "":
			fp.key = stag.name
		case jsonName != "":
			fp.key = jsonName
		}
		if fp.kind, fp.valid, err = leafKind(ft); err != nil {
			return nil, fmt.Errorf("field %s: %w (skip it with json:\"-\" or sluice:\"-\")", sf.Name, err)
		}
		switch fp.kind {
		case fStruct:
			if onStack[ft] {
				fp.kind = fGo // nested in itself: as deep as the data goes
				break
			}
			if fp.sub, err = compilePlan(ft, onStack); err != nil {
				return nil, err
			}
		case fList:
			fp.elem, err = elemOf(ft.Elem())
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", sf.Name, err)
			}
		}
		sp.fields = append(sp.fields, fp)
	}
	return sp, dedupFields(sp)
}

// elemOf classifies a slice's element type.
func elemOf(t reflect.Type) (*elemPlan, error) {
	et, nptr := derefType(t)
	k, valid, err := leafKind(et)
	if err != nil {
		return nil, err
	}
	if k == fList || k == fRawJSON || nptr > 1 {
		k = fGo // lists of lists and the like: as Go values
	}
	return &elemPlan{typ: et, size: t.Size(), nptr: nptr, kind: k, valid: valid}, nil
}

// dedupFields applies Go's rule to fields that make the same column: the
// shallower one (fewer embeddings) wins; two at the same depth are an
// error, as the table could hold only one of them.
func dedupFields(sp *structPlan) error {
	byName := map[string]int{}
	keep := make([]bool, len(sp.fields))
	for i, f := range sp.fields {
		name := keyName(f.key)
		j, dup := byName[name]
		switch {
		case !dup:
			byName[name], keep[i] = i, true
		case f.depth < sp.fields[j].depth:
			keep[j], keep[i], byName[name] = false, true, i
		case f.depth == sp.fields[j].depth:
			return fmt.Errorf("fields %s and %s both make column %q", sp.fields[j].goName, f.goName, name)
		}
	}
	out := sp.fields[:0]
	for i, f := range sp.fields {
		if keep[i] {
			out = append(out, f)
		}
	}
	sp.fields = out
	return nil
}

// keyName normalizes one key as the normalizer names a node.
func keyName(key string) string {
	name := NormalizePath(key)
	if name == "" {
		name = emptyKeyIdentifier
	}
	return name
}

// joinName is the flattened name of key under a parent node's name.
func joinName(parent, key string) string {
	if parent == "" {
		return keyName(key)
	}
	return parent + PathSeparator + keyName(key)
}

// flatLeaf is a field that makes one column of the table, and flatList a
// slice field that makes a nested table.
type flatLeaf struct {
	keys  []string // raw keys from the row down
	name  string
	steps []step
	f     *fieldPlan
	kind  fkind // f.kind, or fGo for a struct or list kept as json
	json  bool  // a struct or list kept whole in a json column
	lvl   int   // the nesting level left where the value is read
}

type flatList struct {
	keys  []string
	name  string
	steps []step
	f     *fieldPlan
	lvl   int // the level of the nested table's rows
}

// flatten lays out a plan's columns for rows read at nesting level lvl: a
// struct past the level, tagged json, or whose column isJSON says is json
// is kept whole, as the JSON path keeps such an object.
func (sp *structPlan) flatten(lvl int, isJSON func(name string) bool) ([]flatLeaf, []flatList, error) {
	var leaves []flatLeaf
	var lists []flatList
	var walk func(sp *structPlan, steps []step, keys []string, prefix string, lvl int)
	walk = func(sp *structPlan, steps []step, keys []string, prefix string, lvl int) {
		for _, f := range sp.fields {
			st := slices.Concat(steps, f.via, []step{{off: f.off, nptr: f.nptr}})
			ks := slices.Concat(keys, []string{f.key})
			name := joinName(prefix, f.key)
			kept := (f.kind == fStruct || f.kind == fList) &&
				(lvl <= 0 || f.tag.dataType != "" || (isJSON != nil && isJSON(name)))
			switch {
			case kept:
				leaves = append(leaves, flatLeaf{keys: ks, name: name, steps: st, f: f, kind: fGo, json: true, lvl: lvl})
			case f.kind == fStruct:
				walk(f.sub, st, ks, name, lvl-1)
			case f.kind == fList:
				lists = append(lists, flatList{keys: ks, name: name, steps: st, f: f, lvl: lvl - 1})
			default:
				leaves = append(leaves, flatLeaf{keys: ks, name: name, steps: st, f: f, kind: f.kind, lvl: lvl})
			}
		}
	}
	walk(sp, nil, nil, "", lvl)
	// Names are unique per struct; a json name with the separator can
	// still meet a nested struct's column ("a__b" and A.B).
	seen := make(map[string]*fieldPlan, len(leaves))
	for _, l := range leaves {
		if f := seen[l.name]; f != nil {
			return nil, nil, fmt.Errorf("fields %s and %s both make column %q", f.goName, l.f.goName, l.name)
		}
		seen[l.name] = l.f
	}
	return leaves, lists, nil
}

// column is the hint a leaf gives its column; ok is false for a field
// whose values decide the type and that has no other hint.
func (l *flatLeaf) column() (Column, bool) {
	c := Column{Name: l.name, DataType: l.kind.natural()}
	if l.json {
		c.DataType = TypeJSON
	}
	l.f.tag.apply(&c)
	return c, c.DataType != "" || c.PrimaryKey || c.MergeKey || c.Unique || !c.Nullable
}

// ColumnsOf returns the columns a struct type (or pointer to one) makes in
// its root table, in field order, with the hints of its sluice tags: the
// columns a resource of that type creates on its first load.
//
// Go types map to dlt types: integers (signed and unsigned) bigint, one
// past int64 a decimal variant as in the maps path; float32 and float64
// double whatever the value; bool; string text; []byte binary; time.Time
// timestamp; Date (or cloud.google.com/go/civil.Date) date; json.RawMessage
// json. A pointer or a database/sql Null type is nullable; a nested struct
// is flattened into parent__child columns; a slice is a nested table (of
// its structs, or a "value" column), linked by _dlt_parent_id and
// _dlt_list_idx. Fields of type any, maps and types with their own JSON
// form (json.Marshaler, encoding.TextMarshaler) are inferred from their
// values as maps are, so ColumnsOf leaves them out unless a tag gives them
// a type or a key.
//
// Names: the sluice tag's name, else the json tag's, else the field's, in
// dlt's snake_case; embedded structs' fields are promoted as encoding/json
// promotes them; unexported fields, json:"-" and sluice:"-" are skipped.
// A field is nullable unless tagged not_null or primary_key.
func ColumnsOf(t reflect.Type) ([]Column, error) {
	t, _ = derefType(t)
	if k, _, _ := leafKind(t); k != fStruct {
		return nil, fmt.Errorf("arrowbuf: ColumnsOf: %s is not a struct type", t)
	}
	sp, err := planOf(t)
	if err != nil {
		return nil, err
	}
	leaves, _, err := sp.flatten(DefaultMaxTableNesting, nil)
	if err != nil {
		return nil, fmt.Errorf("arrowbuf: type %s: %w", t, err)
	}
	var cols []Column
	for i := range leaves {
		if c, ok := leaves[i].column(); ok {
			cols = append(cols, c)
		}
	}
	return cols, nil
}
