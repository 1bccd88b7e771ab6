package duckdb

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink/internal/family"
)

// A load without WithLoadDuringExtract stages while the run extracts and
// touches the database only at Commit: every record goes to a Parquet file
// of its group (target table and Arrow schema) in the stage folder, and
// Commit opens the file, replays the groups in the order of their first
// write (create or evolve the table, empty a replace table, insert the
// group's files in one statement) and commits. The lock is held from
// Commit's start to its end.

// stagedGroup is one target table's staged rows of one Arrow schema, or one
// imported file.
type stagedGroup struct {
	table   *arrowbuf.Table // the snapshot the group's records carry
	staging bool            // a merge staging table in the temp catalog
	replace bool            // a replace family's table: emptied first
	cols    []string
	casts   []string
	files   []string    // closed staged files
	stage   *stagedFile // the open one
	// rowBytes is the widest batch's estimated row size in DuckDB.
	rowBytes int64
	imp      *arrowbuf.ImportFile // an imported file, kept in the stage folder
	src      string               // the imported file's own path
}

// stageWrite stages b's record for Commit. It owns the record.
func (l *load) stageWrite(_ context.Context, t *arrowbuf.Table, b arrowbuf.TableBatch) error {
	rec := b.Record
	defer func() { rec.Release() }()
	root := l.tabs.RootOf(t)
	disp := family.Disposition(t, root)
	staging := false
	if disp == arrowbuf.Merge && root != nil {
		fam := l.families[root.Name]
		if fam == nil {
			if pk, mk := family.Keys(root); len(pk) > 0 || len(mk) > 0 {
				fam = &mergeFamily{root: root.Name, primaryKey: pk, mergeKey: mk}
				l.families[root.Name] = fam
			}
		}
		if fam != nil {
			staging = true
			if !slices.Contains(fam.staged, t.Name) {
				fam.staged = append(fam.staged, t.Name)
			}
			// The order of staged rows, for the latest row per key.
			rec = withSeq(rec, l.seq)
			l.seq += rec.NumRows()
		}
	}
	key := fmt.Sprintf("%s\x00%t\x00%s", t.Name, staging, rec.Schema())
	g := l.groups[key]
	if g == nil {
		g = &stagedGroup{table: t, staging: staging, replace: disp == arrowbuf.Replace}
		for i, c := range t.Columns {
			g.cols = append(g.cols, c.Name)
			cast := ""
			k, _ := kindOf(rec.Column(i).DataType())
			if k == kText || (k == kString && c.DataType != arrowbuf.TypeText) {
				cast = SQLType(c)
			}
			g.casts = append(g.casts, cast)
		}
		if staging {
			g.cols, g.casts = append(g.cols, seqColumn), append(g.casts, "")
		}
		l.groups[key] = g
		l.order = append(l.order, g)
	}
	if rec.NumRows() == 0 {
		return nil // the table is still created at Commit
	}
	if g.stage == nil {
		st, err := newStagedFile(l.stage.path, rec.Schema())
		if err != nil {
			return err
		}
		g.stage = st
	}
	if err := g.stage.write(rec); err != nil {
		return err
	}
	g.rowBytes = max(g.rowBytes, g.stage.rowBytes)
	if g.stage.rows >= stageRows {
		// A file per stageRows rows keeps each file's writer state small;
		// Commit reads all of them in one statement.
		st := g.stage
		g.stage = nil
		if err := st.close(); err != nil {
			st.remove()
			return err
		}
		g.files = append(g.files, st.path)
	}
	return nil
}

// withSeq returns rec with seqColumn appended, numbered from base, and
// releases rec.
func withSeq(rec arrow.RecordBatch, base int64) arrow.RecordBatch {
	defer rec.Release()
	n := rec.NumRows()
	bld := array.NewInt64Builder(arrowbuf.DefaultPool)
	defer bld.Release()
	bld.Reserve(int(n))
	for i := range n {
		bld.UnsafeAppend(base + i)
	}
	seq := bld.NewArray()
	defer seq.Release()
	s := rec.Schema()
	md := s.Metadata()
	fields := append(slices.Clone(s.Fields()), arrow.Field{Name: seqColumn, Type: arrow.PrimitiveTypes.Int64, Nullable: true})
	cols := append(slices.Clone(rec.Columns()), seq)
	return array.NewRecordBatch(arrow.NewSchema(fields, &md), cols, n)
}

// stageImport keeps an imported file for Commit.
func (l *load) stageImport(t *arrowbuf.Table, f *arrowbuf.ImportFile) error {
	path, err := l.stage.keepFile(f.Path)
	if err != nil {
		return err
	}
	l.order = append(l.order, &stagedGroup{table: t, imp: &arrowbuf.ImportFile{Path: path, Format: f.Format}, src: f.Path})
	return nil
}

// replay moves the staged groups into the open transaction: all tables are
// created or evolved first (DuckDB cannot add a column to a table emptied
// earlier in the transaction), then each group's rows go in, a replace
// table emptied before its first rows.
func (l *load) replay(ctx context.Context) error {
	ds := l.req.Dataset
	for _, g := range l.order {
		if g.imp != nil {
			continue
		}
		err := l.ensureTable(ctx, "", ds, g.table, false)
		if err == nil && g.staging {
			err = l.ensureTable(ctx, tempCatalog, "main", g.table, true)
		}
		if err != nil {
			return fmt.Errorf("table %s.%s: %w", ds, g.table.Name, err)
		}
	}
	for _, g := range l.order {
		name := g.table.Name
		if g.imp != nil {
			if err := l.importFile(ctx, g.table, g.imp); err != nil {
				return fmt.Errorf("import %s into %s.%s: %w", g.src, ds, name, err)
			}
			continue
		}
		target := l.h.q(ds, name)
		if g.staging {
			target = quote(tempCatalog) + "." + qualify("main", name)
		} else if g.replace && !l.emptied[name] {
			if err := l.exec(ctx, "DELETE FROM "+target); err != nil {
				return fmt.Errorf("table %s.%s: %w", ds, name, err)
			}
			l.emptied[name] = true
			l.replaced = append(l.replaced, name)
		}
		if g.stage != nil {
			st := g.stage
			g.stage = nil
			if err := st.close(); err != nil {
				st.remove()
				return err
			}
			g.files = append(g.files, st.path)
		}
		if len(g.files) == 0 {
			continue
		}
		if err := l.fitMemory(ctx, insertNeed(g.rowBytes, l.h.threads)); err != nil {
			return err
		}
		if err := insertFiles(ctx, l.conn, target, g.cols, g.casts, g.files); err != nil {
			return fmt.Errorf("write table %s.%s: %w", ds, name, err)
		}
		for _, p := range g.files {
			_ = os.Remove(p)
		}
		g.files = nil
	}
	return nil
}

// abortStaged drops the staged files still open.
func (l *load) abortStaged() {
	for _, g := range l.order {
		if g.stage != nil {
			g.stage.abort()
			g.stage = nil
		}
	}
}
