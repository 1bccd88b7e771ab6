package main

import (
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/parquet/parquetsql"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// The bucket and prefix the S3 tests load to.
const (
	s3Bucket = "lake"
	s3Prefix = "raw"
	s3URL    = "s3://" + s3Bucket + "/" + s3Prefix
)

// s3Env is an S3 test's versitygw server (with its bucket), working dir
// and API.
type s3Env struct {
	*env
	srv sinktest.S3Server
	api *blogAPI
}

// awsEnvVars are the AWS variables the tests set or clear.
var awsEnvVars = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"}

// isolateAWS clears the AWS environment for the test and points the SDK
// away from the machine's ~/.aws and instance metadata, so that only what
// a test sets is found.
func isolateAWS(t *testing.T) {
	for _, k := range awsEnvVars {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// setAWSEnv sets the AWS environment that reaches srv.
func setAWSEnv(t *testing.T, srv sinktest.S3Server) {
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.Endpoint)
	t.Setenv("AWS_REGION", srv.Region)
}

func newS3Env(t *testing.T) *s3Env {
	srv := sinktest.Versitygw(t)
	srv.CreateBucket(t, s3Bucket)
	e := &s3Env{env: setup(t), srv: srv, api: newBlogAPI(t)}
	isolateAWS(t)
	// The spec reads the key pair as secrets.
	t.Setenv("S3_KEY", srv.AccessKey)
	t.Setenv("S3_SECRET", srv.SecretKey)
	return e
}

// s3Spec is blogSpec loading to bucketURL on the env's server, posts by
// merge and comments by replace; creds is the destination's credentials
// mapping.
func (e *s3Env) s3Spec(bucketURL, creds string) string {
	return fmt.Sprintf(`pipeline_name: blog
dataset_name: blog_data
destination:
  type: filesystem
  bucket_url: %s
  credentials: %s
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
      write_disposition: merge
      endpoint: {path: posts}
    - name: comments
      write_disposition: replace
      endpoint:
        path: "posts/{resources.posts.id}/comments"
`, bucketURL, creds, e.api.URL+"/")
}

// specCreds is the credentials mapping with the key pair as secrets.
func (e *s3Env) specCreds() string {
	return fmt.Sprintf(`{aws_access_key_id: "${S3_KEY}", aws_secret_access_key: "${S3_SECRET}", endpoint_url: %q, region_name: %s}`,
		e.srv.Endpoint, e.srv.Region)
}

// credentials are the values that must never show.
func (e *s3Env) credentials() []string { return []string{e.srv.AccessKey, e.srv.SecretKey} }

// noCredentials fails the test for each credential in text.
func (e *s3Env) noCredentials(t *testing.T, where, text string) {
	t.Helper()
	for _, c := range e.credentials() {
		if strings.Contains(text, c) {
			t.Errorf("credential %q in %s", c, where)
		}
	}
}

// dataset opens the loaded dataset through the destination's reader, SQL
// on DuckDB over the downloaded files.
func (e *s3Env) dataset(t *testing.T) *readerQuerier {
	t.Helper()
	d := parquet.New(s3URL, parquet.WithSQL(parquetsql.DuckDB()), parquet.WithCredentials(parquet.Credentials{
		AccessKeyID: e.srv.AccessKey, SecretAccessKey: e.srv.SecretKey, EndpointURL: e.srv.Endpoint, Region: e.srv.Region}))
	t.Cleanup(func() { d.Close() })
	r, err := d.OpenDataset(t.Context(), "blog_data")
	if err != nil {
		t.Fatalf("open the dataset on S3: %v", err)
	}
	q := &readerQuerier{r: r}
	t.Cleanup(q.close)
	return q
}

// objects returns every object of the bucket by key.
func (e *s3Env) objects(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	c := e.srv.Client()
	for _, k := range e.srv.Keys(t, s3Bucket, "") {
		o, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		b, err := io.ReadAll(o.Body)
		o.Body.Close()
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		out[k] = b
	}
	return out
}

var s3LoadInfoRE = regexp.MustCompile(`(?m)^The filesystem destination used (\S+) location to store data\nLoad package ([0-9]+\.[0-9]+) is LOADED and contains no failed jobs$`)

// TestS3RunEndToEnd runs a spec loading to s3:// on versitygw twice: rows
// land, _dlt_loads holds each load the load info names, merge and replace
// give the right rows on the second run, and no credential appears in the
// output, the working state or the bucket.
func TestS3RunEndToEnd(t *testing.T) {
	e := newS3Env(t)
	specPath := writeSpec(t, e.s3Spec(s3URL, e.specCreds()))
	var loadIDs []string
	for run := 1; run <= 2; run++ {
		r := sluice(t, t.Context(), "", "run", specPath)
		if r.code != 0 {
			t.Fatalf("run %d: exit %d: %s", run, r.code, r.stderr)
		}
		e.noCredentials(t, fmt.Sprintf("run %d output", run), r.stdout+r.stderr)
		m := s3LoadInfoRE.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("run %d: load info:\n%s", run, r.stdout)
		}
		if m[1] != s3URL {
			t.Errorf("run %d: location %s, want %s", run, m[1], s3URL)
		}
		loadIDs = append(loadIDs, m[2])

		q := e.dataset(t)
		var loads []string
		for _, row := range mustQuery(t, q, "SELECT load_id FROM _dlt_loads WHERE status = 0 ORDER BY load_id") {
			loads = append(loads, row[0])
		}
		if strings.Join(loads, ",") != strings.Join(loadIDs, ",") {
			t.Errorf("run %d: _dlt_loads %v, load info said %v", run, loads, loadIDs)
		}
		for query, want := range map[string]string{
			// merge keeps one row per id; replace keeps the last load's.
			"SELECT count(*), count(DISTINCT id) FROM posts":                         "25 25",
			"SELECT count(*) FROM posts__tags":                                       "50",
			"SELECT count(*), count(DISTINCT id) FROM comments":                      "50 50",
			"SELECT count(DISTINCT _dlt_load_id) FROM comments":                      "1",
			"SELECT max(_dlt_load_id) = '" + m[2] + "' FROM comments":                "true",
			"SELECT max(author__age) FROM posts":                                     "32",
			"SELECT string_agg(DISTINCT value, ',' ORDER BY value) FROM posts__tags": "a,b",
		} {
			rows := mustQuery(t, q, query)
			if got := strings.Join(rows[0], " "); got != want {
				t.Errorf("run %d: %s = %s, want %s", run, query, got, want)
			}
		}
	}

	// The working state and the bucket (state, schemas, data) hold no
	// credential.
	err := filepath.WalkDir(e.pipelines, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		e.noCredentials(t, p, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	objs := e.objects(t)
	if len(objs) == 0 {
		t.Fatal("nothing in the bucket")
	}
	for k, b := range objs {
		if !strings.HasPrefix(k, s3Prefix+"/blog_data/") {
			t.Errorf("object %s outside %s/blog_data/", k, s3Prefix)
		}
		e.noCredentials(t, "object "+k, string(b))
	}
	for _, table := range []string{"_dlt_loads", "_dlt_pipeline_state", "_dlt_version", "posts", "posts__tags", "comments"} {
		if !hasKeyUnder(objs, s3Prefix+"/blog_data/"+table+"/") {
			t.Errorf("no object under %s/blog_data/%s/", s3Prefix, table)
		}
	}
}

func hasKeyUnder(objs map[string][]byte, prefix string) bool {
	for k := range objs {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// TestS3PipelineCommands: info and export of an s3:// dataset read it with
// the AWS environment's credentials (the working state keeps none), and
// fail with one line naming what is missing without them; drop without
// credentials keeps the data and the working state.
func TestS3PipelineCommands(t *testing.T) {
	e := newS3Env(t)
	if r := sluice(t, t.Context(), "", "run", writeSpec(t, e.s3Spec(s3URL, e.specCreds()))); r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}

	t.Run("with AWS env", func(t *testing.T) {
		setAWSEnv(t, e.srv)
		r := sluice(t, t.Context(), "", "pipeline", "blog", "info")
		if r.code != 0 {
			t.Fatalf("info: exit %d: %s", r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		for _, want := range []string{"destination: filesystem", "location: " + s3URL, "last loads: 1 of 1",
			"tables: 3", "comments 50", "posts 25", "posts__tags 50"} {
			if !contains(lines, want) {
				t.Errorf("info lacks line %q:\n%s", want, r.stdout)
			}
		}
		e.noCredentials(t, "info output", r.stdout+r.stderr)

		r = sluice(t, t.Context(), "", "pipeline", "blog", "export", "posts", "--format", "csv")
		if r.code != 0 {
			t.Fatalf("export: exit %d: %s", r.code, r.stderr)
		}
		rows := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(rows) != 26 || !strings.HasPrefix(rows[0], "id,") || !strings.Contains(rows[0], ",author__name,") {
			t.Errorf("export csv: %d lines, header %q", len(rows), rows[0])
		}
		e.noCredentials(t, "export output", r.stdout+r.stderr)

		// show's browser lists the tables from the bucket.
		info, _, err := findPipeline("NAME", "blog", e.pipelines)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		newBrowser(info).ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/api/tables", nil))
		if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, `{"name":"posts","rows":25}`) {
			t.Errorf("show /api/tables: %d %s", rec.Code, body)
		}

		// serve reads local files only: it says so.
		r = sluice(t, t.Context(), "", "serve", "blog")
		if want := "only local Parquet buckets can be served, not " + s3URL; r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("serve: exit %d: %q, want %q", r.code, r.stderr, want)
		}
	})

	tests := []struct {
		name string
		env  map[string]string
		want []string // in the error line
	}{
		{"no AWS env", nil, []string{`pipeline "blog": no credentials for ` + s3URL + ": AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"}},
		{"no secret key", map[string]string{"AWS_ACCESS_KEY_ID": e.srv.AccessKey, "AWS_ENDPOINT_URL_S3": e.srv.Endpoint},
			[]string{"no credentials for " + s3URL + ": AWS_SECRET_ACCESS_KEY is not set"}},
		{"no endpoint", map[string]string{"AWS_ACCESS_KEY_ID": e.srv.AccessKey, "AWS_SECRET_ACCESS_KEY": e.srv.SecretKey, "AWS_REGION": "us-east-1"},
			[]string{s3URL + "/blog_data", "neither AWS_ENDPOINT_URL_S3 nor AWS_ENDPOINT_URL is set"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			for _, args := range [][]string{{"info"}, {"export", "posts"}, {"drop", "--yes"}} {
				r := sluice(t, t.Context(), "", append([]string{"pipeline", "blog"}, args...)...)
				line := strings.TrimSpace(r.stderr)
				if r.code != 1 || r.stdout != "" || strings.Contains(line, "\n") || strings.Contains(line, "***") {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and one line, no credential", args[0], r.code, r.stdout, r.stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(line, w) {
						t.Errorf("%s: error %q lacks %q", args[0], line, w)
					}
				}
				e.noCredentials(t, args[0]+" error", r.stderr)
			}
			// drop did not drop: the data and the working state are there.
			if _, err := os.Stat(filepath.Join(e.pipelines, "blog", "pipeline.json")); err != nil {
				t.Errorf("drop without credentials removed the working state: %v", err)
			}
			if !hasKeyUnder(e.objects(t), s3Prefix+"/blog_data/posts/") {
				t.Error("drop without credentials removed data")
			}
		})
	}

	t.Run("drop with AWS env", func(t *testing.T) {
		setAWSEnv(t, e.srv)
		r := sluice(t, t.Context(), "", "pipeline", "blog", "drop", "--yes")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Dropped dataset blog_data in "+s3URL) {
			t.Fatalf("drop: exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		if keys := e.srv.Keys(t, s3Bucket, s3Prefix+"/blog_data/"); len(keys) != 0 {
			t.Errorf("after drop: %d objects left, e.g. %s", len(keys), keys[0])
		}
	})
}

// TestS3RunErrors: a run that cannot reach its bucket fails before loading
// with one line naming the bucket (and the key it asked for), never a
// credential, and leaves nothing in the bucket.
func TestS3RunErrors(t *testing.T) {
	e := newS3Env(t)
	t.Setenv("S3_WRONG", "wrong-secret-5f1e2d3c")
	t.Setenv("S3_WRONG_KEY", "wrongkey7c4b")
	creds := func(key, secret string) string {
		return fmt.Sprintf(`{aws_access_key_id: "${%s}", aws_secret_access_key: "${%s}", endpoint_url: %q, region_name: us-east-1}`,
			key, secret, e.srv.Endpoint)
	}
	tests := []struct {
		name, bucketURL, creds string
		want                   []string
	}{
		{"wrong secret key", s3URL, creds("S3_KEY", "S3_WRONG"), []string{s3URL + "/blog_data/_dlt_loads", "403"}},
		{"wrong access key", s3URL, creds("S3_WRONG_KEY", "S3_SECRET"), []string{s3URL + "/blog_data/_dlt_loads"}},
		{"no such bucket", "s3://nosuch/raw", e.specCreds(), []string{"s3://nosuch/raw/blog_data/_dlt_loads", "NoSuchBucket"}},
		{"secret key missing", s3URL, fmt.Sprintf(`{aws_access_key_id: "${S3_KEY}", endpoint_url: %q}`, e.srv.Endpoint),
			[]string{"destination.credentials: aws_secret_access_key is missing (aws_access_key_id is given)"}},
		{"no credentials anywhere", s3URL, fmt.Sprintf(`{endpoint_url: %q}`, e.srv.Endpoint),
			[]string{"destination: no credentials for " + s3URL + ": AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SLUICE_PIPELINES_DIR", t.TempDir())
			before := e.api.requests.Load()
			r := sluice(t, t.Context(), "", "run", writeSpec(t, e.s3Spec(tc.bucketURL, tc.creds)))
			line := strings.TrimSpace(r.stderr)
			if r.code != 1 || strings.Contains(line, "\n") {
				t.Fatalf("exit %d, stderr %q; want exit 1 and one line", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("error %q lacks %q", line, w)
				}
			}
			// Nothing was masked: the error itself holds no credential.
			if strings.Contains(line, "***") {
				t.Errorf("error needed masking: %q", line)
			}
			e.noCredentials(t, "error", r.stdout+r.stderr)
			for _, s := range []string{"wrong-secret-5f1e2d3c", "wrongkey7c4b"} {
				if strings.Contains(r.stderr, s) {
					t.Errorf("credential %q in the error", s)
				}
			}
			if n := e.api.requests.Load() - before; n != 0 {
				t.Errorf("%d API requests before the bucket failed", n)
			}
			if keys := e.srv.Keys(t, s3Bucket, ""); len(keys) != 0 {
				t.Errorf("objects left in the bucket: %v", keys)
			}
		})
	}
}

// TestS3AWSEnvSecretsMasked: the values of the AWS credential variables
// are masked in what sluice prints, as a spec's secrets are, though no
// spec references them (here an error quoting a spec value that holds one).
func TestS3AWSEnvSecretsMasked(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Run(k, func(t *testing.T) {
			setup(t)
			isolateAWS(t)
			value := "awsvalue" + strings.ToLower(k[4:7]) + "9f31"
			t.Setenv(k, value)
			r := sluice(t, t.Context(), "", "run", writeSpec(t, "pipeline_name: blog\ndestination: "+value+"\nsource: {client: {base_url: \"http://127.0.0.1:1/\"}, resources: [posts]}\n"))
			if r.code != 1 || !strings.Contains(r.stderr, `unknown destination "***"`) || strings.Contains(r.stderr, value) {
				t.Errorf("exit %d, stderr %q: want the value masked", r.code, r.stderr)
			}
		})
	}
}

// TestS3RunWithAWSEnv: a spec without credentials loads with the AWS
// environment's, with or without its own endpoint_url.
func TestS3RunWithAWSEnv(t *testing.T) {
	e := newS3Env(t)
	setAWSEnv(t, e.srv)
	for i, creds := range []string{"null", fmt.Sprintf("{endpoint_url: %q}", e.srv.Endpoint)} {
		r := sluice(t, t.Context(), "", "run", writeSpec(t, e.s3Spec(s3URL, creds)))
		if r.code != 0 {
			t.Fatalf("credentials %s: exit %d: %s", creds, r.code, r.stderr)
		}
		e.noCredentials(t, "output", r.stdout+r.stderr)
		if strings.Contains(r.stdout+r.stderr, "***") {
			t.Errorf("credentials %s: masked output:\n%s%s", creds, r.stdout, r.stderr)
		}
		rows := mustQuery(t, e.dataset(t), "SELECT count(*), count(DISTINCT _dlt_load_id) FROM comments")
		if got := strings.Join(rows[0], " "); got != "50 1" {
			t.Errorf("run %d: comments (replace) = %s, want 50 rows of 1 load", i+1, got)
		}
		if loads := mustQuery(t, e.dataset(t), "SELECT count(*) FROM _dlt_loads"); loads[0][0] != fmt.Sprint(i+1) {
			t.Errorf("run %d: %s loads", i+1, loads[0][0])
		}
	}
}
