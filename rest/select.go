package rest

import (
	"github.com/valyala/fastjson"
)

// recordKeys are the keys whose list holds a response's records, as dlt's
// RECORD_KEY_PATTERNS (matched exactly, as dlt does).
func recordKey(k []byte) bool {
	switch string(k) {
	case "data", "items", "results", "entries", "records", "rows", "entities", "payload", "content", "objects", "values":
		return true
	}
	return false
}

// metaKey reports keys that hold metadata, not records: dlt's
// NON_RECORD_KEY_PATTERNS and a few more.
func metaKey(k []byte) bool {
	switch string(k) {
	case "meta", "metadata", "pagination", "links", "_links", "extras", "headers",
		"paging", "page", "errors", "error", "warnings", "cursor", "cursors":
		return true
	}
	return false
}

// maxListDepth is how many keys deep dlt's find_all_lists looks for lists.
const maxListDepth = 3

// selectData returns the rows of a parsed page: the values sel matches (one
// matched array is expanded), or, with no selector, the auto-detected list.
// A single object becomes one row; null and missing data are no rows.
func selectData(root *fastjson.Value, sel *jsonPath) []*fastjson.Value {
	rows, _ := selectRows(root, sel)
	return rows
}

// selectRows is selectData that also reports whether sel matched anything
// at all (a null or an empty list is a match; always true without sel).
func selectRows(root *fastjson.Value, sel *jsonPath) (rows []*fastjson.Value, found bool) {
	if root == nil {
		return nil, false
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
			return dropNulls(a), true
		case fastjson.TypeNull:
			return nil, true
		}
		return matched, true
	}
	return dropNulls(matched), len(matched) > 0
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
// find_response_page_data does: only a list holds records. A root that is
// not an object is used as is; in an object, the least nested list under a
// record key (data, items, results, ...) wins, else the least nested list
// at all, up to maxListDepth keys deep. With no list, the whole response is
// one row ({"data": {...}, "status": "ok"} is one row with data__* columns).
// Two additions to dlt: in the fallback, a list under a metadata key
// ("errors": [], "meta": {"tags": [...]}) is taken only when there is no
// other; and a null under a top-level record key with no list anywhere
// ({"data": null}) is an empty page, not a row of nulls.
func detectData(root *fastjson.Value) *fastjson.Value {
	if root.Type() != fastjson.TypeObject {
		return root
	}
	type node struct {
		o    *fastjson.Object
		meta bool // under a metadata key
	}
	top, _ := root.Object()
	level := []node{{o: top}}
	// least and leastMeta are the first lists seen, breadth first.
	var found, least, leastMeta *fastjson.Value
	for depth := 1; depth <= maxListDepth && len(level) > 0; depth++ {
		var next []node
		for _, n := range level {
			n.o.Visit(func(k []byte, v *fastjson.Value) {
				if found != nil {
					return
				}
				switch v.Type() {
				case fastjson.TypeArray:
					switch {
					case recordKey(k):
						found = v
					case n.meta || metaKey(k):
						if leastMeta == nil {
							leastMeta = v
						}
					case least == nil:
						least = v
					}
				case fastjson.TypeObject:
					if depth < maxListDepth {
						inner, _ := v.Object()
						next = append(next, node{o: inner, meta: n.meta || metaKey(k)})
					}
				}
			})
			if found != nil {
				return found
			}
		}
		level = next
	}
	if least != nil {
		return least
	}
	if leastMeta != nil {
		return leastMeta
	}
	var null *fastjson.Value
	top.Visit(func(k []byte, v *fastjson.Value) {
		if null == nil && v.Type() == fastjson.TypeNull && recordKey(k) {
			null = v
		}
	})
	if null != nil {
		return null
	}
	return root
}
