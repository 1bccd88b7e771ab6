package serve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// countPosts counts the posts through the server.
func countPosts(t *testing.T, cl *client) int64 {
	t.Helper()
	tbl, err := cl.query(context.Background(), "SELECT count(*) AS n FROM posts")
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	return columnOf(t, tbl, "n").(*array.Int64).Value(0)
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := newDuckDBFixture(t, dir)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside+".csv", []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	execDuckDB(t, filepath.Join(dir, "other.duckdb"), "CREATE TABLE t AS SELECT 1 AS x")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, DuckDBFile(path, testDataset), Options{})
	cl := newClient(t, srv.addr, "")
	written := filepath.Join(dir, "written")
	for _, q := range []string{
		"INSERT INTO posts (id) VALUES (1)",
		"UPDATE posts SET title = 'x'",
		"DELETE FROM posts",
		"DROP TABLE posts",
		"ALTER TABLE posts ADD COLUMN z INTEGER",
		"CREATE TABLE x AS SELECT 1",
		"CREATE TEMP TABLE x AS SELECT 1",
		"CREATE VIEW v AS SELECT 1",
		"CREATE MACRO m(a) AS a",
		"CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')",
		"ATTACH '" + filepath.Join(dir, "other.duckdb") + "' AS o",
		"ATTACH ':memory:' AS m",
		"DETACH blog",
		"USE memory",
		"COPY posts TO '" + written + ".csv'",
		"COPY (SELECT 1) TO '" + written + ".parquet' (FORMAT parquet)",
		"EXPORT DATABASE '" + written + "'",
		"SET threads = 1",
		"SET enable_external_access = true",
		"RESET lock_configuration",
		"PRAGMA enable_profiling",
		"SET profiling_output = '" + written + ".json'",
		"INSTALL httpfs",
		"LOAD httpfs",
		"CHECKPOINT",
		"BEGIN TRANSACTION",
		"CALL pragma_version()",
		"SELECT * FROM read_csv('" + outside + ".csv')",
		"SELECT * FROM read_text('/etc/hostname')",
		"SELECT * FROM read_blob('" + filepath.Join(dir, "other.duckdb") + "')",
		"SELECT * FROM glob('/*')",
		"SELECT * FROM read_parquet('" + outside + ".parquet')",
		"SELECT 1; DROP TABLE posts",
		"SELECT * FROM posts; DELETE FROM posts",
	} {
		t.Run(q, func(t *testing.T) {
			_, err := cl.query(context.Background(), q)
			switch status.Code(err) {
			case codes.PermissionDenied:
			case codes.InvalidArgument:
				// Several statements at once: DuckDB prepares one only.
				if !strings.Contains(err.Error(), "multiple statements") {
					t.Errorf("InvalidArgument, want PermissionDenied: %v", err)
				}
			default:
				t.Errorf("got %v, want PermissionDenied", err)
			}
		})
	}
	t.Run("Flight SQL update", func(t *testing.T) {
		_, err := cl.ExecuteUpdate(context.Background(), "DELETE FROM posts")
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("got %v, want PermissionDenied", err)
		}
	})
	t.Run("transaction", func(t *testing.T) {
		_, err := cl.BeginTransaction(context.Background())
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("got %v, want Unimplemented", err)
		}
	})
	if n := countPosts(t, cl); n != 101 {
		t.Errorf("%d posts after the refused statements, want 101", n)
	}
	if m, _ := filepath.Glob(written + "*"); len(m) > 0 {
		t.Errorf("statements wrote %v", m)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Error("the DuckDB file changed")
	}
}

func TestAuth(t *testing.T) {
	const token = "tok-3f9a-secret"
	path := newDuckDBFixture(t, t.TempDir())
	srv := startServer(t, DuckDBFile(path, testDataset), Options{Token: token})
	ctx := context.Background()
	good := newClient(t, srv.addr, token)
	info, err := good.Execute(good.ctx(ctx), "SELECT 42 AS x")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func(cl *client) error
	}{
		{"query", func(cl *client) error { _, err := cl.query(ctx, "SELECT 1"); return err }},
		{"catalogs", func(cl *client) error { _, err := cl.GetCatalogs(cl.ctx(ctx)); return err }},
		{"prepare", func(cl *client) error { _, err := cl.Prepare(cl.ctx(ctx), "SELECT 1"); return err }},
		{"sql info", func(cl *client) error {
			_, err := cl.GetSqlInfo(cl.ctx(ctx), []flightsql.SqlInfo{flightsql.SqlInfoFlightSqlServerName})
			return err
		}},
		// A ticket is no key: fetching it takes the token too.
		{"DoGet of another's ticket", func(cl *client) error { _, err := cl.fetch(ctx, info); return err }},
	}
	for _, tokenCase := range []struct{ name, token string }{
		{"no token", ""}, {"wrong token", "tok-3f9a-secreT"}, {"token prefix", "tok-3f9a"},
	} {
		cl := newClient(t, srv.addr, tokenCase.token)
		for _, tc := range tests {
			t.Run(tokenCase.name+"/"+tc.name, func(t *testing.T) {
				err := tc.call(cl)
				if status.Code(err) != codes.Unauthenticated {
					t.Fatalf("got %v, want Unauthenticated", err)
				}
				if strings.Contains(err.Error(), "tok-3f9a") {
					t.Errorf("the error shows the token: %v", err)
				}
			})
		}
	}
	t.Run("right token", func(t *testing.T) {
		tbl, err := good.fetch(ctx, info)
		if err != nil {
			t.Fatal(err)
		}
		tbl.Release()
		for _, tc := range tests[:4] {
			if err := tc.call(good); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	})
}

func TestErrors(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	srv := startServer(t, DuckDBFile(path, testDataset), Options{})
	cl := newClient(t, srv.addr, "")
	tests := []struct {
		name, query string
		code        codes.Code
		msg         string
	}{
		{"syntax", "SELEC 1", codes.InvalidArgument, `Parser Error: syntax error at or near "SELEC"`},
		{"unknown table", "SELECT * FROM nope", codes.InvalidArgument, "Catalog Error: Table with name nope does not exist"},
		{"unknown column", "SELECT nope FROM posts", codes.InvalidArgument, `Binder Error: Referenced column "nope" not found`},
		{"empty", "  ", codes.InvalidArgument, "empty query"},
		{"unsupported type", "SELECT '101'::BIT AS b", codes.InvalidArgument, `CAST("b" AS VARCHAR)`},
		// Fails while rows stream, after the first batches.
		{"during the stream", "SELECT CASE WHEN i < 300000 THEN i ELSE CAST('x' || i AS INTEGER) END FROM range(400000) t(i)",
			codes.InvalidArgument, "Conversion Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cl.query(context.Background(), tc.query)
			if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %s with %q", err, tc.code, tc.msg)
			}
		})
	}
	t.Run("unknown ticket", func(t *testing.T) {
		for _, handle := range []string{"", "nope", strings.Repeat("x", 1<<16)} {
			tkt, err := flightsql.CreateStatementQueryTicket([]byte(handle))
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.fetch(context.Background(), &flight.FlightInfo{Endpoint: []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: tkt}}}})
			if status.Code(err) != codes.NotFound {
				t.Errorf("handle %.10q: got %v, want NotFound", handle, err)
			}
		}
	})
	t.Run("garbage ticket", func(t *testing.T) {
		_, err := cl.fetch(context.Background(), &flight.FlightInfo{Endpoint: []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: []byte{0xff, 0x01, 0x02}}}}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("got %v, want InvalidArgument", err)
		}
	})
	if n := countPosts(t, cl); n != 101 {
		t.Errorf("%d posts", n)
	}
}

func TestConcurrentClients(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	srv := startServer(t, DuckDBFile(path, testDataset), Options{BatchRows: 1000})
	var g errgroup.Group
	for c := range 8 {
		cl := newClient(t, srv.addr, "")
		g.Go(func() error {
			for round := range 5 {
				lo := c*10 + round
				q := fmt.Sprintf("SELECT sum(id) AS s, count(*) AS n FROM posts WHERE id BETWEEN %d AND %d", lo, lo+20)
				tbl, err := cl.query(context.Background(), q)
				if err != nil {
					return err
				}
				s := tbl.Column(0).Data().Chunk(0).(*array.Decimal128).Value(0).BigInt().Int64()
				tbl.Release()
				want := int64(0)
				for i := lo; i <= lo+20; i++ {
					if i >= 1 && i <= 100 {
						want += int64(i)
					}
				}
				if s != want {
					return fmt.Errorf("client %d: %s: %d, want %d", c, q, s, want)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := srv.h.OpenDatabases(); n != 0 {
		t.Errorf("%d databases open after all results were read", n)
	}
}

var _ = errors.New
