package arrowbuf

import (
	"fmt"
	"math"
	"math/big"
	"unsafe"

	"github.com/valyala/fastjson"
)

// AppendJSON normalizes rows of the root table (a raw name). A row that is
// not an object is stored as {"value": row}, as dlt does.
func (n *Normalizer) AppendJSON(table string, rows []*fastjson.Value) error {
	ts, err := n.rootTable(table)
	if err == errDiscardTable {
		return nil
	}
	if err != nil {
		return err
	}
	for _, row := range rows {
		if row == nil {
			continue
		}
		if err := n.jsonRow(ts, row, "", "", 0, ts.maxNesting); err != nil {
			return err
		}
	}
	return nil
}

var valueKey = []byte("value")
var listKey = []byte("list")

// jsonRow normalizes one row of ts and then its nested lists.
func (n *Normalizer) jsonRow(ts *tstate, row *fastjson.Value, parentID, rootID string, idx, lvl int) error {
	mark := len(n.deferred)
	n.beginRow()
	switch row.Type() {
	case fastjson.TypeObject:
		o, _ := row.Object()
		n.vTS, n.vNode, n.vLvl, n.vPos, n.vErr = ts, ts.top, lvl, 0, nil
		o.Visit(n.visitF)
		if n.vErr != nil {
			return n.vErr
		}
	case fastjson.TypeArray:
		// a list inside a list: an intermediate row holding it as "list"
		n.vTS, n.vNode, n.vLvl, n.vPos = ts, ts.top, lvl, 0
		n.visitKV(listKey, row)
	default:
		n.vTS, n.vNode, n.vLvl, n.vPos = ts, ts.top, lvl, 0
		n.visitKV(valueKey, row)
	}
	return n.finishRow(ts, mark, parentID, rootID, idx)
}

// finishRow resolves and commits the staged row, then normalizes the lists
// it deferred (entries from mark on), depth first like dlt.
func (n *Normalizer) finishRow(ts *tstate, mark int, parentID, rootID string, idx int) error {
	keep, err := n.resolveStaged(ts)
	if err != nil || !keep {
		n.deferred = n.deferred[:mark]
		return err
	}
	var idb []byte
	switch {
	case n.userID != "":
		idb = []byte(n.userID)
	case !ts.isRoot && ts.detChildID && !ts.rootLike:
		idb = []byte(childID(parentID, ts.name, idx))
	default:
		idb = n.newID()
	}
	end := len(n.deferred)
	var id string
	if end > mark { // nested rows link to this one
		id = string(idb)
		if ts.isRoot {
			rootID = id
		}
	}
	if err := n.commitRow(ts, idb, parentID, rootID, idx); err != nil {
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

// visitKV stages one key of an object of the current row.
func (n *Normalizer) visitKV(k []byte, v *fastjson.Value) {
	if n.vErr != nil {
		return
	}
	ts, parent, lvl := n.vTS, n.vNode, n.vLvl
	nd := n.nodeAt(ts, parent, k, n.vPos)
	n.vPos++
	switch v.Type() {
	case fastjson.TypeNull:
		if nd.stamp == n.rowSeq {
			n.staged[nd.stagedAt].v = value{}
		}
	case fastjson.TypeTrue, fastjson.TypeFalse:
		sv := n.slot(nd)
		sv.k, sv.b = kBool, v.Type() == fastjson.TypeTrue
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		sv := n.slot(nd)
		sv.k, sv.s = kStr, unsafe.String(unsafe.SliceData(b), len(b))
	case fastjson.TypeNumber:
		n.jsonNumber(v, n.slot(nd))
	case fastjson.TypeObject:
		o, _ := v.Object()
		if lvl <= 0 || n.isJSONColumn(ts, nd) {
			n.stage(nd, value{k: kJSON, jv: v})
			return
		}
		pos := n.vPos
		n.vNode, n.vLvl, n.vPos = nd, lvl-1, 0
		o.Visit(n.visitF)
		n.vNode, n.vLvl, n.vPos = parent, lvl, pos
	case fastjson.TypeArray:
		if lvl <= 0 || n.isJSONColumn(ts, nd) {
			n.stage(nd, value{k: kJSON, jv: v})
			return
		}
		arr, _ := v.Array()
		if len(arr) == 0 {
			return
		}
		n.deferList(ts, nd, parent, k, deferredList{jv: v, lvl: lvl - 1})
	}
}

// deferList queues a list for normalization into a nested table after the
// current row is committed.
func (n *Normalizer) deferList(ts *tstate, nd, parent *fieldNode, k []byte, d deferredList) {
	if nd.childName == "" {
		name := NormalizeTableIdentifier(string(k))
		if parent.name != "" {
			name = parent.name + PathSeparator + name
		}
		nd.childName = ts.name + PathSeparator + name
	}
	d.ts = ts
	d.name = nd.childName
	n.deferred = append(n.deferred, d)
}

// normalizeList writes the items of a deferred list as rows of its nested
// table.
func (n *Normalizer) normalizeList(d deferredList, parentID, rootID string) error {
	child, err := n.table(d.name, d.ts.name, "")
	if err == errDiscardTable {
		return nil
	}
	if err != nil {
		return err
	}
	if d.tl != nil {
		return n.typedList(child, d, parentID, rootID)
	}
	if d.jv != nil {
		arr, _ := d.jv.Array()
		for i, item := range arr {
			if err := n.jsonListItem(child, item, d.lvl, parentID, rootID, i); err != nil {
				return err
			}
		}
		return nil
	}
	for i, item := range d.gv {
		switch item.(type) {
		case map[string]any, []any:
			_, isList := item.([]any)
			if err := n.goRow(child, item, parentID, rootID, i, itemLevel(d.lvl, isList)); err != nil {
				return err
			}
		default:
			if _, _, ok := structData(item); ok && !isScalar(item) {
				// A struct item is a row, through its type's plan.
				if err := n.goRow(child, item, parentID, rootID, i, d.lvl); err != nil {
					return err
				}
				continue
			}
			if item != nil && !isScalar(item) {
				// A typed slice or map, or a type with its own JSON form:
				// as encoding/json writes it (scalarRow would drop it).
				jv, err := viaJSON(item)
				if err != nil {
					return fmt.Errorf("arrowbuf: table %q: %w", child.name, err)
				}
				if err := n.jsonListItem(child, jv, d.lvl, parentID, rootID, i); err != nil {
					return err
				}
				continue
			}
			if err := n.scalarRow(child, nil, item, parentID, rootID, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonListItem writes one JSON item of a list as a row of its nested table.
func (n *Normalizer) jsonListItem(child *tstate, item *fastjson.Value, lvl int, parentID, rootID string, i int) error {
	switch item.Type() {
	case fastjson.TypeObject, fastjson.TypeArray:
		return n.jsonRow(child, item, parentID, rootID, i, itemLevel(lvl, item.Type() == fastjson.TypeArray))
	}
	return n.scalarRow(child, item, nil, parentID, rootID, i)
}

// itemLevel is the nesting level left to a list item's row: a list in a
// list becomes an intermediate row holding it as "list", which dlt counts
// as one level deeper than the list (max_table_nesting 2 keeps a list of
// lists as a json "list" column of the first child table).
func itemLevel(lvl int, isList bool) int {
	if isList {
		return lvl - 1
	}
	return lvl
}

// scalarRow writes a list item that is a scalar as a row with a "value"
// column; its id derives from the parent row as in dlt.
func (n *Normalizer) scalarRow(ts *tstate, jv *fastjson.Value, gv any, parentID, rootID string, idx int) error {
	n.beginRow()
	nd := n.node(ts, ts.top, valueKey)
	if jv != nil {
		n.vTS, n.vNode, n.vLvl, n.vPos = ts, ts.top, 0, 0
		n.visitKV(valueKey, jv)
	} else if v, ok := goScalar(gv); ok {
		n.stage(nd, v)
	}
	keep, err := n.resolveStaged(ts)
	if err != nil || !keep {
		return err
	}
	return n.commitRow(ts, []byte(childID(parentID, ts.name, idx)), parentID, rootID, idx)
}

// jsonNumber reads a JSON number into dst: bigint when it is written as
// an integer that fits, else double (Python's json does the same split).
func (n *Normalizer) jsonNumber(v *fastjson.Value, dst *value) {
	n.scratch = v.MarshalTo(n.scratch[:0])
	raw := n.scratch
	// One pass for the common case; fastjson's own parsers build an error
	// value for every miss.
	if i, ok := parseInt64(raw); ok {
		dst.k, dst.i = kInt, i
		return
	}
	if isInteger(raw) {
		// Too big for bigint: keep the digits as a decimal.
		if _, ok := new(big.Int).SetString(string(raw), 10); ok {
			dst.k, dst.s = kDecimal, string(raw)
			return
		}
	}
	dst.k = kFloat
	dst.f, _ = v.Float64()
}

// isInteger reports whether b is an optionally signed run of digits.
func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// parseInt64 parses an optionally signed decimal integer that fits int64.
func parseInt64(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	case neg && u <= math.MaxInt64+1:
		return -int64(u), true
	}
	return 0, false
}
