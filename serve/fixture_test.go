package serve

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/sourcegraph/conc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

const testDataset = "blog_data"

// fixtureSQL builds the test dataset: a dlt-like table of each column type
// sluice loads, a nested table, a system table and a second schema.
var fixtureSQL = []string{
	`CREATE SCHEMA blog_data`,
	`CREATE SCHEMA other`,
	`CREATE TABLE blog_data.posts (id BIGINT, title VARCHAR, score DOUBLE, draft BOOLEAN,
		created_at TIMESTAMP WITH TIME ZONE, day DATE, price DECIMAL(10,2), meta JSON, raw BLOB,
		_dlt_load_id VARCHAR, _dlt_id VARCHAR)`,
	`INSERT INTO blog_data.posts SELECT i, 'post ' || i || repeat('x', i % 20), i / 4.0, i % 2 = 0,
		TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) MINUTE, DATE '2024-01-01' + i::INTEGER, (i * 1.25)::DECIMAL(10,2),
		'{"b": ' || i || ', "a": [1, 2]}', ('\xAA'::BLOB || i::VARCHAR::BLOB), '1700000000.1', 'id' || i
		FROM range(1, 101) t(i)`,
	`INSERT INTO blog_data.posts (id) VALUES (1000)`,
	`CREATE TABLE blog_data.posts__tags (value VARCHAR, _dlt_parent_id VARCHAR, _dlt_list_idx BIGINT, _dlt_id VARCHAR)`,
	`INSERT INTO blog_data.posts__tags SELECT 'tag' || (i % 3), 'id' || i, 0, 't' || i FROM range(1, 101) t(i)`,
	`CREATE TABLE blog_data._dlt_loads (load_id VARCHAR, schema_name VARCHAR, status BIGINT, inserted_at TIMESTAMP WITH TIME ZONE)`,
	`INSERT INTO blog_data._dlt_loads VALUES ('1700000000.1', 'blog', 0, now())`,
	`CREATE TABLE other.secret (x INTEGER)`,
}

// newDuckDBFixture writes the test dataset to a DuckDB file in dir.
func newDuckDBFixture(t testing.TB, dir string, extra ...string) string {
	t.Helper()
	path := filepath.Join(dir, "blog.duckdb")
	execDuckDB(t, path, append(fixtureSQL, extra...)...)
	return path
}

// execDuckDB runs statements on a DuckDB file and closes it.
func execDuckDB(t testing.TB, path string, stmts ...string) {
	t.Helper()
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	defer c.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// testServer is a Handler served on loopback for a test.
type testServer struct {
	h    *Handler
	addr string
}

func startServer(t testing.TB, src Source, opts Options, setup ...func(*Handler)) *testServer {
	t.Helper()
	srv, err := NewServer(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(srv.Handler())
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg conc.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ctx, lis); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if n := srv.Handler().OpenDatabases(); n != 0 {
			t.Errorf("%d DuckDB databases still open after the server stopped", n)
		}
	})
	return &testServer{h: srv.Handler(), addr: lis.Addr().String()}
}

// client is an arrow-go Flight SQL client sending token, if any.
type client struct {
	*flightsql.Client
	token string
}

func newClient(t testing.TB, addr, token string) *client {
	t.Helper()
	cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return &client{Client: cl, token: token}
}

func (c *client) ctx(ctx context.Context) context.Context {
	if c.token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
}

// query runs q and reads its whole result into one record (nil: no rows).
func (c *client) query(ctx context.Context, q string) (arrow.Table, error) {
	ctx = c.ctx(ctx)
	info, err := c.Execute(ctx, q)
	if err != nil {
		return nil, err
	}
	return c.fetch(ctx, info)
}

func (c *client) fetch(ctx context.Context, info *flight.FlightInfo) (arrow.Table, error) {
	ctx = c.ctx(ctx)
	if len(info.Endpoint) != 1 {
		return nil, errors.New("want one endpoint")
	}
	rdr, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for rdr.Next() {
		r := rdr.RecordBatch()
		r.Retain()
		recs = append(recs, r)
	}
	if err := rdr.Err(); err != nil {
		return nil, err
	}
	return array.NewTableFromRecords(rdr.Schema(), recs), nil
}

// duckRows runs q on the DuckDB file directly, each value as DuckDB
// prints it, for comparing with what the server sends.
func duckRows(t testing.TB, path, q string) [][]string {
	t.Helper()
	c, err := duckdb.NewConnector(path+"?access_mode=read_only", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer c.Close()
	defer db.Close()
	if _, err := db.Exec("USE blog_data"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT COLUMNS(*)::VARCHAR FROM (" + q + ")")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var _ = memory.DefaultAllocator
