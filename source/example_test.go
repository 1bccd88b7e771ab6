package source_test

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/source"
)

// Slice turns Go values (maps or structs) into a resource.
func ExampleSlice() {
	type user struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	r := source.Slice("users", []user{{1, "Ann"}, {2, "Bo"}})
	items, _ := flow.Collect(context.Background(), r)
	fmt.Println(len(items), r.Table())
	// Output: 2 users
}

// Seq takes any iterator, e.g. the keys of a map.
func ExampleSeq() {
	ids := map[int]bool{3: true, 1: true, 2: true}
	r := source.Seq("ids", slices.Values(slices.Sorted(maps.Keys(ids))))
	items, _ := flow.Collect(context.Background(), r)
	fmt.Println(items)
	// Output: [1 2 3]
}
