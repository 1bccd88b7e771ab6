package iceberg

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
)

// TestTypes loads one column of each Arrow type the Parquet destination
// writes (arrowbuf.ArrowType) and checks its Iceberg type, the values read
// back by iceberg-go, and that DuckDB reads the snapshot's data files with
// the same types and values as a plain Parquet file of the same rows.
func TestTypes(t *testing.T) {
	jsonField := field("j", arrow.BinaryTypes.String)
	jsonField.Metadata = arrow.NewMetadata([]string{metaDataType}, []string{"json"})
	cases := []struct {
		name    string
		f       arrow.Field
		value   string // JSON for array.RecordFromJSON
		iceberg iceberg.Type
		doc     string
	}{
		{"bigint", field("c", arrow.PrimitiveTypes.Int64), `-9007199254740993`, iceberg.PrimitiveTypes.Int64, ""},
		{"double", field("c", arrow.PrimitiveTypes.Float64), `1.5`, iceberg.PrimitiveTypes.Float64, ""},
		{"bool", field("c", arrow.FixedWidthTypes.Boolean), `true`, iceberg.PrimitiveTypes.Bool, ""},
		{"text", field("c", arrow.BinaryTypes.String), `"héllo"`, iceberg.PrimitiveTypes.String, ""},
		{"json as text", jsonField, `"{\"a\":[1,2]}"`, iceberg.PrimitiveTypes.String, "dlt:json"},
		{"binary", field("c", arrow.BinaryTypes.Binary), `"AAEC/w=="`, iceberg.PrimitiveTypes.Binary, ""},
		{"date", field("c", arrow.FixedWidthTypes.Date32), `"2024-02-29"`, iceberg.PrimitiveTypes.Date, ""},
		{"time", field("c", arrow.FixedWidthTypes.Time64us), `"13:14:15.123456"`, iceberg.PrimitiveTypes.Time, ""},
		{"timestamp UTC", field("c", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}),
			`"2024-05-06T07:08:09.123456Z"`, iceberg.PrimitiveTypes.TimestampTz, ""},
		{"timestamp without zone", field("c", &arrow.TimestampType{Unit: arrow.Microsecond}),
			`"2024-05-06T07:08:09.123456"`, iceberg.PrimitiveTypes.Timestamp, ""},
		{"decimal default", field("c", &arrow.Decimal128Type{Precision: 38, Scale: 9}),
			`"12345678901234567890.123456789"`, iceberg.DecimalTypeOf(38, 9), ""},
		{"decimal hinted", field("c", &arrow.Decimal128Type{Precision: 10, Scale: 2}), `"-12.34"`, iceberg.DecimalTypeOf(10, 2), ""},
		{"wei", field("c", &arrow.Decimal128Type{Precision: 38, Scale: 0}),
			`"99999999999999999999999999999999999999"`, iceberg.DecimalTypeOf(38, 0), ""},
	}
	lk, dir := fileLake(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("t%d", i)
			sc := schema(field("id", arrow.PrimitiveTypes.Int64), c.f)
			rows := []string{fmt.Sprintf(`{"id":1,%q:%s}`, c.f.Name, c.value), `{"id":2}`}
			load(t, lk, Write{Dataset: "ds", Table: name, LoadID: "1", Mode: Append, Rows: reader(t, sc, rows...)})

			tbl, err := lk.Table(t.Context(), "ds", name)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := tbl.Schema().FindFieldByName(c.f.Name)
			if !ok || !got.Type.Equals(c.iceberg) || got.Doc != c.doc {
				t.Errorf("Iceberg field %+v, want type %s doc %q", got, c.iceberg, c.doc)
			}
			// iceberg-go reads back what went in.
			want := recordJSON(t, sc, rows)
			if got := scanRows(t, lk, "ds", name); !slices.Equal(got, want) {
				t.Errorf("scan: got %v, want %v", got, want)
			}
			// DuckDB sees the same types and values as in a plain Parquet
			// file of the rows, written as the Parquet destination does.
			plain := plainParquet(t, sc, rows)
			q := "SELECT id, typeof(" + c.f.Name + "), CAST(" + c.f.Name + " AS VARCHAR) FROM $T"
			if got, want := duckRows(t, lk, dir, "ds", name, q), duckFile(t, plain, q); !slices.Equal(got, want) {
				t.Errorf("read_parquet: got %v, want %v (plain Parquet)", got, want)
			}
		})
	}
}

func recordJSON(t *testing.T, sc *arrow.Schema, rows []string) []string {
	t.Helper()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader("["+strings.Join(rows, ",")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var b strings.Builder
	if err := array.RecordToJSON(rec, &b); err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(b.String()) {
		out = append(out, project(t, line, nil))
	}
	slices.Sort(out)
	return out
}

// plainParquet writes rows with pqarrow as the Parquet destination does
// (Parquet 2.6, Arrow schema stored).
func plainParquet(t *testing.T, sc *arrow.Schema, rows []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plain.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(parquet.WithVersion(parquet.V2_LATEST)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	rdr := reader(t, sc, rows...)
	for rdr.Next() {
		if err := w.Write(rdr.RecordBatch()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func duckFile(t *testing.T, path, query string) []string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(strings.ReplaceAll(query, "$T", "read_parquet('"+path+"')"))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var typ string
		var val sql.NullString
		if err := rows.Scan(&id, &typ, &val); err != nil {
			t.Fatal(err)
		}
		v := "<nil>"
		if val.Valid {
			v = val.String
		}
		out = append(out, fmt.Sprintf("%d|%s|%s", id, typ, v))
	}
	slices.Sort(out)
	return out
}
