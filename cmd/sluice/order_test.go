package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecKeyOrder checks that the spec's map order reaches the table as
// dlt keeps a dict's order: hinted columns first as written (one without
// data included), and a map step keeps the record's key order, adding new
// fields in the order written.
func TestSpecKeyOrder(t *testing.T) {
	e := setup(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[{"id":1,"name":"ann","updated_at":"2024-01-01T00:00:00Z","num":7},{"id":2,"name":"bo","num":8}]`))
	}))
	defer srv.Close()
	path := writeSpec(t, `pipeline_name: ord
dataset_name: ds
destination: {type: duckdb, path: `+filepath.Join(e.dir, "ord.duckdb")+`}
source:
  client: {base_url: "`+srv.URL+`", paginator: single_page}
  resources:
    - name: hinted
      endpoint: items
      columns:
        num: {data_type: bigint}
        name: {data_type: text}
        extra: {data_type: bigint}
    - name: mapped
      endpoint: items
      processing_steps:
        - map: {name: "upper(name)", zz: "id * 2", aa: "'x'"}
    - name: literal
      endpoint: items
      processing_steps:
        - map: "{'zeta': id, 'alpha': name}"
`)
	if r := sluice(t, context.Background(), "", "run", path); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	for table, want := range map[string]string{
		"hinted":  "num name extra id updated_at _dlt_load_id _dlt_id",
		"mapped":  "id name updated_at num zz aa _dlt_load_id _dlt_id",
		"literal": "zeta alpha _dlt_load_id _dlt_id",
	} {
		got := queryDB(t, filepath.Join(e.dir, "ord.duckdb"), `SELECT column_name FROM information_schema.columns
			WHERE table_schema = 'ds' AND table_name = '`+table+`' ORDER BY ordinal_position`)
		if strings.Join(got, " ") != want {
			t.Errorf("%s: columns %q, want %q", table, strings.Join(got, " "), want)
		}
	}
	if got := queryDB(t, filepath.Join(e.dir, "ord.duckdb"), `SELECT name || ' ' || zz || ' ' || aa FROM ds.mapped ORDER BY id`); strings.Join(got, ",") != "ANN 2 x,BO 4 x" {
		t.Errorf("mapped rows %q", got)
	}
}
