package transform_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/transform"
)

// An incremental on a resource of structs reads its cursor from a field,
// named by its column, json or Go name. With an end value and row_order,
// the generator is closed once a row is past the end: an endless, ordered
// API is asked for no more pages.
func ExampleIncremental_structs() {
	type Event struct {
		ID        int       `json:"id"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	inc, _ := transform.NewIncremental("updated_at", day(2))
	inc.EndValue, inc.RowOrder = day(4), "asc"

	pages := 0
	events := flow.NewResourceOf("events", func(ctx context.Context, yield func(...Event) error) error {
		for d := 1; ; d++ { // one event per page, oldest first
			pages++
			if err := yield(Event{ID: d, UpdatedAt: day(d)}); err != nil {
				return err // flow.ErrClose once the range is passed
			}
		}
	}).AddStep(inc.Step())

	items, err := flow.Collect(context.Background(), events)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range items {
		fmt.Println(it.(Event).ID, it.(Event).UpdatedAt.Format(time.DateOnly))
	}
	fmt.Println(pages, "pages")
	// Output:
	// 2 2024-01-02
	// 3 2024-01-03
	// 4 pages
}
