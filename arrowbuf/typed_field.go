package arrowbuf

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"unsafe"
)

// FieldReader reads one field of a struct type, found by a path of names
// (for an incremental cursor, a table function, a key).
type FieldReader struct {
	typ   reflect.Type
	steps []step
	valid int
	kind  fkind
	ftyp  reflect.Type
}

// NewFieldReader finds the field at path in struct type t (or a pointer to
// one). Each name matches a field's column name, its sluice or json name or
// its Go name, in that struct; a name may also be a flattened column name
// of a nested struct ("address__city").
func NewFieldReader(t reflect.Type, path []string) (*FieldReader, error) {
	st, _ := derefType(t)
	if k, _, _ := leafKind(st); k != fStruct {
		return nil, fmt.Errorf("arrowbuf: %s is not a struct type", t)
	}
	sp, err := planOf(st)
	if err != nil {
		return nil, err
	}
	r := &FieldReader{typ: st}
	for i := 0; i < len(path); i++ {
		if sp == nil {
			return nil, fmt.Errorf("arrowbuf: type %s: %q is not a struct", st, strings.Join(path[:i], "."))
		}
		f, rest := sp.lookup(path[i])
		if f == nil {
			return nil, fmt.Errorf("arrowbuf: type %s has no field %q", st, strings.Join(path[:i+1], "."))
		}
		r.steps = append(r.steps, f.via...)
		r.steps = append(r.steps, step{off: f.off, nptr: f.nptr})
		for rest != "" {
			// A flattened name: go on into the nested struct.
			if f.sub == nil {
				return nil, fmt.Errorf("arrowbuf: type %s has no field %q", st, path[i])
			}
			if f, rest = f.sub.lookup(rest); f == nil {
				return nil, fmt.Errorf("arrowbuf: type %s has no field %q", st, path[i])
			}
			r.steps = append(r.steps, f.via...)
			r.steps = append(r.steps, step{off: f.off, nptr: f.nptr})
		}
		r.kind, r.valid, r.ftyp, sp = f.kind, f.valid, f.typ, f.sub
		if f.valid >= 0 {
			r.ftyp = f.typ.Field(0).Type // a sql.Null's value
		}
	}
	if len(path) == 0 {
		return nil, fmt.Errorf("arrowbuf: empty field path")
	}
	return r, nil
}

// lookup finds the field a name means; rest is what is left of a
// flattened column name whose first part names a nested struct.
func (sp *structPlan) lookup(name string) (*fieldPlan, string) {
	col := keyName(name)
	for _, f := range sp.fields {
		if name == f.goName || name == f.key || (f.json != "" && name == f.json) || col == keyName(f.key) {
			return f, ""
		}
	}
	for _, f := range sp.fields {
		if prefix := keyName(f.key) + PathSeparator; f.sub != nil && strings.HasPrefix(col, prefix) {
			return f, col[len(prefix):]
		}
	}
	return nil, ""
}

// Get returns the field's value in v, a value of the reader's struct type
// or a pointer to one: integers as int64 (an unsigned one past int64 as
// uint64), floats as float64, a Date as its ISO text, a time.Time, string,
// bool or []byte as they are, other fields as their Go values; nil for a
// nil pointer on the way or a sql.Null that is not valid. ok is false when
// v is of another type.
func (r *FieldReader) Get(v any) (any, bool) {
	p, t, ok := structData(v)
	if !ok || t != r.typ {
		return nil, false
	}
	if p == nil {
		return nil, true
	}
	return r.read(p), true
}

func (r *FieldReader) read(p unsafe.Pointer) any {
	q := follow(p, r.steps)
	if q == nil || (r.valid >= 0 && !*(*bool)(unsafe.Add(q, r.valid))) {
		return nil
	}
	switch r.kind {
	case fUint:
		if u := uint64(*(*uint)(q)); u > math.MaxInt64 {
			return u
		}
	case fUint64:
		if u := *(*uint64)(q); u > math.MaxInt64 {
			return u
		}
	case fDate:
		d := (*Date)(q)
		if !d.IsValid() {
			return nil
		}
		return d.String()
	case fBytes:
		return append([]byte(nil), *(*[]byte)(q)...)
	case fRawJSON:
		return string(*(*[]byte)(q))
	}
	switch r.kind {
	case fInt, fInt8, fInt16, fInt32, fInt64, fUint8, fUint16, fUint32, fUint, fUint64, fFloat32, fFloat64, fBool, fString:
		v, _ := readValue(r.kind, q)
		switch v.k {
		case kInt:
			return v.i
		case kFloat:
			return v.f
		case kBool:
			return v.b
		}
		return v.s
	}
	return reflect.NewAt(r.ftyp, q).Elem().Interface()
}
