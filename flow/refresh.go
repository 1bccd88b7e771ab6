package flow

import (
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
)

// Refresh is dlt's refresh mode for a run.
type Refresh string

// The refresh modes.
const (
	// DropSources drops every table of the run's schema and the whole
	// state of the sources being run: source state, resource state and
	// incremental cursors, so they load from their initial values.
	DropSources Refresh = "drop_sources"
	// DropResources drops the tables and resets the resource state
	// (incremental cursors included) of the resources being run and of
	// the parents feeding them; source state is kept.
	DropResources Refresh = "drop_resources"
	// DropData empties the tables and resets the resource state of the
	// same resources as DropResources, keeping the schema.
	DropData Refresh = "drop_data"
)

// refresh applies a refresh mode before a run (dlt's refresh): it lists the
// tables to drop or empty in req, resets state in store, rebinds the plan's
// nodes to the reset state and returns the schema to load with.
func refresh(mode Refresh, sources []*Source, plan *plan, store *stateStore, schema *arrowbuf.Schema, req *sink.LoadRequest) (*arrowbuf.Schema, error) {
	schemaName := schema.Name()
	switch mode {
	case "":
	case DropSources:
		for _, t := range schema.Tables() {
			req.Drop = append(req.Drop, t.Name)
		}
		schema = arrowbuf.NewSchema(schemaName)
		for _, s := range sources {
			store.resetSource(s.name)
		}
	case DropResources, DropData:
		// As dlt, every resource the run extracts is refreshed: the
		// selected ones and the parents feeding them.
		for _, n := range plan.all() {
			for _, t := range resourceTables(schema, n.res) {
				if mode == DropResources && !slices.Contains(req.Drop, t) {
					req.Drop = append(req.Drop, t)
				} else if mode == DropData && !slices.Contains(req.Truncate, t) {
					req.Truncate = append(req.Truncate, t)
				}
			}
			store.reset(n.res.source, n.res.name)
		}
		if mode == DropResources {
			schema = schemaWithout(schema, req.Drop)
		}
	default:
		return nil, fmt.Errorf("flow: unknown refresh mode %q", mode)
	}
	if mode != "" {
		// The nodes were bound to the states just reset: a generator
		// reading the old cursor would ask only for rows after it, into
		// tables that no longer hold them.
		for _, n := range plan.all() {
			n.state = store.resource(n.res.source, n.res.name)
		}
	}
	return schema, nil
}

// resourceTables returns the tables resource r loaded before: its root
// tables (its own, or picked per item) and every table nested under them.
func resourceTables(s *arrowbuf.Schema, r *Resource) []string {
	own := arrowbuf.NormalizeTableIdentifier(r.Table())
	var out []string
	for _, t := range s.Tables() {
		if t.Parent == "" && (t.Name == own || t.Resource == r.name) {
			out = append(out, familyOf(s, t.Name)...)
		}
	}
	return out
}

// familyOf returns root and every table nested under it in the schema.
func familyOf(s *arrowbuf.Schema, root string) []string {
	tables := s.Tables()
	in := map[string]bool{root: true}
	out := []string{}
	if s.Table(root) != nil {
		out = append(out, root)
	}
	for changed := true; changed; {
		changed = false
		for _, t := range tables {
			if !in[t.Name] && t.Parent != "" && in[t.Parent] {
				in[t.Name] = true
				out = append(out, t.Name)
				changed = true
			}
		}
	}
	return out
}

func schemaWithout(s *arrowbuf.Schema, drop []string) *arrowbuf.Schema {
	out := arrowbuf.NewSchema(s.Name())
	for _, t := range s.Tables() {
		if !slices.Contains(drop, t.Name) {
			out.PutTable(t)
		}
	}
	return out
}
