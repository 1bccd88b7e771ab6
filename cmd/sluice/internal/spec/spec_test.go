package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const dir = "/work/dir"

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const minimal = "pipeline_name: blog\nsource: {resources: [posts]}\n"

func TestParseDefaults(t *testing.T) {
	s, err := Parse([]byte(minimal), "spec.yaml", dir, &Secrets{Env: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if s.PipelineName != "blog" || s.DatasetName != "blog_dataset" {
		t.Errorf("names = %q, %q", s.PipelineName, s.DatasetName)
	}
	want := Destination{Type: DuckDB, Path: filepath.Join(dir, "blog.duckdb")}
	if !reflect.DeepEqual(s.Destination, want) {
		t.Errorf("destination = %+v, want %+v", s.Destination, want)
	}
	if s.MaxTableNesting != nil {
		t.Errorf("max_table_nesting = %d, want unset", *s.MaxTableNesting)
	}
	src := map[string]any{"resources": []any{"posts"}}
	if !reflect.DeepEqual(s.Source, src) {
		t.Errorf("source = %#v", s.Source)
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want func(s *Spec) bool
	}{
		{"normalized names", "pipeline_name: My-Blog\ndataset_name: Blog Data\nsource: {}\n",
			func(s *Spec) bool { return s.PipelineName == "my_blog" && s.DatasetName == "blog_data" }},
		{"json", `{"pipeline_name": "blog", "max_table_nesting": 2, "source": {"client": {"base_url": "http://x"}}}`,
			func(s *Spec) bool { return *s.MaxTableNesting == 2 }},
		{"byte order mark", "\ufeff" + minimal,
			func(s *Spec) bool { return s.PipelineName == "blog" }},
		{"max_table_nesting 0", minimal + "max_table_nesting: 0\n",
			func(s *Spec) bool { return s.MaxTableNesting != nil && *s.MaxTableNesting == 0 }},
		{"numbers are int64", "pipeline_name: b\nsource: {n: 3, f: 1.5, big: 18446744073709551615}\n",
			func(s *Spec) bool {
				m := s.Source.(map[string]any)
				return m["n"] == int64(3) && m["f"] == 1.5 && m["big"] == float64(18446744073709551615)
			}},
		{"timestamps stay text", "pipeline_name: b\nsource: {t: 2024-01-25T11:21:28Z}\n",
			func(s *Spec) bool { return s.Source.(map[string]any)["t"] == "2024-01-25T11:21:28Z" }},
		{"null dataset is default", "pipeline_name: b\ndataset_name: null\nsource: {}\n",
			func(s *Spec) bool { return s.DatasetName == "b_dataset" }},
		// dlt's snake_case table identifier rule, not just lower-casing.
		{"dataset snake_case", "pipeline_name: b\ndataset_name: MyData Set\nsource: {}\n",
			func(s *Spec) bool { return s.DatasetName == "my_data_set" }},
		{"dataset camelCase and dashes", "pipeline_name: b\ndataset_name: rawEvents-2024\nsource: {}\n",
			func(s *Spec) bool { return s.DatasetName == "raw_events_2024" }},
		{"dataset leading digit", "pipeline_name: b\ndataset_name: 2024 data\nsource: {}\n",
			func(s *Spec) bool { return s.DatasetName == "_2024_data" }},
		{"default dataset from a normalized pipeline name", "pipeline_name: My Blog\nsource: {}\n",
			func(s *Spec) bool { return s.DatasetName == "my_blog_dataset" }},
		// Literally <pipeline_name>_dataset, as the contract says.
		{"default dataset keeps the pipeline name's __", "pipeline_name: a  b\nsource: {}\n",
			func(s *Spec) bool { return s.PipelineName == "a__b" && s.DatasetName == "a__b_dataset" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.spec), "spec.yaml", dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(s) {
				t.Errorf("got %+v", s)
			}
		})
	}
}

func TestParseDestination(t *testing.T) {
	tests := []struct {
		name, dest string
		want       Destination
	}{
		{"absent", "", Destination{Type: DuckDB, Path: dir + "/blog.duckdb"}},
		{"null", "destination: null", Destination{Type: DuckDB, Path: dir + "/blog.duckdb"}},
		{"duckdb", "destination: duckdb", Destination{Type: DuckDB, Path: dir + "/blog.duckdb"}},
		{"DuckDB", "destination: DuckDB", Destination{Type: DuckDB, Path: dir + "/blog.duckdb"}},
		{"duckdb map", "destination: {type: duckdb}", Destination{Type: DuckDB, Path: dir + "/blog.duckdb"}},
		{"duckdb relative path", "destination: {type: duckdb, path: ./data/b.duckdb}", Destination{Type: DuckDB, Path: dir + "/data/b.duckdb"}},
		{"duckdb absolute path", "destination: {type: duckdb, path: /tmp/b.duckdb}", Destination{Type: DuckDB, Path: "/tmp/b.duckdb"}},
		{"parquet", "destination: parquet", Destination{Type: Parquet, BucketURL: dir}},
		{"parquet map", "destination: {type: parquet, bucket_url: ./out}", Destination{Type: Parquet, BucketURL: dir + "/out"}},
		{"parquet file url", "destination: {type: parquet, bucket_url: 'file:///tmp/o'}", Destination{Type: Parquet, BucketURL: "file:///tmp/o"}},
		{"filesystem", "destination: {type: filesystem, bucket_url: /o}", Destination{Type: Parquet, BucketURL: "/o"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte("pipeline_name: blog\n"+tt.dest+"\nsource: {}\n"), "spec.yaml", dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Destination, tt.want) {
				t.Errorf("destination = %+v, want %+v", s.Destination, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{"empty", "", "spec.yaml: the spec is empty"},
		{"not a mapping", "- a\n", "spec.yaml: the spec must be a mapping of pipeline_name, dataset_name, destination, max_table_nesting, source, not a list"},
		{"syntax", "pipeline_name: [\n", "spec.yaml:1:16: sequence end token ']' not found"},
		{"duplicate key", "pipeline_name: a\npipeline_name: b\n", `spec.yaml:2:1: mapping key "pipeline_name" already defined at [1:1]`},
		{"two documents", minimal + "---\n" + minimal, "spec.yaml: holds more than one YAML document"},
		{"unknown top key", minimal + "pipline: x\n", `spec.yaml:3:1: unknown field "pipline"`},
		{"unknown top key suggestion", "pipline_name: x\nsource: {}\n", `spec.yaml:1:1: unknown field "pipline_name" (did you mean "pipeline_name"?)`},
		{"missing pipeline_name", "source: {}\n", "spec.yaml: pipeline_name: required field is missing"},
		{"null pipeline_name", "pipeline_name:\nsource: {}\n", "spec.yaml:1:1: pipeline_name: required field is missing"},
		{"pipeline_name not string", "pipeline_name: 12\nsource: {}\n", "spec.yaml:1:1: pipeline_name: expected a string, got 12"},
		{"pipeline_name empty", "pipeline_name: ''\nsource: {}\n", `spec.yaml:1:1: pipeline_name: "" is not a valid name: it needs letters or digits`},
		{"pipeline_name symbols", "pipeline_name: '--'\nsource: {}\n", `spec.yaml:1:1: pipeline_name: "--" is not a valid name: it needs letters or digits`},
		{"dataset_name empty", minimal + "dataset_name: ' '\n", `spec.yaml:3:1: dataset_name: " " is not a valid name: it needs letters or digits`},
		{"dataset_name list", minimal + "dataset_name: [a]\n", "spec.yaml:3:1: dataset_name: expected a string, got a list"},
		{"destination unknown", minimal + "destination: postgres\n", `spec.yaml:3:1: destination: unknown destination "postgres" (want duckdb or parquet)`},
		{"destination number", minimal + "destination: 3\n", "spec.yaml:3:1: destination: expected duckdb, parquet or a mapping with type, got 3"},
		{"destination type missing", minimal + "destination: {path: x.duckdb}\n", "spec.yaml:3:1: destination.type: required field is missing (duckdb or parquet)"},
		{"destination type unknown", minimal + "destination: {type: bigquery}\n", `spec.yaml:3:15: destination.type: unknown destination "bigquery" (want duckdb or parquet)`},
		{"destination paht", minimal + "destination: {type: duckdb, paht: x.duckdb}\n", `spec.yaml:3:29: destination: unknown field "paht" (did you mean "path"?)`},
		{"destination bucket_url for duckdb", minimal + "destination: {type: duckdb, bucket_url: x}\n", `spec.yaml:3:29: destination: field "bucket_url" is for type parquet, not duckdb`},
		{"destination path for parquet", minimal + "destination: {type: parquet, path: x}\n", `spec.yaml:3:30: destination: field "path" is for type duckdb, not parquet`},
		{"destination path empty", minimal + "destination: {type: duckdb, path: ''}\n", `spec.yaml:3:29: destination.path: expected a non-empty string, got ""`},
		{"destination bucket_url number", minimal + "destination: {type: parquet, bucket_url: 1}\n", "spec.yaml:3:30: destination.bucket_url: expected a non-empty string, got 1"},
		{"max_table_nesting negative", minimal + "max_table_nesting: -1\n", "spec.yaml:3:1: max_table_nesting: expected a non-negative integer, got -1"},
		{"max_table_nesting text", minimal + "max_table_nesting: deep\n", `spec.yaml:3:1: max_table_nesting: expected a non-negative integer, got "deep"`},
		{"max_table_nesting float", minimal + "max_table_nesting: 1.5\n", "spec.yaml:3:1: max_table_nesting: expected a non-negative integer, got 1.5"},
		{"missing source", "pipeline_name: b\n", "spec.yaml: source: required field is missing"},
		{"source list", "pipeline_name: b\nsource: [a]\n", "spec.yaml:2:1: source: expected a mapping with client and resources, got a list"},
		{"odd key path", minimal + "'a.b': 1\n", `spec.yaml:3:1: unknown field "a.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.spec), "spec.yaml", dir, &Secrets{Env: env(nil)})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %q\nwant %q", err.Error(), tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has more than one line: %q", err.Error())
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	file, err := ParseSecrets([]byte(`
TOKEN = "from-file"
ONLY_FILE = "file-only"
NUM = 42
[github]
token = "gh-file"
[sources.api]
key = "nested-key"
`), "secrets.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := &Secrets{Env: env(map[string]string{"TOKEN": "from-env", "GITHUB__PAT": "env-dotted"}), File: file}
	tests := []struct {
		in, want string
		used     []string
	}{
		{"no secret", "no secret", nil},
		{"${TOKEN}", "from-env", []string{"from-env"}}, // env wins
		{"${ONLY_FILE}", "file-only", []string{"file-only"}},
		{"Bearer ${ONLY_FILE}!", "Bearer file-only!", []string{"file-only"}},
		{"${TOKEN}:${ONLY_FILE}", "from-env:file-only", []string{"from-env", "file-only"}},
		{"${github.token}", "gh-file", []string{"gh-file"}},
		{"${ sources.api.key }", "nested-key", []string{"nested-key"}},
		{"${github.pat}", "env-dotted", []string{"env-dotted"}},
		{"${NUM}", "42", []string{"42"}},
		{"$${TOKEN}", "${TOKEN}", nil},
		{"${not a name}", "${not a name}", nil},
		{"${unclosed", "${unclosed", nil},
		{"$TOKEN {x}", "$TOKEN {x}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, used, err := s.Expand(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || !reflect.DeepEqual(used, tt.used) {
				t.Errorf("Expand(%q) = %q %q, want %q %q", tt.in, got, used, tt.want, tt.used)
			}
		})
	}
}

func TestSecretsInSpec(t *testing.T) {
	d := t.TempDir()
	path := filepath.Join(d, ".sluice", "secrets.toml")
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte("[api]\nkey = \"k-123\"\n"), 0o600)
	file, err := LoadSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	missing, err := LoadSecrets(filepath.Join(d, "nope.toml"))
	if err != nil || len(missing) != 0 {
		t.Fatalf("missing file: %v %v", missing, err)
	}
	s := &Secrets{Env: env(map[string]string{"TOKEN": "t-456"}), File: file}
	spec := `pipeline_name: b
source:
  client:
    base_url: https://api.example.com/${api.key}/
    auth: {token: "${TOKEN}"}
  resources:
    - {name: r, endpoint: {headers: {X-Key: "${api.key}"}}}
`
	got, err := Parse([]byte(spec), "spec.yaml", d, s)
	if err != nil {
		t.Fatal(err)
	}
	client := got.Source.(map[string]any)["client"].(map[string]any)
	if client["base_url"] != "https://api.example.com/k-123/" || client["auth"].(map[string]any)["token"] != "t-456" {
		t.Errorf("client = %#v", client)
	}
	for _, v := range []string{"k-123", "t-456"} {
		found := false
		for _, u := range got.Secrets {
			found = found || u == v
		}
		if !found {
			t.Errorf("Secrets %q lacks %q", got.Secrets, v)
		}
	}

	_, err = Parse([]byte(spec+"dataset_name: ${NOPE}\n"), "spec.yaml", d, s)
	var me *MissingSecretError
	if !errors.As(err, &me) || me.Name != "NOPE" {
		t.Fatalf("err = %v, want missing secret NOPE", err)
	}
	if want := `secret "NOPE" is not set (env or .sluice/secrets.toml)`; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestParseSecretsErrors(t *testing.T) {
	_, err := ParseSecrets([]byte("A = \"super-secret\nB = 1\n"), "secrets.toml")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "super-secret") {
		t.Errorf("error quotes the value: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "secrets.toml:1") {
		t.Errorf("error = %v, want the line", err)
	}
}

func FuzzSpec(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(`{"pipeline_name": "x", "destination": {"type": "duckdb", "path": "a"}, "source": {}}`))
	f.Add([]byte("pipeline_name: ${A}\ndestination: {type: parquet}\nsource: {a: &x [1, *x]}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("- !!binary aGk=\n- !!timestamp 2024-01-01\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Secrets{Env: env(map[string]string{"A": "a"}), File: map[string]string{"b.c": "d"}}
		sp, err := Parse(data, "fuzz.yaml", dir, s)
		if err == nil && (sp.PipelineName == "" || sp.DatasetName == "" || sp.Source == nil) {
			t.Fatalf("accepted spec with empty fields: %+v", sp)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}
	})
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("pipeline_name: b\nl0: &l0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, err := Parse([]byte(b.String()), "spec.yaml", dir, nil)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("err = %v, want too large", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestKeyOrder(t *testing.T) {
	const text = `pipeline_name: p
source:
  resources:
    - name: r
      columns:
        zeta: {data_type: bigint}
        alpha: {data_type: text}
        mid: {data_type: text}
      processing_steps:
        - map: {zz: "1", aa: "2"}
  resource_defaults: &d
    columns: {b: {data_type: text}, a: {data_type: text}}
  other:
    <<: *d
    extra: 1
`
	s, err := Parse([]byte(text), "spec.yaml", t.TempDir(), &Secrets{Env: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]string{
		"":                            {"pipeline_name", "source"},
		"source":                      {"resources", "resource_defaults", "other"},
		"source.resources[0].columns": {"zeta", "alpha", "mid"},
		"source.resources[0].processing_steps[0].map": {"zz", "aa"},
		"source.resource_defaults.columns":            {"b", "a"},
	} {
		if got := s.KeyOrder[path]; !slices.Equal(got, want) {
			t.Errorf("KeyOrder[%q] = %q, want %q", path, got, want)
		}
	}
	other := s.Source.(map[string]any)["other"].(map[string]any)
	if _, ok := other["columns"]; !ok || other["extra"] != int64(1) {
		t.Errorf("merge key not applied: %v", other)
	}
}
