package sink

import (
	"context"
	"errors"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/arrowbuf"
)

// ErrNoState is returned by Destination.LastState when the dataset holds no
// state for the pipeline.
var ErrNoState = errors.New("sink: no stored pipeline state")

// Destination loads normalized batches into a dataset. Implementations live in
// sink/ (duckdb, parquet). A Destination holds no open resources between
// calls: each Load and each DatasetReader opens what it needs and releases it
// when it ends, so another process can read the data after a run.
type Destination interface {
	// Kind names the destination type as dlt does: "duckdb", "filesystem".
	Kind() string
	// Location is where data lands: the DuckDB file path or the bucket URL.
	Location() string
	// Begin starts one atomic load. Nothing written through the Load is
	// visible to readers until Commit returns nil. Run begins the load
	// before extracting; a destination that locks its storage may stage
	// what Write gets and open the storage only at Commit (DuckDB does, so
	// other processes can read the dataset while a run extracts).
	Begin(ctx context.Context, req LoadRequest) (Load, error)
	// LastState returns the newest pipeline state stored in the dataset for
	// the pipeline, or ErrNoState.
	LastState(ctx context.Context, dataset, pipeline string) (*StoredState, error)
	// LastSchema returns the newest schema stored in the dataset's
	// _dlt_version table (dlt's schema JSON), or ErrNoState.
	LastSchema(ctx context.Context, dataset, schemaName string) ([]byte, error)
	// OpenDataset opens the dataset for reading.
	OpenDataset(ctx context.Context, dataset string) (DatasetReader, error)
}

// BatchSizer is implemented by a Destination that loads best from record
// batches of a given number of rows per table. A pipeline uses it unless
// the BatchRows option is given.
type BatchSizer interface {
	BatchRows() int
}

// LoadRequest describes the load Begin starts.
type LoadRequest struct {
	Dataset    string
	LoadID     string // dlt's load id: unix time with fraction, as text
	SchemaName string
	// Schema is the live schema of the run; it grows while the load runs.
	Schema *arrowbuf.Schema
	// Drop lists tables to drop at the start of the load, inside its
	// transaction (refresh drop_sources / drop_resources).
	Drop []string
	// Truncate lists tables to empty at the start of the load, inside its
	// transaction (replace resources' known tables, refresh drop_data).
	Truncate []string
	// LoaderFileFormat is the run's loader_file_format ("" for the
	// destination's own choice; "parquet" stages rows through Parquet files
	// where the destination supports it). A table's FileFormat hint wins.
	LoaderFileFormat string
}

// Load is one atomic load in progress. Write is called by one goroutine at a
// time. Exactly one of Commit or Rollback ends the load; Rollback after a
// successful Commit is a no-op, so `defer load.Rollback()` is safe.
type Load interface {
	// Write stores one normalized batch. Its Table snapshot says the table's
	// name, parent, write disposition and the columns the record carries; the
	// destination creates the table or adds missing columns first. Write
	// takes ownership of b.Record and releases it.
	//
	// Dispositions: append adds rows. replace: the first write to a table of
	// a replace family (root and nested tables) this load empties it first.
	// merge: rows are staged and upserted at commit by the root table's
	// primary key (latest row wins, also within one load) and merge key;
	// nested tables of replaced root rows are replaced through _dlt_root_id.
	// merge with neither key appends.
	Write(ctx context.Context, b arrowbuf.TableBatch) error
	// Commit makes the load visible: staged merges, truncation of replace
	// tables that received no rows, dropped tables, the _dlt_loads row
	// (status 0), the pipeline state and schema version rows, all together.
	Commit(ctx context.Context, c Commit) error
	// Rollback discards everything the load wrote.
	Rollback() error
}

// Commit is what a load records besides its rows.
type Commit struct {
	// Schema is the final schema of the run.
	Schema *arrowbuf.Schema
	// SchemaJSON is dlt's schema document stored in _dlt_version with its
	// version and hash.
	SchemaJSON    []byte
	SchemaVersion int64
	SchemaHash    string
	// Truncate lists tables to empty in this load if Write did not already
	// (root and nested tables of replace resources that ran, refresh
	// drop_data).
	Truncate []string
	// Drop lists tables to drop (refresh drop_sources / drop_resources).
	Drop []string
	// State is the pipeline state to store; nil keeps the stored one.
	State *StoredState
}

// StoredState is one row of dlt's _dlt_pipeline_state table.
type StoredState struct {
	PipelineName  string
	Version       int64
	EngineVersion int64
	// State is the state document encoded as dlt does (zlib + base64 JSON).
	State     string
	Hash      string
	CreatedAt time.Time
}

// LoadRecord is one row of _dlt_loads.
type LoadRecord struct {
	LoadID     string
	SchemaName string
	Status     int64
	InsertedAt time.Time
}

// TableInfo names a table of a dataset and counts its rows.
type TableInfo struct {
	Name string
	Rows int64
}

// DatasetReader reads a loaded dataset. Readers returned by Table and Query
// must be released by the caller; Close releases the rest.
type DatasetReader interface {
	// Tables lists the data tables (not the _dlt_* system tables) with row
	// counts, by name.
	Tables(ctx context.Context) ([]TableInfo, error)
	// Table streams a table's rows as Arrow record batches.
	Table(ctx context.Context, name string) (array.RecordReader, error)
	// Query runs a read-only SQL query over the dataset's tables.
	Query(ctx context.Context, sql string) (array.RecordReader, error)
	// Loads lists _dlt_loads rows, newest first.
	Loads(ctx context.Context) ([]LoadRecord, error)
	Close() error
}

// Dropper is implemented by a Destination that can remove a whole dataset:
// its tables, system tables and files.
type Dropper interface {
	DropDataset(ctx context.Context, dataset string) error
}
