package bench

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver
)

// NDJSON is the benchmark's records as newline-delimited JSON files, for
// DuckDB's own reader: Files lists, in order, files that hold rows records
// in all, and Bytes is their total size.
type NDJSON struct {
	Files []string
	Bytes int64
}

// WriteNDJSON writes rows records of shape into dir as NDJSON, the records
// the pages of Pages(poolRows, ...) hold, cycled as the benchmark API
// cycles its pages: load row r is record r % poolRows. The pool is written
// once and listed as often as the cycle repeats (a last file holds a
// partial cycle), so the disk used does not grow with rows.
func WriteNDJSON(dir string, rows, poolRows int, shape Shape) (NDJSON, error) {
	var out NDJSON
	poolRows = min(poolRows, rows)
	if poolRows <= 0 {
		return out, fmt.Errorf("bench: NDJSON needs rows > 0, got %d", rows)
	}
	write := func(name string, n int) (string, int64, error) {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			return "", 0, err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		var size int64
		buf := make([]byte, 0, 1024)
		for i := range n {
			buf = append(appendRecord(buf[:0], i, shape), '\n')
			size += int64(len(buf))
			if _, err := w.Write(buf); err != nil {
				f.Close()
				return "", 0, err
			}
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return "", 0, err
		}
		return path, size, f.Close()
	}
	pool, size, err := write("pool.ndjson", poolRows)
	if err != nil {
		return out, fmt.Errorf("bench: NDJSON: %w", err)
	}
	for range rows / poolRows {
		out.Files = append(out.Files, pool)
		out.Bytes += size
	}
	if rest := rows % poolRows; rest > 0 {
		path, size, err := write("rest.ndjson", rest)
		if err != nil {
			return out, fmt.Errorf("bench: NDJSON: %w", err)
		}
		out.Files = append(out.Files, path)
		out.Bytes += size
	}
	return out, nil
}

// readNDJSON is DuckDB's reader over files, as a user writes it.
func readNDJSON(files []string) string {
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
	}
	return "read_ndjson([" + strings.Join(quoted, ", ") + "])"
}

// NativeDuckDB loads files into the table users of a new DuckDB file at
// path with DuckDB's own JSON reader: CREATE TABLE AS SELECT * FROM
// read_ndjson, DuckDB's defaults (all threads, its own memory limit), no
// dlt normalization (address is a STRUCT column, orders a LIST). The time
// it takes, from opening the file to closing it (the checkpoint that puts
// the rows in the file), is what a user who has the records as files waits
// for. It returns the rows loaded.
func NativeDuckDB(ctx context.Context, path string, files []string) (int64, error) {
	// CREATE TABLE AS reports no row count: count(*) reads the table's
	// metadata.
	return native(ctx, path, "CREATE TABLE users AS SELECT * FROM "+readNDJSON(files), "SELECT count(*) FROM users")
}

// NativeParquet writes files to a Parquet file at path with DuckDB's own
// JSON reader and Parquet writer, an in-memory DuckDB with its defaults:
// COPY (SELECT * FROM read_ndjson(...)) TO path. It returns the rows
// written.
func NativeParquet(ctx context.Context, path string, files []string) (int64, error) {
	q := fmt.Sprintf("COPY (SELECT * FROM %s) TO '%s' (FORMAT parquet)", readNDJSON(files), strings.ReplaceAll(path, "'", "''"))
	return native(ctx, "", q, "")
}

// native runs query in a DuckDB at dbPath ("": in memory) and returns the
// rows it affected, or what count (if any) says.
func native(ctx context.Context, dbPath, query, count string) (int64, error) {
	db, err := sql.Open("duckdb", dbPath)
	if err != nil {
		return 0, fmt.Errorf("bench: native: %w", err)
	}
	res, err := db.ExecContext(ctx, query)
	if err != nil {
		db.Close()
		return 0, fmt.Errorf("bench: native: %w", err)
	}
	n, err := res.RowsAffected()
	if err == nil && count != "" {
		err = db.QueryRowContext(ctx, count).Scan(&n)
	}
	if err != nil {
		db.Close()
		return 0, fmt.Errorf("bench: native: %w", err)
	}
	if err := db.Close(); err != nil {
		return 0, fmt.Errorf("bench: native: %w", err)
	}
	return n, nil
}
