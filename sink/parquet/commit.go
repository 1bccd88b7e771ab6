package parquet

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/internal/nospace"
)

// Commit finishes the files and publishes the load:
//
//  1. merges are applied: earlier files holding removed rows are copied
//     without them as files of this load (merge.go);
//  2. a local bucket's staged data files are renamed into their table
//     folders (on an object store they were written there); readers ignore
//     them until step 5: their load id is not in _dlt_loads yet;
//  3. a supersede marker names the old files of replaced, truncated and
//     dropped tables (truncated tables keep an empty file with their
//     columns) and the merged files' originals;
//  4. the _dlt_pipeline_state and _dlt_version files are put in place;
//  5. the _dlt_loads file is put in place: the commit point. The
//     superseded files are deleted after it.
//
// A failure before the commit point (a full disk) takes back what steps 2-4
// put in place, so no file of the failed load stays beside the dataset's.
func (l *load) Commit(ctx context.Context, c sink.Commit) (err error) {
	if err := l.Check(ctx); err != nil {
		_ = l.Rollback()
		return err
	}
	var placed []string // files put in place, in order
	defer func() {
		if err != nil {
			bg := context.WithoutCancel(ctx)
			for _, p := range slices.Backward(placed) {
				_ = l.st.Remove(bg, p)
			}
			if nospace.Is(err) {
				err = fmt.Errorf("parquet: commit load %s: %w", l.req.LoadID, nospace.Wrap(err, l.dsName))
			}
			l.Err = err
			_ = l.Rollback()
		}
	}()
	wrap := func(what string, err error) error {
		return fmt.Errorf("parquet: commit load %s: %s: %w", l.req.LoadID, what, err)
	}
	for _, t := range slices.Clone(l.tables) {
		if err := l.finish(t); err != nil {
			return wrap("finish "+t, err)
		}
	}
	empty, drop := l.cleared(c)
	old := map[string][]dataFile{}
	for _, set := range []map[string]bool{empty, drop} {
		for t := range set {
			if checkName("table", t) != nil {
				continue
			}
			// An Iceberg table's files are its snapshots' (commitIceberg).
			if ice, err := l.isIceberg(ctx, t, ""); err != nil {
				return wrap(t, err)
			} else if ice {
				continue
			}
			files, err := l.d.tableFiles(ctx, keyJoin(l.ds, t))
			if err != nil {
				return wrap("list "+t, err)
			}
			old[t] = slices.DeleteFunc(files, func(f dataFile) bool { return f.loadID == l.req.LoadID })
		}
	}
	// Merge families: rewritten copies of the earlier files that hold
	// removed rows join the load's files; the originals are superseded.
	rewritten, err := l.merge(ctx, c.Schema, old)
	if err != nil {
		return wrap("merge", err)
	}
	// A cleared table that gets no rows keeps an empty file with its columns.
	for t := range empty {
		if len(l.files[t]) > 0 || len(old[t]) == 0 {
			continue
		}
		schema, err := l.d.unionSchema(ctx, old[t])
		if err != nil {
			return wrap("read columns of "+t, err)
		}
		if err := l.emptyFile(ctx, t, schema); err != nil {
			return wrap("truncate "+t, err)
		}
	}
	sys, err := l.systemFiles(ctx, c)
	if err != nil {
		return wrap("system files", err)
	}
	// The last moment to give up without touching what readers see.
	if err := context.Cause(ctx); err != nil {
		return wrap("cancelled", err)
	}
	if err := context.Cause(l.Ctx); err != nil {
		return wrap("cancelled", err)
	}
	if err := l.touch(ctx, keyJoin(l.ds, initFile)); err != nil {
		return wrap("init", err)
	}
	for _, t := range l.tables {
		if l.ice[t] {
			continue // committed as a snapshot below
		}
		if err := l.touch(ctx, keyJoin(l.ds, t, initFile)); err != nil {
			return wrap(t, err)
		}
		if !l.st.Local() {
			continue // written in place
		}
		for _, p := range l.files[t] {
			dst := keyJoin(l.ds, t, path.Base(p))
			if err := l.st.Rename(ctx, p, dst); err != nil {
				return wrap(t, err)
			}
			placed = append(placed, dst)
		}
	}
	// Iceberg tables: one snapshot each, before the commit point.
	if err := l.commitIceberg(ctx, empty, drop, c.Schema, l.req.Schema); err != nil {
		return wrap("iceberg", err)
	}
	// Replaced, truncated and dropped tables and the files merges rewrote:
	// a marker hides the old files once the load commits; they are deleted
	// only after that.
	superseded := make([]string, 0, len(old))
	for t := range old {
		superseded = append(superseded, t)
	}
	slices.Sort(superseded)
	if len(superseded) > 0 || len(rewritten) > 0 {
		placed = append(placed, supersedePath(l.ds, l.req.LoadID))
		if err := l.d.writeSupersede(ctx, l.ds, l.req.LoadID, superseded, rewritten); err != nil {
			return wrap("supersede marker", err)
		}
	}
	// The system files, _dlt_loads last.
	for _, s := range sys {
		if err := l.touch(ctx, keyJoin(l.ds, s.table, initFile)); err != nil {
			return wrap(s.table, err)
		}
		dst := keyJoin(l.ds, s.table, s.name)
		if l.st.Local() {
			err = l.st.Rename(ctx, s.staged, dst)
		} else {
			err = writeFile(ctx, l.st, dst, s.data)
		}
		if err != nil {
			return wrap(s.table, err)
		}
		placed = append(placed, dst)
	}
	l.Done = true
	// Committed (the _dlt_loads file is in place): delete what the load
	// superseded. A failure here leaves files readers already ignore; the
	// next Begin deletes them.
	bg := context.WithoutCancel(ctx)
	if len(superseded) > 0 || len(rewritten) > 0 {
		if loads, err := l.d.committedLoads(bg, l.ds); err == nil {
			_ = l.d.removeSuperseded(bg, l.ds, committedSet(loads))
		}
	}
	_ = l.release()
	return nil
}

// cleared returns the tables whose earlier files the load clears: replace
// tables written and their families, and the truncated ones (empty); the
// dropped ones (drop).
func (l *load) cleared(c sink.Commit) (empty, drop map[string]bool) {
	empty, drop = map[string]bool{}, map[string]bool{}
	for _, t := range append(slices.Clone(l.req.Truncate), c.Truncate...) {
		empty[t] = true
	}
	for t := range l.replaced {
		empty[t] = true
		if snap := l.tabs.Lookup(t); snap != nil && snap.Parent == "" {
			for _, n := range l.tabs.Nested(t, c.Schema, l.req.Schema) {
				empty[n] = true
			}
		}
	}
	for _, t := range append(slices.Clone(l.req.Drop), c.Drop...) {
		drop[t] = true
		delete(empty, t)
	}
	return empty, drop
}

// emptyFile gives table t a data file of this load without rows.
func (l *load) emptyFile(ctx context.Context, t string, schema *arrow.Schema) error {
	w, err := l.newWriter(t, schema)
	if err != nil {
		return err
	}
	if err := w.close(); err != nil {
		return err
	}
	l.addFile(t, w.path)
	return nil
}

// stagedSys is a system file of the load: staged on a local bucket, held
// in memory for an object store (a few KB).
type stagedSys struct {
	table, name string
	staged      string // key in staging (local buckets)
	data        []byte
}

// systemFiles prepares the load's _dlt_version, _dlt_pipeline_state and
// _dlt_loads files (last), as dlt's filesystem destination names them.
func (l *load) systemFiles(ctx context.Context, c sink.Commit) ([]stagedSys, error) {
	now := time.Now().UTC()
	schemaName := l.req.SchemaName
	if schemaName == "" && c.Schema != nil {
		schemaName = c.Schema.Name()
	}
	if schemaName == "" {
		schemaName = l.req.Dataset
	}
	var out []stagedSys
	put := func(table, name string, doc any) error {
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		s := stagedSys{table: table, name: name, data: b}
		if l.st.Local() {
			s.staged, s.data = keyJoin(l.staging, table, name), nil
			if err := writeFile(ctx, l.st, s.staged, b); err != nil {
				return err
			}
		}
		out = append(out, s)
		return nil
	}
	if len(c.SchemaJSON) > 0 && !l.hasVersion(ctx, schemaName, c.SchemaHash) {
		if err := put(versionTable, schemaName+sep+l.req.LoadID+sep+pathSafe(c.SchemaHash)+sysExt, versionDoc{
			VersionHash: c.SchemaHash, SchemaName: schemaName, Version: c.SchemaVersion,
			EngineVersion: arrowbuf.EngineVersion, InsertedAt: isoTime(now), Schema: string(c.SchemaJSON)}); err != nil {
			return nil, err
		}
	}
	if st := c.State; st != nil {
		created := st.CreatedAt
		if created.IsZero() {
			created = now
		}
		// dlt names the state file after the schema's version hash.
		hash := c.SchemaHash
		if hash == "" {
			hash = st.Hash
		}
		if err := put(stateTable, st.PipelineName+sep+l.req.LoadID+sep+pathSafe(hash)+sysExt, stateDoc{
			Version: st.Version, EngineVersion: st.EngineVersion, PipelineName: st.PipelineName, State: st.State,
			CreatedAt: isoTime(created), VersionHash: st.Hash, LoadID: l.req.LoadID}); err != nil {
			return nil, err
		}
	}
	var hash *string
	if c.SchemaHash != "" {
		hash = &c.SchemaHash
	}
	err := put(loadsTable, schemaName+sep+l.req.LoadID+sysExt, loadDoc{
		LoadID: l.req.LoadID, SchemaName: schemaName, Status: 0, InsertedAt: isoTime(now), SchemaVersionHash: hash})
	return out, err
}

// hasVersion reports whether _dlt_version holds the schema version already.
func (l *load) hasVersion(ctx context.Context, schemaName, hash string) bool {
	files, _ := l.d.listSys(ctx, keyJoin(l.ds, versionTable), 3)
	for _, f := range files {
		if f.parts[0] == schemaName && f.parts[2] == pathSafe(hash) {
			return true
		}
	}
	return false
}

// touch creates dlt's empty init marker file at key unless it exists.
func (l *load) touch(ctx context.Context, key string) error {
	if _, err := l.st.ReadFile(ctx, key); err == nil {
		return nil
	}
	return writeFile(ctx, l.st, key, nil)
}
