package arrowbuf

import (
	"reflect"
	"unsafe"
)

// Typed is a batch of Go values of one type T, kept as the []T it was made
// from: the normalizer reads a struct's fields in place through the type's
// plan (compiled once per type), so items are not boxed into interfaces,
// marshalled or inferred value by value. The zero Typed holds nothing.
type Typed struct {
	items any // the []T, which keeps the memory alive
	elem  reflect.Type
	base  unsafe.Pointer
	n     int
	ops   typedOps
}

// typedOps are the operations that need T itself.
type typedOps interface {
	index(items any, i int) any
	pick(items any, idx []int) Typed
}

type opsOf[T any] struct{}

func (opsOf[T]) index(items any, i int) any { return items.([]T)[i] }

func (opsOf[T]) pick(items any, idx []int) Typed {
	s := items.([]T)
	out := make([]T, len(idx))
	for j, i := range idx {
		out[j] = s[i]
	}
	return TypedOf(out)
}

// TypedOf returns a Typed holding items (not a copy: items must not change
// while the batch is in use).
func TypedOf[T any](items []T) Typed {
	return Typed{items: items, elem: reflect.TypeFor[T](), base: unsafe.Pointer(unsafe.SliceData(items)), n: len(items), ops: opsOf[T]{}}
}

// IsZero reports whether t holds no batch at all.
func (t Typed) IsZero() bool { return t.ops == nil }

// Len is the number of items.
func (t Typed) Len() int { return t.n }

// Items returns the []T.
func (t Typed) Items() any { return t.items }

// Elem returns T.
func (t Typed) Elem() reflect.Type { return t.elem }

// Index returns item i as an interface value.
func (t Typed) Index(i int) any { return t.ops.index(t.items, i) }

// Values returns the items as interface values.
func (t Typed) Values() []any {
	if t.ops == nil {
		return nil
	}
	out := make([]any, t.n)
	for i := range out {
		out[i] = t.ops.index(t.items, i)
	}
	return out
}

// Pick returns a new batch of the items at idx, in that order.
func (t Typed) Pick(idx []int) Typed {
	if t.ops == nil {
		return t
	}
	return t.ops.pick(t.items, idx)
}

// at returns the address of item i.
func (t Typed) at(i int) unsafe.Pointer {
	return unsafe.Add(t.base, uintptr(i)*t.elem.Size())
}

var mapType = reflect.TypeFor[map[string]any]()

// AppendTyped normalizes a typed batch as rows of the root table (a raw
// name). Structs (and pointers to structs; a nil one is skipped) go
// through their type's plan: every column of the type exists from the
// first batch, typed by its Go type and sluice tags. Maps and other values
// go through AppendItems' path.
func (n *Normalizer) AppendTyped(table string, items Typed) error {
	if items.n == 0 {
		return nil
	}
	ts, err := n.rootTable(table)
	if err == errDiscardTable {
		return nil
	}
	if err != nil {
		return err
	}
	et, nptr := derefType(items.elem)
	if k, _, _ := leafKind(et); k == fStruct && nptr <= 1 {
		bd, err := n.binding(ts, et, ts.maxNesting)
		if err != nil {
			return err
		}
		for i := range items.n {
			p := items.at(i)
			if nptr == 1 {
				if p = *(*unsafe.Pointer)(p); p == nil {
					continue
				}
			}
			if err := n.typedRow(ts, bd, p, "", "", 0); err != nil {
				return err
			}
		}
		return nil
	}
	if items.elem == mapType {
		for i := range items.n {
			if m := *(*map[string]any)(items.at(i)); m != nil {
				if err := n.goRow(ts, m, "", "", 0, ts.maxNesting); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for i := range items.n {
		if err := n.goRow(ts, items.Index(i), "", "", 0, ts.maxNesting); err != nil {
			return err
		}
	}
	return nil
}

// eface is the layout of an interface value.
type eface struct {
	typ, data unsafe.Pointer
}

// structData returns where the struct in v (a struct or a pointer to one)
// lives, and its type; ok is false for other values. A nil pointer gives a
// nil address.
func structData(v any) (unsafe.Pointer, reflect.Type, bool) {
	t := reflect.TypeOf(v)
	if t == nil {
		return nil, nil, false
	}
	switch t.Kind() {
	case reflect.Pointer:
		et := t.Elem()
		if et.Kind() != reflect.Struct {
			return nil, nil, false
		}
		return (*eface)(unsafe.Pointer(&v)).data, et, true
	case reflect.Struct:
		if t.Size() == unsafe.Sizeof(uintptr(0)) {
			// A struct of one pointer is stored in the interface word
			// itself: take a copy that has an address.
			rv := reflect.New(t)
			rv.Elem().Set(reflect.ValueOf(v))
			return rv.UnsafePointer(), t, true
		}
		return (*eface)(unsafe.Pointer(&v)).data, t, true
	}
	return nil, nil, false
}

// structRow normalizes a struct (or pointer to one) given as an interface
// value through its type's plan; handled is false for other values.
func (n *Normalizer) structRow(ts *tstate, item any, parentID, rootID string, idx, lvl int) (bool, error) {
	p, t, ok := structData(item)
	if !ok {
		return false, nil
	}
	bd := n.lastBind
	if bd == nil || bd.ts != ts || bd.typ != t || bd.lvl != lvl || bd.stale() {
		if k, _, _ := leafKind(t); k != fStruct {
			return false, nil // time.Time, types with their own JSON form
		}
		var err error
		if bd, err = n.binding(ts, t, lvl); err != nil {
			return true, err
		}
		n.lastBind = bd
	}
	if p == nil {
		return true, nil // a nil pointer, skipped as a nil item is
	}
	return true, n.typedRow(ts, bd, p, parentID, rootID, idx)
}

func isScalar(v any) bool {
	_, ok := goScalar(v)
	return ok
}
