package flow_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/source"
)

// TestHintedColumnsWithoutData checks dlt's rule that a hinted column with a
// data type is created with its table, first and in the hints' order, even
// when no row carries it; a hint without a type makes no column.
func TestHintedColumnsWithoutData(t *testing.T) {
	rows := []json.RawMessage{[]byte(`{"b":1,"a":"x","alpha":"set"}`), []byte(`{"b":2,"a":"y","kids":[{"k":1}]}`)}
	hints := []flow.Option{
		flow.Columns(
			arrowbuf.Column{Name: "zeta", DataType: arrowbuf.TypeBigint, Nullable: true},
			arrowbuf.Column{Name: "alpha", DataType: arrowbuf.TypeText, Nullable: true},
			arrowbuf.Column{Name: "untyped", Nullable: true},
		),
		flow.NestedHints(map[string]arrowbuf.TableHints{"kids": {Columns: []arrowbuf.Column{{Name: "note", DataType: arrowbuf.TypeText, Nullable: true}}}}),
	}
	want := map[string]string{
		"m":       "zeta BIGINT, alpha VARCHAR, b BIGINT, a VARCHAR, _dlt_load_id VARCHAR, _dlt_id VARCHAR",
		"m__kids": "note VARCHAR, k BIGINT, _dlt_parent_id VARCHAR, _dlt_list_idx BIGINT, _dlt_id VARCHAR",
	}
	for _, dest := range []string{"duckdb", "parquet"} {
		t.Run(dest, func(t *testing.T) {
			dir := t.TempDir()
			var d flow.Destination = duckdb.New(filepath.Join(dir, "h.duckdb"))
			if dest == "parquet" {
				d = parquet.New(filepath.Join(dir, "bucket"))
			}
			p, err := flow.NewPipeline("h", d, flow.PipelinesDir(dir), flow.Dataset("ds"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Run(context.Background(), source.Slice("m", rows, hints...)); err != nil {
				t.Fatal(err)
			}
			db, err := sql.Open("duckdb", "")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for table, cols := range want {
				from := "h.ds." + table
				if dest == "duckdb" {
					if _, err := db.Exec("ATTACH '" + filepath.Join(dir, "h.duckdb") + "' AS h (READ_ONLY)"); err != nil && !strings.Contains(err.Error(), "already") {
						t.Fatal(err)
					}
				} else {
					from = "read_parquet('" + filepath.Join(dir, "bucket", "ds", table, "*.parquet") + "')"
				}
				got := describe(t, db, from)
				if got != cols {
					t.Errorf("%s: columns %s, want %s", table, got, cols)
				}
			}
			var alpha, zeta sql.NullString
			from := "h.ds.m"
			if dest == "parquet" {
				from = "read_parquet('" + filepath.Join(dir, "bucket", "ds", "m", "*.parquet") + "')"
			}
			if err := db.QueryRow("SELECT alpha, zeta::VARCHAR FROM "+from+" WHERE b = 1").Scan(&alpha, &zeta); err != nil {
				t.Fatal(err)
			}
			if alpha.String != "set" || zeta.Valid {
				t.Errorf("row b=1: alpha %v, zeta %v; want set, NULL", alpha, zeta)
			}
		})
	}
}

// describe lists the columns of a relation as "name TYPE, ...".
func describe(t *testing.T, db *sql.DB, from string) string {
	t.Helper()
	rows, err := db.Query("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM " + from + ")")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var n, typ string
		if err := rows.Scan(&n, &typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, n+" "+typ)
	}
	return strings.Join(slices.Clip(cols), ", ")
}

// TestNotNullableHint checks dlt's nullable: false end to end: the DuckDB
// column is NOT NULL, and a run with a null there fails loading nothing.
func TestNotNullableHint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "n.duckdb")
	p, err := flow.NewPipeline("n", duckdb.New(path), flow.PipelinesDir(dir), flow.Dataset("ds"))
	if err != nil {
		t.Fatal(err)
	}
	hint := flow.Columns(arrowbuf.Column{Name: "x", DataType: arrowbuf.TypeText})
	run := func(rows ...string) error {
		raw := make([]json.RawMessage, len(rows))
		for i, r := range rows {
			raw[i] = []byte(r)
		}
		_, err := p.Run(context.Background(), source.Slice("t", raw, hint))
		return err
	}
	if err := run(`{"id":1,"x":"a"}`); err != nil {
		t.Fatal(err)
	}
	for _, rows := range [][]string{{`{"id":2,"x":"b"}`, `{"id":3,"x":null}`}, {`{"id":4,"x":"c"}`, `{"id":5}`}} {
		if err := run(rows...); err == nil || !strings.Contains(err.Error(), `column "x" is not nullable`) {
			t.Fatalf("%v: err = %v", rows, err)
		}
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var nullable string
	var rows int
	if err := db.QueryRow(`SELECT is_nullable, (SELECT count(*) FROM ds.t) FROM information_schema.columns
		WHERE table_schema = 'ds' AND table_name = 't' AND column_name = 'x'`).Scan(&nullable, &rows); err != nil {
		t.Fatal(err)
	}
	if nullable != "NO" || rows != 1 {
		t.Errorf("x is_nullable %s, %d rows; want NO, 1", nullable, rows)
	}
}
