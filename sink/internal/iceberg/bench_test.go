package iceberg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go/table"
)

const benchRows = 1_000_000

var benchSchema = schema(
	field("id", arrow.PrimitiveTypes.Int64),
	field("name", arrow.BinaryTypes.String),
	field("score", arrow.PrimitiveTypes.Float64),
	field("at", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}),
	field("_dlt_load_id", arrow.BinaryTypes.String),
	field("_dlt_id", arrow.BinaryTypes.String),
)

// benchBatches builds 1M flat rows like a REST load's, in 64k-row batches.
func benchBatches(b *testing.B) []arrow.RecordBatch {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	id := make([]byte, 14)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, benchSchema)
	defer bld.Release()
	var out []arrow.RecordBatch
	for i := range benchRows {
		bld.Field(0).(*array.Int64Builder).Append(int64(i))
		bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("name-%d", i%5000))
		bld.Field(2).(*array.Float64Builder).Append(rng.Float64() * 100)
		bld.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + int64(i)*1000))
		bld.Field(4).(*array.StringBuilder).Append("1733222400.123456")
		for j := range id {
			id[j] = alphabet[rng.IntN(len(alphabet))]
		}
		bld.Field(5).(*array.StringBuilder).Append(string(id))
		if (i+1)%(64<<10) == 0 || i == benchRows-1 {
			out = append(out, bld.NewRecordBatch())
		}
	}
	b.Cleanup(func() {
		for _, r := range out {
			r.Release()
		}
	})
	return out
}

// BenchmarkAppend1M compares an Iceberg append of 1M flat rows on a file://
// bucket (iceberg: rows written by iceberg-go; iceberg-files: the
// destination's own Parquet file added by Write.Files) with writing the same
// rows as one plain Parquet file through pqarrow into the same bucket.
func BenchmarkAppend1M(b *testing.B) {
	recs := benchBatches(b)
	codecs := []struct {
		name  string
		codec compress.Compression
	}{{"snappy", compress.Codecs.Snappy}, {"zstd", compress.Codecs.Zstd}}
	for _, c := range codecs {
		// The destination's own files added as they are (Write.Files).
		b.Run("iceberg-files/"+c.name, func(b *testing.B) {
			lk, _ := fileLake(b)
			lk.props[table.ParquetCompressionKey] = c.name
			for i := 0; b.Loop(); i++ {
				key := fmt.Sprintf("ds/t%d/data/1.parquet", i)
				writePlain(b, lk, key, c.codec, recs)
				p, err := lk.Prepare(context.Background(), Write{Dataset: "ds", Table: fmt.Sprintf("t%d", i), LoadID: "1", Files: []string{key}})
				if err == nil {
					err = p.Commit(context.Background())
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run("iceberg/"+c.name, func(b *testing.B) {
			lk, _ := fileLake(b)
			lk.props[table.ParquetCompressionKey] = c.name
			for i := 0; b.Loop(); i++ {
				rdr, err := array.NewRecordReader(benchSchema, recs)
				if err != nil {
					b.Fatal(err)
				}
				p, err := lk.Prepare(context.Background(), Write{Dataset: "ds", Table: fmt.Sprintf("t%d", i), LoadID: "1", Rows: rdr})
				if err == nil {
					err = p.Commit(context.Background())
				}
				rdr.Release()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run("parquet/"+c.name, func(b *testing.B) {
			lk, _ := fileLake(b)
			for i := 0; b.Loop(); i++ {
				writePlain(b, lk, fmt.Sprintf("ds/t%d/1.parquet", i), c.codec, recs)
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// writePlain writes the batches as one Parquet file with the Parquet
// destination's writer properties.
func writePlain(b *testing.B, lk *Lake, key string, codec compress.Compression, recs []arrow.RecordBatch) {
	b.Helper()
	w, err := lk.st.bucket.NewWriter(context.Background(), key, nil)
	if err != nil {
		b.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(benchSchema, w,
		parquet.NewWriterProperties(parquet.WithCompression(codec), parquet.WithVersion(parquet.V2_LATEST),
			parquet.WithDictionaryDefault(false), parquet.WithStatsFor("_dlt_id", false),
			parquet.WithEncodingFor("_dlt_id", parquet.Encodings.DeltaLengthByteArray),
			parquet.WithCompressionFor("_dlt_id", compress.Codecs.Uncompressed)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		if err := fw.Write(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		b.Fatal(err)
	}
}
