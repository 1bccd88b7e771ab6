package flow_test

import (
	"github.com/sluicehq/sluice/sink"

	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/rest"
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
			var d sink.Destination = duckdb.New(filepath.Join(dir, "h.duckdb"))
			if dest == "parquet" {
				d = parquet.New(filepath.Join(dir, "bucket"))
			}
			p, err := flow.NewPipeline("h", d, flow.PipelinesDir(dir), flow.DatasetName("ds"))
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
	p, err := flow.NewPipeline("n", duckdb.New(path), flow.PipelinesDir(dir), flow.DatasetName("ds"))
	if err != nil {
		t.Fatal(err)
	}
	hint := flow.Columns(arrowbuf.Column{Name: "x", DataType: arrowbuf.TypeText, NotNull: true})
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

// TestColumnHintNullability checks dlt's default for a column hint: without
// a nullability setting the column is nullable (Go's zero value is not NOT
// NULL); NotNull, dlt's nullable: false and primary keys make it NOT NULL.
func TestColumnHintNullability(t *testing.T) {
	x := arrowbuf.Column{Name: "x", DataType: arrowbuf.TypeText}
	notNull, nullable, both := x, x, x
	notNull.NotNull, nullable.Nullable = true, true
	both.NotNull, both.Nullable = true, true
	restHint := func(col string) flow.Option {
		var spec any
		if err := json.Unmarshal([]byte(`{"client":{"base_url":"http://127.0.0.1:1/"},
			"resources":[{"name":"t","columns":{"x":`+col+`}}]}`), &spec); err != nil {
			t.Fatal(err)
		}
		cfg, err := rest.DecodeConfig(spec, "source")
		if err != nil {
			t.Fatal(err)
		}
		return flow.Columns(cfg.Resources[0].Columns...)
	}
	withNull := []string{`{"id":1,"x":"a"}`, `{"id":2,"x":null}`, `{"id":3}`}
	for _, tc := range []struct {
		name     string
		hints    []flow.Option
		rows     []string
		nullable string // information_schema.is_nullable
		err      string
	}{
		{"no setting", []flow.Option{flow.Columns(x)}, withNull, "YES", ""},
		{"nullable", []flow.Option{flow.Columns(nullable)}, withNull, "YES", ""},
		{"not null", []flow.Option{flow.Columns(notNull)}, []string{`{"id":1,"x":"a"}`}, "NO", ""},
		{"not null with a null", []flow.Option{flow.Columns(notNull)}, withNull, "", `column "x" is not nullable`},
		{"primary key", []flow.Option{flow.Columns(x), flow.PrimaryKey("x")}, []string{`{"id":1,"x":"a"}`}, "NO", ""},
		{"spec without nullable", []flow.Option{restHint(`{"data_type":"text"}`)}, withNull, "YES", ""},
		{"spec nullable false", []flow.Option{restHint(`{"data_type":"text","nullable":false}`)}, []string{`{"id":1,"x":"a"}`}, "NO", ""},
		{"both set", []flow.Option{flow.Columns(both)}, withNull, "", `column "x": hint sets both Nullable and NotNull`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			raw := make([]json.RawMessage, len(tc.rows))
			for i, r := range tc.rows {
				raw[i] = []byte(r)
			}
			_, err := e.pipeline("nulls").Run(context.Background(), source.Slice("t", raw, tc.hints...))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := e.query(`SELECT is_nullable FROM information_schema.columns
				WHERE table_schema = 'ds' AND table_name = 't' AND column_name = 'x'`)
			if len(got) != 1 || got[0][0] != tc.nullable {
				t.Errorf("x is_nullable = %v, want %s", got, tc.nullable)
			}
			if n := e.count("t"); n != len(tc.rows) {
				t.Errorf("%d rows loaded, want %d", n, len(tc.rows))
			}
		})
	}
}
