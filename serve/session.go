package serve

import (
	"github.com/sluicehq/sluice/sink"

	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DatasetOpener opens a dataset for reading; a sink.Destination is one.
// Serve uses it for Parquet datasets only, to learn which files hold the
// committed rows of each table.
type DatasetOpener interface {
	OpenDataset(ctx context.Context, dataset string) (sink.DatasetReader, error)
}

// Source is the dataset a Handler serves: build it with DuckDBFile or
// ParquetFiles.
type Source struct {
	path    string // DuckDB file
	dir     string // Parquet dataset folder
	opener  DatasetOpener
	dataset string
}

// DuckDBFile serves the schema dataset of the DuckDB file at path. The file
// is attached read-only for each statement and detached when the statement's
// result is drained, so a run can commit to it in between.
func DuckDBFile(path, dataset string) Source {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return Source{path: path, dataset: dataset}
}

// ParquetFiles serves a Parquet dataset in the local folder dir (the bucket
// folder joined with the dataset name): for each statement, DuckDB reads
// the files of the committed loads that opener's reader lists, through one
// view per table in the schema dataset, and no file outside dir.
func ParquetFiles(opener DatasetOpener, dir, dataset string) Source {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return Source{dir: dir, opener: opener, dataset: dataset}
}

// Catalog is the catalog name queries see: a DuckDB file's name without its
// extension, as DuckDB names it; "memory" for a Parquet dataset.
func (s Source) Catalog() string {
	if s.path == "" {
		return "memory"
	}
	return strings.TrimSuffix(filepath.Base(s.path), filepath.Ext(s.path))
}

// Dataset is the served dataset, the default schema of every statement.
func (s Source) Dataset() string { return s.dataset }

func (s Source) String() string {
	if s.path != "" {
		return fmt.Sprintf("dataset %s in %s", s.dataset, s.path)
	}
	return fmt.Sprintf("dataset %s in %s", s.dataset, s.dir)
}

// session is the DuckDB database of one statement or metadata call: an
// in-memory database with the dataset attached read-only (or its Parquet
// files behind views), its configuration locked before any client SQL
// runs. One per statement: no client can change another's, and closing it
// lets go of the DuckDB file.
type session struct {
	db   bindings.Database
	conn bindings.Connection

	tempDir string

	mu      sync.Mutex // closed against a concurrent interrupt
	closed  bool
	release func()
}

// sqlString quotes a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ident quotes an SQL identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// openSession opens an in-memory DuckDB database and sets up src in it,
// waiting up to wait while a run holds a DuckDB file (it commits). onWait,
// if set, is called before each wait.
func openSession(ctx context.Context, src Source, memoryLimit, tempDir string, wait time.Duration, onWait func()) (*session, error) {
	s, err := newSession(memoryLimit, tempDir)
	if err != nil {
		return nil, err
	}
	if err := s.setup(ctx, src, wait, onWait); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// newSession opens an in-memory database that keeps at most memoryLimit
// in memory (DuckDB's cache of the file's blocks included) and spills big
// sorts, joins and aggregates into tempDir, its own folder, removed when
// the session closes.
func newSession(memoryLimit, tempDir string) (*session, error) {
	var cfg bindings.Config
	if bindings.CreateConfig(&cfg) == bindings.StateError {
		return nil, status.Error(codes.Internal, "serve: duckdb: cannot create a configuration")
	}
	defer bindings.DestroyConfig(&cfg)
	opts := [][2]string{{"autoinstall_known_extensions", "false"}, {"temp_directory", tempDir}}
	if memoryLimit != "" {
		opts = append(opts, [2]string{"memory_limit", memoryLimit})
	}
	for _, o := range opts {
		if bindings.SetConfig(cfg, o[0], o[1]) == bindings.StateError {
			return nil, status.Errorf(codes.InvalidArgument, "serve: duckdb setting %s = %q refused", o[0], o[1])
		}
	}
	s := &session{tempDir: tempDir}
	var msg string
	if bindings.OpenExt(":memory:", &s.db, cfg, &msg) == bindings.StateError {
		return nil, status.Errorf(codes.Internal, "serve: duckdb: open: %s", msg)
	}
	if bindings.Connect(s.db, &s.conn) == bindings.StateError {
		bindings.Close(&s.db)
		return nil, status.Error(codes.Internal, "serve: duckdb: cannot connect")
	}
	return s, nil
}

// exec runs one statement of ours, discarding its result.
func (s *session) exec(sql string) error {
	var res bindings.Result
	st := bindings.Query(s.conn, sql, &res)
	defer bindings.DestroyResult(&res)
	if st == bindings.StateError {
		return errors.New(bindings.ResultError(&res))
	}
	return nil
}

// errLocked marks an ATTACH refused because another process holds the file.
var errLocked = errors.New("serve: the DuckDB file is held by another process")

func isLockError(msg string) bool {
	return strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock")
}

func (s *session) setup(ctx context.Context, src Source, wait time.Duration, onWait func()) error {
	if src.path != "" {
		if err := s.attach(ctx, src, wait, onWait); err != nil {
			return err
		}
	} else if err := s.views(ctx, src); err != nil {
		return err
	}
	// Locked down before any client SQL: no files but the dataset's, no
	// extensions, no settings (so neither of these can be undone).
	for _, q := range []string{"SET enable_external_access = false", "SET lock_configuration = true"} {
		if err := s.exec(q); err != nil {
			return status.Errorf(codes.Internal, "serve: duckdb: %s: %v", q, err)
		}
	}
	return nil
}

// attach attaches the DuckDB file read-only. A file a run holds while it
// commits is retried until wait has passed.
func (s *session) attach(ctx context.Context, src Source, wait time.Duration, onWait func()) error {
	q := fmt.Sprintf("ATTACH %s AS %s (READ_ONLY)", sqlString(src.path), ident(src.Catalog()))
	deadline := time.Now().Add(wait)
	pause := 10 * time.Millisecond
	for {
		err := s.exec(q)
		if err == nil {
			break
		}
		if !isLockError(err.Error()) {
			return status.Errorf(codes.FailedPrecondition, "serve: open %s: %v", src.path, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return status.Errorf(codes.Unavailable, "%v: %s (a run is committing to it; try again)", errLocked, src.path)
		}
		if onWait != nil {
			onWait()
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
	if err := s.exec("USE " + ident(src.Catalog()) + "." + ident(src.dataset)); err != nil {
		return status.Errorf(codes.NotFound, "serve: dataset %s not found in %s", src.dataset, src.path)
	}
	return nil
}

// views creates the Parquet dataset's views: the ones its reader creates,
// over the files of committed loads, in the schema named like the dataset.
func (s *session) views(ctx context.Context, src Source) error {
	r, err := src.opener.OpenDataset(ctx, src.dataset)
	if err != nil {
		return status.Errorf(codes.FailedPrecondition, "serve: open %s: %v", src, err)
	}
	defer r.Close()
	rr, err := r.Query(ctx, "SELECT sql FROM duckdb_views() WHERE NOT internal AND schema_name = current_schema() ORDER BY view_name")
	if err != nil {
		return status.Errorf(codes.Internal, "serve: list the views of %s: %v", src, err)
	}
	var defs []string
	for rr.Next() {
		col, ok := rr.RecordBatch().Column(0).(*array.String)
		if !ok {
			rr.Release()
			return status.Errorf(codes.Internal, "serve: list the views of %s: sql is %s", src, rr.RecordBatch().Column(0).DataType())
		}
		for i := range col.Len() {
			defs = append(defs, col.Value(i))
		}
	}
	err = rr.Err()
	rr.Release()
	if err != nil {
		return status.Errorf(codes.Internal, "serve: list the views of %s: %v", src, err)
	}
	setup := []string{"CREATE SCHEMA " + ident(src.dataset), "USE memory." + ident(src.dataset)}
	setup = append(setup, defs...)
	setup = append(setup, "SET allowed_directories = ["+sqlString(src.dir+string(filepath.Separator))+"]")
	for _, q := range setup {
		if err := s.exec(q); err != nil {
			return status.Errorf(codes.Internal, "serve: set up %s: %v", src, err)
		}
	}
	return nil
}

// interrupt stops the statement running on the session, if it is open.
func (s *session) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		bindings.Interrupt(s.conn)
	}
}

// close closes the database, letting go of the dataset's files.
func (s *session) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	bindings.Disconnect(&s.conn)
	bindings.Close(&s.db)
	s.mu.Unlock()
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
	if s.release != nil {
		s.release()
	}
}
