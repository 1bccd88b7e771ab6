package flow_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/flow"
	"github.com/sluicehq/sluice/sink/duckdb"
	"github.com/sluicehq/sluice/source"
)

// duckRun loads srcs into a DuckDB file in dir (pipeline "p", dataset
// "ds"), as many runs as given, and opens the file read-only.
func duckRun(t *testing.T, dir string, runs ...[]flow.Sourcer) (*sql.DB, error) {
	t.Helper()
	path := filepath.Join(dir, "p.duckdb")
	for _, srcs := range runs {
		p, err := flow.NewPipeline("p", duckdb.New(path), flow.PipelinesDir(dir), flow.DatasetName("ds"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Run(context.Background(), srcs...); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("ATTACH '" + path + "' AS p (READ_ONLY)"); err != nil {
		t.Fatal(err)
	}
	return db, nil
}

// columnsOf describes a table's data columns: "name TYPE", with " NOT
// NULL" where the column is.
func columnsOf(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	rows, err := db.Query(`SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_catalog = 'p' AND table_schema = 'ds' AND table_name = ? AND column_name NOT LIKE '\_dlt\_%' ESCAPE '\' ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name, typ, null string
		if err := rows.Scan(&name, &typ, &null); err != nil {
			t.Fatal(err)
		}
		if null == "NO" {
			typ += " NOT NULL"
		}
		cols = append(cols, name+" "+typ)
	}
	return strings.Join(cols, ", ")
}

// queryText runs a query and renders its rows: values joined by ", ",
// rows by "; ", NULL as "null".
func queryText(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var cells []string
		for _, v := range vals {
			switch x := v.(type) {
			case nil:
				cells = append(cells, "null")
			case time.Time:
				cells = append(cells, x.UTC().Format(time.RFC3339))
			case []byte:
				cells = append(cells, fmt.Sprintf("%x", x))
			case map[string]any, []any: // a JSON column
				raw, _ := json.Marshal(x)
				cells = append(cells, string(raw))
			default:
				cells = append(cells, fmt.Sprint(x))
			}
		}
		out = append(out, strings.Join(cells, ", "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "; ")
}

type geo struct{ Lat float64 }

type place struct {
	City string `json:"city"`
	Geo  *geo   `json:"geo"`
}

type lineItem struct {
	SKU string  `json:"sku"`
	Qty float64 `json:"qty"`
}

// TestStructTypeMapping loads structs into DuckDB and checks the Go type
// -> dlt type mapping: column types (every column of the type exists from
// the first load, in field order) and values.
func TestStructTypeMapping(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	cases := []struct {
		name   string
		res    *flow.Resource
		cols   string
		rows   string
		tables map[string]string // nested tables' columns
	}{
		{
			name: "integers and unsigned are bigint",
			res: source.Slice("t", []struct {
				A int
				B int8
				C int16
				D int32
				E int64
				F uint8
				G uint16
				H uint32
				I uint
				J uint64
			}{{1, -2, 3, -4, 5, 6, 7, 8, 9, 10}}),
			cols: "a BIGINT, b BIGINT, c BIGINT, d BIGINT, e BIGINT, f BIGINT, g BIGINT, h BIGINT, i BIGINT, j BIGINT",
			rows: "1, -2, 3, -4, 5, 6, 7, 8, 9, 10",
		},
		{
			name: "floats are double, whole numbers too",
			res:  source.Slice("t", []struct{ F float64 }{{3}, {4}, {4.5}}),
			cols: "f DOUBLE",
			rows: "3; 4; 4.5",
		},
		{
			name: "bool, string and []byte",
			res: source.Slice("t", []struct {
				B    bool
				S    string
				Blob []byte
			}{{true, "x", []byte{1, 2}}, {false, "", nil}}),
			cols: "b BOOLEAN, s VARCHAR, blob BLOB",
			rows: "false, , null; true, x, 0102",
		},
		{
			name: "time.Time is timestamp, Date is date",
			res: source.Slice("t", []struct {
				At  time.Time
				Day arrowbuf.Date
			}{{at, arrowbuf.DateOf(at)}}),
			cols: "at TIMESTAMP WITH TIME ZONE, day DATE",
			rows: "2024-05-06T07:08:09Z, 2024-05-06T00:00:00Z",
		},
		{
			name: "json.RawMessage is json",
			res:  source.Slice("t", []struct{ Raw json.RawMessage }{{json.RawMessage(`{"a": [1, 2]}`)}}),
			cols: "raw JSON",
			rows: `{"a":[1,2]}`,
		},
		{
			name: "pointers and sql.Null are nullable",
			res: source.Slice("t", []struct {
				ID int
				P  *int64
				S  sql.NullString
				T  sql.NullTime
				N  sql.Null[float64]
			}{{ID: 1}, {2, new(int64), sql.NullString{String: "s", Valid: true}, sql.NullTime{Time: at, Valid: true}, sql.Null[float64]{V: 1, Valid: true}}}),
			cols: "id BIGINT, p BIGINT, s VARCHAR, t TIMESTAMP WITH TIME ZONE, n DOUBLE",
			rows: "1, null, null, null, null; 2, 0, s, 2024-05-06T07:08:09Z, 1",
		},
		{
			name: "columns that are always nil exist",
			res: source.Slice("t", []struct {
				ID    int
				Never *string
				Gone  *time.Time
			}{{ID: 1}}),
			cols: "id BIGINT, never VARCHAR, gone TIMESTAMP WITH TIME ZONE",
			rows: "1, null, null",
		},
		{
			name: "nested structs are flattened",
			res: source.Slice("t", []struct {
				ID    int
				Place place `json:"place"`
			}{{1, place{City: "Oslo", Geo: &geo{Lat: 59.9}}}, {2, place{City: "Rome"}}}),
			cols: "id BIGINT, place__city VARCHAR, place__geo__lat DOUBLE",
			rows: "1, Oslo, 59.9; 2, Rome, null",
		},
		{
			name: "slices are nested tables",
			res: source.Slice("t", []struct {
				ID    int
				Tags  []string
				Items []lineItem
			}{{1, []string{"a", "b"}, []lineItem{{"x", 2}}}, {2, nil, nil}}),
			cols: "id BIGINT",
			rows: "1; 2",
			tables: map[string]string{
				"t__tags":  "value VARCHAR",
				"t__items": "sku VARCHAR, qty DOUBLE",
			},
		},
		{
			name: "json names, then snake_case",
			res: source.Slice("t", []struct {
				UserID   int
				HTTPCode int
				Name     string `json:"Full-Name,omitempty"`
			}{{1, 200, "Ann"}}),
			cols: "user_id BIGINT, http_code BIGINT, full_name VARCHAR",
			rows: "1, 200, Ann",
		},
		{
			name: "any and map[string]any are inferred as today",
			res: source.Slice("t", []struct {
				ID    int
				V     any
				Extra map[string]any
			}{{1, 3, map[string]any{"k": 1.5}}}),
			cols: "id BIGINT, v BIGINT, extra__k DOUBLE",
			rows: "1, 3, 1.5",
		},
		{
			name: "structs in an items batch take the same path",
			res: flow.NewResource("t", func(ctx context.Context, yield flow.Yield) error {
				return yield(flow.ItemsBatch(struct{ F float64 }{3}, &struct{ F float64 }{4.5}))
			}),
			cols: "f DOUBLE",
			rows: "3; 4.5",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := duckRun(t, t.TempDir(), []flow.Sourcer{c.res})
			if err != nil {
				t.Fatal(err)
			}
			if got := columnsOf(t, db, "t"); got != c.cols {
				t.Errorf("columns\n got  %s\n want %s", got, c.cols)
			}
			if got := queryText(t, db, "SELECT COLUMNS(c -> c NOT LIKE '\\_dlt\\_%' ESCAPE '\\') FROM p.ds.t ORDER BY ALL"); got != c.rows {
				t.Errorf("rows\n got  %s\n want %s", got, c.rows)
			}
			for table, cols := range c.tables {
				if got := columnsOf(t, db, table); got != cols {
					t.Errorf("%s columns\n got  %s\n want %s", table, got, cols)
				}
				// Every nested row links to its parent row.
				orphans := queryText(t, db, fmt.Sprintf("SELECT count(*) FROM p.ds.%s c ANTI JOIN p.ds.t r ON c._dlt_parent_id = r._dlt_id", table))
				if orphans != "0" {
					t.Errorf("%s: %s rows without a parent", table, orphans)
				}
			}
		})
	}
}

// TestStructTags loads tagged structs into DuckDB and checks the hints the
// sluice tag gives: names, keys, NOT NULL and data types, with values
// coerced to a type other than the Go type's.
func TestStructTags(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	cases := []struct {
		name string
		res  *flow.Resource
		cols string
		rows string
	}{
		{
			name: "name, primary_key and not_null",
			res: source.Slice("t", []struct {
				ID   int    `sluice:"user_id,primary_key"`
				Name string `json:"name" sluice:",not_null"`
				Note string `json:"note" sluice:"remark"`
			}{{1, "Ann", "x"}}),
			cols: "user_id BIGINT NOT NULL, name VARCHAR NOT NULL, remark VARCHAR",
			rows: "1, Ann, x",
		},
		{
			name: "data_type with precision and scale",
			res: source.Slice("t", []struct {
				Price  float64 `sluice:",data_type=decimal(38,9)"`
				Amount string  `sluice:",data_type=decimal,precision=10,scale=2"`
				Code   int     `sluice:",data_type=text"`
			}{{9.5, "1.25", 42}}),
			cols: "price DECIMAL(38,9), amount DECIMAL(10,2), code VARCHAR",
			rows: "9.5, 1.25, 42",
		},
		{
			name: "data_type=json keeps a struct or slice whole",
			res: source.Slice("t", []struct {
				Place place      `json:"place" sluice:",data_type=json"`
				Items []lineItem `json:"items" sluice:",data_type=json"`
			}{{place{City: "Oslo"}, []lineItem{{"x", 1}}}}),
			cols: "place JSON, items JSON",
			rows: `{"city":"Oslo","geo":null}, [{"qty":1,"sku":"x"}]`,
		},
		{
			name: "timezone=false",
			res: source.Slice("t", []struct {
				At time.Time `sluice:",timezone=false"`
			}{{at}}),
			cols: "at TIMESTAMP",
			rows: "2024-05-06T07:08:09Z",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := duckRun(t, t.TempDir(), []flow.Sourcer{c.res})
			if err != nil {
				t.Fatal(err)
			}
			if got := columnsOf(t, db, "t"); got != c.cols {
				t.Errorf("columns\n got  %s\n want %s", got, c.cols)
			}
			if got := queryText(t, db, "SELECT COLUMNS(c -> c NOT LIKE '\\_dlt\\_%' ESCAPE '\\') FROM p.ds.t ORDER BY ALL"); got != c.rows {
				t.Errorf("rows\n got  %s\n want %s", got, c.rows)
			}
		})
	}
}

type mergeRow struct {
	ID    int    `json:"id" sluice:",primary_key"`
	Name  string `json:"name"`
	Items []lineItem
}

// TestStructPrimaryKeyMerges checks that a primary_key tag is the key a
// merge load deduplicates on, nested tables included.
func TestStructPrimaryKeyMerges(t *testing.T) {
	run := func(rows ...mergeRow) []flow.Sourcer {
		return []flow.Sourcer{source.Slice("t", rows, flow.WriteDisposition(arrowbuf.Merge))}
	}
	db, err := duckRun(t, t.TempDir(),
		run(mergeRow{1, "a", []lineItem{{"x", 1}}}, mergeRow{2, "b", nil}),
		run(mergeRow{1, "a2", []lineItem{{"y", 2}, {"z", 3}}}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := queryText(t, db, "SELECT id, name FROM p.ds.t ORDER BY id"), "1, a2; 2, b"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
	if got, want := queryText(t, db, "SELECT sku FROM p.ds.t__items ORDER BY sku"), "y; z"; got != want {
		t.Errorf("nested rows %s, want %s", got, want)
	}
}

// TestStructsMatchJSONInDuckDB loads the same records as structs, as maps
// and as JSON, and checks that the tables are the same: names, columns,
// types and values.
func TestStructsMatchJSONInDuckDB(t *testing.T) {
	type user struct {
		ID        int64      `json:"id"`
		Name      string     `json:"name"`
		Score     float64    `json:"score"`
		Active    bool       `json:"active"`
		CreatedAt time.Time  `json:"created_at"`
		Address   place      `json:"address"`
		Orders    []lineItem `json:"orders"`
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	structs := []user{
		{1, "Ann", 0.5, true, at, place{"Oslo", &geo{1.5}}, []lineItem{{"x", 1.5}, {"y", 2.5}}},
		{2, "Bo", 1.25, false, at.Add(time.Hour), place{"Rome", &geo{2.5}}, nil},
	}
	var raw []json.RawMessage
	for _, u := range structs {
		b, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b)
	}
	describe := func(t *testing.T, src flow.Sourcer) map[string]string {
		db, err := duckRun(t, t.TempDir(), []flow.Sourcer{src})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, table := range []string{"t", "t__orders"} {
			out[table] = columnsOf(t, db, table) + " | " +
				queryText(t, db, "SELECT COLUMNS(c -> c NOT LIKE '\\_dlt\\_%' ESCAPE '\\') FROM p.ds."+table+" ORDER BY ALL")
		}
		out["links"] = queryText(t, db, "SELECT t.id, o.sku, o._dlt_list_idx FROM p.ds.t JOIN p.ds.t__orders o ON o._dlt_parent_id = t._dlt_id ORDER BY ALL")
		return out
	}
	want := describe(t, source.Slice("t", raw))
	for name, src := range map[string]flow.Sourcer{
		"structs":          source.Slice("t", structs),
		"struct pointers":  source.Slice("t", []*user{&structs[0], &structs[1]}),
		"typed generator":  flow.NewResourceOf("t", func(ctx context.Context, yield func(...user) error) error { return yield(structs...) }),
		"filtered structs": source.Slice("t", structs).Filter(func(any) (bool, error) { return true, nil }),
	} {
		t.Run(name, func(t *testing.T) {
			got := describe(t, src)
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s\n got  %s\n want %s", k, got[k], w)
				}
			}
		})
	}
}

// TestColumnsOfAsHints checks that a struct type's columns are hints any
// resource can use, here a JSON one: its columns come first, in field
// order, typed as the struct says, even where the JSON has no value.
func TestColumnsOfAsHints(t *testing.T) {
	type model struct {
		ID    int64   `json:"id" sluice:",primary_key"`
		Score float64 `json:"score"`
		Note  *string `json:"note"`
		Name  string  `json:"name" sluice:",not_null"`
	}
	cols, err := flow.ColumnsOf[model]()
	if err != nil {
		t.Fatal(err)
	}
	res := source.Slice("t", []json.RawMessage{[]byte(`{"extra":"x","score":3,"id":1,"name":"a"}`)}, flow.Columns(cols...))
	db, err := duckRun(t, t.TempDir(), []flow.Sourcer{res})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := columnsOf(t, db, "t"), "id BIGINT NOT NULL, score DOUBLE, note VARCHAR, name VARCHAR NOT NULL, extra VARCHAR"; got != want {
		t.Errorf("columns\n got  %s\n want %s", got, want)
	}
	if _, err := flow.ColumnsOf[int](); err == nil {
		t.Error("ColumnsOf[int]: no error")
	}
}

// TestStructTagErrorFailsRun checks that a bad sluice tag fails the run
// with one line naming the resource, type, field and option, loading
// nothing.
func TestStructTagErrorFailsRun(t *testing.T) {
	type bad struct {
		ID int `sluice:",data_type=bigint(x)"`
	}
	_, err := duckRun(t, t.TempDir(), []flow.Sourcer{source.Slice("t", []bad{{1}})})
	if err == nil {
		t.Fatal("run succeeded")
	}
	for _, want := range []string{`resource "t"`, "flow_test.bad", "field ID", `data_type="bigint(x)"`} {
		if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("error %q: want one line with %q", err, want)
		}
	}
}

// TestStructInferredFieldsAcrossRuns checks fields whose values decide
// their type over two runs: a field nil in the first run gets its column
// when a value comes, and the stored schema (with the column still
// untyped) loads again.
func TestStructInferredFieldsAcrossRuns(t *testing.T) {
	type row struct {
		ID    int            `json:"id"`
		V     any            `json:"v"`
		Extra map[string]any `json:"extra"`
	}
	db, err := duckRun(t, t.TempDir(),
		[]flow.Sourcer{source.Slice("t", []row{{ID: 1, Extra: map[string]any{"k": 1}}})},
		[]flow.Sourcer{source.Slice("t", []row{{ID: 2, V: "x", Extra: map[string]any{"j": "y"}}})})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := queryText(t, db, "SELECT id, v, extra__k, extra__j FROM p.ds.t ORDER BY id"), "1, null, 1, null; 2, x, null, y"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
}
