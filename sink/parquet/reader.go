package parquet

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicehq/sluice/sink"
)

// reader reads a dataset from the files of its committed loads, listed
// when it was opened. Tables, Table and Loads are pure Go; Query hands the
// files to the SQL engine (WithSQL).
type reader struct {
	d       *Destination
	dataset string
	tables  []string            // data tables, sorted
	files   map[string][]string // visible data files per table (keys)
	// lake holds the columns of the Iceberg tables, whose files are their
	// committed snapshot's (possibly none).
	lake   map[string]*arrow.Schema
	sys    map[string][]string // system table -> its files (keys)
	loads  []sink.LoadRecord
	closed atomic.Bool

	mu   sync.Mutex
	sess Session // opened by the first Query
	tmp  string  // local copies of an object store's files, for SQL
}

var _ sink.DatasetReader = (*reader)(nil)

// OpenDataset lists the dataset's committed files. The reader sees the
// files as they were when it was opened.
func (d *Destination) OpenDataset(ctx context.Context, dataset string) (sink.DatasetReader, error) {
	if d.err != nil {
		return nil, d.err
	}
	if err := checkName("dataset", dataset); err != nil {
		return nil, err
	}
	fail := func(err error) (sink.DatasetReader, error) {
		return nil, fmt.Errorf("parquet: open dataset %s: %w", dataset, err)
	}
	loads, err := d.committedLoads(ctx, dataset)
	if err != nil {
		return fail(err)
	}
	ok := committedSet(loads)
	hid, err := d.readHidden(ctx, dataset, ok)
	if err != nil {
		return fail(err)
	}
	r := &reader{d: d, dataset: dataset, files: map[string][]string{}, sys: map[string][]string{}, lake: map[string]*arrow.Schema{}}
	names, err := d.tableDirs(ctx, dataset)
	if err != nil {
		return fail(err)
	}
	for _, n := range names {
		if ice, err := d.isLakeTable(ctx, dataset, n); err != nil {
			return fail(err)
		} else if ice {
			if err := r.addLakeTable(ctx, n, ok); err != nil {
				return fail(err)
			}
			continue
		}
		files, err := d.tableFiles(ctx, keyJoin(dataset, n))
		if err != nil {
			return fail(err)
		}
		for _, f := range files {
			if hid.visible(f, n, ok) {
				r.files[n] = append(r.files[n], f.path)
			}
		}
		if len(r.files[n]) > 0 {
			r.tables = append(r.tables, n)
		}
	}
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
	for _, s := range []struct {
		table string
		parts int
	}{{loadsTable, 2}, {stateTable, 3}, {versionTable, 3}} {
		files, err := d.listSys(ctx, keyJoin(dataset, s.table), s.parts)
		if err != nil {
			return fail(err)
		}
		for _, f := range files {
			if s.table != stateTable || ok[f.parts[1]] {
				r.sys[s.table] = append(r.sys[s.table], f.path)
			}
		}
	}
	return r, nil
}

func (r *reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if r.sess != nil {
		err = r.sess.Close()
	}
	if r.tmp != "" {
		if rerr := os.RemoveAll(r.tmp); err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("parquet: close dataset %s: %w", r.dataset, err)
	}
	return nil
}

// Tables lists the data tables with their row counts (from the files'
// footers), by name.
func (r *reader) Tables(ctx context.Context) ([]sink.TableInfo, error) {
	out := make([]sink.TableInfo, 0, len(r.tables))
	for _, n := range r.tables {
		var rows int64
		for _, p := range r.files[n] {
			pf, err := r.d.openParquet(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("parquet: count %s.%s: %w", r.dataset, n, err)
			}
			rows += pf.NumRows()
			pf.Close()
		}
		out = append(out, sink.TableInfo{Name: n, Rows: rows})
	}
	return out, nil
}

// Loads lists the _dlt_loads records, newest first.
func (r *reader) Loads(context.Context) ([]sink.LoadRecord, error) {
	return slices.Clone(r.loads), nil
}

// Table streams a table's rows as record batches with the Arrow types the
// files store; files written before a column was added read it as nulls
// (their columns are united by name, first seen first).
func (r *reader) Table(ctx context.Context, name string) (array.RecordReader, error) {
	if !slices.Contains(r.tables, name) {
		return nil, fmt.Errorf("parquet: table %s.%s does not exist", r.dataset, name)
	}
	schema, err := r.schema(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("parquet: table %s.%s: %w", r.dataset, name, err)
	}
	tr := &tableReader{ctx: ctx, d: r.d, schema: schema, files: r.files[name]}
	tr.refs.Store(1)
	return tr, nil
}

// Query runs SQL over the dataset's tables through the SQL engine: one
// view per table over its files, and views over the system files.
func (r *reader) Query(ctx context.Context, q string) (array.RecordReader, error) {
	if r.d.sql == nil {
		return nil, fmt.Errorf("parquet: query %s: %w: pass parquet.WithSQL(parquetsql.DuckDB()) (package sink/parquet/parquetsql, built with cgo)", r.dataset, ErrNoSQL)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return nil, fmt.Errorf("parquet: query %s: reader closed", r.dataset)
	}
	if r.sess == nil {
		sess, err := r.openSQL(ctx)
		if err != nil {
			return nil, fmt.Errorf("parquet: query %s: %w", r.dataset, err)
		}
		r.sess = sess
	}
	rr, err := r.sess.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("parquet: query %s: %w", r.dataset, err)
	}
	return rr, nil
}

// openSQL opens the engine's session over local paths of the files: on an
// object store, the reader first copies the files it lists to a
// temporary folder (DuckDB here has no httpfs).
func (r *reader) openSQL(ctx context.Context) (Session, error) {
	local := func(key string) (string, error) { return r.d.st.Name(key), nil }
	if !r.d.st.Local() {
		var err error
		if r.tmp, err = os.MkdirTemp("", "sluice-parquet-sql-"); err != nil {
			return nil, err
		}
		local = func(key string) (string, error) {
			p := filepath.Join(r.tmp, filepath.FromSlash(key))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return "", err
			}
			return p, download(ctx, r.d.st, key, p)
		}
	}
	var views []View
	add := func(name string, keys []string, system bool) error {
		v := View{Name: name, System: system}
		for _, k := range keys {
			p, err := local(k)
			if err != nil {
				return err
			}
			v.Files = append(v.Files, p)
		}
		views = append(views, v)
		return nil
	}
	for _, t := range r.tables {
		if len(r.files[t]) == 0 {
			// An Iceberg table without rows: a view needs a file.
			p, err := r.emptyFile(ctx, t)
			if err != nil {
				return nil, err
			}
			views = append(views, View{Name: t, Files: []string{p}})
			continue
		}
		if err := add(t, r.files[t], false); err != nil {
			return nil, err
		}
	}
	for _, t := range []string{loadsTable, stateTable, versionTable} {
		if len(r.sys[t]) > 0 {
			if err := add(t, r.sys[t], true); err != nil {
				return nil, err
			}
		}
	}
	return r.d.sql.Open(ctx, views, r.d.mem)
}

// download copies an object to a local file.
func download(ctx context.Context, st store, key, p string) error {
	f, err := st.Open(ctx, key)
	if err != nil {
		return storeErr(st, "read", key, err)
	}
	defer f.Close()
	out, err := os.Create(p)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(f); err != nil {
		out.Close()
		return storeErr(st, "read", key, err)
	}
	return out.Close()
}

// tableReader streams the files of a table in the union of their columns.
type tableReader struct {
	refs   atomic.Int64
	ctx    context.Context
	d      *Destination
	schema *arrow.Schema
	files  []string
	cur    arrow.RecordBatch
	rr     pqarrow.RecordReader
	close  func() error
	err    error
}

func (t *tableReader) Schema() *arrow.Schema          { return t.schema }
func (t *tableReader) RecordBatch() arrow.RecordBatch { return t.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch.
func (t *tableReader) Record() arrow.RecordBatch { return t.cur }
func (t *tableReader) Err() error                { return t.err }
func (t *tableReader) Retain()                   { t.refs.Add(1) }

func (t *tableReader) Release() {
	if t.refs.Add(-1) == 0 {
		t.reset()
		t.endFile()
	}
}

func (t *tableReader) reset() {
	if t.cur != nil {
		t.cur.Release()
		t.cur = nil
	}
}

func (t *tableReader) endFile() {
	if t.rr != nil {
		t.rr.Release()
		t.rr = nil
	}
	if t.close != nil {
		_ = t.close()
		t.close = nil
	}
}

func (t *tableReader) Next() bool {
	t.reset()
	for t.err == nil {
		if t.rr == nil {
			if len(t.files) == 0 {
				return false
			}
			t.err = t.openFile(t.files[0])
			t.files = t.files[1:]
			continue
		}
		if t.rr.Next() {
			t.cur, t.err = conform(t.rr.RecordBatch(), t.schema, t.d.mem)
			return t.err == nil
		}
		t.err = t.rr.Err()
		t.endFile()
	}
	return false
}

func (t *tableReader) openFile(key string) error {
	pf, err := t.d.openParquet(t.ctx, key)
	if err != nil {
		return err
	}
	// Pages decode with the default allocator: arrow-go v18.8.0's delta
	// decoder (the _dlt_id column) never frees its 64-byte width buffer,
	// which a checked allocator reports as a leak.
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return storeErr(t.d.st, "read", key, err)
	}
	if pf.NumRowGroups() == 0 {
		pf.Close()
		return nil
	}
	rr, err := fr.GetRecordReader(t.ctx, nil, nil)
	if err != nil {
		pf.Close()
		return storeErr(t.d.st, "read", key, err)
	}
	t.rr, t.close = rr, pf.Close
	return nil
}

// conform returns rec with schema's columns: its own by name, nulls for
// the ones it lacks.
func conform(rec arrow.RecordBatch, schema *arrow.Schema, mem memory.Allocator) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		if idx := rec.Schema().FieldIndices(f.Name); len(idx) > 0 {
			c := rec.Column(idx[0])
			if !arrow.TypeEqual(c.DataType(), f.Type) {
				for _, c := range cols[:i] {
					c.Release()
				}
				return nil, fmt.Errorf("parquet: column %s is %s in one file and %s in another", f.Name, c.DataType(), f.Type)
			}
			c.Retain()
			cols[i] = c
		} else {
			cols[i] = array.MakeArrayOfNull(mem, f.Type, int(rec.NumRows()))
		}
	}
	out := array.NewRecordBatch(schema, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}
