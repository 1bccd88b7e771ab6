package parquet

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/internal/sqlarrow"
)

// reader reads a dataset through an in-memory DuckDB database holding one
// view per table over the table's files of committed loads.
type reader struct {
	d       *Destination
	dataset string
	conn    *duckdb.Connector
	db      *sql.DB
	tables  []string // data tables, sorted
	loads   []sink.LoadRecord
	closed  atomic.Bool
}

var _ sink.DatasetReader = (*reader)(nil)

// Column types of the system views, as the DuckDB sink creates the tables.
const (
	loadsColumns   = `{'load_id': 'VARCHAR', 'schema_name': 'VARCHAR', 'status': 'BIGINT', 'inserted_at': 'TIMESTAMP WITH TIME ZONE', 'schema_version_hash': 'VARCHAR'}`
	stateColumns   = `{'version': 'BIGINT', 'engine_version': 'BIGINT', 'pipeline_name': 'VARCHAR', 'state': 'VARCHAR', 'created_at': 'TIMESTAMP WITH TIME ZONE', 'version_hash': 'VARCHAR', '_dlt_load_id': 'VARCHAR'}`
	versionColumns = `{'version': 'BIGINT', 'engine_version': 'BIGINT', 'inserted_at': 'TIMESTAMP WITH TIME ZONE', 'schema_name': 'VARCHAR', 'version_hash': 'VARCHAR', 'schema': 'VARCHAR'}`
)

// OpenDataset lists the dataset's committed files and opens an in-memory
// DuckDB database with a view per table, named like the table:
// read_parquet over the table's files with union_by_name, so files written
// before a column was added read it as NULL. The system tables _dlt_loads,
// _dlt_pipeline_state and _dlt_version are views over their JSON files.
// The reader sees the files as they were when it was opened.
func (d *Destination) OpenDataset(ctx context.Context, dataset string) (sink.DatasetReader, error) {
	if d.err != nil {
		return nil, d.err
	}
	if err := checkName("dataset", dataset); err != nil {
		return nil, err
	}
	dsDir := d.datasetDir(dataset)
	loads, err := d.committedLoads(dataset)
	if err != nil {
		return nil, err
	}
	ok := committedSet(loads)
	hid, err := readHidden(dsDir, ok)
	if err != nil {
		return nil, err
	}
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("parquet: open dataset %s: %w", dataset, err)
	}
	r := &reader{d: d, dataset: dataset, conn: c, db: sql.OpenDB(c)}
	fail := func(err error) (sink.DatasetReader, error) {
		_ = r.Close()
		return nil, fmt.Errorf("parquet: open dataset %s: %w", dataset, err)
	}
	names, err := tableDirs(dsDir)
	if err != nil {
		return fail(err)
	}
	for _, n := range names {
		files, err := tableFiles(filepath.Join(dsDir, n))
		if err != nil {
			return fail(err)
		}
		var paths []string
		for _, f := range files {
			if hid.visible(f, n, ok) {
				paths = append(paths, f.path)
			}
		}
		if len(paths) == 0 {
			continue
		}
		q := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(%s, union_by_name = true)", quote(n), pathList(paths))
		if _, err := r.db.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("table %s: %w", n, err))
		}
		r.tables = append(r.tables, n)
	}
	var loadPaths []string
	for _, l := range loads {
		lr := sink.LoadRecord{LoadID: l.LoadID, SchemaName: l.SchemaName, Status: l.Status}
		lr.InsertedAt, _ = parseTime(l.InsertedAt)
		r.loads = append(r.loads, lr)
	}
	slices.SortFunc(r.loads, func(a, b sink.LoadRecord) int {
		if c := b.InsertedAt.Compare(a.InsertedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.LoadID, a.LoadID)
	})
	lf, err := listSys(filepath.Join(dsDir, loadsTable), 2)
	if err != nil {
		return fail(err)
	}
	for _, f := range lf {
		loadPaths = append(loadPaths, f.path)
	}
	sf, err := listSys(filepath.Join(dsDir, stateTable), 3)
	if err != nil {
		return fail(err)
	}
	var statePaths []string
	for _, f := range sf {
		if ok[f.parts[1]] {
			statePaths = append(statePaths, f.path)
		}
	}
	vf, err := listSys(filepath.Join(dsDir, versionTable), 3)
	if err != nil {
		return fail(err)
	}
	var versionPaths []string
	for _, f := range vf {
		versionPaths = append(versionPaths, f.path)
	}
	for _, v := range []struct {
		name, cols string
		paths      []string
	}{{loadsTable, loadsColumns, loadPaths}, {stateTable, stateColumns, statePaths}, {versionTable, versionColumns, versionPaths}} {
		if len(v.paths) == 0 {
			continue
		}
		q := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_json(%s, format = 'newline_delimited', columns = %s)", quote(v.name), pathList(v.paths), v.cols)
		if _, err := r.db.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("%s: %w", v.name, err))
		}
	}
	return r, nil
}

func (r *reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	err := r.db.Close()
	if cerr := r.conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("parquet: close dataset %s: %w", r.dataset, err)
	}
	return nil
}

// Tables lists the data tables with their row counts, by name.
func (r *reader) Tables(ctx context.Context) ([]sink.TableInfo, error) {
	out := make([]sink.TableInfo, 0, len(r.tables))
	for _, n := range r.tables {
		var c int64
		if err := r.db.QueryRowContext(ctx, "SELECT count(*) FROM "+quote(n)).Scan(&c); err != nil {
			return nil, fmt.Errorf("parquet: count %s.%s: %w", r.dataset, n, err)
		}
		out = append(out, sink.TableInfo{Name: n, Rows: c})
	}
	return out, nil
}

// Loads lists the _dlt_loads records, newest first.
func (r *reader) Loads(ctx context.Context) ([]sink.LoadRecord, error) {
	return slices.Clone(r.loads), nil
}

// Table streams a table's rows as record batches.
func (r *reader) Table(ctx context.Context, name string) (array.RecordReader, error) {
	if !slices.Contains(r.tables, name) {
		return nil, fmt.Errorf("parquet: table %s.%s does not exist", r.dataset, name)
	}
	return r.Query(ctx, "SELECT * FROM "+quote(name))
}

// Query runs sql over the views.
func (r *reader) Query(ctx context.Context, q string) (array.RecordReader, error) {
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("parquet: query %s: %w", r.dataset, err)
	}
	rr, err := sqlarrow.Query(ctx, r.d.mem, conn, q)
	if err != nil {
		return nil, fmt.Errorf("parquet: query %s: %w", r.dataset, err)
	}
	return rr, nil
}

// quote quotes an SQL identifier.
func quote(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

// pathList is an SQL list of string literals.
func pathList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = "'" + strings.ReplaceAll(filepath.ToSlash(p), "'", "''") + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
