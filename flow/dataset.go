package flow

import (
	"context"
	"github.com/sluicehq/sluice/sink"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// DatasetHandle reads what a pipeline loaded, for feeding Arrow data to other
// tools. Each call opens the destination and closes it when done (or, for
// readers, when the reader is released).
type DatasetHandle struct {
	dest    sink.Destination
	dataset string
}

// Dataset returns a handle on the pipeline's dataset.
func (p *Pipeline) Dataset() *DatasetHandle { return &DatasetHandle{dest: p.dest, dataset: p.dataset} }

// Tables lists the data tables with their row counts.
func (d *DatasetHandle) Tables(ctx context.Context) ([]sink.TableInfo, error) {
	r, err := d.dest.OpenDataset(ctx, d.dataset)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Tables(ctx)
}

// RowCounts maps each data table to its number of rows.
func (d *DatasetHandle) RowCounts(ctx context.Context) (map[string]int64, error) {
	ts, err := d.Tables(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(ts))
	for _, t := range ts {
		out[t.Name] = t.Rows
	}
	return out, nil
}

// Table streams a table as Arrow record batches. Release the reader when done.
func (d *DatasetHandle) Table(ctx context.Context, name string) (array.RecordReader, error) {
	r, err := d.dest.OpenDataset(ctx, d.dataset)
	if err != nil {
		return nil, err
	}
	rr, err := r.Table(ctx, name)
	if err != nil {
		r.Close()
		return nil, err
	}
	return &closingReader{RecordReader: rr, close: r.Close}, nil
}

// Query runs read-only SQL over the dataset. Release the reader when done.
func (d *DatasetHandle) Query(ctx context.Context, sql string) (array.RecordReader, error) {
	r, err := d.dest.OpenDataset(ctx, d.dataset)
	if err != nil {
		return nil, err
	}
	rr, err := r.Query(ctx, sql)
	if err != nil {
		r.Close()
		return nil, err
	}
	return &closingReader{RecordReader: rr, close: r.Close}, nil
}

// Loads lists the dataset's loads, newest first.
func (d *DatasetHandle) Loads(ctx context.Context) ([]sink.LoadRecord, error) {
	r, err := d.dest.OpenDataset(ctx, d.dataset)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Loads(ctx)
}

// closingReader closes the dataset reader with the last Release.
type closingReader struct {
	array.RecordReader
	close func() error
	done  bool
}

func (c *closingReader) Release() {
	c.RecordReader.Release()
	if !c.done {
		c.done = true
		_ = c.close()
	}
}
