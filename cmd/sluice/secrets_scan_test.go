package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/flow"
)

// Planted secrets: one in the environment (bearer token and part of a
// header), one in .sluice/secrets.toml (a query parameter the API echoes
// into its next links). Both have characters that URL escaping changes.
const (
	plantedEnv  = "envS3cr3t/Tok+en=9f2a"
	plantedFile = "fileS3cr3t/Key&x=71c4"
)

// secretForms are the forms a leak could take.
func secretForms() map[string]string {
	out := map[string]string{}
	for _, s := range []string{plantedEnv, plantedFile} {
		out[s] = s
		out[s+" (query-escaped)"] = url.QueryEscape(s)
		out[s+" (path-escaped)"] = url.PathEscape(s)
		out[s+" (base64)"] = base64.StdEncoding.EncodeToString([]byte(s))
		out[s+" (base64url)"] = base64.RawURLEncoding.EncodeToString([]byte(s))
		out[s+" (json)"] = strings.Trim(mustJSON(s), `"`)
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// scanner records where a planted secret showed up.
type scanner struct {
	t     *testing.T
	forms map[string]string
	seen  int // bytes scanned
}

func (s *scanner) scan(where string, data []byte) {
	s.t.Helper()
	s.seen += len(data)
	for name, f := range s.forms {
		if bytes.Contains(data, []byte(f)) {
			s.t.Errorf("secret %s found in %s", name, where)
		}
	}
}

// secretsAPI checks every request for the planted secrets and serves
// /items (3 pages, next links carry the key), /private (401) and /flaky
// (500).
func newSecretsAPI(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+plantedEnv || r.Header.Get("X-Trace") != "t-"+plantedEnv ||
			r.URL.Query().Get("key") != plantedFile {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/items":
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			var rows []map[string]any
			for i := page*10 + 1; i <= page*10+10; i++ {
				rows = append(rows, map[string]any{"id": i, "name": "item " + strconv.Itoa(i), "tags": []string{"a"}})
			}
			body := map[string]any{"data": rows, "next": nil}
			if page < 2 {
				body["next"] = fmt.Sprintf("http://%s/items?page=%d&key=%s", r.Host, page+1, url.QueryEscape(plantedFile))
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(body)
		case "/private":
			http.Error(w, `{"error": "token revoked"}`, http.StatusUnauthorized)
		case "/flaky":
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func secretsSpec(base, dest, resources string) string {
	return fmt.Sprintf(`pipeline_name: secrets
dataset_name: secrets_data
destination: %s
source:
  client:
    base_url: %q
    auth: {token: "${SECRET_TOKEN}"}
    headers: {X-Trace: "t-${SECRET_TOKEN}"}
    paginator: {type: json_link, next_url_path: next}
    max_attempts: 3
    backoff_factor: 0.001
  resource_defaults:
    endpoint: {data_selector: data, params: {key: "${api.key}"}}
  resources:
%s`, dest, base, resources)
}

const secretsItems = `    - name: items
      endpoint:
        path: items
        incremental: {cursor_path: id, initial_value: 0}
`

// TestSecretsNeverLeak plants secrets and runs the real CLI through
// successful runs (DuckDB and Parquet, -v), failing runs (401, 500 after
// retries, bad specs) and `pipeline info`, then scans stdout, stderr,
// every file of the pipelines dir, every table of the DuckDB file
// (decoded state and stored schema included) and every file of the
// Parquet bucket (read back through DuckDB) for the secrets in raw,
// URL-escaped, base64 and JSON-escaped forms.
func TestSecretsNeverLeak(t *testing.T) {
	sluiceBinary(t)
	api := newSecretsAPI(t)
	dir := t.TempDir()
	pipelines := filepath.Join(dir, "pipelines")
	db := filepath.Join(dir, "secrets.duckdb")
	bucket := filepath.Join(dir, "bucket")
	if err := os.MkdirAll(filepath.Join(dir, ".sluice"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".sluice", "secrets.toml"), []byte("[api]\nkey = "+mustJSON(plantedFile)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"SLUICE_PIPELINES_DIR=" + pipelines, "SECRET_TOKEN=" + plantedEnv}
	duck := fmt.Sprintf("{type: duckdb, path: %q}", db)
	pq := fmt.Sprintf("{type: parquet, bucket_url: %q}", bucket)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sc := &scanner{t: t, forms: secretForms()}
	runs := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"success duckdb -v", []string{"run", "-v", write("ok.yaml", secretsSpec(api.URL+"/", duck, secretsItems))}, 0, "rest: response"},
		{"success again (state kept)", []string{"run", write("ok2.yaml", secretsSpec(api.URL+"/", duck, secretsItems))}, 0, ""},
		{"401 -v", []string{"run", "-v", write("401.yaml", secretsSpec(api.URL+"/", duck, secretsItems+"    - name: private\n      endpoint: private\n"))}, 1, "GET /private: 401 Unauthorized"},
		{"500 after retries -v", []string{"run", "-v", write("500.yaml", secretsSpec(api.URL+"/", duck, "    - name: flaky\n      endpoint: flaky\n"))}, 1, "GET /flaky: 500 Internal Server Error"},
		{"bad spec: unknown field", []string{"run", write("bad1.yaml", strings.Replace(secretsSpec(api.URL+"/", duck, secretsItems), "headers:", "headerz:", 1))}, 1, `unknown field "headerz"`},
		{"bad spec: secret in a wrong-typed field", []string{"run", write("bad2.yaml", strings.Replace(secretsSpec(api.URL+"/", duck, secretsItems), "max_attempts: 3", `max_attempts: "${SECRET_TOKEN}"`, 1))}, 1, "max_attempts"},
		{"bad spec: secret in a bad destination", []string{"run", write("bad3.yaml", strings.Replace(secretsSpec(api.URL+"/", duck, secretsItems), duck, `{type: "${SECRET_TOKEN}"}`, 1))}, 1, "destination"},
		{"success parquet -v", []string{"run", "-v", "--pipelines-dir", filepath.Join(pipelines, "pq"), write("pq.yaml", secretsSpec(api.URL+"/", pq, secretsItems))}, 0, ""},
		{"pipeline info", []string{"pipeline", "secrets", "info"}, 0, ""},
		{"pipeline info (parquet)", []string{"pipeline", "secrets", "info", "--pipelines-dir", filepath.Join(pipelines, "pq")}, 0, ""},
	}
	for _, r := range runs {
		res := runSluice(t, dir, env, r.args...)
		t.Logf("%s: exit %d, %d bytes out, stderr %.160q", r.name, res.code, len(res.stdout)+len(res.stderr), res.stderr)
		if res.code != r.code {
			t.Errorf("%s: exit %d, want %d: %s", r.name, res.code, r.code, res.stderr)
		}
		if r.want != "" && !strings.Contains(res.stderr, r.want) {
			t.Errorf("%s: stderr lacks %q: %s", r.name, r.want, res.stderr)
		}
		sc.scan(r.name+" stdout", []byte(res.stdout))
		sc.scan(r.name+" stderr", []byte(res.stderr))
	}

	// Files of the working dir: state, schemas, pipeline.json.
	files := 0
	filepath.WalkDir(pipelines, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files++
		sc.scan(p, data)
		return nil
	})
	if files < 3 {
		t.Errorf("only %d files in the pipelines dir", files)
	}

	// The DuckDB file: every table of every schema, state decoded.
	conn, err := sql.Open("duckdb", db+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tables := queryStrings(t, conn, "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1")
	if len(tables) < 4 {
		t.Fatalf("DuckDB tables: %v", tables)
	}
	for _, tbl := range tables {
		for _, row := range queryStrings(t, conn, "SELECT * FROM "+tbl) {
			sc.scan("duckdb "+tbl, []byte(row))
		}
	}
	states := queryStrings(t, conn, "SELECT state FROM secrets_data._dlt_pipeline_state")
	if len(states) == 0 {
		t.Fatal("no stored state")
	}
	for _, s := range states {
		st, err := flow.DecodeState(s)
		if err != nil {
			t.Fatal(err)
		}
		sc.scan("duckdb decoded state", []byte(mustJSON(st)))
	}
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	sc.scan("duckdb file bytes", raw)

	// The Parquet bucket: every file's bytes, data files read back, state
	// files decoded.
	pqFiles := 0
	mem, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	filepath.WalkDir(bucket, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		pqFiles++
		sc.scan(p, data)
		switch {
		case strings.HasSuffix(p, ".parquet"):
			for _, row := range queryStrings(t, mem, "SELECT * FROM read_parquet('"+p+"')") {
				sc.scan(p+" rows", []byte(row))
			}
		case strings.Contains(p, "_dlt_pipeline_state"):
			lines := bufio.NewScanner(bytes.NewReader(data))
			for lines.Scan() {
				var doc map[string]any
				if err := json.Unmarshal(lines.Bytes(), &doc); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				st, err := flow.DecodeState(fmt.Sprint(doc["state"]))
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				sc.scan(p+" decoded state", []byte(mustJSON(st)))
			}
		}
		return nil
	})
	if pqFiles < 5 {
		t.Errorf("only %d files in the bucket", pqFiles)
	}
	t.Logf("scanned %d bytes (%d runs, %d working files, %d DuckDB tables, %d bucket files) for %d forms of 2 secrets",
		sc.seen, len(runs), files, len(tables), pqFiles, len(sc.forms))
}

// queryStrings returns each row of q as its columns joined by "|".
func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				parts[i] = string(b)
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
