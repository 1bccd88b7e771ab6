package iceberg

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Prepare writes the change's data files and manifests and returns it
// uncommitted: the table is unchanged until Pending.Commit. The caller
// prepares every table of a load, then commits them, then writes its own
// commit point (_dlt_loads). A rerun of the same load id after a crash
// between commits skips the tables already committed (Pending.Skipped), so
// no rows are doubled.
func (lk *Lake) Prepare(ctx context.Context, w Write) (_ *Pending, err error) {
	if err := checkName("dataset", w.Dataset); err != nil {
		return nil, err
	}
	if err := checkName("table", w.Table); err != nil {
		return nil, err
	}
	if w.LoadID == "" {
		return nil, fmt.Errorf("iceberg: table %s/%s: empty load id", w.Dataset, w.Table)
	}
	if w.Mode < Append || w.Mode > Merge {
		return nil, fmt.Errorf("iceberg: table %s/%s: unknown mode %v", w.Dataset, w.Table, w.Mode)
	}
	ident := table.Identifier{w.Dataset, w.Table}
	name := tableKey(ident)
	p := &Pending{lk: lk, ident: ident, removed: NewKeySet(w.Collect)}
	defer func() {
		if err != nil {
			_ = p.Abort(context.WithoutCancel(ctx))
			err = fmt.Errorf("iceberg: table %s: %w", name, err)
		}
	}()

	if w.Rows != nil && len(w.Files) > 0 {
		return nil, errors.New("give Rows or Files, not both")
	}
	sc, err := lk.changeSchema(ctx, w)
	if err != nil {
		return nil, err
	}
	tbl, fresh, err := lk.open(ctx, ident, w.Table, sc)
	if err != nil {
		return nil, err
	}
	if tbl == nil {
		return p, nil // no table and no rows: nothing to change
	}
	p.fresh = fresh
	p.loc = tbl.MetadataLocation()
	base := tbl.CurrentSnapshot()
	if done := loadSnapshot(tbl.Metadata(), w.LoadID); done != nil {
		// Committed before: only Removed is still wanted, from the
		// snapshot the load replaced.
		p.skipped = true
		base = nil
		if done.ParentSnapshotID != nil {
			base = tbl.SnapshotByID(*done.ParentSnapshotID)
		}
	}

	drop, err := newDropper(w, sc)
	if err != nil {
		return nil, err
	}
	if p.skipped {
		if w.Mode == Merge && w.Rows != nil {
			for rec, err := range records(w.Rows, drop.addRows) {
				if err != nil {
					return nil, err
				}
				rec.Release()
			}
		}
		if w.Mode == Merge {
			if err := lk.fileKeys(ctx, w.Files, drop); err != nil {
				return nil, err
			}
		}
		if w.Mode == Merge {
			files, err := snapshotFiles(ctx, tbl, base)
			if err != nil {
				return nil, err
			}
			if _, _, err := drop.scan(ctx, lk.st, files, p.removed); err != nil {
				return nil, err
			}
		}
		return p, nil
	}

	tx := tbl.NewTransaction()
	if err := evolve(tx, tbl.Schema(), sc); err != nil {
		return nil, err
	}
	staged, err := tx.StagedTable()
	if err != nil {
		return nil, err
	}
	p.tx = tx

	var added []iceberg.DataFile
	if w.Rows != nil {
		var each func(arrow.RecordBatch) error
		if w.Mode == Merge {
			each = drop.addRows
		}
		if added, err = p.writeFiles(ctx, staged.Table, w.Rows.Schema(), records(w.Rows, each)); err != nil {
			return nil, err
		}
	}
	if len(w.Files) > 0 {
		if w.Mode == Merge {
			if err := lk.fileKeys(ctx, w.Files, drop); err != nil {
				return nil, err
			}
		}
		if added, err = lk.dataFiles(ctx, staged.Table, w.Files); err != nil {
			return nil, err
		}
	}
	for _, f := range added {
		p.added += f.Count()
	}
	var deleted []iceberg.DataFile
	switch w.Mode {
	case Replace:
		if deleted, err = snapshotFiles(ctx, tbl, base); err != nil {
			return nil, err
		}
		for _, f := range deleted {
			p.deleted += f.Count()
		}
	case Merge:
		files, err := snapshotFiles(ctx, tbl, base)
		if err != nil {
			return nil, err
		}
		hit, counts, err := drop.scan(ctx, lk.st, files, p.removed)
		if err != nil {
			return nil, err
		}
		for i, f := range hit {
			kept, err := p.writeFiles(ctx, staged.Table, nil, drop.survivors(ctx, lk.st, f))
			if err != nil {
				return nil, fmt.Errorf("rewrite %s: %w", f.FilePath(), err)
			}
			added = append(added, kept...)
			deleted = append(deleted, f)
			p.deleted += counts[i]
		}
	}
	if len(added) == 0 && len(deleted) == 0 {
		return p, nil
	}
	props := iceberg.Properties{LoadIDProperty: w.LoadID}
	if len(deleted) == 0 {
		err = tx.AddDataFiles(ctx, added, props)
	} else {
		err = tx.ReplaceDataFilesWithDataFiles(ctx, deleted, added, props)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// open returns the committed table, else a fresh one with the columns of
// the load's rows (it exists on storage at its first commit).
func (lk *Lake) open(ctx context.Context, ident table.Identifier, name string, sc *arrow.Schema) (*table.Table, bool, error) {
	tbl, err := lk.st.LoadTable(ctx, ident)
	if err == nil {
		return tbl, false, nil
	}
	if !errors.Is(err, errNoTable) {
		return nil, false, err
	}
	if sc == nil {
		return nil, false, nil
	}
	isc, err := newSchema(name, sc)
	if err != nil {
		return nil, false, err
	}
	meta, err := table.NewMetadata(isc, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, lk.st.location(ident), lk.props)
	if err != nil {
		return nil, false, err
	}
	lk.st.mu.Lock()
	lk.st.fresh[tableKey(ident)] = meta
	lk.st.mu.Unlock()
	return table.New(ident, meta, "", lk.st.fs, lk.st), true, nil
}

// evolve adds the columns of the load's rows that the table lacks, in their
// order, as optional columns, in the load's transaction.
func evolve(tx *table.Transaction, cur *iceberg.Schema, sc *arrow.Schema) error {
	if sc == nil {
		return nil
	}
	var up *table.UpdateSchema
	for _, f := range sc.Fields() {
		if have, ok := cur.FindFieldByName(f.Name); ok {
			want, err := icebergType(f.Type)
			if err != nil {
				return fmt.Errorf("column %s: %w", f.Name, err)
			}
			if !have.Type.Equals(want) {
				return fmt.Errorf("column %s: the load's type %s differs from the table's %s", f.Name, want, have.Type)
			}
			continue
		}
		t, err := icebergType(f.Type)
		if err != nil {
			return fmt.Errorf("column %s: %w", f.Name, err)
		}
		if up == nil {
			up = tx.UpdateSchema(true, false)
		}
		up.AddColumn([]string{f.Name}, t, fieldDoc(f), false, nil)
	}
	if up == nil {
		return nil
	}
	return up.Commit()
}

// writeFiles writes the batches as data files of tbl and records them for
// Abort. sc nil: the schema of the first batch.
func (p *Pending) writeFiles(ctx context.Context, tbl *table.Table, sc *arrow.Schema, recs iter.Seq2[arrow.RecordBatch, error]) ([]iceberg.DataFile, error) {
	if sc == nil {
		next, stop := iter.Pull2(recs)
		first, err, ok := next()
		if !ok {
			stop()
			return nil, nil
		}
		if err != nil {
			stop()
			return nil, err
		}
		sc = first.Schema()
		recs = func(yield func(arrow.RecordBatch, error) bool) {
			defer stop()
			if !yield(first, nil) {
				return
			}
			for {
				rec, err, ok := next()
				if !ok || !yield(rec, err) || err != nil {
					return
				}
			}
		}
	}
	var out []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, tbl, sc, recs) {
		if df != nil {
			p.written = append(p.written, df.FilePath())
		}
		if err != nil {
			return nil, err
		}
		out = append(out, df)
	}
	return out, nil
}
