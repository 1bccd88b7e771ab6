package duckdb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/arrowbuf"
)

func tableKey(catalog, schema, table string) string {
	return catalog + "\x00" + schema + "\x00" + table
}

// ensureTable creates the table or adds the columns it lacks. staging tables
// are nullable throughout and carry seqColumn.
func (l *load) ensureTable(ctx context.Context, catalog, schema string, t *arrowbuf.Table, staging bool) error {
	key := tableKey(catalog, schema, t.Name)
	have, ok := l.tables[key]
	if !ok {
		var err error
		if have, err = tableColumns(ctx, l.conn, catalog, schema, t.Name); err != nil {
			return err
		}
	}
	if catalog == "" {
		catalog = l.h.catalog
	}
	target := quote(catalog) + "." + qualify(schema, t.Name)
	if len(have) == 0 {
		var defs []string
		for _, c := range t.Columns {
			defs = append(defs, columnDef(c.Name, SQLType(c), !c.Nullable && !staging, !staging))
			have = append(have, c.Name)
		}
		if staging {
			defs = append(defs, quote(seqColumn)+" BIGINT")
			have = append(have, seqColumn)
		}
		create := "CREATE TABLE"
		if staging {
			create = "CREATE TEMPORARY TABLE"
		}
		if err := l.exec(ctx, fmt.Sprintf("%s %s (%s)", create, target, strings.Join(defs, ", "))); err != nil {
			return err
		}
	} else {
		var add []*arrowbuf.Column
		for _, c := range t.Columns {
			if !slices.Contains(have, c.Name) {
				add = append(add, c)
			}
		}
		if len(add) > 0 && !staging && catalog == l.h.catalog && l.emptied[t.Name] {
			if err := l.rebuild(ctx, schema, t.Name, add); err != nil {
				return err
			}
			add = nil
		}
		for _, c := range add {
			if err := l.exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", target, quote(c.Name), SQLType(c))); err != nil {
				return err
			}
		}
		for _, c := range add {
			have = append(have, c.Name)
		}
	}
	l.tables[key] = have
	return nil
}

// columnDef is a column's definition in CREATE TABLE; sluice's own link
// columns get a named compression in dataset tables.
func columnDef(name, sqlType string, notNull, dataset bool) string {
	def := quote(name) + " " + sqlType
	if notNull {
		def += " NOT NULL"
	}
	switch {
	case !dataset:
	case name == arrowbuf.ColID:
		// Row ids are random: DuckDB's dictionary and FSST analysis of
		// them finds nothing to gain and was the largest part of its
		// insert cost on narrow nested tables (~8% of a nested load end
		// to end; measured again: without the hint a 1M-parent nested
		// load used ~16% more CPU, 10.2 s against 8.7 s).
		def += " USING COMPRESSION uncompressed"
	case name == arrowbuf.ColParentID || name == arrowbuf.ColRootID:
		// Links repeat a parent's id once per child. Naming the dictionary
		// skips DuckDB's analysis of the other methods (a nested load 4-6%
		// faster), and files come out smaller: with one child per parent
		// DuckDB's pick was FSST or none, 20% larger; with 2 and 5
		// children, 27-32% larger. uncompressed saved 2-6% of a nested
		// load's CPU but made its file 37% larger (227 vs 166 MB for 1M
		// parents with 5 children each); not worth it.
		def += " USING COMPRESSION dictionary"
	}
	return def
}

// rebuild adds columns to a table this load emptied. DuckDB cannot alter a
// table after deleting from it in the same transaction (the commit fails:
// "another transaction has altered this table"), so the table is created
// again with the new columns, and the rows it holds, all of this load, are
// moved over through a temporary table.
func (l *load) rebuild(ctx context.Context, schema, name string, add []*arrowbuf.Column) error {
	rows, err := l.conn.QueryContext(ctx, `SELECT column_name, data_type, is_nullable FROM duckdb_columns()
		WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index`, l.h.catalog, schema, name)
	if err != nil {
		return err
	}
	var defs []string
	for rows.Next() {
		var col, typ string
		var nullable bool
		if err := rows.Scan(&col, &typ, &nullable); err != nil {
			rows.Close()
			return err
		}
		defs = append(defs, columnDef(col, typ, !nullable, true))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range add {
		defs = append(defs, columnDef(c.Name, SQLType(c), false, true)) // nullable, as ADD COLUMN
	}
	target := l.h.q(schema, name)
	tmp := quote(tempCatalog) + "." + qualify("main", "_sluice_rebuild")
	for _, q := range []string{
		"CREATE TEMPORARY TABLE " + tmp + " AS SELECT * FROM " + target,
		"DROP TABLE " + target,
		fmt.Sprintf("CREATE TABLE %s (%s)", target, strings.Join(defs, ", ")),
		"INSERT INTO " + target + " BY NAME SELECT * FROM " + tmp,
		"DROP TABLE " + tmp,
	} {
		if err := l.exec(ctx, q); err != nil {
			return fmt.Errorf("add columns to %s: %w", name, err)
		}
	}
	return nil
}
