// Package parquetsql is the SQL engine of the Parquet destination: DuckDB
// (through cgo) over a dataset's files, for DatasetReader.Query (sluice
// pipeline show, serve) and for imports of CSV and JSONL files. Package
// parquet itself is pure Go; a program that wants SQL wires it in:
//
//	dest := parquet.New(bucket, parquet.WithSQL(parquetsql.DuckDB()))
package parquetsql

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/sink/internal/sqlarrow"
	"github.com/sluicehq/sluice/sink/parquet"
)

// DuckDB returns the DuckDB engine.
func DuckDB() parquet.SQL { return engine{} }

type engine struct{}

// Column types of the system views, as the DuckDB sink creates the tables.
var systemColumns = map[string]string{
	"_dlt_loads":          `{'load_id': 'VARCHAR', 'schema_name': 'VARCHAR', 'status': 'BIGINT', 'inserted_at': 'TIMESTAMP WITH TIME ZONE', 'schema_version_hash': 'VARCHAR'}`,
	"_dlt_pipeline_state": `{'version': 'BIGINT', 'engine_version': 'BIGINT', 'pipeline_name': 'VARCHAR', 'state': 'VARCHAR', 'created_at': 'TIMESTAMP WITH TIME ZONE', 'version_hash': 'VARCHAR', '_dlt_load_id': 'VARCHAR'}`,
	"_dlt_version":        `{'version': 'BIGINT', 'engine_version': 'BIGINT', 'inserted_at': 'TIMESTAMP WITH TIME ZONE', 'schema_name': 'VARCHAR', 'version_hash': 'VARCHAR', 'schema': 'VARCHAR'}`,
}

// Open opens an in-memory DuckDB database with one view per table:
// read_parquet over the table's files with union_by_name, so files written
// before a column was added read it as NULL; the system tables are views
// over their JSON files.
func (engine) Open(ctx context.Context, views []parquet.View, mem memory.Allocator) (parquet.Session, error) {
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("parquetsql: %w", err)
	}
	s := &session{conn: c, db: sql.OpenDB(c), mem: mem}
	for _, v := range views {
		q := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(%s, union_by_name = true)", quote(v.Name), pathList(v.Files))
		if v.System {
			cols, ok := systemColumns[v.Name]
			if !ok {
				s.Close()
				return nil, fmt.Errorf("parquetsql: unknown system table %q", v.Name)
			}
			q = fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_json(%s, format = 'newline_delimited', columns = %s)", quote(v.Name), pathList(v.Files), cols)
		}
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			s.Close()
			return nil, fmt.Errorf("parquetsql: table %s: %w", v.Name, err)
		}
	}
	return s, nil
}

// ReadFile reads a CSV or JSONL file with DuckDB's type detection.
func (engine) ReadFile(ctx context.Context, format, path string) (array.RecordReader, error) {
	from := "read_csv(" + lit(path) + ", header = true)"
	if format == "jsonl" {
		from = "read_json(" + lit(path) + ", format = 'newline_delimited')"
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("parquetsql: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("parquetsql: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT * FROM "+from)
	if err != nil {
		conn.Close()
		db.Close()
		return nil, fmt.Errorf("parquetsql: read %s: %w", path, err)
	}
	// The reader closes the connection and the database after the rows.
	rr, err := sqlarrow.NewReader(memory.DefaultAllocator, rows, sqlarrow.WithCloser(closers{conn, db}))
	if err != nil {
		return nil, fmt.Errorf("parquetsql: read %s: %w", path, err)
	}
	return rr, nil
}

type closers []interface{ Close() error }

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type session struct {
	conn *duckdb.Connector
	db   *sql.DB
	mem  memory.Allocator
}

func (s *session) Query(ctx context.Context, q string) (array.RecordReader, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return sqlarrow.Query(ctx, s.mem, conn, q)
}

func (s *session) Close() error {
	err := s.db.Close()
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// quote quotes an SQL identifier.
func quote(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

// lit is an SQL string literal.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pathList is an SQL list of string literals.
func pathList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = lit(filepath.ToSlash(p))
	}
	return "[" + strings.Join(q, ", ") + "]"
}
