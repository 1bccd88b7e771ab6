package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluicehq/sluice/arrowbuf"
)

// columnOf returns the values of a table's column as one array.
func columnOf(t *testing.T, tbl arrow.Table, name string) arrow.Array {
	t.Helper()
	idx := tbl.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %q in %s", name, tbl.Schema())
	}
	chunks := tbl.Column(idx[0]).Data().Chunks()
	if len(chunks) == 0 {
		return array.MakeArrayOfNull(memory.DefaultAllocator, tbl.Schema().Field(idx[0]).Type, 0)
	}
	a, err := array.Concatenate(chunks, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Release)
	return a
}

// TestQueryTypes reads the dataset's table of every dlt column type and
// checks each value against the inputs that made it.
func TestQueryTypes(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	srv := startServer(t, DuckDBFile(path, testDataset), Options{BatchRows: 7})
	cl := newClient(t, srv.addr, "")
	// The dataset is the default schema: no qualification needed.
	tbl, err := cl.query(context.Background(), "SELECT * FROM posts ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != 101 {
		t.Fatalf("%d rows, want 101", tbl.NumRows())
	}
	wantTypes := map[string]arrow.DataType{
		"id": arrow.PrimitiveTypes.Int64, "title": arrow.BinaryTypes.String, "score": arrow.PrimitiveTypes.Float64,
		"draft": arrow.FixedWidthTypes.Boolean, "created_at": &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
		"day": arrow.FixedWidthTypes.Date32, "price": &arrow.Decimal128Type{Precision: 10, Scale: 2},
		"meta": arrow.BinaryTypes.String, "raw": arrow.BinaryTypes.Binary,
	}
	for name, want := range wantTypes {
		f, _ := tbl.Schema().FieldsByName(name)
		if len(f) != 1 || !arrow.TypeEqual(f[0].Type, want) {
			t.Errorf("column %s: type %v, want %v", name, f, want)
		}
	}
	if f, _ := tbl.Schema().FieldsByName("meta"); f[0].Metadata.FindKey(arrowbuf.MetaDataType) < 0 {
		t.Errorf("meta: no %s metadata: %v", arrowbuf.MetaDataType, f[0].Metadata)
	}
	ids := columnOf(t, tbl, "id").(*array.Int64)
	titles := columnOf(t, tbl, "title").(*array.String)
	scores := columnOf(t, tbl, "score").(*array.Float64)
	drafts := columnOf(t, tbl, "draft").(*array.Boolean)
	created := columnOf(t, tbl, "created_at").(*array.Timestamp)
	days := columnOf(t, tbl, "day").(*array.Date32)
	prices := columnOf(t, tbl, "price").(*array.Decimal128)
	metas := columnOf(t, tbl, "meta").(*array.String)
	raws := columnOf(t, tbl, "raw").(*array.Binary)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for r := range 100 {
		i := int64(r + 1)
		if ids.Value(r) != i {
			t.Fatalf("row %d: id %d", r, ids.Value(r))
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"title", titles.Value(r), fmt.Sprintf("post %d%s", i, strings.Repeat("x", int(i%20)))},
			{"score", scores.Value(r), float64(i) / 4},
			{"draft", drafts.Value(r), i%2 == 0},
			{"created_at", created.Value(r).ToTime(arrow.Microsecond), base.Add(time.Duration(i) * time.Minute)},
			{"day", days.Value(r).ToTime(), base.AddDate(0, 0, int(i))},
			{"price", prices.Value(r), decimal128.FromI64(i * 125)},
			{"meta", metas.Value(r), fmt.Sprintf(`{"b": %d, "a": [1, 2]}`, i)},
			{"raw", string(raws.Value(r)), "\xAA" + fmt.Sprint(i)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("id %d: %s = %v, want %v", i, c.name, c.got, c.want)
			}
		}
	}
	// The last row has NULL in all but its id.
	for _, name := range []string{"title", "score", "draft", "created_at", "day", "price", "meta", "raw"} {
		if a := columnOf(t, tbl, name); !a.IsNull(100) {
			t.Errorf("id 1000: %s is %s, want NULL", name, a.ValueStr(100))
		}
	}
}

// TestQueryNestedAndOtherTypes checks the Arrow value of each DuckDB type
// a query can produce, against DuckDB's own JSON rendering of the value.
func TestQueryNestedAndOtherTypes(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir(), `CREATE TYPE blog_data.mood AS ENUM ('sad', 'ok', 'happy')`)
	srv := startServer(t, DuckDBFile(path, testDataset), Options{})
	cl := newClient(t, srv.addr, "")
	tests := []struct {
		name, expr string
		typ        arrow.DataType
		want       string // the value as Arrow's JSON
	}{
		{"tinyint", "(-5)::TINYINT", arrow.PrimitiveTypes.Int8, `-5`},
		{"smallint", "300::SMALLINT", arrow.PrimitiveTypes.Int16, `300`},
		{"integer", "70000::INTEGER", arrow.PrimitiveTypes.Int32, `70000`},
		{"ubigint", "18446744073709551615::UBIGINT", arrow.PrimitiveTypes.Uint64, `18446744073709551615`},
		{"utinyint", "250::UTINYINT", arrow.PrimitiveTypes.Uint8, `250`},
		{"float", "1.5::FLOAT", arrow.PrimitiveTypes.Float32, `1.5`},
		{"hugeint", "(-12345678901234567890123456789)::HUGEINT", &arrow.Decimal128Type{Precision: 38}, `"-12345678901234567890123456789"`},
		{"decimal16", "12.3::DECIMAL(3,1)", &arrow.Decimal128Type{Precision: 3, Scale: 1}, `"12.3"`},
		{"decimal32", "-1234567.89::DECIMAL(9,2)", &arrow.Decimal128Type{Precision: 9, Scale: 2}, `"-1234567.89"`},
		{"decimal128", "12345678901234567890.123::DECIMAL(30,3)", &arrow.Decimal128Type{Precision: 30, Scale: 3}, `"12345678901234567890.123"`},
		{"uuid", "'0189f7ea-ae2b-7c1e-8b37-5c9d2b1b7f3a'::UUID", arrow.BinaryTypes.String, `"0189f7ea-ae2b-7c1e-8b37-5c9d2b1b7f3a"`},
		{"uuid low", "'00000000-0000-0000-0000-000000000001'::UUID", arrow.BinaryTypes.String, `"00000000-0000-0000-0000-000000000001"`},
		{"enum", "'happy'::mood", arrow.BinaryTypes.String, `"happy"`},
		{"interval", "INTERVAL '1 month 2 days 3 seconds'", arrow.FixedWidthTypes.MonthDayNanoInterval, `{"months":1,"days":2,"nanoseconds":3000000000}`},
		{"time", "TIME '12:34:56.789'", arrow.FixedWidthTypes.Time64us, `"12:34:56.789"`},
		{"timestamp", "TIMESTAMP '2024-02-03 04:05:06.123456'", &arrow.TimestampType{Unit: arrow.Microsecond}, `"2024-02-03T04:05:06.123456"`},
		{"timestamp_ns", "'2024-02-03 04:05:06.123456789'::TIMESTAMP_NS", &arrow.TimestampType{Unit: arrow.Nanosecond}, `"2024-02-03T04:05:06.123456789"`},
		{"timestamp_ms", "'2024-02-03 04:05:06.123'::TIMESTAMP_MS", &arrow.TimestampType{Unit: arrow.Millisecond}, `"2024-02-03T04:05:06.123"`},
		{"timestamp_s", "'2024-02-03 04:05:06'::TIMESTAMP_S", &arrow.TimestampType{Unit: arrow.Second}, `"2024-02-03T04:05:06"`},
		{"long text", "repeat('é', 40)", arrow.BinaryTypes.String, `"` + strings.Repeat("é", 40) + `"`},
		{"list", "[1, NULL, 3]", arrow.ListOf(arrow.PrimitiveTypes.Int32), `[1,null,3]`},
		{"list of text", "['a', 'a long string over twelve bytes']", arrow.ListOf(arrow.BinaryTypes.String), `["a","a long string over twelve bytes"]`},
		{"empty list", "[]::INTEGER[]", arrow.ListOf(arrow.PrimitiveTypes.Int32), `[]`},
		{"list of lists", "[[1], [], [2, 3]]", arrow.ListOf(arrow.ListOf(arrow.PrimitiveTypes.Int32)), `[[1],[],[2,3]]`},
		{"struct", "{'a': 1, 'b': 'x'}", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}), `{"a":1,"b":"x"}`},
		{"map", "MAP {'k': 1, 'l': 2}", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), `[{"key":"k","value":1},{"key":"l","value":2}]`},
		{"array", "[1, 2]::INTEGER[2]", arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Int32), `[1,2]`},
		{"null", "NULL::INTEGER", arrow.PrimitiveTypes.Int32, `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Three rows: the value between two NULLs, so offsets and
			// validity at a row other than the first are checked too.
			q := fmt.Sprintf("SELECT v FROM (VALUES (0, NULL), (1, %s), (2, NULL)) t(i, v) ORDER BY i", tc.expr)
			tbl, err := cl.query(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Release()
			a := columnOf(t, tbl, "v")
			if !arrow.TypeEqual(a.DataType(), tc.typ) {
				t.Errorf("type %s, want %s", a.DataType(), tc.typ)
			}
			if a.Len() != 3 || !a.IsNull(0) || !a.IsNull(2) {
				t.Fatalf("want NULL, value, NULL; got %s", a)
			}
			got, err := json.Marshal(a.GetOneForMarshal(1))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, []byte(tc.want)) {
				t.Errorf("value %s, want %s", got, tc.want)
			}
		})
	}
}

// TestHandlerQuery: a Go program's in-process query gets what a client
// gets over Flight, and releasing the reader closes its database.
func TestHandlerQuery(t *testing.T) {
	path := newDuckDBFixture(t, t.TempDir())
	srv := startServer(t, DuckDBFile(path, testDataset), Options{BatchRows: 10})
	const q = "SELECT id, title, price, meta FROM posts ORDER BY id"
	rr, err := srv.h.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var recs []arrow.RecordBatch
	for rr.Next() {
		r := rr.RecordBatch()
		r.Retain()
		recs = append(recs, r)
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	local := array.NewTableFromRecords(rr.Schema(), recs)
	defer local.Release()
	for _, r := range recs {
		r.Release()
	}
	rr.Release()
	if n := srv.h.OpenDatabases(); n != 0 {
		t.Errorf("%d databases open after Release", n)
	}
	remote, err := newClient(t, srv.addr, "").query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Release()
	if !array.TableEqual(local, remote) {
		t.Errorf("in-process and Flight results differ:\n%v\n%v", local.Schema(), remote.Schema())
	}
	if len(recs) != 11 {
		t.Errorf("%d batches of up to 10 rows for 101 rows, want 11", len(recs))
	}
	if _, err := srv.h.Query(context.Background(), "DROP TABLE posts"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("DROP: %v, want PermissionDenied", err)
	}
}
