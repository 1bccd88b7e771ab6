package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// rowGroupRows is DuckDB's row group size. An INSERT keeps about one row
// group per thread in memory before writing it out, memory the buffer
// manager cannot evict: past memory_limit the insert fails ("Out of Memory
// Error") instead of spilling.
const rowGroupRows = 122_880

// insertHeadroom is memory an insert needs beside its row groups (read
// buffers, metadata), measured with narrow tables.
const insertHeadroom = 32 << 20

// rowBytes estimates the bytes of one row of rec inside DuckDB: a 16-byte
// slot per column (DuckDB's string_t; fixed-width values fit in it) plus the
// average text of variable-width columns.
func rowBytes(rec arrow.RecordBatch) int64 {
	rows := rec.NumRows()
	if rows == 0 {
		return 0
	}
	n := 16 * rec.NumCols()
	for _, col := range rec.Columns() {
		switch col.DataType().ID() {
		case arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY:
			if bufs := col.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
				n += int64(bufs[2].Len()) / rows
			}
		}
	}
	return n
}

// insertNeed is the memory an insert of rows rowBytes wide needs on
// threads threads (measured on 2 threads: 100 short text columns needed
// 512MB, 50 columns of 100 characters 1GB; the estimate is above both).
func insertNeed(rowBytes int64, threads int) int64 {
	return insertHeadroom + int64(threads)*rowGroupRows*rowBytes
}

// fitMemory raises the load's memory_limit to need when it is lower: the
// configured limit is the floor, DuckDB's own default the ceiling. Without
// a configured limit DuckDB's default is in force already.
func (l *load) fitMemory(ctx context.Context, need int64) error {
	if l.d.memoryLimit == "" || l.memLimit >= l.h.memoryBytes || need <= l.memLimit {
		return nil
	}
	need = min(need, l.h.memoryBytes)
	if err := l.exec(ctx, fmt.Sprintf("SET memory_limit = '%dMiB'", (need+(1<<20)-1)>>20)); err != nil {
		return err
	}
	l.memLimit = need
	return nil
}

// memoryLimitBytes reads the connection's memory_limit in bytes.
func memoryLimitBytes(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (int64, error) {
	var s string
	if err := q.QueryRowContext(ctx, "SELECT current_setting('memory_limit')").Scan(&s); err != nil {
		return 0, err
	}
	return parseSize(s)
}

// parseSize reads DuckDB's rendering of a memory size ("122.0 MiB",
// "19.2 GiB", "512 bytes").
func parseSize(s string) (int64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), " ")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("duckdb: memory size %q: %w", s, err)
	}
	mult := map[string]float64{
		"": 1, "bytes": 1, "B": 1,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("duckdb: memory size %q: unknown unit", s)
	}
	return int64(f * mult), nil
}
