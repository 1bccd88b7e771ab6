package flow_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/source"
)

// A resource is a Go func that yields batches; Collect runs it without a
// pipeline.
func ExampleNewResource() {
	r := flow.NewResource("numbers", func(ctx context.Context, yield flow.Yield) error {
		for page := range 3 {
			if err := yield(flow.ItemsBatch(map[string]any{"page": page})); err != nil {
				return err
			}
		}
		return nil
	})
	items, _ := flow.Collect(context.Background(), r)
	fmt.Println(items)
	// Output: [map[page:0] map[page:1] map[page:2]]
}

// Pipe feeds a parent's batches into a transformer, like dlt's `users | details`.
func ExampleResource_Pipe() {
	users := source.Slice("users", []map[string]any{{"id": 1}, {"id": 2}})
	details := flow.NewTransformer("details", func(ctx context.Context, in flow.Batch, yield flow.Yield) error {
		vals, _ := in.Values()
		for _, v := range vals {
			id := v.(map[string]any)["id"]
			if err := yield(flow.ItemsBatch(map[string]any{"user_id": id, "detail": fmt.Sprint("about ", id)})); err != nil {
				return err
			}
		}
		return nil
	}, flow.Workers(4))
	items, _ := flow.Collect(context.Background(), users.Pipe(details))
	sort.Slice(items, func(i, j int) bool {
		return fmt.Sprint(items[i]) < fmt.Sprint(items[j])
	})
	fmt.Println(items)
	// Output: [map[detail:about 1 user_id:1] map[detail:about 2 user_id:2]]
}

// Limit counts yields (pages), as dlt's add_limit does.
func ExampleResource_Limit() {
	pages := flow.NewResource("pages", func(ctx context.Context, yield flow.Yield) error {
		for i := 0; ; i++ { // an endless API
			if err := yield(flow.ItemsBatch(i, i)); err != nil {
				return err
			}
		}
	})
	items, _ := flow.Collect(context.Background(), pages.Limit(2, 0))
	fmt.Println(items)
	// Output: [0 0 1 1]
}

// Map and Filter are dlt's add_map and add_filter.
func ExampleResource_Filter() {
	r := source.Slice("users", []map[string]any{{"id": 1, "email": "a@x"}, {"id": 2, "email": "b@x"}}).
		Filter(func(item any) (bool, error) { return item.(map[string]any)["id"] != 2, nil }).
		Map(func(item any) (any, error) {
			m := item.(map[string]any)
			m["email"] = "***"
			return m, nil
		})
	items, _ := flow.Collect(context.Background(), r)
	fmt.Println(items)
	// Output: [map[email:*** id:1]]
}

// A pipeline loads sources into a DuckDB dataset in one atomic load.
func ExamplePipeline_Run() {
	dir, _ := os.MkdirTemp("", "sluice-example")
	defer os.RemoveAll(dir)

	users := source.Slice("users", []map[string]any{
		{"id": 1, "name": "Ann", "address": map[string]any{"city": "Oslo"}, "tags": []any{"a", "b"}},
		{"id": 2, "name": "Bo", "address": map[string]any{"city": "Rome"}, "tags": []any{"c"}},
	}, flow.WriteDisposition(arrowbuf.Merge), flow.PrimaryKey("id"))

	p, err := flow.NewPipeline("example", duckdb.New(filepath.Join(dir, "example.duckdb")),
		flow.PipelinesDir(filepath.Join(dir, "pipelines")))
	if err != nil {
		fmt.Println(err)
		return
	}
	info, err := p.Run(context.Background(), users)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.RowCounts["users"], info.RowCounts["users__tags"])

	counts, _ := p.Dataset().RowCounts(context.Background())
	fmt.Println(counts)
	// Output:
	// 2 3
	// map[users:2 users__tags:3]
}
