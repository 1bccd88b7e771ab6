package iceberg

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go/table"
)

// A destination whose commit point is outside the tables (the Parquet
// destination's _dlt_loads file) commits a load's tables one by one before
// it: a process killed in between leaves snapshots of a load that never
// committed. Readers skip them (Committed) and the next load takes them
// back (Rewind) before it writes, so their rows are neither seen nor kept,
// and a run that loads the same rows again does not double them.

// committedSnapshot returns the newest snapshot of the current snapshot's
// ancestry (itself included) that committed accepts: snapshots whose
// LoadIDProperty committed rejects are skipped, snapshots without one
// (another writer's) are accepted. nil: none.
func committedSnapshot(meta table.Metadata, committed func(loadID string) bool) *table.Snapshot {
	snap := meta.CurrentSnapshot()
	for i := 0; snap != nil && i < 1<<20; i++ {
		id := ""
		if snap.Summary != nil {
			id = snap.Summary.Properties[LoadIDProperty]
		}
		if id == "" || committed(id) {
			return snap
		}
		if snap.ParentSnapshotID == nil {
			return nil
		}
		snap = meta.SnapshotByID(*snap.ParentSnapshotID)
	}
	return nil
}

// View is what a reader of a table sees: the data files of a snapshot and
// its columns.
type View struct {
	Files  []string // locations (URLs under the lake's root)
	Schema *arrow.Schema
	// Empty is true when no committed snapshot is left: the table was
	// created by a load that did not commit.
	Empty bool
}

// Committed returns the view of the newest snapshot in the table's current
// ancestry whose load committed accepts (see Rewind): its data files, and
// the columns of its schema. ok is false for a table without metadata.
func (lk *Lake) Committed(ctx context.Context, dataset, name string, committed func(loadID string) bool) (v View, ok bool, err error) {
	tbl, err := lk.Table(ctx, dataset, name)
	if errors.Is(err, ErrNoTable) {
		return View{}, false, nil
	}
	if err != nil {
		return View{}, false, err
	}
	meta := tbl.Metadata()
	snap := committedSnapshot(meta, committed)
	v.Empty = snap == nil && meta.CurrentSnapshot() != nil
	sc := tbl.Schema()
	if snap != nil && snap.SchemaID != nil {
		for _, s := range meta.Schemas() {
			if s.ID == *snap.SchemaID {
				sc = s
			}
		}
	}
	if v.Schema, err = table.SchemaToArrowSchema(sc, nil, false, false); err != nil {
		return View{}, false, fmt.Errorf("iceberg: table %s/%s: %w", dataset, name, err)
	}
	files, err := snapshotFiles(ctx, tbl, snap)
	if err != nil {
		return View{}, false, err
	}
	for _, f := range files {
		v.Files = append(v.Files, f.FilePath())
	}
	return v, true, nil
}

// Rewind makes the newest snapshot that committed accepts (as Committed
// picks it) the table's current one again, as a new metadata version (the
// skipped snapshots stay in the history, their files on storage). It
// reports whether it changed the table; a table without metadata, or
// whose current snapshot committed accepts, is left as it is.
func (lk *Lake) Rewind(ctx context.Context, dataset, name string, committed func(loadID string) bool) (bool, error) {
	tbl, err := lk.Table(ctx, dataset, name)
	if errors.Is(err, ErrNoTable) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	meta := tbl.Metadata()
	cur := meta.CurrentSnapshot()
	keep := committedSnapshot(meta, committed)
	if cur == nil || keep != nil && keep.SnapshotID == cur.SnapshotID {
		return false, nil
	}
	ident := tbl.Identifier()
	var up table.Update = table.NewRemoveSnapshotRefUpdate(table.MainBranch)
	if keep != nil {
		up = table.NewSetSnapshotRefUpdate(table.MainBranch, keep.SnapshotID, table.BranchRef, -1, -1, -1)
	}
	reqs := []table.Requirement{table.AssertRefSnapshotID(table.MainBranch, &cur.SnapshotID)}
	_, loc, err := lk.st.CommitTable(ctx, ident, reqs, []table.Update{up})
	if err != nil {
		return false, fmt.Errorf("iceberg: table %s: rewind: %w", tableKey(ident), err)
	}
	if lk.cat != nil {
		if err := lk.cat.register(ctx, ident, loc); err != nil {
			return true, err
		}
	}
	return true, nil
}
