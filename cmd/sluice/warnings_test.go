package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMergeOnParquetWarns checks that a merge resource loaded into Parquet
// is appended with a warning naming it, as dlt's filesystem destination does.
func TestMergeOnParquetWarns(t *testing.T) {
	setup(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[{"id":1},{"id":2}]`))
	}))
	defer srv.Close()
	for _, tc := range []struct{ dest, wd string }{
		{"parquet", "merge"}, {"parquet", "append"}, {"duckdb", "merge"},
	} {
		t.Run(tc.dest+"/"+tc.wd, func(t *testing.T) {
			path := writeSpec(t, `pipeline_name: mw_`+tc.dest+`_`+tc.wd+`
destination: `+tc.dest+`
source:
  client: {base_url: "`+srv.URL+`", paginator: single_page}
  resources:
    - name: things
      endpoint: items
      primary_key: id
      write_disposition: `+tc.wd+`
`)
			r := sluice(t, t.Context(), "", "run", path)
			if r.code != 0 {
				t.Fatalf("run: %d %s", r.code, r.stderr)
			}
			warned := strings.Contains(r.stderr, "merge is not supported by the parquet destination") && strings.Contains(r.stderr, "resource=things")
			if want := tc.dest == "parquet" && tc.wd == "merge"; warned != want {
				t.Errorf("warned %v, want %v; stderr:\n%s", warned, want, r.stderr)
			}
		})
	}
}
