package parquet

import (
	"fmt"
	"io"
	"testing"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pgo "github.com/parquet-go/parquet-go"
	pgocompress "github.com/parquet-go/parquet-go/compress"

	"github.com/sluicehq/sluice/arrowbuf"
)

// benchSchema is 11 columns: int64, strings, float64, bool, timestamps.
var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "body", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "created_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

// benchRecords builds n rows in batches of batch rows (some nulls).
func benchRecords(mem memory.Allocator, n, batch int) []arrow.RecordBatch {
	statuses := []string{"open", "closed", "pending", "archived"}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var out []arrow.RecordBatch
	b := array.NewRecordBuilder(mem, benchSchema)
	defer b.Release()
	for start := 0; start < n; start += batch {
		for i := start; i < min(n, start+batch); i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			b.Field(1).(*array.Int64Builder).Append(int64(i % 9973))
			b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("user %d", i%9973))
			b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("user%d@example.com", i%9973))
			b.Field(4).(*array.StringBuilder).Append(statuses[i%len(statuses)])
			if i%7 == 0 {
				b.Field(5).AppendNull()
			} else {
				b.Field(5).(*array.StringBuilder).Append(fmt.Sprintf("post body %d: lorem ipsum dolor sit amet", i))
			}
			b.Field(6).(*array.Float64Builder).Append(float64(i%1000) / 7)
			b.Field(7).(*array.Float64Builder).Append(float64(i) * 0.01)
			b.Field(8).(*array.BooleanBuilder).Append(i%3 == 0)
			b.Field(9).(*array.TimestampBuilder).Append(arrow.Timestamp(base + int64(i)*1_000_000))
			if i%5 == 0 {
				b.Field(10).AppendNull()
			} else {
				b.Field(10).(*array.TimestampBuilder).Append(arrow.Timestamp(base + int64(i)*1_000_001))
			}
		}
		out = append(out, b.NewRecordBatch())
	}
	return out
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// writePQArrow writes the records with pqarrow, one row group per record.
func writePQArrow(w io.Writer, recs []arrow.RecordBatch, codec compress.Compression, dict bool) error {
	props, aprops := writerProps(codec, dict, arrowbuf.DefaultPool)
	fw, err := pqarrow.NewFileWriter(recs[0].Schema(), w, props, aprops)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := fw.Write(r); err != nil {
			return err
		}
	}
	return fw.Close()
}

// pgoWriter writes Arrow records with parquet-go, one row group per record,
// column by column through its ColumnWriters.
type pgoWriter struct {
	w      *pgo.GenericWriter[any]
	colIdx []int // arrow field -> parquet leaf column
	vals   []pgo.Value
}

func newPGOWriter(out io.Writer, schema *arrow.Schema, codec pgocompress.Codec) (*pgoWriter, error) {
	group := pgo.Group{}
	for _, f := range schema.Fields() {
		var n pgo.Node
		switch t := f.Type.(type) {
		case *arrow.Int64Type:
			n = pgo.Int(64)
		case *arrow.Float64Type:
			n = pgo.Leaf(pgo.DoubleType)
		case *arrow.BooleanType:
			n = pgo.Leaf(pgo.BooleanType)
		case *arrow.StringType:
			n = pgo.String()
		case *arrow.TimestampType:
			n = pgo.TimestampAdjusted(pgo.Microsecond, t.TimeZone != "")
		default:
			return nil, fmt.Errorf("parquet-go bench writer: unsupported type %s", f.Type)
		}
		group[f.Name] = pgo.Optional(n)
	}
	ps := pgo.NewSchema("schema", group)
	pw := &pgoWriter{w: pgo.NewGenericWriter[any](out, ps, pgo.Compression(codec))}
	for _, f := range schema.Fields() {
		leaf, ok := ps.Lookup(f.Name)
		if !ok {
			return nil, fmt.Errorf("parquet-go bench writer: no column %s", f.Name)
		}
		pw.colIdx = append(pw.colIdx, leaf.ColumnIndex)
	}
	return pw, nil
}

func (pw *pgoWriter) write(rec arrow.RecordBatch) error {
	cws := pw.w.ColumnWriters()
	n := int(rec.NumRows())
	for c, col := range rec.Columns() {
		ci := pw.colIdx[c]
		vals := pw.vals[:0]
		for i := range n {
			if col.IsNull(i) {
				vals = append(vals, pgo.NullValue().Level(0, 0, ci))
				continue
			}
			var v pgo.Value
			switch a := col.(type) {
			case *array.Int64:
				v = pgo.Int64Value(a.Value(i))
			case *array.Float64:
				v = pgo.DoubleValue(a.Value(i))
			case *array.Boolean:
				v = pgo.BooleanValue(a.Value(i))
			case *array.String:
				s := a.Value(i)
				v = pgo.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
			case *array.Timestamp:
				v = pgo.Int64Value(int64(a.Value(i)))
			}
			vals = append(vals, v.Level(0, 1, ci))
		}
		pw.vals = vals
		if _, err := cws[ci].WriteRowValues(vals); err != nil {
			return err
		}
	}
	return pw.w.Flush()
}

func writePGO(w io.Writer, recs []arrow.RecordBatch, codec pgocompress.Codec) error {
	pw, err := newPGOWriter(w, recs[0].Schema(), codec)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := pw.write(r); err != nil {
			return err
		}
	}
	return pw.w.Close()
}

// BenchmarkParquetWrite writes 1M rows x 11 columns (batches of 100k rows,
// one row group each) with both writers and two codecs. rows/s counts rows,
// MB/s the Parquet bytes produced, file_MB the file size.
func BenchmarkParquetWrite(b *testing.B) {
	const rows, batch = 1_000_000, 100_000
	recs := benchRecords(memory.DefaultAllocator, rows, batch)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	cases := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"pqarrow/snappy", func(w io.Writer) error { return writePQArrow(w, recs, compress.Codecs.Snappy, true) }},
		{"pqarrow/zstd", func(w io.Writer) error { return writePQArrow(w, recs, compress.Codecs.Zstd, true) }},
		{"pqarrow/snappy-nodict", func(w io.Writer) error { return writePQArrow(w, recs, compress.Codecs.Snappy, false) }},
		{"pqarrow/zstd-nodict", func(w io.Writer) error { return writePQArrow(w, recs, compress.Codecs.Zstd, false) }},
		{"parquet-go/snappy", func(w io.Writer) error { return writePGO(w, recs, &pgo.Snappy) }},
		{"parquet-go/zstd", func(w io.Writer) error { return writePGO(w, recs, &pgo.Zstd) }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				w := &countingDiscard{}
				if err := tc.write(w); err != nil {
					b.Fatal(err)
				}
				size = w.n
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(rows/sec, "rows/s")
			b.ReportMetric(float64(size)/1e6/sec, "MB/s")
			b.ReportMetric(float64(size)/1e6, "file_MB")
		})
	}
}
