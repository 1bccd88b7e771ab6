package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// typedTable adds a table of every dlt column type, NULLs included, to
// the blog dataset.
const typedTable = `CREATE TABLE blog_data.typed AS SELECT i AS id, i / 3 AS ratio, i % 2 = 0 AS flag,
	'text "' || i || E'"\n<&>, é' AS txt, TIMESTAMPTZ '2024-03-01 12:00:00.123456+00' + INTERVAL (i) HOUR AS at,
	DATE '2024-03-01' + i::INTEGER AS day, (i * 1.05)::DECIMAL(12,2) AS amount,
	('{"k": ' || i || ', "list": [1, "x"]}')::JSON AS doc, ('\x00\xFF'::BLOB || i::VARCHAR::BLOB) AS bin
	FROM range(1, 1001) t(i)
	UNION ALL SELECT 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL`

// duckColumns lists a table's columns and DuckDB types.
func duckColumns(t *testing.T, db *sql.DB, table string) (names, types []string) {
	t.Helper()
	rows, err := db.Query(`SELECT column_name, data_type FROM duckdb_columns()
		WHERE schema_name = 'blog_data' AND table_name = ? ORDER BY column_index`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			t.Fatal(err)
		}
		names, types = append(names, n), append(types, ty)
	}
	return names, types
}

// sameRows checks with DuckDB that the file holds the table's rows: both
// EXCEPT ALLs are empty. read builds the FROM of the file given the
// columns; BLOB and JSON columns are compared as base64 and minified text.
func sameRows(t *testing.T, dbPath, table string, read func(names, types []string) string, base64Bin bool) {
	t.Helper()
	db, err := sql.Open("duckdb", dbPath+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	names, types := duckColumns(t, db, table)
	var orig, back []string
	for i, n := range names {
		q := `"` + n + `"`
		switch types[i] {
		case "JSON":
			orig, back = append(orig, "json("+q+")::VARCHAR"), append(back, "json("+q+")::VARCHAR")
		case "BLOB":
			orig = append(orig, q)
			if base64Bin {
				back = append(back, "from_base64("+q+")")
			} else {
				back = append(back, q)
			}
		default:
			orig, back = append(orig, q), append(back, q)
		}
	}
	o := fmt.Sprintf("SELECT %s FROM blog_data.%s", strings.Join(orig, ", "), table)
	b := fmt.Sprintf("SELECT %s FROM %s", strings.Join(back, ", "), read(names, types))
	var diff, n1, n2 int64
	q := fmt.Sprintf("SELECT (SELECT count(*) FROM (%s EXCEPT ALL %s)) + (SELECT count(*) FROM (%s EXCEPT ALL %s)), (SELECT count(*) FROM (%s)), (SELECT count(*) FROM (%s))", o, b, b, o, o, b)
	if err := db.QueryRow(q).Scan(&diff, &n1, &n2); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if diff != 0 || n1 != n2 || n1 == 0 {
		t.Errorf("%d rows differ (table %d rows, file %d)", diff, n1, n2)
	}
}

// columnsArg is DuckDB's columns = {...} for reading text formats; BLOB
// and JSON columns are read as text.
func columnsArg(names, types []string, asText ...string) string {
	var parts []string
	for i, n := range names {
		ty := types[i]
		for _, a := range asText {
			if ty == a {
				ty = "VARCHAR"
			}
		}
		parts = append(parts, fmt.Sprintf("'%s': '%s'", n, ty))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func TestExport(t *testing.T) {
	e := setup(t)
	api := newBlogAPI(t)
	if r := sluice(t, context.Background(), "", "run", writeSpec(t, blogSpec(api.URL, e.db))); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	db, err := sql.Open("duckdb", e.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(typedTable); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := t.TempDir()

	for _, table := range []string{"typed", "posts"} {
		t.Run(table+"/arrow to stdout", func(t *testing.T) {
			r := sluice(t, context.Background(), "", "pipeline", "blog", "export", table)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			rdr, err := ipc.NewReader(strings.NewReader(r.stdout), ipc.WithAllocator(memory.DefaultAllocator))
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Release()
			// Written back as Parquet by DuckDB-independent code, then
			// compared by DuckDB: the IPC stream holds the table's rows.
			path := filepath.Join(out, table+"-from-ipc.parquet")
			writeIPCAsParquet(t, rdr, path)
			sameRows(t, e.db, table, func([]string, []string) string { return "read_parquet('" + path + "')" }, false)
		})
		t.Run(table+"/parquet", func(t *testing.T) {
			path := filepath.Join(out, table+".parquet")
			if r := sluice(t, context.Background(), "", "pipeline", "blog", "export", table, "--format", "parquet", "-o", path); r.code != 0 || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
			}
			sameRows(t, e.db, table, func([]string, []string) string { return "read_parquet('" + path + "')" }, false)
		})
		t.Run(table+"/csv", func(t *testing.T) {
			path := filepath.Join(out, table+".csv")
			if r := sluice(t, context.Background(), "", "pipeline", "blog", "export", table, "--format", "csv", "--output", path); r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			sameRows(t, e.db, table, func(names, types []string) string {
				return "read_csv('" + path + "', header = true, columns = " + columnsArg(names, types, "BLOB", "JSON") + ")"
			}, true)
		})
		t.Run(table+"/ndjson", func(t *testing.T) {
			path := filepath.Join(out, table+".ndjson")
			if r := sluice(t, context.Background(), "", "pipeline", "blog", "export", table, "--format", "ndjson", "-o", path); r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			sameRows(t, e.db, table, func(names, types []string) string {
				return "read_json('" + path + "', format = 'newline_delimited', columns = " + columnsArg(names, types, "BLOB") + ")"
			}, true)
		})
	}
	if m, _ := filepath.Glob(filepath.Join(out, ".*.tmp")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown table", []string{"export", "nope"}, exitFailure, `no table "nope" in dataset blog_data (tables: comments, posts, posts__tags, typed)`},
		{"no table", []string{"export"}, exitUsage, "export: expected a TABLE"},
		{"bad format", []string{"export", "posts", "--format", "xlsx"}, exitUsage, `--format "xlsx": want arrow, parquet, csv, ndjson`},
		{"format of another action", []string{"info", "--format", "csv"}, exitUsage, "--format and --output are for export"},
		{"table of another action", []string{"info", "posts"}, exitUsage, "info takes no TABLE"},
		{"missing folder", []string{"export", "posts", "-o", filepath.Join(out, "no", "such.arrow")}, exitFailure, "export: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sluice(t, context.Background(), "", append([]string{"pipeline", "blog"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want %d and one line with %q", r.code, r.stderr, tc.code, tc.msg)
			}
		})
	}
}

// writeIPCAsParquet writes an IPC stream's batches to a Parquet file.
func writeIPCAsParquet(t *testing.T, rdr *ipc.Reader, path string) {
	t.Helper()
	var buf bytes.Buffer
	recs := []arrow.RecordBatch{}
	for rdr.Next() {
		r := rdr.RecordBatch()
		r.Retain()
		recs = append(recs, r)
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	rr, err := array.NewRecordReader(rdr.Schema(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
	if err := writeParquet(&buf, rr); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
