package iceberg

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"

	_ "github.com/duckdb/duckdb-go/v2"
)

// fileLake opens a lake on a file:// bucket in a temp folder.
func fileLake(t testing.TB) (*Lake, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	lk, err := Open(t.Context(), b, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	return lk, dir
}

// s3Lake opens a lake on an in-process fake S3 server (gofakes3), under a
// key prefix as a user's bucket_url would have.
func s3Lake(t testing.TB) (*Lake, *blob.Bucket) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("KEY", "SECRET", ""),
	})
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	b, err := s3blob.OpenBucket(t.Context(), client, "lake", nil)
	if err != nil {
		t.Fatal(err)
	}
	pb := blob.PrefixedBucket(b, "pre/")
	t.Cleanup(func() { pb.Close() })
	lk, err := Open(t.Context(), pb, "s3://lake/pre")
	if err != nil {
		t.Fatal(err)
	}
	return lk, pb
}

// reader returns a RecordReader over rows given as JSON objects.
func reader(t testing.TB, sc *arrow.Schema, rows ...string) array.RecordReader {
	t.Helper()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader("["+strings.Join(rows, ",")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rdr.Release)
	return rdr
}

func schema(fields ...arrow.Field) *arrow.Schema { return arrow.NewSchema(fields, nil) }

func field(name string, dt arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: dt, Nullable: true}
}

// load prepares and commits one change and returns the pending change.
func load(t testing.TB, lk *Lake, w Write) *Pending {
	t.Helper()
	ctx := context.Background()
	p, err := lk.Prepare(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

// scanRows reads the table's current snapshot with iceberg-go and returns
// its rows as sorted JSON objects of the given columns (all if none).
func scanRows(t testing.TB, lk *Lake, dataset, name string, cols ...string) []string {
	t.Helper()
	tbl, err := lk.Table(context.Background(), dataset, name)
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	var out []string
	for tr.Next() {
		var buf bytes.Buffer
		if err := array.RecordToJSON(tr.RecordBatch(), &buf); err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(buf.String()) {
			out = append(out, project(t, line, cols))
		}
	}
	sort.Strings(out)
	return out
}

// project keeps cols of a JSON object (all if none), re-encoded with sorted
// keys; a column missing from it is null.
func project(t testing.TB, obj string, cols []string) string {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(obj))
	dec.UseNumber() // big integers stay exact
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if len(cols) > 0 {
		p := map[string]any{}
		for _, c := range cols {
			p[c] = m[c]
		}
		m = p
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// duckRows reads the data files of the table's current snapshot with
// DuckDB's read_parquet, as an engine without Iceberg support would, and
// returns the query's rows as text, sorted.
func duckRows(t testing.TB, lk *Lake, dir, dataset, name, query string) []string {
	t.Helper()
	files, err := lk.DataFiles(context.Background(), dataset, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		return nil
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		p, ok := strings.CutPrefix(f, "file://")
		if !ok || !strings.HasPrefix(p, dir) {
			t.Fatalf("data file %s is not under %s", f, dir)
		}
		quoted[i] = "'" + p + "'"
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := fmt.Sprintf("read_parquet([%s], union_by_name = true)", strings.Join(quoted, ","))
	rows, err := db.Query(strings.ReplaceAll(query, "$T", src))
	if err != nil {
		t.Fatal(err)
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
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
