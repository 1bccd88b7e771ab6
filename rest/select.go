package rest

import (
	"github.com/valyala/fastjson"
)

// recordKeys are the keys whose list holds a response's records, in dlt's
// order of preference; nonRecordKeys hold metadata, never records.
var recordKeys = []string{"data", "items", "results", "records", "entries", "rows", "entities", "objects", "values", "content", "payload", "hits"}

var nonRecordKeys = map[string]bool{
	"meta": true, "metadata": true, "links": true, "_links": true, "pagination": true, "paging": true,
	"page": true, "errors": true, "error": true, "headers": true, "cursor": true, "cursors": true,
}

// selectData returns the rows of a parsed page: the values sel matches (one
// matched array is expanded), or, with no selector, the auto-detected list.
// A single object becomes one row; null and missing data are no rows.
func selectData(root *fastjson.Value, sel *jsonPath) []*fastjson.Value {
	if root == nil {
		return nil
	}
	var matched []*fastjson.Value
	if sel != nil {
		if sel.simple() {
			if v := sel.first(root); v != nil {
				matched = []*fastjson.Value{v}
			}
		} else {
			matched = sel.find(root, nil)
		}
	} else {
		matched = []*fastjson.Value{detectData(root)}
	}
	if len(matched) == 1 {
		v := matched[0]
		switch v.Type() {
		case fastjson.TypeArray:
			a, _ := v.Array()
			return dropNulls(a)
		case fastjson.TypeNull:
			return nil
		}
		return matched
	}
	return dropNulls(matched)
}

func dropNulls(a []*fastjson.Value) []*fastjson.Value {
	for i, v := range a {
		if v.Type() == fastjson.TypeNull {
			out := append([]*fastjson.Value(nil), a[:i]...)
			for _, w := range a[i+1:] {
				if w.Type() != fastjson.TypeNull {
					out = append(out, w)
				}
			}
			return out
		}
	}
	return a
}

// detectData finds the records of a response without a selector, as dlt's
// find_records does: the root list; else a list under a record key (data,
// items, results, ...) at the top level or one level down; else the only
// list not under a metadata key; else the object itself (one row). An object
// under a record key ("data": {...}) is that one row.
func detectData(root *fastjson.Value) *fastjson.Value {
	if root.Type() != fastjson.TypeObject {
		return root
	}
	o, _ := root.Object()
	for _, k := range recordKeys {
		if v := o.Get(k); v != nil && (v.Type() == fastjson.TypeArray || v.Type() == fastjson.TypeNull) {
			return v
		}
	}
	// One level down: {"response": {"items": [...]}}.
	var nested, other *fastjson.Value
	lists := 0
	o.Visit(func(k []byte, v *fastjson.Value) {
		if nonRecordKeys[string(k)] {
			return
		}
		switch v.Type() {
		case fastjson.TypeArray:
			lists++
			if other == nil {
				other = v
			}
		case fastjson.TypeObject:
			if nested != nil {
				return
			}
			inner, _ := v.Object()
			for _, rk := range recordKeys {
				if c := inner.Get(rk); c != nil && c.Type() == fastjson.TypeArray {
					nested = c
					return
				}
			}
		}
	})
	if nested != nil {
		return nested
	}
	if lists == 1 {
		return other
	}
	for _, k := range recordKeys {
		if v := o.Get(k); v != nil && v.Type() == fastjson.TypeObject {
			return v
		}
	}
	return root
}
