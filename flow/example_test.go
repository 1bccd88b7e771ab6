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

// Source.Limit is dlt's add_limit on a source: every generator stops after
// the limit's yields; transformers are not limited.
func ExampleSource_Limit() {
	endless := func(name string) *flow.Resource {
		return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
			for i := 0; ; i++ {
				if err := yield(flow.ItemsBatch(i)); err != nil {
					return err
				}
			}
		})
	}
	src := flow.NewSource("api", []*flow.Resource{endless("orders"), endless("users")}).Limit(3, 0)
	for _, r := range src.Resources() {
		items, _ := flow.Collect(context.Background(), r)
		fmt.Println(r.Name(), items)
	}
	// Output:
	// orders [0 1 2]
	// users [0 1 2]
}

// Apply is apply_hints on a source's resource: here it renames the table
// and makes the resource a merge on user_id.
func ExampleSource_Apply() {
	src := flow.NewSource("crm", []*flow.Resource{source.Slice("users", []map[string]any{{"user_id": 1}})})
	src, err := src.Apply("users", flow.TableName("other_users"), flow.WriteDisposition(arrowbuf.Merge), flow.PrimaryKey("user_id"))
	if err != nil {
		fmt.Println(err)
		return
	}
	t, _ := src.Resource("users").ComputeTableSchema(nil)
	fmt.Println(t.Name, t.WriteDisposition, t.Columns[0].Name, t.Columns[0].PrimaryKey)
	// Output: other_users merge user_id true
}

// WithName clones a pipe under a new name; a transformer's parents are
// cloned too, so two clones never share data or state (dlt's with_name).
func ExampleResource_WithName() {
	folder := func(dir string) *flow.Resource {
		return source.Slice("fs_resource", []string{dir + "/1.csv", dir + "/2.csv"})
	}
	reader := flow.NewTransformer("csv_reader", func(ctx context.Context, in flow.Batch, yield flow.Yield) error {
		return yield(in)
	})
	reports := folder("reports").Pipe(reader).WithName("reports")
	transactions := folder("transactions").Pipe(reader).WithName("transactions")
	for _, r := range []*flow.Resource{reports, transactions} {
		items, _ := flow.Collect(context.Background(), r)
		fmt.Println(r.Name(), "<-", r.Parent().Name(), items)
	}
	// Output:
	// reports <- fs_resource_reports [reports/1.csv reports/2.csv]
	// transactions <- fs_resource_transactions [transactions/1.csv transactions/2.csv]
}
