package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/cmd/sluice/internal/spec"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/parquet"
)

// Planted credentials; both forms must stay out of everything printed.
const (
	plantedKeyID  = "AKIAPLANTED7Q2X"
	plantedSecret = "pl4nted/aws+Secret=k9"
)

// fakeFilesystem replaces the CLI's parquet (filesystem) factory for the
// test: it records each Config it gets and fails with fail's error, if
// any, or opens a local Parquet destination whose writes it records.
type fakeFilesystem struct {
	mu      sync.Mutex
	configs []sink.Config
	formats map[string]arrowbuf.TableFormat // by table, as Write saw them
}

func useFakeFilesystem(t *testing.T, fail func(sink.Config) error) *fakeFilesystem {
	f := &fakeFilesystem{formats: map[string]arrowbuf.TableFormat{}}
	r := new(sink.Registry)
	duckdb.Register(r)
	r.Register("filesystem", func(c sink.Config) (sink.Destination, error) {
		f.mu.Lock()
		f.configs = append(f.configs, c)
		f.mu.Unlock()
		if fail != nil {
			if err := fail(c); err != nil {
				return nil, err
			}
		}
		return recordingDest{parquet.New(c.Location), f}, nil
	}, "parquet")
	old := destinations
	destinations = r
	t.Cleanup(func() { destinations = old })
	return f
}

type recordingDest struct {
	sink.Destination
	f *fakeFilesystem
}

func (d recordingDest) Begin(ctx context.Context, req sink.LoadRequest) (sink.Load, error) {
	l, err := d.Destination.Begin(ctx, req)
	if err != nil {
		return nil, err
	}
	return recordingLoad{l, d.f}, nil
}

type recordingLoad struct {
	sink.Load
	f *fakeFilesystem
}

func (l recordingLoad) Write(ctx context.Context, b arrowbuf.TableBatch) error {
	l.f.mu.Lock()
	l.f.formats[b.Table.Name] = b.Table.TableFormat
	l.f.mu.Unlock()
	return l.Load.Write(ctx, b)
}

func parseSpec(t *testing.T, text string) *spec.Spec {
	t.Helper()
	s, err := spec.Parse([]byte(text), "spec.yaml", t.TempDir(), &spec.Secrets{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDestinationOptions: the spec's destination settings reach the
// factory in sink.Config.Options by their dlt names, secrets resolved.
func TestDestinationOptions(t *testing.T) {
	t.Setenv("AWS_KEY", plantedKeyID)
	t.Setenv("AWS_SECRET", plantedSecret)
	tests := []struct {
		name, dest string
		typ, loc   string
		want       map[string]any
	}{
		{"duckdb", "{type: duckdb, path: /tmp/x.duckdb}", "duckdb", "/tmp/x.duckdb", nil},
		{"local parquet", "{type: parquet, bucket_url: /tmp/o}", "parquet", "/tmp/o", nil},
		{"filesystem alias", "{type: filesystem, bucket_url: 's3://lake/raw'}", "parquet", "s3://lake/raw", nil},
		{"table_format", "{type: parquet, bucket_url: 's3://b', table_format: iceberg}", "parquet", "s3://b",
			map[string]any{"table_format": "iceberg"}},
		{"everything", `
  type: filesystem
  bucket_url: s3://lake/raw
  table_format: iceberg
  credentials:
    aws_access_key_id: "${AWS_KEY}"
    aws_secret_access_key: "${AWS_SECRET}"
    endpoint_url: http://127.0.0.1:9000
    region_name: us-east-1
  catalog: {type: sql, uri: "sqlite:///tmp/catalog.db"}`, "parquet", "s3://lake/raw",
			map[string]any{
				"table_format": "iceberg",
				"credentials": map[string]any{"aws_access_key_id": plantedKeyID, "aws_secret_access_key": plantedSecret,
					"endpoint_url": "http://127.0.0.1:9000", "region_name": "us-east-1"},
				"catalog": map[string]any{"type": "sql", "uri": "sqlite:///tmp/catalog.db"},
			}},
		{"rest catalog", "{type: parquet, bucket_url: 's3://b', catalog: {type: rest, uri: 'http://127.0.0.1:8181'}}", "parquet", "s3://b",
			map[string]any{"catalog": map[string]any{"type": "rest", "uri": "http://127.0.0.1:8181"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := useFakeFilesystem(t, nil)
			var got sink.Config
			if tt.typ == "duckdb" {
				// DuckDB's own factory: only what it is given matters.
				s := parseSpec(t, "pipeline_name: p\ndestination: "+tt.dest+"\nsource: {}\n")
				got = sink.Config{Type: s.Destination.Type, Location: s.Destination.Path, Options: destinationOptions(s.Destination)}
			} else {
				s := parseSpec(t, "pipeline_name: p\ndestination: "+tt.dest+"\nsource: {}\n")
				if _, err := newDestination(s, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
					t.Fatal(err)
				}
				if len(f.configs) != 1 {
					t.Fatalf("factory called %d times", len(f.configs))
				}
				got = f.configs[0]
			}
			if got.Type != tt.typ || got.Location != tt.loc {
				t.Errorf("type, location = %q, %q; want %q, %q", got.Type, got.Location, tt.typ, tt.loc)
			}
			if !reflect.DeepEqual(got.Options, tt.want) {
				t.Errorf("options:\n got %#v\nwant %#v", got.Options, tt.want)
			}
		})
	}
}

// TestDestinationFactoryError: the spec leaves the bucket URL's scheme to
// the destination; the factory's refusal is placed at bucket_url, before
// any request.
func TestDestinationFactoryError(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	good := blogSpec(api.URL+"/", e.db)
	duck := "destination: {type: duckdb, path: \"" + e.db + "\"}"
	tests := []struct{ name, dest, want string }{
		{"scheme no destination takes", "destination: {type: parquet, bucket_url: 'ftp://bucket/x'}",
			`sluice: spec.yaml:3:30: destination.bucket_url: parquet: `},
		{"empty file url", "destination: {type: filesystem, bucket_url: 'file://'}",
			`sluice: spec.yaml:3:33: destination.bucket_url: parquet: `},
		{"on its own lines", "destination:\n  type: parquet\n  bucket_url: ftp://bucket/x\n",
			`sluice: spec.yaml:5:3: destination.bucket_url: parquet: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSpec(t, strings.Replace(good, duck, tt.dest, 1))
			before := api.requests.Load()
			r := sluice(t, t.Context(), "", "run", path)
			got := strings.Replace(r.stderr, path, "spec.yaml", 1)
			if r.code != 1 || !strings.HasPrefix(got, tt.want) || strings.Count(got, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want one line starting %q", r.code, got, tt.want)
			}
			if n := api.requests.Load() - before; n != 0 {
				t.Errorf("%d requests made", n)
			}
		})
	}
}

// TestCredentialsNotPrinted: a run whose destination fails with an error
// that quotes its credentials (as a careless sink's bad endpoint_url
// error might) prints them masked, whether they come from the environment,
// the secrets file or the spec as they are; the factory got them.
func TestCredentialsNotPrinted(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	duck := "destination: {type: duckdb, path: \"" + e.db + "\"}"
	t.Setenv("AWS_KEY", plantedKeyID)
	if err := os.WriteFile(spec.SecretsFile, []byte("[api]\nkey = \""+fileToken+"\"\n[aws]\nsecret = \""+plantedSecret+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := map[string]string{
		"placeholders": `{aws_access_key_id: "${AWS_KEY}", aws_secret_access_key: "${aws.secret}", endpoint_url: "http://127.0.0.1:1"}`,
		"as written":   `{aws_access_key_id: "` + plantedKeyID + `", aws_secret_access_key: "` + plantedSecret + `", endpoint_url: "http://127.0.0.1:1"}`,
	}
	for name, c := range creds {
		t.Run(name, func(t *testing.T) {
			f := useFakeFilesystem(t, func(c sink.Config) error {
				cr := c.Options["credentials"].(map[string]any)
				return &endpointError{cr["endpoint_url"].(string), cr["aws_access_key_id"].(string), cr["aws_secret_access_key"].(string)}
			})
			text := strings.Replace(blogSpec(api.URL+"/", e.db), duck, "destination: {type: parquet, bucket_url: 's3://b/x', credentials: "+c+"}", 1)
			r := sluice(t, t.Context(), "", "run", writeSpec(t, text))
			if r.code != 1 || !strings.Contains(r.stderr, "destination.bucket_url: s3: endpoint http://127.0.0.1:1 refused key *** with secret ***") {
				t.Errorf("exit %d, stderr %q", r.code, r.stderr)
			}
			for _, v := range []string{plantedKeyID, plantedSecret} {
				if strings.Contains(r.stdout+r.stderr, v) {
					t.Errorf("credential %q printed: %s%s", v, r.stdout, r.stderr)
				}
			}
			if len(f.configs) != 1 {
				t.Fatalf("factory called %d times", len(f.configs))
			}
			cr := f.configs[0].Options["credentials"].(map[string]any)
			if cr["aws_access_key_id"] != plantedKeyID || cr["aws_secret_access_key"] != plantedSecret {
				t.Errorf("factory got credentials %v", cr)
			}
		})
	}
	// With the real destinations: whatever fails, no credential is printed.
	t.Run("real destination", func(t *testing.T) {
		text := strings.Replace(blogSpec(api.URL+"/", e.db), duck, "destination: {type: parquet, bucket_url: 's3://b/x', credentials: "+creds["placeholders"]+"}", 1)
		r := sluice(t, t.Context(), "", "run", writeSpec(t, text))
		if r.code == 0 {
			t.Fatalf("a run against a closed endpoint succeeded: %s", r.stdout)
		}
		for _, v := range []string{plantedKeyID, plantedSecret} {
			if strings.Contains(r.stdout+r.stderr, v) {
				t.Errorf("credential %q printed: %s%s", v, r.stdout, r.stderr)
			}
		}
	})
}

type endpointError struct{ endpoint, key, secret string }

func (e *endpointError) Error() string {
	return "s3: endpoint " + e.endpoint + " refused key " + e.key + " with secret " + e.secret
}

// TestDestinationTableFormatDefault: the destination's table_format is the
// default of resources without their own; a resource's (or
// resource_defaults') wins. It reaches the destination's writes, nested
// tables included.
func TestDestinationTableFormatDefault(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	duck := "destination: {type: duckdb, path: \"" + e.db + "\"}"
	base := strings.Replace(blogSpec(api.URL+"/", e.db), duck, "destination: {type: parquet, bucket_url: ./out, table_format: iceberg}", 1)
	tests := []struct {
		name, spec string
		want       map[string]arrowbuf.TableFormat
	}{
		{"destination default", base, map[string]arrowbuf.TableFormat{"posts": arrowbuf.Iceberg, "posts__tags": arrowbuf.Iceberg, "comments": arrowbuf.Iceberg}},
		{"resource wins", strings.Replace(base, "    - name: comments\n", "    - name: comments\n      table_format: native\n", 1),
			map[string]arrowbuf.TableFormat{"posts": arrowbuf.Iceberg, "posts__tags": arrowbuf.Iceberg, "comments": arrowbuf.Native}},
		{"resource_defaults win", strings.Replace(base, "  resource_defaults:\n", "  resource_defaults:\n    table_format: native\n", 1),
			map[string]arrowbuf.TableFormat{"posts": arrowbuf.Native, "posts__tags": arrowbuf.Native, "comments": arrowbuf.Native}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The fake factory records what the destination was given.
			f := useFakeFilesystem(t, nil)
			t.Setenv("SLUICE_PIPELINES_DIR", t.TempDir())
			os.RemoveAll(filepath.Join(e.dir, "out"))
			r := sluice(t, t.Context(), "", "run", writeSpec(t, tt.spec))
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if !reflect.DeepEqual(f.formats, tt.want) {
				t.Errorf("Write saw table formats %v, want %v", f.formats, tt.want)
			}
			if got := f.configs[0].Options["table_format"]; got != "iceberg" {
				t.Errorf("Options[table_format] = %v", got)
			}
		})
	}
}
