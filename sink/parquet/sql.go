package parquet

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ErrNoSQL is wrapped by the errors of what needs an SQL engine when the
// destination has none: DatasetReader.Query and imports of CSV and JSONL
// files. The package itself is pure Go; DuckDB, which needs cgo, comes
// from package parquetsql through WithSQL.
var ErrNoSQL = errors.New("no SQL engine for Parquet datasets")

// SQL runs SQL over Parquet and JSON files. Package parquetsql implements
// it with DuckDB.
type SQL interface {
	// Open starts a read-only session in which each view is a table over
	// its files, named like the table.
	Open(ctx context.Context, views []View, mem memory.Allocator) (Session, error)
	// ReadFile streams a CSV (with a header) or JSONL file as record
	// batches, with the column types the engine detects.
	ReadFile(ctx context.Context, format, path string) (array.RecordReader, error)
}

// View is a table of a dataset for SQL: local files, all Parquet, or for
// System tables (_dlt_loads, _dlt_pipeline_state, _dlt_version) the
// files of dlt's JSON documents.
type View struct {
	Name   string
	Files  []string
	System bool
}

// Session is an open SQL session over views.
type Session interface {
	Query(ctx context.Context, sql string) (array.RecordReader, error)
	Close() error
}

// WithSQL gives the destination an SQL engine, for DatasetReader.Query
// (sluice pipeline show, serve) and for imports of CSV and JSONL files:
// parquet.WithSQL(parquetsql.DuckDB()).
func WithSQL(e SQL) Option { return func(d *Destination) { d.sql = e } }
