package flow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/internal/jsonconv"
)

// Yield hands a batch to the next stage. It blocks while the stage is busy
// (back-pressure) and returns an error when the run is stopping; a generator
// must then return.
type Yield func(Batch) error

// GenFunc produces a resource's data: it calls yield once per batch (a page,
// a chunk) and returns when there is no more. It must stop when ctx is done.
type GenFunc func(ctx context.Context, yield Yield) error

// TransformFunc turns one batch of a parent resource into zero or more
// batches (dlt's transformer).
type TransformFunc func(ctx context.Context, in Batch, yield Yield) error

// Step processes a resource's batches after its generator: it returns the
// batch to pass on (possibly empty). Map, filter and flat-map are all steps.
type Step func(ctx context.Context, b Batch) (Batch, error)

// Resource is a named stream of data that loads into a table: a generator
// (NewResource) or a transformer fed by a parent (NewTransformer + Pipe).
// Methods that configure a resource return a changed copy; the receiver is
// not modified, so one definition can be reused with different settings.
type Resource struct {
	name      string
	table     string
	tableFunc func(item any) string
	hints     arrowbuf.TableHints
	gen       GenFunc
	tf        TransformFunc
	parent    *Resource
	workers   int
	steps     []Step
	limit     *limit
	selected  bool
	parallel  bool
	source    string // set when the resource joins a source
	// id is shared by the copies a definition's methods return and
	// renewed by WithName: two parents with one name but different ids
	// are different pipes, which a run must not merge.
	id *identity
}

type identity struct{ _ byte } // not zero-sized: each new one has its own address

type limit struct {
	maxItems int
	maxTime  time.Duration
}

// Option configures a resource.
type Option func(*Resource)

// NewResource declares a resource named name whose data comes from gen.
func NewResource(name string, gen GenFunc, opts ...Option) *Resource {
	r := &Resource{name: name, gen: gen, selected: true, id: new(identity)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// NewTransformer declares a transformer: fn runs on every batch of the parent
// it is piped from (Pipe). Without a parent it yields nothing.
func NewTransformer(name string, fn TransformFunc, opts ...Option) *Resource {
	r := &Resource{name: name, tf: fn, selected: true, workers: 1, id: new(identity)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// TableName loads the resource into table instead of a table named after it.
func TableName(table string) Option { return func(r *Resource) { r.table = table } }

// TableFunc picks the table per item (dlt's table_name callable): fn gets a
// Go item, or a *fastjson.Value for JSON batches.
func TableFunc(fn func(item any) string) Option { return func(r *Resource) { r.tableFunc = fn } }

// WriteDisposition sets append, replace or merge.
func WriteDisposition(d arrowbuf.WriteDisposition) Option {
	return func(r *Resource) { r.hints.WriteDisposition = d }
}

// PrimaryKey sets the primary key columns.
func PrimaryKey(cols ...string) Option { return func(r *Resource) { r.hints.PrimaryKey = cols } }

// MergeKey sets the merge key columns.
func MergeKey(cols ...string) Option { return func(r *Resource) { r.hints.MergeKey = cols } }

// Columns adds column hints (data type, keys, nullability...). A hinted
// column is nullable, as in dlt; NotNull makes it NOT NULL (dlt's
// nullable: false: a row without a value fails the run).
func Columns(cols ...arrowbuf.Column) Option {
	return func(r *Resource) { r.hints.Columns = append(r.hints.Columns, cols...) }
}

// MaxTableNesting limits how deep nested data becomes child tables.
func MaxTableNesting(n int) Option { return func(r *Resource) { r.hints.MaxTableNesting = &n } }

// SchemaContract sets the resource's schema contract.
func SchemaContract(c arrowbuf.Contract) Option { return func(r *Resource) { r.hints.Contract = &c } }

// NestedHints sets hints for nested tables by path ("purchases__coupons").
func NestedHints(h map[string]arrowbuf.TableHints) Option {
	return func(r *Resource) { r.hints.NestedHints = h }
}

// FileFormat sets the loader file format of the resource's tables (dlt's
// file_format hint): "parquet" stages rows through Parquet files where the
// destination supports it.
func FileFormat(format string) Option { return func(r *Resource) { r.hints.FileFormat = format } }

// TableFormat sets the open table format of the resource's tables (dlt's
// table_format hint: "iceberg", "delta" or "native"), for a destination
// that writes one; nested tables take their root's. It reaches the
// destination as the Table of each batch (arrowbuf.TableFormat). An
// unknown format fails the run, naming the resource.
func TableFormat(format arrowbuf.TableFormat) Option {
	return func(r *Resource) { r.hints.TableFormat = format }
}

// Steps appends processing steps, as AddStep does: with it a Source.Apply
// or With adds an incremental (dlt's apply_hints(incremental=...)).
func Steps(steps ...Step) Option {
	return func(r *Resource) { r.steps = append(r.steps, steps...) }
}

// Hints replaces all table hints at once.
func Hints(h arrowbuf.TableHints) Option { return func(r *Resource) { r.hints = h } }

// Workers lets a transformer process up to n parent batches at once (for
// I/O per item). Output order is then not the parent's order.
func Workers(n int) Option {
	return func(r *Resource) {
		if n < 1 {
			n = 1
		}
		r.workers = n
	}
}

// Parallelized runs the resource concurrently with others even when the
// pipeline runs resources sequentially; on a transformer it also sets
// Workers to 8 unless set higher.
func Parallelized() Option {
	return func(r *Resource) {
		r.parallel = true
		if r.tf != nil && r.workers < 8 {
			r.workers = 8
		}
	}
}

// Selected(false) keeps a resource from being loaded while it still feeds
// its transformers.
func Selected(sel bool) Option { return func(r *Resource) { r.selected = sel } }

func (r *Resource) clone() *Resource {
	c := *r
	c.steps = append([]Step(nil), r.steps...)
	return &c
}

// Name returns the resource name.
func (r *Resource) Name() string { return r.name }

// Table returns the table the resource loads into (before normalization).
func (r *Resource) Table() string {
	if r.table != "" {
		return r.table
	}
	return r.name
}

// Hints returns the resource's table hints.
func (r *Resource) Hints() arrowbuf.TableHints { return r.hints }

// ComputeTableSchema returns the table the resource's hints describe
// (dlt's compute_table_schema): its name, write disposition and hinted
// columns, key columns without a data type included. A resource with a
// TableFunc needs an item to pick the table; otherwise item may be nil.
func (r *Resource) ComputeTableSchema(item any) (*arrowbuf.Table, error) {
	table := r.Table()
	if r.tableFunc != nil {
		if item == nil {
			return nil, fmt.Errorf("flow: resource %q picks its table per item: ComputeTableSchema needs an item", r.name)
		}
		table = r.tableFunc(item)
	}
	s := arrowbuf.NewSchema(r.name)
	if err := s.ApplyHints(table, r.name, r.hints); err != nil {
		return nil, fmt.Errorf("flow: resource %q: %w", r.name, err)
	}
	name := arrowbuf.NormalizeTableIdentifier(table)
	t := s.Table(name)
	// The snapshot leaves out columns without a type (a destination cannot
	// create them); a hint's columns and keys belong here all the same.
	var names []string
	for _, c := range r.hints.Columns {
		names = append(names, c.Name)
	}
	for _, k := range slices.Concat(r.hints.PrimaryKey, r.hints.MergeKey) {
		names = append(names, strings.Split(k, ",")...)
	}
	for _, n := range names {
		n = arrowbuf.NormalizePath(strings.TrimSpace(n))
		if t.Column(n) == nil {
			if c := s.Column(name, n); c != nil {
				t.Columns = append(t.Columns, c)
			}
		}
	}
	return t, nil
}

// IsTransformer reports whether the resource is fed by a parent.
func (r *Resource) IsTransformer() bool { return r.tf != nil }

// Parent returns the resource feeding a transformer, or nil.
func (r *Resource) Parent() *Resource { return r.parent }

// IsSelected reports whether the resource is loaded.
func (r *Resource) IsSelected() bool { return r.selected }

// With returns a copy with more options applied (dlt's apply_hints).
func (r *Resource) With(opts ...Option) *Resource {
	c := r.clone()
	for _, o := range opts {
		o(c)
	}
	return c
}

// WithName returns a copy named name that loads to a table of that name (if
// no table name was set) and keeps its own state (dlt's with_name). A
// transformer's parents are copied and renamed too, as dlt deep-copies the
// pipe: a parent whose name contains the transformer's has that part
// replaced, another gets "_<name>" appended ("fs_resource" under
// "csv_reader" renamed "reports" becomes "fs_resource_reports"). So two
// renamed clones of `files(...) | reader` each keep their own parent.
func (r *Resource) WithName(name string) *Resource {
	c := r.clone()
	c.name = name
	c.id = new(identity)
	if r.parent != nil {
		pname := r.parent.name + "_" + name
		if strings.Contains(r.parent.name, r.name) {
			pname = strings.ReplaceAll(r.parent.name, r.name, name)
		}
		c.parent = r.parent.WithName(pname)
	}
	return c
}

// Pipe feeds r's batches into the transformer t and returns the bound copy
// of t (dlt's `r | t`).
func (r *Resource) Pipe(t *Resource) *Resource {
	if t.tf == nil {
		panic(fmt.Sprintf("flow: Pipe: %q is not a transformer", t.name))
	}
	c := t.clone()
	c.parent = r
	return c
}

// Pipe chains resources: Pipe(a, b, c) is a.Pipe(b).Pipe(c).
func Pipe(first *Resource, rest ...*Resource) *Resource {
	r := first
	for _, t := range rest {
		r = r.Pipe(t)
	}
	return r
}

// AddStep appends a processing step (runs in the resource's goroutine).
func (r *Resource) AddStep(s Step) *Resource {
	c := r.clone()
	c.steps = append(c.steps, s)
	return c
}

// Map transforms every item (dlt's add_map). JSON items are passed as Go
// maps (map[string]any). Resources built from the same Go values share
// them, and their steps run concurrently: fn returns a changed copy rather
// than changing a shared item.
func (r *Resource) Map(fn func(item any) (any, error)) *Resource { return r.AddStep(MapItems(fn)) }

// Filter keeps items for which fn is true (dlt's add_filter).
func (r *Resource) Filter(fn func(item any) (bool, error)) *Resource {
	return r.AddStep(FilterItems(fn))
}

// FlatMap replaces each item with zero or more items (dlt's add_yield_map).
func (r *Resource) FlatMap(fn func(item any) ([]any, error)) *Resource {
	return r.AddStep(FlatMapItems(fn))
}

// Limit stops the resource after maxItems yields (batches, as dlt's
// add_limit counts) or maxTime after its first item, whichever comes
// first, by cancelling its generator. maxItems 0 yields nothing; -1 disables the count limit;
// maxTime 0 disables the time limit. Transformers are not limited.
func (r *Resource) Limit(maxItems int, maxTime time.Duration) *Resource {
	c := r.clone()
	if maxItems < 0 && maxTime <= 0 {
		c.limit = nil
		return c
	}
	c.limit = &limit{maxItems: maxItems, maxTime: maxTime}
	return c
}

// MapItems is a Step applying fn to each item.
func MapItems(fn func(item any) (any, error)) Step {
	return func(_ context.Context, b Batch) (Batch, error) {
		vals, err := b.Values()
		if err != nil {
			return b, err
		}
		out := b.derive()
		out.Items = make([]any, 0, len(vals))
		for _, v := range vals {
			m, err := fn(v)
			if err != nil {
				return out, err
			}
			if m != nil {
				out.Items = append(out.Items, m)
			}
		}
		return out, nil
	}
}

// MapJSON is a Step like MapItems that keeps JSON batches JSON: jsonFn maps
// each parsed value and may build new values in a (which lives as long as
// the batch) or reuse parts of the old one, so objects keep their key order
// and with it dlt's column order. Other batches go through goFn as in
// MapItems. A nil result drops the item.
func MapJSON(jsonFn func(v *fastjson.Value, a *fastjson.Arena) (*fastjson.Value, error), goFn func(item any) (any, error)) Step {
	goStep := MapItems(goFn)
	return func(ctx context.Context, b Batch) (Batch, error) {
		if b.JSON == nil {
			return goStep(ctx, b)
		}
		out := b.derive()
		out.JSON = make([]*fastjson.Value, 0, len(b.JSON))
		a := new(fastjson.Arena)
		for _, v := range b.JSON {
			m, err := jsonFn(v, a)
			if err != nil {
				return out, err
			}
			if m != nil {
				out.JSON = append(out.JSON, m)
			}
		}
		return out, nil
	}
}

// FilterItems is a Step keeping items for which fn is true. JSON batches stay
// JSON (fn sees a Go map, the kept items keep their parsed form), typed
// batches stay typed.
func FilterItems(fn func(item any) (bool, error)) Step {
	return func(_ context.Context, b Batch) (Batch, error) {
		if b.JSON != nil {
			kept := b.JSON[:0]
			for _, v := range b.JSON {
				ok, err := fn(jsonconv.ToGo(v, jsonconv.Native))
				if err != nil {
					return b, err
				}
				if ok {
					kept = append(kept, v)
				}
			}
			b.JSON = kept
			return b, nil
		}
		if !b.Typed.IsZero() {
			return filterTyped(b, fn)
		}
		vals, err := b.Values()
		if err != nil {
			return b, err
		}
		kept := make([]any, 0, len(vals))
		for _, v := range vals {
			ok, err := fn(v)
			if err != nil {
				return b, err
			}
			if ok {
				kept = append(kept, v)
			}
		}
		b.Items = kept
		return b, nil
	}
}

// FlatMapItems is a Step replacing each item by the items fn returns.
func FlatMapItems(fn func(item any) ([]any, error)) Step {
	return func(_ context.Context, b Batch) (Batch, error) {
		vals, err := b.Values()
		if err != nil {
			return b, err
		}
		out := b.derive()
		for _, v := range vals {
			more, err := fn(v)
			if err != nil {
				return out, err
			}
			out.Items = append(out.Items, more...)
		}
		return out, nil
	}
}
