package iceberg

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"gocloud.dev/blob"
)

// LoadIDProperty is the snapshot summary property carrying the load id of
// the load that made the snapshot.
const LoadIDProperty = "sluice.load_id"

// Lake is the set of Iceberg tables under one bucket root.
type Lake struct {
	st    *store
	props iceberg.Properties // of the tables it creates
	cat   *Catalog           // nil: tables are found by path only
}

// Option configures a Lake.
type Option func(*Lake)

// WithTableProperties sets Iceberg table properties of the tables the lake
// creates (such as write.parquet.compression-codec).
func WithTableProperties(props map[string]string) Option {
	return func(lk *Lake) {
		for k, v := range props {
			lk.props[k] = v
		}
	}
}

// Open returns the lake on bucket. root is the URL the bucket's keys are
// relative to (the destination's bucket_url, such as "s3://bucket/prefix"
// or "file:///data/lake"): it is written into the tables' metadata, so
// other engines find the files. Open does no I/O.
func Open(ctx context.Context, bucket *blob.Bucket, root string, opts ...Option) (*Lake, error) {
	if bucket == nil {
		return nil, errors.New("iceberg: Open: nil bucket")
	}
	if !strings.Contains(root, "://") {
		return nil, fmt.Errorf("iceberg: Open: root %q is not a URL (such as file:///dir or s3://bucket/prefix)", root)
	}
	lk := &Lake{st: newStore(ctx, bucket, root), props: iceberg.Properties{
		table.PropertyFormatVersion: "2",
		// The Parquet destination's codec: zstd (Iceberg's default) made
		// a 1M-row append about 2x slower here (BenchmarkAppend1M).
		table.ParquetCompressionKey: "snappy",
		// The Parquet destination's default too (WithDictionary): its
		// rows are mostly distinct strings and ids.
		"parquet.enable.dictionary": "false",
		// Random row ids have useless bounds (the Parquet destination
		// writes no statistics for them either).
		table.MetricsModeColumnConfPrefix + "._dlt_id":        "none",
		table.MetricsModeColumnConfPrefix + "._dlt_parent_id": "none",
		table.MetricsModeColumnConfPrefix + "._dlt_root_id":   "none",
	}}
	for _, o := range opts {
		o(lk)
	}
	return lk, nil
}

// Mode is what a load does to a table.
type Mode int

const (
	// Append adds the rows.
	Append Mode = iota
	// Replace makes the rows the table's only rows.
	Replace
	// Merge removes the existing rows that Write.Keys or Write.Drop match,
	// then adds the rows (copy-on-write: data files holding removed rows
	// are rewritten without them; no delete files).
	Merge
)

func (m Mode) String() string {
	switch m {
	case Append:
		return "append"
	case Replace:
		return "replace"
	case Merge:
		return "merge"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Write is one load's change to one table.
type Write struct {
	Dataset, Table string
	// LoadID goes into the snapshot's summary (LoadIDProperty); a table
	// that already has a snapshot for it is left as it is (Pending.Skipped).
	LoadID string
	Mode   Mode
	// Rows are the load's rows, with the table's current columns in dlt's
	// order; columns new to the table are added to its schema. nil: none.
	// Prepare reads them to the end; the caller releases the reader.
	Rows array.RecordReader
	// Files, instead of Rows, are bucket keys of Parquet files holding the
	// load's rows that the caller wrote (under <dataset>/<table>/data/, say):
	// they become the snapshot's new data files as they are, with no
	// second write. Columns are matched by name (Iceberg's name mapping,
	// which Spark, Trino and pyiceberg read). Prepare reads their footers
	// and, for merge, their key columns. The caller owns them: Abort
	// leaves them.
	Files []string
	// Merge only. Keys lists key column groups (the primary key, the merge
	// key): an existing row goes if, for one group, its values equal those
	// of one of Rows. Drop, if set, also removes the existing rows whose
	// Drop.Columns values are in it (nested rows by _dlt_root_id).
	Keys [][]string
	Drop *KeySet
	// Collect names a column whose values in the removed existing rows
	// Pending.Removed returns (root _dlt_id, to drop nested rows by).
	Collect string
}

// Pending is a prepared, not yet committed, change to one table: its data
// files and manifests are written, its snapshot is not.
type Pending struct {
	lk      *Lake
	ident   table.Identifier
	tx      *table.Transaction
	fresh   bool
	skipped bool
	loc     string // current metadata file when prepared
	removed *KeySet
	written []string // data files this change wrote, removed by Abort
	added   int64    // rows added
	deleted int64    // existing rows removed
}

// Skipped reports whether the table already had a snapshot for the load id
// (a rerun of a load that committed this table before it stopped).
func (p *Pending) Skipped() bool { return p.skipped }

// Removed returns the values of Write.Collect in the existing rows the
// merge removes (also when Skipped: they are read from the snapshot
// before the load's). Empty, never nil.
func (p *Pending) Removed() *KeySet { return p.removed }

// Rows returns the number of the load's rows the change adds and of the
// existing rows it removes (rows kept from rewritten files count in neither).
func (p *Pending) Rows() (added, removed int64) { return p.added, p.deleted }

// Commit publishes the change as one snapshot (a new metadata version),
// then points the catalog, if any, at it. A skipped or empty change
// commits nothing (the catalog entry is still brought up to date).
func (p *Pending) Commit(ctx context.Context) error {
	loc := p.loc
	if !p.skipped && p.tx != nil {
		tbl, err := p.tx.Commit(ctx)
		if err != nil {
			return fmt.Errorf("iceberg: table %s: commit: %w", tableKey(p.ident), err)
		}
		if tbl.MetadataLocation() != "" {
			loc = tbl.MetadataLocation()
		}
		p.written = nil
	}
	if p.fresh && loc == "" {
		// A new table without rows has no snapshot to commit: it is
		// created with its columns so readers find it.
		p.lk.st.mu.Lock()
		meta := p.lk.st.fresh[tableKey(p.ident)]
		p.lk.st.mu.Unlock()
		if meta != nil {
			var err error
			if loc, err = p.lk.st.write(ctx, p.ident, meta); err != nil {
				return err
			}
		}
	}
	if p.lk.cat != nil && loc != "" {
		return p.lk.cat.register(ctx, p.ident, loc)
	}
	return nil
}

// Abort removes the data files the change wrote; the table is unchanged.
// Manifests written for it stay behind unreferenced.
func (p *Pending) Abort(ctx context.Context) error {
	var errs []error
	for _, f := range p.written {
		if err := p.lk.st.fio.Remove(f); err != nil {
			errs = append(errs, err)
		}
	}
	p.written = nil
	p.lk.st.mu.Lock()
	delete(p.lk.st.fresh, tableKey(p.ident))
	p.lk.st.mu.Unlock()
	return errors.Join(errs...)
}

func checkName(kind, s string) error {
	if s == "" || strings.ContainsAny(s, "/\\") || s == "." || s == ".." {
		return fmt.Errorf("iceberg: bad %s name %q", kind, s)
	}
	return nil
}

// Table returns the table as committed, or an error wrapping ErrNoTable.
func (lk *Lake) Table(ctx context.Context, dataset, name string) (*table.Table, error) {
	v, err := lk.st.current(ctx, table.Identifier{dataset, name})
	if err != nil {
		return nil, err
	}
	if v == 0 {
		return nil, fmt.Errorf("iceberg: table %s/%s: %w", dataset, name, ErrNoTable)
	}
	return lk.st.read(ctx, table.Identifier{dataset, name}, v)
}

// ErrNoTable is returned for a table that has no metadata yet.
var ErrNoTable = errNoTable

// DataFiles returns the locations of the data files of the table's current
// snapshot: what a reader of that snapshot reads (there are no delete
// files). None for a table without rows or without metadata.
func (lk *Lake) DataFiles(ctx context.Context, dataset, name string) ([]string, error) {
	tbl, err := lk.Table(ctx, dataset, name)
	if errors.Is(err, ErrNoTable) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	files, err := snapshotFiles(ctx, tbl, tbl.CurrentSnapshot())
	if err != nil {
		return nil, err
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.FilePath()
	}
	return out, nil
}

func snapshotFiles(ctx context.Context, tbl *table.Table, snap *table.Snapshot) ([]iceberg.DataFile, error) {
	if snap == nil {
		return nil, nil
	}
	tasks, err := tbl.Scan(table.WithSnapshotID(snap.SnapshotID)).PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg: table %s: plan files: %w", tableKey(tbl.Identifier()), err)
	}
	files := make([]iceberg.DataFile, len(tasks))
	for i, t := range tasks {
		files[i] = t.File
	}
	return files, nil
}

// loadSnapshot returns the snapshot that load id made, if any.
func loadSnapshot(meta table.Metadata, loadID string) *table.Snapshot {
	for _, s := range meta.Snapshots() {
		if s.Summary != nil && s.Summary.Properties[LoadIDProperty] == loadID {
			return &s
		}
	}
	return nil
}

// records yields the reader's batches retained: table.WriteRecords
// releases each batch it takes. each sees every batch first.
func records(rdr array.RecordReader, each func(arrow.RecordBatch) error) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		for rdr.Next() {
			rec := rdr.RecordBatch()
			if each != nil {
				if err := each(rec); err != nil {
					yield(nil, err)
					return
				}
			}
			rec.Retain()
			if !yield(rec, nil) {
				return
			}
		}
		if err := rdr.Err(); err != nil {
			yield(nil, err)
		}
	}
}
