package source_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/source"
)

type point struct {
	X, Y float64
}

// TestGoSourcesYieldTypedBatches checks that Slice, Seq and Chan hand on
// their items as typed batches of the element type (structs are not boxed
// one by one), in chunks of ChunkSize, and interface values as items.
func TestGoSourcesYieldTypedBatches(t *testing.T) {
	pts := make([]point, source.ChunkSize+5)
	for i := range pts {
		pts[i] = point{float64(i), 0.5}
	}
	ch := make(chan point, len(pts))
	for _, p := range pts {
		ch <- p
	}
	close(ch)
	cases := []struct {
		name  string
		res   *flow.Resource
		elem  reflect.Type // nil: an items batch
		sizes []int
	}{
		{"slice", source.Slice("p", pts), reflect.TypeFor[point](), []int{source.ChunkSize, 5}},
		{"seq", source.Seq("p", slices.Values(pts)), reflect.TypeFor[point](), []int{source.ChunkSize, 5}},
		{"chan", source.Chan("p", ch), reflect.TypeFor[point](), nil},
		{"pointers", source.Slice("p", []*point{&pts[0]}), reflect.TypeFor[*point](), []int{1}},
		{"interface values", source.Slice("p", []any{pts[0], 1}), nil, []int{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sizes []int
			total := 0
			_, err := flow.Extract(context.Background(), func(table string, b flow.Batch) error {
				if c.elem == nil {
					if !b.Typed.IsZero() || len(b.Items) != b.Len() {
						return fmt.Errorf("want an items batch, got %+v", b)
					}
				} else if b.Typed.IsZero() || b.Typed.Elem() != c.elem {
					return fmt.Errorf("want a typed batch of %v, got %+v", c.elem, b)
				}
				sizes = append(sizes, b.Len())
				total += b.Len()
				return nil
			}, c.res)
			if err != nil {
				t.Fatal(err)
			}
			if c.sizes != nil && !slices.Equal(sizes, c.sizes) {
				t.Errorf("batch sizes %v, want %v", sizes, c.sizes)
			}
			if c.name == "chan" && total != len(pts) {
				t.Errorf("%d items, want %d", total, len(pts))
			}
		})
	}
}

// TestGoSourcesLimitCountsItems checks that a count Limit on Slice, Seq
// and Chan samples that many items, as dlt's add_limit counts each item
// of a list or iterator as one yield, and that a time-only limit or no
// limit leaves every item.
func TestGoSourcesLimitCountsItems(t *testing.T) {
	const n = source.ChunkSize + 5
	pts := make([]point, n)
	for i := range pts {
		pts[i] = point{X: float64(i)}
	}
	chanOf := func() <-chan point {
		ch := make(chan point, n)
		for _, p := range pts {
			ch <- p
		}
		close(ch)
		return ch
	}
	sources := map[string]func() *flow.Resource{
		"slice": func() *flow.Resource { return source.Slice("p", pts) },
		"seq":   func() *flow.Resource { return source.Seq("p", slices.Values(pts)) },
		"chan":  func() *flow.Resource { return source.Chan("p", chanOf()) },
	}
	limits := []struct {
		name  string
		limit func(r *flow.Resource) *flow.Resource
		want  int
	}{
		{"limit 3", func(r *flow.Resource) *flow.Resource { return r.Limit(3, 0) }, 3},
		{"source limit 2", func(r *flow.Resource) *flow.Resource {
			return flow.NewSource("s", []*flow.Resource{r}).Limit(2, 0).Resources()[0]
		}, 2},
		{"no count limit", func(r *flow.Resource) *flow.Resource { return r.Limit(-1, time.Hour) }, n},
	}
	for name, mk := range sources {
		for _, l := range limits {
			t.Run(name+"/"+l.name, func(t *testing.T) {
				items, err := flow.Collect(context.Background(), l.limit(mk()))
				if err != nil {
					t.Fatal(err)
				}
				if len(items) != l.want {
					t.Fatalf("%d items, want %d", len(items), l.want)
				}
				for i, it := range items {
					if it.(point).X != float64(i) {
						t.Fatalf("item %d is %v, want X=%d", i, it, i)
					}
				}
			})
		}
	}
}
