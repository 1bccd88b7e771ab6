package bench_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/sluicehq/sluice/bench"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
)

// TestCLISpec checks the spec the cli-* runs give `sluice run`: the
// destination at its location (a path YAML must quote), and the source
// RESTSource reads, paginator and data selector included.
func TestCLISpec(t *testing.T) {
	const url = "http://127.0.0.1:4567"
	odd := filepath.Join(t.TempDir(), "a b: 'c' #d")
	for _, tc := range []struct {
		paging             bench.Paging
		dest, key          string
		paginator, pageKey string
	}{
		{bench.JSONLink, "duckdb", "path", "json_link", "next_url_path"},
		{bench.PageNumber, "parquet", "bucket_url", "page_number", "total_path"},
	} {
		t.Run(string(tc.paging)+"/"+tc.dest, func(t *testing.T) {
			raw, err := bench.CLISpec(url, tc.paging, tc.dest, odd)
			if err != nil {
				t.Fatal(err)
			}
			var s struct {
				Pipeline    string            `yaml:"pipeline_name"`
				Dataset     string            `yaml:"dataset_name"`
				Destination map[string]string `yaml:"destination"`
				Source      struct {
					Client struct {
						BaseURL   string         `yaml:"base_url"`
						Paginator map[string]any `yaml:"paginator"`
					} `yaml:"client"`
					Resources []struct {
						Name     string            `yaml:"name"`
						Endpoint map[string]string `yaml:"endpoint"`
					} `yaml:"resources"`
				} `yaml:"source"`
			}
			if err := yaml.Unmarshal(raw, &s); err != nil {
				t.Fatalf("%v\n%s", err, raw)
			}
			if s.Pipeline != bench.CLIPipeline || s.Dataset != bench.CLIDataset {
				t.Errorf("pipeline %q, dataset %q", s.Pipeline, s.Dataset)
			}
			if s.Destination["type"] != tc.dest || s.Destination[tc.key] != odd || len(s.Destination) != 2 {
				t.Errorf("destination %v, want type %s, %s %q", s.Destination, tc.dest, tc.key, odd)
			}
			c := s.Source.Client
			if c.BaseURL != url || c.Paginator["type"] != tc.paginator || c.Paginator[tc.pageKey] == nil {
				t.Errorf("client %+v, want base_url %s, a %s paginator with %s", c, url, tc.paginator, tc.pageKey)
			}
			r := s.Source.Resources
			if len(r) != 1 || r[0].Name != "users" || r[0].Endpoint["path"] != "items" || r[0].Endpoint["data_selector"] != "data" {
				t.Errorf("resources %+v, want users from items, data_selector data", r)
			}
		})
	}
	for _, tc := range []struct {
		paging      bench.Paging
		dest, names string
	}{
		{"cursor", "duckdb", `paging "cursor"`},
		{bench.JSONLink, "postgres", `destination "postgres"`},
	} {
		t.Run("bad "+tc.names, func(t *testing.T) {
			if _, err := bench.CLISpec(url, tc.paging, tc.dest, odd); err == nil || !strings.Contains(err.Error(), tc.names) {
				t.Errorf("error %v, want one naming %s", err, tc.names)
			}
		})
	}
}

// TestCLIRunLoadsWhatTheAPIServes runs the built sluice command on
// CLISpec's spec, as the cli-* runs do, and reads back what it loaded:
// every record the API serves, child rows included, value for value the
// rows the pipeline loads from the same pages.
func TestCLIRunLoadsWhatTheAPIServes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sluice command")
	}
	ctx := context.Background()
	dir := t.TempDir()
	sluice := filepath.Join(dir, "sluice")
	if err := bench.BuildCLI(ctx, sluice); err != nil {
		t.Fatal(err)
	}
	const rows, pageSize = 2000, 250
	pages := bench.Pages(rows, pageSize, bench.Nested)
	api, err := bench.NewAPI(pages, len(pages), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	p, err := flow.NewPipeline("b", duckdb.New(filepath.Join(dir, "p.duckdb")), flow.PipelinesDir(dir), flow.DatasetName("bench"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(ctx, bench.PagesResource("users", pages, len(pages))); err != nil {
		t.Fatal(err)
	}
	want := nativeValues(t, filepath.Join(dir, "p.duckdb"), "bench.users", "address__city", "address__zip",
		"(SELECT count(*) FROM bench.users__orders)", bench.Nested)

	for _, tc := range []struct {
		dest, location string
		users, orders  string // tables as nativeValues reads them
		inDuckDB       bool
	}{
		// A file named like its dataset, as the bench's: "bench.users" is
		// ambiguous there.
		{dest: "duckdb", location: "bench.duckdb", users: "bench.bench.users", orders: "bench.bench.users__orders", inDuckDB: true},
		{dest: "parquet", location: "bucket", users: "read_parquet('%s/bench/users/*.parquet')", orders: "read_parquet('%s/bench/users__orders/*.parquet')"},
	} {
		t.Run(tc.dest, func(t *testing.T) {
			run := t.TempDir()
			loc := filepath.Join(run, tc.location)
			spec, err := bench.CLISpec(api.URL, bench.JSONLink, tc.dest, loc)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(run, "spec.yaml"), spec, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(ctx, sluice, "run", "spec.yaml")
			cmd.Dir = run
			cmd.Env = append(os.Environ(), "SLUICE_PIPELINES_DIR="+filepath.Join(run, "pipelines"))
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("sluice run: %v\n%s", err, out.Bytes())
			}
			counts, err := bench.LoadedRows(ctx, tc.dest, loc, bench.CLIDataset)
			if err != nil {
				t.Fatal(err)
			}
			if len(counts) != 2 || counts["users"] != rows || counts["users__orders"] != 5*rows {
				t.Errorf("loaded %v, want users %d, users__orders %d", counts, rows, 5*rows)
			}
			db, users, orders := loc, tc.users, tc.orders
			if !tc.inDuckDB {
				db, users, orders = "", strings.ReplaceAll(users, "%s", loc), strings.ReplaceAll(orders, "%s", loc)
			}
			got := nativeValues(t, db, users, "address__city", "address__zip", "(SELECT count(*) FROM "+orders+")", bench.Nested)
			if got != want {
				t.Errorf("sluice run loaded\n%.300s\nthe pipeline\n%.300s", got, want)
			}
		})
	}
}
