package flow_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/source"
)

// contractEnv loads into a fresh DuckDB file, dataset "ds".
type contractEnv struct {
	t      *testing.T
	db     string
	pipes  string
	loaded int // loads committed so far
}

func newContractEnv(t *testing.T) *contractEnv {
	dir := t.TempDir()
	return &contractEnv{t: t, db: filepath.Join(dir, "c.duckdb"), pipes: filepath.Join(dir, "pipelines")}
}

func (e *contractEnv) run(src flow.Sourcer) error {
	e.t.Helper()
	p, err := flow.NewPipeline("contracts", duckdb.New(e.db), flow.PipelinesDir(e.pipes), flow.DatasetName("ds"))
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = p.Run(context.Background(), src)
	if err == nil {
		e.loaded++
	}
	return err
}

// rows returns the query's rows, columns joined by "|", NULL as "-".
func (e *contractEnv) rows(q string) []string {
	e.t.Helper()
	db, err := sql.Open("duckdb", e.db+"?access_mode=read_only")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(q)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = "-"
			if v.Valid {
				parts[i] = v.String
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// columns lists a table's columns, or nil when it does not exist.
func (e *contractEnv) columns(table string) []string {
	return e.rows(fmt.Sprintf(`SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'ds' AND table_name = '%s' ORDER BY ordinal_position`, table))
}

// loads counts committed loads (0 when nothing was ever committed).
func (e *contractEnv) loads() int {
	if len(e.columns("_dlt_loads")) == 0 {
		return 0
	}
	return len(e.rows("SELECT load_id FROM ds._dlt_loads"))
}

func items(rows ...map[string]any) []map[string]any { return rows }

type row = map[string]any

// TestSchemaContracts runs two loads per case through a real pipeline into
// DuckDB: the first, without a contract, creates the tables; the second
// brings something new under the contract. The contract is set on the resource, or on the
// source (flow.SourceSchemaContract) for resources without their own.
func TestSchemaContracts(t *testing.T) {
	first := items(row{"id": 1, "n": 10, "kids": []any{row{"k": 1}}}, row{"id": 2, "n": 20})
	tests := []struct {
		name     string
		contract arrowbuf.Contract
		second   []map[string]any
		// want: ids and n of items after load 2, "extra" column present,
		// rows of items__kids, and of items__toys (a new nested table).
		wantIDs   []string
		wantExtra bool
		wantKids  int
		wantToys  int
		// wantErr: load 2 fails with these in its message, loading nothing.
		wantErr []string
	}{
		// columns: a new column on an existing table.
		{name: "columns evolve", contract: arrowbuf.Contract{Columns: arrowbuf.Evolve},
			second:  items(row{"id": 3, "n": 30, "extra": "x"}, row{"id": 4, "n": 40}),
			wantIDs: []string{"1|10", "2|20", "3|30", "4|40"}, wantExtra: true, wantKids: 1},
		{name: "columns freeze", contract: arrowbuf.Contract{Columns: arrowbuf.Freeze},
			second:  items(row{"id": 3, "n": 30}, row{"id": 4, "n": 40, "extra": "x"}),
			wantErr: []string{`table "items" column "extra"`, "columns: freeze"}},
		{name: "columns discard_row", contract: arrowbuf.Contract{Columns: arrowbuf.DiscardRow},
			second:  items(row{"id": 3, "n": 30, "extra": "x", "kids": []any{row{"k": 3}}}, row{"id": 4, "n": 40}),
			wantIDs: []string{"1|10", "2|20", "4|40"}, wantKids: 1},
		{name: "columns discard_value", contract: arrowbuf.Contract{Columns: arrowbuf.DiscardValue},
			second:  items(row{"id": 3, "n": 30, "extra": "x", "kids": []any{row{"k": 3, "new": 1}}}, row{"id": 4, "n": 40}),
			wantIDs: []string{"1|10", "2|20", "3|30", "4|40"}, wantKids: 2},
		{name: "columns freeze allows a new nested table (tables: evolve)", contract: arrowbuf.Contract{Columns: arrowbuf.Freeze},
			second:  items(row{"id": 3, "n": 30, "toys": []any{"ball"}}),
			wantIDs: []string{"1|10", "2|20", "3|30"}, wantKids: 1, wantToys: 1},
		{name: "columns freeze in a nested table", contract: arrowbuf.Contract{Columns: arrowbuf.Freeze},
			second:  items(row{"id": 3, "n": 30, "kids": []any{row{"k": 3, "new": true}}}),
			wantErr: []string{`table "items__kids" column "new"`, "columns: freeze"}},

		// data_type: a value that does not coerce to the column's type.
		{name: "data_type evolve", contract: arrowbuf.Contract{DataType: arrowbuf.Evolve},
			second:  items(row{"id": 3, "n": "thirty"}, row{"id": 4, "n": "40"}),
			wantIDs: []string{"1|10", "2|20", "3|-", "4|40"}, wantKids: 1},
		{name: "data_type freeze", contract: arrowbuf.Contract{DataType: arrowbuf.Freeze},
			second:  items(row{"id": 3, "n": "40"}, row{"id": 4, "n": "thirty"}),
			wantErr: []string{`table "items" column "n"`, "data_type: freeze"}},
		{name: "data_type discard_row", contract: arrowbuf.Contract{DataType: arrowbuf.DiscardRow},
			second:  items(row{"id": 3, "n": "thirty"}, row{"id": 4, "n": "40"}),
			wantIDs: []string{"1|10", "2|20", "4|40"}, wantKids: 1},
		{name: "data_type discard_value", contract: arrowbuf.Contract{DataType: arrowbuf.DiscardValue},
			second:  items(row{"id": 3, "n": "thirty"}, row{"id": 4, "n": "40"}),
			wantIDs: []string{"1|10", "2|20", "3|-", "4|40"}, wantKids: 1},

		// tables: a new nested table (the root exists; see
		// TestSchemaContractNewTable for new root tables).
		{name: "tables evolve", contract: arrowbuf.Contract{Tables: arrowbuf.Evolve, Columns: arrowbuf.Freeze},
			second:  items(row{"id": 3, "n": 30, "toys": []any{"ball", "car"}}),
			wantIDs: []string{"1|10", "2|20", "3|30"}, wantKids: 1, wantToys: 2},
		{name: "tables freeze", contract: arrowbuf.Contract{Tables: arrowbuf.Freeze},
			second:  items(row{"id": 3, "n": 30, "toys": []any{"ball"}}),
			wantErr: []string{`new table "items__toys"`, "tables: freeze"}},
		{name: "tables discard_row", contract: arrowbuf.Contract{Tables: arrowbuf.DiscardRow},
			second:  items(row{"id": 3, "n": 30, "toys": []any{"ball"}}, row{"id": 4, "n": 40}),
			wantIDs: []string{"1|10", "2|20", "3|30", "4|40"}, wantKids: 1},
		{name: "tables discard_value", contract: arrowbuf.Contract{Tables: arrowbuf.DiscardValue},
			second:  items(row{"id": 3, "n": 30, "toys": []any{"ball"}, "kids": []any{row{"k": 3}}}),
			wantIDs: []string{"1|10", "2|20", "3|30"}, wantKids: 2},
	}
	for _, tc := range tests {
		for _, level := range []string{"resource", "source"} {
			t.Run(tc.name+"/"+level, func(t *testing.T) {
				e := newContractEnv(t)
				src := func(data []map[string]any, c *arrowbuf.Contract) flow.Sourcer {
					if c == nil {
						return flow.NewSource("shop", []*flow.Resource{source.Slice("items", data)})
					}
					if level == "resource" {
						return flow.NewSource("shop", []*flow.Resource{source.Slice("items", data, flow.SchemaContract(*c))})
					}
					return flow.NewSource("shop", []*flow.Resource{source.Slice("items", data)}, flow.SourceSchemaContract(*c))
				}
				if err := e.run(src(first, nil)); err != nil {
					t.Fatalf("load 1: %v", err)
				}
				before := e.rows("SELECT id, n FROM ds.items ORDER BY id")
				err := e.run(src(tc.second, &tc.contract))
				if tc.wantErr != nil {
					if err == nil {
						t.Fatalf("load 2 succeeded, want an error with %q", tc.wantErr)
					}
					for _, w := range tc.wantErr {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q lacks %q", err, w)
						}
					}
					if !errors.Is(err, arrowbuf.ErrContract) {
						t.Errorf("error %v does not wrap ErrContract", err)
					}
					if got := e.rows("SELECT id, n FROM ds.items ORDER BY id"); !slices.Equal(got, before) || e.loads() != 1 {
						t.Errorf("the failed load left rows: %v (%d loads)", got, e.loads())
					}
					if got := len(e.rows("SELECT * FROM ds.items__kids")); got != 1 {
						t.Errorf("items__kids has %d rows after the failed load, want 1", got)
					}
					return
				}
				if err != nil {
					t.Fatalf("load 2: %v", err)
				}
				if got := e.rows("SELECT id, n FROM ds.items ORDER BY id"); !slices.Equal(got, tc.wantIDs) {
					t.Errorf("items = %v, want %v", got, tc.wantIDs)
				}
				cols := e.columns("items")
				if slices.Contains(cols, "extra") != tc.wantExtra {
					t.Errorf("items columns %v: extra present = %v, want %v", cols, !tc.wantExtra, tc.wantExtra)
				}
				if slices.Contains(cols, "n__v_text") != (tc.contract.DataType == arrowbuf.Evolve && tc.name == "data_type evolve") {
					t.Errorf("items columns %v: unexpected variant column state", cols)
				}
				if kc := e.columns("items__kids"); slices.Contains(kc, "new") {
					t.Errorf("items__kids got column new: %v", kc)
				}
				if got := len(e.rows("SELECT * FROM ds.items__kids")); got != tc.wantKids {
					t.Errorf("items__kids has %d rows, want %d", got, tc.wantKids)
				}
				toys := 0
				if e.columns("items__toys") != nil {
					toys = len(e.rows("SELECT * FROM ds.items__toys"))
				}
				if toys != tc.wantToys {
					t.Errorf("items__toys has %d rows, want %d", toys, tc.wantToys)
				}
			})
		}
	}
}

// TestSchemaContractNewTable: the tables mode applies to a root table that
// has not seen data yet, as dlt's: freeze fails the first load naming the
// table, discard_row and discard_value drop its rows; a table loaded
// before (with evolve) takes rows under freeze.
func TestSchemaContractNewTable(t *testing.T) {
	data := items(row{"id": 1, "kids": []any{row{"k": 1}}})
	for _, tc := range []struct {
		mode    arrowbuf.ContractMode
		wantErr string
		rows    int
	}{
		{arrowbuf.Evolve, "", 1},
		{arrowbuf.Freeze, `new table "items" (tables: freeze)`, 0},
		{arrowbuf.DiscardRow, "", 0},
		{arrowbuf.DiscardValue, "", 0},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			e := newContractEnv(t)
			other := source.Slice("other", items(row{"id": 1}))
			src := flow.NewSource("shop", []*flow.Resource{
				source.Slice("items", data, flow.SchemaContract(arrowbuf.Contract{Tables: tc.mode})), other})
			err := e.run(src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, arrowbuf.ErrContract) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if e.loads() != 0 || e.columns("other") != nil && len(e.rows("SELECT * FROM ds.other")) != 0 {
					t.Fatalf("the failed load left data")
				}
				// Loaded once with evolve, the table takes rows under freeze.
				if err := e.run(source.Slice("items", data)); err != nil {
					t.Fatal(err)
				}
				if err := e.run(source.Slice("items", items(row{"id": 2}), flow.SchemaContract(arrowbuf.Contract{Tables: tc.mode}))); err != nil {
					t.Fatalf("existing table under tables: freeze: %v", err)
				}
				if got := e.rows("SELECT id FROM ds.items ORDER BY id"); !slices.Equal(got, []string{"1", "2"}) {
					t.Errorf("items = %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if e.columns("items") != nil {
				n = len(e.rows("SELECT * FROM ds.items"))
			}
			if n != tc.rows {
				t.Errorf("items has %d rows, want %d", n, tc.rows)
			}
			if got := e.rows("SELECT count(*) FROM ds.other"); got[0] != "1" {
				t.Errorf("other = %v", got)
			}
		})
	}
}

// TestSchemaContractMerge: a resource's contract overrides the source's
// mode by mode, as in dlt (source columns: freeze + resource data_type:
// discard_row = both).
func TestSchemaContractMerge(t *testing.T) {
	e := newContractEnv(t)
	mk := func(data []map[string]any) flow.Sourcer {
		return flow.NewSource("shop", []*flow.Resource{
			source.Slice("items", data, flow.SchemaContract(arrowbuf.Contract{DataType: arrowbuf.DiscardRow}))},
			flow.SourceSchemaContract(arrowbuf.Contract{Columns: arrowbuf.Freeze}))
	}
	if err := e.run(mk(items(row{"id": 1, "n": 1}))); err != nil {
		t.Fatal(err)
	}
	if err := e.run(mk(items(row{"id": 2, "n": "two"}, row{"id": 3, "n": 3}))); err != nil {
		t.Fatal(err)
	}
	if got := e.rows("SELECT id FROM ds.items ORDER BY id"); !slices.Equal(got, []string{"1", "3"}) {
		t.Errorf("data_type discard_row from the resource: items = %v", got)
	}
	err := e.run(mk(items(row{"id": 4, "extra": 1})))
	if err == nil || !strings.Contains(err.Error(), `table "items" column "extra" (columns: freeze)`) {
		t.Errorf("columns freeze from the source: err = %v", err)
	}
}

// TestSchemaContractRESTSpec: schema_contract in a REST spec, on a resource
// and in resource_defaults (for the whole source), against an API whose
// second response has a new column.
func TestSchemaContractRESTSpec(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rows := []map[string]any{{"id": 1, "name": "a"}}
		if calls.Add(1) > 2 {
			rows = append(rows, map[string]any{"id": 2, "name": "b", "color": "red"})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rows)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, spec string
		wantErr    string
		wantRows   []string
	}{
		{"resource freeze", `{"resources": [{"name": "items", "endpoint": "items", "schema_contract": {"columns": "freeze"}}, {"name": "more", "endpoint": "more"}]}`,
			`resource "items": arrowbuf: schema contract violation: table "items" column "color" (columns: freeze)`, nil},
		{"resource_defaults discard_row", `{"resource_defaults": {"schema_contract": {"columns": "discard_row"}}, "resources": [{"name": "items", "endpoint": "items"}, {"name": "more", "endpoint": "more"}]}`,
			"", []string{"1|a", "1|a"}},
		{"resource_defaults freeze, resource evolve", `{"resource_defaults": {"schema_contract": {"columns": "freeze", "data_type": "freeze"}}, "resources": [{"name": "items", "endpoint": "items", "schema_contract": "evolve"}, {"name": "more", "endpoint": "more"}]}`,
			`table "more" column "color" (columns: freeze)`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			e := newContractEnv(t)
			var tree any
			spec := strings.Replace(tc.spec, "{", fmt.Sprintf(`{"client": {"base_url": %q}, `, srv.URL+"/"), 1)
			if err := json.Unmarshal([]byte(spec), &tree); err != nil {
				t.Fatal(err)
			}
			build := func() flow.Sourcer {
				cfg, err := rest.DecodeConfig(tree, "source")
				if err != nil {
					t.Fatal(err)
				}
				src, err := rest.NewSource(cfg, rest.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
				if err != nil {
					t.Fatal(err)
				}
				return src
			}
			if err := e.run(build()); err != nil {
				t.Fatalf("load 1: %v", err)
			}
			err := e.run(build())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("load 2: err = %v, want %q", err, tc.wantErr)
				}
				if e.loads() != 1 {
					t.Errorf("%d loads, want 1", e.loads())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := e.rows("SELECT id, name FROM ds.items ORDER BY id"); !slices.Equal(got, tc.wantRows) {
				t.Errorf("items = %v, want %v", got, tc.wantRows)
			}
		})
	}
}
