package duckdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/sink/internal/family"
)

// importFile loads an external file as it is (dlt's with_file_import):
// DuckDB reads it directly, no row passes through Go. With column hints the
// table is created from them and the file's columns are matched by name;
// without, a new table takes the file's own columns and types. Merge loads
// append, as for other destinations that import files.
func (l *load) importFile(ctx context.Context, t *arrowbuf.Table, f *arrowbuf.ImportFile) error {
	lit := "'" + strings.ReplaceAll(f.Path, "'", "''") + "'"
	var from string
	switch strings.ToLower(f.Format) {
	case "csv":
		from = "read_csv(" + lit + ", header = true)"
	case "parquet":
		from = "read_parquet(" + lit + ")"
	case "jsonl":
		from = "read_json(" + lit + ", format = 'newline_delimited')"
	default:
		return fmt.Errorf("unknown file format %q (want csv, parquet or jsonl)", f.Format)
	}
	// A file's rows may be of any width: DuckDB's default limit applies.
	if err := l.fitMemory(ctx, l.h.memoryBytes); err != nil {
		return err
	}
	ds := l.req.Dataset
	if len(t.Columns) > 0 {
		if err := l.ensureTable(ctx, "", ds, t, false); err != nil {
			return err
		}
	}
	exists, err := tableExists(ctx, l.conn, ds, t.Name)
	if err != nil {
		return err
	}
	target := l.h.q(ds, t.Name)
	if !exists {
		delete(l.tables, tableKey("", ds, t.Name))
		return l.exec(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM %s", target, from))
	}
	root := l.tabs.RootOf(t)
	if family.Disposition(t, root) == arrowbuf.Replace && !l.emptied[t.Name] {
		if err := l.exec(ctx, "DELETE FROM "+target); err != nil {
			return err
		}
		l.emptied[t.Name] = true
		l.replaced = append(l.replaced, t.Name)
	}
	return l.exec(ctx, fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM %s", target, from))
}
