package sqlarrow_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/sink/internal/sqlarrow"
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func query(t *testing.T, db *sql.DB, mem memory.Allocator, q string, opts ...sqlarrow.Option) *sqlarrow.Reader {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rr, err := sqlarrow.Query(context.Background(), mem, conn, q, opts...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rr
}

// values reads all batches as ValueStr per row.
func values(t *testing.T, rr *sqlarrow.Reader) (rows [][]string, batches int) {
	t.Helper()
	for rr.Next() {
		rec := rr.RecordBatch()
		batches++
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for c, col := range rec.Columns() {
				row[c] = col.ValueStr(i)
			}
			rows = append(rows, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return rows, batches
}

func TestTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := openDB(t)
	rr := query(t, db, mem, `SELECT 1::TINYINT AS i8, 2::INTEGER AS i32, 3::UINTEGER AS u32, -4::BIGINT AS i64,
		1.5::FLOAT AS f32, 2.5::DOUBLE AS f64, true AS b, 'x' AS s,
		TIMESTAMPTZ '2024-02-29 23:59:58.123456+00' AS tstz, TIMESTAMP '2024-02-29 23:59:58' AS ts,
		DATE '2024-02-29' AS d, TIME '13:14:15.000016' AS tm, '\x00\xff'::BLOB AS bin,
		12345.678::DECIMAL(18,3) AS dec, 170141183460469231731687303715884105727::HUGEINT AS huge,
		'{"b":1,"a":[true,null,"<x>"]}'::JSON AS j, '"str"'::JSON AS js, [1, 2] AS list, NULL::BIGINT AS n`)
	defer rr.Release()
	want := map[string]arrow.Type{"i8": arrow.INT64, "i32": arrow.INT64, "u32": arrow.INT64, "i64": arrow.INT64,
		"f32": arrow.FLOAT64, "f64": arrow.FLOAT64, "b": arrow.BOOL, "s": arrow.STRING, "tstz": arrow.TIMESTAMP,
		"ts": arrow.TIMESTAMP, "d": arrow.DATE32, "tm": arrow.TIME64, "bin": arrow.BINARY, "dec": arrow.DECIMAL128,
		"huge": arrow.STRING, "j": arrow.STRING, "js": arrow.STRING, "list": arrow.STRING, "n": arrow.INT64}
	for _, f := range rr.Schema().Fields() {
		if f.Type.ID() != want[f.Name] {
			t.Errorf("column %s: type %s, want %s", f.Name, f.Type, want[f.Name])
		}
		dt, _ := f.Metadata.GetValue(sqlarrow.MetaDataType)
		if isJSON := f.Name == "j" || f.Name == "js"; isJSON != (dt == "json") {
			t.Errorf("column %s: %s = %q", f.Name, sqlarrow.MetaDataType, dt)
		}
	}
	if tz := rr.Schema().Field(8).Type.(*arrow.TimestampType).TimeZone; tz != "UTC" {
		t.Errorf("tstz time zone %q", tz)
	}
	rows, _ := values(t, rr)
	got := rows[0]
	wantRow := []string{"1", "2", "3", "-4", "1.5", "2.5", "true", "x",
		"2024-02-29T23:59:58.123456Z", "2024-02-29T23:59:58", "2024-02-29", "13:14:15.000016", "AP8=",
		"12345.678", "170141183460469231731687303715884105727",
		`{"a":[true,null,"<x>"],"b":1}`, `"str"`, "[1,2]", "(null)"}
	if len(rows) != 1 || !reflect.DeepEqual(got, wantRow) {
		t.Errorf("row:\n got %q\nwant %q", got, wantRow)
	}
}

func TestBatches(t *testing.T) {
	db := openDB(t)
	for _, tc := range []struct {
		name    string
		opts    []sqlarrow.Option
		rows    int
		batches []int64 // rows per batch read
		stop    int     // release after this many batches (0: read all)
	}{
		{"default", nil, 5, []int64{5}, 0},
		{"two per batch", []sqlarrow.Option{sqlarrow.WithBatchRows(2)}, 5, []int64{2, 2, 1}, 0},
		{"exact", []sqlarrow.Option{sqlarrow.WithBatchRows(5)}, 5, []int64{5}, 0},
		{"zero size ignored", []sqlarrow.Option{sqlarrow.WithBatchRows(0)}, 3, []int64{3}, 0},
		{"empty", nil, 0, nil, 0},
		{"released early", []sqlarrow.Option{sqlarrow.WithBatchRows(2)}, 5, []int64{2}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rr := query(t, db, mem, fmt.Sprintf("SELECT range AS id FROM range(%d)", tc.rows), tc.opts...)
			var got []int64
			for rr.Next() {
				got = append(got, rr.RecordBatch().NumRows())
				if len(got) == tc.stop {
					break
				}
			}
			if err := rr.Err(); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.batches) {
				t.Errorf("batches %v, want %v", got, tc.batches)
			}
			rr.Retain()
			rr.Release()
			if tc.stop == 0 && db.Stats().InUse != 0 {
				t.Errorf("connection still in use at the end of the rows")
			}
			rr.Release()
			if n := db.Stats().InUse; n != 0 {
				t.Errorf("%d connections in use after Release", n)
			}
		})
	}
}

type countCloser struct{ n int }

func (c *countCloser) Close() error { c.n++; return nil }

func TestOwnership(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()

	// A failing query closes the connection.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlarrow.Query(ctx, nil, conn, "SELECT * FROM nowhere"); err == nil {
		t.Fatal("query of a missing table succeeded")
	}
	if n := db.Stats().InUse; n != 0 {
		t.Errorf("%d connections in use after a failed Query", n)
	}

	// The closer is closed once, when the rows end.
	rows, err := db.QueryContext(ctx, "SELECT 1 AS x")
	if err != nil {
		t.Fatal(err)
	}
	var c countCloser
	rr, err := sqlarrow.NewReader(nil, rows, sqlarrow.WithCloser(&c))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := values(t, rr)
	if !reflect.DeepEqual(got, [][]string{{"1"}}) || c.n != 1 {
		t.Errorf("rows %v, closer closed %d times", got, c.n)
	}
	rr.Release()
	if c.n != 1 {
		t.Errorf("closer closed %d times after Release", c.n)
	}
}

func TestDataTypes(t *testing.T) {
	db := openDB(t)
	rr := query(t, db, nil, `SELECT CAST('{"k":1}'::JSON AS VARCHAR) AS j, 'x' AS s`,
		sqlarrow.WithDataTypes(map[string]string{"j": "json"}))
	defer rr.Release()
	if dt, _ := rr.Schema().Field(0).Metadata.GetValue(sqlarrow.MetaDataType); dt != "json" {
		t.Errorf("j: %s = %q", sqlarrow.MetaDataType, dt)
	}
	if rr.Schema().Field(1).HasMetadata() {
		t.Errorf("s has metadata %v", rr.Schema().Field(1).Metadata)
	}
	got, _ := values(t, rr)
	if !reflect.DeepEqual(got, [][]string{{`{"k":1}`, "x"}}) {
		t.Errorf("rows %v", got)
	}
}
