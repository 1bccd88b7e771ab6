package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/sourcegraph/conc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

var serveURLRE = regexp.MustCompile(`^grpc://127\.0\.0\.1:[0-9]+\n`)

// startServe runs `sluice serve ARGS` in-process; it returns the first
// line of stdout and a func that stops the server and returns the exit
// status and the whole output.
func startServe(t *testing.T, args ...string) (first string, stop func() result) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	var code int
	var wg conc.WaitGroup
	wg.Go(func() {
		code = Main(ctx, append([]string{"serve"}, args...), strings.NewReader(""), pw, &errb)
		pw.Close()
	})
	br := bufio.NewReader(pr)
	first, err := br.ReadString('\n')
	if err != nil {
		cancel()
		io.Copy(io.Discard, br)
		wg.Wait()
		t.Fatalf("serve: first line %q: %v; stderr: %s", first, err, errb.String())
	}
	var rest bytes.Buffer
	var copied conc.WaitGroup
	copied.Go(func() { io.Copy(&rest, br) })
	stopped := false
	var r result
	stop = func() result {
		if !stopped {
			stopped = true
			cancel()
			wg.Wait()
			copied.Wait()
			r = result{code: code, stdout: first + rest.String(), stderr: errb.String()}
		}
		return r
	}
	t.Cleanup(func() { stop() })
	return first, stop
}

// flightCount counts a table's rows through a Flight SQL client.
func flightCount(t *testing.T, url, token, table string) (int64, error) {
	t.Helper()
	cl, err := flightsql.NewClient(strings.TrimPrefix(strings.TrimSpace(url), "grpc://"), nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	info, err := cl.Execute(ctx, "SELECT count(*) FROM "+table)
	if err != nil {
		return 0, err
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().Column(0).(*array.Int64).Value(0)
	}
	return n, rdr.Err()
}

func TestServe(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	if r := sluice(t, context.Background(), "", "run", writeSpec(t, blogSpec(api.URL, e.db))); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	want := int64(len(queryDB(t, e.db, "SELECT id::VARCHAR FROM blog_data.posts")))

	t.Run("loopback without a token", func(t *testing.T) {
		first, stop := startServe(t, "blog")
		if !serveURLRE.MatchString(first) {
			t.Errorf("first line %q, want grpc://127.0.0.1:PORT", first)
		}
		if n, err := flightCount(t, first, "", "posts"); err != nil || n != want {
			t.Errorf("posts: %d, %v; want %d", n, err, want)
		}
		if r := stop(); r.code != 0 {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("token", func(t *testing.T) {
		const token = "serve-tok-5e1f0c"
		t.Setenv("BLOG_TOKEN", token)
		first, stop := startServe(t, "blog", "--token-env", "BLOG_TOKEN", "--port", "0")
		if n, err := flightCount(t, first, token, "posts"); err != nil || n != want {
			t.Errorf("with the token: %d, %v; want %d", n, err, want)
		}
		for _, bad := range []string{"", "serve-tok-5e1f0"} {
			if _, err := flightCount(t, first, bad, "posts"); status.Code(err) != codes.Unauthenticated {
				t.Errorf("with token %q: %v, want Unauthenticated", bad, err)
			}
		}
		r := stop()
		if strings.Contains(r.stdout+r.stderr, token) {
			t.Errorf("the token is in the output: %s %s", r.stdout, r.stderr)
		}
		if r.code != 0 || !strings.Contains(r.stderr, "Bearer $BLOG_TOKEN") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("any host with a token", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, "serve-tok-any-host")
		first, stop := startServe(t, "blog", "--host", "0.0.0.0")
		port := first[strings.LastIndex(first, ":")+1:]
		if !strings.HasPrefix(first, "grpc://0.0.0.0:") {
			t.Errorf("first line %q", first)
		}
		if n, err := flightCount(t, "127.0.0.1:"+port, "serve-tok-any-host", "posts"); err != nil || n != want {
			t.Errorf("posts: %d, %v", n, err)
		}
		stop()
	})

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"any host without a token", nil, []string{"blog", "--host", "0.0.0.0"}, exitUsage,
			"--host 0.0.0.0 is not a loopback address: set SLUICE_SERVE_TOKEN"},
		{"token variable unset", nil, []string{"blog", "--token-env", "NO_SUCH_TOKEN"}, exitUsage,
			"the environment variable NO_SUCH_TOKEN is not set or empty"},
		{"bad port", nil, []string{"blog", "--port", "70000"}, exitUsage, "--port 70000"},
		{"unknown pipeline", nil, []string{"nope"}, exitFailure, `pipeline "nope" not found`},
		{"no pipeline", nil, nil, exitUsage, "expected a pipeline name"},
		{"dataset gone", map[string]string{"drop": "yes"}, []string{"blog"}, exitFailure, "serve: pipeline blog: dataset blog_data not found in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env["drop"] != "" { // the last case: the dataset goes for good
				execDB(t, e.db, "DROP SCHEMA blog_data CASCADE")
			}
			r := sluice(t, context.Background(), "", append([]string{"serve"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want %d and one line with %q", r.code, r.stderr, tc.code, tc.msg)
			}
		})
	}
}

// execDB runs a statement on a DuckDB file.
func execDB(t *testing.T, path, q string) {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestServeParquet(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	bucket := e.dir + "/bucket"
	spec := strings.Replace(blogSpec(api.URL, e.db), `destination: {type: duckdb, path: "`+e.db+`"}`,
		`destination: {type: parquet, bucket_url: "`+bucket+`"}`, 1)
	if !strings.Contains(spec, bucket) {
		t.Fatal("spec has no parquet destination")
	}
	if r := sluice(t, context.Background(), "", "run", writeSpec(t, spec)); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	first, stop := startServe(t, "blog")
	for table, want := range map[string]int64{"posts": 25, "comments": 50, "blog_data.posts__tags": 50} {
		if n, err := flightCount(t, first, "", table); err != nil || n != want {
			t.Errorf("%s: %d, %v; want %d", table, n, err, want)
		}
	}
	if r := stop(); r.code != 0 {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	// export reads a Parquet dataset too.
	r := sluice(t, context.Background(), "", "pipeline", "blog", "export", "posts", "--format", "ndjson")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 25 || !strings.HasPrefix(r.stdout, `{"id":`) {
		t.Errorf("export: exit %d, %d lines: %.200s %s", r.code, strings.Count(r.stdout, "\n"), r.stdout, r.stderr)
	}
}

// TestServeInterrupt: the sluice binary serves until SIGINT, then exits 0.
func TestServeInterrupt(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	if r := sluice(t, context.Background(), "", "run", writeSpec(t, blogSpec(api.URL, e.db))); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	cmd := exec.Command(sluiceBinary(t), "serve", "blog")
	cmd.Dir = e.dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	first, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !serveURLRE.MatchString(first) {
		t.Fatalf("first line %q, %v; stderr %s", first, err, errb.String())
	}
	if n, err := flightCount(t, first, "", "posts"); err != nil || n != 25 {
		t.Errorf("posts: %d, %v", n, err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGINT: %v; stderr %s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "Stopped.") {
		t.Errorf("stderr %q", errb.String())
	}
}
