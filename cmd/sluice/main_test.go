package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/internal/pipeinfo"
)

// Secrets planted by the tests; none may ever appear in output.
const (
	envToken  = "env-tok-8f3a91c2"
	fileToken = "file-tok-27bd55e0"
)

// blogAPI serves a small paginated API: /posts (25 posts, 10 per page,
// json_link pagination, each post with a list of tags) and
// /posts/{id}/comments (2 comments per post). It wants a bearer token and a
// header X-Key.
type blogAPI struct {
	*httptest.Server
	requests atomic.Int64
	// block, when set, makes every request wait until its context ends and
	// signals started once.
	block   bool
	started chan struct{}
	once    sync.Once
}

func newBlogAPI(t *testing.T) *blogAPI {
	api := &blogAPI{started: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /posts", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var data []map[string]any
		for i := page * 10; i < min(page*10+10, 25); i++ {
			data = append(data, map[string]any{"id": i + 1, "title": fmt.Sprintf("post %d", i+1),
				"author": map[string]any{"name": "ann", "age": 30 + i%3}, "tags": []string{"a", "b"}})
		}
		body := map[string]any{"data": data, "next": nil}
		if page < 2 {
			body["next"] = fmt.Sprintf("http://%s/posts?page=%d", r.Host, page+1)
		}
		json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("GET /posts/{id}/comments", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		json.NewEncoder(w).Encode(map[string]any{"data": []map[string]any{
			{"id": id*100 + 1, "body": "nice"}, {"id": id*100 + 2, "body": "ok"}}, "next": nil})
	})
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.requests.Add(1)
		if api.block {
			api.once.Do(func() { close(api.started) })
			<-r.Context().Done()
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+envToken || r.Header.Get("X-Key") != fileToken {
			http.Error(w, `{"error": "unauthorized"}`, http.StatusUnauthorized)
			return
		}
		// A base URL may carry the token as a path segment.
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/"+envToken)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	return api
}

// blogSpec is a spec for blogAPI with the secrets as placeholders; extra is
// added to the first resource.
func blogSpec(baseURL, dest string) string {
	return fmt.Sprintf(`pipeline_name: Blog
dataset_name: blog_data
destination: {type: duckdb, path: %q}
source:
  client:
    base_url: %q
    auth: {token: "${API_TOKEN}"}
    headers: {X-Key: "${api.key}"}
    paginator: {type: json_link, next_url_path: next}
  resource_defaults:
    endpoint: {data_selector: data}
  resources:
    - name: posts
      primary_key: id
      endpoint: {path: posts}
    - name: comments
      endpoint:
        path: "posts/{resources.posts.id}/comments"
`, dest, baseURL)
}

// env is a test's working dir, pipelines dir and secrets.
type env struct {
	dir, pipelines, db string
}

func setup(t *testing.T) *env {
	e := &env{dir: t.TempDir(), pipelines: t.TempDir()}
	e.db = filepath.Join(e.dir, "blog.duckdb")
	t.Chdir(e.dir)
	t.Setenv("SLUICE_PIPELINES_DIR", e.pipelines)
	t.Setenv("API_TOKEN", envToken)
	os.MkdirAll(".sluice", 0o700)
	os.WriteFile(spec.SecretsFile, []byte("[api]\nkey = \""+fileToken+"\"\n"), 0o600)
	return e
}

type result struct {
	code           int
	stdout, stderr string
}

// sluice runs the CLI in-process.
func sluice(t *testing.T, ctx context.Context, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(ctx, args, strings.NewReader(stdin), &out, &errb)
	r := result{code, out.String(), errb.String()}
	for _, s := range []string{envToken, fileToken} {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Errorf("sluice %s: secret %q in output:\nstdout: %s\nstderr: %s", strings.Join(args, " "), s, r.stdout, r.stderr)
		}
	}
	return r
}

func writeSpec(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func queryDB(t *testing.T, path, q string) []string {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

var loadInfoRE = regexp.MustCompile(`(?s)^Pipeline blog load step completed in [0-9.]+ seconds
1 load package\(s\) were loaded to destination duckdb and into dataset blog_data
The duckdb destination used (.+) location to store data
Load package ([0-9]+\.[0-9]+) is LOADED and contains no failed jobs
Normalized data for the following tables:
(?:- \w+: \d+ row\(s\)\n)+$`)

// checkLoadInfo checks the load info of a blog run (dlt's shape, the DuckDB
// file as location, the load id _dlt_loads holds) and returns the load id.
func checkLoadInfo(t *testing.T, e *env, stdout string) string {
	t.Helper()
	m := loadInfoRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("load info:\n%s", stdout)
	}
	if m[1] != e.db {
		t.Errorf("location %q, want %q", m[1], e.db)
	}
	if ids := queryDB(t, e.db, "SELECT load_id FROM blog_data._dlt_loads"); len(ids) != 1 || ids[0] != m[2] {
		t.Errorf("_dlt_loads.load_id = %v, load info says %s", ids, m[2])
	}
	return m[2]
}

func TestRunEndToEnd(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	specPath := writeSpec(t, blogSpec(api.URL+"/", e.db))

	r := sluice(t, t.Context(), "", "run", specPath)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("stderr not quiet: %q", r.stderr)
	}
	loadID := checkLoadInfo(t, e, r.stdout)
	for q, want := range map[string]string{
		"SELECT count(*) FROM blog_data.posts":                                             "25",
		"SELECT count(*) FROM blog_data.posts__tags":                                       "50",
		"SELECT count(*) FROM blog_data.comments":                                          "50",
		"SELECT max(author__age) FROM blog_data.posts":                                     "32",
		"SELECT string_agg(DISTINCT value, ',' ORDER BY value) FROM blog_data.posts__tags": "a,b",
	} {
		if got := queryDB(t, e.db, q); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
	// No secret reached the destination.
	for _, s := range []string{envToken, fileToken} {
		q := fmt.Sprintf("SELECT count(*) FROM blog_data._dlt_pipeline_state WHERE state LIKE '%%%s%%'", s)
		if got := queryDB(t, e.db, q); got[0] != "0" {
			t.Errorf("secret in state")
		}
	}

	r = sluice(t, t.Context(), "", "pipeline", "blog", "info")
	if r.code != 0 {
		t.Fatalf("info: exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	for _, want := range []string{"pipeline: blog", "destination: duckdb", "dataset: blog_data",
		"location: " + e.db, "last loads: 1 of 1", "tables: 3", "comments 50", "posts 25", "posts__tags 50"} {
		if !contains(lines, want) {
			t.Errorf("info lacks line %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "load "+loadID+" LOADED") {
		t.Errorf("info lacks the load %s:\n%s", loadID, r.stdout)
	}

	// A second run appends comments, merges posts; --refresh drop_data
	// then empties before loading.
	if r = sluice(t, t.Context(), "", "run", specPath); r.code != 0 {
		t.Fatalf("second run: %s", r.stderr)
	}
	if got := queryDB(t, e.db, "SELECT count(*) FROM blog_data.comments"); got[0] != "100" {
		t.Errorf("comments after 2 runs = %v", got)
	}
	if r = sluice(t, t.Context(), "", "run", "--refresh", "drop_data", specPath); r.code != 0 {
		t.Fatalf("refresh run: %s", r.stderr)
	}
	if got := queryDB(t, e.db, "SELECT count(*) FROM blog_data.comments"); got[0] != "50" {
		t.Errorf("comments after refresh = %v", got)
	}

	// --dataset and --pipelines-dir override.
	other := t.TempDir()
	if r = sluice(t, t.Context(), "", "run", "--dataset", "Other Set", "--pipelines-dir", other, specPath); r.code != 0 {
		t.Fatalf("--dataset run: %s", r.stderr)
	}
	if !strings.Contains(r.stdout, "into dataset other_set") {
		t.Errorf("load info: %s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(other, "blog", "pipeline.json")); err != nil {
		t.Errorf("--pipelines-dir: %v", err)
	}
	if r = sluice(t, t.Context(), "", "pipeline", "blog", "--pipelines-dir", other); r.code != 0 || !strings.Contains(r.stdout, "posts 25\n") {
		t.Errorf("info (default action) in --pipelines-dir: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestRedactVerbose logs every request (-v) to a base URL holding a secret:
// the secret is masked in the logs and in the load info.
func TestRedactVerbose(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	spec := strings.Replace(blogSpec(api.URL+"/${API_TOKEN}/", e.db), "dataset_name: blog_data", "dataset_name: blog_${api.key}", 1)
	r := sluice(t, t.Context(), "", "run", "-v", writeSpec(t, spec))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "path=/***/posts") {
		t.Errorf("verbose log lacks the masked path:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "dataset blog_***") {
		t.Errorf("load info: %s", r.stdout)
	}
}

// TestRedactOnlyReferenced: only the secrets a spec references are masked,
// and only values long enough to mask without garbling the load info (a
// masked "1" or "5" used to turn the load id into "179***814246.41373***").
func TestRedactOnlyReferenced(t *testing.T) {
	tests := []struct {
		name    string
		secrets string // flat keys put before the [api] section
		env     map[string]string
		headers string // the spec's client headers
	}{
		{name: "unreferenced number", secrets: "retries = 1\n"},
		{name: "unreferenced word", secrets: "unused = \"blog_data\"\nother = \"LOADED\"\n"},
		{name: "referenced short secret", env: map[string]string{"START_ID": "5"},
			headers: `{X-Key: "${api.key}", X-Start: "${START_ID}"}`},
		{name: "referenced three chars", secrets: "tiny = \"loa\"\n",
			headers: `{X-Key: "${api.key}", X-Tiny: "${tiny}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if err := os.WriteFile(spec.SecretsFile, []byte(tt.secrets+"[api]\nkey = \""+fileToken+"\"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			api := newBlogAPI(t)
			text := blogSpec(api.URL+"/", e.db)
			if tt.headers != "" {
				text = strings.Replace(text, `headers: {X-Key: "${api.key}"}`, "headers: "+tt.headers, 1)
			}
			r := sluice(t, t.Context(), "", "run", writeSpec(t, text))
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if strings.Contains(r.stdout, "***") {
				t.Errorf("masked output:\n%s", r.stdout)
			}
			checkLoadInfo(t, e, r.stdout)
		})
	}
}

// TestRunDatasetName: dataset_name and --dataset take dlt's snake_case
// table identifier rule ("MyData Set" is my_data_set, not mydata_set).
func TestRunDatasetName(t *testing.T) {
	tests := []struct {
		name    string
		dataset string // the spec's dataset_name line
		args    []string
		want    string
	}{
		{name: "spec", dataset: "dataset_name: MyData Set", want: "my_data_set"},
		{name: "flag", dataset: "dataset_name: blog_data", args: []string{"--dataset", "rawEvents-2024"}, want: "raw_events_2024"},
		{name: "default", dataset: "", want: "blog_dataset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			api := newBlogAPI(t)
			text := strings.Replace(blogSpec(api.URL+"/", e.db), "dataset_name: blog_data", tt.dataset, 1)
			args := append(append([]string{"run"}, tt.args...), writeSpec(t, text))
			r := sluice(t, t.Context(), "", args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "into dataset "+tt.want+"\n") {
				t.Errorf("load info:\n%s", r.stdout)
			}
			if got := queryDB(t, e.db, "SELECT count(*) FROM "+tt.want+".posts"); len(got) != 1 || got[0] != "25" {
				t.Errorf("%s.posts rows = %v", tt.want, got)
			}
			r = sluice(t, t.Context(), "", "pipeline", "blog", "info")
			if !strings.Contains(r.stdout, "dataset: "+tt.want+"\n") {
				t.Errorf("info: %d %s %s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestRunParquet loads into a Parquet bucket and reads it back through
// pipeline info and the data browser.
func TestRunParquet(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	bucket := filepath.Join(e.dir, "out")
	spec := strings.Replace(blogSpec(api.URL+"/", e.db), "destination: {type: duckdb, path: \""+e.db+"\"}", "destination: {type: parquet, bucket_url: ./out}", 1)
	r := sluice(t, t.Context(), "", "run", writeSpec(t, spec))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "loaded to destination filesystem and into dataset blog_data\nThe filesystem destination used "+bucket+" location") {
		t.Errorf("load info: %s", r.stdout)
	}
	files, _ := filepath.Glob(filepath.Join(bucket, "blog_data", "posts", "*.parquet"))
	if len(files) == 0 {
		t.Errorf("no parquet files for posts")
	}
	r = sluice(t, t.Context(), "", "pipeline", "blog", "info")
	lines := strings.Split(r.stdout, "\n")
	for _, want := range []string{"destination: filesystem", "location: " + bucket, "posts 25", "comments 50", "posts__tags 50"} {
		if !contains(lines, want) {
			t.Errorf("info lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	h := newBrowser(mustInfo(t, e.pipelines, "blog"))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/table/posts?offset=0&limit=3")
	if err != nil {
		t.Fatal(err)
	}
	var page apiRows
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(page.Rows) != 3 || page.Total == nil || *page.Total != 25 {
		t.Errorf("parquet page: %d %+v", resp.StatusCode, page)
	}
	if r = sluice(t, t.Context(), "", "pipeline", "blog", "drop", "--yes"); r.code != 0 {
		t.Fatalf("drop: %s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(bucket, "blog_data")); !os.IsNotExist(err) {
		t.Errorf("dataset folder still there: %v", err)
	}
}

func mustInfo(t *testing.T, dir, name string) *pipeinfo.Info {
	t.Helper()
	info, err := pipeinfo.Read(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestRunFailures(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	good := blogSpec(api.URL+"/", e.db)
	// An API that answers 200 with an HTML page (a proxy's error page).
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body>Service unavailable</body></html>")
	}))
	t.Cleanup(html.Close)
	tests := []struct {
		name string
		spec string
		env  map[string]string
		args []string
		code int
		want string // the one stderr line
		// requests says whether requests may reach the API.
		requests bool
	}{
		{name: "missing secret", spec: strings.Replace(good, "${API_TOKEN}", "${GITHUB_TOKEN}", 1), code: 1,
			want: `sluice: secret "GITHUB_TOKEN" is not set (env or .sluice/secrets.toml)`},
		{name: "unknown resource field", spec: strings.Replace(good, "primary_key: id", "params: {a: 1}", 1), code: 1,
			want: `sluice: spec.yaml:14:7: source.resources[0]: unknown field "params"`},
		{name: "unknown nested key: file:line:col and a suggestion", spec: strings.Replace(good, "path: posts}", "path: posts, paginatr: auto}", 1), code: 1,
			want: `sluice: spec.yaml:15:31: source.resources[0].endpoint: unknown field "paginatr" (did you mean "paginator"?)`},
		{name: "unknown destination field", spec: strings.Replace(good, "path:", "paht:", 1), code: 1,
			want: `sluice: spec.yaml:3:29: destination: unknown field "paht" (did you mean "path"?)`},
		{name: "secret upper-cased in an error", spec: strings.Replace(good, "path: posts}", `path: posts, method: "${API_TOKEN}"}`, 1), code: 1,
			want: `sluice: spec.yaml:15:31: source.resources[0].endpoint.method: unknown method "***" (want one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)`},
		{name: "http 404 with secret in path", spec: strings.Replace(good, "path: posts}", `path: "posts/${API_TOKEN}/x"}`, 1), code: 1,
			want: `sluice: resource "posts": rest: GET /posts/***/x: 404 Not Found`, requests: true},
		{name: "http 401", spec: good, env: map[string]string{"API_TOKEN": "wrong-token-123"}, code: 1,
			want: `sluice: resource "posts": rest: GET /posts: 401 Unauthorized`, requests: true},
		{name: "no base_url", spec: strings.Replace(good, fmt.Sprintf("    base_url: %q\n", api.URL+"/"), "", 1), code: 1,
			want: `sluice: spec.yaml:14:18: source.resources[0].endpoint.path: "posts" is not a full URL and source.client.base_url is not set`},
		{name: "field missing in the parent item", spec: strings.Replace(good, "{resources.posts.id}", "{resources.posts.nosuch}", 1), code: 1,
			want: `sluice: resource "comments": rest: field "nosuch" not found in an item of parent resource "posts"`, requests: true},
		{name: "HTML with 200", spec: strings.Replace(good, api.URL+"/", html.URL+"/", 1), code: 1,
			want: `sluice: resource "posts": rest: GET /posts: 200 response is not JSON (content type text/html)`},
		{name: "spec missing", args: []string{"run", "nope.yaml"}, code: 1, want: "sluice: spec nope.yaml does not exist"},
		{name: "bad refresh", spec: good, args: []string{"run", "--refresh", "all"}, code: 2,
			want: `sluice: --refresh "all": want drop_sources, drop_resources or drop_data`},
		{name: "no spec arg", args: []string{"run"}, code: 2, want: "sluice: sluice run: expected one spec file (see sluice run --help)"},
		{name: "unknown flag", args: []string{"run", "--nope", "x"}, code: 2, want: "sluice: unknown flag: --nope (see sluice run --help)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := tt.args
			if tt.spec != "" {
				if args == nil {
					args = []string{"run"}
				}
				args = append(args, writeSpec(t, tt.spec))
			}
			before := api.requests.Load()
			r := sluice(t, t.Context(), "", args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			// A spec error starts with the spec's path, a temp dir's here.
			got := strings.TrimSuffix(r.stderr, "\n")
			if tt.spec != "" {
				got = strings.Replace(got, args[len(args)-1], "spec.yaml", 1)
			}
			if got != tt.want {
				t.Errorf("stderr:\n got %q\nwant %q", got, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
			if n := api.requests.Load() - before; !tt.requests && n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
	if t.Failed() {
		return
	}
	// The failed runs loaded nothing.
	if _, err := os.Stat(e.db); err == nil {
		if got := queryDB(t, e.db, "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_dlt_loads'"); got[0] != "0" {
			if n := queryDB(t, e.db, "SELECT count(*) FROM blog_data._dlt_loads"); n[0] != "0" {
				t.Errorf("failed runs left loads: %v", n)
			}
		}
	}
}

func TestRunInterrupted(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	api.block = true
	specPath := writeSpec(t, blogSpec(api.URL+"/", e.db))
	go func() {
		select {
		case <-api.started:
			syscall.Kill(os.Getpid(), syscall.SIGINT)
		case <-time.After(20 * time.Second):
		}
	}()
	r := sluice(t, t.Context(), "", "run", specPath)
	if r.code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", r.code, exitInterrupted, r.stderr)
	}
	if want := "sluice: " + errInterrupted.Error() + "\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(e.pipelines, "blog", "pipeline.json")); err == nil {
		t.Errorf("interrupted run saved pipeline state")
	}
}
