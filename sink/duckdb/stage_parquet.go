package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicehq/sluice/arrowbuf"
)

// stageRows is how many rows a staged Parquet file gathers before DuckDB
// inserts it. DuckDB inserts few large statements much faster than many
// small ones (measured: 1M rows in 10 inserts take 2.1x as long as in one;
// in two, 1.1x), while records are released as soon as they are written to
// the file, so the size costs disk, not memory.
var stageRows int64 = 1 << 20

// stagedFile is an uncompressed Parquet file beside the database that
// gathers one table's records (one Arrow schema) until it is inserted.
type stagedFile struct {
	path string
	f    *os.File
	w    *pqarrow.FileWriter
	rows int64
	// rowBytes is the widest batch's estimated row size in DuckDB.
	rowBytes int64
}

// stagePattern names the staged files of the database at dbPath; only the
// process holding the database's write lock creates them, so at Begin the
// ones it finds were left by a killed process and are removed.
func stagePattern(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), "."+filepath.Base(dbPath)+".stage-*.parquet")
}

// liveStages holds the staged files of this process's loads, which another
// load of the same file in this process must not remove.
var liveStages sync.Map

// removeStrayStages deletes staged files a killed process left behind.
func removeStrayStages(dbPath string) {
	stray, _ := filepath.Glob(stagePattern(dbPath))
	for _, p := range stray {
		if _, live := liveStages.Load(p); !live {
			_ = os.Remove(p)
		}
	}
}

func newStagedFile(dbPath string, schema *arrow.Schema) (*stagedFile, error) {
	f, err := os.CreateTemp(filepath.Dir(dbPath), filepath.Base(stagePattern(dbPath)))
	if err != nil {
		return nil, fmt.Errorf("stage parquet: %w", err)
	}
	// Page buffers come from the pool: a staged file writes the same sizes
	// batch after batch.
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Uncompressed),
		parquet.WithDictionaryDefault(false), parquet.WithStats(false), parquet.WithAllocator(arrowbuf.DefaultPool))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(),
		pqarrow.WithAllocator(arrowbuf.DefaultPool)))
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("stage parquet: %w", err)
	}
	liveStages.Store(f.Name(), struct{}{})
	return &stagedFile{path: f.Name(), f: f, w: w}, nil
}

// write appends rec as a row group; the caller keeps ownership of rec.
func (s *stagedFile) write(rec arrow.RecordBatch) error {
	if err := s.w.Write(rec); err != nil {
		return fmt.Errorf("stage parquet: %w", err)
	}
	s.rows += rec.NumRows()
	s.rowBytes = max(s.rowBytes, rowBytes(rec))
	return nil
}

// insert closes the file, inserts its rows into target and removes it.
func (s *stagedFile) insert(ctx context.Context, conn *sql.Conn, target string, cols, casts []string) error {
	defer s.remove()
	if err := s.w.Close(); err != nil { // closes the file too
		return fmt.Errorf("stage parquet: %w", err)
	}
	ins, sel := insertLists(cols, casts, func(i int) string { return quote(cols[i]) })
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM read_parquet('%s')", target, ins, sel, strings.ReplaceAll(s.path, "'", "''"))
	_, err := conn.ExecContext(ctx, q)
	return err
}

// abort drops the file without inserting it.
func (s *stagedFile) abort() {
	_ = s.w.Close()
	s.remove()
}

func (s *stagedFile) remove() {
	_ = os.Remove(s.path)
	liveStages.Delete(s.path)
}

// withSeq returns rec with seqColumn appended, numbering its rows from
// base; the caller releases it (rec stays the caller's).
func withSeq(rec arrow.RecordBatch, base int64) arrow.RecordBatch {
	b := array.NewInt64Builder(arrowbuf.DefaultPool)
	defer b.Release()
	n := int(rec.NumRows())
	b.Reserve(n)
	for i := range n {
		b.UnsafeAppend(base + int64(i))
	}
	seq := b.NewArray()
	defer seq.Release()
	fields := append(slices.Clone(rec.Schema().Fields()), arrow.Field{Name: seqColumn, Type: arrow.PrimitiveTypes.Int64})
	cols := append(slices.Clone(rec.Columns()), seq)
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// insertStaged inserts a staged file after fitting the memory limit to its
// rows; the file is removed either way.
func (l *load) insertStaged(ctx context.Context, st *stagedFile, p *pendingInsert) error {
	if err := l.fitMemory(ctx, insertNeed(st.rowBytes, l.h.threads)); err != nil {
		st.abort()
		return err
	}
	return st.insert(ctx, l.conn, p.target, p.cols, p.casts)
}
