// Package family resolves the tables of a load into families: a root table
// and the tables nested under it share its write disposition and keys. Both
// destinations use it while a load runs.
package family

import (
	"slices"

	"github.com/sluicehq/sluice/arrowbuf"
)

// Tables finds table snapshots during a load: the run's live schema first,
// then the snapshots that arrived with batches (a load may run without a
// schema, as in the sink tests).
type Tables struct {
	Schema *arrowbuf.Schema
	Snaps  map[string]*arrowbuf.Table
}

// Lookup returns the newest snapshot of a table known to the load, or nil.
func (ts *Tables) Lookup(name string) *arrowbuf.Table {
	if ts.Schema != nil {
		if t := ts.Schema.Table(name); t != nil {
			return t
		}
	}
	return ts.Snaps[name]
}

// RootOf returns the root table of t's family, or nil when a parent is
// unknown.
func (ts *Tables) RootOf(t *arrowbuf.Table) *arrowbuf.Table {
	cur := t
	for i := 0; cur.Parent != "" && i < 100; i++ {
		p := ts.Lookup(cur.Parent)
		if p == nil {
			return nil
		}
		cur = p
	}
	return cur
}

// Disposition is the family's write disposition: the root's, else the
// table's own, else append.
func Disposition(t, root *arrowbuf.Table) arrowbuf.WriteDisposition {
	if root != nil && root.WriteDisposition != "" {
		return root.WriteDisposition
	}
	if t.WriteDisposition != "" {
		return t.WriteDisposition
	}
	return arrowbuf.Append
}

// Nested lists, sorted, the tables whose root is root (root excluded), from
// the given schemas (nil ones skipped) and the load's snapshots: a table
// may be known to one and not the others.
func (ts *Tables) Nested(root string, schemas ...*arrowbuf.Schema) []string {
	var out []string
	add := func(t *arrowbuf.Table) {
		if t.Name == root || slices.Contains(out, t.Name) {
			return
		}
		if r := ts.RootOf(t); r != nil && r.Name == root {
			out = append(out, t.Name)
		}
	}
	for _, sc := range schemas {
		if sc != nil {
			for _, t := range sc.Tables() {
				add(t)
			}
		}
	}
	for _, t := range ts.Snaps {
		add(t)
	}
	slices.Sort(out)
	return out
}

// Keys returns the primary key and merge key columns of a root table, in
// column order.
func Keys(t *arrowbuf.Table) (pk, mk []string) {
	for _, c := range t.Columns {
		if c.PrimaryKey {
			pk = append(pk, c.Name)
		}
		if c.MergeKey {
			mk = append(mk, c.Name)
		}
	}
	return pk, mk
}
