package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/spf13/pflag"

	"github.com/sluicehq/sluice/arrowbuf"
	"github.com/sluicehq/sluice/internal/pipeinfo"
)

// exportFormats are the formats of pipeline NAME export, the first the
// default.
var exportFormats = []string{"arrow", "parquet", "csv", "ndjson"}

type exportFlags struct {
	format string
	output string
}

func (f *exportFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.format, "format", "arrow", "export: arrow (IPC stream), parquet, csv or ndjson")
	fl.StringVarP(&f.output, "output", "o", "", "export: write to this file instead of stdout")
}

// export writes a table of the dataset in f's format to stdout or a file.
// A file appears whole or not at all: it is written beside its name and
// renamed at the end.
func (a *app) export(ctx context.Context, info *pipeinfo.Info, table string, f exportFlags) error {
	format := strings.ToLower(f.format)
	if !slices.Contains(exportFormats, format) {
		return usageErrorf("--format %q: want %s", f.format, strings.Join(exportFormats, ", "))
	}
	r, err := openDataset(ctx, info)
	if err != nil {
		return err
	}
	defer r.Close()
	rr, err := r.Table(ctx, table)
	if err != nil {
		if ts, terr := r.Tables(ctx); terr == nil {
			var names []string
			for _, t := range ts {
				names = append(names, t.Name)
			}
			if !slices.Contains(names, table) {
				return fmt.Errorf("export: no table %q in dataset %s (tables: %s)", table, info.Dataset, strings.Join(names, ", "))
			}
		}
		return fmt.Errorf("export: %w", err)
	}
	defer rr.Release()
	if f.output == "" {
		return writeTable(a.stdout, format, rr)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.output), "."+filepath.Base(f.output)+".*.tmp")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeTable(tmp, format, rr); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.output); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func writeTable(w io.Writer, format string, rr array.RecordReader) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var err error
	switch format {
	case "arrow":
		err = writeArrow(bw, rr)
	case "parquet":
		err = writeParquet(bw, rr)
	case "csv":
		err = writeCSV(bw, rr)
	case "ndjson":
		err = writeNDJSON(bw, rr)
	}
	if err == nil {
		err = rr.Err()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("export: %s: %w", format, err)
	}
	return nil
}

func writeArrow(w io.Writer, rr array.RecordReader) error {
	iw := ipc.NewWriter(w, ipc.WithSchema(rr.Schema()))
	for rr.Next() {
		if err := iw.Write(rr.RecordBatch()); err != nil {
			iw.Close()
			return err
		}
	}
	return iw.Close()
}

func writeParquet(w io.Writer, rr array.RecordReader) error {
	props := pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Zstd), pq.WithMaxRowGroupLength(1<<20))
	pw, err := pqarrow.NewFileWriter(rr.Schema(), w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	for rr.Next() {
		if err := pw.WriteBuffered(rr.RecordBatch()); err != nil {
			pw.Close()
			return err
		}
	}
	return pw.Close()
}

// writeCSV writes a header and one line per row; NULL is an empty field,
// binary values are base64.
func writeCSV(w io.Writer, rr array.RecordReader) error {
	cw := csv.NewWriter(w, rr.Schema(), csv.WithHeader(true), csv.WithNullWriter(""))
	for rr.Next() {
		if err := cw.Write(rr.RecordBatch()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeNDJSON writes one JSON object per row, keys in column order. JSON
// columns are embedded as JSON, decimals are strings (exact), binary is
// base64, timestamps are RFC 3339.
func writeNDJSON(w *bufio.Writer, rr array.RecordReader) error {
	fields := rr.Schema().Fields()
	keys := make([][]byte, len(fields))
	for i, f := range fields {
		k, _ := json.Marshal(f.Name)
		keys[i] = append(k, ':')
	}
	var buf []byte
	for rr.Next() {
		rec := rr.RecordBatch()
		for row := range int(rec.NumRows()) {
			buf = append(buf[:0], '{')
			for c, col := range rec.Columns() {
				if c > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, keys[c]...)
				var err error
				if buf, err = appendJSONValue(buf, fields[c], col, row); err != nil {
					return fmt.Errorf("column %s: %w", fields[c].Name, err)
				}
			}
			buf = append(buf, '}', '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendJSONValue(b []byte, f arrow.Field, col arrow.Array, i int) ([]byte, error) {
	if col.IsNull(i) {
		return append(b, "null"...), nil
	}
	switch a := col.(type) {
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i)), nil
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10), nil
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Float64:
		v := a.Value(i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...), nil
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64), nil
	case *array.String:
		if f.Metadata.FindKey(arrowbuf.MetaDataType) >= 0 && json.Valid([]byte(a.Value(i))) {
			return append(b, a.Value(i)...), nil
		}
		return appendJSONString(b, a.Value(i)), nil
	case *array.Binary:
		return appendJSONString(b, base64.StdEncoding.EncodeToString(a.Value(i))), nil
	case *array.Decimal128:
		return appendJSONString(b, a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)), nil
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		t := a.Value(i).ToTime(typ.Unit)
		layout := "2006-01-02T15:04:05.999999999"
		if typ.TimeZone != "" {
			layout = time.RFC3339Nano
		}
		return appendJSONString(b, t.Format(layout)), nil
	case *array.Date32:
		return appendJSONString(b, a.Value(i).FormattedString()), nil
	}
	v, err := json.Marshal(col.GetOneForMarshal(i))
	if err != nil {
		return b, err
	}
	return append(b, v...), nil
}

// appendJSONString appends s as a JSON string, escaping what JSON needs
// and no more (not <, > and &, as encoding/json does).
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		v, _ := json.Marshal(s) // replaces invalid bytes with U+FFFD
		return append(b, v...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, fmt.Sprintf("\\u%04x", c)...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
