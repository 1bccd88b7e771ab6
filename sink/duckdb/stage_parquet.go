package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// insertParquet writes recs (one Arrow schema) to a temporary Parquet file
// in dir and inserts it with read_parquet. The file is removed afterwards.
func insertParquet(ctx context.Context, conn *sql.Conn, dir, target string, cols, casts []string, recs []arrow.RecordBatch) error {
	f, err := os.CreateTemp(dir, ".sluice-stage-*.parquet")
	if err != nil {
		return fmt.Errorf("stage parquet: %w", err)
	}
	path := f.Name()
	defer os.Remove(path)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Uncompressed),
		parquet.WithDictionaryDefault(false), parquet.WithStats(false))
	w, err := pqarrow.NewFileWriter(recs[0].Schema(), f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return fmt.Errorf("stage parquet: %w", err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			w.Close()
			return fmt.Errorf("stage parquet: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("stage parquet: %w", err)
	}
	var ins, sel strings.Builder
	for i, c := range cols {
		if i > 0 {
			ins.WriteString(", ")
			sel.WriteString(", ")
		}
		ins.WriteString(quote(c))
		if casts[i] != "" {
			fmt.Fprintf(&sel, "CAST(%s AS %s)", quote(c), casts[i])
		} else {
			sel.WriteString(quote(c))
		}
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM read_parquet('%s')", target, ins.String(), sel.String(), strings.ReplaceAll(path, "'", "''"))
	_, err = conn.ExecContext(ctx, q)
	return err
}
