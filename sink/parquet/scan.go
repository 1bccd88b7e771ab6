package parquet

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// openParquet opens a data file of the bucket; closing the reader closes
// the file.
func (d *Destination) openParquet(ctx context.Context, key string) (*file.Reader, error) {
	f, err := d.st.Open(ctx, key)
	if err != nil {
		return nil, storeErr(d.st, "open", key, err)
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, storeErr(d.st, "read", key, err)
	}
	return pf, nil
}

// fileSchema reads the Arrow schema of a data file.
func (d *Destination) fileSchema(ctx context.Context, key string) (*arrow.Schema, error) {
	pf, err := d.openParquet(ctx, key)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, storeErr(d.st, "read", key, err)
	}
	return fr.Schema()
}

// unionSchema returns the columns of the files by name, first seen first.
func (d *Destination) unionSchema(ctx context.Context, files []dataFile) (*arrow.Schema, error) {
	var fields []arrow.Field
	seen := map[string]bool{}
	for _, f := range files {
		s, err := d.fileSchema(ctx, f.path)
		if err != nil {
			return nil, err
		}
		for _, fd := range s.Fields() {
			if !seen[fd.Name] {
				seen[fd.Name] = true
				fd.Nullable = true
				fields = append(fields, fd)
			}
		}
	}
	return arrow.NewSchema(fields, nil), nil
}

// scanFile streams columns cols of a data file (all of them when cols is
// nil; the ones it has otherwise) as record batches: a whole row group per
// batch when reading all columns, so a copy keeps the row groups, bounded
// batches otherwise. A file with none of cols yields batches without
// columns, for their row counts.
func (d *Destination) scanFile(ctx context.Context, key string, cols []string, fn func(rec arrow.RecordBatch) error) error {
	pf, err := d.openParquet(ctx, key)
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
		return storeErr(d.st, "read", key, err)
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
