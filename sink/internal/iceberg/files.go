package iceberg

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// changeSchema is the Arrow schema of the change's rows: the reader's, or
// the union of the files' in order (a file started after a table gained a
// column has one more); nil without rows.
func (lk *Lake) changeSchema(ctx context.Context, w Write) (*arrow.Schema, error) {
	if w.Rows != nil {
		return w.Rows.Schema(), nil
	}
	var fields []arrow.Field
	seen := map[string]bool{}
	for _, key := range w.Files {
		sc, err := lk.fileSchema(key)
		if err != nil {
			return nil, err
		}
		for _, f := range sc.Fields() {
			if !seen[f.Name] {
				seen[f.Name] = true
				fields = append(fields, f)
			}
		}
	}
	if fields == nil {
		return nil, nil
	}
	return arrow.NewSchema(fields, nil), nil
}

func (lk *Lake) fileSchema(key string) (*arrow.Schema, error) {
	loc := lk.st.root + "/" + key
	f, err := lk.st.fio.Open(loc)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return sc, nil
}

// fileKeys adds the merge keys of the files' rows to the dropper.
func (lk *Lake) fileKeys(ctx context.Context, keys []string, d *dropper) error {
	want := map[string]bool{}
	for _, s := range d.fromRows {
		for _, c := range s.Columns {
			want[c] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	for _, key := range keys {
		if err := readFile(ctx, lk.st, lk.st.root+"/"+key, want, d.addRows); err != nil {
			return err
		}
	}
	return nil
}

// dataFiles describes the files as data files of tbl from their footers.
func (lk *Lake) dataFiles(ctx context.Context, tbl *table.Table, keys []string) ([]iceberg.DataFile, error) {
	out := make([]iceberg.DataFile, 0, len(keys))
	for _, key := range keys {
		df, err := table.FileToDataFile(ctx, lk.st.fio, lk.st.root+"/"+key, tbl.Schema(), tbl.Spec(), 0, tbl.Properties())
		if err != nil {
			return nil, fmt.Errorf("add %s: %w", key, err)
		}
		out = append(out, df)
	}
	return out, nil
}
