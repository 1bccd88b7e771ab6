package rest

import (
	"fmt"
	"slices"
	"sort"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/internal/confspec"
	"github.com/sluicehq/sluice/transform"
)

// DecodeOption changes how DecodeConfig reads a config.
type DecodeOption func(*decodeOptions)

type decodeOptions struct {
	keyOrder map[string][]string
}

// KeyOrder gives the order of the config's map keys as written, by field
// path (as in errors: "source.resources[0].columns"), which Go maps lose.
// Column hints given as a map and the fields of a `map` processing step
// follow it, as they follow a Python dict's order in dlt: hinted columns
// come first in that order, new mapped fields in that order after the
// record's own. Without it they are sorted by name.
func KeyOrder(order map[string][]string) DecodeOption {
	return func(o *decodeOptions) { o.keyOrder = order }
}

// applyKeyOrder reorders what DecodeConfig sorted by name.
func applyKeyOrder(cfg *Config, prefix string, order map[string][]string) {
	// Paths as the CLI writes them: a key with a space or quote is quoted.
	at := func(path, key string) string { return confspec.JoinKey(path, key) }
	apply := func(path string, r *ResourceConfig) {
		orderColumns(r.Columns, order[at(path, "columns")])
		for nested, h := range r.NestedHints {
			orderColumns(h.Columns, order[at(at(at(path, "nested_hints"), nested), "columns")])
		}
		for i := range r.ProcessingSteps {
			if s := &r.ProcessingSteps[i]; s.MapFields != nil {
				s.MapFieldOrder = order[at(fmt.Sprintf("%s[%d]", at(path, "processing_steps"), i), "map")]
			}
		}
	}
	if cfg.ResourceDefaults != nil {
		apply(at(prefix, "resource_defaults"), cfg.ResourceDefaults)
	}
	for i := range cfg.Resources {
		apply(fmt.Sprintf("%s[%d]", at(prefix, "resources"), i), &cfg.Resources[i])
	}
}

// orderColumns sorts cols (decoded from a map, so sorted by name) into the
// map's key order; columns it does not list keep their place after.
func orderColumns(cols []arrowbuf.Column, keys []string) {
	if len(keys) == 0 {
		return
	}
	rank := func(name string) int {
		if i := slices.Index(keys, name); i >= 0 {
			return i
		}
		return len(keys)
	}
	sort.SliceStable(cols, func(i, j int) bool { return rank(cols[i].Name) < rank(cols[j].Name) })
}

// mapFieldsStep compiles a `map` step of fields: in MapFieldOrder, then the
// fields it does not name, sorted.
func mapFieldsStep(s ProcessingStep) (flow.Step, error) {
	list := make([]transform.Field, 0, len(s.MapFields))
	added := map[string]bool{}
	add := func(k string) {
		if e, ok := s.MapFields[k]; ok && !added[k] {
			list = append(list, transform.Field{Name: k, Expr: e})
			added[k] = true
		}
	}
	for _, k := range s.MapFieldOrder {
		add(k)
	}
	for _, k := range sortedKeys(s.MapFields) {
		add(k)
	}
	return transform.SetFields(list...)
}
