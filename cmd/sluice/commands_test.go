// Tests of the commands besides run: pipeline show and drop, init, help
// and version, and the progress line.

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
)

func TestShow(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	if r := sluice(t, t.Context(), "", "run", writeSpec(t, blogSpec(api.URL+"/", e.db))); r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := Main(ctx, []string{"pipeline", "blog", "show", "--port", "0"}, strings.NewReader(""), pw, &errb)
		pw.Close()
		done <- code
	}()
	first, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v (stderr %s)", err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSpace(first)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+/$`).MatchString(base) {
		t.Fatalf("first line %q", first)
	}

	get := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(base + strings.TrimPrefix(path, "/"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if v != nil {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		return resp.StatusCode
	}

	var tables []apiTable
	if code := get("/api/tables", &tables); code != 200 {
		t.Fatalf("/api/tables: %d", code)
	}
	want := []apiTable{{"comments", 50}, {"posts", 25}, {"posts__tags", 50}}
	if fmt.Sprint(tables) != fmt.Sprint(want) {
		t.Errorf("/api/tables = %v, want %v", tables, want)
	}

	var page apiRows
	if code := get("/api/table/posts?offset=20&limit=10", &page); code != 200 {
		t.Fatalf("/api/table/posts: %d", code)
	}
	if page.Total == nil || *page.Total != 25 || len(page.Rows) != 5 || page.Columns[0].Name != "id" || page.Columns[0].Type != "bigint" {
		t.Errorf("page = %+v", page)
	}
	cols := map[string]string{}
	for _, c := range page.Columns {
		cols[c.Name] = c.Type
	}
	if cols["title"] != "text" || cols["author__age"] != "bigint" || cols["_dlt_id"] != "text" {
		t.Errorf("columns = %v", cols)
	}
	var loads []apiLoad
	if get("/api/loads", &loads); len(loads) != 1 || loads[0].Status != 0 {
		t.Errorf("/api/loads = %+v", loads)
	}
	var errBody map[string]string
	if code := get("/api/table/nope", &errBody); code != 404 || !strings.Contains(errBody["error"], "nope") {
		t.Errorf("/api/table/nope: %d %v", code, errBody)
	}
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(html), "/api/tables") || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("index page: %s", resp.Header.Get("Content-Type"))
	}
	// The table list is in the page itself, for a reader without
	// JavaScript: each table a link to its view, with its row count.
	for _, want := range []string{
		`<a class="table-link" href="#table=comments&amp;offset=0&amp;limit=50" data-name="comments" data-rows="50"><span class="name">comments</span> <span class="rows">50</span></a>`,
		`<a class="table-link" href="#table=posts&amp;offset=0&amp;limit=50" data-name="posts" data-rows="25"><span class="name">posts</span> <span class="rows">25</span></a>`,
		`<a class="table-link" href="#table=posts__tags&amp;offset=0&amp;limit=50" data-name="posts__tags" data-rows="50">`,
		"dataset blog_data",
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index page lacks %s", want)
		}
	}

	post := func(sqlText string) (int, apiRows, string) {
		body, _ := json.Marshal(map[string]string{"sql": sqlText})
		resp, err := http.Post(base+"api/query", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var rows apiRows
		json.Unmarshal(raw, &rows)
		return resp.StatusCode, rows, string(raw)
	}
	code, rows, raw := post("SELECT count(*) AS n, max(id) AS m FROM posts")
	if code != 200 || len(rows.Rows) != 1 || fmt.Sprint(rows.Rows[0]) != "[25 25]" {
		t.Errorf("query: %d %s", code, raw)
	}
	for _, q := range []string{"DROP TABLE posts", "SELECT 1; DROP TABLE posts", "CREATE TABLE x AS SELECT 1", "WITH x AS (SELECT 1) INSERT INTO posts SELECT * FROM posts"} {
		if code, _, raw := post(q); code != 400 || !strings.Contains(raw, "read-only") && !strings.Contains(raw, "one statement") {
			t.Errorf("%q: %d %s", q, code, raw)
		}
	}
	if got := queryDB(t, e.db, "SELECT count(*) FROM blog_data.posts"); got[0] != "25" {
		t.Errorf("posts after queries: %v", got)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("show exit %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("show did not stop")
	}
}

func TestDrop(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	if r := sluice(t, t.Context(), "", "run", writeSpec(t, blogSpec(api.URL+"/", e.db))); r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	r := sluice(t, t.Context(), "n\n", "pipeline", "blog", "drop")
	if r.code != 1 || !strings.Contains(r.stderr, "not confirmed") {
		t.Errorf("declined drop: %d %q", r.code, r.stderr)
	}
	if got := queryDB(t, e.db, "SELECT count(*) FROM blog_data.posts"); got[0] != "25" {
		t.Errorf("declined drop dropped: %v", got)
	}
	r = sluice(t, t.Context(), "y\n", "pipeline", "blog", "drop")
	if r.code != 0 {
		t.Fatalf("drop: %d %s", r.code, r.stderr)
	}
	if got := queryDB(t, e.db, "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'blog_data'"); got[0] != "0" {
		t.Errorf("schema still there")
	}
	if _, err := os.Stat(filepath.Join(e.pipelines, "blog")); !os.IsNotExist(err) {
		t.Errorf("working dir still there: %v", err)
	}
	r = sluice(t, t.Context(), "", "pipeline", "blog", "info")
	if r.code != 1 || !strings.Contains(r.stderr, `pipeline "blog" not found`) || !strings.Contains(r.stderr, "--pipelines-dir") {
		t.Errorf("info after drop: %d %q (want the place looked in and how to point elsewhere)", r.code, r.stderr)
	}

	// A destination file moved away: the working state goes, and the
	// message says no dataset was dropped (the moved file keeps its rows).
	if r := sluice(t, t.Context(), "", "run", writeSpec(t, blogSpec(api.URL+"/", e.db))); r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	moved := e.db + ".moved"
	if err := os.Rename(e.db, moved); err != nil {
		t.Fatal(err)
	}
	r = sluice(t, t.Context(), "", "pipeline", "blog", "drop", "--yes")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "No dataset dropped: "+e.db+" does not exist.") {
		t.Errorf("drop with the file moved: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if got := queryDB(t, moved, "SELECT count(*) FROM blog_data.posts"); got[0] == "0" {
		t.Errorf("moved file lost its rows")
	}
}

func TestInit(t *testing.T) {
	for _, dest := range []string{"duckdb", "parquet"} {
		t.Run(dest, func(t *testing.T) {
			t.Chdir(t.TempDir())
			t.Setenv("API_TOKEN", "")
			os.Unsetenv("API_TOKEN")
			r := sluice(t, t.Context(), "", "init", "rest_api", dest)
			if r.code != 0 {
				t.Fatalf("init: %d %s", r.code, r.stderr)
			}
			if strings.Contains(r.stdout, "your_api_token") {
				t.Errorf("placeholder secret printed")
			}
			data, err := os.ReadFile(initSpecFile)
			if err != nil {
				t.Fatal(err)
			}
			file, err := spec.LoadSecrets(spec.SecretsFile)
			if err != nil || file["API_TOKEN"] == "" {
				t.Fatalf("secrets: %v %v", file, err)
			}
			s, err := spec.Parse(data, initSpecFile, ".", &spec.Secrets{File: file})
			if err != nil {
				t.Fatalf("init spec: %v", err)
			}
			if s.PipelineName != "rest_api_github" || s.Destination.Type != dest {
				t.Errorf("spec = %+v", s)
			}
			cfg, err := rest.DecodeConfig(s.Source, "source")
			if err != nil {
				t.Fatalf("init source: %v", err)
			}
			if len(cfg.Resources) != 2 {
				t.Errorf("resources: %d", len(cfg.Resources))
			}
			if _, err := rest.NewSource(cfg); err != nil {
				t.Errorf("NewSource: %v", err)
			}

			// No overwrite without --force; secrets are kept.
			os.WriteFile(spec.SecretsFile, []byte("[x]\ny = \"keep-me-123\"\n"), 0o600)
			r = sluice(t, t.Context(), "", "init", "rest_api", dest)
			if r.code != 1 || !strings.Contains(r.stderr, "already exists; pass --force") {
				t.Errorf("second init: %d %q", r.code, r.stderr)
			}
			r = sluice(t, t.Context(), "", "init", "rest_api", dest, "--force")
			if r.code != 0 {
				t.Fatalf("init --force: %s", r.stderr)
			}
			file, _ = spec.LoadSecrets(spec.SecretsFile)
			if file["x.y"] != "keep-me-123" || file["API_TOKEN"] == "" {
				t.Errorf("secrets after --force: %v", file)
			}
			if strings.Contains(r.stdout+r.stderr, "keep-me-123") {
				t.Errorf("secret printed")
			}
		})
	}
	t.Run("bad args", func(t *testing.T) {
		t.Chdir(t.TempDir())
		for _, args := range [][]string{{"init", "github", "duckdb"}, {"init", "rest_api", "postgres"}, {"init"}} {
			if r := sluice(t, t.Context(), "", args...); r.code != 2 || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("%v: %d %q", args, r.code, r.stderr)
			}
		}
	})
}

func TestHelpAndVersion(t *testing.T) {
	version = "v9.9.9-test"
	defer func() { version = "dev" }()
	if r := sluice(t, t.Context(), "", "--version"); r.code != 0 || r.stdout != "sluice v9.9.9-test\n" {
		t.Errorf("--version: %d %q", r.code, r.stdout)
	}
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"init", "--help"}, {"pipeline", "--help"}} {
		r := sluice(t, t.Context(), "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: %d %q", args, r.code, r.stdout)
		}
	}
	if r := sluice(t, t.Context(), "", "pipeline", "x", "explode"); r.code != 2 {
		t.Errorf("unknown action: %d %q", r.code, r.stderr)
	}
	if r := sluice(t, t.Context(), "", "frobnicate"); r.code != 2 {
		t.Errorf("unknown command: %d %q", r.code, r.stderr)
	}
}

func TestProgressLine(t *testing.T) {
	start := time.Unix(1000, 0)
	got := progressLine("blog", progressSnapshot(start), start.Add(2*time.Second))
	want := "blog: resources 1/3 done | pages 12 | rows 12,345 | 6,172 rows/s | 2s"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCheckReadOnly(t *testing.T) {
	tests := []struct {
		sql string
		ok  bool
	}{
		{"SELECT * FROM posts", true},
		{"  select 1;", true},
		{"with x as (select 1) select * from x", true},
		{"(SELECT 1)", true},
		{"DESCRIBE posts", true},
		{"SELECT 'drop table x; delete' AS s", true},
		{`SELECT "update" FROM t -- delete`, true},
		{"SELECT 1 /* ; insert */", true},
		{"", false},
		{"-- only a comment", false},
		{"DROP TABLE posts", false},
		{"SELECT 1; SELECT 2", false},
		{"INSERT INTO t VALUES (1)", false},
		{"COPY posts TO '/tmp/x.csv'", false},
		{"ATTACH 'x.db'", false},
		{"SET threads = 1", false},
		{"SELECT 'unterminated", false},
		{"with x as (select 1) delete from t", false},
	}
	for _, tt := range tests {
		if err := checkReadOnly(tt.sql); (err == nil) != tt.ok {
			t.Errorf("checkReadOnly(%q) = %v, want ok %v", tt.sql, err, tt.ok)
		}
	}
}

func progressSnapshot(start time.Time) flow.Progress {
	return flow.Progress{ResourcesRunning: 2, ResourcesDone: 1, Batches: 12, Rows: 12345, Started: start}
}
