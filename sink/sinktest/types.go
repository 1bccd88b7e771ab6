package sinktest

import (
	"github.com/sluicehq/sluice/sink"

	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/arrowbuf"
)

func testTypes(t *testing.T, d sink.Destination) {
	noTZ := false
	ts := Col("ts_naive", arrowbuf.TypeTimestamp)
	ts.Timezone = &noTZ
	dec := Col("amount", arrowbuf.TypeDecimal)
	dec.Precision, dec.Scale = 18, 3
	// A scale without a precision takes dlt's default precision only:
	// decimal(38,2), as arrowbuf.ArrowType gives it.
	scaled := Col("cents", arrowbuf.TypeDecimal)
	scaled.Scale = 2
	tb := &arrowbuf.Table{Name: "typed", WriteDisposition: arrowbuf.Append, Columns: sysCols(
		Col("i", arrowbuf.TypeBigint), Col("f", arrowbuf.TypeDouble), Col("b", arrowbuf.TypeBool),
		Col("s", arrowbuf.TypeText), Col("ts", arrowbuf.TypeTimestamp), ts, Col("d", arrowbuf.TypeDate),
		Col("tm", arrowbuf.TypeTime), dec, Col("dd", arrowbuf.TypeDecimal), scaled, Col("j", arrowbuf.TypeJSON),
		Col("bin", arrowbuf.TypeBinary))}
	when := time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)
	Load(t, d, ds, "1", sink.Commit{}, Batch(t, tb,
		[]any{-7, 2.5, true, "héllo", when, when, when, 13*time.Hour + 14*time.Minute + 15*time.Second + 16*time.Microsecond,
			"12345.678", "1.5", "9.99", `{"a":[1,2,{"b":null}]}`, []byte{0, 1, 255}, "1", "x"},
		[]any{nil, nil, false, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, "1", "y"}))
	// Decimals read as Arrow decimals, formatted at their scale: dd is
	// dlt's default decimal(38,9).
	check(t, d, ds, "SELECT i, f, b, s, ts, ts_naive, d, tm, amount, dd, cents, j, bin FROM typed ORDER BY _dlt_id",
		[]any{int64(-7), 2.5, true, "héllo", when, when, "2024-02-29", 13*time.Hour + 14*time.Minute + 15*time.Second + 16*time.Microsecond,
			"12345.678", "1.500000000", "9.99", `{"a":[1,2,{"b":null}]}`, []byte{0, 1, 255}},
		[]any{nil, nil, false, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil})
	// Table streams the columns with the Arrow types the batches carried.
	r, err := d.OpenDataset(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr, err := r.Table(context.Background(), "typed")
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	sch := rr.Schema()
	for _, c := range tb.Columns {
		i := sch.FieldIndices(c.Name)
		if len(i) != 1 {
			t.Errorf("Table(typed): column %s missing from %s", c.Name, sch)
			continue
		}
		if f := sch.Field(i[0]); !arrow.TypeEqual(f.Type, arrowbuf.ArrowType(c)) {
			t.Errorf("Table(typed): column %s is %s, want %s", c.Name, f.Type, arrowbuf.ArrowType(c))
		}
	}
}

func testManyRows(t *testing.T, d sink.Destination) {
	tb := &arrowbuf.Table{Name: "many", WriteDisposition: arrowbuf.Append,
		Columns: sysCols(Col("id", arrowbuf.TypeBigint), Col("maybe", arrowbuf.TypeText))}
	const n = 10000
	rows := make([][]any, n)
	for i := range rows {
		var maybe any
		if i%3 == 0 {
			maybe = fmt.Sprint(i)
		}
		rows[i] = []any{i, maybe, "1", fmt.Sprintf("id%d", i)}
	}
	Load(t, d, ds, "1", sink.Commit{}, Batch(t, tb, rows...))
	check(t, d, ds, "SELECT count(*), count(maybe), CAST(sum(id) AS BIGINT), count(DISTINCT _dlt_id) FROM many",
		[]any{int64(n), int64((n + 2) / 3), int64(n * (n - 1) / 2), int64(n)})
	check(t, d, ds, "SELECT count(*) FROM many WHERE (id % 3 = 0) <> (maybe IS NOT NULL) OR maybe <> CAST(id AS VARCHAR)", []any{int64(0)})
}

// testQueryReadOnly: the reader's Query cannot change the dataset, and the
// connection it used serves reads again afterwards.
func testQueryReadOnly(t *testing.T, d sink.Destination) {
	tb := &arrowbuf.Table{Name: "ro", WriteDisposition: arrowbuf.Append, Columns: sysCols(Col("id", arrowbuf.TypeBigint))}
	Load(t, d, ds, "1", sink.Commit{}, Batch(t, tb, []any{1, "1", "a"}))
	ctx := context.Background()
	r, err := d.OpenDataset(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, q := range []string{"DELETE FROM ro", "DROP TABLE ro", "CREATE TABLE junk AS SELECT 1 AS x", "INSERT INTO ro SELECT * FROM ro"} {
		for range 3 { // more times than the pool has idle connections
			rr, err := r.Query(ctx, q)
			if err == nil {
				for rr.Next() {
				}
				err = rr.Err()
				rr.Release()
			}
			if err == nil {
				t.Errorf("Query(%q) succeeded on a read-only reader", q)
			}
		}
	}
	check(t, d, ds, "SELECT count(*) FROM ro", []any{int64(1)})
	if got := tables(t, d, ds); !reflect.DeepEqual(got, map[string]int64{"ro": 1}) {
		t.Errorf("Tables = %v", got)
	}
}
