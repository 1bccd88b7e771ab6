package source

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/valyala/fastjson"

	"github.com/sluicehq/sluice/flow"
)

// JSONL returns a resource reading a file of JSON lines. Lines are parsed
// with fastjson straight into batches: no Go maps are built.
func JSONL(name, path string, opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		defer f.Close()
		return readJSONL(ctx, f, path, yield)
	}, opts...)
}

func readJSONL(ctx context.Context, r io.Reader, path string, yield flow.Yield) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	// A chunk of lines is parsed as one JSON array by its own parser, whose
	// values then live as long as the batch.
	var (
		buf  bytes.Buffer
		line int
	)
	flush := func() error {
		if buf.Len() == 0 {
			return nil
		}
		buf.WriteByte(']')
		var cp fastjson.Parser
		v, err := cp.Parse(buf.String()) // a copy: values point into the text
		if err != nil {
			return fmt.Errorf("source: %s near line %d: %w", path, line, err)
		}
		vals, _ := v.Array()
		buf.Reset()
		return yield(flow.JSONBatch(vals, nil))
	}
	n := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := fastjson.ValidateBytes(b); err != nil {
			return fmt.Errorf("source: %s line %d: %w", path, line, err)
		}
		if buf.Len() == 0 {
			buf.WriteByte('[')
		} else {
			buf.WriteByte(',')
		}
		buf.Write(b)
		n++
		if n == ChunkSize {
			n = 0
			if err := flush(); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("source: %s: %w", path, err)
	}
	return flush()
}

// CSV returns a resource reading a CSV file with a header row; column types
// are inferred by arrow's CSV reader and rows arrive as Arrow record batches.
func CSV(name, path string, opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		defer f.Close()
		r := csv.NewInferringReader(f, csv.WithHeader(true), csv.WithChunk(ChunkSize), csv.WithNullReader(true, ""))
		defer r.Release()
		for r.Next() {
			rec := r.RecordBatch()
			rec.Retain()
			if err := yield(flow.ArrowBatch(rec)); err != nil {
				return err
			}
		}
		if err := r.Err(); err != nil && err != io.EOF {
			return fmt.Errorf("source: %s: %w", path, err)
		}
		return nil
	}, opts...)
}

// Parquet returns a resource reading a Parquet file as Arrow record batches.
func Parquet(name, path string, opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			return fmt.Errorf("source: %s: %w", path, err)
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: ChunkSize}, memory.DefaultAllocator)
		if err != nil {
			return fmt.Errorf("source: %s: %w", path, err)
		}
		rr, err := fr.GetRecordReader(ctx, nil, nil)
		if err != nil {
			return fmt.Errorf("source: %s: %w", path, err)
		}
		defer rr.Release()
		for rr.Next() {
			rec := rr.RecordBatch()
			rec.Retain()
			if err := yield(flow.ArrowBatch(rec)); err != nil {
				return err
			}
		}
		if err := rr.Err(); err != nil && err != io.EOF {
			return fmt.Errorf("source: %s: %w", path, err)
		}
		return nil
	}, opts...)
}

// Import returns a resource that loads the files matching pattern (a
// filepath.Glob pattern) as they are, in format "csv" (with a header),
// "parquet" or "jsonl": the destination reads them directly, no row is
// parsed or normalized here (dlt's with_file_import). Give the table's
// columns with flow.Columns to create it from hints; without them the
// destination takes the file's own columns and types.
func Import(name, pattern, format string, opts ...flow.Option) *flow.Resource {
	return flow.NewResource(name, func(ctx context.Context, yield flow.Yield) error {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			return fmt.Errorf("source: import %q: %w", pattern, err)
		}
		if len(paths) == 0 {
			return fmt.Errorf("source: import %q: no files match", pattern)
		}
		for _, p := range paths {
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			if err := yield(flow.FileImport(abs, format)); err != nil {
				return err
			}
		}
		return nil
	}, opts...)
}
