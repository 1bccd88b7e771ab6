package parquet_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob/fileblob"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/sink/sinktest"
)

// fakeS3 serves an in-process S3 (gofakes3) with one bucket.
func fakeS3(t *testing.T, bucket string) sinktest.S3Server {
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return sinktest.S3Server{Endpoint: srv.URL, AccessKey: "fakekey1", SecretKey: "fakesecret1", Region: "us-east-1"}
}

func s3Creds(s sinktest.S3Server) parquet.Credentials {
	return parquet.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey, EndpointURL: s.Endpoint, Region: s.Region}
}

// s3Servers are the servers the S3 tests run on: gofakes3 always,
// versitygw when built (see sinktest.Versitygw).
func s3Servers(t *testing.T, bucket string, fn func(t *testing.T, s sinktest.S3Server)) {
	t.Run("gofakes3", func(t *testing.T) { fn(t, fakeS3(t, bucket)) })
	t.Run("versitygw", func(t *testing.T) {
		s := sinktest.Versitygw(t)
		s.CreateBucket(t, bucket)
		fn(t, s)
	})
}

func TestS3Suite(t *testing.T) {
	s3Servers(t, "suite", func(t *testing.T, s sinktest.S3Server) {
		var n atomic.Int64
		sinktest.Run(t, func(t *testing.T) sink.Destination {
			d := newDest(fmt.Sprintf("s3://suite/run%d", n.Add(1)), parquet.WithCredentials(s3Creds(s)))
			t.Cleanup(func() { d.Close() })
			return d
		})
	})
}

// TestS3Layout: a load to S3 writes the keys a local bucket gets as files.
func TestS3Layout(t *testing.T) {
	s3Servers(t, "lay", func(t *testing.T, s sinktest.S3Server) {
		items := itemsTable(arrowbuf.Replace)
		commit := sink.Commit{State: &sink.StoredState{Version: 1, PipelineName: "p", State: "{}", Hash: "h"},
			SchemaJSON: []byte(`{"name":"test"}`), SchemaHash: "h"}
		load := func(d sink.Destination) {
			sinktest.Load(t, d, "ds", "1", commit, sinktest.Batch(t, items, []any{1, "1", "a"}))
			sinktest.Load(t, d, "ds", "2", commit, sinktest.Batch(t, items, []any{2, "2", "b"}))
		}
		local := t.TempDir()
		load(newDest(local))
		remote := newDest("s3://lay/some/prefix", parquet.WithCredentials(s3Creds(s)))
		defer remote.Close()
		load(remote)
		if got := remote.Location(); got != "s3://lay/some/prefix" {
			t.Errorf("Location %q", got)
		}
		ids := regexp.MustCompile(`\.[0-9a-f]{10}\.parquet$`)
		var want []string
		_ = filepath.WalkDir(local, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				rel, _ := filepath.Rel(local, p)
				want = append(want, ids.ReplaceAllString(filepath.ToSlash(rel), ".ID.parquet"))
			}
			return err
		})
		var got []string
		for _, k := range s.Keys(t, "lay", "some/prefix/") {
			got = append(got, ids.ReplaceAllString(strings.TrimPrefix(k, "some/prefix/"), ".ID.parquet"))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("keys on S3:\n%v\nfiles in a local bucket:\n%v", got, want)
		}
		if rows := sinktest.Rows(t, remote, "ds", "SELECT id FROM items"); len(rows) != 1 || rows[0][0] != int64(2) {
			t.Errorf("replaced table reads %v", rows)
		}
	})
}

// TestS3ErrorsHideCredentials: a bucket that refuses the credentials
// fails with an error naming the bucket and never the keys.
func TestS3ErrorsHideCredentials(t *testing.T) {
	s := sinktest.Versitygw(t)
	s.CreateBucket(t, "priv")
	for _, tc := range []struct {
		name string
		c    parquet.Credentials
	}{
		{"bad secret", parquet.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: "wrong-secret-4711", EndpointURL: s.Endpoint}},
		{"unknown key", parquet.Credentials{AccessKeyID: "AKIAUNKNOWN4711", SecretAccessKey: "wrong-secret-4711", EndpointURL: s.Endpoint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := parquet.New("s3://priv/data", parquet.WithCredentials(tc.c))
			defer d.Close()
			ctx := context.Background()
			_, err := d.Begin(ctx, sink.LoadRequest{Dataset: "ds", LoadID: "1"})
			if err == nil {
				t.Fatal("Begin with bad credentials succeeded")
			}
			_, rerr := d.OpenDataset(ctx, "ds")
			_, serr := d.LastState(ctx, "ds", "p")
			for _, e := range []error{err, rerr, serr} {
				msg := fmt.Sprint(e)
				if !strings.Contains(msg, "s3://priv/data/ds") {
					t.Errorf("error does not name the bucket and key: %s", msg)
				}
				for _, secret := range []string{tc.c.AccessKeyID, tc.c.SecretAccessKey, s.SecretKey} {
					if strings.Contains(msg, secret) {
						t.Errorf("error shows a credential: %s", msg)
					}
				}
			}
		})
	}
}

// TestOpenCredentials: the registry's factory takes dlt's credential keys.
func TestOpenCredentials(t *testing.T) {
	s := fakeS3(t, "reg")
	ok := map[string]any{"aws_access_key_id": s.AccessKey, "aws_secret_access_key": s.SecretKey,
		"endpoint_url": s.Endpoint, "region_name": s.Region}
	d, err := parquet.Open(sink.Config{Type: "filesystem", Location: "s3://reg/x", Options: map[string]any{"credentials": ok}})
	if err != nil {
		t.Fatal(err)
	}
	sinktest.Load(t, d, "ds", "1", sink.Commit{}, sinktest.Batch(t, itemsTable(arrowbuf.Append), []any{1, "1", "a"}))
	r, err := d.OpenDataset(context.Background(), "ds")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if tables, err := r.Tables(context.Background()); err != nil || len(tables) != 1 || tables[0].Rows != 1 {
		t.Errorf("Tables = %v, %v", tables, err)
	}
	// Without an SQL engine, Query says how to get one.
	if _, err := r.Query(context.Background(), "SELECT 1"); err == nil || !strings.Contains(err.Error(), "parquet.WithSQL") {
		t.Errorf("Query without SQL engine: %v", err)
	}
	for _, tc := range []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"credentials": map[string]any{"password": "hunter2"}}, `unknown key "password"`},
		{map[string]any{"credentials": map[string]any{"aws_secret_access_key": 42}}, "credentials.aws_secret_access_key: want a string"},
		{map[string]any{"credentials": "hunter2"}, "want a map"},
		{map[string]any{"layout": "x"}, `unknown destination setting "layout"`},
	} {
		_, err := parquet.Open(sink.Config{Type: "filesystem", Location: "s3://reg/x", Options: tc.opts})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%v) = %v, want %q", tc.opts, err, tc.want)
		}
	}
}

// TestS3ErrorsRedactEchoedCredentials: a server whose error messages echo
// the credentials it got (as some S3-compatible servers do) does not get
// them into sluice's errors.
func TestS3ErrorsRedactEchoedCredentials(t *testing.T) {
	const key, secret = "AKIAECHOED4711", "echoed-secret-4711"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>key %s with secret %s is not allowed</Message><AWSAccessKeyId>%s</AWSAccessKeyId></Error>`, key, secret, key)
	}))
	defer srv.Close()
	d := parquet.New("s3://echo/p", parquet.WithCredentials(parquet.Credentials{AccessKeyID: key, SecretAccessKey: secret, EndpointURL: srv.URL}))
	defer d.Close()
	_, err := d.Begin(context.Background(), sink.LoadRequest{Dataset: "ds", LoadID: "1"})
	if err == nil {
		t.Fatal("Begin succeeded on a server refusing everything")
	}
	if msg := err.Error(); strings.Contains(msg, key) || strings.Contains(msg, secret) || !strings.Contains(msg, "s3://echo/p/ds") {
		t.Errorf("error %q: want the bucket and key, no credential", msg)
	}
}

// TestWithBucket: a bucket the caller opened with any gocloud.dev driver
// (here fileblob) takes the whole suite.
func TestWithBucket(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sink.Destination {
		b, err := fileblob.OpenBucket(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return newDest("file-bucket://mine", parquet.WithBucket(b))
	})
}

// TestBatchRows: an object store gets smaller batches than a local folder,
// so the batches waiting on slower uploads take less memory.
func TestBatchRows(t *testing.T) {
	creds := parquet.WithCredentials(parquet.Credentials{AccessKeyID: "k", SecretAccessKey: "s", EndpointURL: "http://127.0.0.1:1"})
	for _, tc := range []struct {
		name string
		d    *parquet.Destination
		want int
	}{
		{"local folder", parquet.New(t.TempDir()), 25_000},
		{"file URL", parquet.New("file://" + t.TempDir()), 25_000},
		{"s3", parquet.New("s3://lake/raw", creds), 10_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.d.Close()
			if got := tc.d.BatchRows(); got != tc.want {
				t.Errorf("BatchRows() = %d, want %d", got, tc.want)
			}
		})
	}
}
