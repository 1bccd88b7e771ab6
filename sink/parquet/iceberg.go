package parquet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink/internal/family"
	"github.com/sluicehq/sluice/sink/internal/iceberg"
)

// WithTableFormat sets the table format of the tables whose own format
// (the table_format hint) is unset: arrowbuf.Iceberg makes them Iceberg
// tables, arrowbuf.Native (the default) plain Parquet files.
func WithTableFormat(f arrowbuf.TableFormat) Option {
	return func(d *Destination) { d.tableFormat = f }
}

// CatalogSpec is an Iceberg catalog the destination registers its Iceberg
// tables in (the destination's catalog setting): Type "sql" with a URI
// sqlite:///path/catalog.db. Tables stay findable by path without one.
type CatalogSpec struct {
	Type, URI string
}

// WithCatalog registers every Iceberg table the destination commits in the
// catalog.
func WithCatalog(c CatalogSpec) Option { return func(d *Destination) { d.catalog = c } }

// icebergCommitted is called after each table's snapshot is committed (a
// test hook: kills between two tables' commits).
var icebergCommitted = func(table string) {}

// icebergDirs are the folders of an Iceberg table; Begin's cleanup and
// supersede markers never touch them.
const (
	icebergData = "data"
	icebergMeta = "metadata"
)

// checkFormat refuses table formats the destination does not write.
func checkFormat(table string, f arrowbuf.TableFormat) error {
	switch f {
	case "", arrowbuf.Native, arrowbuf.Iceberg:
		return nil
	case arrowbuf.Delta:
		return fmt.Errorf("parquet: table %s: table_format delta is not supported; use iceberg or native", table)
	}
	return fmt.Errorf("parquet: table %s: unknown table_format %q (want iceberg or native)", table, string(f))
}

// lake returns the destination's Iceberg lake over its bucket, opened on
// first use: a local bucket is opened again as a gocloud file bucket on the
// same folder (without gocloud's .attrs side files).
func (d *Destination) lake(ctx context.Context) (*iceberg.Lake, error) {
	d.lakeMu.Lock()
	defer d.lakeMu.Unlock()
	if d.lk != nil {
		return d.lk, nil
	}
	var b *blob.Bucket
	var root string
	switch s := d.st.(type) {
	case localStore:
		var err error
		if b, err = fileblob.OpenBucket(s.root, &fileblob.Options{Metadata: fileblob.MetadataDontWrite, CreateDir: true}); err != nil {
			return nil, fmt.Errorf("parquet: open %s for iceberg: %w", s.root, err)
		}
		root = "file://" + s.root
		d.lakeBucket = b
	case *blobStore:
		b, root = s.b, s.url
	default:
		return nil, errors.New("parquet: iceberg tables need a local folder or a gocloud bucket")
	}
	var opts []iceberg.Option
	if d.catalog != (CatalogSpec{}) {
		cat, err := iceberg.OpenCatalog(ctx, d.catalog.Type, d.catalog.URI, "")
		if err != nil {
			return nil, fmt.Errorf("parquet: %w", err)
		}
		d.cat = cat
		opts = append(opts, iceberg.WithCatalog(cat))
	}
	lk, err := iceberg.Open(ctx, b, root, opts...)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	d.lk = lk
	return lk, nil
}

// closeLake lets go of what lake opened.
func (d *Destination) closeLake() error {
	d.lakeMu.Lock()
	defer d.lakeMu.Unlock()
	var errs []error
	if d.cat != nil {
		errs = append(errs, d.cat.Close())
	}
	if d.lakeBucket != nil {
		errs = append(errs, d.lakeBucket.Close())
	}
	d.lk, d.cat, d.lakeBucket = nil, nil, nil
	return errors.Join(errs...)
}

// lakeKey turns a lake location into the bucket key.
func (d *Destination) lakeKey(loc string) string {
	root := d.location
	if _, ok := d.st.(localStore); ok {
		root = "file://" + root
	}
	return strings.TrimPrefix(loc, strings.TrimSuffix(root, "/")+"/")
}

// isLakeTable reports whether the table folder holds an Iceberg table (its
// metadata folder).
func (d *Destination) isLakeTable(ctx context.Context, dataset, table string) (bool, error) {
	ents, err := d.st.List(ctx, keyJoin(dataset, table, icebergMeta))
	if err != nil {
		return false, storeErr(d.st, "list", keyJoin(dataset, table, icebergMeta), err)
	}
	return len(ents) > 0, nil
}

// rewindLake takes back the snapshots of loads that never committed
// (killed between their tables' commits and _dlt_loads) from the dataset's
// Iceberg tables. Called by Begin's cleanup.
func (d *Destination) rewindLake(ctx context.Context, dataset string, keep func(loadID string) bool) error {
	tables, err := d.tableDirs(ctx, dataset)
	if err != nil {
		return err
	}
	for _, t := range tables {
		ok, err := d.isLakeTable(ctx, dataset, t)
		if err != nil {
			return err
		}
		if !ok {
			continue // a native table
		}
		lk, err := d.lake(ctx)
		if err != nil {
			return err
		}
		if _, err := lk.Rewind(ctx, dataset, t, keep); err != nil {
			return fmt.Errorf("parquet: clean %s: %w", d.st.Name(keyJoin(dataset, t)), err)
		}
	}
	return nil
}

// tableFormat resolves table t's format once per load: its hint (a nested
// table's is its root's), else the destination's default. An existing
// Iceberg table stays one.
func (l *load) isIceberg(ctx context.Context, t string, hint arrowbuf.TableFormat) (bool, error) {
	if v, ok := l.ice[t]; ok {
		return v, nil
	}
	f := hint
	if f == "" && l.req.Schema != nil {
		f = l.req.Schema.TableFormatOf(t)
	}
	if f == "" {
		f = l.d.tableFormat
	}
	if err := checkFormat(t, f); err != nil {
		return false, err
	}
	v := f == arrowbuf.Iceberg
	if !v && f == "" {
		var err error
		if v, err = l.d.isLakeTable(ctx, l.ds, t); err != nil {
			return false, err
		}
	}
	l.ice[t] = v
	return v, nil
}

// commitIceberg makes one snapshot per Iceberg table of the load, before
// the load's commit point: every table is prepared (data files added as
// they were written, merges rewriting the earlier files that hold removed
// rows), then each is committed, then dropped tables go. A failure before
// the first commit changes no table; one after it leaves snapshots of a
// load without _dlt_loads file, which readers skip and the next Begin
// takes back.
func (l *load) commitIceberg(ctx context.Context, empty, drop map[string]bool, schemas ...*arrowbuf.Schema) error {
	var names []string
	add := func(t string) error {
		if slices.Contains(names, t) || drop[t] || checkName("table", t) != nil {
			return nil
		}
		ice, err := l.isIceberg(ctx, t, "")
		if ice {
			names = append(names, t)
		}
		return err
	}
	for _, t := range l.tables {
		if err := add(t); err != nil {
			return err
		}
	}
	for _, t := range slices.Sorted(maps.Keys(empty)) {
		if err := add(t); err != nil {
			return err
		}
	}
	for r := range l.merged {
		for _, n := range l.tabs.Nested(r, schemas...) {
			if err := add(n); err != nil {
				return err
			}
		}
	}
	var dropped []string
	for _, t := range slices.Sorted(maps.Keys(drop)) {
		if ok, err := l.d.isLakeTable(ctx, l.ds, t); err != nil {
			return err
		} else if ok {
			dropped = append(dropped, t)
		}
	}
	if len(names) == 0 && len(dropped) == 0 {
		return nil
	}
	lk, err := l.d.lake(ctx)
	if err != nil {
		return err
	}
	// Parents before their nested tables: a nested table's merge drops the
	// rows of the root (or parent) rows its parent's merge removed.
	depth := func(t string) int {
		n := 0
		for s := l.tabs.Lookup(t); s != nil && s.Parent != "" && n < 100; s = l.tabs.Lookup(s.Parent) {
			n++
		}
		return n
	}
	slices.SortStableFunc(names, func(a, b string) int { return depth(a) - depth(b) })

	pend := map[string]*iceberg.Pending{}
	var order []*iceberg.Pending
	abort := func() {
		for _, p := range order {
			_ = p.Abort(context.WithoutCancel(ctx))
		}
	}
	for _, t := range names {
		w := iceberg.Write{Dataset: l.ds, Table: t, LoadID: l.req.LoadID, Mode: iceberg.Append, Files: l.files[t]}
		if empty[t] {
			w.Mode = iceberg.Replace
		} else if err := l.mergeWrite(&w, pend, schemas); err != nil {
			abort()
			return err
		}
		p, err := lk.Prepare(ctx, w)
		if err != nil {
			abort()
			return err
		}
		pend[t] = p
		order = append(order, p)
	}
	for i, t := range names {
		p := order[i]
		if err := p.Commit(ctx); err != nil {
			abort()
			return err
		}
		if p.Skipped() {
			// A rerun of a load that committed the table already: the
			// files written again are not needed.
			for _, f := range l.files[t] {
				_ = l.st.Remove(ctx, f)
			}
		}
		// The table owns its files now: Rollback must leave them.
		l.files[t] = nil
		icebergCommitted(t)
	}
	for _, t := range dropped {
		if err := lk.Drop(ctx, l.ds, t); err != nil {
			return err
		}
	}
	return nil
}

// mergeWrite makes w a merge of table w.Table when its family merges with
// keys: the root by its primary and merge keys (collecting the removed
// rows' _dlt_id), a nested table by the removed root rows (_dlt_root_id),
// or its parent's removed rows (_dlt_parent_id) without a root id.
func (l *load) mergeWrite(w *iceberg.Write, pend map[string]*iceberg.Pending, schemas []*arrowbuf.Schema) error {
	t := l.tabs.Lookup(w.Table)
	if t == nil {
		return nil
	}
	root := l.tabs.RootOf(t)
	if root == nil || !l.merged[root.Name] {
		return nil
	}
	pk, mk := family.Keys(root)
	for _, s := range schemas {
		if s == nil {
			continue
		}
		if st := s.Table(root.Name); st != nil {
			if p, k := family.Keys(st); len(p) > 0 || len(k) > 0 {
				pk, mk = p, k
				break
			}
		}
	}
	if len(pk) == 0 && len(mk) == 0 {
		return nil // merge without keys appends
	}
	w.Mode, w.Collect = iceberg.Merge, "_dlt_id"
	if t == root {
		for _, k := range [][]string{pk, mk} {
			if len(k) > 0 {
				w.Keys = append(w.Keys, k)
			}
		}
		return nil
	}
	if rp := pend[root.Name]; rp != nil && t.Column("_dlt_root_id") != nil {
		w.Drop = rp.Removed().As("_dlt_root_id")
		return nil
	}
	if pp := pend[t.Parent]; pp != nil {
		w.Drop = pp.Removed().As("_dlt_parent_id")
		return nil
	}
	return fmt.Errorf("parquet: merge %s: its parent %s was not merged first", w.Table, t.Parent)
}

// checkLakeOptions refuses a table format or catalog the destination does
// not support, when it is made.
func (d *Destination) checkLakeOptions() error {
	if d.tableFormat == arrowbuf.Delta {
		return errors.New("parquet: destination table_format delta is not supported; use iceberg or native")
	}
	if err := checkFormat("(destination default)", d.tableFormat); err != nil {
		return err
	}
	switch d.catalog.Type {
	case "", "sql":
	case "rest":
		return errors.New("parquet: catalog type rest is not supported (use type sql with a sqlite:/// uri, or none: tables are found by path)")
	default:
		return fmt.Errorf("parquet: unknown catalog type %q (want sql)", d.catalog.Type)
	}
	if d.catalog.Type == "sql" && !strings.HasPrefix(d.catalog.URI, "sqlite:///") {
		return errors.New("parquet: catalog uri: want sqlite:///path/catalog.db")
	}
	return nil
}

// addLakeTable adds Iceberg table n to the reader: the data files of its
// newest snapshot made by a committed load (ok), never a listing of data/,
// which keeps the files of older snapshots.
func (r *reader) addLakeTable(ctx context.Context, n string, ok map[string]bool) error {
	lk, err := r.d.lake(ctx)
	if err != nil {
		return err
	}
	v, found, err := lk.Committed(ctx, r.dataset, n, func(id string) bool { return ok[id] })
	if err != nil || !found || v.Empty {
		return err
	}
	for _, f := range v.Files {
		r.files[n] = append(r.files[n], r.d.lakeKey(f))
	}
	r.lake[n] = v.Schema
	r.tables = append(r.tables, n)
	return nil
}

// schema returns table name's columns: the union of its files', or an
// Iceberg table's without files.
func (r *reader) schema(ctx context.Context, name string) (*arrow.Schema, error) {
	if len(r.files[name]) == 0 && r.lake[name] != nil {
		return r.lake[name], nil
	}
	files := make([]dataFile, len(r.files[name]))
	for i, p := range r.files[name] {
		files[i] = dataFile{path: p}
	}
	return r.d.unionSchema(ctx, files)
}

// emptyFile writes a Parquet file without rows with table t's columns in
// the reader's temporary folder. Called with r.mu held.
func (r *reader) emptyFile(ctx context.Context, t string) (string, error) {
	if r.tmp == "" {
		var err error
		if r.tmp, err = os.MkdirTemp("", "sluice-parquet-sql-"); err != nil {
			return "", err
		}
	}
	schema, err := r.schema(ctx, t)
	if err != nil {
		return "", err
	}
	p := filepath.Join(r.tmp, ".empty", t+dataExt)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	w, err := newFileWriter(ctx, localStore{root: filepath.Dir(p)}, filepath.Base(p), schema, r.d.codec, false, r.d.mem)
	if err != nil {
		return "", err
	}
	return p, w.close()
}

// dropLakeTables drops the dataset's Iceberg tables with their catalog
// entries.
func (d *Destination) dropLakeTables(ctx context.Context, dataset string) error {
	tables, err := d.tableDirs(ctx, dataset)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if ok, err := d.isLakeTable(ctx, dataset, t); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		lk, err := d.lake(ctx)
		if err != nil {
			return err
		}
		if err := lk.Drop(ctx, dataset, t); err != nil {
			return err
		}
	}
	return nil
}
