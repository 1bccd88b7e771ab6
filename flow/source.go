package flow

import (
	"fmt"

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

func (s *Source) flowSource(string) *Source { return s }

func (r *Resource) flowSource(pipeline string) *Source {
	return NewSource(pipeline, []*Resource{r})
}
