package flow_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/flow"
)

// files is dlt's standalone fs_resource: every call lists the files of one
// folder under the same resource name.
func files(folder string, n int) *flow.Resource {
	return flow.NewResource("fs_resource", func(ctx context.Context, yield flow.Yield) error {
		for i := range n {
			if err := yield(flow.ItemsBatch(map[string]any{"file": fmt.Sprintf("%s/%d.csv", folder, i)})); err != nil {
				return err
			}
		}
		return nil
	})
}

// csvReader is dlt's csv_reader transformer: one row per file.
var csvReader = flow.NewTransformer("csv_reader", csvReaderFn)

func csvReaderFn(ctx context.Context, in flow.Batch, yield flow.Yield) error {
	vals, err := in.Values()
	if err != nil {
		return err
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = map[string]any{"from": v.(map[string]any)["file"]}
	}
	return yield(flow.ItemsBatch(out...))
}

// TestWithNameKeepsOwnParent runs dlt's "duplicate and rename resources"
// example: two renamed clones of `fs_resource(folder) | csv_reader` load
// their own folder's rows into their own tables.
func TestWithNameKeepsOwnParent(t *testing.T) {
	reports := files("reports", 2).Pipe(csvReader).WithName("reports")
	transactions := files("transactions", 3).Pipe(csvReader).WithName("transactions")
	for _, tc := range []struct {
		name string
		srcs []flow.Sourcer
	}{
		{"standalone", []flow.Sourcer{reports, transactions}},
		{"one source", []flow.Sourcer{flow.NewSource("fs", []*flow.Resource{reports, transactions})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.run(e.pipeline("rename"), tc.srcs...)
			for table, want := range map[string]string{"reports": "reports/", "transactions": "transactions/"} {
				rows := e.query("SELECT \"from\" FROM ds." + table + " ORDER BY 1")
				wantN := map[string]int{"reports": 2, "transactions": 3}[table]
				if len(rows) != wantN {
					t.Errorf("%s: %d rows %v, want %d", table, len(rows), rows, wantN)
				}
				for _, r := range rows {
					if !strings.HasPrefix(r[0], want) {
						t.Errorf("%s has a row of another pipe: %s", table, r[0])
					}
				}
			}
		})
	}
	if p := reports.Parent(); p == nil || p.Name() != "fs_resource_reports" {
		t.Errorf("renamed clone's parent = %v, want fs_resource_reports", p)
	}
	if csvReader.Name() != "csv_reader" || files("x", 1).Name() != "fs_resource" {
		t.Errorf("WithName changed the original")
	}
}

// TestParentsSharingAName checks that two different parents sharing a name
// stay two pipes, as dlt tells pipes apart by instance: each transformer
// gets its own parent's rows.
func TestParentsSharingAName(t *testing.T) {
	other := flow.NewTransformer("other_reader", func(ctx context.Context, in flow.Batch, yield flow.Yield) error {
		return csvReaderFn(ctx, in, yield)
	})
	a := files("a", 1).Pipe(csvReader)
	b := files("b", 2).Pipe(other)
	e := newEnv(t)
	e.run(e.pipeline("shared"), flow.NewSource("fs", []*flow.Resource{a, b}))
	for table, want := range map[string]string{"csv_reader": "a/0.csv", "other_reader": "b/0.csv,b/1.csv"} {
		rows := e.query(`SELECT string_agg("from", ',' ORDER BY "from") FROM ds.` + table)
		if rows[0][0] != want {
			t.Errorf("%s = %s, want %s", table, rows[0][0], want)
		}
	}
}
