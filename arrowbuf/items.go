package arrowbuf

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/valyala/fastjson"
)

// AppendItems normalizes Go values as rows of the root table (a raw name).
// Maps are map[string]any; their keys are visited in sorted order because
// Go maps have none (use structs or JSON for a defined column order).
// Structs go through their type's plan, as in AppendTyped; other types go
// through encoding/json.
func (n *Normalizer) AppendItems(table string, items []any) error {
	ts, err := n.rootTable(table)
	if err == errDiscardTable {
		return nil // a new table discarded by the tables contract
	}
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := n.goRow(ts, it, "", "", 0, ts.maxNesting); err != nil {
			return err
		}
	}
	return nil
}

// goRow normalizes one Go item as a row of ts, then its lists.
func (n *Normalizer) goRow(ts *tstate, item any, parentID, rootID string, idx, lvl int) error {
	switch it := item.(type) {
	case map[string]any, []any:
	case nil:
		return nil
	default:
		if _, ok := goScalar(it); !ok {
			if done, err := n.structRow(ts, it, parentID, rootID, idx, lvl); done {
				return err
			}
			jv, err := viaJSON(it)
			if err != nil {
				return fmt.Errorf("arrowbuf: table %q: %w", ts.name, err)
			}
			return n.jsonRow(ts, jv, parentID, rootID, idx, lvl)
		}
	}
	mark := len(n.deferred)
	n.beginRow()
	n.vErr = nil
	switch it := item.(type) {
	case map[string]any:
		n.goObject(ts, ts.top, it, lvl)
	case []any:
		n.goKV(ts, ts.top, listKey, it, lvl)
	default:
		n.goKV(ts, ts.top, valueKey, it, lvl)
	}
	if n.vErr != nil {
		return n.vErr
	}
	return n.finishRow(ts, mark, parentID, rootID, idx)
}

// goObject stages a map's keys in sorted order. Maps of a resource mostly
// have the same keys row after row: parent keeps the last map's sorted
// keys with their nodes, and a map with just those keys is visited in
// that order by lookups, with no iteration, sort or allocation.
func (n *Normalizer) goObject(ts *tstate, parent *fieldNode, m map[string]any, lvl int) {
	if sk := parent.sorted; len(sk) == len(m) && len(sk) > 0 {
		mark := len(n.deferred)
		for i := range sk {
			v, ok := m[sk[i].key]
			if !ok {
				break
			}
			n.goValue(ts, parent, sk[i].nd, sk[i].key, v, lvl)
			if i == len(sk)-1 {
				return
			}
		}
		// Another key set: the values staged so far are staged again
		// below (a value replaces its node's), their lists deferred again.
		n.deferred = n.deferred[:mark]
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	sk := parent.sorted[:0]
	for _, k := range keys {
		nd := n.node(ts, parent, []byte(k))
		sk = append(sk, keyedNode{key: k, nd: nd})
		n.goValue(ts, parent, nd, k, m[k], lvl)
	}
	parent.sorted = sk
}

// viaJSON marshals a Go value with encoding/json and parses it for the
// JSON path.
func viaJSON(v any) (*fastjson.Value, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return fastjson.ParseBytes(raw)
}

// goKV stages one key of a Go map, mirroring visitKV.
func (n *Normalizer) goKV(ts *tstate, parent *fieldNode, k []byte, v any, lvl int) {
	if n.vErr != nil {
		return
	}
	n.goValue(ts, parent, n.node(ts, parent, k), string(k), v, lvl)
}

// goValue stages the value v of key k (node nd) under parent.
func (n *Normalizer) goValue(ts *tstate, parent, nd *fieldNode, k string, v any, lvl int) {
	if n.vErr != nil {
		return
	}
	switch x := v.(type) {
	case nil:
		if nd.stamp == n.rowSeq {
			n.staged[nd.stagedAt].v = value{}
		}
	case map[string]any:
		if lvl <= 0 || n.isJSONColumn(ts, nd) {
			n.stage(nd, value{k: kJSON, gv: x})
			return
		}
		n.goObject(ts, nd, x, lvl-1)
	case []any:
		if lvl <= 0 || n.isJSONColumn(ts, nd) {
			n.stage(nd, value{k: kJSON, gv: x})
			return
		}
		if len(x) > 0 {
			var kb []byte // the key names the nested table the first time only
			if nd.childName == "" {
				kb = []byte(k)
			}
			n.deferList(ts, nd, parent, kb, deferredList{gv: x, lvl: lvl - 1})
		}
	default:
		if sv, ok := goScalar(x); ok {
			n.stage(nd, sv)
			return
		}
		jv, err := viaJSON(x)
		if err != nil {
			n.vErr = fmt.Errorf("arrowbuf: table %q column %q: %w", ts.name, nd.name, err)
			return
		}
		n.vTS, n.vNode, n.vLvl = ts, parent, lvl
		n.visitKV([]byte(k), jv)
		if n.vErr != nil {
			return
		}
	}
}

// goScalar converts a Go scalar; ok is false for maps, slices, structs and
// other types that need encoding/json.
func goScalar(v any) (value, bool) {
	switch x := v.(type) {
	case string:
		return value{k: kStr, s: x}, true
	case bool:
		return value{k: kBool, b: x}, true
	case int:
		return value{k: kInt, i: int64(x)}, true
	case int8:
		return value{k: kInt, i: int64(x)}, true
	case int16:
		return value{k: kInt, i: int64(x)}, true
	case int32:
		return value{k: kInt, i: int64(x)}, true
	case int64:
		return value{k: kInt, i: x}, true
	case uint:
		return uintValue(uint64(x)), true
	case uint8:
		return value{k: kInt, i: int64(x)}, true
	case uint16:
		return value{k: kInt, i: int64(x)}, true
	case uint32:
		return value{k: kInt, i: int64(x)}, true
	case uint64:
		return uintValue(x), true
	case float32:
		return value{k: kFloat, f: float64(x)}, true
	case float64:
		return value{k: kFloat, f: x}, true
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return value{k: kInt, i: i}, true
		}
		f, err := x.Float64()
		if err != nil {
			return value{k: kStr, s: string(x)}, true
		}
		return value{k: kFloat, f: f}, true
	case time.Time:
		return value{k: kTime, i: x.UnixMicro()}, true
	case Date:
		d, ok := x.days()
		if !ok {
			return value{}, true // not a date: null
		}
		return value{k: kDate, i: d}, true
	case []byte:
		return value{k: kBytes, s: string(x)}, true
	case nil:
		return value{}, true
	}
	return value{}, false
}

func uintValue(u uint64) value {
	if u > math.MaxInt64 {
		return value{k: kDecimal, s: fmt.Sprint(u)}
	}
	return value{k: kInt, i: int64(u)}
}

// appendGoJSON appends the JSON text of a Go value.
func appendGoJSON(dst []byte, v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		raw, _ = json.Marshal(fmt.Sprint(v))
	}
	return append(dst, raw...)
}

// AppendRecord normalizes an Arrow record as rows of the root table: field
// names are normalized, Arrow types map to dlt types (nested types become
// json), and _dlt_load_id and _dlt_id are added. When every column already
// has the Arrow type its dlt type is built with, the arrays are passed on
// as they are (retained, not copied) in a batch of their own; otherwise rows
// go through the same path as JSON.
func (n *Normalizer) AppendRecord(table string, rec arrow.RecordBatch) error {
	ts, err := n.rootTable(table)
	if err == errDiscardTable {
		return nil // a new table discarded by the tables contract
	}
	if err != nil {
		return err
	}
	if done, err := n.appendColumnar(ts, rec); done || err != nil {
		return err
	}
	ncol := int(rec.NumCols())
	nodes := make([]*fieldNode, ncol)
	for i := 0; i < ncol; i++ {
		nodes[i] = n.node(ts, ts.top, []byte(rec.ColumnName(i)))
	}
	for r := 0; r < int(rec.NumRows()); r++ {
		mark := len(n.deferred)
		n.beginRow()
		for c := 0; c < ncol; c++ {
			v, err := arrowValue(rec.Column(c), r)
			if err != nil {
				return fmt.Errorf("arrowbuf: table %q column %q: %w", ts.name, rec.ColumnName(c), err)
			}
			if v.k != kNull {
				n.stage(nodes[c], v)
			}
		}
		if err := n.finishRow(ts, mark, "", "", r); err != nil {
			return err
		}
	}
	return nil
}

// arrowValue reads one cell as a value.
func arrowValue(a arrow.Array, i int) (value, error) {
	if a.IsNull(i) {
		return value{}, nil
	}
	switch x := a.(type) {
	case *array.Int8:
		return value{k: kInt, i: int64(x.Value(i))}, nil
	case *array.Int16:
		return value{k: kInt, i: int64(x.Value(i))}, nil
	case *array.Int32:
		return value{k: kInt, i: int64(x.Value(i))}, nil
	case *array.Int64:
		return value{k: kInt, i: x.Value(i)}, nil
	case *array.Uint8:
		return value{k: kInt, i: int64(x.Value(i))}, nil
	case *array.Uint16:
		return value{k: kInt, i: int64(x.Value(i))}, nil
	case *array.Uint32:
		return value{k: kInt, i: int64(x.Value(i))}, nil
	case *array.Uint64:
		return uintValue(x.Value(i)), nil
	case *array.Float16:
		return value{k: kFloat, f: float64(x.Value(i).Float32())}, nil
	case *array.Float32:
		return value{k: kFloat, f: float64(x.Value(i))}, nil
	case *array.Float64:
		return value{k: kFloat, f: x.Value(i)}, nil
	case *array.Boolean:
		return value{k: kBool, b: x.Value(i)}, nil
	case *array.String:
		return value{k: kStr, s: x.Value(i)}, nil
	case *array.LargeString:
		return value{k: kStr, s: x.Value(i)}, nil
	case *array.Binary:
		return value{k: kBytes, s: string(x.Value(i))}, nil
	case *array.Timestamp:
		unit := x.DataType().(*arrow.TimestampType).Unit
		return value{k: kTime, i: int64(x.Value(i)) * int64(unit.Multiplier()) / int64(time.Microsecond)}, nil
	case *array.Date32:
		return value{k: kDate, i: int64(x.Value(i))}, nil
	case *array.Date64:
		return value{k: kDate, i: floorDiv(int64(x.Value(i)), 86400000)}, nil
	case *array.Time32:
		unit := x.DataType().(*arrow.Time32Type).Unit
		return value{k: kClock, i: int64(x.Value(i)) * int64(unit.Multiplier()) / int64(time.Microsecond)}, nil
	case *array.Time64:
		unit := x.DataType().(*arrow.Time64Type).Unit
		return value{k: kClock, i: int64(x.Value(i)) * int64(unit.Multiplier()) / int64(time.Microsecond)}, nil
	case *array.Decimal128:
		dt := x.DataType().(*arrow.Decimal128Type)
		return value{k: kDecimal, s: x.Value(i).ToString(dt.Scale)}, nil
	}
	// Nested and other types: JSON text, as dlt stores them in json columns.
	raw, err := json.Marshal(a.GetOneForMarshal(i))
	if err != nil {
		return value{}, err
	}
	switch a.DataType().ID() {
	case arrow.STRUCT, arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.MAP:
		return value{k: kJSON, s: string(raw)}, nil
	}
	return value{k: kStr, s: a.ValueStr(i)}, nil
}
