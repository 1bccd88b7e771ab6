package arrowbuf

import (
	"fmt"
	"strings"
)

// TableFormat is dlt's table_format hint: the open table format a
// destination that supports it writes a table in. "" means unset: the
// destination's own default.
//
// It is a root table hint, as in dlt: a nested table takes its root
// table's format (dlt's get_table_format walks the parent chain). Schema
// documents store it on the root table ("table_format"); the Table
// snapshots Schema hands out (TableBatch.Table, Tables, Table) carry the
// resolved format for nested tables too, and TableFormatOf resolves it by
// name, so a destination reads b.Table.TableFormat in Load.Write or
// req.Schema.TableFormatOf(name) anywhere else.
type TableFormat string

// The table formats, as dlt names them.
const (
	// Native is the destination's own storage (Parquet files for a
	// filesystem destination, tables for DuckDB).
	Native  TableFormat = "native"
	Iceberg TableFormat = "iceberg"
	Delta   TableFormat = "delta"
)

// TableFormats lists the valid table formats.
func TableFormats() []TableFormat { return []TableFormat{Iceberg, Delta, Native} }

// CheckTableFormat returns nil for "" and the formats TableFormats lists,
// else an error listing them (it quotes the value: not a secret).
func CheckTableFormat(f TableFormat) error {
	if f == "" {
		return nil
	}
	for _, ok := range TableFormats() {
		if f == ok {
			return nil
		}
	}
	return fmt.Errorf("unknown table_format %q (want %s)", string(f), TableFormatList())
}

// TableFormatList is the valid formats as text: "iceberg, delta or native".
func TableFormatList() string {
	fs := TableFormats()
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// TableFormatOf returns the table format of the named table: its root
// table's; "" when it is unset or the table is unknown.
func (s *Schema) TableFormatOf(name string) TableFormat {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.byName[name]
	if t == nil {
		return ""
	}
	return s.rootOfLocked(t).TableFormat
}

// checkTableFormatHints refuses an unknown format and a format in nested
// hints: a nested table takes its root's.
func checkTableFormatHints(table string, h TableHints) error {
	if err := CheckTableFormat(h.TableFormat); err != nil {
		return fmt.Errorf("arrowbuf: table %q: %w", table, err)
	}
	for path, nh := range h.NestedHints {
		if nh.TableFormat != "" {
			return fmt.Errorf("arrowbuf: table %q: nested hints %q: table_format is a root table hint (nested tables take their root's)", table, path)
		}
	}
	return nil
}
