package transform_test

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transform"
)

// Filter and MapFields are the expression steps a spec's processing_steps
// use; they work on any resource.
func ExampleFilter() {
	keep, _ := transform.Filter(`status == "open" && id < 3`)
	shout, _ := transform.MapFields(map[string]string{"title": "upper(title)"})
	issues := source.Slice("issues", []map[string]any{
		{"id": 1, "status": "open", "title": "crash"},
		{"id": 2, "status": "closed", "title": "typo"},
		{"id": 3, "status": "open", "title": "slow"},
	}).AddStep(keep).AddStep(shout)
	items, _ := flow.Collect(context.Background(), issues)
	fmt.Println(items)
	// Output: [map[id:1 status:open title:CRASH]]
}

// An Incremental keeps only rows newer than the last run's cursor; here the
// first run starts from the initial value.
func ExampleIncremental() {
	inc, _ := transform.NewIncremental("updated_at", "2024-01-02T00:00:00Z")
	events := flow.NewResource("events", func(ctx context.Context, yield flow.Yield) error {
		since, _ := inc.StartValue(ctx) // what an API call would send
		fmt.Println("since", since)
		return yield(flow.ItemsBatch(
			map[string]any{"id": 1, "updated_at": "2024-01-01T00:00:00Z"},
			map[string]any{"id": 2, "updated_at": "2024-01-03T00:00:00Z"},
		))
	}).AddStep(inc.Step())
	items, _ := flow.Collect(context.Background(), events)
	fmt.Println(len(items), "new")
	// Output:
	// since 2024-01-02T00:00:00Z
	// 1 new
}
