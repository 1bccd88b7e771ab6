package sink

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
)

// Config is what a [Factory] gets to open a destination.
type Config struct {
	// Type is the destination type as the user wrote it ("duckdb",
	// "parquet", "filesystem", ...): a registered name or alias.
	Type string
	// Location is where data lands: a DuckDB file path or a bucket URL.
	Location string
	// Options holds the destination's other settings, keyed as in a spec
	// file (credentials, table_format, ...). A factory rejects keys it does
	// not know.
	Options map[string]any
	// Logger takes what the destination tells while it works; nil means
	// slog.Default().
	Logger *slog.Logger
}

// CheckOptions refuses a setting in c.Options that is not one of known,
// naming it (the first in sorted order); kind prefixes the error.
func (c Config) CheckOptions(kind string, known ...string) error {
	for _, k := range slices.Sorted(maps.Keys(c.Options)) {
		if !slices.Contains(known, k) {
			return fmt.Errorf("%s: unknown destination setting %q", kind, k)
		}
	}
	return nil
}

// Factory opens a destination from its configuration.
type Factory func(c Config) (Destination, error)

// Registry maps destination type names to factories. The zero value is
// empty and ready to use. Register is meant to be called while a program
// starts, before Open is used; Registry does no locking.
type Registry struct {
	factories map[string]Factory
	canonical map[string]string // name or alias -> registered name
}

// Register adds a factory under name (the destination's Kind, as dlt names
// it) and any aliases. Registering a name twice panics: it is a program
// error, found the first time the program runs.
func (r *Registry) Register(name string, f Factory, aliases ...string) {
	if r.factories == nil {
		r.factories = map[string]Factory{}
		r.canonical = map[string]string{}
	}
	for _, n := range append([]string{name}, aliases...) {
		if _, dup := r.canonical[n]; dup {
			panic(fmt.Sprintf("sink: destination type %q registered twice", n))
		}
		r.canonical[n] = name
	}
	r.factories[name] = f
}

// Lookup returns the registered name for a type name or alias.
func (r *Registry) Lookup(typ string) (name string, ok bool) {
	name, ok = r.canonical[typ]
	return name, ok
}

// Types lists the registered names and aliases, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.canonical))
	for n := range r.canonical {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Open opens a destination of c.Type.
func (r *Registry) Open(c Config) (Destination, error) {
	name, ok := r.canonical[c.Type]
	if !ok {
		return nil, fmt.Errorf("sink: destination type %q is not supported (want one of %s)", c.Type, strings.Join(r.Types(), ", "))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return r.factories[name](c)
}
