package arrowbuf

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"
	"unsafe"
)

// A typedBinding is a plan laid out on one table of one Normalizer at one
// nesting level: each column's builder, so that a row whose columns have
// their Go types is appended straight to the builders, with no staging.
type typedBinding struct {
	ts     *tstate
	typ    reflect.Type
	lvl    int
	leaves []boundLeaf
	lists  []boundList
	// direct: every leaf appends straight to its builder. hybrid: leaves
	// that can do so while the others are staged (no contract may discard
	// the row after a direct append).
	direct, hybrid bool
	// checked: unsigned leaves whose value may not fit bigint.
	checked  bool
	notNulls int // len(ts.notNull) when bound
}

type bindKey struct {
	ts  *tstate
	t   reflect.Type
	lvl int
}

// boundLeaf is one column's field.
type boundLeaf struct {
	off     uintptr
	steps   []step // nil: the value is at off, no pointer, no Valid
	valid   int
	kind    fkind
	typ     reflect.Type
	json    bool
	nd      *fieldNode
	parent  *fieldNode // fGo: where goKV stages the value
	key     []byte
	lvl     int
	cb      *colBuf // set when values append straight to the builder
	notNull bool
}

// boundList is a slice field's nested table.
type boundList struct {
	steps []step
	elem  *elemPlan
	etyp  reflect.Type // the element type with its pointers
	name  string
	lvl   int
	child *typedBinding // struct elements' binding, made on first use
	value *fieldNode    // scalar elements' "value" node in the child table
	vts   *tstate       // the table value and its hint belong to
}

type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// stale reports whether columns that must be filled were added since the
// binding was made (hints of a later batch).
func (bd *typedBinding) stale() bool { return bd.notNulls != len(bd.ts.notNull) }

// at returns the leaf value's address in the row at p, nil for null.
func (l *boundLeaf) at(p unsafe.Pointer) unsafe.Pointer {
	if l.steps == nil {
		return unsafe.Add(p, l.off)
	}
	if p = follow(p, l.steps); p != nil && l.valid >= 0 && !*(*bool)(unsafe.Add(p, l.valid)) {
		return nil
	}
	return p
}

func follow(p unsafe.Pointer, steps []step) unsafe.Pointer {
	for _, s := range steps {
		p = unsafe.Add(p, s.off)
		for range s.nptr {
			if p = *(*unsafe.Pointer)(p); p == nil {
				return nil
			}
		}
	}
	return p
}

// overflows reports whether an unsigned leaf's value does not fit bigint.
func (l *boundLeaf) overflows(q unsafe.Pointer) bool {
	switch l.kind {
	case fUint:
		return uint64(*(*uint)(q)) > math.MaxInt64
	case fUint64:
		return *(*uint64)(q) > math.MaxInt64
	}
	return false
}

// binding returns the layout of struct type t on table ts for rows at
// level lvl, making it (and the type's columns, as hints) the first time.
func (n *Normalizer) binding(ts *tstate, t reflect.Type, lvl int) (*typedBinding, error) {
	key := bindKey{ts: ts, t: t, lvl: lvl}
	if bd := n.typed[key]; bd != nil && !bd.stale() {
		return bd, nil
	}
	sp, err := planOf(t)
	if err != nil {
		return nil, err
	}
	leaves, lists, err := sp.flatten(lvl, func(name string) bool { return n.s.columnType(ts.name, name) == TypeJSON })
	if err != nil {
		return nil, fmt.Errorf("arrowbuf: type %s: %w", t, err)
	}
	// Every column of the type exists from the first load, in field order,
	// as dlt creates the columns of a resource's model.
	// A field whose values decide its type gets a column without one, so
	// that its place is kept in field order when a value gives it a type
	// (dlt's incomplete column); only its value's keys if it is a map.
	hints := make([]Column, len(leaves))
	for i := range leaves {
		hints[i], _ = leaves[i].column()
	}
	discards := n.s.applyTypeHints(ts.name, hints)
	bd := &typedBinding{ts: ts, typ: t, lvl: lvl, direct: true, hybrid: !discards}
	covered := map[*colBuf]bool{}
	for i := range leaves {
		l := &leaves[i]
		bl := boundLeaf{off: l.steps[0].off, valid: l.f.valid, kind: l.kind, typ: l.f.typ, json: l.json, lvl: l.lvl}
		if len(l.steps) > 1 || l.steps[0].nptr > 0 || bl.valid >= 0 {
			bl.steps = l.steps
		}
		nd := ts.top
		for _, k := range l.keys {
			bl.parent, bl.key = nd, []byte(k)
			nd = n.node(ts, nd, bl.key)
		}
		bl.nd = nd
		if c, ok := l.column(); ok && c.DataType != "" {
			col, pos, act, err := n.s.resolveColumn(ts.name, Column{Name: nd.name, DataType: c.DataType, Nullable: true})
			if err != nil {
				return nil, err
			}
			if act == actOK {
				cb := n.localColumn(ts, col, pos)
				if nd.col == nil {
					nd.col = cb
				}
				if col.DataType == TypeJSON {
					nd.jsonCol = 1
				}
				covered[cb] = true
				bl.notNull = !col.Nullable
				if direct := l.kind.natural(); !l.json && !nd.system && l.kind != fRawJSON && direct == col.DataType {
					bl.cb = cb
				}
			}
		}
		if bl.cb == nil {
			bd.direct = false
		}
		if bl.kind == fUint || bl.kind == fUint64 {
			bd.checked = true
		}
		bd.leaves = append(bd.leaves, bl)
	}
	for _, cb := range ts.notNull {
		if !covered[cb] {
			bd.direct = false // the row path names the missing column
		}
	}
	bd.notNulls = len(ts.notNull) // after the leaves' own columns joined it
	for i := range lists {
		l := &lists[i]
		nd, parent := ts.top, ts.top
		for _, k := range l.keys {
			parent, nd = nd, n.node(ts, nd, []byte(k))
		}
		if nd.childName == "" {
			name := NormalizeTableIdentifier(l.keys[len(l.keys)-1])
			if parent.name != "" {
				name = parent.name + PathSeparator + name
			}
			nd.childName = ts.name + PathSeparator + name
		}
		bd.lists = append(bd.lists, boundList{steps: l.steps, elem: l.f.elem, etyp: l.f.typ.Elem(), name: nd.childName, lvl: l.lvl})
	}
	if n.typed == nil {
		n.typed = map[bindKey]*typedBinding{}
	}
	n.typed[key] = bd
	return bd, nil
}

// typedRow normalizes the struct at p as a row of ts, then its lists.
func (n *Normalizer) typedRow(ts *tstate, bd *typedBinding, p unsafe.Pointer, parentID, rootID string, idx int) error {
	if bd.direct && !(bd.checked && bd.overflow(p)) {
		return n.directRow(ts, bd, p, parentID, rootID, idx)
	}
	return n.stagedRow(ts, bd, p, parentID, rootID, idx)
}

func (bd *typedBinding) overflow(p unsafe.Pointer) bool {
	for i := range bd.leaves {
		if l := &bd.leaves[i]; l.kind == fUint || l.kind == fUint64 {
			if q := l.at(p); q != nil && l.overflows(q) {
				return true
			}
		}
	}
	return false
}

// directRow appends a row whose every column has its Go type.
func (n *Normalizer) directRow(ts *tstate, bd *typedBinding, p unsafe.Pointer, parentID, rootID string, idx int) error {
	if !ts.sysReady {
		if err := n.ensureSys(ts); err != nil {
			return err
		}
	}
	for i := range bd.leaves {
		l := &bd.leaves[i]
		if q := l.at(p); q == nil || !appendDirect(l, q) {
			if l.notNull {
				return notNullError(ts, l.cb.col.Name)
			}
			l.cb.b.AppendNull()
		}
	}
	mark := len(n.deferred)
	n.deferLists(ts, bd, p)
	var idb []byte
	if !ts.isRoot && ts.detChildID && !ts.rootLike {
		idb = []byte(childID(parentID, ts.name, idx))
	} else {
		idb = n.newID()
	}
	end := len(n.deferred)
	var id string
	if end > mark {
		id = string(idb)
		if ts.isRoot {
			rootID = id
		}
	}
	if err := n.commitSys(ts, idb, parentID, rootID, idx, len(bd.leaves)); err != nil {
		return err
	}
	for i := mark; i < end; i++ {
		if err := n.normalizeList(n.deferred[i], id, rootID); err != nil {
			return err
		}
	}
	n.deferred = n.deferred[:mark]
	return nil
}

// appendDirect appends a leaf's value to its builder; false for a value
// that is null (a nil byte slice, an invalid date).
func appendDirect(l *boundLeaf, q unsafe.Pointer) bool {
	cb := l.cb
	switch l.kind {
	case fInt:
		cb.i64.Append(int64(*(*int)(q)))
	case fInt8:
		cb.i64.Append(int64(*(*int8)(q)))
	case fInt16:
		cb.i64.Append(int64(*(*int16)(q)))
	case fInt32:
		cb.i64.Append(int64(*(*int32)(q)))
	case fInt64:
		cb.i64.Append(*(*int64)(q))
	case fUint8:
		cb.i64.Append(int64(*(*uint8)(q)))
	case fUint16:
		cb.i64.Append(int64(*(*uint16)(q)))
	case fUint32:
		cb.i64.Append(int64(*(*uint32)(q)))
	case fUint:
		cb.i64.Append(int64(*(*uint)(q))) // range checked by overflow
	case fUint64:
		cb.i64.Append(int64(*(*uint64)(q)))
	case fFloat32:
		cb.f64.Append(float64(*(*float32)(q)))
	case fFloat64:
		cb.f64.Append(*(*float64)(q))
	case fBool:
		cb.bl.Append(*(*bool)(q))
	case fString:
		cb.str.AppendString(*(*string)(q))
	case fBytes:
		b := *(*[]byte)(q)
		if b == nil {
			return false
		}
		cb.str.AppendBytes(b)
	case fTime:
		cb.i64.Append((*time.Time)(q).UnixMicro())
	case fDate:
		d, ok := (*Date)(q).days()
		if !ok {
			return false
		}
		cb.d32.Append(int32(d))
	default:
		return false
	}
	return true
}

// stagedRow normalizes a row through the staging path of maps and JSON,
// which coerces values to columns of other types, makes variant columns
// and applies contracts; leaves that can still append straight do so
// (hybrid).
func (n *Normalizer) stagedRow(ts *tstate, bd *typedBinding, p unsafe.Pointer, parentID, rootID string, idx int) error {
	mark := len(n.deferred)
	n.beginRow()
	n.vErr = nil
	for i := range bd.leaves {
		l := &bd.leaves[i]
		q := l.at(p)
		if bd.hybrid && l.cb != nil && (q == nil || !l.overflows(q)) {
			if q == nil || !appendDirect(l, q) {
				l.cb.b.AppendNull() // the commit's not-null check sees no stamp
				continue
			}
			// Stamped without a staged value: resolveStaged drops a
			// staged value for the same column.
			l.cb.stamp, l.cb.stagedAt = n.rowSeq, -1
			continue
		}
		if q != nil {
			n.stageLeaf(ts, l, q)
			if n.vErr != nil {
				return n.vErr
			}
		}
	}
	n.deferLists(ts, bd, p)
	return n.finishRow(ts, mark, parentID, rootID, idx)
}

// stageLeaf stages a leaf's value for the current row.
func (n *Normalizer) stageLeaf(ts *tstate, l *boundLeaf, q unsafe.Pointer) {
	switch l.kind {
	case fGo:
		rv := reflect.NewAt(l.typ, q).Elem()
		switch rv.Kind() {
		case reflect.Interface, reflect.Map, reflect.Slice, reflect.Pointer:
			if rv.IsNil() {
				return
			}
		}
		if l.json {
			n.stage(l.nd, value{k: kJSON, gv: rv.Interface()})
			return
		}
		n.goKV(ts, l.parent, l.key, rv.Interface(), l.lvl)
	case fRawJSON:
		if raw := *(*json.RawMessage)(q); raw != nil {
			n.stage(l.nd, value{k: kStr, s: string(raw)})
		}
	default:
		if v, ok := readValue(l.kind, q); ok {
			*n.slot(l.nd) = v
		}
	}
}

// readValue reads a scalar leaf as a value; ok is false for null.
func readValue(k fkind, q unsafe.Pointer) (value, bool) {
	switch k {
	case fInt:
		return value{k: kInt, i: int64(*(*int)(q))}, true
	case fInt8:
		return value{k: kInt, i: int64(*(*int8)(q))}, true
	case fInt16:
		return value{k: kInt, i: int64(*(*int16)(q))}, true
	case fInt32:
		return value{k: kInt, i: int64(*(*int32)(q))}, true
	case fInt64:
		return value{k: kInt, i: *(*int64)(q)}, true
	case fUint8:
		return value{k: kInt, i: int64(*(*uint8)(q))}, true
	case fUint16:
		return value{k: kInt, i: int64(*(*uint16)(q))}, true
	case fUint32:
		return value{k: kInt, i: int64(*(*uint32)(q))}, true
	case fUint:
		return uintValue(uint64(*(*uint)(q))), true
	case fUint64:
		return uintValue(*(*uint64)(q)), true
	case fFloat32:
		return value{k: kFloat, f: float64(*(*float32)(q))}, true
	case fFloat64:
		return value{k: kFloat, f: *(*float64)(q)}, true
	case fBool:
		return value{k: kBool, b: *(*bool)(q)}, true
	case fString:
		return value{k: kStr, s: *(*string)(q)}, true
	case fBytes:
		b := *(*[]byte)(q)
		if b == nil {
			return value{}, false
		}
		// Appended before the row ends, while b is alive and unchanged.
		return value{k: kBytes, s: unsafe.String(unsafe.SliceData(b), len(b))}, true
	case fTime:
		return value{k: kTime, i: (*time.Time)(q).UnixMicro()}, true
	case fDate:
		d, ok := (*Date)(q).days()
		return value{k: kDate, i: d}, ok
	}
	return value{}, false
}

// deferLists queues the row's non-empty slices for their nested tables.
func (n *Normalizer) deferLists(ts *tstate, bd *typedBinding, p unsafe.Pointer) {
	for i := range bd.lists {
		bl := &bd.lists[i]
		if q := follow(p, bl.steps); q != nil && (*sliceHeader)(q).len > 0 {
			n.deferred = append(n.deferred, deferredList{ts: ts, name: bl.name, lvl: bl.lvl, tl: bl, tp: q})
		}
	}
}

// typedList writes a deferred slice's items as rows of its nested table.
func (n *Normalizer) typedList(child *tstate, d deferredList, parentID, rootID string) error {
	var err error
	bl, h := d.tl, (*sliceHeader)(d.tp)
	e := bl.elem
	if e.kind == fStruct {
		if bl.child == nil || bl.child.ts != child || bl.child.stale() {
			if bl.child, err = n.binding(child, e.typ, d.lvl); err != nil {
				return err
			}
		}
		for i := range h.len {
			q := unsafe.Add(h.data, uintptr(i)*e.size)
			if e.nptr == 1 {
				if q = *(*unsafe.Pointer)(q); q == nil {
					if err := n.valueRow(child, bl, value{}, parentID, rootID, i); err != nil {
						return err
					}
					continue
				}
			}
			if err := n.typedRow(child, bl.child, q, parentID, rootID, i); err != nil {
				return err
			}
		}
		return nil
	}
	if e.kind == fGo {
		// Items that decide their own shape go as a list of Go values does.
		items := make([]any, h.len)
		for i := range items {
			items[i] = reflect.NewAt(bl.etyp, unsafe.Add(h.data, uintptr(i)*e.size)).Elem().Interface()
		}
		return n.normalizeList(deferredList{ts: d.ts, gv: items, lvl: d.lvl, name: d.name}, parentID, rootID)
	}
	if bl.vts != child {
		n.s.applyTypeHints(child.name, []Column{{Name: string(valueKey), DataType: e.kind.natural(), Nullable: true}})
		bl.value, bl.vts = n.node(child, child.top, valueKey), child
	}
	for i := range h.len {
		q := unsafe.Add(h.data, uintptr(i)*e.size)
		for k := 0; k < e.nptr && q != nil; k++ {
			q = *(*unsafe.Pointer)(q)
		}
		if q != nil && e.valid >= 0 && !*(*bool)(unsafe.Add(q, e.valid)) {
			q = nil
		}
		var v value
		if q != nil {
			v, _ = readValue(e.kind, q)
		}
		if err := n.valueRow(child, bl, v, parentID, rootID, i); err != nil {
			return err
		}
	}
	return nil
}

// valueRow writes a list item that is a scalar (or null) as a row with a
// "value" column, its id derived from the parent row, as scalarRow does.
func (n *Normalizer) valueRow(ts *tstate, bl *boundList, v value, parentID, rootID string, idx int) error {
	n.beginRow()
	if v.k != kNull {
		if bl.vts != ts {
			bl.value, bl.vts = n.node(ts, ts.top, valueKey), ts
		}
		n.stage(bl.value, v)
	}
	keep, err := n.resolveStaged(ts)
	if err != nil || !keep {
		return err
	}
	return n.commitRow(ts, []byte(childID(parentID, ts.name, idx)), parentID, rootID, idx)
}

// applyTypeHints adds a type's columns to a table as hints: a column that
// is missing is added; one that has no type yet takes the type's, and its
// keys and nullability. A column that has a type keeps it and its hints,
// from the resource's hints or earlier loads (the row path coerces values
// to it). It reports whether the table's contract may discard rows or
// values.
func (s *Schema) applyTypeHints(table string, cols []Column) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byName[table]
	if t == nil {
		return true
	}
	for _, hc := range cols {
		c := s.columnLocked(t, hc.Name)
		if c == nil {
			cp := hc
			s.addColumnLocked(t, &cp)
			continue
		}
		if c.DataType != "" || hc.DataType == "" {
			continue
		}
		c.DataType, c.Precision, c.Scale, c.Timezone = hc.DataType, hc.Precision, hc.Scale, hc.Timezone
		c.PrimaryKey = c.PrimaryKey || hc.PrimaryKey
		c.MergeKey = c.MergeKey || hc.MergeKey
		c.Unique = c.Unique || hc.Unique
		if !hc.Nullable {
			setNullable(c, false)
		}
	}
	ct := contractOf(s.rootOfLocked(t))
	for _, m := range []ContractMode{ct.Tables, ct.Columns, ct.DataType} {
		if m == DiscardRow || m == DiscardValue {
			return true
		}
	}
	return false
}
