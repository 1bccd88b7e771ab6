package transform_test

import (
	"context"
	"fmt"

	"github.com/valyala/fastjson"

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

// SetFields keeps a JSON record's key order: fields already there stay in
// place and new ones follow in the order given, so the table's columns come
// out as the API sent them.
func ExampleSetFields() {
	step, _ := transform.SetFields(
		transform.Field{Name: "title", Expr: "upper(title)"},
		transform.Field{Name: "slug", Expr: `lower(replace(title, " ", "-"))`},
	)
	var p fastjson.Parser
	v, _ := p.Parse(`{"id":1,"title":"Hello World","year":2024}`)
	out, _ := step(context.Background(), flow.JSONBatch([]*fastjson.Value{v}, nil))
	fmt.Println(out.JSON[0])
	// Output: {"id":1,"title":"HELLO WORLD","year":2024,"slug":"hello-world"}
}

// ApplyLag is how a lag moves the next run's start back: seconds for
// date-times, days for dates, units for numbers.
func ExampleApplyLag() {
	for _, c := range []struct {
		last any
		lag  float64
	}{{"2024-01-05T12:00:00Z", 3600}, {"2024-01-05", 2}, {int64(100), 10}} {
		start, _ := transform.ApplyLag(c.last, c.lag, transform.Max)
		fmt.Println(start)
	}
	_, err := transform.ApplyLag(true, 1, transform.Max)
	fmt.Println(err)
	// Output:
	// 2024-01-05T11:00:00Z
	// 2024-01-03
	// 90
	// lag needs a numeric or ISO date-time cursor, not a boolean
}
