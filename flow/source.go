package flow

import (
	"fmt"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
)

// Sourcer is what Pipeline.Run loads: a *Source or a standalone *Resource.
type Sourcer interface {
	flowSource(pipeline string) *Source
}

// Source groups resources under one name (dlt's source): their state is kept
// under that name, and a subset can be selected.
type Source struct {
	name            string
	resources       []*Resource
	maxTableNesting *int
	contract        *arrowbuf.Contract
}

// SourceOption configures a source.
type SourceOption func(*Source)

// SourceMaxTableNesting sets max_table_nesting for resources that do not set
// their own.
func SourceMaxTableNesting(n int) SourceOption { return func(s *Source) { s.maxTableNesting = &n } }

// SourceSchemaContract sets the schema contract of the source's resources;
// a resource's own contract overrides it mode by mode (tables, columns,
// data_type), as in dlt.
func SourceSchemaContract(c arrowbuf.Contract) SourceOption {
	return func(s *Source) { s.contract = &c }
}

// SourceLimit is Source.Limit as an option of NewSource.
func SourceLimit(maxItems int, maxTime time.Duration) SourceOption {
	return func(s *Source) { s.resources = limitAll(s.resources, maxItems, maxTime) }
}

// NewSource groups resources into a source named name.
func NewSource(name string, resources []*Resource, opts ...SourceOption) *Source {
	s := &Source{name: name}
	for _, r := range resources {
		c := r.clone()
		c.source = name
		s.resources = append(s.resources, c)
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Name returns the source's name.
func (s *Source) Name() string { return s.name }

// Resources returns the source's resources.
func (s *Source) Resources() []*Resource { return append([]*Resource(nil), s.resources...) }

// Resource returns the named resource or nil.
func (s *Source) Resource(name string) *Resource {
	for _, r := range s.resources {
		if r.name == name {
			return r
		}
	}
	return nil
}

// With returns a copy that loads only the named resources (dlt's
// with_resources); parents of selected transformers still run, unloaded.
func (s *Source) With(names ...string) (*Source, error) {
	want := map[string]bool{}
	for _, n := range names {
		if s.Resource(n) == nil {
			return nil, fmt.Errorf("flow: source %q has no resource %q", s.name, n)
		}
		want[n] = true
	}
	c := *s
	c.resources = nil
	for _, r := range s.resources {
		rc := r.clone()
		rc.selected = want[r.name]
		c.resources = append(c.resources, rc)
	}
	return &c, nil
}

// Limit returns a copy in which every resource stops after maxItems
// yields or maxTime, as Resource.Limit (dlt's add_limit on a source),
// replacing the resources' own limits. Transformers are not limited; the
// parents feeding them are.
func (s *Source) Limit(maxItems int, maxTime time.Duration) *Source {
	c := *s
	c.resources = limitAll(s.resources, maxItems, maxTime)
	return &c
}

// Apply returns a copy in which the named resource has opts applied, as
// Resource.With (dlt's apply_hints on a source's resource, or setting its
// table_name, max_table_nesting or selected); transformers it feeds take
// their data from the changed copy.
func (s *Source) Apply(name string, opts ...Option) (*Source, error) {
	target := s.Resource(name)
	if target == nil {
		return nil, fmt.Errorf("flow: source %q has no resource %q", s.name, name)
	}
	c := *s
	c.resources = rebuild(s.resources, func(r *Resource) *Resource {
		if r.id != target.id {
			return r
		}
		return r.With(opts...)
	})
	return &c, nil
}

// limitAll limits the generators among rs and behind their transformers.
func limitAll(rs []*Resource, maxItems int, maxTime time.Duration) []*Resource {
	return rebuild(rs, func(r *Resource) *Resource {
		if r.tf != nil {
			return r
		}
		return r.Limit(maxItems, maxTime)
	})
}

// rebuild returns rs with fn applied to every resource and to the parents
// behind the transformers; a transformer whose parent fn changed is piped
// from the changed copy. Copies keep their identity, so a run still sees
// one definition.
func rebuild(rs []*Resource, fn func(*Resource) *Resource) []*Resource {
	done := map[*Resource]*Resource{}
	var re func(r *Resource) *Resource
	re = func(r *Resource) *Resource {
		if d := done[r]; d != nil {
			return d
		}
		out := fn(r)
		if out.parent != nil {
			if p := re(out.parent); p != out.parent {
				if out == r {
					out = r.clone()
				}
				out.parent = p
			}
		}
		done[r] = out
		return out
	}
	out := make([]*Resource, len(rs))
	for i, r := range rs {
		out[i] = re(r)
	}
	return out
}

func (s *Source) flowSource(string) *Source { return s }

func (r *Resource) flowSource(pipeline string) *Source {
	return NewSource(pipeline, []*Resource{r})
}
