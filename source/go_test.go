package source_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

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
