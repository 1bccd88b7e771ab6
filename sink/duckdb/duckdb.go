package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
)

// ErrLocked is wrapped by errors from opening a DuckDB file that another
// process holds.
var ErrLocked = errors.New("duckdb: database file is locked by another process")

// ErrStateChanged is wrapped by a Commit that finds the pipeline's state
// stored at its version or a newer one: another run of the pipeline (from
// another working folder) committed since this one started.
var ErrStateChanged = errors.New("duckdb: pipeline state changed during the run")

// InsertMethod selects how Write moves Arrow rows into DuckDB.
type InsertMethod int

const (
	// InsertScan feeds the Arrow arrays to INSERT ... SELECT through a Go
	// table function that fills DuckDB vectors chunk by chunk (one cgo call
	// per string value). Beware: DuckDB throws a C++ exception when it
	// cannot allocate inside that function (its memory limit reached and no
	// disk left to spill to), and an exception cannot unwind through Go:
	// the process aborts. InsertParquet has no such call.
	InsertScan InsertMethod = iota
	// InsertAppender appends row by row through the DuckDB Appender.
	InsertAppender
	// InsertParquet stages each insert, merge staging included, as an
	// uncompressed Parquet file (arrow-go's pqarrow) beside the database
	// that DuckDB reads with read_parquet: no cgo call per value, and no Go
	// code runs inside a DuckDB query. The default: measured about 15%
	// faster than InsertScan end to end (sluicebench, 1M flat rows).
	InsertParquet
)

func (m InsertMethod) String() string {
	switch m {
	case InsertScan:
		return "scan"
	case InsertAppender:
		return "appender"
	case InsertParquet:
		return "parquet"
	}
	return fmt.Sprintf("InsertMethod(%d)", int(m))
}

// Option configures a Destination.
type Option func(*Destination)

// WithInsertMethod selects the insert path (default InsertParquet).
func WithInsertMethod(m InsertMethod) Option { return func(d *Destination) { d.method = m } }

// WithAllocator sets the allocator for record batches built by readers
// (default memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) Option { return func(d *Destination) { d.mem = mem } }

// WithPreserveInsertionOrder keeps DuckDB's preserve_insertion_order setting
// on (default off, which makes inserts faster; merges keep their own order).
func WithPreserveInsertionOrder(on bool) Option { return func(d *Destination) { d.preserveOrder = on } }

// WithMemoryLimit caps DuckDB's buffer memory while a load streams its rows
// in (DuckDB's memory_limit, e.g. "256MB"; "" leaves DuckDB's default of 80%
// of RAM). DuckDB otherwise keeps every block a load writes cached, so a
// load's memory would grow with its size; past the limit it evicts written
// blocks and spills to a temp file. The limit is a floor: an insert also
// holds about one row group (122,880 rows) per thread that DuckDB cannot
// evict, so the load raises the limit for wide rows (measured: 400 text
// columns need ~1GB on 2 threads), never above DuckDB's default. Merges at
// commit, which join the whole load against the table, and file imports
// run under DuckDB's default. Default 64MB.
func WithMemoryLimit(limit string) Option { return func(d *Destination) { d.memoryLimit = limit } }

// WithLoadDuringExtract makes a load open the file at Begin and insert rows
// while the run still extracts, holding the file's lock for the whole run.
// By default a load stages its rows as Parquet files beside the database
// and opens the file only at Commit, so other processes can read it during
// the extraction (as dlt opens a destination only for its load step). The
// default is no slower (sluicebench, flat REST -> DuckDB: the same at 1M
// rows, 1.2x faster at 3M, where Commit inserts a table's 3 files in one
// statement instead of one by one): an insert while extracting stalls the
// pipeline behind it rather than overlapping the crawl.
func WithLoadDuringExtract() Option { return func(d *Destination) { d.loadDuring = true } }

// WithLockWait sets how long opening the file for a load (and for the
// state a run starts from) waits while another process holds it, a reader
// such as a BI tool or a run of another pipeline committing (default 2
// minutes; 0 fails at once). The wait ends early when the context ends.
func WithLockWait(d time.Duration) Option { return func(dst *Destination) { dst.lockWait = max(d, 0) } }

// WithLogger sets the logger that tells of a wait for the file's lock
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(d *Destination) { d.log = l } }

// Destination loads into one DuckDB file. It is safe for concurrent use and
// holds no open handle between calls.
type Destination struct {
	path          string
	method        InsertMethod
	mem           memory.Allocator
	preserveOrder bool
	memoryLimit   string
	loadDuring    bool
	lockWait      time.Duration
	log           *slog.Logger
}

var (
	_ sink.Destination = (*Destination)(nil)
	_ sink.BatchSizer  = (*Destination)(nil)
)

// New returns a destination for the DuckDB file at path (made absolute).
func New(path string, opts ...Option) *Destination {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	d := &Destination{path: path, mem: memory.DefaultAllocator, memoryLimit: "64MB", method: InsertParquet,
		lockWait: defaultLockWait}
	for _, o := range opts {
		o(d)
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d
}

// BatchRows is the record batch size a pipeline uses for this destination
// (sink.BatchSizer): 25,000 rows per table. Batches are staged into files
// of up to a million rows before each insert, so their size costs the
// insert nothing, while every batch in flight is memory: a 10M-row load
// peaked at ~270 MB resident with 25,000-row batches, ~320 MB with 50,000.
func (d *Destination) BatchRows() int { return 25_000 }

// Kind returns "duckdb".
func (d *Destination) Kind() string { return "duckdb" }

// Location returns the absolute path of the DuckDB file.
func (d *Destination) Location() string { return d.path }

// LastState returns the newest _dlt_pipeline_state row for the pipeline.
func (d *Destination) LastState(ctx context.Context, dataset, pipeline string) (*sink.StoredState, error) {
	h, err := d.openExisting(ctx)
	if err != nil {
		return nil, err
	}
	defer h.release()
	if ok, err := tableExists(ctx, h.db, dataset, "_dlt_pipeline_state"); err != nil || !ok {
		if err == nil {
			err = sink.ErrNoState
		}
		return nil, err
	}
	q := fmt.Sprintf(`SELECT version, engine_version, pipeline_name, state, version_hash, created_at
		FROM %s WHERE pipeline_name = ? ORDER BY version DESC, created_at DESC LIMIT 1`,
		h.q(dataset, "_dlt_pipeline_state"))
	var s sink.StoredState
	var hash sql.NullString
	err = h.db.QueryRowContext(ctx, q, pipeline).Scan(&s.Version, &s.EngineVersion, &s.PipelineName, &s.State, &hash, &s.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sink.ErrNoState
	}
	if err != nil {
		return nil, fmt.Errorf("duckdb: read state of %q from %s: %w", pipeline, d.path, err)
	}
	s.Hash = hash.String
	s.CreatedAt = s.CreatedAt.UTC()
	return &s, nil
}

// LastSchema returns the newest schema stored in _dlt_version for schemaName.
func (d *Destination) LastSchema(ctx context.Context, dataset, schemaName string) ([]byte, error) {
	h, err := d.openExisting(ctx)
	if err != nil {
		return nil, err
	}
	defer h.release()
	if ok, err := tableExists(ctx, h.db, dataset, "_dlt_version"); err != nil || !ok {
		if err == nil {
			err = sink.ErrNoState
		}
		return nil, err
	}
	q := fmt.Sprintf(`SELECT schema FROM %s WHERE schema_name = ? ORDER BY version DESC, inserted_at DESC LIMIT 1`,
		h.q(dataset, "_dlt_version"))
	var s string
	err = h.db.QueryRowContext(ctx, q, schemaName).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sink.ErrNoState
	}
	if err != nil {
		return nil, fmt.Errorf("duckdb: read schema %q from %s: %w", schemaName, d.path, err)
	}
	return []byte(s), nil
}

// openExisting opens the file if it exists; a missing file is ErrNoState.
func (d *Destination) openExisting(ctx context.Context) (*handle, error) {
	if _, err := os.Stat(d.path); errors.Is(err, os.ErrNotExist) {
		return nil, sink.ErrNoState
	}
	return d.acquireWait(ctx)
}

// lockHolder finds the holder in DuckDB's lock error.
var lockHolder = regexp.MustCompile(`Conflicting lock is held in (.+?) \(PID (\d+)\)`)

// handle is one process-wide open DuckDB instance for a file, shared by the
// loads and readers that use it at the same time and closed by the last.
type handle struct {
	path    string
	catalog string // the file's catalog name, to qualify every table
	// memoryBytes is DuckDB's own memory_limit, read before any load sets
	// one; threads is DuckDB's thread count.
	memoryBytes int64
	threads     int
	conn        *duckdb.Connector
	db          *sql.DB
	refs        int
}

var handles = struct {
	sync.Mutex
	m map[string]*handle
}{m: map[string]*handle{}}

func acquire(path string) (*handle, error) {
	handles.Lock()
	defer handles.Unlock()
	if h := handles.m[path]; h != nil {
		h.refs++
		return h, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock") {
			// One short line: who holds it, not DuckDB's whole message
			// (which repeats the path and links to its docs).
			if m := lockHolder.FindStringSubmatch(msg); m != nil {
				return nil, fmt.Errorf("duckdb: open %s: %w (held by PID %s, %s)", path, ErrLocked, m[2], m[1])
			}
			return nil, fmt.Errorf("duckdb: open %s: %w: %v", path, ErrLocked, err)
		}
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	h := &handle{path: path, conn: c, db: sql.OpenDB(c), refs: 1}
	if err := registerScan(h.db); err != nil {
		_ = h.db.Close()
		_ = c.Close()
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	var memory string
	err = h.db.QueryRow("SELECT current_database(), current_setting('memory_limit'), current_setting('threads')").
		Scan(&h.catalog, &memory, &h.threads)
	if err == nil {
		h.memoryBytes, err = parseSize(memory)
	}
	if err != nil {
		_ = h.db.Close()
		_ = c.Close()
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	returnFreedMemory()
	handles.m[path] = h
	return h, nil
}

func (h *handle) release() error {
	handles.Lock()
	defer handles.Unlock()
	h.refs--
	if h.refs > 0 {
		return nil
	}
	delete(handles.m, h.path)
	err := h.db.Close()
	if cerr := h.conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("duckdb: close %s: %w", h.path, err)
	}
	return nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// tableColumns returns the columns of catalog.schema.table in order, or nil
// when the table does not exist.
func tableColumns(ctx context.Context, q queryer, catalog, schema, table string) ([]string, error) {
	cat := "current_database()"
	if catalog != "" {
		cat = "?"
	}
	query := `SELECT column_name FROM duckdb_columns() WHERE database_name = ` + cat +
		` AND schema_name = ? AND table_name = ? ORDER BY column_index`
	args := []any{schema, table}
	if catalog != "" {
		args = append([]any{catalog}, args...)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

func tableExists(ctx context.Context, q queryer, schema, table string) (bool, error) {
	cols, err := tableColumns(ctx, q, "", schema, table)
	return len(cols) > 0, err
}

// quote quotes an SQL identifier.
func quote(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

// qualify returns "schema"."table".
func qualify(schema, table string) string { return quote(schema) + "." + quote(table) }

// q returns "catalog"."schema"."table" for a table of the file: a schema
// named like the file would make "schema"."table" ambiguous.
func (h *handle) q(schema, table string) string {
	return quote(h.catalog) + "." + qualify(schema, table)
}

// SQLType returns the DuckDB column type for a dlt column.
func SQLType(c *arrowbuf.Column) string {
	switch c.DataType {
	case arrowbuf.TypeBigint:
		return "BIGINT"
	case arrowbuf.TypeDouble:
		return "DOUBLE"
	case arrowbuf.TypeBool:
		return "BOOLEAN"
	case arrowbuf.TypeText:
		return "VARCHAR"
	case arrowbuf.TypeTimestamp:
		if c.Timezone != nil && !*c.Timezone {
			return "TIMESTAMP"
		}
		return "TIMESTAMP WITH TIME ZONE"
	case arrowbuf.TypeDate:
		return "DATE"
	case arrowbuf.TypeTime:
		return "TIME"
	case arrowbuf.TypeDecimal:
		// The records' Arrow type decides (a scale without a precision
		// keeps its scale), so column and values agree.
		if d, ok := arrowbuf.ArrowType(c).(*arrow.Decimal128Type); ok {
			return fmt.Sprintf("DECIMAL(%d,%d)", d.Precision, d.Scale)
		}
		return "DECIMAL(38,9)"
	case arrowbuf.TypeJSON:
		return "JSON"
	case arrowbuf.TypeBinary:
		return "BLOB"
	case arrowbuf.TypeWei:
		return "DECIMAL(38,0)"
	}
	return "VARCHAR"
}
