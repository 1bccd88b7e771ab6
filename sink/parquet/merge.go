package parquet

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

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
// An earlier file holding removed rows is copied without them into the
// load's staging, named like the load's own files, and the original is
// returned ("table/name") for the supersede marker: readers switch from
// the old file to the copy at the commit point. Other files stay as they
// are. Tables in cleared lose all their earlier files anyway.
func (l *load) merge(ctx context.Context, s *arrowbuf.Schema, cleared map[string][]dataFile) ([]string, error) {
	if len(l.merged) == 0 {
		return nil, nil
	}
	loads, err := l.d.committedLoads(l.req.Dataset)
	if err != nil {
		return nil, err
	}
	m := &merger{l: l, ctx: ctx, ok: committedSet(loads), cleared: cleared, empty: map[string]*arrow.Schema{}}
	if m.hid, err = readHidden(l.dsDir, m.ok); err != nil {
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

	// The key maps are sized up front: growing a map of a million keys
	// cost as much as filling it.
	var rows int64
	for _, p := range staged {
		n, err := fileRows(p)
		if err != nil {
			return err
		}
		rows += n
	}
	sized := func(keys []string) int64 {
		if len(keys) == 0 {
			return 0
		}
		return rows
	}
	// The load's keys: the position of the latest row per primary key (a
	// key with nulls too: the dedup groups them, as PARTITION BY does) and
	// the merge key values without nulls.
	last := make(map[string]int64, sized(pk))
	mkeys := make(map[string]struct{}, sized(mk))
	starts := make([]int64, len(staged))
	var seq int64
	var buf []byte
	for i, p := range staged {
		starts[i] = seq
		err := scanFile(m.ctx, p, unique(pk, mk), func(rec arrow.RecordBatch) error {
			pkc, mkc := newKeyCols(rec, pk), newKeyCols(rec, mk)
			for j := range int(rec.NumRows()) {
				if len(pk) > 0 {
					buf, _ = pkc.key(buf[:0], j)
					last[string(buf)] = seq
				}
				if len(mk) > 0 {
					var ok bool
					if buf, ok = mkc.key(buf[:0], j); ok {
						mkeys[string(buf)] = struct{}{}
					}
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
		losers := map[string]struct{}{}
		for i, p := range staged {
			loses := func() func(arrow.RecordBatch) []bool {
				at := starts[i]
				return func(rec arrow.RecordBatch) []bool {
					pkc := newKeyCols(rec, pk)
					drop := make([]bool, rec.NumRows())
					for j := range drop {
						buf, _ = pkc.key(buf[:0], j)
						drop[j] = last[string(buf)] != at
						at++
					}
					return drop
				}
			}
			if err := m.filterStaged(r, p, unique(pk, []string{"_dlt_id"}), loses, "_dlt_id", losers); err != nil {
				return err
			}
		}
		if len(losers) > 0 {
			for _, n := range nested {
				for _, p := range l.staged(n) {
					if err := m.filterStaged(n, p, []string{"_dlt_root_id"}, linkedTo("_dlt_root_id", losers), "", nil); err != nil {
						return fmt.Errorf("%s: %w", n, err)
					}
				}
			}
		}
	}

	// Earlier loads: the root rows matching a key, then their nested rows.
	if _, gone := m.cleared[r]; gone {
		return nil
	}
	matches := func() func(arrow.RecordBatch) []bool {
		return func(rec arrow.RecordBatch) []bool {
			p, k := newKeyCols(rec, pk), newKeyCols(rec, mk)
			drop := make([]bool, rec.NumRows())
			for j := range drop {
				var ok bool
				if len(pk) > 0 {
					if buf, ok = p.key(buf[:0], j); ok {
						_, drop[j] = last[string(buf)]
					}
				}
				if !drop[j] && len(mk) > 0 {
					if buf, ok = k.key(buf[:0], j); ok {
						_, drop[j] = mkeys[string(buf)]
					}
				}
			}
			return drop
		}
	}
	removed := map[string]struct{}{}
	if err := m.filterEarlier(r, unique(pk, mk, []string{"_dlt_id"}), matches, "_dlt_id", removed); err != nil {
		return err
	}
	if len(removed) == 0 {
		return nil
	}
	for _, n := range nested {
		if _, gone := m.cleared[n]; gone {
			continue
		}
		link, err := m.link(n)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		if err := m.filterEarlier(n, []string{link}, linkedTo(link, removed), "", nil); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	return nil
}

// staged lists the data files the load wrote for table t, in write order,
// imported files left out.
func (l *load) staged(t string) []string {
	var out []string
	for _, p := range l.files[t] {
		if !l.imported[p] {
			out = append(out, p)
		}
	}
	return out
}

// earlier lists the table's files of earlier loads that readers see.
func (m *merger) earlier(t string) ([]dataFile, error) {
	files, err := tableFiles(filepath.Join(m.l.dsDir, t))
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
		s, err := fileSchema(f.path)
		if err != nil {
			return "", err
		}
		if len(s.FieldIndices("_dlt_root_id")) > 0 {
			return "_dlt_root_id", nil
		}
	}
	return "_dlt_parent_id", nil
}

// linkedTo marks the rows whose column col holds a value of ids.
func linkedTo(col string, ids map[string]struct{}) dropper {
	return func() func(arrow.RecordBatch) []bool {
		var buf []byte
		return func(rec arrow.RecordBatch) []bool {
			c := newKeyCols(rec, []string{col})
			drop := make([]bool, rec.NumRows())
			for j := range drop {
				var ok bool
				if buf, ok = c.key(buf[:0], j); ok {
					_, drop[j] = ids[string(buf)]
				}
			}
			return drop
		}
	}
}

// collect adds the values of column col of the dropped rows to into.
func collect(rec arrow.RecordBatch, drop []bool, col string, into map[string]struct{}) {
	c := newKeyCols(rec, []string{col})
	var buf []byte
	for j, d := range drop {
		var ok bool
		if buf, ok = c.key(buf[:0], j); d && ok {
			into[string(buf)] = struct{}{}
		}
	}
}

// dropper returns a function marking the rows of a file to drop, batch by
// batch; a file is read once to find them and once more to copy it.
type dropper func() func(arrow.RecordBatch) []bool

// filterFile finds the rows that drop marks in the file at path of table t,
// reading only columns cols, and adds the values of column id of those rows
// to ids (when id is not ""). A file holding such rows is copied without
// them (rewrite); hit reports whether it was.
func (m *merger) filterFile(t, path string, cols []string, drop dropper, id string, ids map[string]struct{}) (copyPath string, hit bool, err error) {
	if err := context.Cause(m.ctx); err != nil {
		return "", false, err
	}
	d := drop()
	err = scanFile(m.ctx, path, cols, func(rec arrow.RecordBatch) error {
		marks := d(rec)
		if slices.Contains(marks, true) {
			hit = true
			if id != "" {
				collect(rec, marks, id, ids)
			}
		}
		return nil
	})
	if err != nil || !hit {
		return "", false, err
	}
	copyPath, err = m.rewrite(t, path, drop())
	return copyPath, true, err
}

// filterEarlier filters table t's earlier files (filterFile): the copies
// join the load's files, the originals are superseded.
func (m *merger) filterEarlier(t string, cols []string, drop dropper, id string, ids map[string]struct{}) error {
	files, err := m.earlier(t)
	if err != nil {
		return err
	}
	for _, f := range files {
		p, hit, err := m.filterFile(t, f.path, cols, drop, id, ids)
		if err != nil {
			return err
		}
		if !hit {
			continue
		}
		if p != "" {
			m.l.addFile(t, p)
		}
		m.superseded = append(m.superseded, t+"/"+filepath.Base(f.path))
	}
	return nil
}

// filterStaged filters a file the load wrote for table t (filterFile): the
// copy takes its place.
func (m *merger) filterStaged(t, path string, cols []string, drop dropper, id string, ids map[string]struct{}) error {
	p, hit, err := m.filterFile(t, path, cols, drop, id, ids)
	if err != nil || !hit {
		return err
	}
	files := m.l.files[t]
	i := slices.Index(files, path)
	if p == "" {
		m.l.files[t] = slices.Delete(files, i, i+1)
	} else {
		files[i] = p
	}
	return os.Remove(path)
}

// rewrite copies the file at src into the load's staging folder of table t
// without the rows drop marks, row group by row group, with the file's
// columns and the load's writer properties. It returns the copy's path, or
// "" when no row is left.
func (m *merger) rewrite(t, src string, drop func(arrow.RecordBatch) []bool) (string, error) {
	l := m.l
	schema, err := fileSchema(src)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(l.staging, t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var w *fileWriter
	err = scanFile(m.ctx, src, nil, func(rec arrow.RecordBatch) error {
		kept, err := filterRecord(rec, drop(rec))
		if err != nil {
			return err
		}
		defer kept.Release()
		if kept.NumRows() == 0 {
			return nil
		}
		if w == nil {
			if w, err = newFileWriter(filepath.Join(dir, dataFileName(l.req.LoadID, fileID())), schema, l.d.codec, l.d.dict, arrowbuf.DefaultPool); err != nil {
				return err
			}
		}
		return w.write(kept)
	})
	if err == nil && w != nil {
		err = w.close()
	}
	if err != nil {
		if w != nil {
			w.abort()
			_ = os.Remove(w.path)
		}
		return "", err
	}
	if w == nil {
		if m.empty[t] == nil {
			m.empty[t] = schema
		}
		return "", nil
	}
	return w.path, nil
}

// keepEmpty gives table t, which rewrites left without rows, an empty file
// with its columns when nothing else of it is left, so that it stays
// readable with 0 rows as in the DuckDB destination.
func (m *merger) keepEmpty(t string) error {
	l := m.l
	if len(l.files[t]) > 0 {
		return nil
	}
	files, err := m.earlier(t)
	if err != nil {
		return err
	}
	for _, f := range files {
		if !slices.Contains(m.superseded, t+"/"+filepath.Base(f.path)) {
			return nil
		}
	}
	w, err := newFileWriter(filepath.Join(l.staging, t, dataFileName(l.req.LoadID, fileID())), m.empty[t], l.d.codec, l.d.dict, arrowbuf.DefaultPool)
	if err != nil {
		return err
	}
	if err := w.close(); err != nil {
		return err
	}
	l.addFile(t, w.path)
	return nil
}

// addFile adds a staged file to table t's files of the load.
func (l *load) addFile(t, p string) {
	if _, seen := l.files[t]; !seen {
		l.tables = append(l.tables, t)
	}
	l.files[t] = append(l.files[t], p)
}

// fileRows returns the number of rows of a Parquet file.
func fileRows(path string) (int64, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, err
	}
	defer pf.Close()
	return pf.NumRows(), nil
}

// scanFile streams columns cols of a Parquet file (all of them when cols
// is nil; the ones it has otherwise) as record batches: a whole row group
// per batch when reading all columns, so a copy keeps the row groups,
// bounded batches otherwise. A file with none of cols yields batches
// without columns, for their row counts.
func scanFile(ctx context.Context, path string, cols []string, fn func(rec arrow.RecordBatch) error) error {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return err
	}
	defer pf.Close()
	props := pqarrow.ArrowReadProperties{}
	var idx []int
	if cols != nil {
		props.BatchSize = 64 << 10
		for _, c := range cols {
			if i := pf.MetaData().Schema.ColumnIndexByName(c); i >= 0 {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			for rg := range pf.NumRowGroups() {
				rec := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, pf.MetaData().RowGroup(rg).NumRows())
				err := fn(rec)
				rec.Release()
				if err != nil {
					return err
				}
			}
			return nil
		}
	}
	fr, err := pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	read := func(rgs []int) error {
		rr, err := fr.GetRecordReader(ctx, idx, rgs)
		if err != nil {
			return err
		}
		defer rr.Release()
		for rr.Next() {
			if err := fn(rr.RecordBatch()); err != nil {
				return err
			}
		}
		return rr.Err()
	}
	if cols != nil {
		if pf.NumRowGroups() == 0 {
			return nil
		}
		return read(nil)
	}
	for rg := range pf.NumRowGroups() {
		if pf.MetaData().RowGroup(rg).NumRows() == 0 {
			continue
		}
		if err := read([]int{rg}); err != nil {
			return err
		}
	}
	return nil
}

// filterRecord returns rec without the rows drop marks: slices of the runs
// of kept rows, concatenated.
func filterRecord(rec arrow.RecordBatch, drop []bool) (arrow.RecordBatch, error) {
	var runs [][2]int64
	var n int64
	for i := 0; i < len(drop); {
		if drop[i] {
			i++
			continue
		}
		j := i
		for j < len(drop) && !drop[j] {
			j++
		}
		runs = append(runs, [2]int64{int64(i), int64(j)})
		n += int64(j - i)
		i = j
	}
	if n == rec.NumRows() {
		rec.Retain()
		return rec, nil
	}
	cols := make([]arrow.Array, rec.NumCols())
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	for c := range cols {
		parts := make([]arrow.Array, len(runs))
		for k, r := range runs {
			parts[k] = array.NewSlice(rec.Column(c), r[0], r[1])
		}
		var err error
		if len(parts) == 0 {
			cols[c] = array.MakeArrayOfNull(memory.DefaultAllocator, rec.Column(c).DataType(), 0)
		} else {
			cols[c], err = array.Concatenate(parts, memory.DefaultAllocator)
		}
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			release()
			return nil, err
		}
	}
	out := array.NewRecordBatch(rec.Schema(), cols, n)
	release()
	return out, nil
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

// keyCols encodes the values of some columns of a record as one comparable
// byte string per row, so that two keys are equal when DuckDB's = holds
// for every column: integers of any width as int64, timestamps as the
// instant, decimals by value, strings by their bytes.
type keyCols []keyEnc

// keyEnc appends the encoding of row i's value; false for a null.
type keyEnc func(b []byte, i int) ([]byte, bool)

// newKeyCols finds the named columns in rec; a missing column is all null.
func newKeyCols(rec arrow.RecordBatch, names []string) keyCols {
	k := make(keyCols, len(names))
	for i, n := range names {
		if idx := rec.Schema().FieldIndices(n); len(idx) > 0 {
			k[i] = encoderFor(rec.Column(idx[0]))
		}
	}
	return k
}

// key appends row i's key to b; false when a column is null (the key then
// matches no other key, but still groups rows in the load's dedup).
func (k keyCols) key(b []byte, i int) ([]byte, bool) {
	all := true
	for _, e := range k {
		var ok bool
		if e != nil {
			b, ok = e(b, i)
		}
		if !ok {
			b = append(b, 0) // null
			all = false
		}
	}
	return b, all
}

type valuer[T any] interface {
	IsNull(int) bool
	Value(int) T
}

func intEnc[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](a valuer[T]) keyEnc {
	return func(b []byte, i int) ([]byte, bool) {
		if a.IsNull(i) {
			return b, false
		}
		return binary.BigEndian.AppendUint64(append(b, 'i'), uint64(int64(a.Value(i)))), true
	}
}

func floatEnc[T float32 | float64](a valuer[T]) keyEnc {
	return func(b []byte, i int) ([]byte, bool) {
		if a.IsNull(i) {
			return b, false
		}
		f := float64(a.Value(i))
		switch {
		case f == 0:
			f = 0 // -0 = 0
		case math.IsNaN(f):
			f = math.NaN() // DuckDB: NaN = NaN
		}
		return binary.BigEndian.AppendUint64(append(b, 'f'), math.Float64bits(f)), true
	}
}

func bytesEnc[T string | []byte](tag byte, a valuer[T]) keyEnc {
	return func(b []byte, i int) ([]byte, bool) {
		if a.IsNull(i) {
			return b, false
		}
		v := a.Value(i)
		b = binary.AppendUvarint(append(b, tag), uint64(len(v)))
		return append(b, v...), true
	}
}

// instantEnc encodes times as seconds and nanoseconds, whatever their unit.
func instantEnc(tag byte, isNull func(int) bool, at func(i int) (sec, nsec int64)) keyEnc {
	return func(b []byte, i int) ([]byte, bool) {
		if isNull(i) {
			return b, false
		}
		s, ns := at(i)
		b = binary.BigEndian.AppendUint64(append(b, tag), uint64(s))
		return binary.BigEndian.AppendUint32(b, uint32(ns)), true
	}
}

// sinceMidnight splits a time of day in a unit into seconds and nanoseconds.
func sinceMidnight(v int64, unit arrow.TimeUnit) (int64, int64) {
	ns := v * int64(unit.Multiplier())
	return ns / 1e9, ns % 1e9
}

func encoderFor(col arrow.Array) keyEnc {
	switch a := col.(type) {
	case *array.Int8:
		return intEnc(a)
	case *array.Int16:
		return intEnc(a)
	case *array.Int32:
		return intEnc(a)
	case *array.Int64:
		return intEnc(a)
	case *array.Uint8:
		return intEnc(a)
	case *array.Uint16:
		return intEnc(a)
	case *array.Uint32:
		return intEnc(a)
	case *array.Uint64:
		return func(b []byte, i int) ([]byte, bool) {
			if a.IsNull(i) {
				return b, false
			}
			tag := byte('i')
			if a.Value(i) > math.MaxInt64 {
				tag = 'u'
			}
			return binary.BigEndian.AppendUint64(append(b, tag), a.Value(i)), true
		}
	case *array.Float32:
		return floatEnc(a)
	case *array.Float64:
		return floatEnc(a)
	case *array.Boolean:
		return func(b []byte, i int) ([]byte, bool) {
			if a.IsNull(i) {
				return b, false
			}
			if a.Value(i) {
				return append(b, 'b', 1), true
			}
			return append(b, 'b', 0), true
		}
	case *array.String:
		return bytesEnc('s', a)
	case *array.LargeString:
		return bytesEnc('s', a)
	case *array.StringView:
		return bytesEnc('s', a)
	case *array.Binary:
		return bytesEnc('x', a)
	case *array.LargeBinary:
		return bytesEnc('x', a)
	case *array.BinaryView:
		return bytesEnc('x', a)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return instantEnc('t', a.IsNull, func(i int) (int64, int64) {
			t := a.Value(i).ToTime(unit)
			return t.Unix(), int64(t.Nanosecond())
		})
	case *array.Date32:
		return instantEnc('d', a.IsNull, func(i int) (int64, int64) { return int64(a.Value(i)), 0 })
	case *array.Date64:
		return instantEnc('d', a.IsNull, func(i int) (int64, int64) {
			const day = 86400000
			ms := int64(a.Value(i))
			d := ms / day
			if ms%day < 0 {
				d-- // whole days before 1970 round down, as DuckDB's DATE
			}
			return d, 0
		})
	case *array.Time32:
		unit := a.DataType().(*arrow.Time32Type).Unit
		return instantEnc('h', a.IsNull, func(i int) (int64, int64) { return sinceMidnight(int64(a.Value(i)), unit) })
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		return instantEnc('h', a.IsNull, func(i int) (int64, int64) { return sinceMidnight(int64(a.Value(i)), unit) })
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return bytesEnc('n', stringValuer{a.IsNull, func(i int) string { return decimalText(a.Value(i).ToString(scale)) }})
	case *array.Dictionary:
		inner := encoderFor(a.Dictionary())
		return func(b []byte, i int) ([]byte, bool) {
			if a.IsNull(i) {
				return b, false
			}
			return inner(b, a.GetValueIndex(i))
		}
	}
	// Other types compare by their text.
	return bytesEnc('v', stringValuer{col.IsNull, col.ValueStr})
}

type stringValuer struct {
	isNull func(int) bool
	value  func(int) string
}

func (s stringValuer) IsNull(i int) bool  { return s.isNull(i) }
func (s stringValuer) Value(i int) string { return s.value(i) }

// decimalText drops trailing fraction zeros, so equal values of different
// scales compare equal.
func decimalText(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
