package parquet

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink/internal/family"
)

// merger applies the merge families of one load at Commit.
type merger struct {
	l       *load
	ctx     context.Context
	ok      map[string]bool // committed loads
	hid     hidden
	cleared map[string][]dataFile
	// superseded are the earlier files rewritten ("table/name").
	superseded []string
	// empty holds the columns of tables a rewrite left without rows: such a
	// table keeps an empty file if nothing else of it is left.
	empty map[string]*arrow.Schema
}

type set = map[string]struct{}

// merge upserts the load's merge families as the DuckDB destination's
// commitMerges does, file by file:
//
//   - within the load, the latest root row per primary key wins (rows count
//     in write order); the nested rows of the losers go too, through
//     _dlt_root_id;
//   - earlier root rows whose primary key or merge key equals one of the
//     load's are removed, and so are the earlier nested rows whose
//     _dlt_root_id (else _dlt_parent_id) is the _dlt_id of a removed row.
//
// An earlier file holding removed rows is copied without them as a file of
// the load, and the original is returned ("table/name") for the supersede
// marker: readers switch from the old file to the copy at the commit
// point. Other files stay as they are. Tables in cleared lose all their
// earlier files anyway.
func (l *load) merge(ctx context.Context, s *arrowbuf.Schema, cleared map[string][]dataFile) ([]string, error) {
	if len(l.merged) == 0 {
		return nil, nil
	}
	loads, err := l.d.committedLoads(ctx, l.ds)
	if err != nil {
		return nil, err
	}
	m := &merger{l: l, ctx: ctx, ok: committedSet(loads), cleared: cleared, empty: map[string]*arrow.Schema{}}
	if m.hid, err = l.d.readHidden(ctx, l.ds, m.ok); err != nil {
		return nil, err
	}
	for _, r := range slices.Sorted(maps.Keys(l.merged)) {
		if err := m.family(r, s); err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(m.empty)) {
		if err := m.keepEmpty(t); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
	}
	slices.Sort(m.superseded)
	return m.superseded, nil
}

// family merges the family of root r.
func (m *merger) family(r string, s *arrowbuf.Schema) error {
	l := m.l
	rt := l.tabs.Lookup(r)
	if rt == nil {
		return nil
	}
	// The run's final keys win, as in the DuckDB destination.
	pk, mk := family.Keys(rt)
	if s != nil {
		if t := s.Table(r); t != nil {
			if p, k := family.Keys(t); len(p) > 0 || len(k) > 0 {
				pk, mk = p, k
			}
		}
	}
	staged := l.staged(r)
	if len(pk) == 0 && len(mk) == 0 || len(staged) == 0 {
		return nil // merge without keys (or without root rows) appends
	}
	nested := l.tabs.Nested(r, s, l.req.Schema)

	// The load's keys: the position of the latest row per primary key (a
	// key with nulls too: the dedup groups them, as PARTITION BY does) and
	// the merge key values without nulls. The maps are sized up front:
	// growing a map of a million keys cost as much as filling it.
	var rows int64
	for _, p := range staged {
		pf, err := l.d.openParquet(m.ctx, p)
		if err != nil {
			return err
		}
		rows += pf.NumRows()
		pf.Close()
	}
	last := make(map[string]int64, rows*int64(min(len(pk), 1)))
	mkeys := make(set, rows*int64(min(len(mk), 1)))
	var seq int64
	for _, p := range staged {
		err := l.d.scanFile(m.ctx, p, unique(pk, mk), func(rec arrow.RecordBatch) error {
			pkey, mkey := keyFunc(rec, pk), keyFunc(rec, mk)
			for j := range int(rec.NumRows()) {
				if len(pk) > 0 {
					k, _ := pkey(j)
					last[k] = seq
				}
				if k, ok := mkey(j); ok && len(mk) > 0 {
					mkeys[k] = struct{}{}
				}
				seq++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}

	// Within the load: drop the losers and their nested rows.
	if len(pk) > 0 && seq > int64(len(last)) {
		losers := set{}
		seq = 0
		loses := func(rec arrow.RecordBatch, drop []bool) {
			pkey := keyFunc(rec, pk)
			for j := range drop {
				k, _ := pkey(j)
				drop[j] = last[k] != seq
				seq++
			}
		}
		for _, p := range staged {
			if err := m.filterStaged(r, p, pk, loses, losers); err != nil {
				return err
			}
		}
		for _, n := range nested {
			for _, p := range l.staged(n) {
				if len(losers) == 0 {
					break
				}
				if err := m.filterStaged(n, p, []string{"_dlt_root_id"}, linkedTo("_dlt_root_id", losers), nil); err != nil {
					return fmt.Errorf("%s: %w", n, err)
				}
			}
		}
	}

	// Earlier loads: the root rows matching a key, then their nested rows
	// (an Iceberg family's are removed by its snapshot, commitIceberg).
	if _, gone := m.cleared[r]; gone || l.ice[r] {
		return nil
	}
	matches := func(rec arrow.RecordBatch, drop []bool) {
		pkey, mkey := keyFunc(rec, pk), keyFunc(rec, mk)
		for j := range drop {
			if k, ok := pkey(j); ok && len(pk) > 0 {
				_, drop[j] = last[k]
			}
			if k, ok := mkey(j); ok && !drop[j] && len(mk) > 0 {
				_, drop[j] = mkeys[k]
			}
		}
	}
	removed := set{}
	if err := m.filterEarlier(r, unique(pk, mk), matches, removed); err != nil {
		return err
	}
	for _, n := range nested {
		if _, gone := m.cleared[n]; gone || len(removed) == 0 {
			continue
		}
		link, err := m.link(n)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		if err := m.filterEarlier(n, []string{link}, linkedTo(link, removed), nil); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	return nil
}

// staged lists the data files the load wrote for table t, in write order,
// imported files left out.
func (l *load) staged(t string) []string {
	return slices.DeleteFunc(slices.Clone(l.files[t]), func(p string) bool { return l.imported[p] })
}

// earlier lists the table's files of earlier loads that readers see.
func (m *merger) earlier(t string) ([]dataFile, error) {
	files, err := m.l.d.tableFiles(m.ctx, keyJoin(m.l.ds, t))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(files, func(f dataFile) bool { return !m.hid.visible(f, t, m.ok) }), nil
}

// link is the column that ties nested table n's rows to root rows:
// _dlt_root_id, or _dlt_parent_id in a table without it.
func (m *merger) link(n string) (string, error) {
	files, err := m.earlier(n)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		s, err := m.l.d.fileSchema(m.ctx, f.path)
		if err != nil {
			return "", err
		}
		if len(s.FieldIndices("_dlt_root_id")) > 0 {
			return "_dlt_root_id", nil
		}
	}
	return "_dlt_parent_id", nil
}

// marker marks the rows of a batch to drop, batches coming in file order.
type marker func(rec arrow.RecordBatch, drop []bool)

// linkedTo marks the rows whose column col holds a value of ids.
func linkedTo(col string, ids set) marker {
	return func(rec arrow.RecordBatch, drop []bool) {
		key := keyFunc(rec, []string{col})
		for j := range drop {
			if k, ok := key(j); ok {
				_, drop[j] = ids[k]
			}
		}
	}
}

// filter marks the rows of the file at key p of table t, reading only
// columns cols (and _dlt_id, whose values of marked rows go to ids unless
// ids is nil). A file with marked rows is copied without them (rewrite):
// hit reports whether it was, copyKey is "" when no row is left.
func (m *merger) filter(t, p string, cols []string, mark marker, ids set) (copyKey string, hit bool, err error) {
	var drop []bool
	err = m.l.d.scanFile(m.ctx, p, unique(cols, []string{"_dlt_id"}), func(rec arrow.RecordBatch) error {
		n := len(drop)
		drop = append(drop, make([]bool, rec.NumRows())...)
		mark(rec, drop[n:])
		if ids != nil {
			id := keyFunc(rec, []string{"_dlt_id"})
			for j, d := range drop[n:] {
				if k, ok := id(j); d && ok {
					ids[k] = struct{}{}
				}
			}
		}
		return nil
	})
	if err != nil || !slices.Contains(drop, true) {
		return "", false, err
	}
	copyKey, err = m.rewrite(t, p, drop)
	return copyKey, true, err
}

// filterEarlier filters table t's earlier files: the copies join the
// load's files, the originals are superseded.
func (m *merger) filterEarlier(t string, cols []string, mark marker, ids set) error {
	files, err := m.earlier(t)
	if err != nil {
		return err
	}
	for _, f := range files {
		p, hit, err := m.filter(t, f.path, cols, mark, ids)
		if err != nil {
			return err
		}
		if p != "" {
			m.l.addFile(t, p)
		}
		if hit {
			m.superseded = append(m.superseded, t+"/"+f.name())
		}
	}
	return nil
}

// filterStaged filters a file the load wrote for table t: the copy takes
// its place.
func (m *merger) filterStaged(t, p string, cols []string, mark marker, ids set) error {
	cp, hit, err := m.filter(t, p, cols, mark, ids)
	if err != nil || !hit {
		return err
	}
	files := m.l.files[t]
	i := slices.Index(files, p)
	if cp == "" {
		m.l.files[t] = slices.Delete(files, i, i+1)
	} else {
		files[i] = cp
	}
	return m.l.st.Remove(m.ctx, p)
}

// rewrite copies the file at src as a new file of the load for table t
// without the rows drop marks, row group by row group, with the file's
// columns and the load's writer properties. It returns the copy's key, or
// "" when no row is left.
func (m *merger) rewrite(t, src string, drop []bool) (string, error) {
	l := m.l
	schema, err := l.d.fileSchema(m.ctx, src)
	if err != nil {
		return "", err
	}
	var w *fileWriter
	var off int
	err = l.d.scanFile(m.ctx, src, nil, func(rec arrow.RecordBatch) error {
		n := int(rec.NumRows())
		kept, err := filterRecord(m.ctx, rec, drop[off:off+n])
		off += n
		if err != nil {
			return err
		}
		defer kept.Release()
		if kept.NumRows() == 0 {
			return nil
		}
		if w == nil {
			if w, err = l.newWriter(t, schema); err != nil {
				return err
			}
		}
		return w.write(kept)
	})
	if err == nil && w != nil {
		err = w.close()
	} else if w != nil {
		w.abort()
	}
	if err != nil || w == nil {
		if err == nil && m.empty[t] == nil {
			m.empty[t] = schema
		}
		return "", err
	}
	return w.path, nil
}

// keepEmpty gives table t, which rewrites left without rows, an empty file
// with its columns when nothing else of it is left, so that it stays
// readable with 0 rows as in the DuckDB destination.
func (m *merger) keepEmpty(t string) error {
	if len(m.l.files[t]) > 0 || m.l.ice[t] {
		return nil
	}
	files, err := m.earlier(t)
	if err != nil {
		return err
	}
	for _, f := range files {
		if !slices.Contains(m.superseded, t+"/"+f.name()) {
			return nil
		}
	}
	return m.l.emptyFile(m.ctx, t, m.empty[t])
}

// filterRecord returns rec without the rows drop marks.
func filterRecord(ctx context.Context, rec arrow.RecordBatch, drop []bool) (arrow.RecordBatch, error) {
	if !slices.Contains(drop, true) {
		rec.Retain()
		return rec, nil
	}
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer b.Release()
	for _, d := range drop {
		b.Append(!d)
	}
	keep := b.NewArray()
	defer keep.Release()
	return compute.FilterRecordBatch(ctx, rec, keep, compute.DefaultFilterOptions())
}

// unique concatenates name lists without repeats.
func unique(lists ...[]string) []string {
	out := []string{}
	for _, l := range lists {
		for _, n := range l {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// keyFunc returns a function giving row i's values of the named columns of
// rec as one comparable string, and false when one of them is null (the
// key then matches no earlier row, but still groups rows in the load's
// dedup). A column keeps its type across a table's files, so a value's
// text is its identity, except for floats (-0 = 0 and NaN = NaN, as in
// DuckDB); int64 and strings, the usual keys, skip the text. A missing
// column is all null.
func keyFunc(rec arrow.RecordBatch, names []string) func(i int) (string, bool) {
	cols := make([]arrow.Array, len(names))
	for i, n := range names {
		if idx := rec.Schema().FieldIndices(n); len(idx) > 0 {
			cols[i] = rec.Column(idx[0])
		}
	}
	var b []byte
	return func(i int) (string, bool) {
		b = b[:0]
		all := true
		for _, c := range cols {
			if c == nil || c.IsNull(i) {
				b, all = append(b, 0), false
				continue
			}
			switch a := c.(type) {
			case *array.Int64:
				b = binary.BigEndian.AppendUint64(append(b, 1), uint64(a.Value(i)))
			case *array.String:
				b = append(binary.AppendUvarint(append(b, 2), uint64(a.ValueLen(i))), a.Value(i)...)
			case *array.Float64:
				f := a.Value(i)
				if f == 0 {
					f = 0 // -0 = 0
				} else if math.IsNaN(f) {
					f = math.NaN()
				}
				b = binary.BigEndian.AppendUint64(append(b, 3), math.Float64bits(f))
			default:
				v := c.ValueStr(i)
				b = append(binary.AppendUvarint(append(b, 4), uint64(len(v))), v...)
			}
		}
		return string(b), all
	}
}
