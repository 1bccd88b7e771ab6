package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
)

// TestVerboseFlag: -v is --verbose before and after the command name; the
// version is --version or -V.
func TestVerboseFlag(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	path := writeSpec(t, blogSpec(api.URL+"/", e.db))
	const logLine = `msg="rest: response"`
	tests := []struct {
		args    []string
		verbose bool
	}{
		{[]string{"run", "-v", path}, true},
		{[]string{"-v", "run", path}, true},
		{[]string{"--verbose", "run", path}, true},
		{[]string{"run", path, "--verbose"}, true},
		{[]string{"run", path}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:len(tt.args)-1], " "), func(t *testing.T) {
			r := sluice(t, t.Context(), "", tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if got := strings.Contains(r.stderr, logLine); got != tt.verbose {
				t.Errorf("request log shown: %v, want %v; stderr:\n%s", got, tt.verbose, r.stderr)
			}
		})
	}

	version = "v9.9.9-test"
	defer func() { version = "dev" }()
	for _, args := range [][]string{{"--version"}, {"-V"}} {
		if r := sluice(t, t.Context(), "", args...); r.code != 0 || r.stdout != "sluice v9.9.9-test\n" {
			t.Errorf("%v: %d %q", args, r.code, r.stdout)
		}
	}
	if r := sluice(t, t.Context(), "", "-v"); strings.Contains(r.stdout, "v9.9.9-test") {
		t.Errorf("-v printed the version: %q", r.stdout)
	}
}

// TestSpecAnchors: x- keys hold anchors and are ignored; a merge (<<) with
// a key written beside it takes that key (the paginator), end to end.
func TestSpecAnchors(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	text := fmt.Sprintf(`x-paging: &paging {type: json_link, next_url_path: next}
x-endpoint: &ep
  data_selector: data
  paginator: {type: single_page}
pipeline_name: Blog
dataset_name: blog_data
destination: {type: duckdb, path: %q}
source:
  client:
    base_url: %q
    auth: {token: "${API_TOKEN}"}
    headers: {X-Key: "${api.key}"}
  resources:
    - name: posts
      endpoint:
        <<: *ep
        path: posts
        paginator: *paging
`, e.db, api.URL+"/")
	r := sluice(t, t.Context(), "", "run", writeSpec(t, text))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// All three pages: the json_link paginator won over the merged one.
	if got := queryDB(t, e.db, "SELECT count(*)::VARCHAR FROM blog_data.posts"); len(got) != 1 || got[0] != "25" {
		t.Errorf("posts = %v rows, want 25", got)
	}
}

// TestInitPlaceholderWarning: a run whose secret still holds the value
// sluice init wrote warns before any request, naming the secret; with the
// real value set, it does not.
func TestInitPlaceholderWarning(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("SLUICE_PIPELINES_DIR", t.TempDir())
	t.Setenv("API_TOKEN", "")
	os.Unsetenv("API_TOKEN")
	var requests atomic.Int64
	var auth atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("[]"))
	}))
	t.Cleanup(api.Close)

	if r := sluice(t, t.Context(), "", "init", "rest_api", "duckdb"); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	text, err := os.ReadFile(initSpecFile)
	if err != nil {
		t.Fatal(err)
	}
	local := strings.Replace(string(text), "https://api.github.com/repos/dlt-hub/dlt/", api.URL+"/", 1)
	if local == string(text) {
		t.Fatal("the init spec's base_url moved; update this test")
	}
	if err := os.WriteFile(initSpecFile, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}

	const warning = "sluice: warning: secret API_TOKEN still holds the placeholder sluice init wrote: put the real value in " + spec.SecretsFile + " or the environment\n"
	r := sluice(t, t.Context(), "", "run", initSpecFile)
	if r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, warning) {
		t.Errorf("stderr does not start with the warning:\n%s", r.stderr)
	}
	if requests.Load() == 0 || auth.Load() != "Bearer your_api_token" {
		t.Fatalf("requests %d, auth %q: the run did not use the placeholder", requests.Load(), auth.Load())
	}

	t.Setenv("API_TOKEN", "real-token-123")
	r = sluice(t, t.Context(), "", "run", initSpecFile)
	if r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Errorf("run with a real token: %d %q", r.code, r.stderr)
	}
}
