package flow

import (
	"cmp"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/sluicehq/sluice/arrowbuf"
)

// node is one resource in the run's tree: roots are generators, children are
// transformers fed by their parent.
type node struct {
	res      *Resource
	state    *ResourceState
	children []*node
	in       chan Batch // transformers only
	srcHints *Source
	// yielded counts the rows the resource yielded, kept those its
	// steps passed on (for the load info's warnings).
	yielded, kept atomic.Int64
}

func (n *node) hints() arrowbuf.TableHints {
	h := n.res.hints
	if h.MaxTableNesting == nil && n.srcHints != nil {
		h.MaxTableNesting = n.srcHints.maxTableNesting
	}
	if n.srcHints != nil && n.srcHints.contract != nil {
		// The resource's modes override the source's one by one, as in dlt.
		c := *n.srcHints.contract
		if r := h.Contract; r != nil {
			c.Tables = cmp.Or(r.Tables, c.Tables)
			c.Columns = cmp.Or(r.Columns, c.Columns)
			c.DataType = cmp.Or(r.DataType, c.DataType)
		}
		h.Contract = &c
	}
	return h
}

type plan struct {
	roots  []*node
	loaded []*node // selected nodes, in declaration order
}

// all returns every node of the run: the loaded ones and their parents.
func (pl *plan) all() []*node {
	var out []*node
	var walk func(n *node)
	walk = func(n *node) {
		out = append(out, n)
		for _, c := range n.children {
			walk(c)
		}
	}
	for _, r := range pl.roots {
		walk(r)
	}
	return out
}

// buildPlan turns resources into a tree: each transformer hangs under the
// node of its parent (the same parent definition shared by several
// transformers runs once).
func buildPlan(sources []*Source, store *stateStore) (*plan, error) {
	pl := &plan{}
	// A node per source and definition: copies of one definition (a
	// source's member and a transformer's parent) run once; different
	// definitions sharing a name (two fs_resource(folder) parents) are
	// different pipes, as dlt tells pipes apart by instance.
	type key struct {
		source string
		id     *identity
	}
	byRes := map[key]*node{}
	names := map[string]bool{}
	var add func(r *Resource, src *Source, selected bool) (*node, error)
	add = func(r *Resource, src *Source, selected bool) (*node, error) {
		k := key{src.name, r.id}
		if n := byRes[k]; n != nil {
			return n, nil
		}
		if r.source == "" {
			r = r.clone()
			r.source = src.name
		}
		n := &node{res: r, state: store.resource(r.source, r.name), srcHints: src}
		byRes[k] = n
		if r.tf != nil {
			if r.parent == nil {
				return nil, fmt.Errorf("flow: transformer %q has no parent resource (use Pipe)", r.name)
			}
			parent, err := add(r.parent, src, false)
			if err != nil {
				return nil, err
			}
			n.in = make(chan Batch, 2)
			parent.children = append(parent.children, n)
		} else {
			pl.roots = append(pl.roots, n)
		}
		return n, nil
	}
	for _, s := range sources {
		for _, r := range s.resources {
			if !r.selected {
				continue
			}
			if names[r.name] {
				return nil, fmt.Errorf("flow: two resources named %q: use WithName to rename one", r.name)
			}
			names[r.name] = true
			n, err := add(r, s, true)
			if err != nil {
				return nil, err
			}
			pl.loaded = append(pl.loaded, n)
		}
	}
	if len(pl.loaded) == 0 {
		return nil, errors.New("flow: no resource selected")
	}
	return pl, nil
}
