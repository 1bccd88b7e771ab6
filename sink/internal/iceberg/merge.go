package iceberg

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
)

// KeySet is a set of value tuples of some columns, compared by their Arrow
// value text (the same column has the same type in the rows and the files).
// Rows with a null in a key column are never in it.
type KeySet struct {
	Columns []string
	keys    map[string]struct{}
}

// NewKeySet returns an empty set over columns.
func NewKeySet(columns ...string) *KeySet {
	return &KeySet{Columns: columns, keys: map[string]struct{}{}}
}

// Len returns the number of tuples.
func (k *KeySet) Len() int { return len(k.keys) }

// As returns the same tuples over other columns (the removed root _dlt_ids
// as the nested tables' _dlt_root_id).
func (k *KeySet) As(columns ...string) *KeySet {
	return &KeySet{Columns: columns, keys: k.keys}
}

// AddRecord adds the tuples of the rows of rec.
func (k *KeySet) AddRecord(rec arrow.RecordBatch) error {
	cols, ok := k.columnsOf(rec)
	if !ok {
		return fmt.Errorf("key columns %s are not all in the rows", strings.Join(k.Columns, ", "))
	}
	for i := range int(rec.NumRows()) {
		if key, ok := rowKey(cols, i); ok {
			k.keys[strings.Clone(key)] = struct{}{} // a string value is a view of the batch's buffer
		}
	}
	return nil
}

// columnsOf returns the set's columns in rec; false if one is missing.
func (k *KeySet) columnsOf(rec arrow.RecordBatch) ([]arrow.Array, bool) {
	if len(k.Columns) == 0 {
		return nil, false
	}
	cols := make([]arrow.Array, len(k.Columns))
	for j, c := range k.Columns {
		idx := rec.Schema().FieldIndices(c)
		if len(idx) == 0 {
			return nil, false
		}
		cols[j] = rec.Column(idx[0])
	}
	return cols, true
}

func rowKey(cols []arrow.Array, i int) (string, bool) {
	if len(cols) == 1 {
		if cols[0].IsNull(i) {
			return "", false
		}
		return cols[0].ValueStr(i), true
	}
	var b strings.Builder
	for _, c := range cols {
		if c.IsNull(i) {
			return "", false
		}
		s := c.ValueStr(i)
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String(), true
}

// dropper finds the existing rows a merge removes.
type dropper struct {
	fromRows []*KeySet // the Keys groups, filled from the load's rows
	sets     []*KeySet // fromRows and Drop
	collect  string
}

func newDropper(w Write, sc *arrow.Schema) (*dropper, error) {
	if w.Mode != Merge {
		if len(w.Keys) > 0 || w.Drop != nil || w.Collect != "" {
			return nil, fmt.Errorf("Keys, Drop and Collect apply to merge, not %s", w.Mode)
		}
		return &dropper{}, nil
	}
	d := &dropper{collect: w.Collect}
	for _, g := range w.Keys {
		if len(g) == 0 {
			return nil, errors.New("empty key column group")
		}
		if sc != nil {
			for _, c := range g {
				if len(sc.FieldIndices(c)) == 0 {
					return nil, fmt.Errorf("key column %s is not in the rows", c)
				}
			}
		}
		d.fromRows = append(d.fromRows, NewKeySet(g...))
	}
	d.sets = append(d.sets, d.fromRows...)
	if w.Drop != nil {
		d.sets = append(d.sets, w.Drop)
	}
	return d, nil
}

// addRows adds the key tuples of the load's rows.
func (d *dropper) addRows(rec arrow.RecordBatch) error {
	for _, s := range d.fromRows {
		if err := s.AddRecord(rec); err != nil {
			return err
		}
	}
	return nil
}

func (d *dropper) empty() bool {
	for _, s := range d.sets {
		if s.Len() > 0 {
			return false
		}
	}
	return true
}

// match marks the rows of rec that a set holds; n counts them.
func (d *dropper) match(rec arrow.RecordBatch) (hit []bool, n int) {
	hit = make([]bool, rec.NumRows())
	for _, s := range d.sets {
		if s.Len() == 0 {
			continue
		}
		// A file written before a key column existed holds only nulls in
		// it: none of its rows match that set.
		cols, ok := s.columnsOf(rec)
		if !ok {
			continue
		}
		for i := range hit {
			if hit[i] {
				continue
			}
			if key, ok := rowKey(cols, i); ok {
				if _, in := s.keys[key]; in {
					hit[i] = true
					n++
				}
			}
		}
	}
	return hit, n
}

// scan returns the files holding removed rows and how many each holds, and
// adds the Collect values of those rows to removed. It reads only the key
// and Collect columns.
func (d *dropper) scan(ctx context.Context, st *store, files []iceberg.DataFile, removed *KeySet) (hit []iceberg.DataFile, counts []int64, err error) {
	if d.empty() {
		return nil, nil, nil
	}
	want := map[string]bool{}
	for _, s := range d.sets {
		for _, c := range s.Columns {
			want[c] = true
		}
	}
	if d.collect != "" {
		want[d.collect] = true
	}
	for _, f := range files {
		var n int64
		err := readFile(ctx, st, f.FilePath(), want, func(rec arrow.RecordBatch) error {
			mask, k := d.match(rec)
			if k == 0 {
				return nil
			}
			n += int64(k)
			if d.collect == "" {
				return nil
			}
			idx := rec.Schema().FieldIndices(d.collect)
			if len(idx) == 0 {
				return nil
			}
			col := []arrow.Array{rec.Column(idx[0])}
			for i, h := range mask {
				if h {
					if key, ok := rowKey(col, i); ok {
						removed.keys[strings.Clone(key)] = struct{}{}
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if n > 0 {
			hit = append(hit, f)
			counts = append(counts, n)
		}
	}
	return hit, counts, nil
}

// survivors yields the rows of file f that the merge keeps.
func (d *dropper) survivors(ctx context.Context, st *store, f iceberg.DataFile) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		stopped := false
		err := readFile(ctx, st, f.FilePath(), nil, func(rec arrow.RecordBatch) error {
			hit, n := d.match(rec)
			if n == 0 {
				rec.Retain()
				if !yield(rec, nil) {
					stopped = true
					return errStop
				}
				return nil
			}
			if n == len(hit) {
				return nil
			}
			b := array.NewBooleanBuilder(memory.DefaultAllocator)
			defer b.Release()
			for _, h := range hit {
				b.Append(!h)
			}
			keep := b.NewBooleanArray()
			defer keep.Release()
			out, err := compute.FilterRecordBatch(ctx, rec, keep, compute.DefaultFilterOptions())
			if err != nil {
				return err
			}
			if !yield(out, nil) {
				stopped = true
				return errStop
			}
			return nil
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	}
}

var errStop = errors.New("stop")

// readFile reads the columns of a data file named in cols (all if nil), in
// batches; each batch is released after each returns.
func readFile(ctx context.Context, st *store, path string, cols map[string]bool, each func(arrow.RecordBatch) error) (err error) {
	f, err := st.fio.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer func() { err = errors.Join(err, pf.Close()) }()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var idx []int
	if cols != nil {
		for _, fld := range fr.Manifest.Fields {
			if cols[fld.Field.Name] {
				idx = append(idx, fld.ColIndex)
			}
		}
		if len(idx) == 0 {
			return nil
		}
	}
	rr, err := fr.GetRecordReader(ctx, idx, nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := each(rr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
